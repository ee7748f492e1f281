//! One clock (issue 12, WP11): `--now` fixes every "now" of a run, the stamps of what is
//! written included, while an ETag still changes whenever the content does.

use schedplus::app::Clock;
use schedplus::auth::AuthSettings;

use crate::common::{TestServer, ts};

const DAN: &str = "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=dwinship";
const FIXED: &str = "2026-03-02T09:30:00Z";
/// `FIXED` as `DAV:creationdate` spells it.
const FIXED_ISO: &str = "2026-03-02T09:30:00.000Z";
/// `FIXED` as HTTP dates spell it (`Last-Modified`, `DAV:getlastmodified`).
const FIXED_HTTP: &str = "Mon, 02 Mar 2026 09:30:00 GMT";

fn fixed_lab() -> TestServer {
    let srv = TestServer::start_with(|o| {
        o.clock = Clock::Fixed(ts(FIXED));
        o.auth = AuthSettings::open();
    });
    srv.import_demo_directory();
    srv
}

fn message_url() -> String {
    crate::common::message_url(DAN)
}

fn note(text: &str) -> Vec<u8> {
    format!(r#"<?xml version="1.0"?><a:propertyupdate xmlns:a="DAV:"><a:set><a:prop><x:note xmlns:x="urn:lab:">{text}</x:note></a:prop></a:set></a:propertyupdate>"#).into_bytes()
}

fn head(srv: &TestServer, url: &str) -> (String, String) {
    let r = srv.request("HEAD", url, &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    (
        r.header("etag").expect("an ETag").to_string(),
        r.header("last-modified")
            .expect("a Last-Modified")
            .to_string(),
    )
}

#[test]
fn a_fixed_clock_stamps_what_is_written() {
    let srv = fixed_lab();
    let url = message_url();
    assert_eq!(srv.proppatch_as(&url, None, &note("one")).status, 200);
    assert_eq!(head(&srv, &url).1, FIXED_HTTP, "a free/busy message");
    let r = srv.request("PROPFIND", &url, &[("Depth", "0")], None);
    assert_eq!(r.status, 207);
    assert!(
        r.text().contains(FIXED_HTTP),
        "getlastmodified: {}",
        r.text()
    );
    assert!(r.text().contains(FIXED_ISO), "creationdate: {}", r.text());

    assert_eq!(srv.request("MKCOL", "/public/lab/", &[], None).status, 201);
    let r = srv.request("PUT", "/public/lab/a.txt", &[], Some(b"a"));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(head(&srv, "/public/lab/a.txt").1, FIXED_HTTP, "an item");
    let r = srv.request("PROPFIND", "/public/lab/", &[("Depth", "0")], None);
    assert!(
        r.text().contains(FIXED_ISO),
        "a folder's creationdate: {}",
        r.text()
    );
}

#[test]
fn under_a_fixed_clock_different_content_gets_a_different_etag() {
    let srv = fixed_lab();
    let url = message_url();
    assert_eq!(srv.proppatch_as(&url, None, &note("one")).status, 200);
    let (first, at) = head(&srv, &url);
    assert_eq!(srv.proppatch_as(&url, None, &note("two")).status, 200);
    let (second, again) = head(&srv, &url);
    assert_eq!(at, again, "one instant");
    assert_ne!(first, second, "the content changed, so must the ETag");
    // If-None-Match with the old ETag gets the new message, not a 304.
    let r = srv.request("GET", &url, &[("If-None-Match", &first)], None);
    assert_eq!(r.status, 200);

    assert_eq!(srv.request("MKCOL", "/public/lab/", &[], None).status, 201);
    srv.request("PUT", "/public/lab/a.txt", &[], Some(b"a"));
    let (a, _) = head(&srv, "/public/lab/a.txt");
    srv.request("PUT", "/public/lab/a.txt", &[], Some(b"b"));
    assert_ne!(a, head(&srv, "/public/lab/a.txt").0, "an item");
}
