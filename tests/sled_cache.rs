//! sled's page cache within `cache_mb` (vendor/sled/PATCHES.md), and the patched sled on a
//! store written by the published one.
//!
//! Unpatched, sled 0.34.7 counts page accesses in 256 shards and evicts only when 64 have
//! queued up in one shard, so one pass over fewer than about 16,000 pages kept every page it
//! read, whatever `cache_mb` said: a listing of a folder held the folder in memory.

use std::path::Path;

use schedplus::protocol::fb_message::build_props;
use schedplus::protocol::freebusy::{FbStatus, FreeBusy, Interval, PublishRange};
use schedplus::protocol::legacy_dn::LegacyDn;
use schedplus::protocol::pffb::PublisherStyle;
use schedplus::protocol::time::{Minutes1601, parse_time};
use schedplus::store::{PublishedMessage, Store, StoreConfig};

use crate::common::{ServeProcess, http};

/// The admin-group folder `ou` of organisation Cache.
fn folder(ou: &str) -> String {
    format!("/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=Cache_xF8FF_ou={ou}/")
}

/// A week-day schedule over the publish range for user `i`: a few meetings a day, in all
/// three statuses, so that each message is a few KiB like a real one.
fn schedule(i: usize, range: PublishRange) -> FreeBusy {
    const STATUSES: [FbStatus; 3] = [FbStatus::Busy, FbStatus::Tentative, FbStatus::Oof];
    let days = (range.end.0 - range.start.0) / (24 * 60);
    FreeBusy::from_spans((0..days).flat_map(|day| {
        (0..4).map(move |k| {
            let start = range
                .start
                .plus_minutes(day * 24 * 60 + 8 * 60 + k * 120 + (i as i64 % 7) * 15);
            let span = Interval::new(start, start.plus_minutes(45 + 15 * k)).unwrap();
            (STATUSES[(day + k) as usize % 3], span)
        })
    }))
}

/// Write `n` messages into admin group `ou` of organisation Cache.
fn fill(store: &Store, ou: &str, n: usize) {
    let now = parse_time("2026-03-02T09:00:00Z").unwrap();
    let range = PublishRange::at(Minutes1601::from_timestamp(now), 3);
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let batch: Vec<PublishedMessage> = chunk
            .iter()
            .map(|&i| {
                let dn =
                    LegacyDn::parse(&format!("/o=Cache/ou={ou}/cn=Recipients/cn=user{i}")).unwrap();
                let fb = schedule(i, range);
                PublishedMessage {
                    folder: dn.admin_group(),
                    subject: dn.subject(),
                    props: build_props(&dn, &fb, range, PublisherStyle::Outlook, now),
                }
            })
            .collect();
        let made = store.fb_create_many(&batch, 1_772_442_000_000_000).unwrap();
        assert_eq!(made, batch.len());
    }
}

/// A field of `/proc/PID/status` (`VmHWM:   1234 kB`), in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.split(':').next() == Some(field));
    let kib = line.and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
    kib.unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// PROPFIND folder `ou` with `depth`; returns the status and the answer's size.
fn propfind(base: &str, ou: &str, depth: &str) -> (u16, u64) {
    let reply = http(base, "PROPFIND", &folder(ou), &[("Depth", depth)], None);
    (reply.status, reply.body.len() as u64)
}

/// The regression: a Depth 1 listing of a folder many times `cache_mb` grew the server's
/// peak memory by about the folder's size (633 MB after a 496 MB answer: docs/limits.md).
/// Another folder of the same size is listed first, so that what the first large listing
/// adds whatever the cache (about 17 MB with a release build, measured; later listings add
/// 1 to 2 MB) is already in the peak; the second listing must add little.
#[test]
fn a_listing_larger_than_the_page_cache_does_not_stay_in_memory() {
    let data = tempfile::tempdir().unwrap();
    {
        let store = Store::open(&StoreConfig::new(data.path())).expect("the store opens");
        fill(&store, "AG0", 8_000);
        fill(&store, "AG1", 8_000);
    }
    let server = ServeProcess::spawn(
        data.path(),
        &["--data", data.path().to_str().unwrap()],
        &["--listen", "127.0.0.1:0", "--cache-mb", "1"],
        &[],
    );
    let pid = server.child.id();
    assert_eq!(propfind(&server.base, "AG1", "1").0, 207);
    let before = status_kib(pid, "VmHWM");
    let (status, answer) = propfind(&server.base, "AG0", "1");
    assert_eq!(status, 207);
    let grew = status_kib(pid, "VmHWM").saturating_sub(before) * 1024;
    // The folder must be much larger than the 1 MiB cache for this to say anything.
    assert!(
        answer > 32 << 20,
        "the listing is only {answer} bytes: too small to tell a bounded cache"
    );
    assert!(
        grew < answer / 4,
        "listing {answer} bytes grew the server's peak memory by {grew} bytes with a 1 MiB page cache: the pages read stayed in memory"
    );
}

/// The patch changes what sled keeps in memory, not what it writes: a store written by the
/// published sled 0.34.7 (`tests/data/store-sled-0.34.7`: schedplus at ea073e3, before the
/// patch, ran `benches/fill.rs` for 20 users of `/o=Bench/ou=AG0`, `directory import` of
/// them, then published their messages; its log has writes after its snapshot, so opening
/// it also replays the log) opens, reads and takes writes.
#[test]
fn a_store_written_by_the_published_sled_opens() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/store-sled-0.34.7");
    // Copied: opening a store writes to it. The fixture is sled's flat `db` folder.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    std::fs::create_dir(&db).unwrap();
    for file in std::fs::read_dir(fixture.join("db")).unwrap() {
        let file = file.unwrap().path();
        std::fs::copy(&file, db.join(file.file_name().unwrap())).unwrap();
    }
    let s = crate::common::TestServer::start_in(dir, |_| {});
    let stats = s.store().stats();
    assert_eq!((stats.users, stats.messages), (20, 20));
    let r = s.get(
        "/public/?Cmd=freebusy&start=2026-03-02T00:00:00Z&end=2026-03-16T00:00:00Z&interval=15&u=SMTP:user7@bench.example",
    );
    assert_eq!(r.status, 200);
    let busy = crate::common::fbdata(&r.text());
    assert!(
        busy.iter().any(|d| d.bytes().any(|b| b != b'0')),
        "user7's stored schedule reads as all free: {busy:?}"
    );
    // Every message of the folder decodes.
    let folder = LegacyDn::parse("/o=Bench/ou=AG0/cn=Recipients/cn=user0")
        .unwrap()
        .admin_group();
    let decoded = s.store().fb_messages(&folder).filter(|m| m.is_ok()).count();
    assert_eq!(decoded, 20);
    // A write, then the store opens again with it.
    s.fb_set(
        "user3@bench.example",
        "2026-03-02T09:00:00Z",
        &["2026-03-03T10:00:00Z/2026-03-03T11:00:00Z"],
        &[],
        &[],
    );
    let again = crate::common::TestServer::start_in(s.stop(), |_| {});
    assert_eq!(again.store().stats().messages, 20);
}

/// sled keeps an entry of about 220 bytes (with its fragments) in memory for every page
/// from open to close (loaded whole at open), so the page count decides the memory a store
/// of a million users starts with (docs/limits.md). Published, sled split a leaf at 17 entries whatever their
/// size, and an ordered load left leaves of 8 or 9: a tree of small entries (a user's
/// addresses, the change log) took a page for every 8 of them. Patched, a leaf of small
/// entries grows to 8 KiB before it splits.
#[test]
fn small_entries_share_pages_of_a_few_kib() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new().path(dir.path()).open().unwrap();
    let tree = db.open_tree("addresses").unwrap();
    let before = db.page_table_len();
    let entries = 20_000u64;
    for i in 0..entries {
        // Like the store's address index: an SMTP address to a user key, about 60 bytes.
        let key = format!("smtp:user{i:06}@bench.example");
        tree.insert(
            key.as_bytes(),
            format!("/o=Bench/ou=AG{}/cn=u{i}", i % 4).as_bytes(),
        )
        .unwrap();
    }
    let pages = db.page_table_len() - before;
    assert!(
        pages * 32 < entries,
        "{entries} entries of about 60 bytes took {pages} pages: fewer than 32 entries a page"
    );
    // Large entries still split at 17: a leaf of them is never one huge node.
    let big = db.open_tree("messages").unwrap();
    let before = db.page_table_len();
    for i in 0..1_700u32 {
        big.insert(i.to_be_bytes(), vec![7u8; 6 * 1024]).unwrap();
    }
    let pages = db.page_table_len() - before;
    assert!(
        pages >= 100,
        "1,700 entries of 6 KiB took only {pages} pages: leaves of large entries grew past 17"
    );
    drop((tree, big));
    drop(db);
    // And the store reads them back after a reopen.
    let db = sled::Config::new().path(dir.path()).open().unwrap();
    let tree = db.open_tree("addresses").unwrap();
    assert_eq!(tree.len() as u64, entries);
    assert_eq!(
        tree.get("smtp:user012345@bench.example")
            .unwrap()
            .as_deref(),
        Some(&b"/o=Bench/ou=AG1/cn=u12345"[..])
    );
}
