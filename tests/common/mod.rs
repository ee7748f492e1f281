//! The test harness: a real server on an ephemeral loopback port, an HTTP client, and the
//! `schedplus` binary.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use schedplus::app::ops::{Ctx, FbSetRequest, ImportRequest, Operation};
use schedplus::protocol::time::parse_time;
use schedplus::server::{ServeOptions, Server};

/// A running server and the runtime that drives it, in its own data directory.
pub struct TestServer {
    pub server: Option<Server>,
    pub runtime: tokio::runtime::Runtime,
    /// Taken by `stop`, which hands the data directory back.
    dir: Option<tempfile::TempDir>,
    pub base: String,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(|_| {})
    }

    /// Start with options adjusted by `f` (data dir and listen address are set here).
    pub fn start_with(f: impl FnOnce(&mut ServeOptions)) -> TestServer {
        Self::start_in(tempfile::tempdir().unwrap(), f)
    }

    /// Start in an existing data directory (one that `stop` handed back, say).
    pub fn start_in(dir: tempfile::TempDir, f: impl FnOnce(&mut ServeOptions)) -> TestServer {
        Self::launch(dir, None, f)
    }

    /// Start on a runtime with only `threads` store (blocking) threads.
    pub fn start_with_store_threads(
        threads: usize,
        f: impl FnOnce(&mut ServeOptions),
    ) -> TestServer {
        Self::launch(tempfile::tempdir().unwrap(), Some(threads), f)
    }

    fn launch(
        dir: tempfile::TempDir,
        store_threads: Option<usize>,
        f: impl FnOnce(&mut ServeOptions),
    ) -> TestServer {
        let mut opts = ServeOptions::new(dir.path(), "127.0.0.1:0".parse().unwrap());
        // Most tests are about the protocol, not who may use it: they run with
        // `--auth none` and set `opts.auth` themselves when they test the rules.
        opts.auth = schedplus::auth::AuthSettings::open();
        f(&mut opts);
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2).enable_all();
        if let Some(n) = store_threads {
            builder.max_blocking_threads(n);
        }
        let runtime = builder.build().unwrap();
        let server = runtime
            .block_on(Server::start(opts))
            .expect("server starts");
        let base = format!("http://{}", server.addr);
        TestServer {
            server: Some(server),
            runtime,
            dir: Some(dir),
            base,
        }
    }

    /// Shut the server down and hand its data directory back (to start again in it).
    pub fn stop(mut self) -> tempfile::TempDir {
        self.shutdown();
        self.dir.take().expect("stopped once")
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.as_ref().expect("running").addr
    }

    /// The absolute URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.as_ref().expect("running").path()
    }

    pub fn store(&self) -> &schedplus::store::Store {
        self.server.as_ref().unwrap().state.store()
    }

    pub fn get(&self, path_and_query: &str) -> Reply {
        self.request("GET", path_and_query, &[], None)
    }

    pub fn request(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        http(&self.base, method, path_and_query, headers, body)
    }

    /// The token of this server's `server.json`: the admin API's key on its own machine.
    pub fn admin_token(&self) -> String {
        schedplus::server::ServerInfo::read(self.data_dir())
            .expect("the server announced itself")
            .token
    }

    /// `method` on the admin API's `route` (under `/_schedplus`) with `token` and a JSON
    /// `body`.
    pub fn admin_call(&self, method: &str, route: &str, token: &str, body: &str) -> Reply {
        self.request(
            method,
            &format!("/_schedplus{route}"),
            &[
                ("X-Schedplus-Token", token),
                ("Content-Type", "application/json"),
            ],
            Some(body.as_bytes()),
        )
    }

    /// A request with this `Authorization` header (see `basic`) and no other.
    pub fn request_as(
        &self,
        authorization: &str,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Reply {
        self.request(method, path, &[("Authorization", authorization)], body)
    }

    /// A `PROPPATCH` with `Brief: t` (a bare 200 on success, as publishers send it), signed
    /// in with this `Authorization` header if one is given.
    pub fn proppatch_as(&self, url: &str, authorization: Option<&str>, body: &[u8]) -> Reply {
        let mut headers = vec![("Brief", "t")];
        if let Some(a) = authorization {
            headers.push(("Authorization", a));
        }
        self.request("PROPPATCH", url, &headers, Some(body))
    }

    /// One request written byte for byte on a fresh TCP connection (`Connection: close`,
    /// `Content-Length` always sent), so every method and header goes out exactly as
    /// written; the answer parsed by hand (header names in lower case, chunks joined).
    pub fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let addr = self.addr();
        let mut s = TcpStream::connect(addr).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        // A server may answer (413) and close before reading the whole body.
        let _ = s.write_all(body);
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        Reply::parse(&raw, method == "HEAD")
    }

    /// Import the demo directory file and publish by hand, bypassing HTTP.
    /// A server whose directory is the demo's.
    pub fn with_demo_directory() -> TestServer {
        let srv = TestServer::start();
        srv.import_demo_directory();
        srv
    }

    pub fn import_demo_directory(&self) {
        ImportRequest {
            text: schedplus::app::demo::DIRECTORY_CSV.to_string(),
            source: "demo".into(),
            ..Default::default()
        }
        .run(&Ctx::new(self.store()))
        .unwrap();
    }

    pub fn fb_set(&self, user: &str, now: &str, busy: &[&str], tentative: &[&str], oof: &[&str]) {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect();
        FbSetRequest {
            user: user.into(),
            busy: s(busy),
            tentative: s(tentative),
            oof: s(oof),
            now: Some(now.into()),
            ..Default::default()
        }
        .run(&Ctx::new(self.store()))
        .unwrap();
    }

    pub fn shutdown(&mut self) {
        if let Some(s) = self.server.take() {
            self.runtime.block_on(s.shutdown());
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body, which must be UTF-8.
    pub fn utf8(&self) -> String {
        String::from_utf8(self.body.clone()).expect("a UTF-8 body")
    }

    /// A raw HTTP/1.1 answer: status line, headers (names lower-cased), and the body
    /// (de-chunked; none for a HEAD).
    pub fn parse(raw: &[u8], head_only: bool) -> Reply {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete response head");
        let head = std::str::from_utf8(&raw[..split]).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let rest = &raw[split + 4..];
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
        let body = if head_only {
            Vec::new()
        } else if chunked {
            dechunk(rest)
        } else {
            rest.to_vec()
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An `Authorization: Basic` value for `user:password`.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {b64}")
}

/// The body of a `Transfer-Encoding: chunked` answer.
pub fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16)
            .expect("hex chunk size");
        b = &b[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// One HTTP request with a fresh connection (ureq; no status is an error).
pub fn http(
    base: &str,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path_and_query}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let result = match body {
        Some(b) => agent.run(req.body(b.to_vec()).unwrap()),
        None => agent.run(req.body(()).unwrap()),
    };
    let mut resp = result.expect("the server answers");
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap_or_default();
    Reply {
        status,
        headers,
        body,
    }
}

/// The `schedplus` binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_schedplus"))
}

/// Run the binary with `--data dir` and arguments; never inherits SCHEDPLUS_* settings.
pub fn run_cli(data: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("SCHEDPLUS_DATA")
        .env_remove("SCHEDPLUS_NOW")
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

/// Wait, polling every `every`, until `done`; after 30 s fail with `what()`.
pub fn wait_until(every: Duration, what: impl Fn() -> String, mut done: impl FnMut() -> bool) {
    let t = std::time::Instant::now();
    while !done() {
        assert!(t.elapsed() < Duration::from_secs(30), "{}", what());
        std::thread::sleep(every);
    }
}

/// Send SIGTERM to the process `pid`, as a service manager stops it.
pub fn sigterm(pid: u32) {
    let pid = libc::pid_t::try_from(pid).expect("a process id fits pid_t");
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(
        sent,
        0,
        "kill -TERM {pid}: {}",
        std::io::Error::last_os_error()
    );
}

/// Run `cmd` with `input` on its standard input; what it wrote is in the output.
pub fn run_with_input(cmd: &mut Command, input: &str) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Run `cmd`, which must succeed (else its stderr is the failure), and give its stdout.
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Assert that `o`'s stderr says `text`.
pub fn stderr_says(o: &Output, text: &str) {
    assert!(stderr(o).contains(text), "{}", stderr(o));
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `<a:fbdata>` values of an answer, in order.
pub fn fbdata(xml: &str) -> Vec<String> {
    xml.split("<a:fbdata>")
        .skip(1)
        .map(|s| s.split("</a:fbdata>").next().unwrap().to_string())
        .collect()
}

pub fn ts(s: &str) -> jiff::Timestamp {
    parse_time(s).unwrap()
}

/// `schedplus serve` as its own process (for what must not share this test process: the
/// global metrics recorder, signals, environment-driven settings). Killed when dropped.
pub struct ServeProcess {
    pub child: std::process::Child,
    pub base: String,
    /// Where its stderr (the log) goes: a file of its own, outside the data directory (which
    /// some tests put on a small filesystem).
    pub log: PathBuf,
    _log_dir: tempfile::TempDir,
}

impl ServeProcess {
    /// `serve --demo` on a free port with `extra` serve arguments and `env`, in a data
    /// directory of its own (returned, to outlive the server).
    pub fn demo(extra: &[&str], env: &[(&str, &str)]) -> (tempfile::TempDir, ServeProcess) {
        let data = tempfile::tempdir().unwrap();
        let serve_args = [&["--demo", "--listen", "127.0.0.1:0"][..], extra].concat();
        let server = ServeProcess::spawn(
            data.path(),
            &["--data", data.path().to_str().unwrap()],
            &serve_args,
            env,
        );
        (data, server)
    }

    /// Start `schedplus ARGS… serve SERVE_ARGS…` with `env` (and no inherited
    /// `SCHEDPLUS_*`), and wait until it announces itself in `data/server.json`.
    pub fn spawn(
        data: &Path,
        args: &[&str],
        serve_args: &[&str],
        env: &[(&str, &str)],
    ) -> ServeProcess {
        let mut c = Command::new(bin());
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SCHEDPLUS_")) {
            c.env_remove(k);
        }
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("serve.log");
        let child = c
            .args(args)
            .arg("serve")
            .args(serve_args)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("schedplus starts");
        let mut p = ServeProcess {
            child,
            base: String::new(),
            log,
            _log_dir: log_dir,
        };
        let info = data.join("server.json");
        let t = std::time::Instant::now();
        while !info.exists() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "the server never announced itself"
            );
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!("schedplus serve exited early: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
        p.base = format!("http://{}", v["addr"].as_str().unwrap());
        p
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Is `name` on PATH?
pub fn tool_present(name: &str) -> bool {
    Command::new("bash")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Is this a CI run (`CI` set, and not empty, `false` or `0`)?
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// May a test that needs `what` go on? Yes if it is there; outside CI a missing one skips
/// the test with a visible `SKIPPED:` line; under CI it fails the test, so that a CI run
/// never passes because a tool is missing (`.ci/run` installs every one).
pub fn tool_verdict(what: &str, present: bool, in_ci: bool) -> bool {
    if present {
        return true;
    }
    assert!(
        !in_ci,
        "{what} is not available, and a CI run needs it (.ci/run installs it)"
    );
    eprintln!("SKIPPED: {what} is not available here (under CI=true this test fails)");
    false
}

/// The rule of `tool_verdict` for a program on PATH (cadaver, rclone, script, …). Use as
/// `if !require_tool("cadaver") { return; }`.
pub fn require_tool(name: &str) -> bool {
    tool_verdict(name, tool_present(name), in_ci())
}

#[test]
fn a_present_tool_is_used_inside_and_outside_ci() {
    assert!(tool_verdict("sh", true, true));
    assert!(tool_verdict("sh", true, false));
}

#[test]
fn a_missing_tool_skips_outside_ci() {
    assert!(!tool_verdict("no-such-tool", false, false));
}

#[test]
#[should_panic(expected = "no-such-tool is not available, and a CI run needs it")]
fn a_missing_tool_fails_under_ci() {
    tool_verdict("no-such-tool", false, true);
}

/// A request body recorded from a real client, from `tests/data/dav/`.
pub fn dav_fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/dav")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The URL of the free/busy message of the user with legacyExchangeDN `dn`.
pub fn message_url(dn: &str) -> String {
    use schedplus::protocol::legacy_dn::LegacyDn;
    let dn = LegacyDn::parse(dn).unwrap();
    schedplus::transport::webdav::path::fb_item_href(
        &dn.admin_group(),
        &schedplus::store::canonical_leaf(&dn.subject()),
    )
}
