//! Fault injection (issue 14 item 5): every fault kind over real HTTP, the matchers, count
//! and seeded probability, the log and the metric that tell an injected failure from a real
//! one, and the rules changed at run time through the admin API and `schedplus fault`.

use std::io::{Read, Write};
use std::time::Duration;

use crate::common::{ServeProcess, TestServer, http, run_cli, stderr, stdout};
use schedplus::protocol::fault_rule::{FaultSet, parse_rules};

const QUERY: &str = "/public/?Cmd=freebusy&start=2026-11-23T00:00:00Z&end=2026-11-24T00:00:00Z&interval=60&u=SMTP:danw@xcs.example";

fn with_faults(rules: &str, seed: u64) -> TestServer {
    let rules = parse_rules(rules).unwrap();
    let s = TestServer::start_with(|o| o.faults = FaultSet::new(seed, rules));
    s.import_demo_directory();
    s
}

/// The rules' counts, as `fault list` reports them.
fn fired(s: &TestServer) -> Vec<u64> {
    let state = &s.server.as_ref().unwrap().state;
    state
        .faults()
        .report()
        .rules
        .iter()
        .map(|r| r.fired)
        .collect()
}

#[test]
fn each_answering_fault_kind_over_http() {
    let s = with_faults(
        "403 path=*&k=403; 503 path=*&k=503; 401 path=*&k=401; 500 path=*&k=500",
        0,
    );
    // Without a matching rule the query is answered as ever.
    let normal = s.get(QUERY);
    assert_eq!(normal.status, 200, "{}", normal.text());
    assert!(normal.header("x-schedplus-fault").is_none());

    let r = s.get(&format!("{QUERY}&k=403"));
    assert_eq!(r.status, 403);
    assert!(
        r.text()
            .contains("HTTP Error 403.4 - Forbidden: SSL is required to view this resource."),
        "{}",
        r.text()
    );
    assert_eq!(r.header("server"), Some("Microsoft-IIS/6.0"));
    assert_eq!(r.header("x-schedplus-fault"), Some("rule=1 kind=403"));

    let r = s.get(&format!("{QUERY}&k=503"));
    assert_eq!(r.status, 503);
    assert!(r.text().contains("no replica"), "{}", r.text());
    assert_eq!(r.header("x-schedplus-fault"), Some("rule=2 kind=503"));

    let r = s.get(&format!("{QUERY}&k=401"));
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    assert_eq!(r.header("x-schedplus-fault"), Some("rule=3 kind=401"));

    let r = s.get(&format!("{QUERY}&k=500"));
    assert_eq!(r.status, 500);
    assert_eq!(r.header("x-schedplus-fault"), Some("rule=4 kind=500"));
    assert_eq!(fired(&s), [1, 1, 1, 1]);
}

#[test]
fn a_delay_answers_normally_afterwards() {
    let s = with_faults("delay=200ms path=/public/?cmd=freebusy", 0);
    let r = s.get(QUERY);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("<a:fbdata>"), "{}", r.text());
    assert!(r.header("x-schedplus-fault").is_none());
    assert_eq!(fired(&s), [1]);
}

#[test]
fn a_hang_lasts_until_the_client_gives_up() {
    let s = with_faults("hang count=1 path=/public/?cmd=freebusy", 0);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    let gave_up = agent.get(s.url(QUERY)).call();
    assert!(
        matches!(gave_up, Err(ureq::Error::Timeout(_))),
        "the client's own timeout ends a hang: {gave_up:?}"
    );
    assert_eq!(fired(&s), [1]);
    // The rule fired once; the server answers the next query.
    assert_eq!(s.get(QUERY).status, 200);
}

#[test]
fn a_hang_does_not_hold_the_shutdown() {
    let mut s = with_faults("hang", 0);
    let mut c = std::net::TcpStream::connect(s.addr()).unwrap();
    write!(c, "GET {QUERY} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    // Until the rule has fired, the connection is not yet hanging.
    while fired(&s) != [1] {
        std::thread::sleep(Duration::from_millis(20));
    }
    s.shutdown();
    let mut rest = Vec::new();
    let _ = c.read_to_end(&mut rest);
    assert!(rest.is_empty(), "no answer on a hung connection");
}

#[test]
fn a_reset_closes_the_connection_unanswered() {
    let s = with_faults("reset count=1 method=GET", 0);
    let mut c = std::net::TcpStream::connect(s.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(c, "GET {QUERY} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut got = Vec::new();
    let read = c.read_to_end(&mut got);
    assert!(
        got.is_empty(),
        "nothing answered: {:?}",
        String::from_utf8_lossy(&got)
    );
    assert!(
        read.as_ref()
            .err()
            .is_none_or(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "closed (RST): {read:?}"
    );
    assert_eq!(fired(&s), [1]);
    assert_eq!(s.get(QUERY).status, 200, "count=1: the next is served");
}

#[test]
fn count_fires_on_the_first_matches_only() {
    let s = with_faults("503 count=2 path=/public/?cmd=freebusy", 0);
    let statuses: Vec<u16> = (0..4).map(|_| s.get(QUERY).status).collect();
    assert_eq!(statuses, [503, 503, 200, 200]);
}

#[test]
fn the_same_seed_fires_the_same_faults() {
    let run = |seed| {
        let s = with_faults("500 p=0.5 path=/public/?cmd=freebusy", seed);
        (0..24).map(|_| s.get(QUERY).status).collect::<Vec<u16>>()
    };
    let a = run(11);
    assert_eq!(a, run(11));
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
    assert_ne!(a, run(12));
}

#[test]
fn users_and_admin_groups_match_through_the_directory() {
    // Dan is of First Administrative Group; Li Chen of CompanyABC's London.
    let s = with_faults(
        "503 group=EX:/o=First%20Organization/ou=First%20Administrative%20Group; 401 user=/o=CompanyABC/ou=London/cn=Recipients/cn=lchen",
        0,
    );
    let ask = |who: &str| s.get(&QUERY.replace("danw@xcs.example", who)).status;
    assert_eq!(
        ask("danw@xcs.example"),
        503,
        "by the user's group, found in the directory"
    );
    assert_eq!(
        ask("dan.winship@xcs.example"),
        503,
        "by another address of Dan's"
    );
    assert_eq!(
        ask("lchen@companyabc.example"),
        401,
        "by the legacyDN of an address"
    );
    assert_eq!(ask("amartin@companyabc.example"), 200);
    // A message URL names its folder's group without the directory.
    let url = crate::common::message_url(
        "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=kbaker",
    );
    assert_eq!(
        s.request("PROPFIND", &url, &[("Depth", "0")], None).status,
        503
    );
}

#[test]
fn admin_routes_and_health_are_never_faulted() {
    let s = with_faults("reset", 0);
    assert_eq!(s.get("/healthz").status, 200);
    assert_eq!(s.get("/metrics").status, 200);
    let token = schedplus::server::ServerInfo::read(s.data_dir())
        .unwrap()
        .token;
    let r = s.request(
        "GET",
        "/_schedplus/fault/list",
        &[("X-Schedplus-Token", &token)],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(fired(&s), [0]);
}

#[test]
fn rules_change_at_run_time_through_the_admin_api() {
    let s = TestServer::start();
    s.import_demo_directory();
    let token = schedplus::server::ServerInfo::read(s.data_dir())
        .unwrap()
        .token;
    let post = |route: &str, body: &str| {
        s.request(
            "POST",
            &format!("/_schedplus/fault/{route}"),
            &[
                ("X-Schedplus-Token", &token),
                ("Content-Type", "application/json"),
            ],
            Some(body.as_bytes()),
        )
    };
    let bad = post("add", r#"{"rules": ["503 count=1", "503 pth=/public"]}"#);
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert!(bad.text().contains("unknown key 'pth'"), "{}", bad.text());
    assert_eq!(s.get(QUERY).status, 200, "a bad list adds nothing");

    let added = post(
        "add",
        r#"{"rules": ["503 count=1 path=/public/?cmd=freebusy"]}"#,
    );
    assert_eq!(added.status, 200, "{}", added.text());
    let report: serde_json::Value = serde_json::from_slice(&added.body).unwrap();
    assert_eq!(
        report["rules"][0]["rule"],
        "503 path=/public/?cmd=freebusy count=1"
    );
    assert_eq!(s.get(QUERY).status, 503);
    assert_eq!(s.get(QUERY).status, 200);

    let listed = s.request(
        "GET",
        "/_schedplus/fault/list",
        &[("X-Schedplus-Token", &token)],
        None,
    );
    let report: serde_json::Value = serde_json::from_slice(&listed.body).unwrap();
    assert_eq!(report["rules"][0]["matched"], 2);
    assert_eq!(report["rules"][0]["fired"], 1);

    assert_eq!(post("clear", r#"{"rule": 7}"#).status, 404);
    let cleared = post("clear", "{}");
    assert_eq!(cleared.status, 200);
    let report: serde_json::Value = serde_json::from_slice(&cleared.body).unwrap();
    assert_eq!(report["rules"].as_array().unwrap().len(), 0);
}

/// `schedplus serve --demo` as its own process (its log and the process-wide metrics are
/// its alone), with `extra` settings.
fn demo_process(data: &std::path::Path, extra: &[&str]) -> ServeProcess {
    let serve = [&["--demo", "--listen", "127.0.0.1:0"], extra].concat();
    ServeProcess::spawn(data, &["--data", data.to_str().unwrap()], &serve, &[])
}

/// `schedplus fault ARGS…` on the server holding `data`; its output must say `says`.
fn fault_cli(data: &std::path::Path, args: &[&str], says: &str) -> std::process::Output {
    let out = run_cli(data, &[&["fault"], args].concat());
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        text.contains(says),
        "fault {args:?} should say {says:?}:\n{text}"
    );
    out
}

#[test]
fn injected_faults_are_logged_and_counted() {
    let data = tempfile::tempdir().unwrap();
    let rules = "500 count=2 path=/public/?Cmd=freebusy; 403 method=PROPFIND";
    let server = demo_process(data.path(), &["--faults", rules]);
    assert_eq!(http(&server.base, "GET", QUERY, &[], None).status, 500);
    assert_eq!(http(&server.base, "GET", QUERY, &[], None).status, 500);
    assert_eq!(http(&server.base, "GET", QUERY, &[], None).status, 200);
    let metrics = http(&server.base, "GET", "/metrics", &[], None).text();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("schedplus_faults_injected_total{") && l.contains("kind=\"500\""))
        .unwrap_or_else(|| panic!("no fault counter in:\n{metrics}"));
    assert!(line.contains("rule=\"1\""), "{line}");
    assert!(line.ends_with(" 2"), "{line}");
    let log = std::fs::read_to_string(&server.log).unwrap();
    let logged = "fault injected: rule 1 (500 path=/public/?cmd=freebusy count=2)";
    assert_eq!(log.matches(logged).count(), 2, "{log}");
}

#[test]
fn a_bad_rule_in_the_settings_names_its_token() {
    let data = tempfile::tempdir().unwrap();
    let out = run_cli(data.path(), &["serve", "--faults", "503 count=1; 502 p=1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let e = stderr(&out);
    let origin = "faults = '503 count=1; 502 p=1' (from the --faults flag)";
    assert!(
        e.contains(origin) && e.contains("'502' is not a fault"),
        "{e}"
    );
}

#[test]
fn the_fault_command_adds_lists_and_clears() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let server = demo_process(d, &["--fault-seed", "5"]);
    let rules = [
        "503 count=1 path=/public/?Cmd=freebusy",
        "hang method=PROPFIND",
    ];
    fault_cli(
        d,
        &[&["add"], &rules[..]].concat(),
        "2 fault rules (seed 5)",
    );
    assert_eq!(http(&server.base, "GET", QUERY, &[], None).status, 503);
    let out = fault_cli(d, &["list"], "rule 1");
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.contains("503 path=/public/?cmd=freebusy count=1")
                && l.contains("fired      1")),
        "{text}"
    );
    // By URL and token, as for a server outside a lab.
    let token = schedplus::server::ServerInfo::read(d).unwrap().token;
    let by_url = [
        "clear",
        "--rule",
        "2",
        "--server",
        &server.base,
        "--token",
        &token,
    ];
    assert!(
        fault_cli(d, &by_url, "1 fault rule (seed 5)")
            .status
            .success()
    );
    let out = fault_cli(d, &["clear", "--rule", "2"], "has no fault rule 2");
    assert_eq!(out.status.code(), Some(3));
    let out = fault_cli(d, &["add", "503 sometimes"], "'sometimes' is not KEY=VALUE");
    assert_eq!(out.status.code(), Some(2));
    fault_cli(d, &["clear"], "no fault rules");
    drop(server);
    // Without a server there are no rules to change.
    let out = fault_cli(d, &["list"], "fault rules live in a running server");
    assert_eq!(out.status.code(), Some(1));
}

/// What the faults are for: a CAS in front of two public-folder servers of Dan's admin
/// group, the first one broken on purpose in each way in turn, fails over to the second
/// and still answers Dan's free/busy; the first server counts each fault it injected.
#[test]
fn the_cas_fails_over_past_every_fault_kind() {
    use schedplus::app::availability::{CasSettings, ServerOrder};
    use schedplus::protocol::fault_rule::FaultRule;
    const GROUP: &str = "EX:/o=First Organization/ou=First Administrative Group";
    let publishing = || {
        let s = with_faults("", 0);
        s.fb_set(
            "danw@xcs.example",
            "2026-01-01T00:00:00Z",
            &["2026-01-05T10:00:00Z/2026-01-05T11:00:00Z"],
            &[],
            &[],
        );
        s
    };
    let (broken, sound) = (publishing(), publishing());
    let front = TestServer::start_with(|o| {
        o.cas = CasSettings {
            servers: vec![(
                schedplus::protocol::legacy_dn::AdminGroup::parse(GROUP).unwrap(),
                vec![broken.url("/public"), sound.url("/public")],
            )],
            order: ServerOrder::Listed,
            timeout: Duration::from_secs(2),
            ..CasSettings::default()
        };
    });
    front.import_demo_directory();
    let soap = "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\"><s:Body><m:GetUserAvailabilityRequest><t:TimeZone><t:Bias>0</t:Bias></t:TimeZone><m:MailboxDataArray><t:MailboxData><t:Email><t:Address>danw@xcs.example</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType></t:MailboxData></m:MailboxDataArray><t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>2026-01-05T00:00:00</t:StartTime><t:EndTime>2026-01-06T00:00:00</t:EndTime></t:TimeWindow><t:MergedFreeBusyIntervalInMinutes>60</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>MergedOnly</t:RequestedView></t:FreeBusyViewOptions></m:GetUserAvailabilityRequest></s:Body></s:Envelope>";
    let faults = broken.server.as_ref().unwrap().state.faults().clone();
    for kind in ["403", "503", "401", "500", "reset", "hang"] {
        let rule = format!("{kind} path=/public/?cmd=freebusy");
        faults.lock().clear(None);
        faults.lock().add(rule.parse::<FaultRule>().unwrap());
        let r = front.request(
            "POST",
            "/EWS/Exchange.asmx",
            &[("Content-Type", "text/xml; charset=utf-8")],
            Some(soap.as_bytes()),
        );
        assert_eq!(r.status, 200, "{kind}: {}", r.text());
        let digits = r
            .text()
            .split("MergedFreeBusy>")
            .nth(1)
            .unwrap_or("")
            .to_string();
        assert!(
            digits.starts_with("0000000000200000"),
            "{kind}: Dan's 10:00 meeting, from the sound server: {}",
            r.text()
        );
        assert_eq!(faults.report().rules[0].fired, 1, "{kind}: injected once");
    }
}

/// The injected 503 has the body of a real no-replica 503 (`no_replica_body`, with this
/// server's name and the folder the request names), so the two cannot drift; only the
/// `X-Schedplus-Fault` header tells them apart.
#[test]
fn an_injected_503_has_the_body_of_a_real_no_replica_503() {
    let s = with_faults(
        "503 group=EX:/o=First%20Organization/ou=First%20Administrative%20Group",
        0,
    );
    let url = crate::common::message_url(
        "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=kbaker",
    );
    let r = s.request("PROPFIND", &url, &[("Depth", "0")], None);
    assert_eq!(r.status, 503);
    assert!(r.header("x-schedplus-fault").is_some());
    let state = &s.server.as_ref().unwrap().state;
    let server = state.topology().name().to_string();
    let want = schedplus::protocol::replica::no_replica_body(
        "EX:/o=first organization/ou=first administrative group",
        &server,
        &[],
    );
    assert_eq!(r.text().trim_end(), want.trim_end());
}
