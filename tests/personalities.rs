//! Issue 16 item 3: publisher personalities. `fb set --style X` writes the message as that
//! publisher does (docs/behaviour.md "Publisher personalities"); PROPFIND returns the
//! publisher's shape as stored, and the `?Cmd=freebusy` query reads every personality's
//! message back to the same digits.

use schedplus::app::ops::{CalendarPutRequest, Ctx, Operation};
use schedplus::protocol::legacy_dn::LegacyDn;
use schedplus::store::{CalendarSource, canonical_leaf};
use schedplus::transport::webdav::path::fb_item_href;

use crate::common::{TestServer, fbdata, run_cli, stderr, stdout};

const KAREN_DN: &str =
    "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=kbaker";
const KAREN: &str = "kbaker@xcs.example";

/// Publish the test schedule in `style`: a busy event across the end of November, two
/// tentative events (November, January), no OOF, on 2008-11-05 for 3 months (a range from
/// Nov 1 to Feb 1, across the year end).
fn publish(srv: &TestServer, style: &str) {
    let o = run_cli(
        srv.data_dir(),
        &[
            "--now",
            "2008-11-05T10:00:00Z",
            "fb",
            "set",
            KAREN,
            "--months",
            "3",
            "--style",
            style,
            "--busy",
            "2008-11-30T23:00:00Z/2008-12-01T01:00:00Z",
            "--tentative",
            "2008-11-03T09:00:00Z/2008-11-03T10:00:00Z",
            "--tentative",
            "2009-01-20T09:00:00Z/2009-01-20T10:00:00Z",
        ],
    );
    assert!(o.status.success(), "--style {style}: {}", stderr(&o));
}

/// Karen's digits, hourly, from a week before the range to two days after it.
fn digits(srv: &TestServer) -> String {
    let r = srv.get(&format!(
        "/public/?Cmd=freebusy&start=2008-10-25T00:00:00Z&end=2009-02-03T00:00:00Z&interval=60&u=SMTP:{KAREN}"
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    fbdata(&r.text())[1].clone()
}

/// The hour slot of `day` (days after 2008-10-25) at `hour`.
fn slot(day: usize, hour: usize) -> usize {
    day * 24 + hour
}

fn propfind_arrays(srv: &TestServer) -> String {
    let dn = LegacyDn::parse(KAREN_DN).unwrap();
    let url = fb_item_href(&dn.admin_group(), &canonical_leaf(&dn.subject()));
    let body = r#"<D:propfind xmlns:D="DAV:" xmlns:P="http://schemas.microsoft.com/mapi/proptag/"><D:prop><P:x684F1003/><P:x68511003/><P:x68531003/><P:x68541102/><P:x68551003/></D:prop></D:propfind>"#;
    let r = srv.request(
        "PROPFIND",
        &url,
        &[("Depth", "0"), ("Content-Type", "text/xml")],
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 207, "{}", r.text());
    r.text()
}

/// The `<c:v>` items of property `local` (`x68531003`) in a PROPFIND answer; `None` when
/// the property is in the 404 propstat.
fn items(answer: &str, local: &str) -> Option<Vec<String>> {
    let open = format!("<d:{local} ");
    let at = answer.find(&open)?;
    let rest = &answer[at..];
    let end = rest.find(&format!("</d:{local}>"))?;
    Some(
        rest[..end]
            .split("<c:v>")
            .skip(1)
            .map(|s| s.split("</c:v>").next().unwrap().to_string())
            .collect(),
    )
}

/// The findings docs/behaviour.md lists for each personality with the test schedule, as
/// (rule, how many), sorted.
fn documented_findings(style: &str) -> Vec<(String, usize)> {
    let v: &[(&str, usize)] = match style {
        "outlook" | "exchange" => &[],
        "gcc" => &[("unset-and-empty-mixed", 1)],
        "zimbra" => &[("block-past-month-end", 2), ("month-invalid", 16)],
        "evolution" => &[("merged-not-busy-or-oof", 1), ("unset-and-empty-mixed", 1)],
        _ => unreachable!(),
    };
    v.iter().map(|(r, n)| (r.to_string(), *n)).collect()
}

/// `schedplus lint --remote` of the server's store (PROPFIND, as any reader sees the
/// message): (rule, how many), sorted.
fn remote_lint(srv: &TestServer) -> Vec<(String, usize)> {
    let remote = format!("{}/public", srv.base);
    let o = run_cli(srv.data_dir(), &["lint", "--remote", &remote, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
    // Exit status 1 exactly when a finding is an error (the default --fail-on).
    let errors = v
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["severity"] == "error");
    assert_eq!(o.status.code(), Some(errors as i32), "{}", stderr(&o));
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for f in v.as_array().unwrap() {
        *counts
            .entry(f["rule"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    counts.into_iter().collect()
}

#[test]
fn every_personality_reads_back_to_the_same_digits_and_propfind_shows_its_shape() {
    let srv = TestServer::start();
    srv.import_demo_directory();

    publish(&srv, "outlook");
    let want = digits(&srv);
    // The reference digits are the schedule: before Nov 1 no data; Nov 3 09:00 tentative;
    // Nov 30 23:00 and Dec 1 00:00 busy; Jan 20 09:00 tentative; after Feb 1 no data.
    assert_eq!(want.len(), 101 * 24);
    let at = |day, hour| want.as_bytes()[slot(day, hour)] as char;
    assert_eq!(at(6, 23), '4', "Oct 31 is before the range");
    assert_eq!(at(7, 0), '0');
    assert_eq!(at(9, 9), '1', "Nov 3 09:00 tentative");
    assert_eq!(
        &want[slot(36, 22)..slot(37, 2)],
        "0220",
        "Nov 30 23:00 .. Dec 1 01:00"
    );
    assert_eq!(at(87, 9), '1', "Jan 20 09:00 tentative");
    assert_eq!(at(99, 0), '4', "Feb 2 is after the range");

    let months = |v: std::ops::RangeInclusive<i32>| v.map(|m| m.to_string()).collect::<Vec<_>>();
    let (nov, dec, jan) = (2008 * 16 + 11, 2008 * 16 + 12, 2009 * 16 + 1);
    for style in ["exchange", "gcc", "zimbra", "evolution", "outlook"] {
        publish(&srv, style);
        assert_eq!(digits(&srv), want, "--style {style} reads back otherwise");
        assert_eq!(
            remote_lint(&srv),
            documented_findings(style),
            "--style {style}: lint --remote of the stored message"
        );
        let t = propfind_arrays(&srv);
        let (merged, tentative, busy, away) = (
            items(&t, "x684f1003"),
            items(&t, "x68511003"),
            items(&t, "x68531003"),
            items(&t, "x68551003"),
        );
        match style {
            "outlook" => {
                assert_eq!(busy, Some(months(nov..=dec)), "{t}");
                assert_eq!(tentative, Some(vec![nov.to_string(), jan.to_string()]));
                assert_eq!(away, None, "{t}");
            }
            "exchange" => {
                assert_eq!(
                    away,
                    Some(vec![nov.to_string(), dec.to_string(), jan.to_string()])
                );
            }
            "gcc" => {
                assert_eq!(
                    busy,
                    Some(vec![nov.to_string(), dec.to_string(), jan.to_string()])
                );
                assert_eq!(away, None, "GCC removes away: {t}");
            }
            "zimbra" => {
                // Month values 13, 14, 15 and 0 across the year end, listed as written;
                // November's busy block ends past the month (43140..43260).
                assert_eq!(away, Some(months(nov..=jan)), "{t}");
                assert_eq!(merged, Some(months(nov..=jan)), "{t}");
                let blocks = items(&t, "x68541102").unwrap();
                assert_eq!(blocks[0], "hKj8qA==", "{t}");
                assert!(blocks[1..].iter().all(String::is_empty), "{t}");
            }
            "evolution" => {
                assert_eq!(merged, None, "evolution-exchange removes merged: {t}");
                assert_eq!(
                    tentative,
                    Some(
                        months(nov..=nov)
                            .into_iter()
                            .chain([dec.to_string(), jan.to_string()])
                            .collect()
                    )
                );
                assert_eq!(away, None, "{t}");
            }
            _ => unreachable!(),
        }
    }
}

/// The setting takes the new names (and says which ones it takes when given another).
#[test]
fn the_publisher_style_setting_takes_every_personality() {
    let srv = TestServer::start();
    srv.import_demo_directory();
    let o = run_cli(srv.data_dir(), &["fb", "set", KAREN, "--style", "lotus"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    for name in ["outlook", "exchange", "gcc", "zimbra", "evolution"] {
        assert!(err.contains(name), "{name} missing from: {err}");
    }
}

/// `cleanfreebusy --publisher-style` republishes a calendar in a personality's shape too:
/// the same event, as Outlook and as Zimbra.
#[test]
fn cleanfreebusy_publishes_in_the_style_it_is_given() {
    let srv = TestServer::start();
    srv.import_demo_directory();
    CalendarPutRequest {
        user: KAREN.into(),
        text: "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20081101T000000Z\r\nDTSTART:20081130T230000Z\r\nDTEND:20081201T010000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".into(),
        source: CalendarSource::Http,
        publish_now: false,
        now: Some("2008-11-05T10:00:00Z".into()),
    }
    .run(&Ctx::new(srv.store()))
    .unwrap();
    for (style, want) in [
        ("outlook", vec![]),
        ("zimbra", documented_findings("zimbra")),
    ] {
        let o = run_cli(
            srv.data_dir(),
            &[
                "--now",
                "2008-11-05T10:00:00Z",
                "cleanfreebusy",
                KAREN,
                "--publish-months",
                "3",
                "--publisher-style",
                style,
            ],
        );
        assert!(o.status.success(), "{style}: {}{}", stdout(&o), stderr(&o));
        assert_eq!(remote_lint(&srv), want, "--publisher-style {style}");
        let busy = items(&propfind_arrays(&srv), "x68531003").unwrap();
        assert_eq!(
            busy.len(),
            if style == "zimbra" { 7 } else { 2 },
            "{busy:?}"
        );
    }
}
