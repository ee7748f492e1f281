//! Publishing benchmarks: throughput and change-to-visible latency.
//!
//! Run with `cargo bench --bench publish` (release build). Environment knobs:
//! `USERS` (default 200), `ROUNDS` (latency samples, default 20), `POLL_MS` (the poller's
//! interval in the latency run, default 250), `PUBLISH_BENCH_CALENDARS` (a folder: the
//! first round's calendars are also written there as `u<i>.ics`, for `scripts/bench.sh`'s
//! reference publisher), `PUBLISH_BENCH_THROUGHPUT_ONLY` (set: part 1 only). Besides the
//! prose, each part prints one `BENCH-RESULT key=value …` line for `scripts/bench.sh`.
//!
//! 1. **Throughput**, in users per second, of the poller's round (`app::poller::Poller`,
//!    what the server runs) over USERS users whose calendars hold about 200 events each
//!    (one-off meetings, weekly series with EXDATEs, daily series with COUNT, in a named
//!    zone): a first publish of queued users (messages created), a publish of changed
//!    calendars (messages overwritten), and the baseline measured in the same run, a
//!    start-up round over unchanged content (expansion and compare, no write). Each row
//!    also gives the process's CPU time per user (every thread, from `getrusage`), steadier
//!    than the rate on a shared machine. An untimed dry run over every calendar comes
//!    first, so the first row is not the only one to run in a cold process. Also, for
//!    reference, `publisher::republish_user` one user at a time, each publish waiting for
//!    its own disk sync (as `cleanfreebusy` and `calendar import` do).
//! 2. **Change-to-visible latency** through a real server: `PUT /calendars/…` a calendar
//!    whose free/busy differs, then poll `?Cmd=freebusy` until the answer changes. Against
//!    two baselines from the same run: the poll interval (the poller's expected lag is half
//!    of it), and the same change made by `calendar import` through the admin API, which
//!    publishes at once. Then the same PUTs to a server run with `--publish on-change`.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use schedplus::app::Clock;
use schedplus::app::ops;
use schedplus::app::poller::{CleanupAt, Poller, PublishMode};
use schedplus::protocol::legacy_dn::LegacyDn;
use schedplus::publishing::publisher::{PublishSettings, republish_user};
use schedplus::server::{ServeOptions, Server};
use schedplus::store::{CalendarSource, PublishOutcome, Store, StoreConfig, UserRecord};

mod support;
use support::env_or;

const NOW: &str = "2026-03-04T12:00:00Z";

/// About 200 events: 150 one-off meetings over the publish range, 40 weekly series with
/// two EXDATEs each, 10 daily series with COUNT. `salt` shifts every time so calendars
/// differ between users and between rounds.
fn calendar(salt: u64) -> String {
    let mut s =
        String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//schedplus//bench//EN\r\n");
    let ev = |s: &mut String, uid: String, start: String, mins: u64, extra: &str| {
        s.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Paris:{start}\r\nDURATION:PT{mins}M\r\n{extra}END:VEVENT\r\n"
        ));
    };
    for i in 0..150u64 {
        let day = 1 + (i * 7 + salt) % 28;
        let month = 3 + (i % 2);
        let hour = 8 + (i + salt) % 9;
        ev(
            &mut s,
            format!("one-{salt}-{i}"),
            format!("2026{month:02}{day:02}T{hour:02}{:02}00", (i % 4) * 15),
            30 + (i % 3) * 15,
            "",
        );
    }
    let days = ["MO", "TU", "WE", "TH", "FR"];
    for i in 0..40u64 {
        // 2026-01-05 is a Monday.
        let d = (i % 5) as usize;
        let start = format!(
            "202601{:02}T{:02}{:02}00",
            5 + d,
            8 + i % 9,
            (salt % 4) * 15
        );
        let ex = format!(
            "RRULE:FREQ=WEEKLY;BYDAY={}\r\nEXDATE;TZID=Europe/Paris:202603{:02}T{:02}{:02}00\r\n",
            days[d],
            9 + d,
            8 + i % 9,
            (salt % 4) * 15
        );
        ev(&mut s, format!("weekly-{salt}-{i}"), start, 30, &ex);
    }
    for i in 0..10u64 {
        ev(
            &mut s,
            format!("daily-{salt}-{i}"),
            format!("202603{:02}T0{}0000", 2 + i, 7 + i % 2),
            15,
            "RRULE:FREQ=DAILY;COUNT=20\r\n",
        );
    }
    s.push_str("END:VCALENDAR\r\n");
    s
}

fn user(i: u64) -> UserRecord {
    UserRecord {
        legacy_dn: LegacyDn::parse(&format!("/o=Bench/ou=AG{}/cn=Recipients/cn=u{i}", i % 4))
            .unwrap(),
        mail: format!("u{i}@bench.example"),
        display_name: format!("User {i}"),
        alias: format!("u{i}"),
        proxy_addresses: vec![],
    }
}

fn timed_round(store: &Store, users: &[UserRecord], now: Timestamp, want: PublishOutcome) -> f64 {
    let settings = PublishSettings::default();
    let started = Instant::now();
    for u in users {
        let r = republish_user(store, u, now, &settings, false).unwrap();
        assert_eq!(r.outcome, want, "{}", u.mail);
    }
    users.len() as f64 / started.elapsed().as_secs_f64()
}

/// CPU time of the whole process (every thread, sled's included): user, system.
fn cpu_time() -> (Duration, Duration) {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (tv(ru.ru_utime), tv(ru.ru_stime))
}

/// What a timed round measured: users per second (wall clock), CPU µs per user (user plus
/// system) and of it the system's.
#[derive(Clone, Copy)]
struct Rate {
    per_s: f64,
    cpu_us: f64,
    sys_us: f64,
}

impl Rate {
    fn of(n: u64, work: impl FnOnce()) -> Rate {
        let (started, (user, sys)) = (Instant::now(), cpu_time());
        work();
        let (user2, sys2) = cpu_time();
        let per_user = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        Rate {
            per_s: n as f64 / started.elapsed().as_secs_f64(),
            cpu_us: per_user(user2 - user + (sys2 - sys)),
            sys_us: per_user(sys2 - sys),
        }
    }
}

/// One poller round that must do `count(report) == n` things.
fn poller_round(
    p: &mut Poller,
    n: u64,
    count: impl Fn(&schedplus::app::poller::RoundReport) -> usize,
) -> Rate {
    let mut r = None;
    let rate = Rate::of(n, || r = Some(p.round()));
    let r = r.unwrap();
    assert_eq!((count(&r) as u64, r.failed), (n, 0), "{r:?}");
    rate
}

fn throughput(n: u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreConfig::new(dir.path())).unwrap();
    let users: Vec<UserRecord> = (0..n).map(user).collect();
    store
        .import_users(&users, schedplus::app::clock::wall_us())
        .unwrap();
    let now: Timestamp = NOW.parse().unwrap();
    let put = |salt: u64| {
        for (i, u) in users.iter().enumerate() {
            let text = calendar(salt + i as u64);
            let events = schedplus::publishing::calendar::parse(&text)
                .unwrap()
                .event_count();
            store
                .put_calendar(
                    &schedplus::store::Writer::ANYONE,
                    &u.legacy_dn,
                    &text,
                    events,
                    CalendarSource::Http,
                    schedplus::app::clock::wall_us(),
                )
                .unwrap();
        }
    };
    put(0);
    if let Some(dir) = std::env::var_os("PUBLISH_BENCH_CALENDARS") {
        for i in 0..n {
            std::fs::write(
                std::path::Path::new(&dir).join(format!("u{i}.ics")),
                calendar(i),
            )
            .unwrap();
        }
    }
    let poller = || {
        Poller::new(
            store.clone(),
            Clock::Fixed(now),
            PublishSettings::default(),
            CleanupAt::default(),
            None,
        )
    };
    // Warm-up, not timed: every calendar read, parsed and expanded once and nothing
    // written (a dry run), so that the first timed row does not pay alone for what the
    // process does once (code and allocator warm-up, the calendars' pages in sled's cache),
    // which the rows after it would not pay.
    for u in &users {
        republish_user(&store, u, now, &PublishSettings::default(), true).unwrap();
    }
    // The queued users, published by the poller's round (their first round: start-up).
    let mut p = poller();
    let created = poller_round(&mut p, n, |r| r.published);
    // A restarted poller's start-up round: every calendar again, unchanged.
    let noop = poller_round(&mut poller(), n, |r| r.unchanged);
    put(1000);
    let updated = poller_round(&mut p, n, |r| r.published);
    // One at a time, each waiting for its own sync.
    let single_noop = timed_round(&store, &users, now, PublishOutcome::Unchanged);
    put(2000);
    let single = timed_round(&store, &users, now, PublishOutcome::Updated);
    println!("throughput, {n} users, 200 events each (publish range 2 months):");
    println!(
        "  one user at a time, each synced: unchanged {single_noop:8.1} users/s, updated {single:8.1} users/s"
    );
    let row = |what: &str, r: Rate| {
        println!(
            "  {what:<42}{:8.1} users/s  ({:.2}x baseline), CPU {:5.0} us/user ({:.2}x baseline; system {:4.0} us)",
            r.per_s,
            r.per_s / noop.per_s,
            r.cpu_us,
            r.cpu_us / noop.cpu_us,
            r.sys_us
        )
    };
    row("baseline, republish of unchanged content:", noop);
    row("first publish (created):", created);
    row("publish of changed calendars (updated):", updated);
    println!(
        "BENCH-RESULT publish_per_s={:.1} republish_unchanged_per_s={:.1} update_per_s={:.1} publish_cpu_us={:.0} republish_unchanged_cpu_us={:.0}",
        created.per_s, noop.per_s, updated.per_s, created.cpu_us, noop.cpu_us
    );
}

fn fbdata(agent: &ureq::Agent, base: &str) -> String {
    let url = format!(
        "{base}/public/?Cmd=freebusy&start=2026-03-09T00:00:00Z&end=2026-03-10T00:00:00Z&interval=60&u=SMTP:bwright@companyabc.example"
    );
    let body = agent
        .get(url)
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    body.rsplit("<a:fbdata>")
        .next()
        .unwrap()
        .split("</a:fbdata>")
        .next()
        .unwrap()
        .to_string()
}

/// A calendar busy 2026-03-09 from `hour` for an hour.
fn busy_at(hour: u64) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:lat\r\nDTSTART:20260309T{hour:02}0000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn wait_change(agent: &ureq::Agent, base: &str, before: &str) -> Duration {
    let started = Instant::now();
    while fbdata(agent, base) == before {
        assert!(started.elapsed() < Duration::from_secs(60), "no change");
        std::thread::sleep(Duration::from_millis(2));
    }
    started.elapsed()
}

/// Mean, p50, p95, p99 and max in milliseconds.
fn percentiles(mut v: Vec<Duration>) -> [f64; 5] {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |pct: usize| ms(v[(v.len() * pct / 100).min(v.len() - 1)]);
    let mean = v.iter().map(|d| ms(*d)).sum::<f64>() / v.len() as f64;
    [mean, at(50), at(95), at(99), ms(v[v.len() - 1])]
}

fn summary(p: [f64; 5]) -> String {
    format!(
        "mean {:7.1} ms, p50 {:7.1} ms, p95 {:7.1} ms, p99 {:7.1} ms, max {:7.1} ms",
        p[0], p[1], p[2], p[3], p[4]
    )
}

fn latency(rounds: u64, poll: Duration, mode: PublishMode) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut opts = ServeOptions::new(dir.path(), "127.0.0.1:0".parse().unwrap());
    opts.demo = true;
    // Publishing latency, not sign-in (the PUTs are anonymous).
    opts.auth = schedplus::auth::AuthSettings::open();
    opts.poll_interval = poll;
    opts.publish_mode = mode;
    opts.clock = Clock::Fixed(NOW.parse().unwrap());
    let server = rt.block_on(Server::start(opts)).unwrap();
    let base = format!("http://{}", server.addr);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{base}/calendars/bwright.ics");
    let mut poller = Vec::new();
    let mut direct = Vec::new();
    let clock = Clock::Fixed(NOW.parse().unwrap());
    let admin = schedplus::cli::client::Admin::connect(dir.path(), clock).unwrap();
    // Changes at pseudo-random phases of the poll cycle (a fixed LCG, so runs compare):
    // without this, each PUT would follow the previous publish closely and always wait
    // almost a whole interval.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..rounds {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        std::thread::sleep(poll.mul_f64((seed >> 11) as f64 / (1u64 << 53) as f64));
        // Through the poller.
        let before = fbdata(&agent, &base);
        let started = Instant::now();
        let status = agent.put(&url).send(busy_at(i % 20)).unwrap().status();
        assert!(status.is_success(), "{status}");
        wait_change(&agent, &base, &before);
        poller.push(started.elapsed());
        if mode == PublishMode::OnChange {
            continue;
        }
        // Direct: an import through the admin API publishes before it answers.
        let before = fbdata(&agent, &base);
        let started = Instant::now();
        admin
            .run(ops::CalendarPutRequest {
                user: "bwright".into(),
                text: busy_at(20 + i % 3),
                source: CalendarSource::Import("bench".into()),
                publish_now: true,
                now: None,
            })
            .unwrap();
        wait_change(&agent, &base, &before);
        direct.push(started.elapsed());
    }
    rt.block_on(server.shutdown());
    if mode == PublishMode::OnChange {
        let p = percentiles(poller);
        println!(
            "change-to-visible latency, {rounds} changes, --publish on-change:\n  PUT, published at the change:           {}",
            summary(p)
        );
        println!(
            "BENCH-RESULT onchange_p50_ms={:.1} onchange_p99_ms={:.1} rounds={rounds}",
            p[1], p[3]
        );
        return;
    }
    println!(
        "change-to-visible latency, {rounds} changes, --poll-interval {} ms:",
        poll.as_millis()
    );
    let (direct, poller_p) = (percentiles(direct), percentiles(poller.clone()));
    println!(
        "  baseline, import publishing at once:    {}",
        summary(direct)
    );
    let mean_poll = {
        let mut v = poller.clone();
        v.sort();
        v.iter().map(|d| d.as_secs_f64()).sum::<f64>() / v.len() as f64
    };
    println!(
        "  PUT, published by the poller:           {}",
        summary(poller_p)
    );
    println!(
        "  poller mean lag / poll interval: {:.2} (0.5 expected at random phase; the max is one interval plus the publish)",
        mean_poll / poll.as_secs_f64()
    );
    println!(
        "BENCH-RESULT poller_p50_ms={:.1} poller_p99_ms={:.1} direct_p50_ms={:.1} direct_p99_ms={:.1} rounds={rounds}",
        poller_p[1], poller_p[3], direct[1], direct[3]
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let users = env_or::<u64>("USERS", 200);
    let rounds = env_or::<u64>("ROUNDS", 20).max(1);
    let poll = Duration::from_millis(env_or::<u64>("POLL_MS", 250).max(10));
    throughput(users);
    if std::env::var_os("PUBLISH_BENCH_THROUGHPUT_ONLY").is_some() {
        return;
    }
    latency(rounds, poll, PublishMode::Interval);
    latency(rounds, poll, PublishMode::OnChange);
}
