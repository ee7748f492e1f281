//! Hostile input against a real server: the corpus under `tests/data/hostile/` replayed as
//! raw HTTP/1.1, the connection-level limits (oversized bodies and heads, header trickle,
//! slow bodies, too many connections, graceful shutdown), every input the fuzzers ever
//! crashed on (`tests/data/fuzz-regressions/TARGET/`), fed to the same target function, and
//! what a browser is given: user content sandboxed, our own pages without script, the admin
//! API out of a page's reach.
//!
//! Corpus files are named `WHAT.STATUS.http`: the raw request (request line, headers, blank
//! line, body) and the status it must get. `{TOKEN}` stands for the admin token; `Host`,
//! `Connection: close` and `Content-Length` are added when a file leaves them out. The
//! server runs the demo, plus an ordinary folder `/public/hostile/` holding `item.txt` for
//! the COPY/MOVE/PROPPATCH cases. Every request must get its status, which is a 4xx except
//! where the protocol answers refusals inside a success: a PROPPATCH refused property by
//! property is a 207 (RFC 4918), and the free/busy query reports a user it cannot resolve
//! inside its 200 answer, as Exchange does. The server must still answer `/healthz` after
//! each request, and the store must hold the same bytes at the end as at the start
//! ([`StoreDump`]).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use schedplus::app::Clock;
use schedplus::protocol::time::parse_time;
use schedplus::server::{ServeOptions, ServerInfo};
use schedplus::store::StoreDump;

use crate::common::TestServer;

/// The fuzz targets' bodies, shared with `fuzz/fuzz_targets/`.
#[path = "../fuzz/src/lib.rs"]
mod fuzz_bodies;

fn data_dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(sub)
}

/// A demo server that does nothing on its own while the test runs (no poll round), on a
/// fixed clock so publish windows, and so calendar verdicts, do not depend on the date.
fn demo_server(f: impl FnOnce(&mut ServeOptions)) -> TestServer {
    TestServer::start_with(|opts| {
        opts.demo = true;
        opts.clock = Clock::Fixed(parse_time("2026-03-08T09:00:00Z").unwrap());
        opts.poll_interval = Duration::from_secs(3600);
        f(opts);
    })
}

fn addr(s: &TestServer) -> SocketAddr {
    s.server.as_ref().unwrap().addr
}

fn dump(s: &TestServer) -> StoreDump {
    s.store().dump().expect("the store can be dumped")
}

fn assert_unchanged(before: &StoreDump, s: &TestServer, what: &str) {
    let after = dump(s);
    assert!(
        *before == after,
        "{what} changed the store:\n{}",
        before.diff(&after).join("\n")
    );
}

/// An answer as read off the wire.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

/// Send `raw` on a fresh connection and read the answer until the server closes. `None`
/// when the connection ended without a status line.
fn exchange(addr: SocketAddr, raw: &[u8]) -> Option<Answer> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    // The server may answer (413, 431) and close before reading everything.
    let _ = s.write_all(raw);
    read_answer(&mut s)
}

fn read_answer(s: &mut TcpStream) -> Option<Answer> {
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some(Answer {
        status,
        head,
        body: buf[split + 4..].to_vec(),
    })
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
        })
    }
}

fn healthy(addr: SocketAddr) -> bool {
    exchange(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .is_some_and(|a| a.status == 200)
}

/// A corpus file made ready to send: the token filled in, the framing headers it lacks added.
fn prepare(raw: &[u8], token: &str) -> Vec<u8> {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return raw.to_vec();
    };
    let head = String::from_utf8_lossy(&raw[..split]).replace("{TOKEN}", token);
    let body = &raw[split + 4..];
    let has = |name: &str| {
        head.lines().skip(1).any(|l| {
            l.split_once(':')
                .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        })
    };
    let mut out = head.clone();
    if !has("host") {
        out.push_str("\r\nHost: 127.0.0.1");
    }
    if !has("connection") {
        out.push_str("\r\nConnection: close");
    }
    if !has("content-length") && !has("transfer-encoding") {
        out.push_str(&format!("\r\nContent-Length: {}", body.len()));
    }
    out.push_str("\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

#[test]
fn the_hostile_corpus_is_refused_and_changes_nothing() {
    let server = demo_server(|_| {});
    let addr = addr(&server);
    let token = ServerInfo::read(server.data_dir()).unwrap().token;
    assert_eq!(
        server
            .request("MKCOL", "/public/hostile/", &[], None)
            .status,
        201
    );
    let put = server.request("PUT", "/public/hostile/item.txt", &[], Some(b"an item"));
    assert_eq!(put.status, 201);
    let before = dump(&server);
    let mut files: Vec<_> = std::fs::read_dir(data_dir("hostile"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 100, "only {} corpus files", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let expected: u16 = name
            .strip_suffix(".http")
            .and_then(|n| n.rsplit('.').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{name}: name it WHAT.STATUS.http"));
        let raw = prepare(&std::fs::read(path).unwrap(), &token);
        match exchange(addr, &raw) {
            None => failures.push(format!("{name}: the connection ended without an answer")),
            Some(a) => {
                let reason = String::from_utf8_lossy(&a.body);
                let reason = reason.lines().next().unwrap_or("").to_string();
                if a.status != expected {
                    failures.push(format!("{name}: got {} ({reason})", a.status));
                } else if a.status >= 500 {
                    failures.push(format!("{name}: a server error ({reason})"));
                } else if !name.starts_with("http-") && reason.trim().is_empty() {
                    // hyper answers framing errors itself, bodiless; ours carry a reason.
                    failures.push(format!("{name}: {} without a reason", a.status));
                }
            }
        }
        if !healthy(addr) {
            failures.push(format!("{name}: /healthz failed afterwards"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus requests misbehaved:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    assert_unchanged(&before, &server, "the hostile corpus");
}

/// The one write a refused request makes on purpose: a calendar refused for a user who has
/// one notes the refusal on the stored record (for `calendar list`), and nothing else.
/// The corpus sends its broken calendars to `bwright`, who has none, so nothing is noted.
#[test]
fn a_refused_calendar_only_notes_the_refusal() {
    use schedplus::store::{CalendarRecord, codec};
    let server = demo_server(|_| {});
    let before = dump(&server);
    let r = server.request(
        "PUT",
        "/calendars/dwinship.ics",
        &[],
        Some(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let after = dump(&server);
    let key = b"/o=first organization/ou=first administrative group/cn=recipients/cn=dwinship";
    assert_eq!(
        before.diff(&after),
        vec![format!(
            "calendars: changed {}",
            String::from_utf8_lossy(key)
        )]
    );
    let record = |d: &StoreDump| -> CalendarRecord {
        let v = &d.trees[b"calendars".as_slice()]
            .iter()
            .find(|(k, _)| k == key)
            .unwrap()
            .1;
        codec::decode(v).unwrap()
    };
    let (old, new) = (record(&before), record(&after));
    assert_eq!(old.text, new.text, "the accepted calendar is kept");
    assert!(old.refused.is_none() && new.refused.is_some());
}

#[test]
fn streamed_bodies_over_their_caps_get_413() {
    let server = demo_server(|opts| {
        opts.limits.max_put_body = 64 * 1024;
        opts.limits.max_calendar_bytes = 32 * 1024;
    });
    let addr = addr(&server);
    let before = dump(&server);
    // Chunked, so no Content-Length announces the size: the cap trips while reading.
    let chunked = |head: &str, total: usize| {
        let mut raw =
            format!("{head}\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n")
                .into_bytes();
        let chunk = vec![b'a'; 16 * 1024];
        for _ in 0..total / chunk.len() {
            raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            raw.extend_from_slice(&chunk);
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"0\r\n\r\n");
        raw
    };
    for (head, total) in [
        ("PROPFIND /public/ HTTP/1.1\r\nDepth: 0", 2 * 1024 * 1024),
        ("PUT /public/big.bin HTTP/1.1", 256 * 1024),
        ("PUT /calendars/bwright.ics HTTP/1.1", 128 * 1024),
    ] {
        let a = exchange(addr, &chunked(head, total)).expect("an answer");
        assert_eq!(
            a.status,
            413,
            "{head}: {}",
            String::from_utf8_lossy(&a.body)
        );
        assert!(String::from_utf8_lossy(&a.body).contains("limit"));
    }
    assert!(healthy(addr));
    assert_unchanged(&before, &server, "oversized bodies");
}

#[test]
fn oversized_request_heads_get_431() {
    let server = demo_server(|opts| {
        opts.limits.max_header_bytes = 16 * 1024;
        opts.limits.max_headers = 50;
    });
    let addr = addr(&server);
    let big = format!(
        "GET /public/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    assert_eq!(exchange(addr, big.as_bytes()).unwrap().status, 431);
    let many = format!(
        "GET /public/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{}\r\n",
        (0..60)
            .map(|i| format!("X-H{i}: v\r\n"))
            .collect::<String>()
    );
    assert_eq!(exchange(addr, many.as_bytes()).unwrap().status, 431);
    let long_uri = format!(
        "GET /public/?Cmd=freebusy&{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "u=a@b&".repeat(4000)
    );
    let a = exchange(addr, long_uri.as_bytes()).unwrap();
    assert!(matches!(a.status, 414 | 431), "{}", a.status);
    assert!(healthy(addr));
}

#[test]
fn a_header_trickle_is_cut_off_at_the_header_timeout() {
    let server = demo_server(|opts| opts.limits.header_timeout = Duration::from_secs(1));
    let addr = addr(&server);
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let started = Instant::now();
    let trickle = b"GET /public/ HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    let mut closed = false;
    // One byte every 100 ms, for at most 5 s: the server must give up after about 1 s.
    for b in trickle.iter().chain(std::iter::repeat(&b'a')).take(50) {
        if s.write_all(&[*b]).is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 256];
        match s.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    let took = started.elapsed();
    assert!(
        closed,
        "the server kept a trickling connection for {took:?}"
    );
    assert!(took < Duration::from_secs(4), "cut off only after {took:?}");
    // An idle connection that never sends anything is closed too.
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 16];
    assert!(matches!(idle.read(&mut buf), Ok(0) | Err(_)));
    assert!(healthy(addr));
}

#[test]
fn a_body_that_stops_arriving_gets_408() {
    let server = demo_server(|opts| opts.limits.body_timeout = Duration::from_secs(1));
    let addr = addr(&server);
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        b"PROPFIND /public/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nDepth: 0\r\nContent-Length: 200\r\n\r\n<?xml version",
    )
    .unwrap();
    let started = Instant::now();
    let a = read_answer(&mut s).expect("an answer");
    assert_eq!(a.status, 408, "{}", String::from_utf8_lossy(&a.body));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(healthy(addr));
}

#[test]
fn connections_over_the_cap_get_503_with_retry_after() {
    let server = demo_server(|opts| {
        opts.limits.max_connections = 2;
        opts.limits.header_timeout = Duration::from_secs(10);
    });
    let addr = addr(&server);
    let held: Vec<_> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    // The accept loop takes them in order; give it a moment to have taken both.
    std::thread::sleep(Duration::from_millis(200));
    let a = exchange(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .expect("an answer, not a silent close");
    assert_eq!(a.status, 503);
    assert!(a.header("retry-after").is_some(), "{}", a.head);
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !healthy(addr) {
        assert!(Instant::now() < deadline, "slots were not given back");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The refusal is counted (the recorder is shared by the tests of this process, so
    // the count is at least ours).
    let m = exchange(
        addr,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .expect("metrics answer");
    let text = String::from_utf8_lossy(&m.body);
    let refused: f64 = text
        .lines()
        .find(|l| l.starts_with("schedplus_connections_refused_total{how=\"answered_503\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no refused-connections counter in:\n{text}"));
    assert!(refused >= 1.0, "{refused}");
}

#[test]
fn a_request_over_the_request_timeout_gets_503() {
    // A body that stalls inside its own (longer) timeout keeps the request running; the
    // request timeout ends it.
    let server = demo_server(|opts| {
        opts.limits.request_timeout = Duration::from_secs(1);
        opts.limits.body_timeout = Duration::from_secs(30);
    });
    let addr = addr(&server);
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        b"PROPFIND /public/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nDepth: 0\r\nContent-Length: 200\r\n\r\n<?xml",
    )
    .unwrap();
    let a = read_answer(&mut s).expect("an answer");
    assert_eq!(a.status, 503, "{}", String::from_utf8_lossy(&a.body));
    assert!(a.header("retry-after").is_some(), "{}", a.head);
    assert!(String::from_utf8_lossy(&a.body).contains("took longer"));
    assert!(healthy(addr));
}

#[test]
fn shutdown_lets_an_in_flight_request_finish() {
    let mut server = demo_server(|_| {});
    let addr = addr(&server);
    let body = br#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#;
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "PROPFIND /public/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nDepth: 0\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let finisher = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        s.write_all(&body[10..]).unwrap();
        read_answer(&mut s)
    });
    // Shutdown waits for the request above, which completes after it began.
    server.shutdown();
    let a = finisher
        .join()
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(a.status, 207);
    assert!(TcpStream::connect(addr).is_err(), "still accepting");
}

/// The path resolver's fuzz property (no dot names; an href resolves back to the resource it
/// was written for) holds for every request path in the hostile corpus and for a few
/// spellings that resolve.
#[test]
fn dav_path_property_holds_for_the_corpus() {
    let mut paths: Vec<String> = [
        "",
        "NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=Org_xF8FF_ou=AG/USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=A.EML",
        "Non_IPM_Subtree/schedule+ free busy/EX:_xF8FF_o=Org_xF8FF_ou=AG/",
        "notes/a%20b/_x002F_c",
        "notes/x_x005F_xF8FF_y",
    ]
    .map(String::from)
    .to_vec();
    for e in std::fs::read_dir(data_dir("hostile")).unwrap() {
        let raw = std::fs::read(e.unwrap().path()).unwrap();
        let line = raw.split(|&b| b == b'\n').next().unwrap_or_default();
        if let Some(target) = line.split(|&b| b == b' ').nth(1) {
            let t = String::from_utf8_lossy(target);
            let t = t.trim_start_matches('/');
            let t = t
                .get(..6)
                .filter(|p| p.eq_ignore_ascii_case("public"))
                .map_or(t, |_| t[6..].trim_start_matches('/'));
            paths.push(t.to_string());
        }
    }
    assert!(paths.len() > 100, "the corpus was read");
    for p in &paths {
        fuzz_bodies::dav_path(p.as_bytes());
    }
}

/// Every input a fuzzer crashed on, replayed through the target that found it.
#[test]
fn fuzz_regressions_stay_fixed() {
    let root = data_dir("fuzz-regressions");
    let mut ran = 0;
    for (target, _) in fuzz_bodies::TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            fuzz_bodies::run(target, &std::fs::read(&path).unwrap());
            ran += 1;
        }
    }
    eprintln!("{ran} fuzz regression inputs replayed");
}

/// The pages a browser gets from schedplus itself carry a policy that runs no script, and
/// may not be framed or sniffed.
fn assert_page_guards(r: &crate::common::Reply, what: &str) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert!(
        !csp.contains("script-src"),
        "{what}: scripts allowed: {csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
}

#[test]
fn user_content_cannot_script_the_origin() {
    let server = demo_server(|_| {});
    assert_eq!(
        server.request("MKCOL", "/public/up/", &[], None).status,
        201
    );
    let cases: &[(&str, &str, &[u8], bool)] = &[
        (
            "page.html",
            "text/html",
            b"<script>fetch('/_schedplus/directory')</script>",
            true,
        ),
        ("page2.htm", "TEXT/HTML; charset=utf-8", b"<b>x</b>", true),
        (
            "pic.svg",
            "image/svg+xml",
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
            true,
        ),
        ("feed.xml", "application/xml", b"<a/>", true),
        ("page.xhtml", "application/xhtml+xml", b"<html/>", true),
        ("code.js", "text/javascript", b"alert(1)", true),
        ("notes.txt", "text/plain", b"just text", false),
        ("photo.png", "image/png", b"\x89PNG not really", false),
    ];
    for (name, ct, body, active) in cases {
        let url = format!("/public/up/{name}");
        let put = server.request("PUT", &url, &[("Content-Type", ct)], Some(body));
        assert_eq!(put.status, 201, "{name}: {}", put.text());
        for method in ["GET", "HEAD"] {
            let r = server.request(method, &url, &[("Accept", "text/html,*/*")], None);
            assert_eq!(r.status, 200, "{method} {name}");
            let csp = r.header("content-security-policy").unwrap_or("");
            assert!(
                csp.split(';').any(|d| d.trim() == "sandbox"),
                "{method} {name}: served without a sandbox: {csp:?}"
            );
            assert_eq!(
                r.header("x-content-type-options"),
                Some("nosniff"),
                "{name}"
            );
            let disposition = r.header("content-disposition").unwrap_or("");
            assert_eq!(
                disposition.starts_with("attachment"),
                *active,
                "{method} {name} ({ct}): Content-Disposition {disposition:?}"
            );
            if method == "GET" {
                assert_eq!(r.body, *body, "{name}: the body itself is unchanged");
            }
        }
    }
}

#[test]
fn schedplus_pages_run_no_script_and_cannot_be_framed() {
    let server = demo_server(|_| {});
    let html = [("Accept", "text/html")];
    let listing = server.request("GET", "/public/NON_IPM_SUBTREE/", &html, None);
    assert_eq!(listing.status, 200);
    assert!(
        listing
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert_page_guards(&listing, "a folder page");
    let missing = server.request("GET", "/public/no-such-thing", &html, None);
    assert_eq!(missing.status, 404);
    assert!(
        missing
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert_page_guards(&missing, "an error page");
    let q = server.get("/public/?Cmd=freebusy&start=2026-03-09T00:00:00Z&end=2026-03-10T00:00:00Z&u=danw@xcs.example");
    assert_eq!(q.status, 200);
    assert_page_guards(&q, "the freebusy answer");
}

#[test]
fn the_admin_api_takes_credentials_only_with_its_header() {
    use base64::Engine;
    let server = demo_server(|opts| opts.auth = schedplus::auth::AuthSettings::default());
    let admin = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("bwright:demo")
    );
    let is_admin = |alias: &str| {
        let u = server.store().resolve_user(alias).unwrap();
        server
            .store()
            .credential(&u.legacy_dn)
            .unwrap()
            .is_some_and(|c| c.admin)
    };
    assert!(!is_admin("kbaker"));
    let body = br#"{"user":"kbaker","admin":true}"#;
    // What a page can make a browser send with an admin's cached credentials: JSON, even
    // (same origin) with any header but ours, which would need a preflight.
    let r = server.request(
        "POST",
        "/_schedplus/directory/admin",
        &[
            ("Authorization", &admin),
            ("Content-Type", "application/json"),
        ],
        Some(body),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.header("x-schedplus-rule"), Some("admin-header"));
    assert!(r.text().contains("X-Schedplus-Admin: 1"), "{}", r.text());
    assert!(!is_admin("kbaker"), "promoted without the header");
    let r = server.request(
        "POST",
        "/_schedplus/directory/admin",
        &[
            ("Authorization", &admin),
            ("Content-Type", "application/json"),
            ("X-Schedplus-Admin", "1"),
        ],
        Some(body),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(is_admin("kbaker"));
    // The CLI (token from server.json) still works, through the server.
    let o = crate::common::run_cli(server.data_dir(), &["directory", "list"]);
    assert!(o.status.success(), "{}", crate::common::stderr(&o));
    assert!(crate::common::stdout(&o).contains("kbaker"));
}

/// An import by path makes the server read a file on its own machine: an admin signed in
/// over HTTP may not ask for that (they send the file's content); the token of
/// `server.json`, which only a user of that machine can read, may.
#[test]
fn an_import_by_path_needs_the_token_not_an_admins_credentials() {
    use base64::Engine;
    let server = demo_server(|opts| opts.auth = schedplus::auth::AuthSettings::default());
    let admin = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("bwright:demo")
    );
    let file = server.data_dir().join("server.json");
    let import_as_admin = |body: serde_json::Value| {
        server.request(
            "POST",
            "/_schedplus/directory/import",
            &[
                ("Authorization", &admin),
                ("Content-Type", "application/json"),
                ("X-Schedplus-Admin", "1"),
            ],
            Some(body.to_string().as_bytes()),
        )
    };
    let before = dump(&server);
    let r = import_as_admin(serde_json::json!({ "path": file, "source": "x" }));
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.header("x-schedplus-rule"), Some("admin-token-for-files"));
    assert!(r.text().contains("needs the token"), "{}", r.text());
    assert!(
        !r.text().contains("\"token\""),
        "the file's content leaked: {}",
        r.text()
    );
    assert_unchanged(&before, &server, "a refused import by path");
    // The same admin sending the content is served.
    let r = import_as_admin(serde_json::json!({
        "text": schedplus::app::demo::DIRECTORY_CSV,
        "source": "demo.csv",
        "format": "csv",
    }));
    assert_eq!(r.status, 200, "{}", r.text());
}
