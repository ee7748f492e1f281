//! The per-request log line under load (issue 13): successful reads past the limit of a
//! second go to DEBUG and are counted; refusals, errors and writes are always logged.

use std::io::{Read, Write};
use std::net::TcpStream;

use schedplus::transport::READS_LOGGED_PER_SECOND;

use crate::common::ServeProcess;

/// `n` requests for each path in `paths`, pipelined on one connection, the last closing it.
/// Returns the answers' status lines.
fn pipelined(base: &str, paths: &[(&str, usize)]) -> Vec<String> {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    let mut out = String::new();
    let total: usize = paths.iter().map(|(_, n)| n).sum();
    let mut i = 0;
    for (path, n) in paths {
        for _ in 0..*n {
            i += 1;
            let close = if i == total {
                "Connection: close\r\n"
            } else {
                ""
            };
            out.push_str(&format!("GET {path} HTTP/1.1\r\nHost: x\r\n{close}\r\n"));
        }
    }
    s.write_all(out.as_bytes()).unwrap();
    let mut answers = Vec::new();
    s.read_to_end(&mut answers).unwrap();
    String::from_utf8_lossy(&answers)
        .lines()
        .filter(|l| l.starts_with("HTTP/1.1 "))
        .map(str::to_string)
        .collect()
}

fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split(&format!(" {name}="))
        .nth(1)
        .and_then(|r| r.split(' ').next())
}

#[test]
fn a_burst_of_reads_is_logged_up_to_the_limit_and_counted_past_it() {
    let data = tempfile::tempdir().unwrap();
    let mut server = ServeProcess::spawn(
        data.path(),
        &["--data", data.path().to_str().unwrap()],
        &["--listen", "127.0.0.1:0"],
        &[],
    );
    // Ten seconds' worth of the limit in one burst: unless each /healthz took over 10 ms
    // (it takes well under one), the burst cannot spread thinly enough for every read to
    // fit. The sum below holds however it spreads.
    let reads = 10 * READS_LOGGED_PER_SECOND as usize;
    let refusals = 50;
    let answers = pipelined(
        &server.base,
        &[("/healthz", reads), ("/no-such-thing", refusals)],
    );
    assert_eq!(answers.len(), reads + refusals);
    crate::common::sigterm(server.child.id());
    assert!(server.child.wait().unwrap().success());
    let log = std::fs::read_to_string(&server.log).unwrap();
    let logged = log
        .lines()
        .filter(|l| l.contains(" INFO ") && l.contains(" request ") && l.contains("path=/healthz"))
        .count();
    let held: usize = log
        .lines()
        .filter(|l| l.contains("logged at DEBUG only"))
        .map(|l| field(l, "held").unwrap().parse::<usize>().unwrap())
        .sum();
    // Every read is either logged or counted, and not all of them were logged.
    assert_eq!(logged + held, reads, "{log}");
    assert!(
        held > 0 && logged < reads,
        "logged {logged}, held {held}:\n{log}"
    );
    // Refusals are never held back.
    let refused = log
        .lines()
        .filter(|l| {
            l.contains(" request ") && l.contains("path=/no-such-thing") && l.contains("status=404")
        })
        .count();
    assert_eq!(refused, refusals, "{log}");
}
