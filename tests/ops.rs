//! Operations (issue 17.7, 17.8): `/metrics` follows the Prometheus conventions (process
//! families, a build-info gauge, requests by method and code, a stable order), and the
//! server fits systemd (`Type=notify` readiness, `ExecReload`, `--pid-file`). Every server
//! here is the real binary in its own process: the metrics recorder, the environment
//! (`NOTIFY_SOCKET`) and signals are per process.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::{ServeProcess, bin, http, require_tool};

fn serve(data: &Path, serve_args: &[&str], env: &[(&str, &str)]) -> ServeProcess {
    let mut args = vec!["--listen", "127.0.0.1:0"];
    args.extend_from_slice(serve_args);
    ServeProcess::spawn(data, &["--data", data.to_str().unwrap()], &args, env)
}

fn scrape(base: &str) -> String {
    let r = http(base, "GET", "/metrics", &[], None);
    assert_eq!(r.status, 200);
    r.text()
}

/// The value of the sample line `key value` (key with its labels as rendered).
fn sample(text: &str, key: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.rsplit_once(' ').filter(|(k, _)| *k == key))
        .map(|(_, v)| v.parse().unwrap())
}

/// The sample with this name whose labels include every `name="value"` given.
fn labelled(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|l| l.rsplit_once(' ').unwrap().1.parse().unwrap())
}

fn family_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect()
}

fn sample_keys(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.rsplit_once(' ').unwrap().0.to_string())
        .collect()
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn process_families_describe_the_server_process() {
    let data = tempfile::tempdir().unwrap();
    let before = unix_now();
    let server = serve(data.path(), &[], &[]);
    let text = scrape(&server.base);
    let after = unix_now();
    for (name, kind) in [
        ("process_cpu_seconds_total", "counter"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_virtual_memory_bytes", "gauge"),
        ("process_open_fds", "gauge"),
        ("process_max_fds", "gauge"),
        ("process_start_time_seconds", "gauge"),
    ] {
        assert!(
            text.contains(&format!("\n# TYPE {name} {kind}\n")),
            "no {kind} {name}:\n{text}"
        );
    }
    let cpu = sample(&text, "process_cpu_seconds_total").unwrap();
    assert!(cpu >= 0.0 && cpu < after - before + 60.0, "cpu {cpu}");
    let rss = sample(&text, "process_resident_memory_bytes").unwrap();
    let vsz = sample(&text, "process_virtual_memory_bytes").unwrap();
    assert!(
        rss > 1024.0 * 1024.0 && rss <= vsz,
        "rss {rss}, virtual {vsz}"
    );
    // The child's own figures, read the way `ps` would.
    let pid = server.child.id();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count() as f64;
    let open = sample(&text, "process_open_fds").unwrap();
    assert!(
        open >= 3.0 && (open - fds).abs() <= 8.0,
        "open {open}, /proc says {fds}"
    );
    let max = sample(&text, "process_max_fds").unwrap();
    assert!(max >= open, "max {max} < open {open}");
    let start = sample(&text, "process_start_time_seconds").unwrap();
    // Clock ticks (1/100 s) and the boot time (whole seconds) round it.
    assert!(
        start >= before.floor() - 2.0 && start <= after + 2.0,
        "started at {start}, spawned between {before} and {after}"
    );
}

#[test]
fn build_info_names_the_version_and_revision_of_this_build() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), &[], &[]);
    let text = scrape(&server.base);
    assert!(
        text.contains("\n# TYPE schedplus_build_info gauge\n"),
        "{text}"
    );
    // `--version` prints "schedplus 0.1.0 (git 0123456789ab)".
    let out = Command::new(bin()).arg("--version").output().unwrap();
    let version = String::from_utf8(out.stdout).unwrap();
    let revision = version
        .split("(git ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .expect("--version names a revision");
    assert_eq!(
        labelled(
            &text,
            "schedplus_build_info",
            &[
                ("version", env!("CARGO_PKG_VERSION")),
                ("revision", revision)
            ]
        ),
        Some(1.0),
        "{text}"
    );
}

#[test]
fn requests_are_counted_by_method_and_status_code() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), &["--demo"], &[]);
    let base = &server.base;
    let before = scrape(base);
    let count = |text: &str, method: &str, code: &str| {
        labelled(
            text,
            "schedplus_requests_total",
            &[("method", method), ("code", code)],
        )
        .unwrap_or(0.0)
    };
    for _ in 0..3 {
        assert_eq!(http(base, "GET", "/no/such/thing", &[], None).status, 404);
    }
    for _ in 0..2 {
        assert_eq!(http(base, "GET", "/healthz", &[], None).status, 200);
    }
    assert_eq!(http(base, "HEAD", "/healthz", &[], None).status, 200);
    let after = scrape(base);
    assert!(
        after.contains("\n# TYPE schedplus_requests_total counter\n"),
        "{after}"
    );
    assert_eq!(
        count(&after, "GET", "404") - count(&before, "GET", "404"),
        3.0
    );
    // Two /healthz and the first scrape.
    assert_eq!(
        count(&after, "GET", "200") - count(&before, "GET", "200"),
        3.0
    );
    assert_eq!(
        count(&after, "HEAD", "200") - count(&before, "HEAD", "200"),
        1.0
    );
}

/// Issue 17: an address that names nobody is counted every time and logged once.
#[test]
fn an_unknown_query_user_is_counted_each_time_and_logged_once() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), &["--demo"], &[]);
    let base = &server.base;
    let unknown =
        |text: &str| sample(text, "schedplus_freebusy_unknown_users_total").unwrap_or(0.0);
    let before = unknown(&scrape(base));
    let q = "/public/?Cmd=freebusy&start=2026-11-23T00:00:00Z&end=2026-11-24T00:00:00Z&interval=60&u=SMTP:nobody@nowhere.example&u=SMTP:danw@xcs.example";
    for _ in 0..3 {
        let r = http(base, "GET", q, &[], None);
        assert_eq!(r.status, 200);
        assert!(r.text().contains(&"4".repeat(24)), "{}", r.text());
    }
    assert_eq!(unknown(&scrape(base)) - before, 3.0);
    let log = std::fs::read_to_string(&server.log).unwrap();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("nobody@nowhere.example") && l.contains("nobody in the directory"))
        .collect();
    assert_eq!(lines.len(), 1, "logged once: {log}");
    assert!(!log.contains("danw@xcs.example, who is nobody"), "{log}");
}

#[test]
fn metric_families_come_in_one_order_at_every_scrape() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), &["--demo"], &[]);
    let base = &server.base;
    // Label sets in several families: methods, codes, rejections.
    for path in ["/healthz", "/nope", "/public/", "/metrics"] {
        http(base, "GET", path, &[], None);
        http(base, "HEAD", path, &[], None);
    }
    let first = scrape(base);
    let second = scrape(base);
    let names = family_names(&first);
    assert!(names.len() > 10, "{first}");
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(names, sorted, "families not sorted by name, or repeated");
    assert_eq!(family_names(&second), names);
    // Within families too: the samples of the first scrape come in the same order in the
    // second (which may add a few, e.g. the first scrape's own count).
    let keys = sample_keys(&first);
    let again: Vec<String> = sample_keys(&second)
        .into_iter()
        .filter(|k| keys.contains(k))
        .collect();
    assert_eq!(again, keys);
    let requests: Vec<&String> = keys
        .iter()
        .filter(|k| k.starts_with("schedplus_requests_total{"))
        .collect();
    assert!(requests.len() >= 4, "{requests:?}");
    assert!(requests.is_sorted(), "{requests:?}");
}

/// Wait (up to a minute, a bound rather than a timing) for one datagram.
fn receive(sock: &UnixDatagram) -> String {
    sock.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).expect("a notification within a minute");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn terminate(server: &mut ServeProcess) -> std::process::ExitStatus {
    let pid = server.child.id() as libc::pid_t;
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    server.child.wait().unwrap()
}

#[test]
fn readiness_is_sent_to_notify_socket_once_the_listener_is_bound() {
    let data = tempfile::tempdir().unwrap();
    let path = data.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    let mut server = serve(
        &data.path().join("data"),
        &[],
        &[("NOTIFY_SOCKET", path.to_str().unwrap())],
    );
    assert_eq!(receive(&sock), "READY=1");
    assert_eq!(http(&server.base, "GET", "/healthz", &[], None).status, 200);
    assert!(terminate(&mut server).success());
    assert_eq!(receive(&sock), "STOPPING=1");
}

#[test]
fn readiness_reaches_an_abstract_notify_socket() {
    use std::os::linux::net::SocketAddrExt;
    let data = tempfile::tempdir().unwrap();
    let name = format!("schedplus-test-{}-{}", std::process::id(), unix_now());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let sock = UnixDatagram::bind_addr(&addr).unwrap();
    let server = serve(data.path(), &[], &[("NOTIFY_SOCKET", &format!("@{name}"))]);
    assert_eq!(receive(&sock), "READY=1");
    assert_eq!(http(&server.base, "GET", "/healthz", &[], None).status, 200);
}

#[test]
fn the_pid_file_names_the_server_while_it_runs_and_goes_at_a_clean_stop() {
    let data = tempfile::tempdir().unwrap();
    let pid_file = data.path().join("schedplus.pid");
    let mut server = serve(
        &data.path().join("data"),
        &["--pid-file", pid_file.to_str().unwrap()],
        &[],
    );
    // server.json is written after the pid file: it is there by now.
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap(),
        format!("{}\n", server.child.id())
    );
    assert!(terminate(&mut server).success());
    assert!(!pid_file.exists(), "the pid file outlived the server");
    assert!(!data.path().join("data/server.json").exists());
}

#[test]
fn an_unwritable_pid_file_is_named_and_nothing_is_left_behind() {
    let data = tempfile::tempdir().unwrap();
    let pid_file = data.path().join("no/such/dir/schedplus.pid");
    let out = Command::new(bin())
        .arg("--data")
        .arg(data.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--pid-file"])
        .arg(&pid_file)
        .env_remove("SCHEDPLUS_PID_FILE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(pid_file.to_str().unwrap()), "{err}");
    assert!(!data.path().join("server.json").exists());
}

/// The unit as shipped, with ExecStart pointing at the binary under test (verify checks
/// that the program exists), passes `systemd-analyze verify`, and maps readiness and
/// reload to what the server does.
#[test]
fn the_systemd_unit_verifies_as_a_notify_service_with_reload() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schedplus.service"),
    )
    .unwrap();
    assert!(unit.contains("\nType=notify\n"), "{unit}");
    assert!(
        unit.contains("\nExecReload=/bin/kill -HUP $MAINPID\n"),
        "{unit}"
    );
    // Debian's `systemd` package (.ci/run must install it: apt-get install -y systemd).
    if !require_tool("systemd-analyze") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schedplus.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/schedplus", bin().to_str().unwrap()),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "systemd-analyze verify: {said}");
    assert!(
        !said.contains("schedplus.service:"),
        "systemd-analyze verify warns about the unit: {said}"
    );
}
