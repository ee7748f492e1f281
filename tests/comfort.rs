//! What a lab admin meets in the first hour (issue 17): the landing page at `/`, the query
//! page's timeline, browse pages for people, and a demo that resets on restart.

use schedplus::app::Clock;

use crate::common::{TestServer, fbdata, ts};

const HTML: (&str, &str) = ("Accept", "text/html,application/xhtml+xml");
const FB_ROOT: &str = "/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/";
const FIRST_AG: &str = "/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=First%20Organization_xF8FF_ou=First%20Administrative%20Group/";
const DAN: &str = "USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=DWINSHIP.EML";

/// The `data-day` values of a page's timeline rows, in order.
fn days(page: &str) -> Vec<String> {
    page.split("class=\"day")
        .skip(1)
        .filter_map(|s| s.split("data-day=\"").nth(1))
        .map(|s| s[..10].to_string())
        .collect()
}

#[test]
fn the_landing_page_links_the_tree_the_form_the_metrics_and_the_version() {
    let srv = TestServer::start();
    let r = srv.request("GET", "/", &[HTML], None);
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let page = r.text();
    assert!(page.contains("href=\"/public/NON_IPM_SUBTREE/\""), "{page}");
    assert!(page.contains("<form class=\"query\" method=\"get\" action=\"/query\">"));
    for field in [
        "name=\"start\"",
        "name=\"end\"",
        "name=\"interval\"",
        "<textarea name=\"users\"",
        "name=\"format\" value=\"xml\"",
    ] {
        assert!(page.contains(field), "no {field} in the form");
    }
    assert!(page.contains("href=\"/metrics\""));
    let version = format!(
        "schedplus <span class=\"version\">{} (git ",
        env!("CARGO_PKG_VERSION")
    );
    assert!(page.contains(&version), "no version in\n{page}");

    // curl gets the same facts as text; HEAD works; other methods on / are still 404.
    let r = srv.get("/");
    assert_eq!(r.status, 200);
    assert!(r.text().contains(env!("CARGO_PKG_VERSION")));
    assert!(r.text().contains("/public/NON_IPM_SUBTREE/"));
    assert_eq!(srv.request("HEAD", "/", &[HTML], None).status, 200);
    assert_eq!(srv.request("DELETE", "/", &[], None).status, 404);
}

#[test]
fn the_query_page_draws_the_digits_the_cas_query_answers() {
    let srv = TestServer::start();
    srv.import_demo_directory();
    srv.fb_set(
        "danw@xcs.example",
        "2026-11-24T00:00:00Z",
        &["2026-11-25T09:00:00Z/2026-11-25T10:30:00Z"],
        &["2026-11-25T13:00:00Z/2026-11-25T14:00:00Z"],
        &["2026-11-26T00:00:00Z/2026-11-27T00:00:00Z"],
    );
    let params = "start=2026-11-25T00:00:00Z&end=2026-11-27T12:00:00Z&interval=30";
    let users = "&u=SMTP:danw@xcs.example&u=nobody@nowhere.example&u=kbaker";
    let xml = srv
        .get(&format!("/public/?Cmd=freebusy&{params}{users}"))
        .text();
    let expected = fbdata(&xml);
    assert_eq!(expected.len(), 4);
    assert!(expected[1].contains('2') && expected[1].contains('1') && expected[1].contains('3'));

    // The same query from the form: the users box, one per line, with a blank line.
    let boxed = "&users=danw%40xcs.example%0D%0A%0D%0Anobody%40nowhere.example%0D%0Akbaker";
    let r = srv.request("GET", &format!("/query?{params}{boxed}"), &[HTML], None);
    assert_eq!(r.status, 200, "{}", r.text());
    let page = r.text();
    let shown: Vec<String> = page
        .split("<code class=\"fbdata\">")
        .skip(1)
        .map(|s| s.split("</code>").next().unwrap().to_string())
        .collect();
    assert_eq!(shown, expected, "the page shows the CAS answer's digits");
    // A bar per item per day (3 days × 4 items), coloured by the digits.
    assert_eq!(page.matches("<div class=\"day").count(), 12);
    assert!(page.contains(
        "<i class=\"s2\" style=\"left:37.50%;width:6.25%\" title=\"Busy 09:00–10:30 (1h30)\">"
    ));
    assert!(page.contains("class=\"s3\" style=\"left:0.00%;width:100.00%\""));
    // The unknown user is no data all along; the last day stops at noon.
    assert!(page.contains("class=\"outq\" style=\"left:50.00%;width:50.00%\""));
    assert!(page.contains("Dan Winship"));

    // A CAS-style query string works as it is, and format=xml sends the form to the CAS
    // query with the empty lines left out.
    let cas = srv.request("GET", &format!("/query?{params}{users}"), &[HTML], None);
    assert!(cas.text().contains(&expected[1]));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let r = agent
        .get(format!("{}/query?{params}{boxed}&format=xml", srv.base))
        .call()
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/public/?Cmd=freebusy&"), "{location}");
    assert_eq!(fbdata(&srv.get(&location).text()), expected);
}

#[test]
fn the_query_page_says_what_is_wrong_and_fills_what_is_left_out() {
    let srv = TestServer::start_with(|o| {
        o.clock = Clock::Fixed(ts("2026-11-24T14:30:00Z"));
    });
    let r = srv.request(
        "GET",
        "/query?start=tomorrow&end=2026-11-27T00:00:00Z&users=danw%40xcs.example",
        &[HTML],
        None,
    );
    assert_eq!(r.status, 400);
    let page = r.text();
    assert!(page.contains("the start parameter"), "{page}");
    // The form keeps what was typed.
    assert!(page.contains("value=\"tomorrow\""));
    // A query too big to draw is refused with the limits and a link to the XML.
    let r = srv.request(
        "GET",
        "/query?start=2026-11-24T00:00:00Z&end=2026-12-08T00:00:00Z&interval=1&u=a&u=b&u=c&u=d&u=e",
        &[HTML],
        None,
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("100000 digits in all"), "{}", r.text());
    assert!(r.text().contains("/public/?Cmd=freebusy&amp;start="));
    // Users alone: this week (the server's today), hour by hour.
    let r = srv.request("GET", "/query?u=danw@xcs.example", &[HTML], None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("value=\"2026-11-24T00:00:00Z\""));
    assert!(r.text().contains("value=\"2026-12-01T00:00:00Z\""));
    assert!(
        r.text().contains("168 slots of 1h per user"),
        "{}",
        r.text()
    );
    // With no parameters it is just the form.
    let r = srv.request("GET", "/query", &[HTML], None);
    assert_eq!(r.status, 200);
    assert!(!r.text().contains("<code class=\"fbdata\">"));
}

#[test]
fn listings_show_people_counts_and_a_filter() {
    let srv = TestServer::start();
    srv.import_demo_directory();
    let now = "2026-11-24T00:00:00Z";
    srv.fb_set("danw@xcs.example", now, &[], &[], &[]);
    srv.fb_set("kbaker@xcs.example", now, &[], &[], &[]);

    let page = srv.request("GET", FIRST_AG, &[HTML], None).text();
    assert!(
        page.contains("<span class=\"person\">Dan Winship</span>"),
        "{page}"
    );
    assert!(page.contains("href=\"mailto:danw@xcs.example\""));
    assert!(page.contains("<span class=\"person\">Karen Baker</span>"));
    assert!(page.contains("<form class=\"filter\" method=\"get\""));
    assert!(page.contains("<footer>2 items</footer>"));
    // Long names wrap beside their icon.
    assert!(page.contains("<td class=\"name\"><div class=\"nm\"><span class=\"ic msg\""));

    let page = srv
        .request("GET", &format!("{FIRST_AG}?filter=KAREN"), &[HTML], None)
        .text();
    assert!(page.contains("Karen Baker"));
    assert!(!page.contains("Dan Winship"));
    assert!(page.contains("value=\"KAREN\""));
    assert!(page.contains("1 of 2 items matches “KAREN”"), "{page}");
    let page = srv
        .request("GET", &format!("{FIRST_AG}?filter=zzz"), &[HTML], None)
        .text();
    assert!(page.contains("Nothing here matches “zzz”."));

    // The groups' listing counts their users; Paris has none published yet.
    let page = srv.request("GET", FB_ROOT, &[HTML], None).text();
    let row = |name: &str| {
        let at = page.find(name).unwrap_or_else(|| panic!("no {name}"));
        page[at..].split("</tr>").next().unwrap().to_string()
    };
    assert!(row("First Administrative Group").contains(">2 users</span>"));
    assert!(row("ou=Paris").contains(">0 users</span>"));
    // The fixed folders have no date; none shows 1970.
    let tree = srv
        .request("GET", "/public/NON_IPM_SUBTREE/", &[HTML], None)
        .text();
    assert!(!tree.contains("1970"), "{tree}");
    assert!(tree.contains("SCHEDULE+ FREE BUSY"));
}

#[test]
fn a_users_page_opens_on_this_week_with_earlier_and_later_weeks() {
    let srv = TestServer::start_with(|o| {
        o.clock = Clock::Fixed(ts("2026-11-24T14:30:00Z"));
    });
    srv.import_demo_directory();
    srv.fb_set(
        "danw@xcs.example",
        "2026-11-24T14:30:00Z",
        &["2026-11-25T09:00:00Z/2026-11-25T10:00:00Z"],
        &[],
        &["2026-12-07T00:00:00Z/2026-12-12T00:00:00Z"],
    );
    let url = format!("{FIRST_AG}{DAN}");
    let page = srv.request("GET", &url, &[HTML], None).text();
    let d = days(&page);
    assert_eq!(d.len(), 21, "{d:?}");
    assert_eq!(d[0], "2026-11-22", "the week of now, from its Sunday");
    assert_eq!(d[20], "2026-12-12");
    assert!(page.contains("class=\"day today\" data-day=\"2026-11-24\""));
    // The out-of-office week two weeks on is in the first view.
    assert!(page.contains("<i class=\"s3\""));
    assert!(page.contains("href=\"?week=2026-11-01\">← Earlier weeks</a>"));
    assert!(page.contains("href=\"?week=2026-12-13\">Later weeks →</a>"));
    // The timeline comes before the message's details.
    assert!(page.find("class=\"tl\"").unwrap() < page.find("<dl class=\"facts\">").unwrap());

    let later = srv
        .request("GET", &format!("{url}?week=2026-12-16"), &[HTML], None)
        .text();
    assert_eq!(days(&later)[0], "2026-12-13");
    assert!(later.contains("href=\"?week=2026-11-22\">This week</a>"));
    let all = srv
        .request("GET", &format!("{url}?week=all"), &[HTML], None)
        .text();
    let all_days = days(&all);
    assert!(all_days.len() > 21, "{}", all_days.len());
    assert_eq!(all_days[0], "2026-11-01");
}

/// Issue 17.2: "restarting with `--demo` refreshes it". A lab changes a password, revokes
/// the demo admin, breaks a calendar file; the next `--demo` start puts all of it back.
#[test]
fn restarting_the_demo_restores_passwords_admins_and_calendars() {
    use schedplus::app::ops::{AdminMarkRequest, Ctx, Operation, PasswdRequest};
    use schedplus::auth::Authenticator;

    let data = tempfile::tempdir().unwrap();
    let start = || {
        TestServer::start_with(|o| {
            o.data_dir = data.path().to_path_buf();
            o.demo = true;
        })
    };
    let kbaker_ics = schedplus::app::demo::CALENDARS
        .iter()
        .find(|(a, _)| *a == "kbaker")
        .unwrap()
        .1;
    let cal = data.path().join("calendars").join("kbaker.ics");
    {
        let mut srv = start();
        let st = srv.store();
        PasswdRequest {
            user: "kbaker".into(),
            password_hash: Some(schedplus::auth::hash_password("n3w-secret").unwrap()),
        }
        .run(&Ctx::new(st))
        .unwrap();
        AdminMarkRequest {
            user: "bwright".into(),
            admin: false,
        }
        .run(&Ctx::new(st))
        .unwrap();
        std::fs::write(&cal, "BEGIN:VCALENDAR\nthis is not a calendar\n").unwrap();
        let auth = Authenticator::new();
        assert!(auth.authenticate(st, "kbaker", "demo").unwrap().is_err());
        assert!(
            !auth
                .authenticate(st, "bwright", "demo")
                .unwrap()
                .unwrap()
                .admin
        );
        srv.shutdown();
    }
    let srv = start();
    let st = srv.store();
    let auth = Authenticator::new();
    let karen = auth.authenticate(st, "kbaker", "demo").unwrap();
    assert!(
        karen.is_ok_and(|u| !u.admin),
        "Karen's demo password is back"
    );
    let ben = auth.authenticate(st, "bwright", "demo").unwrap().unwrap();
    assert!(ben.admin, "bwright is the demo's admin again");
    assert_eq!(std::fs::read_to_string(&cal).unwrap(), kbaker_ics);
    let karen_dn = st.resolve_user("kbaker").unwrap().legacy_dn;
    let stored = st.calendar(&karen_dn).unwrap().unwrap();
    assert_eq!(stored.text, kbaker_ics);
    assert!(stored.refused.is_none());
}

/// The start-up banner names the browse URL, on the address actually bound.
#[test]
fn the_banner_prints_the_browse_url() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let data = tempfile::tempdir().unwrap();
    let mut c = Command::new(crate::common::bin());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SCHEDPLUS_")) {
        c.env_remove(k);
    }
    let mut child = c
        .arg("--data")
        .arg(data.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first
        .split("on ")
        .last()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    // The banner ends with "Stop with Ctrl-C."; stop there rather than wait for EOF.
    let browse = lines
        .map_while(Result::ok)
        .take_while(|l| !l.starts_with("Stop with"))
        .find(|l| l.trim_start().starts_with("browse:"));
    let _ = child.kill();
    let _ = child.wait();
    let browse = browse.expect("a browse: line in the banner");
    assert!(browse.contains(&format!("{base}/ ")), "{browse}");
}

/// The demo banner's EWS example, pasted into a shell in the checkout (where the README's
/// `cargo run -- serve --demo` runs), asks this week's free/busy of Dan, Li and Amélie and
/// gets it: three `NoError` answers with digits that are not all "no data".
#[test]
fn the_demo_banners_ews_example_answers_this_weeks_free_busy() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    if !crate::common::require_tool("curl") {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let mut c = Command::new(crate::common::bin());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SCHEDPLUS_")) {
        c.env_remove(k);
    }
    let mut child = c
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("--data")
        .arg(data.path())
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.starts_with("Stop with"))
        .collect();
    let example = lines
        .iter()
        .find(|l| l.trim_start().starts_with("sed ") && l.contains("/EWS/Exchange.asmx"))
        .unwrap_or_else(|| panic!("an EWS example in the banner:\n{}", lines.join("\n")))
        .trim()
        .to_string();
    // Bounded, so that a server that never answers fails the test rather than hangs it.
    let out = Command::new("timeout")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["60", "bash", "-c", &example])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let answer = String::from_utf8_lossy(&out.stdout);
    let answers = crate::ews::responses(&answer);
    assert_eq!(answers.len(), 3, "{example}\n{answer}");
    for (code, digits) in &answers {
        assert_eq!(code, "NoError", "{answer}");
        assert_eq!(digits.len(), 7 * 24, "a week of hours: {answer}");
    }
    assert!(
        answers
            .iter()
            .any(|(_, d)| d.bytes().any(|b| b != b'0' && b != b'4')),
        "the demo's week has busy time: {answer}"
    );
}
