//! Listings streamed in pages (PROPFIND Depth 1, SEARCH): the pages join into the same
//! document the single answers make, row for row.

use schedplus::protocol::fb_message::build_props;
use schedplus::protocol::freebusy::{FbStatus, FreeBusy, Interval, PublishRange};
use schedplus::protocol::legacy_dn::LegacyDn;
use schedplus::protocol::pffb::PublisherStyle;
use schedplus::protocol::time::{Minutes1601, parse_time};
use schedplus::store::PublishedMessage;

use crate::common::TestServer;

const FOLDER: &str =
    "/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=Listing_xF8FF_ou=AG0/";

/// `n` messages in admin group AG0 of organisation Listing, each with its own busy hour.
fn fill(s: &TestServer, n: usize) {
    let now = parse_time("2026-03-02T09:00:00Z").unwrap();
    let range = PublishRange::at(Minutes1601::from_timestamp(now), 2);
    let batch: Vec<PublishedMessage> = (0..n)
        .map(|i| {
            let dn =
                LegacyDn::parse(&format!("/o=Listing/ou=AG0/cn=Recipients/cn=user{i}")).unwrap();
            let start = range.start.plus_minutes(60 * (i as i64 % 500));
            let fb = FreeBusy::from_spans([(
                FbStatus::Busy,
                Interval::new(start, start.plus_minutes(45)).unwrap(),
            )]);
            PublishedMessage {
                folder: dn.admin_group(),
                subject: dn.subject(),
                props: build_props(&dn, &fb, range, PublisherStyle::Outlook, now),
            }
        })
        .collect();
    assert_eq!(
        s.store()
            .fb_create_many(&batch, 1_772_442_000_000_000)
            .unwrap(),
        n
    );
}

/// The `<a:response>` elements of a multistatus, in order.
fn responses(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find("<a:response>") {
        let end = rest[i..].find("</a:response>").expect("a closed response") + i + 13;
        out.push(&rest[i..end]);
        rest = &rest[end..];
    }
    out
}

fn href(response: &str) -> &str {
    let i = response.find("<a:href>").unwrap() + 8;
    &response[i..i + response[i..].find("</a:href>").unwrap()]
}

#[test]
fn a_streamed_depth_1_listing_is_the_single_answers_joined() {
    let s = TestServer::start();
    fill(&s, 1000);
    let listing = s.request("PROPFIND", FOLDER, &[("Depth", "1")], None);
    assert_eq!(listing.status, 207);
    let body = String::from_utf8(listing.body).unwrap();
    assert!(
        body.len() > 4 * 64 * 1024,
        "the listing spans several pages: {} bytes",
        body.len()
    );
    let rows = responses(&body);
    assert_eq!(rows.len(), 1001, "the folder and its 1,000 messages");
    // Head and tail are those of a one-row answer.
    let folder = s.request("PROPFIND", FOLDER, &[("Depth", "0")], None);
    let folder = String::from_utf8(folder.body).unwrap();
    let one = responses(&folder);
    assert_eq!(one.len(), 1);
    let (head, tail) = folder.split_once(one[0]).unwrap();
    assert!(body.starts_with(head) && body.ends_with(tail));
    assert_eq!(rows[0], one[0]);
    // Every message's row, byte for byte, is its own Depth 0 answer's.
    let mut seen = std::collections::HashSet::new();
    for row in &rows[1..] {
        let url = href(row);
        assert!(seen.insert(url), "{url} listed twice");
        let path = url.strip_prefix(&s.url("")).unwrap_or(url);
        let alone = s.request("PROPFIND", path, &[("Depth", "0")], None);
        assert_eq!(alone.status, 207, "{path}");
        let alone = String::from_utf8(alone.body).unwrap();
        assert_eq!(responses(&alone), [*row], "{path}");
    }
    // And nothing else is in the body.
    let joined: String = rows.concat();
    assert_eq!(body, format!("{head}{joined}{tail}"));
}
