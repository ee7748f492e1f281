//! What a real sync costs per write: writes/s acknowledged after sled's flush alone (how
//! schedplus acknowledged before issue 11, item 4: `sync_file_range`, which a power cut can
//! undo) against writes/s acknowledged after sled's flush *and* `fdatasync` of its files
//! (now), in the same run, on the same file system, with the ratio.
//!
//! Run with `cargo bench --bench durability` (release build). Environment knobs: `WRITES`
//! (per writer, default 300), `WRITERS` (the concurrent case, default 8), `REPEATS` (runs of
//! each kind, alternating, default 7; the median is shown, so a burst of load elsewhere on
//! the machine moves it less), `DIR` (where the stores go, default the system's temporary
//! directory: put it on the disk you care about; a tmpfs makes `fdatasync` free and the
//! ratio meaningless).
//!
//! Each write is a 1 KiB item PUT into the ordinary public folders (`Store::pf_put`), one
//! transaction and one acknowledgement, like a WebDAV PUT without the HTTP. With one writer
//! every write pays its own sync; with `WRITERS` writers the group commit lets writes that
//! wait together share one, so the concurrent cost shows what the group commit saves.

use std::path::PathBuf;
use std::time::Instant;

use schedplus::store::{Store, StoreConfig, Writer};

mod support;
use support::env_or;

/// Writes per second with `writers` threads each making `writes` writes.
fn run(fdatasync: bool, writers: u64, writes: u64) -> (f64, u64) {
    let base = std::env::var_os("DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(base).unwrap();
    let store = Store::open(&StoreConfig {
        fdatasync,
        ..StoreConfig::new(dir.path())
    })
    .unwrap();
    store
        .pf_mkcol(
            &["bench".into()],
            &Writer::ANYONE,
            schedplus::app::clock::wall_us(),
        )
        .unwrap();
    let body = vec![b'x'; 1024];
    let syncs_before = store.syncs();
    let start = Instant::now();
    std::thread::scope(|s| {
        for w in 0..writers {
            let (store, body) = (&store, &body);
            s.spawn(move || {
                for i in 0..writes {
                    store
                        .pf_put(
                            &["bench".into(), format!("{w}-{i}")],
                            body,
                            None,
                            &Writer::ANYONE,
                            schedplus::app::clock::wall_us(),
                        )
                        .unwrap();
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    (
        (writers * writes) as f64 / secs,
        store.syncs() - syncs_before,
    )
}

fn main() {
    let writes = env_or::<u64>("WRITES", 300);
    let writers = env_or::<u64>("WRITERS", 8);
    println!("durability: 1 KiB item PUTs, each acknowledged after its sync");
    println!(
        "{:<10} {:>28} {:>28} {:>8}",
        "writers", "sled flush only (writes/s)", "+ fdatasync (writes/s)", "ratio"
    );
    let repeats = env_or::<u64>("REPEATS", 7).max(1);
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for n in [1, writers] {
        // Warm the file system once, then alternate the two kinds.
        run(true, 1, 20);
        let (mut before, mut after, mut syncs) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..repeats {
            before.push(run(false, n, writes).0);
            let (rate, s) = run(true, n, writes);
            after.push(rate);
            syncs.push(s as f64);
        }
        let (before, after) = (median(before), median(after));
        println!(
            "{:<10} {:>28.0} {:>28.0} {:>8.2}   ({} writes shared {:.0} fdatasyncs, median of {})",
            n,
            before,
            after,
            after / before,
            n * writes,
            median(syncs),
            repeats
        );
    }
}
