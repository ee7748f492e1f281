//! The one line [`dispatch`](super::dispatch) logs per request ([`RequestLine`]), and the
//! rule that keeps it cheap under load ([`ReadLog`]).
//!
//! Every request is logged at INFO except successful reads beyond
//! [`READS_LOGGED_PER_SECOND`] in one second: those are logged at DEBUG (so
//! `RUST_LOG=schedplus::transport=debug` still shows every one) and counted, and the count
//! is logged at INFO once the second is over (at the next read, or when the server stops).
//! Errors, refusals and writes are always logged at INFO or ERROR. A written line costs
//! 1–2 µs of CPU, about 12,000 instructions of formatting and one `write` to stderr
//! (`benches/request_log.rs`), which at tens of thousands of `?Cmd=freebusy` answers a
//! second was 8% of each (issue 13); a held one costs an atomic add. A lab's CAS or a person
//! at a browser stays far below the limit and sees every line.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use warp::http::{Method, StatusCode};

/// Successful reads logged at INFO in any one second; the others go to DEBUG and are
/// counted.
pub const READS_LOGGED_PER_SECOND: u32 = 100;

/// What the log says about one answered request: at INFO, or at ERROR with the failure's
/// message for a 5xx.
pub struct RequestLine<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub status: StatusCode,
    /// From the request's head to its answer's head, in seconds.
    pub secs: f64,
    pub remote: Option<SocketAddr>,
    /// The signed-in user's alias, or `-`.
    pub user: &'a str,
    /// A 5xx's message (`-` when it has none); `None` for every other status.
    pub failure: Option<&'a str>,
}

// The target is spelt out so that `RUST_LOG=schedplus::transport=…` keeps selecting these
// lines, as it did when they were written from `transport/mod.rs`.
const TARGET: &str = "schedplus::transport";

impl RequestLine<'_> {
    /// A read (a method that changes nothing) that succeeded: the only kind of line
    /// [`ReadLog`] may move to DEBUG.
    pub fn is_successful_read(&self) -> bool {
        let read = matches!(
            self.method.as_str(),
            "GET" | "HEAD" | "OPTIONS" | "PROPFIND" | "SEARCH"
        );
        read && self.failure.is_none() && self.status.as_u16() < 400
    }

    /// Log the line: ERROR for a failure, INFO unless `reads` holds a successful read back
    /// to DEBUG.
    pub fn log(&self, reads: &ReadLog, now: Instant) {
        let RequestLine {
            method,
            path,
            status,
            secs,
            remote,
            user,
            failure,
        } = *self;
        // Tenths of a millisecond: `ms=9.4`, not `ms=9.404000000000001`.
        let ms = (secs * 10_000.0).round() / 10.0;
        let remote = RemoteAddr(remote);
        if let Some(message) = failure {
            tracing::error!(target: TARGET, %method, %path, status = status.as_u16(), ms, %remote, %user, message, "request failed");
            return;
        }
        if self.is_successful_read() {
            match reads.admit(reads.second(now)) {
                Admit::Log => {}
                Admit::LogAfter { held } => log_held(held),
                Admit::Hold => {
                    tracing::debug!(target: TARGET, %method, %path, status = status.as_u16(), ms, %remote, %user, "request");
                    return;
                }
            }
        }
        tracing::info!(target: TARGET, %method, %path, status = status.as_u16(), ms, %remote, %user, "request");
    }
}

fn log_held(held: u32) {
    tracing::info!(
        target: TARGET,
        held,
        limit = READS_LOGGED_PER_SECOND,
        "successful reads over the limit of a second were logged at DEBUG only"
    );
}

/// Counts successful reads per second, to log at most [`READS_LOGGED_PER_SECOND`] of them
/// at INFO. One atomic word (the second in the high half, the reads in it in the low half),
/// so a request pays one atomic add and never waits for another.
pub struct ReadLog {
    since: Instant,
    window: AtomicU64,
}

/// What [`ReadLog::admit`] decides for one successful read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Log it at INFO.
    Log,
    /// Log it at INFO, after a line saying that `held` reads of an earlier second were
    /// logged at DEBUG only.
    LogAfter { held: u32 },
    /// Over the limit: log it at DEBUG.
    Hold,
}

impl Default for ReadLog {
    fn default() -> Self {
        ReadLog::new()
    }
}

impl ReadLog {
    pub fn new() -> Self {
        ReadLog {
            since: Instant::now(),
            window: AtomicU64::new(0),
        }
    }

    /// The window `now` falls in: whole seconds since this log was made.
    pub fn second(&self, now: Instant) -> u32 {
        u32::try_from(now.saturating_duration_since(self.since).as_secs()).unwrap_or(u32::MAX)
    }

    /// Count one successful read in `second` and say how to log it. A read of a second
    /// already over (a slow request, a thread that lagged) counts in the current one, so the
    /// window only moves forward.
    pub fn admit(&self, second: u32) -> Admit {
        let mut current = self.window.load(Ordering::Relaxed);
        loop {
            let (window, count) = split(current);
            if window >= second {
                // Counted in whichever window is current by now (another read may have
                // opened the next one meanwhile); the count it saw there decides. Four
                // billion reads in one second would be needed to carry into the second half.
                let (_, count) = split(self.window.fetch_add(1, Ordering::Relaxed));
                return if count < READS_LOGGED_PER_SECOND {
                    Admit::Log
                } else {
                    Admit::Hold
                };
            }
            // The first read of a new second opens its window and reports the last one's.
            match self.window.compare_exchange_weak(
                current,
                join(second, 1),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    let held = count.saturating_sub(READS_LOGGED_PER_SECOND);
                    return if held > 0 {
                        Admit::LogAfter { held }
                    } else {
                        Admit::Log
                    };
                }
                Err(now) => current = now,
            }
        }
    }

    /// Log the reads of the current second held back so far (when the server stops, so that
    /// the count of the last busy second is not lost). They are not counted again. Returns
    /// how many there were.
    pub fn flush(&self) -> u32 {
        let limit = READS_LOGGED_PER_SECOND;
        let old = self
            .window
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
                let (window, count) = split(w);
                Some(join(window, count.min(limit)))
            })
            .unwrap_or_else(|w| w);
        let held = split(old).1.saturating_sub(limit);
        if held > 0 {
            log_held(held);
        }
        held
    }
}

fn split(w: u64) -> (u32, u32) {
    ((w >> 32) as u32, w as u32)
}

fn join(second: u32, count: u32) -> u64 {
    (u64::from(second) << 32) | u64::from(count)
}

/// A client's address in a log line: `127.0.0.1:50412`, or `-` when unknown (in-process
/// tests), never `Some(…)`.
pub(super) struct RemoteAddr(pub(super) Option<SocketAddr>);

impl std::fmt::Display for RemoteAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(a) => write!(f, "{a}"),
            None => f.write_str("-"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: u32 = READS_LOGGED_PER_SECOND;

    #[test]
    fn past_the_limit_of_a_second_reads_are_held_and_counted_in_the_next() {
        let log = ReadLog::new();
        for _ in 0..LIMIT {
            assert_eq!(log.admit(0), Admit::Log);
        }
        for _ in 0..7 {
            assert_eq!(log.admit(0), Admit::Hold);
        }
        assert_eq!(log.admit(1), Admit::LogAfter { held: 7 });
        // The new second starts with a whole allowance, and a quiet second reports nothing.
        for _ in 1..LIMIT {
            assert_eq!(log.admit(1), Admit::Log);
        }
        assert_eq!(log.admit(5), Admit::Log);
    }

    #[test]
    fn flush_reports_the_reads_held_in_the_current_second_once() {
        let log = ReadLog::new();
        for _ in 0..LIMIT + 3 {
            log.admit(2);
        }
        let (_, count) = split(log.window.load(Ordering::Relaxed));
        assert_eq!(count, LIMIT + 3);
        log.flush();
        // Flushed: those three are not reported again; the second's allowance stays used.
        assert_eq!(log.admit(2), Admit::Hold);
        assert_eq!(log.admit(3), Admit::LogAfter { held: 1 });
    }

    #[test]
    fn a_read_of_a_second_already_over_counts_in_the_current_one() {
        let log = ReadLog::new();
        for _ in 0..LIMIT {
            assert_eq!(log.admit(4), Admit::Log);
        }
        // A slow request that started in second 3 neither reopens it nor resets second 4.
        assert_eq!(log.admit(3), Admit::Hold);
        assert_eq!(log.admit(4), Admit::Hold);
        assert_eq!(log.admit(5), Admit::LogAfter { held: 2 });
    }

    #[test]
    fn only_successful_reads_may_be_held() {
        let line = |method: Method, status: u16, failure: Option<&'static str>| RequestLine {
            method: Box::leak(Box::new(method)),
            path: "/public/",
            status: StatusCode::from_u16(status).unwrap(),
            secs: 0.0,
            remote: None,
            user: "-",
            failure,
        };
        let propfind = Method::from_bytes(b"PROPFIND").unwrap();
        assert!(line(Method::GET, 200, None).is_successful_read());
        assert!(line(Method::HEAD, 304, None).is_successful_read());
        assert!(line(propfind.clone(), 207, None).is_successful_read());
        // Refusals, errors and writes are always logged.
        assert!(!line(Method::GET, 401, None).is_successful_read());
        assert!(!line(Method::GET, 404, None).is_successful_read());
        assert!(!line(propfind, 503, Some("busy")).is_successful_read());
        assert!(!line(Method::PUT, 201, None).is_successful_read());
        assert!(!line(Method::POST, 200, None).is_successful_read());
        assert!(!line(Method::from_bytes(b"PROPPATCH").unwrap(), 207, None).is_successful_read());
    }

    /// Threads racing across second boundaries: every read is logged at INFO or counted in
    /// a `held` line, never both, never neither.
    #[test]
    fn racing_reads_are_each_logged_or_counted_exactly_once() {
        let log = ReadLog::new();
        let (logged, holds, reported) = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let (mut logged, mut holds, mut reported) = (0u32, 0u32, 0u32);
                        for i in 0..5_000u32 {
                            match log.admit(i / 1_000) {
                                Admit::Log => logged += 1,
                                Admit::LogAfter { held } => {
                                    logged += 1;
                                    reported += held;
                                }
                                Admit::Hold => holds += 1,
                            }
                        }
                        (logged, holds, reported)
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap())
                .fold((0, 0, 0), |(a, b, c), (x, y, z)| (a + x, b + y, c + z))
        });
        let reported = reported + log.flush();
        assert_eq!(logged + holds, 20_000);
        assert!(holds > 0);
        assert_eq!(reported, holds);
    }
}
