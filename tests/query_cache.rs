//! Answers kept whole (`store::fb_cache`, issue 13): a repeated `?Cmd=freebusy` query is
//! answered from the document kept for its query string, before anything is parsed. Each
//! test first makes sure the answer is kept, then checks that what a client gets is what the
//! uncached path gives: after any write, to whoever is refused it, under fault rules, and
//! counted in `/metrics` as before.

use schedplus::auth::{AuthSettings, ReadAccess, hash_password};

use crate::common::{ServeProcess, TestServer, basic, fbdata, http};

const NOW: &str = "2008-02-01T12:00:00Z";
const RAW: &str = "Cmd=freebusy&start=2008-02-02T18:00:00Z&end=2008-02-03T00:00:00Z&interval=60&u=SMTP:danw@xcs.example&u=nobody@nowhere.example";

fn query() -> String {
    format!("/public/?{RAW}")
}

/// danw busy in `hour` (of 2008-02-02, UTC).
fn busy_at(s: &TestServer, hour: u32) {
    let span = format!(
        "2008-02-02T{hour:02}:00:00Z/2008-02-02T{:02}:00:00Z",
        hour + 1
    );
    s.fb_set("danw@xcs.example", NOW, &[&span], &[], &[]);
}

/// The query asked twice: the second answer is the first, and the answer is kept (which
/// needs every user found to have a message: without one, each answer is read, to log the
/// CAS's event 4004 when no folder holds the user).
fn ask_until_kept(s: &TestServer) -> crate::common::Reply {
    let first = s.get(&query());
    assert_eq!(first.status, 200, "{}", first.text());
    assert!(s.store().cached_answer(RAW).is_some(), "the answer is kept");
    let again = s.get(&query());
    assert_eq!(again.body, first.body);
    again
}

#[test]
fn a_write_is_in_the_very_next_answer() {
    let s = TestServer::start();
    // Nobody is in the directory yet: every row is 4s, and that answer is kept.
    let r = ask_until_kept(&s);
    assert_eq!(fbdata(&r.text())[1], "444444");
    // A directory write: danw is known (no message yet, so not kept).
    s.import_demo_directory();
    let r = s.get(&query());
    assert!(r.text().contains("Dan Winship"), "{}", r.text());
    // Each publish is in the next answer, whichever answer was kept before it.
    for hour in [20, 18, 22] {
        busy_at(&s, hour);
        let want: String = (18..24)
            .map(|h| if h == hour { '2' } else { '0' })
            .collect();
        let r = ask_until_kept(&s);
        assert_eq!(fbdata(&r.text())[1], want, "after the publish at {hour}:00");
        // The kept bytes are the uncached path's: a server without the cache, same data.
        let plain = TestServer::start_with(|o| o.fb_cache_bytes = 0);
        plain.import_demo_directory();
        busy_at(&plain, hour);
        assert_eq!(plain.get(&query()).body, r.body);
        assert!(plain.store().cached_answer(RAW).is_none());
    }
}

#[test]
fn head_and_other_methods_on_a_kept_answer_are_answered_as_before() {
    let s = TestServer::with_demo_directory();
    busy_at(&s, 20);
    let r = ask_until_kept(&s);
    assert_eq!(r.header("content-type"), Some("text/xml; charset=utf-8"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    let length = r.body.len().to_string();
    assert_eq!(r.header("content-length"), Some(length.as_str()));
    let head = s.request("HEAD", &query(), &[], None);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some(length.as_str()));
    assert!(head.body.is_empty());
    assert_eq!(s.request("POST", &query(), &[], Some(b"x")).status, 405);
    // Another spelling of the same query is another key, answered the same.
    let other = s.get(&query().replace("Cmd=freebusy", "cmd=FreeBusy"));
    assert_eq!(other.body, r.body);
}

#[test]
fn a_kept_answer_is_refused_to_whom_the_query_is_refused() {
    let s = TestServer::start_with(|o| {
        o.auth = AuthSettings {
            read: ReadAccess::Authenticated,
            ..AuthSettings::default()
        }
    });
    s.import_demo_directory();
    busy_at(&s, 20);
    let u = s.store().resolve_user("kbaker").unwrap();
    let hash = hash_password("pw-kbaker").unwrap();
    s.store()
        .update_credential(&u.legacy_dn, |c| c.password_hash = Some(hash))
        .unwrap();
    let karen = basic("kbaker", "pw-kbaker");
    let signed_in = [("Authorization", karen.as_str())];
    let first = s.request("GET", &query(), &signed_in, None);
    assert_eq!(first.status, 200, "{}", first.text());
    assert!(s.store().cached_answer(RAW).is_some(), "the answer is kept");
    assert_eq!(s.get(&query()).status, 401, "anonymous");
    let wrong = basic("kbaker", "not-her-password");
    assert_eq!(
        s.request("GET", &query(), &[("Authorization", &wrong)], None)
            .status,
        401,
        "a wrong password"
    );
    let again = s.request("GET", &query(), &signed_in, None);
    assert_eq!(again.body, first.body);
}

#[test]
fn fault_rules_apply_to_a_kept_answer() {
    let s = TestServer::with_demo_directory();
    busy_at(&s, 20);
    let kept = ask_until_kept(&s);
    let token = s.admin_token();
    let add = s.request(
        "POST",
        "/_schedplus/fault/add",
        &[
            ("X-Schedplus-Token", &token),
            ("Content-Type", "application/json"),
        ],
        Some(br#"{"rules": ["503 count=1 path=/public/?cmd=freebusy"]}"#),
    );
    assert_eq!(add.status, 200, "{}", add.text());
    let faulted = s.get(&query());
    assert_eq!(faulted.status, 503);
    assert_eq!(faulted.header("x-schedplus-fault"), Some("rule=1 kind=503"));
    // The rule fired its one time; the kept answer is back.
    assert_eq!(s.get(&query()).body, kept.body);
}

/// `/metrics` counts a kept answer as it counted the first: a query, its users, those
/// without data, and each unknown address. Its own process: the recorder is process-wide.
#[test]
fn kept_answers_are_counted_as_before() {
    let (_data, server) = ServeProcess::demo(&[], &[]);
    let base = &server.base;
    let counter = |name: &str| -> f64 {
        let r = http(base, "GET", "/metrics", &[], None);
        r.text()
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    };
    use schedplus::app::metrics::*;
    let names = [
        FREEBUSY_QUERIES,
        FREEBUSY_USERS,
        FREEBUSY_NO_DATA,
        UNKNOWN_QUERY_USERS,
        FB_CACHE_HITS,
        FB_CACHE_MISSES,
    ];
    let before: Vec<f64> = names.iter().map(|n| counter(n)).collect();
    // kbaker has data in the demo; nobody is unknown. Asked four times: the first reads,
    // the others are kept whole.
    let q = "/public/?Cmd=freebusy&start=2026-01-05T00:00:00Z&end=2026-01-06T00:00:00Z&interval=60&u=kbaker@xcs.example&u=nobody@nowhere.example";
    let bodies: Vec<Vec<u8>> = (0..4)
        .map(|_| {
            let r = http(base, "GET", q, &[], None);
            assert_eq!(r.status, 200);
            r.body
        })
        .collect();
    assert!(bodies.iter().all(|b| *b == bodies[0]));
    let moved: Vec<f64> = names
        .iter()
        .zip(&before)
        .map(|(n, b)| counter(n) - b)
        .collect();
    // The row cache: both rows looked up and missed by the first, and found for each of
    // the three repeats.
    assert_eq!(moved, [4.0, 8.0, 4.0, 4.0, 6.0, 2.0], "{names:?}");
}
