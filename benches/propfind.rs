//! PROPFIND Depth 1 on admin-group folders of 1,000 and 100,000 free/busy messages:
//! throughput and the server's peak memory, against baselines measured in the same run.
//!
//! `cargo bench --bench propfind` (release build). The store is filled in-process, then the
//! server runs as a child process (this same binary, re-executed) so that its peak resident
//! memory (`VmHWM` in `/proc/<pid>/status`) is the server's alone. Baselines: a Depth 0
//! PROPFIND of the same folder (fixed cost per request) and a `?Cmd=freebusy` query. The
//! server's peak includes sled's page cache, which is bounded by its configured capacity
//! (64 MiB by default), so the listing is repeated by a second server with an 8 MiB cache:
//! what matters is that the peak does not follow the folder's size.
//!
//! `PROPFIND_BENCH_SMALL=1` runs with 100 and 2,000 messages (a quick check that it works).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Instant;

use schedplus::protocol::fb_message::build_props;
use schedplus::protocol::freebusy::{FbStatus, FreeBusy, Interval, PublishRange};
use schedplus::protocol::legacy_dn::LegacyDn;
use schedplus::protocol::pffb::PublisherStyle;
use schedplus::protocol::time::Minutes1601;
use schedplus::server::{ServeOptions, Server};
use schedplus::store::{PublishedMessage, Store, StoreConfig};

const CHILD_ENV: &str = "PROPFIND_BENCH_CHILD";
const CACHE_ENV: &str = "PROPFIND_BENCH_CACHE_BYTES";

fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        return child(&dir);
    }
    // `cargo bench` passes `--bench`; nothing else is expected.
    let small = std::env::var_os("PROPFIND_BENCH_SMALL").is_some();
    let (n_small, n_large) = if small {
        (100, 2_000)
    } else {
        (1_000, 100_000)
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let t = Instant::now();
    {
        let store = Store::open(&StoreConfig::new(dir.path())).expect("store");
        fill(&store, "K1", n_small);
        fill(&store, "K100", n_large);
    }
    println!(
        "filled {} + {} messages in {:.1} s",
        n_small,
        n_large,
        t.elapsed().as_secs_f64()
    );

    let (mut child, addr) = start_child(dir.path(), None);
    let pid = child.id();

    let folder = |ou: &str| {
        format!(
            "/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=Bench_xF8FF_ou={ou}/"
        )
    };
    let hwm_start = vm_kib(pid, "VmHWM");
    println!("server child pid {pid}, VmHWM after start {hwm_start} KiB\n");
    println!(
        "{:<34} {:>6} {:>12} {:>14} {:>12} {:>14}",
        "request", "runs", "ms/request", "messages/s", "MiB/s", "VmHWM KiB"
    );

    let fbq = "/public/?Cmd=freebusy&start=2008-02-01T00:00:00Z&end=2008-03-01T00:00:00Z&interval=30&u=SMTP:nobody@bench.example";
    let base_fb = measure(
        addr,
        pid,
        "GET ?Cmd=freebusy (baseline)",
        "GET",
        fbq,
        "0",
        200,
        0,
    );
    let base_d0 = measure(
        addr,
        pid,
        "PROPFIND Depth 0 (baseline)",
        "PROPFIND",
        &folder("K100"),
        "0",
        200,
        0,
    );
    let small_runs = if small { 20 } else { 50 };
    // Depth 1 of both folders: the small one `small_runs` times, the large one 3 times.
    let listings = |addr: SocketAddr, pid: u32| {
        let d1 = |ou: &str, n: usize, runs: usize| {
            let label = format!("PROPFIND Depth 1, {n} messages");
            measure(addr, pid, &label, "PROPFIND", &folder(ou), "1", runs, n)
        };
        (d1("K1", n_small, small_runs), d1("K100", n_large, 3))
    };
    let (d1_small, d1_large) = listings(addr, pid);
    println!();
    println!(
        "Depth 1 per message vs one Depth 0 request: {:.3} ({} msgs) and {:.3} ({} msgs)",
        d1_small.ms / n_small as f64 / base_d0.ms,
        n_small,
        d1_large.ms / n_large as f64 / base_d0.ms,
        n_large
    );
    println!(
        "one Depth 0 PROPFIND costs {:.2}x a freebusy query",
        base_d0.ms / base_fb.ms
    );
    println!(
        "{}-message answer: {:.1} MiB; server VmHWM grew {} KiB over the whole run (start {} KiB)",
        n_large,
        d1_large.bytes as f64 / (1024.0 * 1024.0),
        d1_large.hwm.saturating_sub(hwm_start),
        hwm_start
    );
    drop(child.stdin.take());
    let _ = child.wait();

    // The same listing with sled's page cache cut to 8 MiB: what is left of the peak is the
    // server's own working memory, which must not follow the folder's size.
    let (mut child, addr) = start_child(dir.path(), Some(8 * 1024 * 1024));
    let pid = child.id();
    let start = vm_kib(pid, "VmHWM");
    println!("\nserver child with an 8 MiB sled cache, VmHWM after start {start} KiB");
    let (small, large) = listings(addr, pid);
    println!(
        "VmHWM growth: {} KiB after {n_small} messages, {} KiB after {n_large}",
        small.hwm.saturating_sub(start),
        large.hwm.saturating_sub(start)
    );
    drop(child.stdin.take());
    let _ = child.wait();
}

/// Re-execute this binary as the server; returns it and the address it listens on.
fn start_child(dir: &std::path::Path, cache: Option<u64>) -> (std::process::Child, SocketAddr) {
    let mut cmd = Command::new(std::env::current_exe().expect("own path"));
    cmd.env(CHILD_ENV, dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if let Some(bytes) = cache {
        cmd.env(CACHE_ENV, bytes.to_string());
    }
    let mut child = cmd.spawn().expect("start the server child");
    let mut out = BufReader::new(child.stdout.take().expect("child stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("child address");
    (child, line.trim().parse().expect("an address"))
}

struct Measured {
    ms: f64,
    bytes: usize,
    hwm: u64,
}

#[allow(clippy::too_many_arguments)]
fn measure(
    addr: SocketAddr,
    pid: u32,
    label: &str,
    method: &str,
    path: &str,
    depth: &str,
    runs: usize,
    messages: usize,
) -> Measured {
    let mut bytes = 0;
    let t = Instant::now();
    for _ in 0..runs {
        bytes = request(addr, method, path, depth);
    }
    let secs = t.elapsed().as_secs_f64();
    let ms = secs * 1000.0 / runs as f64;
    let hwm = vm_kib(pid, "VmHWM");
    let per_s = if messages > 0 {
        format!("{:.0}", (messages * runs) as f64 / secs)
    } else {
        "-".into()
    };
    println!(
        "{label:<34} {runs:>6} {ms:>12.2} {per_s:>14} {:>12.1} {hwm:>14}",
        (bytes * runs) as f64 / secs / (1024.0 * 1024.0)
    );
    Measured { ms, bytes, hwm }
}

/// One request; returns the bytes received after the head, checking the answer is whole.
fn request(addr: SocketAddr, method: &str, path: &str, depth: &str) -> usize {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nDepth: {depth}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .expect("send");
    let mut total = 0;
    let mut tail = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = s.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        total += n;
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 64 {
            tail.drain(..tail.len() - 64);
        }
    }
    let end = String::from_utf8_lossy(&tail);
    assert!(
        end.contains("</a:multistatus>") || end.contains("</a:response>"),
        "{method} {path}: incomplete answer ending {end:?}"
    );
    total
}

fn vm_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// `n` users of `/o=Bench/ou={ou}`, each with one busy hour, in batched transactions.
fn fill(store: &Store, ou: &str, n: usize) {
    let range = PublishRange {
        start: Minutes1601::from_civil(2008, 2, 1),
        end: Minutes1601::from_civil(2008, 4, 1),
    };
    let ts = jiff::Timestamp::from_second(1_200_000_000).expect("a time");
    let mut batch = Vec::with_capacity(1000);
    for i in 0..n {
        let dn = LegacyDn::parse(&format!("/o=Bench/ou={ou}/cn=Recipients/cn=user{i:06}"))
            .expect("a DN");
        let mut fb = FreeBusy::default();
        let s = range.start.plus_minutes(60 * (i as i64 % 1000));
        fb.add(
            FbStatus::Busy,
            Interval::new(s, s.plus_minutes(60)).expect("an interval"),
        );
        batch.push(PublishedMessage {
            folder: dn.admin_group(),
            subject: dn.subject(),
            props: build_props(&dn, &fb, range, PublisherStyle::Outlook, ts),
        });
        if batch.len() == 1000 {
            store
                .fb_create_many(&batch, schedplus::app::clock::wall_us())
                .expect("bulk create");
            batch.clear();
        }
    }
    store
        .fb_create_many(&batch, schedplus::app::clock::wall_us())
        .expect("bulk create");
}

/// The server half: serve the filled store until the parent closes stdin.
fn child(dir: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut opts = ServeOptions::new(dir, "127.0.0.1:0".parse().expect("an address"));
    if let Some(bytes) = std::env::var(CACHE_ENV).ok().and_then(|v| v.parse().ok()) {
        opts.cache_capacity = bytes;
    }
    let server = rt.block_on(Server::start(opts)).expect("server start");
    println!("{}", server.addr);
    std::io::stdout().flush().expect("flush");
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    rt.block_on(server.shutdown());
}
