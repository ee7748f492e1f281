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
