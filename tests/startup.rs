//! Start-up: work a start must not do again.
//!
//! sled writes its snapshot (where each page lies in its log) only while opening a store, and
//! an open replays every write made since the newest snapshot; the server opens its store once
//! more at shutdown so that the next start has nothing to replay (`server::checkpoint`).

use std::path::Path;

use crate::common::TestServer;

/// The log position of the newest sled snapshot under `data` (0: none yet).
fn newest_snapshot(data: &Path) -> u64 {
    std::fs::read_dir(data.join("db"))
        .expect("the store's db folder")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            u64::from_str_radix(name.strip_prefix("snap.")?, 16).ok()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn shutdown_leaves_a_snapshot_covering_the_servers_writes() {
    let s = TestServer::start();
    let at_start = newest_snapshot(s.data_dir());
    s.import_demo_directory();
    s.fb_set(
        "jsguillet@companyabc.example",
        "2008-02-01T12:00:00Z",
        &["2008-02-02T20:00:00Z/2008-02-02T21:00:00Z"],
        &[],
        &[],
    );
    let dir = s.stop();
    let after = newest_snapshot(dir.path());
    assert!(
        after > at_start,
        "the snapshot after shutdown ({after:#x}) does not cover the writes made since the start ({at_start:#x}): the next start would replay them"
    );
    // And the store opens again with what was written.
    let again = TestServer::start_in(dir, |_| {});
    assert!(again.store().stats().users > 0);
}
