//! Benchmark: the one log line `dispatch` writes per request (issue 13: it was 8% of a
//! one-user `?Cmd=freebusy` request), written every time and held to DEBUG past the limit of
//! a second (`transport/request_log.rs`).
//!
//! Run: `cargo bench --bench request_log 2>/dev/null` (env `BENCH_LINES`, default 200,000).
//! The subscriber is the one `schedplus serve` installs (text, no colours, `info`, written
//! to stderr), so where stderr goes decides the cost of the write itself: `2>/dev/null`
//! leaves the formatting and a cheap syscall, `2>file` or `2>&1 | cat >/dev/null` (a pipe,
//! as journald's) the real thing. Each figure has a baseline measured in the same run (the
//! same line at a level the filter drops), because these machines are shared. CPU time
//! comes from `/proc/self/stat` in ticks of 10 ms, so keep `BENCH_LINES` large. For
//! instruction counts, which do not drift with the load:
//! `BENCH_LINES=20000 valgrind --tool=callgrind --callgrind-out-file=/tmp/cg target/release/deps/request_log-* 2>/dev/null`,
//! then `callgrind_annotate --inclusive=yes /tmp/cg | grep RequestLine::log`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use schedplus::transport::{READS_LOGGED_PER_SECOND, ReadLog, RequestLine};
use warp::http::{Method, StatusCode};

fn lines() -> usize {
    std::env::var("BENCH_LINES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000)
}

/// CPU time of this process (user + system), from `/proc/self/stat`.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the `)`; ticks of 10 ms.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

#[derive(Clone, Copy, PartialEq)]
enum Timing {
    /// Each line in a second of its own: every one is written at INFO, as every request's
    /// line was before the rule of `request_log.rs`.
    SecondEach,
    /// All lines in one second: past `READS_LOGGED_PER_SECOND` they go to DEBUG.
    OneSecond,
}

fn run(filter: &str, timing: Timing, n: usize) -> (f64, f64) {
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .finish();
    let method = Method::GET;
    let path = "/public/";
    let remote = Some("127.0.0.1:50412".parse().unwrap());
    let reads = ReadLog::new();
    let base = Instant::now();
    tracing::subscriber::with_default(subscriber, || {
        let (t0, c0) = (Instant::now(), cpu());
        for i in 0..n {
            let now = match timing {
                Timing::SecondEach => base + Duration::from_secs(i as u64 + 1),
                Timing::OneSecond => base,
            };
            black_box(RequestLine {
                method: &method,
                path,
                status: StatusCode::OK,
                secs: black_box(0.000_049 + (i % 7) as f64 * 1e-6),
                remote,
                user: "-",
                failure: None,
            })
            .log(&reads, now);
        }
        let (wall, cpu) = (t0.elapsed(), cpu() - c0);
        (
            wall.as_secs_f64() * 1e9 / n as f64,
            cpu.as_secs_f64() * 1e9 / n as f64,
        )
    })
}

fn main() {
    let n = lines();
    let (off_wall, off_cpu) = run("warn", Timing::SecondEach, n);
    let (on_wall, on_cpu) = run("info", Timing::SecondEach, n);
    let (held_wall, held_cpu) = run("info", Timing::OneSecond, n);
    println!(
        "request log line, {n} successful GETs, subscriber as `schedplus serve` (text, info, stderr)"
    );
    println!("  filtered out (warn):         {off_wall:8.0} ns wall {off_cpu:8.0} ns CPU per line");
    println!("  every line written:          {on_wall:8.0} ns wall {on_cpu:8.0} ns CPU per line");
    println!(
        "  {READS_LOGGED_PER_SECOND} a second, rest at DEBUG: {held_wall:8.0} ns wall {held_cpu:8.0} ns CPU per line"
    );
    println!(
        "  held / written (CPU):        {:8.3}",
        held_cpu / on_cpu.max(1.0)
    );
}
