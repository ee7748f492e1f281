//! The Availability front end (issue 15): `GetUserAvailability` and `GetServerTimeZones` at
//! `/EWS/Exchange.asmx`, Autodiscover, and the fallback to the legacy free/busy servers with
//! real servers on loopback (failover, event 4003, event 4004, errors for one admin group
//! only).

use std::time::Duration;

use schedplus::app::availability::{CasSettings, ServerOrder};
use schedplus::protocol::legacy_dn::AdminGroup;

use crate::common::{Reply, ServeProcess, TestServer, basic, fbdata};

pub(crate) const NOW: &str = "2026-01-01T00:00:00Z";
pub(crate) const DAN: &str = "danw@xcs.example";
pub(crate) const LI: &str = "lchen@companyabc.example";
const AMELIE: &str = "amartin@companyabc.example";
pub(crate) const FIRST_AG: &str = "EX:/o=First Organization/ou=First Administrative Group";
pub(crate) const LONDON: &str = "EX:/o=CompanyABC/ou=London";
pub(crate) const PARIS: &str = "EX:/o=CompanyABC/ou=Paris";

const M: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
const T: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
const S: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// A GetUserAvailability request. `bias`: the request's time zone (minutes, UTC = local +
/// bias, no daylight time); `start`/`end` as written (without an offset: local times).
pub(crate) fn soap(
    mailboxes: &[&str],
    bias: i32,
    start: &str,
    end: &str,
    interval: u32,
    view: &str,
) -> String {
    let m: String = mailboxes
        .iter()
        .map(|a| format!("<t:MailboxData><t:Email><t:Address>{a}</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType><t:ExcludeConflicts>false</t:ExcludeConflicts></t:MailboxData>"))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{S}" xmlns:m="{M}" xmlns:t="{T}"><s:Header><t:RequestServerVersion Version="Exchange2007_SP1"/></s:Header><s:Body><m:GetUserAvailabilityRequest><t:TimeZone><t:Bias>{bias}</t:Bias></t:TimeZone><m:MailboxDataArray>{m}</m:MailboxDataArray><t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>{start}</t:StartTime><t:EndTime>{end}</t:EndTime></t:TimeWindow><t:MergedFreeBusyIntervalInMinutes>{interval}</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>{view}</t:RequestedView></t:FreeBusyViewOptions></m:GetUserAvailabilityRequest></s:Body></s:Envelope>"#
    )
}

pub(crate) fn post(base: &str, path: &str, body: &str, auth: Option<&str>) -> Reply {
    let mut headers = vec![("Content-Type", "text/xml; charset=utf-8")];
    if let Some(a) = auth {
        headers.push(("Authorization", a));
    }
    crate::common::http(base, "POST", path, &headers, Some(body.as_bytes()))
}

fn ews(base: &str, body: &str) -> Reply {
    post(base, "/EWS/Exchange.asmx", body, None)
}

/// Each FreeBusyResponse as (ResponseCode, MergedFreeBusy digits).
pub(crate) fn responses(xml: &str) -> Vec<(String, String)> {
    xml.split("<m:FreeBusyResponse>")
        .skip(1)
        .map(|r| {
            let between = |a: &str, b: &str| {
                r.find(a)
                    .map(|i| {
                        let rest = &r[i + a.len()..];
                        rest[..rest.find(b).unwrap()].to_string()
                    })
                    .unwrap_or_default()
            };
            (
                between("<m:ResponseCode>", "</m:ResponseCode>"),
                between("<t:MergedFreeBusy>", "</t:MergedFreeBusy>"),
            )
        })
        .collect()
}

/// The SOAP fault's response code.
fn fault_code(xml: &str) -> &str {
    let a = xml
        .find("ResponseCode xmlns:e=")
        .expect("a fault with a code");
    let rest = &xml[a..];
    let s = rest.find('>').unwrap() + 1;
    &rest[s..rest.find("</").unwrap()]
}

/// A store with the demo directory and some busy time for Dan and Li.
pub(crate) fn free_busy_server(f: impl FnOnce(&mut schedplus::server::ServeOptions)) -> TestServer {
    let s = TestServer::start_with(f);
    s.import_demo_directory();
    s.fb_set(
        DAN,
        NOW,
        &["2026-01-05T10:00:00Z/2026-01-05T11:00:00Z"],
        &[],
        &[],
    );
    s.fb_set(
        LI,
        NOW,
        &["2026-01-05T14:00:00Z/2026-01-05T14:30:00Z"],
        &[],
        &["2026-01-05T16:00:00Z/2026-01-05T17:00:00Z"],
    );
    s
}

/// A loopback URL nobody listens on (bound, then closed).
fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}/public")
}

/// A front end that knows the demo directory but holds no free/busy, asking `servers` in
/// the order listed (so a test knows which fails first); `tweak` sets the rest.
pub(crate) fn front_end(
    servers: Vec<(AdminGroup, Vec<String>)>,
    tweak: impl FnOnce(&mut CasSettings),
) -> TestServer {
    let a = TestServer::start_with(|o| {
        let mut cas = CasSettings {
            servers,
            order: ServerOrder::Listed,
            ..CasSettings::default()
        };
        tweak(&mut cas);
        o.cas = cas;
    });
    a.import_demo_directory();
    a
}

/// A GetUserAvailability request for `who` over 2026-01-05 in UTC, 30-minute merged digits.
pub(crate) fn jan5(who: &[&str]) -> String {
    soap(
        who,
        0,
        "2026-01-05T00:00:00Z",
        "2026-01-06T00:00:00Z",
        30,
        "MergedOnly",
    )
}

/// [`jan5`] asked of `front`, anonymously.
pub(crate) fn ask_jan5(front: &TestServer, who: &[&str]) -> Reply {
    ews(&front.base, &jan5(who))
}

/// Has `front` counted a failure of kind `kind` for a server whose URL holds `server`?
fn counted_failure(front: &TestServer, server: &str, kind: &str) -> bool {
    let metrics = front.get("/metrics").text();
    let found = metrics.lines().any(|l| {
        l.starts_with("schedplus_availability_server_failures_total")
            && l.contains(server)
            && l.contains(&format!("kind=\"{kind}\""))
    });
    if !found {
        eprintln!("no {kind} failure of {server} in:\n{metrics}");
    }
    found
}

pub(crate) fn ag(s: &str) -> AdminGroup {
    AdminGroup::parse(s).unwrap()
}

#[test]
fn ews_digits_equal_the_legacy_query_and_start_at_the_window_start_in_the_request_zone() {
    let s = free_busy_server(|_| {});
    let r = ews(&s.base, &jan5(&[DAN, LI]));
    assert_eq!(r.status, 200, "{}", r.text());
    let got = responses(&r.text());
    assert_eq!(got.len(), 2);
    let direct = fbdata(&s.get("/public/?Cmd=freebusy&start=2026-01-05T00:00:00Z&end=2026-01-06T00:00:00Z&interval=30&u=SMTP:danw@xcs.example&u=SMTP:lchen@companyabc.example").text());
    assert_eq!(got[0], ("NoError".to_string(), direct[1].clone()));
    assert_eq!(got[1], ("NoError".to_string(), direct[2].clone()));
    assert_eq!(&got[0].1[20..22], "22", "{}", got[0].1);
    assert!(got[1].1.contains('3'), "{}", got[1].1);
    // The same window written as local times of a zone one hour ahead of UTC (bias -60):
    // 01:00 local is 00:00 UTC, so the digits are the same.
    let r = ews(
        &s.base,
        &soap(
            &[DAN],
            -60,
            "2026-01-05T01:00:00",
            "2026-01-06T01:00:00",
            30,
            "DetailedMerged",
        ),
    );
    assert_eq!(responses(&r.text())[0].1, got[0].1);
    // Local 10:00 at bias -60 is 09:00 UTC: Dan's 10:00-11:00 UTC is the 3rd and 4th hour.
    let r = ews(
        &s.base,
        &soap(
            &[DAN],
            -60,
            "2026-01-05T10:00:00",
            "2026-01-05T16:00:00",
            60,
            "FreeBusyMerged",
        ),
    );
    assert_eq!(responses(&r.text())[0].1, "020000");
    assert!(
        r.text()
            .contains("<t:FreeBusyViewType>MergedOnly</t:FreeBusyViewType>")
    );
}

#[test]
fn unknown_addresses_and_unmerged_views_get_exchanges_codes_and_the_others_still_answer() {
    let s = free_busy_server(|_| {});
    let r = ews(
        &s.base,
        &soap(
            &[DAN, "ghost@nowhere.example", "dan.winship@xcs.example"],
            0,
            "2026-01-05T00:00:00Z",
            "2026-01-05T12:00:00Z",
            60,
            "MergedOnly",
        ),
    );
    let got = responses(&r.text());
    assert_eq!(got[0].0, "NoError");
    assert_eq!(got[1].0, "ErrorMailRecipientNotFound");
    assert!(r.text().contains("ghost@nowhere.example"));
    // A proxy address is the same user.
    assert_eq!(got[2], got[0]);
    let r = ews(
        &s.base,
        &soap(
            &[DAN],
            0,
            "2026-01-05T00:00:00Z",
            "2026-01-05T12:00:00Z",
            60,
            "Detailed",
        ),
    );
    assert_eq!(
        responses(&r.text())[0].0,
        "ErrorLegacyMailboxFreeBusyViewTypeNotMerged"
    );
}

#[test]
fn limits_and_malformed_soap_are_faults_with_a_sentence_never_a_5xx() {
    let s = TestServer::start();
    s.import_demo_directory();
    let many: Vec<String> = (0..101).map(|i| format!("u{i}@x.example")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    for (body, code) in [
        (
            soap(
                &many,
                0,
                "2026-01-05T00:00:00Z",
                "2026-01-06T00:00:00Z",
                30,
                "MergedOnly",
            ),
            "ErrorMailboxDataArrayTooBig",
        ),
        (
            soap(
                &[DAN],
                0,
                "2026-01-01T00:00:00Z",
                "2026-02-12T00:00:01Z",
                30,
                "MergedOnly",
            ),
            "ErrorTimeIntervalTooBig",
        ),
        (
            soap(
                &[DAN],
                0,
                "2026-01-01T00:00:00Z",
                "2026-01-02T00:00:00Z",
                4,
                "MergedOnly",
            ),
            "ErrorInvalidMergedFreeBusyInterval",
        ),
        ("<not soap".to_string(), "ErrorSchemaValidation"),
        (
            format!(
                "<s:Envelope xmlns:s=\"{S}\"><s:Body><m:ResolveNames xmlns:m=\"{M}\"/></s:Body></s:Envelope>"
            ),
            "ErrorInvalidRequest",
        ),
    ] {
        let r = ews(&s.base, &body);
        assert_eq!(r.status, 400, "{}", r.text());
        let text = r.text();
        assert_eq!(fault_code(&text), code, "{text}");
        assert!(text.contains("<faultstring"), "{text}");
    }
    // 100 mailboxes and 42 days are answered.
    let hundred = &many[..100];
    let r = ews(
        &s.base,
        &soap(
            hundred,
            0,
            "2026-01-01T00:00:00Z",
            "2026-02-12T00:00:00Z",
            30,
            "MergedOnly",
        ),
    );
    assert_eq!(r.status, 200);
    assert_eq!(responses(&r.text()).len(), 100);
    let r = s.get("/EWS/Exchange.asmx");
    assert_eq!(r.status, 405);
}

#[test]
fn server_time_zones_answer_the_zone_exchangelib_asks_for() {
    let s = TestServer::start();
    let body = format!(
        "<s:Envelope xmlns:s=\"{S}\" xmlns:m=\"{M}\" xmlns:t=\"{T}\"><s:Header><t:RequestServerVersion Version=\"Exchange2010\"/></s:Header><s:Body><m:GetServerTimeZones ReturnFullTimeZoneData=\"true\"><m:Ids><t:Id>UTC</t:Id></m:Ids></m:GetServerTimeZones></s:Body></s:Envelope>"
    );
    let r = ews(&s.base, &body);
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(text.contains("<t:TimeZoneDefinition Id=\"UTC\""), "{text}");
    assert!(
        text.contains("<m:ResponseCode>NoError</m:ResponseCode>"),
        "{text}"
    );
}

#[test]
fn ews_and_autodiscover_need_a_directory_user_under_basic_auth() {
    let s = TestServer::start_with(|o| o.auth = schedplus::auth::AuthSettings::default());
    // The demo's users sign in with the password `demo`.
    schedplus::app::demo::load(s.store(), &schedplus::app::Clock::System, None).unwrap();
    let body = soap(
        &[DAN],
        0,
        "2026-01-05T00:00:00Z",
        "2026-01-05T12:00:00Z",
        60,
        "MergedOnly",
    );
    assert_eq!(post(&s.base, "/EWS/Exchange.asmx", &body, None).status, 401);
    // A directory user with the wrong password, or a name nobody has, is refused the same.
    for (user, password) in [("dwinship", "not-demo"), ("nobody", "demo")] {
        let r = post(
            &s.base,
            "/EWS/Exchange.asmx",
            &body,
            Some(&basic(user, password)),
        );
        assert_eq!(r.status, 401, "{user}");
    }
    let r = post(
        &s.base,
        "/EWS/Exchange.asmx",
        &body,
        Some(&basic("dwinship", "demo")),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let auto = "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\"><Request><EMailAddress>lchen@companyabc.example</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>";
    assert_eq!(
        post(&s.base, "/autodiscover/autodiscover.xml", auto, None).status,
        401
    );
    let r = post(
        &s.base,
        "/Autodiscover/Autodiscover.xml",
        auto,
        Some(&basic("dwinship", "demo")),
    );
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(
        text.contains(&format!("<EwsUrl>{}/EWS/Exchange.asmx</EwsUrl>", s.base)),
        "{text}"
    );
    assert!(
        text.contains("<LegacyDN>/o=CompanyABC/ou=London/cn=Recipients/cn=lchen</LegacyDN>"),
        "{text}"
    );
}

#[test]
fn failover_to_the_next_server_and_an_error_only_for_the_admin_group_none_answers() {
    let b = free_busy_server(|_| {});
    let (dead, dead2) = (dead_url(), dead_url());
    let servers = vec![
        (
            ag(FIRST_AG),
            vec![dead.clone(), format!("{}/public", b.base)],
        ),
        (ag(LONDON), vec![dead2.clone()]),
    ];
    // The front end knows the directory but holds no free/busy: digits from b prove the
    // answer came from b.
    let a = front_end(servers, |c| {
        c.timeout = Duration::from_secs(10);
        c.max_tries = 10;
    });
    let r = ask_jan5(&a, &[DAN, LI, AMELIE]);
    assert_eq!(r.status, 200, "{}", r.text());
    let got = responses(&r.text());
    let direct = fbdata(&b.get("/public/?Cmd=freebusy&start=2026-01-05T00:00:00Z&end=2026-01-06T00:00:00Z&interval=30&u=SMTP:danw@xcs.example").text());
    assert_eq!(got[0], ("NoError".to_string(), direct[1].clone()));
    assert!(got[0].1.contains('2'));
    // London's one server is down and its organisation has no other: an error for Li only.
    assert_eq!(got[1].0, "ErrorNoPublicFolderServerAvailable");
    assert!(
        r.text().contains(&dead2),
        "the error names the server tried"
    );
    // Paris has no servers listed: answered from a's own store (no data there: 4s).
    assert_eq!(got[2], ("NoError".to_string(), "4".repeat(48)));
    let metrics = a.get("/metrics").text();
    let failed = |url: &str| {
        metrics.lines().any(|l| {
            l.starts_with("schedplus_availability_server_failures_total")
                && l.contains(&format!("server=\"{url}\""))
                && l.contains("kind=\"connect\"")
        })
    };
    assert!(failed(&dead) && failed(&dead2), "{metrics}");
    assert!(
        metrics.lines().any(
            |l| l.starts_with("schedplus_availability_server_answers_total") && l.contains(&b.base)
        ),
        "{metrics}"
    );
}

#[test]
fn after_4004_a_last_attempt_at_another_server_of_the_organisation_answers() {
    let b = free_busy_server(|_| {});
    let dead = dead_url();
    let a = front_end(
        vec![
            (ag(LONDON), vec![dead.clone()]),
            (ag(PARIS), vec![format!("{}/public", b.base)]),
        ],
        |_| {},
    );
    let r = ask_jan5(&a, &[LI]);
    let got = responses(&r.text());
    let direct = fbdata(&b.get("/public/?Cmd=freebusy&start=2026-01-05T00:00:00Z&end=2026-01-06T00:00:00Z&interval=30&u=SMTP:lchen@companyabc.example").text());
    assert_eq!(got[0], ("NoError".to_string(), direct[1].clone()));
}

#[test]
fn a_non_200_answer_fails_over_too() {
    // A server that answers 401 to the query (reads need credentials) counts as a failure.
    let closed = free_busy_server(|o| {
        o.auth = schedplus::auth::AuthSettings {
            read: schedplus::auth::ReadAccess::Authenticated,
            ..schedplus::auth::AuthSettings::default()
        }
    });
    let open = free_busy_server(|_| {});
    let a = front_end(
        vec![(
            ag(FIRST_AG),
            vec![
                format!("{}/public", closed.base),
                format!("{}/public", open.base),
            ],
        )],
        |_| {},
    );
    let r = ask_jan5(&a, &[DAN]);
    let got = responses(&r.text());
    assert_eq!(got[0].0, "NoError");
    assert!(got[0].1.contains('2'));
    assert!(counted_failure(&a, &closed.base, "status"));
}

/// Dan and Li on 2026-01-05 (30-minute digits), asked of a `serve --demo` process as
/// `dwinship`: each answer's (code, digits).
fn ask_dan_and_li_as_dwinship(base: &str) -> Vec<(String, String)> {
    let r = post(
        base,
        "/EWS/Exchange.asmx",
        &jan5(&[DAN, LI]),
        Some(&basic("dwinship", "demo")),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    responses(&r.text())
}

#[test]
fn serve_logs_4003_per_failed_server_and_4004_when_none_answers() {
    let b = free_busy_server(|_| {});
    let (dead, dead2) = (dead_url(), dead_url());
    let cas = format!("{FIRST_AG}={dead},{}/public;{LONDON}={dead2}", b.base);
    let serve_args = [
        "--cas-servers",
        &cas,
        "--cas-order",
        "listed",
        "--cas-timeout",
        "5s",
    ];
    let (_data, p) = ServeProcess::demo(&serve_args, &[]);
    let got = ask_dan_and_li_as_dwinship(&p.base);
    assert_eq!(got[0].0, "NoError");
    assert!(got[0].1.contains('2'), "{}", got[0].1);
    assert_eq!(got[1].0, "ErrorNoPublicFolderServerAvailable");
    let log = std::fs::read_to_string(&p.log).unwrap();
    let lines = |needle: &str| log.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(lines("event_id=4003"), 2, "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("event_id=4003") && l.contains(&dead)),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("event_id=4003") && l.contains(&dead2)),
        "{log}"
    );
    assert_eq!(lines("event_id=4004"), 1, "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("event_id=4004") && l.contains("London")),
        "{log}"
    );
}

#[test]
fn a_server_that_never_answers_times_out_and_the_next_one_answers() {
    // Accepts connections and never answers (a hung public-folder server).
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_url = format!("http://{}/public", hung.local_addr().unwrap());
    // Detached: it lets go of the connection by itself once the test no longer needs it.
    std::thread::spawn(move || {
        let mut conns = Vec::new();
        for c in hung.incoming().take(1) {
            conns.push(c);
        }
        std::thread::sleep(Duration::from_secs(3));
        drop(conns);
    });
    let b = free_busy_server(|_| {});
    let a = front_end(
        vec![(
            ag(FIRST_AG),
            vec![hung_url.clone(), format!("{}/public", b.base)],
        )],
        |c| {
            c.timeout = Duration::from_millis(500);
        },
    );
    let r = ask_jan5(&a, &[DAN]);
    let got = responses(&r.text());
    assert_eq!(got[0].0, "NoError", "{}", r.text());
    assert!(got[0].1.contains('2'));
    let metrics = a.get("/metrics").text();
    assert!(
        metrics.lines().any(
            |l| l.contains(&format!("server=\"{hung_url}\"")) && l.contains("kind=\"timeout\"")
        ),
        "{metrics}"
    );
    for name in [
        "schedplus_availability_requests_total{operation=\"GetUserAvailability\"}",
        "schedplus_availability_mailboxes_total{outcome=\"merged\"}",
    ] {
        assert!(
            metrics.lines().any(|l| l.starts_with(name)),
            "no {name}:\n{metrics}"
        );
    }
}

#[test]
fn role_cas_serves_the_front_end_alone_and_role_store_the_store_alone() {
    use schedplus::app::availability::Role;
    let b = free_busy_server(|o| o.cas.role = Role::Store);
    let r = ews(
        &b.base,
        &soap(
            &[DAN],
            0,
            "2026-01-05T00:00:00Z",
            "2026-01-06T00:00:00Z",
            30,
            "MergedOnly",
        ),
    );
    assert_eq!(r.status, 404);
    assert!(r.text().contains("--role store"), "{}", r.text());
    let cas = TestServer::start_with(|o| {
        o.cas = CasSettings {
            servers: vec![(ag(FIRST_AG), vec![format!("{}/public", b.base)])],
            role: Role::Cas,
            ..CasSettings::default()
        }
    });
    cas.import_demo_directory();
    let r = cas.get("/public/?Cmd=freebusy&start=2026-01-05T00:00:00Z&end=2026-01-06T00:00:00Z&u=danw@xcs.example");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("--role cas"), "{}", r.text());
    // Dan's admin group is listed (b answers); Amélie's is not, and a CAS alone has no
    // store of its own to answer from.
    let r = ews(
        &cas.base,
        &soap(
            &[DAN, AMELIE],
            0,
            "2026-01-05T00:00:00Z",
            "2026-01-06T00:00:00Z",
            30,
            "MergedOnly",
        ),
    );
    let got = responses(&r.text());
    assert_eq!(got[0].0, "NoError");
    assert!(got[0].1.contains('2'));
    assert_eq!(got[1].0, "ErrorNoPublicFolderServerAvailable");
}

/// The service account's password at [`closed_server`].
const SERVICE_PASSWORD: &str = "Cas-Service-7f3b";

/// A free/busy server that refuses anonymous reads (`read = authenticated`), with Dan's busy
/// hour, where `dwinship` signs in with [`SERVICE_PASSWORD`].
fn closed_server() -> TestServer {
    use schedplus::app::ops::{Ctx, Operation, PasswdRequest};
    let s = free_busy_server(|o| {
        o.auth = schedplus::auth::AuthSettings {
            read: schedplus::auth::ReadAccess::Authenticated,
            ..schedplus::auth::AuthSettings::default()
        }
    });
    PasswdRequest {
        user: "dwinship".into(),
        password_hash: Some(schedplus::auth::hash_password(SERVICE_PASSWORD).unwrap()),
    }
    .run(&Ctx::new(s.store()))
    .unwrap();
    s
}

/// Issue 15 item 5: the front end's own requests are anonymous unless a service account is
/// configured; a server that wants a sign-in answers 401 (event 4003, failover, then 4004
/// for that admin group) and answers the service account.
#[test]
fn a_server_that_wants_a_sign_in_answers_the_front_ends_service_account() {
    use schedplus::app::availability::ServiceAccount;
    let closed = closed_server();
    let servers = || vec![(ag(FIRST_AG), vec![format!("{}/public", closed.base)])];
    let anonymous = front_end(servers(), |_| {});
    let r = ask_jan5(&anonymous, &[DAN]);
    let got = responses(&r.text());
    assert_eq!(
        got[0].0,
        "ErrorNoPublicFolderServerAvailable",
        "{}",
        r.text()
    );
    assert!(
        r.text().contains("401") && r.text().contains("service account"),
        "{}",
        r.text()
    );
    assert!(counted_failure(&anonymous, &closed.base, "status"));
    let signed_in = front_end(servers(), |c| {
        c.service_account = Some(ServiceAccount::new("dwinship", SERVICE_PASSWORD).unwrap());
    });
    let got = responses(&ask_jan5(&signed_in, &[DAN]).text());
    let direct = closed.request(
        "GET",
        "/public/?Cmd=freebusy&start=2026-01-05T00:00:00Z&end=2026-01-06T00:00:00Z&interval=30&u=SMTP:danw@xcs.example",
        &[("Authorization", &basic("dwinship", SERVICE_PASSWORD))],
        None,
    );
    assert_eq!(direct.status, 200);
    assert_eq!(
        got[0],
        ("NoError".to_string(), fbdata(&direct.text())[1].clone())
    );
    assert!(got[0].1.contains('2'));
    // A wrong password is a refusal like any other, said as such.
    let wrong = front_end(servers(), |c| {
        c.service_account = Some(ServiceAccount::new("dwinship", "not-the-password").unwrap());
    });
    let text = ask_jan5(&wrong, &[DAN]).text();
    let refused = responses(&text)[0].0 == "ErrorNoPublicFolderServerAvailable";
    assert!(
        refused && text.contains("refused the service account"),
        "{text}"
    );
}

/// The same through `schedplus serve`: without the account 4003 and 4004 are logged for the
/// closed server's admin group while another admin group still answers; with it (the
/// password from the environment) the closed server answers, the password is in neither the
/// log nor `server.json`, and `config show` hides it.
#[test]
fn serve_takes_the_service_account_from_its_settings_and_never_shows_the_password() {
    let closed = closed_server();
    let open = free_busy_server(|_| {});
    let cas = format!(
        "{FIRST_AG}={}/public;{LONDON}={}/public",
        closed.base, open.base
    );
    let run = |env: &[(&str, &str)], extra: &[&str]| {
        let data = tempfile::tempdir().unwrap();
        let mut serve = vec!["--demo", "--listen", "127.0.0.1:0", "--cas-servers", &cas];
        serve.extend_from_slice(extra);
        let p = ServeProcess::spawn(
            data.path(),
            &["--data", data.path().to_str().unwrap()],
            &serve,
            env,
        );
        let got = ask_dan_and_li_as_dwinship(&p.base);
        (data, p, got)
    };
    let (_d, p, got) = run(&[], &[]);
    assert_eq!(got[0].0, "ErrorNoPublicFolderServerAvailable");
    assert_eq!(got[1].0, "NoError");
    assert!(got[1].1.contains('3'), "{}", got[1].1);
    let log = std::fs::read_to_string(&p.log).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("event_id=4003") && l.contains(&closed.base) && l.contains("401")),
        "{log}"
    );
    assert!(log.lines().any(|l| l.contains("event_id=4004")), "{log}");
    drop(p);
    let (data, p, got) = run(
        &[("SCHEDPLUS_CAS_SERVICE_PASSWORD", SERVICE_PASSWORD)],
        &["--cas-service-user", "dwinship"],
    );
    assert_eq!(got[0].0, "NoError");
    assert!(got[0].1.contains('2'), "{}", got[0].1);
    let log = std::fs::read_to_string(&p.log).unwrap();
    assert!(!log.contains("event_id=4003"), "{log}");
    let info = std::fs::read_to_string(data.path().join("server.json")).unwrap();
    assert!(
        info.contains("cas_service_password") && !info.contains(SERVICE_PASSWORD),
        "{info}"
    );
    let shown = crate::common::run_cli(data.path(), &["config", "show"]);
    let text = crate::common::stdout(&shown);
    assert!(
        text.lines()
            .any(|l| l.starts_with("cas_service_password = \"(hidden)\"")),
        "{text}"
    );
    assert!(text.contains("cas_service_user = \"dwinship\""), "{text}");
    assert!(!log.contains(SERVICE_PASSWORD) && !text.contains(SERVICE_PASSWORD));
}
