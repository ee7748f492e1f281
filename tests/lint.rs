//! Issue 16 items 1 and 2: `schedplus lint` (against a server by WebDAV with `--remote`,
//! and the local store through the running server) and `schedplus check` (calendar,
//! message and query must agree).

use std::collections::BTreeSet;

use schedplus::app::ops::{CalendarPutRequest, Ctx, Operation};
use schedplus::store::CalendarSource;

use crate::common::{TestServer, run_cli, stderr, stdout};

const KAREN: &str = "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=kbaker";
const DAN: &str = "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=dwinship";
const NOW: &str = "2026-11-02T08:00:00Z";

/// The demo directory; Karen's message as pre-2020 Zimbra writes it (PROPPATCH of the
/// fixture), Dan's as schedplus publishes it from a calendar.
fn lab() -> TestServer {
    let srv = TestServer::with_demo_directory();
    let r = srv.request(
        "PROPPATCH",
        &crate::common::message_url(KAREN),
        &[("Content-Type", "text/xml")],
        Some(&crate::common::dav_fixture("zimbra_pre2020_proppatch.xml")),
    );
    assert_eq!(r.status, 207, "{}", r.text());
    publish_dan(&srv);
    srv
}

/// The lab plus a second copy of Karen's message at a numbered URL, as third-party writers
/// leave them.
fn lab_with_duplicate() -> TestServer {
    let srv = lab();
    let url = crate::common::message_url(KAREN).replace(".EML", "-1.EML");
    let r = srv.request(
        "PROPPATCH",
        &url,
        &[("Content-Type", "text/xml")],
        Some(&crate::common::dav_fixture("zimbra_pre2020_proppatch.xml")),
    );
    assert_eq!(r.status, 207, "{}", r.text());
    srv
}

fn publish_dan(srv: &TestServer) {
    CalendarPutRequest {
        user: DAN.into(),
        text: "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20261104T090000Z\r\nDTEND:20261104T103000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".into(),
        source: CalendarSource::Http,
        publish_now: true,
        now: Some(NOW.into()),
    }
    .run(&Ctx::new(srv.store()))
    .unwrap();
}

/// (rule, user, status, month) of each finding of a `--json` run.
fn findings(json: &str) -> BTreeSet<(String, String, String, String)> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    v.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("-").to_string();
            (s("rule"), s("user"), s("status"), s("month"))
        })
        .collect()
}

fn has(set: &BTreeSet<(String, String, String, String)>, rule: &str, user: &str) -> bool {
    set.iter().any(|(r, u, _, _)| r == rule && u == user)
}

#[test]
fn lint_remote_reads_the_messages_as_written_and_agrees_with_the_local_store() {
    let srv = lab_with_duplicate();
    let remote = format!("{}/public", srv.base);
    let o = run_cli(srv.data_dir(), &["lint", "--remote", &remote, "--json"]);
    // Zimbra's shapes are warnings: the default --fail-on error passes.
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let remote_findings = findings(&stdout(&o));
    // Pre-2020 Zimbra: an event past November's end, month values 13-15 and 0 listed empty.
    assert!(
        has(&remote_findings, "block-past-month-end", KAREN),
        "{remote_findings:#?}"
    );
    assert!(
        has(&remote_findings, "month-invalid", KAREN),
        "{remote_findings:#?}"
    );
    // Dan's message is as schedplus publishes it: no finding. (Under the fixed --now its
    // last write is stamped with the same clock as its publishing time, so it is not stale.)
    let dan: Vec<&str> = remote_findings
        .iter()
        .filter(|(_, u, _, _)| u == DAN)
        .map(|(r, ..)| r.as_str())
        .collect();
    assert!(dan.is_empty(), "{remote_findings:#?}");
    // The copy at `-1`: a duplicate of the canonical message, at a non-canonical URL.
    assert!(
        has(&remote_findings, "duplicate", KAREN),
        "{remote_findings:#?}"
    );
    assert!(
        has(&remote_findings, "non-canonical-url", KAREN),
        "{remote_findings:#?}"
    );
    assert!(stderr(&o).contains("3 messages linted"), "{}", stderr(&o));

    // The same store read locally (through the server's admin API) gives the same findings.
    let o = run_cli(srv.data_dir(), &["lint", "--all", "--json", "--page", "1"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(findings(&stdout(&o)), remote_findings);

    // Text: one line per finding, naming the publisher; --fail-on warning exits 1.
    let o = run_cli(
        srv.data_dir(),
        &["lint", "--remote", &remote, "--fail-on", "warning"],
    );
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    let line = text
        .lines()
        .find(|l| l.starts_with("block-past-month-end warning "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains(KAREN) && line.ends_with("[written by: Zimbra]"),
        "{line}"
    );
    assert!(stderr(&o).contains("at or above warning"), "{}", stderr(&o));

    // One user's messages, locally.
    let o = run_cli(srv.data_dir(), &["lint", "kbaker@xcs.example", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(has(&findings(&stdout(&o)), "month-invalid", KAREN));
}

#[test]
fn lint_remote_names_a_store_that_is_not_there() {
    let srv = TestServer::start();
    let o = run_cli(
        srv.data_dir(),
        &["lint", "--remote", &format!("{}/nothing", srv.base)],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("PROPFIND"), "{}", stderr(&o));
}

#[test]
fn check_finds_the_three_views_agree_then_names_the_first_slot_that_differs() {
    let srv = lab();
    let o = run_cli(srv.data_dir(), &["check", "danw@xcs.example"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("dwinship: agree (calendar, message, query)"),
        "{}",
        stdout(&o)
    );

    // Overwrite the message by hand: the calendar no longer says what the message says.
    srv.fb_set(
        "danw@xcs.example",
        NOW,
        &["2026-11-05T12:00:00Z/2026-11-05T13:00:00Z"],
        &[],
        &[],
    );
    let o = run_cli(
        srv.data_dir(),
        &["check", "danw@xcs.example", "--interval", "30"],
    );
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    // The message's range starts Sunday 2026-11-01; Nov 4 09:00 is slot 3*48+18.
    assert!(
        stdout(&o).contains(
            "dwinship: DISAGREE at slot 162 (2026-11-04T09:00:00Z): calendar 2, message 0, query 0"
        ),
        "{}",
        stdout(&o)
    );
    let o = run_cli(srv.data_dir(), &["check", "--all", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let users = v["users"].as_array().unwrap();
    let dan = users.iter().find(|u| u["legacy_dn"] == DAN).unwrap();
    assert_eq!(dan["difference"]["slot"], 162);
}
