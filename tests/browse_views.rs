//! Issue 16 item 4: a user's page in the browser shows the lint findings of its message
//! and the "three views" strip (calendar, message, query) of `schedplus check` for the
//! weeks it shows, disagreements marked.

use schedplus::protocol::legacy_dn::LegacyDn;
use schedplus::store::canonical_leaf;
use schedplus::transport::webdav::path::fb_item_href;

use crate::common::{TestServer, run_cli, stderr};

const KAREN_DN: &str =
    "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=kbaker";

const KAREN: &str = "kbaker@xcs.example";
const HTML: (&str, &str) = ("Accept", "text/html,application/xhtml+xml");

/// Karen's message page, the weeks from `week`.
fn page(srv: &TestServer, week: &str) -> String {
    let dn = LegacyDn::parse(KAREN_DN).unwrap();
    let url = fb_item_href(&dn.admin_group(), &canonical_leaf(&dn.subject()));
    let r = srv.request("GET", &format!("{url}?week={week}"), &[HTML], None);
    assert_eq!(r.status, 200, "{url}: {}", r.text());
    r.text()
}

#[test]
fn the_page_of_a_zimbra_message_shows_its_lint_findings() {
    let srv = TestServer::start();
    srv.import_demo_directory();
    // Zimbra's month blocks overflow the month's end (a block across Nov 30 midnight).
    let args = ["fb", "set", KAREN, "--style", "zimbra", "--months", "3"];
    let span = ["--busy", "2008-11-30T23:00:00Z/2008-12-01T01:00:00Z"];
    let o = run_cli(
        srv.data_dir(),
        &[&["--now", "2008-11-05T10:00:00Z"][..], &args, &span].concat(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let p = page(&srv, "2008-11-30");
    let lint = p.find("<h2>Lint <small>").expect("a lint section");
    assert!(lint < p.find("<h2>Message</h2>").unwrap(), "{p}");
    assert!(p.contains("<code>block-past-month-end</code>"), "{p}");
    assert!(p.contains("<code>month-invalid</code>"), "{p}");
    assert!(p.contains("Zimbra"), "{p}");
    // No calendar: said so; the message and the query agree.
    assert!(p.contains("<h2>Three views"), "{p}");
    assert!(p.contains("no calendar"), "{p}");
    assert!(p.contains("they agree"), "{p}");
    assert!(!p.contains("<span class=\"disagree\">"), "{p}");
}

#[test]
fn overwriting_a_calendar_published_message_marks_the_disagreement() {
    const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20081101T000000Z\r\nDTSTART:20081104T090000Z\r\nDTEND:20081104T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let srv = TestServer::start();
    srv.import_demo_directory();
    let files = tempfile::tempdir().unwrap();
    let ics = files.path().join("k.ics");
    std::fs::write(&ics, ICS).unwrap();
    let now = ["--now", "2008-11-02T08:00:00Z"];
    let cli = |args: &[&str]| run_cli(srv.data_dir(), &[&now[..], args].concat());
    let o = cli(&["calendar", "import", KAREN, ics.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = page(&srv, "2008-11-02");
    assert!(p.contains("they agree"), "{p}");
    assert!(!p.contains("no calendar"), "{p}");
    assert!(!p.contains("<span class=\"disagree\">"), "{p}");

    // Nov 4 busy in the calendar; the message now says Nov 5.
    let o = cli(&[
        "fb",
        "set",
        KAREN,
        "--busy",
        "2008-11-05T09:00:00Z/2008-11-05T10:00:00Z",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = page(&srv, "2008-11-02");
    assert!(p.contains("4 slots disagree"), "{p}");
    // Nov 5, 09:00 and 09:30: the message and the query say busy, the calendar free.
    let strip = &p[p.find("<h2>Three views").unwrap()..];
    let day = |name: &str| {
        let at = strip
            .find(name)
            .unwrap_or_else(|| panic!("{name}: {strip}"));
        strip[at..].split("</tr>").take(3).collect::<String>()
    };
    let nov5 = day("Wed 5 Nov");
    let marked = format!(
        "{}<span class=\"disagree\">2</span><span class=\"disagree\">2</span>",
        "0".repeat(18)
    );
    assert!(nov5.contains(&marked), "{nov5}");
    let nov4 = day("Tue 4 Nov");
    assert!(nov4.contains("<span class=\"disagree\">2</span>"), "{nov4}");
}
