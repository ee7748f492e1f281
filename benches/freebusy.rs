//! Benchmark: `?Cmd=freebusy` throughput and the MS-OXOPFFB codec rate.
//!
//! Run: `cargo bench --bench freebusy` (env `BENCH_SECONDS`, default 3 per scenario;
//! `BENCH_CLIENTS`, default 2). Every figure is also given as a ratio against a baseline
//! measured in the same run (`GET /healthz` through the same HTTP stack for the query; a
//! plain clone of the same properties for the codec), because these machines are shared
//! and absolute numbers drift.
//!
//! `BENCH_SEED=DIR cargo bench --bench freebusy` only writes the same store into the data
//! directory `DIR` and exits, so that a release server (`schedplus --data DIR serve`) can be
//! driven with `wrk` on exactly these users; the query URLs are printed. Issue 13's figures
//! were taken that way, `/healthz` as the baseline in the same run:
//!
//! ```text
//! BENCH_SEED=/tmp/seed cargo bench --bench freebusy > /tmp/paths   # line 1: one user, 2: 100
//! RUST_LOG=warn target/release/schedplus --data /tmp/seed serve --listen 127.0.0.1:18431 &
//! wrk -t2 -c8 -d6s http://127.0.0.1:18431/healthz
//! wrk -t2 -c8 -d6s "http://127.0.0.1:18431$(sed -n 1p /tmp/paths)"
//! wrk -t2 -c8 -d6s "http://127.0.0.1:18431$(sed -n 2p /tmp/paths)"
//! ```
//!
//! (server CPU per request: utime+stime of the server from `/proc/PID/stat` before and after
//! each run, divided by wrk's request count).

use std::hint::black_box;

use schedplus::protocol::fb_message::build_props;
use schedplus::protocol::freebusy::PublishRange;
use schedplus::protocol::legacy_dn::LegacyDn;
use schedplus::protocol::pffb::{self, PublisherStyle};
use schedplus::protocol::time::{Minutes1601, parse_time};
use schedplus::server::{ServeOptions, Server};
use schedplus::store::{PublishedMessage, Store};

mod support;
use support::{Load, import_bench_users, rate, schedule};

const USERS: usize = 200;
const NOW: &str = "2026-03-02T09:00:00Z";

fn seed_store(store: &Store) -> Vec<String> {
    let mails = import_bench_users(store, USERS, 4);
    let now = parse_time(NOW).unwrap();
    let range = PublishRange::at(Minutes1601::from_timestamp(now), 3);
    for i in 0..USERS {
        let dn =
            LegacyDn::parse(&format!("/o=Bench/ou=AG{}/cn=Recipients/cn=user{i}", i % 4)).unwrap();
        let fb = schedule(i, range);
        store
            .publish(
                &PublishedMessage {
                    folder: dn.admin_group(),
                    subject: dn.subject(),
                    props: build_props(&dn, &fb, range, PublisherStyle::Outlook, now),
                },
                schedplus::app::clock::wall_us(),
            )
            .unwrap();
    }
    mails
}

/// The two query paths measured: one user over 14 days in 15-minute slots, and 100 users
/// over 42 days in 30-minute slots (a full CAS batch).
fn query_paths(mails: &[String]) -> (String, String) {
    let one = format!(
        "/public/?Cmd=freebusy&start=2026-03-02T00:00:00Z&end=2026-03-16T00:00:00Z&interval=15&u=SMTP:{}",
        mails[7]
    );
    let mut hundred = String::from(
        "/public/?Cmd=freebusy&start=2026-03-01T00:00:00Z&end=2026-04-12T00:00:00Z&interval=30",
    );
    for m in mails.iter().take(100) {
        hundred.push_str(&format!("&u=SMTP:{m}"));
    }
    (one, hundred)
}

fn main() {
    if let Some(dir) = std::env::var_os("BENCH_SEED") {
        let store = Store::open(&schedplus::store::StoreConfig::new(dir)).unwrap();
        let (one, hundred) = query_paths(&seed_store(&store));
        println!("{one}\n{hundred}");
        return;
    }
    let run = Load::from_env();
    let (secs, clients) = (run.secs, run.clients);
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(Server::start(ServeOptions::new(
            dir.path(),
            "127.0.0.1:0".parse().unwrap(),
        )))
        .unwrap();
    let base = format!("http://{}", server.addr);
    let mails = seed_store(server.state.store());

    println!(
        "schedplus freebusy benchmark: {USERS} users in the store, {clients} keep-alive clients, {secs}s per scenario"
    );
    let base_rps = run.get(&base, "/healthz").rps;
    println!(
        "{:<44} {:>10.0} req/s  (baseline)",
        "GET /healthz", base_rps
    );

    let (one, hundred) = query_paths(&mails);
    let support::Throughput { rps, bytes: size } = run.get(&base, &one);
    println!(
        "{:<44} {:>10.0} req/s  {:>6.3} x baseline  {:>8} bytes/answer",
        "1 user, 14 days, 15-minute slots",
        rps,
        rps / base_rps,
        size
    );

    let support::Throughput { rps, bytes: size } = run.get(&base, &hundred);
    println!(
        "{:<44} {:>10.1} req/s  {:>6.3} x baseline  {:>8} bytes/answer  ({:.0} users/s)",
        "100 users, 42 days, 30-minute slots",
        rps,
        rps / base_rps,
        size,
        rps * 100.0
    );
    runtime.block_on(server.shutdown());

    // The codec, in process.
    let range = PublishRange::at(Minutes1601::from_timestamp(parse_time(NOW).unwrap()), 3);
    let fb = schedule(3, range);
    let props = pffb::encode(&fb, range, PublisherStyle::Outlook);
    let blocks: usize = props
        .busy
        .blocks
        .iter()
        .flatten()
        .map(|b| b.len() / 4)
        .sum();
    let clone_rate = rate(secs / 2.0, || {
        black_box(black_box(&props).clone());
    });
    let enc = rate(secs / 2.0, || {
        black_box(pffb::encode(black_box(&fb), range, PublisherStyle::Outlook));
    });
    let dec = rate(secs / 2.0, || {
        black_box(pffb::decode(black_box(&props)).unwrap());
    });
    println!(
        "codec on a 3-month schedule ({blocks} busy blocks, {} intervals in all):",
        fb.busy.len() + fb.tentative.len() + fb.oof.len()
    );
    println!(
        "{:<44} {:>10.0} ops/s  (baseline)",
        "clone of the eight properties", clone_rate
    );
    println!(
        "{:<44} {:>10.0} ops/s  {:>6.3} x baseline",
        "encode (FreeBusy -> properties)",
        enc,
        enc / clone_rate
    );
    println!(
        "{:<44} {:>10.0} ops/s  {:>6.3} x baseline",
        "decode (properties -> FreeBusy)",
        dec,
        dec / clone_rate
    );
}
