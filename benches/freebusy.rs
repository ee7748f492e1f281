//! Benchmark: `?Cmd=freebusy` throughput and the MS-OXOPFFB codec rate.
//!
//! Run: `cargo bench --bench freebusy` (env `BENCH_SECONDS`, default 3 per scenario;
//! `BENCH_CLIENTS`, default 2). Every figure is also given as a ratio against a baseline
//! measured in the same run (`GET /healthz` through the same HTTP stack for the query; a
//! plain clone of the same properties for the codec), because these machines are shared
//! and absolute numbers drift.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use schedplus::app::ops::{Ctx, ImportRequest, Operation};
use schedplus::protocol::fb_message::build_props;
use schedplus::protocol::freebusy::{FbStatus, FreeBusy, Interval, PublishRange};
use schedplus::protocol::legacy_dn::LegacyDn;
use schedplus::protocol::pffb::{self, PublisherStyle};
use schedplus::protocol::time::{Minutes1601, parse_time};
use schedplus::server::{ServeOptions, Server};
use schedplus::store::{PublishedMessage, Store};

const USERS: usize = 200;
const NOW: &str = "2026-03-02T09:00:00Z";

fn seconds() -> f64 {
    std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0)
}

fn clients() -> usize {
    std::env::var("BENCH_CLIENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2)
}

/// A working schedule: 3-5 meetings a weekday, a tentative hold, an OOF day a month.
fn schedule(seed: usize, range: PublishRange) -> FreeBusy {
    let mut spans = Vec::new();
    let mut day = range.start;
    let mut n = seed;
    while day < range.end {
        let wd = day.weekday();
        if (1..=5).contains(&wd) {
            for k in 0..(3 + n % 3) {
                let start = day.plus_minutes(8 * 60 + (k as i64) * 110 + (n % 4) as i64 * 15);
                let status = if k == 1 && n % 5 == 0 {
                    FbStatus::Tentative
                } else {
                    FbStatus::Busy
                };
                spans.push((
                    status,
                    Interval::new(start, start.plus_minutes(45 + (n % 3) as i64 * 15)).unwrap(),
                ));
            }
            if n % 23 == 0 {
                spans.push((
                    FbStatus::Oof,
                    Interval::new(day, day.plus_minutes(1440)).unwrap(),
                ));
            }
        }
        n = n.wrapping_mul(31).wrapping_add(7);
        day = day.plus_minutes(1440);
    }
    FreeBusy::from_spans(spans)
}

fn seed_store(store: &Store) -> Vec<String> {
    let mut csv = String::from("mail,legacyExchangeDN,displayName\n");
    let mut mails = Vec::new();
    for i in 0..USERS {
        let mail = format!("user{i}@bench.example");
        csv.push_str(&format!(
            "{mail},/o=Bench/ou=AG{}/cn=Recipients/cn=user{i},User {i}\n",
            i % 4
        ));
        mails.push(mail);
    }
    ImportRequest {
        text: csv,
        source: "bench".into(),
        ..Default::default()
    }
    .run(&Ctx::new(store))
    .unwrap();
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

/// Requests per second for `path` over `secs`, with `clients` keep-alive connections.
fn load(base: &str, path: &str, secs: f64, clients: usize) -> (f64, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let url = format!("{base}{path}");
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (stop, done, bytes, url) = (stop.clone(), done.clone(), bytes.clone(), url.clone());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                while !stop.load(Ordering::Relaxed) {
                    let mut r = agent.get(&url).call().expect("server answers");
                    assert_eq!(r.status(), 200);
                    let b = r
                        .body_mut()
                        .with_config()
                        .limit(1 << 30)
                        .read_to_vec()
                        .unwrap();
                    bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let n = done.load(Ordering::Relaxed);
    (
        n as f64 / started.elapsed().as_secs_f64(),
        bytes.load(Ordering::Relaxed) / n.max(1),
    )
}

fn rate(secs: f64, mut f: impl FnMut()) -> f64 {
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed().as_secs_f64() < secs {
        for _ in 0..64 {
            f();
        }
        n += 64;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let secs = seconds();
    let clients = clients();
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
    let (base_rps, _) = load(&base, "/healthz", secs, clients);
    println!(
        "{:<44} {:>10.0} req/s  (baseline)",
        "GET /healthz", base_rps
    );

    let one = format!(
        "/public/?Cmd=freebusy&start=2026-03-02T00:00:00Z&end=2026-03-16T00:00:00Z&interval=15&u=SMTP:{}",
        mails[7]
    );
    let (rps, size) = load(&base, &one, secs, clients);
    println!(
        "{:<44} {:>10.0} req/s  {:>6.3} x baseline  {:>8} bytes/answer",
        "1 user, 14 days, 15-minute slots",
        rps,
        rps / base_rps,
        size
    );

    let mut hundred = String::from(
        "/public/?Cmd=freebusy&start=2026-03-01T00:00:00Z&end=2026-04-12T00:00:00Z&interval=30",
    );
    for m in mails.iter().take(100) {
        hundred.push_str(&format!("&u=SMTP:{m}"));
    }
    let (rps, size) = load(&base, &hundred, secs, clients);
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
