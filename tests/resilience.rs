//! Slow and hostile clients against the transport, and the process's behaviour under
//! signals and closed pipes: answers held for clients that do not read stay within
//! `--answer-buffer`, store threads never wait on a client, connections still sending
//! their request head are bounded (in all and per address) so a slowloris cannot starve
//! real clients, SIGHUP is logged and survived, and `… | head` ends quietly.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{bin, run_cli};

/// A directory file of `n` users of one admin group.
fn many_users_csv(n: usize) -> String {
    let mut csv = String::from(
        "DN,objectClass,sAMAccountName,displayName,mail,mailNickname,legacyExchangeDN,proxyAddresses\n",
    );
    for i in 0..n {
        csv.push_str(&format!(
            "\"CN=U{i},CN=Users,DC=x\",user,u{i},User {i},u{i}@x.example,u{i},/o=Org/ou=AG/cn=Recipients/cn=u{i},SMTP:u{i}@x.example\n"
        ));
    }
    csv
}

#[test]
fn cli_output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = dir.path().join("dir.csv");
    std::fs::write(&csv, many_users_csv(2000)).unwrap();
    let o = run_cli(&data, &["directory", "import", csv.to_str().unwrap()]);
    assert!(o.status.success(), "{o:?}");
    // `schedplus directory list | head -c 100`: far more than a pipe buffer holds, and the
    // reader goes away after 100 bytes.
    let mut child = Command::new(bin())
        .arg("--data")
        .arg(&data)
        .args(["directory", "list"])
        .env_remove("SCHEDPLUS_DATA")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    out.read_exact(&mut first).unwrap();
    drop(out);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(
        !err.contains("panicked"),
        "a panic on a closed pipe:\n{err}"
    );
    assert!(
        !err.contains("Broken pipe"),
        "a closed pipe is not an error to report:\n{err}"
    );
    use std::os::unix::process::ExitStatusExt;
    assert!(
        status.success() || status.signal() == Some(libc::SIGPIPE),
        "ended with {status} instead of quietly (by SIGPIPE, as Unix tools do)"
    );
}

/// `schedplus serve` with its log in a file, announced in `data/server.json`.
fn serve_logged(data: &Path, log: &Path) -> (std::process::Child, String) {
    let mut c = Command::new(bin());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SCHEDPLUS_")) {
        c.env_remove(k);
    }
    let child = c
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let info = data.join("server.json");
    let t = Instant::now();
    while !info.exists() {
        assert!(t.elapsed() < Duration::from_secs(30), "never announced");
        std::thread::sleep(Duration::from_millis(50));
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    (child, v["addr"].as_str().unwrap().to_string())
}

fn healthz(addr: &str) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.1 200")
}

#[test]
fn sighup_is_logged_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("serve.log");
    let (mut child, addr) = serve_logged(&data, &log);
    assert!(healthz(&addr));
    let pid = child.id() as libc::pid_t;
    // SAFETY: sending a signal to our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    let t = Instant::now();
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("SIGHUP received") {
            assert!(text.contains("nothing reloaded"), "{text}");
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("SIGHUP ended the server ({status}); log:\n{text}");
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "no SIGHUP log line:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(healthz(&addr), "the server stopped answering after SIGHUP");
    assert!(data.join("server.json").exists());
    // SIGTERM still ends it cleanly, and server.json goes with it.
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(!data.join("server.json").exists());
}

// --- Slow readers and slow senders -------------------------------------------------------

use std::net::{SocketAddr, TcpStream};

use crate::common::{TestServer, dechunk};

/// A connection from `local` (any 127.x.y.z) to `to`, with a small receive buffer so a
/// client that does not read stops the server's writes early.
fn connect_from(s: &TestServer, local: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let local: SocketAddr = format!("{local}:0").parse().unwrap();
    s.runtime
        .block_on(async move {
            let sock = tokio::net::TcpSocket::new_v4()?;
            sock.set_recv_buffer_size(4096)?;
            sock.bind(local)?;
            let stream = sock.connect(to).await?;
            stream.into_std()
        })
        .and_then(|s| {
            s.set_nonblocking(false)?;
            Ok(s)
        })
}

/// Send a complete request and read the whole answer (`Connection: close`): status, body.
fn ask(to: SocketAddr, request: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(to).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)
        .unwrap_or_else(|e| panic!("no complete answer to {request:?}: {e}"));
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer head to {request:?}"));
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = buf[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

/// The largest kind of `?Cmd=freebusy` query: `users` addresses over ~69 days in 5-minute
/// slots (20,000 digits each).
fn big_query(users: usize) -> String {
    let mut q = String::from(
        "/public/?Cmd=freebusy&start=2026-01-01T00:00:00Z&end=2026-03-11T10:40:00Z&interval=5",
    );
    for i in 0..users {
        q.push_str(&format!("&u={i}@x"));
    }
    q
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
}

#[test]
fn answers_held_for_clients_that_do_not_read_stay_within_the_budget() {
    const BUDGET: usize = 5 * 64 * 1024;
    let server = TestServer::start_with(|o| {
        o.limits.answer_buffer = BUDGET;
        o.limits.send_timeout = Duration::from_secs(2);
    });
    let to = server.addr();
    // Near the largest answer by default: 990 users of 20,000 digits, 20 MB, far more than
    // socket buffers hold.
    let users = 990;
    let query = big_query(users);
    // 10 clients ask for it and never read.
    let silent: Vec<TcpStream> = (0..10)
        .map(|_| {
            let mut s = connect_from(&server, "127.0.0.1", to).unwrap();
            s.write_all(get(&query).as_bytes()).unwrap();
            s
        })
        .collect();
    // A client that reads is served, completely, while they hold what they hold.
    let (status, body) = ask(to, &get(&query));
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    let rows = crate::common::fbdata(&text);
    assert_eq!(rows.len(), users + 1, "All Attendees and every user");
    assert!(
        rows.iter()
            .all(|r| r.len() == 20_000 && r.bytes().all(|d| d == b'4'))
    );
    assert!(text.ends_with("</a:recipients></a:response>"));
    // Each silent client fills its socket buffers, then takes nothing for send_timeout and
    // is let go. (Only this test lets clients time out, so the process-wide count is ours.)
    let timeouts = || {
        schedplus::app::metrics::render(server.store())
            .lines()
            .find_map(|l| l.strip_prefix("schedplus_send_timeouts_total "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let t = Instant::now();
    while timeouts() < silent.len() as f64 {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "only {} of {} silent clients were let go",
            timeouts(),
            silent.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for mut s in silent {
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        assert!(
            got.starts_with(b"HTTP/1.1 200"),
            "a silent client was refused"
        );
        assert!(
            !got.ends_with(b"</a:recipients></a:response>\r\n0\r\n\r\n"),
            "a client that did not read got its whole answer ({} bytes)",
            got.len()
        );
    }
    let budget = server
        .server
        .as_ref()
        .unwrap()
        .state
        .answer_budget()
        .clone();
    assert!(budget.peak() > 0, "nothing went through the budget");
    assert!(
        budget.peak() <= BUDGET,
        "{} bytes held at once, over the {BUDGET}-byte budget",
        budget.peak()
    );
    let never = || format!("{} bytes never given back", budget.held());
    crate::common::wait_until(Duration::from_millis(20), never, || budget.held() == 0);
}

#[test]
fn clients_that_do_not_read_a_big_listing_hold_no_store_thread() {
    let server = TestServer::start_with_store_threads(4, |_| {});
    let to = server.addr();
    assert_eq!(
        server.request("MKCOL", "/public/big/", &[], None).status,
        201
    );
    // 24 items with a 700 KB property each: a Depth 1 listing of ~17 MB, far more than
    // socket buffers hold.
    let value = "x".repeat(700 * 1024);
    let patch = format!(
        "<?xml version=\"1.0\"?><a:propertyupdate xmlns:a=\"DAV:\"><a:set><a:prop><z:pad xmlns:z=\"urn:lab:\">{value}</z:pad></a:prop></a:set></a:propertyupdate>"
    );
    for i in 0..24 {
        let url = format!("/public/big/item{i}.txt");
        assert_eq!(server.request("PUT", &url, &[], Some(b"x")).status, 201);
        let r = server.request("PROPPATCH", &url, &[], Some(patch.as_bytes()));
        assert_eq!(r.status, 207, "{}", r.text());
    }
    let propfind =
        "PROPFIND /public/big/ HTTP/1.1\r\nHost: x\r\nDepth: 1\r\nContent-Length: 0\r\n\r\n";
    // Twice as many silent listings as there are store threads.
    let silent: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut s = connect_from(&server, "127.0.0.1", to).unwrap();
            s.write_all(propfind.as_bytes()).unwrap();
            s
        })
        .collect();
    // Give them time to fill their socket buffers and stall.
    std::thread::sleep(Duration::from_secs(1));
    // Store work still runs: a query, a PROPFIND, a write.
    let mut s = TcpStream::connect(to).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(get("/public/?Cmd=freebusy&start=2026-01-05T00:00:00Z&end=2026-01-06T00:00:00Z&u=a@b.example").as_bytes())
        .unwrap();
    let mut answer = Vec::new();
    let read = s.read_to_end(&mut answer);
    assert!(
        read.is_ok() && answer.starts_with(b"HTTP/1.1 200"),
        "the query got no answer while clients sat on listings: {read:?} {}",
        String::from_utf8_lossy(&answer)
    );
    let (status, _) = ask(
        to,
        "PROPFIND /public/big/ HTTP/1.1\r\nHost: x\r\nDepth: 0\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(status, 207);
    drop(silent);
}

#[test]
fn a_slowloris_does_not_keep_real_clients_out() {
    let server = TestServer::start_with(|o| {
        o.limits.max_connections = 64;
        o.limits.max_pending_heads = 16;
        o.limits.max_pending_heads_per_address = 4;
        // Long enough that, without the bounds, every trickler keeps its slot for the test.
        o.limits.header_timeout = Duration::from_secs(120);
    });
    let to = server.addr();
    let partial = b"GET /public/ HTTP/1.1\r\nHost: x\r\nX-Slow: a";
    let mut tricklers = Vec::new();
    // 100 from one address, 200 more from 200 addresses: each sends part of a head, then
    // trickles.
    for i in 0..300 {
        let local = if i < 100 {
            "127.0.0.2".to_string()
        } else {
            format!("127.0.{}.{}", 1 + (i - 100) / 250, 1 + (i - 100) % 250)
        };
        if let Ok(mut s) = connect_from(&server, &local, to) {
            let _ = s.write_all(partial);
            tricklers.push(s);
        }
    }
    for s in &mut tricklers {
        let _ = s.write_all(b"a");
    }
    // Real clients, from their own address, are served.
    for _ in 0..5 {
        let (status, body) = ask(to, &get("/healthz"));
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let (status, _) = ask(
            to,
            &get(
                "/public/?Cmd=freebusy&start=2026-01-05T00:00:00Z&end=2026-01-06T00:00:00Z&u=a@b.example",
            ),
        );
        assert_eq!(status, 200);
    }
    // Tricklers were let go: all but the newest 16. (Those that found every slot taken while
    // the closed ones gave theirs back were answered 503 and are closed when their head
    // does not arrive either.)
    let mut open: Vec<TcpStream> = tricklers;
    let total = open.len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while open.len() > 16 && Instant::now() < deadline {
        open.retain_mut(|s| {
            s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
            let mut buf = [0u8; 256];
            loop {
                match s.read(&mut buf) {
                    Ok(0) => return false,
                    Ok(_) => continue,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return true,
                    Err(_) => return false,
                }
            }
        });
    }
    assert!(
        open.len() <= 16,
        "{} of {total} trickling connections are still open",
        open.len()
    );
}
