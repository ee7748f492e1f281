//! What the benches share: settings from the environment, an HTTP load generator with
//! keep-alive clients, an in-process rate counter, a directory import and a working
//! schedule to publish. Each bench includes it with `mod support;`; nothing here times or
//! asserts anything a test would.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use schedplus::app::ops::{Ctx, ImportRequest, Operation};
use schedplus::protocol::freebusy::{FbStatus, FreeBusy, Interval, PublishRange};
use schedplus::store::Store;

/// The environment variable `key` parsed as a `T`, or `default` when unset or unparsable.
pub fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// What a load run measured.
pub struct Throughput {
    pub rps: f64,
    /// Body bytes per answer (the mean).
    pub bytes: u64,
}

/// How long each scenario runs and with how many keep-alive connections:
/// `BENCH_SECONDS` (default 3) and `BENCH_CLIENTS` (default 2).
pub struct Load {
    pub secs: f64,
    pub clients: usize,
}

impl Load {
    pub fn from_env() -> Load {
        Load {
            secs: env_or("BENCH_SECONDS", 3.0),
            clients: env_or("BENCH_CLIENTS", 2),
        }
    }

    /// `GET path` answered 200.
    pub fn get(&self, base: &str, path: &str) -> Throughput {
        self.run(base, "GET", path, &[], "", 200)
    }

    /// Requests per second of `method path` with `headers` and `body`; every answer must
    /// have status `expect`. Each client reads every answer to its end (and counts it).
    pub fn run(
        &self,
        base: &str,
        method: &'static str,
        path: &str,
        headers: &[(&'static str, String)],
        body: &'static str,
        expect: u16,
    ) -> Throughput {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let url = format!("{base}{path}");
        let started = Instant::now();
        let workers: Vec<_> = (0..self.clients)
            .map(|_| {
                let (stop, done, bytes, url) =
                    (stop.clone(), done.clone(), bytes.clone(), url.clone());
                let headers = headers.to_vec();
                std::thread::spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .allow_non_standard_methods(true)
                        .build()
                        .into();
                    while !stop.load(Ordering::Relaxed) {
                        let mut req = ureq::http::Request::builder().method(method).uri(&url);
                        for (k, v) in &headers {
                            req = req.header(*k, v);
                        }
                        let mut r = agent
                            .run(req.body(body.as_bytes().to_vec()).unwrap())
                            .expect("the server answers");
                        assert_eq!(r.status().as_u16(), expect, "{method} {url}");
                        let n = std::io::copy(&mut r.body_mut().as_reader(), &mut std::io::sink())
                            .expect("the answer reads to its end");
                        bytes.fetch_add(n, Ordering::Relaxed);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs_f64(self.secs));
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().unwrap();
        }
        let n = done.load(Ordering::Relaxed);
        Throughput {
            rps: n as f64 / started.elapsed().as_secs_f64(),
            bytes: bytes.load(Ordering::Relaxed) / n.max(1),
        }
    }
}

/// Calls of `f` per second over about `secs` (in rounds of 64).
pub fn rate(secs: f64, mut f: impl FnMut()) -> f64 {
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

/// Import `users` bench users (`user<i>@bench.example`, legacyDN
/// `/o=Bench/ou=AG<i mod groups>/cn=Recipients/cn=user<i>`); their addresses, in order.
pub fn import_bench_users(store: &Store, users: usize, groups: usize) -> Vec<String> {
    let mut csv = String::from("mail,legacyExchangeDN,displayName\n");
    let mut mails = Vec::with_capacity(users);
    for i in 0..users {
        let mail = format!("user{i}@bench.example");
        csv.push_str(&format!(
            "{mail},/o=Bench/ou=AG{}/cn=Recipients/cn=user{i},User {i}\n",
            i % groups
        ));
        mails.push(mail);
    }
    import_csv(store, csv, "bench");
    mails
}

/// Import a csvde-style directory file into `store`, as `directory import` does.
pub fn import_csv(store: &Store, csv: String, source: &str) {
    ImportRequest {
        text: csv,
        source: source.into(),
        ..Default::default()
    }
    .run(&Ctx::new(store))
    .unwrap();
}

/// A working schedule over `range`: 3-5 meetings a weekday, a tentative hold, an OOF day a
/// month; `seed` varies it between users.
pub fn schedule(seed: usize, range: PublishRange) -> FreeBusy {
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
