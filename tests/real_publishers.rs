//! Issue 10: what real publishers and readers send, replayed from fixtures in
//! `tests/data/dav/` written from the issue's descriptions (pre-2020 Zimbra with `0x` names
//! and a hex range, Zimbra 2019+ sending POST, evolution-exchange's untyped arrays and
//! removed merged properties, Google Calendar Connector's set+remove with `Brief: t`, an
//! Outlook-era script with the other datatypes namespace), and what a reader then sees: the
//! `?Cmd=freebusy` digits, PROPFIND, the browse page and `fb show`. Also: propstats in
//! Exchange 2003's order, and refusals that are never hidden inside a 207.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use schedplus::app::ops::{Ctx, FbShowRequest, Operation, ShowWindow};
use schedplus::protocol::legacy_dn::LegacyDn;
use schedplus::transport::webdav::path::fb_folder_href;

use crate::common::{Reply, TestServer, bin, fbdata, http, run_cli};

const KAREN: &str = "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=kbaker";
const DAN: &str = "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=dwinship";
const THANH: &str =
    "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=Users/cn=tnguyen";
const RACHEL: &str = "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=rsmith";
const JSG: &str = "/o=CompanyABC/ou=Paris/cn=Recipients/cn=jsguillet";
const GHOST: &str = "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=ghost";

fn send(srv: &TestServer, method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut h = vec![("Content-Type", "text/xml")];
    h.extend_from_slice(headers);
    srv.request(method, url, &h, Some(body))
}

/// Send the fixture `name` as a publisher would (`Content-Type: text/xml`) and check the
/// answer's status (the body is shown if it differs).
fn replay(
    srv: &TestServer,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    name: &str,
    status: u16,
) -> Reply {
    let r = send(srv, method, url, headers, &crate::common::dav_fixture(name));
    assert_eq!(r.status, status, "{name}: {}", r.text());
    r
}

/// The digits of one user (the second `fbdata`: the first is All Attendees).
fn digits(srv: &TestServer, user: &str, start: &str, end: &str, interval: u32) -> String {
    let r = srv.get(&format!(
        "/public/?Cmd=freebusy&start={start}&end={end}&interval={interval}&u=SMTP:{user}"
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    fbdata(&r.text())[1].clone()
}

fn propfind(srv: &TestServer, url: &str, body: &str) -> String {
    let r = send(srv, "PROPFIND", url, &[("Depth", "0")], body.as_bytes());
    assert_eq!(r.status, 207, "{}", r.text());
    r.text()
}

/// Every propstat of a multistatus starts with its status (Exchange 2003's order, the only
/// one evolution-exchange reads).
fn assert_status_first(text: &str) {
    let propstats = text.matches("<a:propstat>").count();
    assert!(propstats > 0, "no propstat in {text}");
    assert_eq!(
        text.matches("<a:propstat><a:status>").count(),
        propstats,
        "a propstat does not start with its status: {text}"
    );
}

/// Pre-2020 Zimbra: every property named `0xHHHHTTTT`, the range as untyped hex, an event
/// from Nov 30 23:00 to Dec 1 01:00 written as minutes 43140-43260 of November, and month
/// values 13-15 and 0 listed with empty blobs across the year end. Today the body is a 400
/// and the user's free/busy is lost.
#[test]
fn zimbra_pre2020_message_is_stored_and_read_back() {
    let srv = TestServer::with_demo_directory();
    let url = crate::common::message_url(KAREN);
    let r = replay(
        &srv,
        "PROPPATCH",
        &url,
        &[],
        "zimbra_pre2020_proppatch.xml",
        207,
    );
    let t = r.text();
    assert_status_first(&t);
    assert!(!t.contains("HTTP/1.1 4"), "every property was taken: {t}");

    let karen = "kbaker@xcs.example";
    // The month-end block runs on into December; hours without zero padding as Microsoft's
    // sample writes them.
    assert_eq!(
        digits(
            &srv,
            karen,
            "2008-11-30T22:00:00Z",
            "2008-12-01T02:00:00Z",
            60
        ),
        "0220"
    );
    assert_eq!(
        digits(
            &srv,
            karen,
            "2008-12-10T8:00:00Z",
            "2008-12-10T11:00:00Z",
            60
        ),
        "010"
    );
    assert_eq!(
        digits(
            &srv,
            karen,
            "2009-01-05T13:00:00Z",
            "2009-01-05T16:00:00Z",
            60
        ),
        "020"
    );
    // Outside the hex range: no data.
    assert_eq!(
        digits(
            &srv,
            karen,
            "2009-02-01T00:00:00Z",
            "2009-02-01T01:00:00Z",
            60
        ),
        "4"
    );

    // PROPFIND, asked with 0x names as Zimbra asks, answers Exchange's x names and types.
    let t = propfind(
        &srv,
        &url,
        r#"<D:propfind xmlns:D="DAV:" xmlns:c="http://schemas.microsoft.com/mapi/proptag/"><D:prop><c:0x68470003/><c:0x68480003/><c:0x68531003/><c:0x6849001F/></D:prop></D:propfind>"#,
    );
    assert_status_first(&t);
    assert!(
        t.contains(r#"<d:x68470003 b:dt="int">214499520</d:x68470003>"#),
        "{t}"
    );
    assert!(
        t.contains(r#"<d:x68480003 b:dt="int">214632000</d:x68480003>"#),
        "{t}"
    );
    assert!(t.contains("<c:v>32141</c:v>"), "stored as sent: {t}");
    assert!(!t.contains("404"), "{t}");

    // SEARCH with 0x names in the SQL finds it by legacyDN.
    let folder = fb_folder_href(&LegacyDn::parse(KAREN).unwrap().admin_group());
    let sql = format!(
        r#"<?xml version="1.0"?><D:searchrequest xmlns:D="DAV:"><D:sql>SELECT "http://schemas.microsoft.com/mapi/proptag/0x68470003" FROM "{folder}" WHERE "http://schemas.microsoft.com/mapi/proptag/0x6849001F" = '{KAREN}'</D:sql></D:searchrequest>"#
    );
    let r = send(&srv, "SEARCH", &folder, &[], sql.as_bytes());
    assert_eq!(r.status, 207, "{}", r.text());
    assert_status_first(&r.text());
    assert!(r.text().contains("214499520"), "{}", r.text());
}

/// Zimbra builds since 2019 send the same body with POST.
#[test]
fn zimbra_2019_post_is_a_proppatch() {
    let srv = TestServer::with_demo_directory();
    let url = crate::common::message_url(DAN);
    let r = replay(&srv, "POST", &url, &[], "zimbra_2019_post.xml", 207);
    assert_status_first(&r.text());
    let dan = "danw@xcs.example";
    assert_eq!(
        digits(&srv, dan, "2026-01-05T8:00:00Z", "2026-01-05T11:00:00Z", 30),
        "002220"
    );
    assert_eq!(
        digits(
            &srv,
            dan,
            "2026-02-01T23:00:00Z",
            "2026-02-03T01:00:00Z",
            60
        ),
        format!("0{}0", "3".repeat(24))
    );
    // A POST that is no propertyupdate is still not allowed, and changes nothing.
    let before = srv.store().dump_digest().unwrap();
    let r = send(&srv, "POST", &url, &[], b"<x/>");
    assert_eq!(r.status, 405, "{}", r.text());
    // Zimbra's POST is one of the methods a free/busy item answers.
    let allow = r.header("allow").unwrap_or("");
    assert!(allow.contains("POST"), "Allow: {allow}");
    replay(&srv, "POST", "/public/", &[], "zimbra_2019_post.xml", 405);
    assert_eq!(srv.store().dump_digest().unwrap(), before);
}

/// evolution-exchange writes every month and block array without `b:dt`, items as
/// `<X:v>`, and removes merged before setting busy, tentative and OOF: the message must read
/// correctly in the query, PROPFIND, the browse page and `fb show`.
#[test]
fn evolution_untyped_arrays_without_merged_read_everywhere() {
    let srv = TestServer::with_demo_directory();
    let url = crate::common::message_url(THANH);
    replay(
        &srv,
        "PROPPATCH",
        &url,
        &[("Brief", "t")],
        "evolution_previous_publish.xml",
        200,
    );
    let thanh = "tnguyen@xcs.example";
    assert_eq!(
        digits(
            &srv,
            thanh,
            "2026-01-01T00:00:00Z",
            "2026-01-01T02:00:00Z",
            60
        ),
        "22",
        "the earlier publish (merged only) reads as busy"
    );
    let r = replay(
        &srv,
        "PROPPATCH",
        &url,
        &[],
        "evolution_untyped_remove_merged.xml",
        207,
    );
    assert_status_first(&r.text());
    assert!(!r.text().contains("HTTP/1.1 4"), "{}", r.text());

    // Query: merged gone, busy/tentative/OOF as set.
    assert_eq!(
        digits(
            &srv,
            thanh,
            "2026-01-01T00:00:00Z",
            "2026-01-01T02:00:00Z",
            60
        ),
        "00"
    );
    assert_eq!(
        digits(
            &srv,
            thanh,
            "2026-03-03T12:00:00Z",
            "2026-03-03T15:00:00Z",
            60
        ),
        "020"
    );
    assert_eq!(
        digits(
            &srv,
            thanh,
            "2026-03-04T07:00:00Z",
            "2026-03-04T10:00:00Z",
            60
        ),
        "010"
    );
    assert_eq!(
        digits(
            &srv,
            thanh,
            "2026-03-09T23:00:00Z",
            "2026-03-11T01:00:00Z",
            60
        ),
        format!("0{}0", "3".repeat(24))
    );

    // PROPFIND: the arrays typed as their tags say; merged absent.
    let t = propfind(
        &srv,
        &url,
        r#"<D:propfind xmlns:D="DAV:" xmlns:P="http://schemas.microsoft.com/mapi/proptag/"><D:prop><P:x68531003/><P:x68541102/><P:x684F1003/></D:prop></D:propfind>"#,
    );
    assert_status_first(&t);
    assert!(
        t.contains(r#"<d:x68531003 b:dt="mv.int"><c:v>32419</c:v></d:x68531003>"#),
        "{t}"
    );
    assert!(
        t.contains(r#"<d:x68541102 b:dt="mv.bin.base64"><c:v>TA6IDg==</c:v></d:x68541102>"#),
        "{t}"
    );
    assert!(
        t.contains("<a:propstat><a:status>HTTP/1.1 404 Not Found</a:status><a:prop><d:x684f1003/>"),
        "{t}"
    );

    // The browse page lists the blocks.
    let r = srv.request("GET", &url, &[("Accept", "text/html")], None);
    assert_eq!(r.status, 200);
    let page = r.text();
    for want in ["Thanh Nguyen", "2026-03-03", "13:00", "2026-03-10"] {
        assert!(page.contains(want), "{want} missing from the page");
    }
    assert!(!page.contains("not in the directory"));

    // fb show: the same blocks and digits.
    let report = FbShowRequest {
        user: thanh.into(),
        window: ShowWindow {
            start: Some("2026-03-03T12:00:00Z".into()),
            end: Some("2026-03-03T15:00:00Z".into()),
            interval: Some(60),
        },
        ..Default::default()
    }
    .run(&Ctx::new(srv.store()))
    .unwrap();
    assert_eq!(report.fbdata, "020");
    let blocks = &report.message.unwrap().blocks;
    let of = |s: &str| blocks.iter().find(|(n, _)| n == s).unwrap().1.clone();
    assert_eq!(
        of("busy"),
        vec![(
            "2026-03-03T13:00:00Z".to_string(),
            "2026-03-03T14:00:00Z".to_string()
        )]
    );
    assert_eq!(
        of("tentative"),
        vec![(
            "2026-03-04T08:00:00Z".to_string(),
            "2026-03-04T09:00:00Z".to_string()
        )]
    );
    assert_eq!(of("oof").len(), 1);
}

/// Google Calendar Connector: `set` and `remove` in one body with `Brief: t`, an empty month
/// as `<c:v></c:v>`.
#[test]
fn gcc_set_and_remove_with_brief() {
    let srv = TestServer::with_demo_directory();
    let url = crate::common::message_url(RACHEL);
    replay(
        &srv,
        "PROPPATCH",
        &url,
        &[("Brief", "t")],
        "gcc_set_remove_brief.xml",
        200,
    );
    assert_eq!(
        digits(
            &srv,
            "rpowell@xcs.example",
            "2026-01-07T14:00:00Z",
            "2026-01-07T17:00:00Z",
            60
        ),
        "020"
    );
}

/// A script of the Outlook era: `0X` names in upper case, the other datatypes namespace
/// (`urn:schemas-microsoft-com:datatypes`), items under a prefix declared on each item.
#[test]
fn outlook_era_script_is_read() {
    let srv = TestServer::with_demo_directory();
    let url = crate::common::message_url(JSG);
    let r = replay(&srv, "PROPPATCH", &url, &[], "outlook_era_script.xml", 207);
    assert!(!r.text().contains("HTTP/1.1 4"), "{}", r.text());
    assert_eq!(
        digits(
            &srv,
            "jsguillet@companyabc.example",
            "2026-01-08T09:00:00Z",
            "2026-01-08T12:00:00Z",
            60
        ),
        "020"
    );
}

/// Real garbage (data in month 13) is still refused, visibly: not a 207 (Zimbra counts any
/// 207 as success), with a sentence naming the status and the month; nothing is stored.
#[test]
fn garbage_is_refused_with_its_own_status_and_nothing_is_stored() {
    let srv = TestServer::with_demo_directory();
    let url = crate::common::message_url(KAREN);
    let before = srv.store().dump_digest().unwrap();
    let r = replay(
        &srv,
        "PROPPATCH",
        &url,
        &[],
        "zimbra_garbage_block.xml",
        409,
    );
    let t = r.text();
    assert!(t.contains("busy free/busy has month value 32429"), "{t}");
    assert!(t.contains("nothing was stored"), "{t}");
    assert_eq!(srv.store().dump_digest().unwrap(), before);
    replay(&srv, "POST", &url, &[], "zimbra_garbage_block.xml", 409);
    assert_eq!(srv.store().dump_digest().unwrap(), before);
}

/// Every propstat of PROPFIND (Depth 1 of a folder and of the root), PROPPATCH and SEARCH
/// answers starts with its status.
#[test]
fn every_propstat_starts_with_its_status() {
    let srv = TestServer::with_demo_directory();
    let url = crate::common::message_url(DAN);
    let r = send(
        &srv,
        "PROPPATCH",
        &url,
        &[],
        &crate::common::dav_fixture("zimbra_2019_post.xml"),
    );
    assert_status_first(&r.text());
    let folder = fb_folder_href(&LegacyDn::parse(DAN).unwrap().admin_group());
    for (path, body) in [
        (folder.as_str(), ""),
        ("/public/", ""),
        (
            folder.as_str(),
            r#"<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/><D:nosuch/></D:prop></D:propfind>"#,
        ),
    ] {
        let r = send(&srv, "PROPFIND", path, &[("Depth", "1")], body.as_bytes());
        assert_eq!(r.status, 207);
        assert_status_first(&r.text());
    }
    let sql = format!(
        r#"<D:searchrequest xmlns:D="DAV:"><D:sql>SELECT "DAV:displayname", "urn:x:nosuch" FROM "{folder}"</D:sql></D:searchrequest>"#
    );
    let r = send(&srv, "SEARCH", &folder, &[], sql.as_bytes());
    assert_eq!(r.status, 207);
    assert_status_first(&r.text());
}

/// A message whose legacyDN names nobody in the directory is stored (Exchange did), logged
/// once with the legacyDN, counted every time, and marked on its browse page. A process of
/// its own: the metrics recorder and the log are process-wide.
#[test]
fn a_message_for_nobody_in_the_directory_is_stored_logged_once_and_counted() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let csv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/directory.csv");
    let o = run_cli(data.path(), &["directory", "import", csv.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = data.path().join("serve.log");
    let mut child = Command::new(bin())
        .args([
            "--data",
            dir,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--auth",
            "none",
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let info = data.path().join("server.json");
    let t = Instant::now();
    while !info.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the server never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    let base = format!("http://{}", v["addr"].as_str().unwrap());
    let metric = |base: &str| -> f64 {
        let r = http(base, "GET", "/metrics", &[], None);
        r.text()
            .lines()
            .find(|l| l.starts_with("schedplus_freebusy_unknown_owner_writes_total "))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0.0)
    };

    let ghost = crate::common::message_url(GHOST);
    let body = crate::common::dav_fixture("unknown_owner_proppatch.xml");
    for _ in 0..2 {
        let r = http(&base, "PROPPATCH", &ghost, &[("Brief", "t")], Some(&body));
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // A known owner is not counted.
    let r = http(
        &base,
        "PROPPATCH",
        &crate::common::message_url(RACHEL),
        &[("Brief", "t")],
        Some(&crate::common::dav_fixture("gcc_set_remove_brief.xml")),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(metric(&base), 2.0);

    let r = http(&base, "PROPFIND", &ghost, &[("Depth", "0")], None);
    assert_eq!(r.status, 207, "stored: {}", r.text());
    let r = http(&base, "GET", &ghost, &[("Accept", "text/html")], None);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("not in the directory"), "{}", r.text());
    assert!(r.text().contains(GHOST));

    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("names nobody in the directory"))
        .collect();
    assert_eq!(warnings.len(), 1, "logged once: {text}");
    assert!(warnings[0].contains(GHOST), "{}", warnings[0]);
    assert!(!text.contains("cn=rsmith names nobody"), "{text}");
}
