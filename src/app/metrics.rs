//! Metrics: counters and histograms in the spirit of the Exchange Availability service's
//! performance counters, rendered as Prometheus text by the server's own `/metrics` route.
//!
//! Owns the metric names (one `const` each, so a name is spelled once), their help texts,
//! the one-time installation of the process-wide recorder, and small functions the rest of
//! the code calls at the moment something happens. The recorder is global (the `metrics`
//! crate's design): several servers in one process, as in the tests, share it.
//!
//! A scrape also carries the process's own `process_*` families (read from `/proc/self`) and
//! `schedplus_build_info`, and comes in one order (families by name), as Prometheus's
//! conventions ask.

use std::sync::OnceLock;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const FREEBUSY_QUERIES: &str = "schedplus_freebusy_queries_total";
pub const FREEBUSY_USERS: &str = "schedplus_freebusy_users_queried_total";
pub const FREEBUSY_NO_DATA: &str = "schedplus_freebusy_users_no_data_total";
pub const REJECTED: &str = "schedplus_requests_rejected_total";
pub const REQUEST_SECONDS: &str = "schedplus_request_duration_seconds";
pub const WRITES: &str = "schedplus_writes_total";
pub const PUBLISHES: &str = "schedplus_publishes_total";
pub const PUBLISH_FAILURES: &str = "schedplus_publish_failures_total";
pub const PUBLISH_LAG: &str = "schedplus_publish_lag_seconds";
pub const POLLER_QUEUE: &str = "schedplus_poller_queue_depth";
pub const STORE_MESSAGES: &str = "schedplus_store_messages";
pub const STORE_USERS: &str = "schedplus_store_users";
pub const STORE_BYTES: &str = "schedplus_store_size_bytes";
pub const STORE_PAGES: &str = "schedplus_store_pages";
pub const SIGN_IN_FAILURES: &str = "schedplus_sign_in_failures_total";
pub const ANSWER_BYTES_HELD: &str = "schedplus_answer_bytes_held";
pub const SEND_TIMEOUTS: &str = "schedplus_send_timeouts_total";
pub const SLOW_HEADS_CLOSED: &str = "schedplus_slow_heads_closed_total";
pub const CONNECTIONS_REFUSED: &str = "schedplus_connections_refused_total";
pub const UNKNOWN_OWNER: &str = "schedplus_freebusy_unknown_owner_writes_total";
pub const UNKNOWN_QUERY_USERS: &str = "schedplus_freebusy_unknown_users_total";
pub const REQUESTS: &str = "schedplus_requests_total";
pub const BUILD_INFO: &str = "schedplus_build_info";
pub const SERVER_INFO: &str = "schedplus_server_info";
pub const SERVER_REPLICA: &str = "schedplus_server_replica";
pub const REPLICATION_ROUNDS: &str = "schedplus_replication_rounds_total";
pub const REPLICATION_APPLIED: &str = "schedplus_replication_changes_applied_total";
pub const REPLICATION_IGNORED: &str = "schedplus_replication_changes_ignored_total";
pub const REPLICATION_CONFLICTS: &str = "schedplus_replication_conflicts_total";
pub const REPLICATION_ERRORS: &str = "schedplus_replication_errors_total";
pub const REPLICATION_LAG: &str = "schedplus_replication_lag_seconds";
pub const EXCHSYNC_SESSIONS: &str = "schedplus_exchsync_sessions_total";
pub const EXCHSYNC_COUNTS: &str = "schedplus_exchsync_items_total";
pub const EXCHSYNC_FAILURES: &str = "schedplus_exchsync_failures_total";
pub const FAULTS_INJECTED: &str = "schedplus_faults_injected_total";
pub const FB_CACHE_HITS: &str = "schedplus_freebusy_cache_hits_total";
pub const FB_CACHE_MISSES: &str = "schedplus_freebusy_cache_misses_total";
pub const FB_CACHE_BYTES: &str = "schedplus_freebusy_cache_bytes";

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Install the recorder once per process. `None` if another recorder was installed first
/// (an embedding program's own): metrics then go there and `/metrics` says so.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let latency = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ];
            let lag = [
                0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
            ];
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(REQUEST_SECONDS.into()), &latency)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(PUBLISH_LAG.into()), &lag))
                .ok()?
                .install_recorder()
                .ok()?;
            describe();
            gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "revision" => env!("SCHEDPLUS_REVISION")).set(1.0);
            Some(handle)
        })
        .as_ref()
}

/// What kind of family a metric is, for `describe`.
#[derive(Clone, Copy)]
enum Family {
    Counter,
    Gauge,
    Histogram,
}

/// Every family with its kind, unit and help text (the `# HELP` line), in one table.
const FAMILIES: &[(&str, Family, Option<metrics::Unit>, &str)] = &[
    (
        FB_CACHE_HITS,
        Family::Counter,
        None,
        "?Cmd=freebusy rows answered from the row cache (fb_cache_bytes)",
    ),
    (
        FB_CACHE_MISSES,
        Family::Counter,
        None,
        "?Cmd=freebusy rows read from the store: not cached, or written since",
    ),
    (
        FB_CACHE_BYTES,
        Family::Gauge,
        Some(metrics::Unit::Bytes),
        "bytes held by the freebusy row cache (at most fb_cache_bytes)",
    ),
    (
        FREEBUSY_QUERIES,
        Family::Counter,
        None,
        "?Cmd=freebusy requests answered",
    ),
    (
        FREEBUSY_USERS,
        Family::Counter,
        None,
        "users named by answered ?Cmd=freebusy requests",
    ),
    (
        FREEBUSY_NO_DATA,
        Family::Counter,
        None,
        "users answered with no data (unknown address or no free/busy message)",
    ),
    (
        REJECTED,
        Family::Counter,
        None,
        "requests answered 4xx, by reason",
    ),
    (
        REQUESTS,
        Family::Counter,
        None,
        "requests answered, by method and status code",
    ),
    (
        BUILD_INFO,
        Family::Gauge,
        None,
        "always 1; the labels say which build runs (the revision is the git commit)",
    ),
    (
        REQUEST_SECONDS,
        Family::Histogram,
        Some(metrics::Unit::Seconds),
        "request duration, by method",
    ),
    (
        WRITES,
        Family::Counter,
        None,
        "writes to the store by clients (PROPPATCH, PUT, DELETE, ...), by method",
    ),
    (
        PUBLISHES,
        Family::Counter,
        None,
        "free/busy messages published, by reason",
    ),
    (
        PUBLISH_FAILURES,
        Family::Counter,
        None,
        "publishes that failed, by reason",
    ),
    (
        PUBLISH_LAG,
        Family::Histogram,
        Some(metrics::Unit::Seconds),
        "time from a calendar change to its publish",
    ),
    (
        POLLER_QUEUE,
        Family::Gauge,
        None,
        "users waiting for the poller to republish them",
    ),
    (
        SIGN_IN_FAILURES,
        Family::Counter,
        None,
        "Basic credentials refused, by reason (malformed, wrong_credentials: an unknown user, a user without a password and a wrong password are counted alike, so the metric does not tell which names exist)",
    ),
    (
        ANSWER_BYTES_HELD,
        Family::Gauge,
        Some(metrics::Unit::Bytes),
        "bytes of streamed answers handed to connections and not yet taken by their clients (at most answer_buffer)",
    ),
    (
        SEND_TIMEOUTS,
        Family::Counter,
        None,
        "connections closed because the client took nothing of its answer for send_timeout",
    ),
    (
        SLOW_HEADS_CLOSED,
        Family::Counter,
        None,
        "connections closed while still sending their request head, by why (per_address, oldest)",
    ),
    (
        CONNECTIONS_REFUSED,
        Family::Counter,
        None,
        "connections turned away over max_connections, by how (answered_503, closed)",
    ),
    (
        UNKNOWN_OWNER,
        Family::Counter,
        None,
        "free/busy messages written by clients whose legacyDN names nobody in the directory (stored all the same)",
    ),
    (
        UNKNOWN_QUERY_USERS,
        Family::Counter,
        None,
        "addresses in free/busy queries that name nobody in the directory (answered 4s)",
    ),
    (
        CALENDAR_LENIENCIES,
        Family::Counter,
        None,
        "RFC 5545 violations read as the writer meant in accepted calendars, by kind",
    ),
    (
        CALENDARS_REFUSED,
        Family::Counter,
        None,
        "calendars refused at the door (PUT, admin API, import, calendar directory), by way in",
    ),
    (
        SERVER_INFO,
        Family::Gauge,
        None,
        "always 1; the labels name this server and its organization (server_name, organization)",
    ),
    (
        SERVER_REPLICA,
        Family::Gauge,
        None,
        "1 per admin-group folder this server holds a replica of (folder=\"*\": all)",
    ),
    (
        REPLICATION_ROUNDS,
        Family::Counter,
        None,
        "replication rounds with a peer that ended, by peer and outcome (ok, error)",
    ),
    (
        REPLICATION_APPLIED,
        Family::Counter,
        None,
        "changes from a peer written here (messages stored or deleted, folders created), by peer",
    ),
    (
        REPLICATION_IGNORED,
        Family::Counter,
        None,
        "changes from a peer this server already had (or had newer), by peer",
    ),
    (
        REPLICATION_CONFLICTS,
        Family::Counter,
        None,
        "messages changed both here and on a peer since they last agreed, by peer (the later write won)",
    ),
    (
        REPLICATION_ERRORS,
        Family::Counter,
        None,
        "replication rounds with a peer that failed (peer down, refused, bad answer, store), by peer",
    ),
    (
        REPLICATION_LAG,
        Family::Gauge,
        Some(metrics::Unit::Seconds),
        "age of the oldest change applied from a peer in its last round (0: nothing to apply), by peer",
    ),
    (
        EXCHSYNC_SESSIONS,
        Family::Counter,
        None,
        "Exchsync sessions ended (event 107), by link",
    ),
    (
        EXCHSYNC_COUNTS,
        Family::Counter,
        None,
        "Exchsync's event-107 counts, by link and kind (message_changes, message_deletions, message_ignores, message_errors, folder_changes, folder_deletions, folder_ignores, folder_errors)",
    ),
    (
        EXCHSYNC_FAILURES,
        Family::Counter,
        None,
        "Exchsync sessions that could not reach or were refused by the destination, by link",
    ),
    (
        FAULTS_INJECTED,
        Family::Counter,
        None,
        "answers changed on purpose by a fault rule (faults, fault add), by rule number and kind (403, 503, 401, 500, delay, hang, reset)",
    ),
    (
        STORE_MESSAGES,
        Family::Gauge,
        None,
        "free/busy messages in the store",
    ),
    (
        STORE_USERS,
        Family::Gauge,
        None,
        "directory users in the store",
    ),
    (
        STORE_BYTES,
        Family::Gauge,
        Some(metrics::Unit::Bytes),
        "the store's size on disk",
    ),
    (
        STORE_PAGES,
        Family::Gauge,
        None,
        "pages in the store's page table, each about 220 bytes of memory while the store is open, cached or not",
    ),
];

fn describe() {
    for &(name, family, unit, help) in FAMILIES {
        match (family, unit) {
            (Family::Counter, None) => describe_counter!(name, help),
            (Family::Counter, Some(unit)) => describe_counter!(name, unit, help),
            (Family::Gauge, None) => describe_gauge!(name, help),
            (Family::Gauge, Some(unit)) => describe_gauge!(name, unit, help),
            (Family::Histogram, None) => describe_histogram!(name, help),
            (Family::Histogram, Some(unit)) => describe_histogram!(name, unit, help),
        }
    }
}

/// The Prometheus text for a scrape, with the store gauges read at scrape time.
pub fn render(store: &crate::store::Store) -> String {
    let Some(handle) = install() else {
        return "# metrics are recorded by another recorder in this process\n".into();
    };
    let stats = store.stats();
    gauge!(STORE_MESSAGES).set(stats.messages as f64);
    gauge!(STORE_USERS).set(stats.users as f64);
    gauge!(STORE_BYTES).set(store.size_on_disk() as f64);
    gauge!(STORE_PAGES).set(store.page_table_len() as f64);
    let cache = store.fb_cache_stats();
    counter!(FB_CACHE_HITS).absolute(cache.hits);
    counter!(FB_CACHE_MISSES).absolute(cache.misses);
    gauge!(FB_CACHE_BYTES).set(cache.bytes as f64);
    handle.run_upkeep();
    let mut text = handle.render();
    text.push_str(&process::render());
    in_stable_order(&text)
}

/// The recorder writes families (and a counter's or gauge's label sets) in hash-map order,
/// different at each scrape; a person diffing two scrapes wants them in one order. Families
/// are sorted by name, the samples of a counter or gauge by their labels; a histogram's
/// lines keep the recorder's order (its buckets ascend, its label sets in first-seen order).
fn in_stable_order(text: &str) -> String {
    let mut families: Vec<(&str, String)> = text
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut lines: Vec<&str> = block.lines().filter(|l| !l.is_empty()).collect();
            let type_line = lines.iter().find_map(|l| l.strip_prefix("# TYPE "));
            let kind = type_line.and_then(|t| t.split_whitespace().nth(1));
            let name = type_line
                .or(lines.first().copied())
                .and_then(|l| l.split([' ', '{']).next())
                .unwrap_or("");
            if matches!(kind, Some("counter" | "gauge")) {
                let head = lines.iter().take_while(|l| l.starts_with('#')).count();
                lines[head..].sort_unstable();
            }
            (name, lines.join("\n") + "\n")
        })
        .collect();
    families.sort_by(|a, b| a.0.cmp(b.0));
    families
        .into_iter()
        .map(|(_, f)| f)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `process_*` families of the Prometheus client conventions, read from `/proc/self`
/// at scrape time (Linux; elsewhere they are left out). Written as text here rather than
/// through the recorder: the CPU counter is fractional seconds, which the `metrics` crate's
/// integer counters cannot hold.
mod process {
    use std::fmt::Write;

    pub fn render() -> String {
        let mut out = String::new();
        let Some(stat) = Stat::read() else {
            return out;
        };
        let mut family = |name: &str, kind: &str, help: &str, value: f64| {
            let _ = write!(
                out,
                "\n# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            );
        };
        let (tick, page) = tick_and_page();
        family(
            "process_cpu_seconds_total",
            "counter",
            "user and system CPU time spent, in seconds",
            (stat.utime + stat.stime) as f64 / tick,
        );
        family(
            "process_resident_memory_bytes",
            "gauge",
            "resident memory size, in bytes",
            (stat.rss_pages * page) as f64,
        );
        family(
            "process_virtual_memory_bytes",
            "gauge",
            "virtual memory size, in bytes",
            stat.vsize as f64,
        );
        if let Some(boot) = boot_time() {
            family(
                "process_start_time_seconds",
                "gauge",
                "start time of the process since the Unix epoch, in seconds",
                boot as f64 + stat.starttime as f64 / tick,
            );
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            family(
                "process_open_fds",
                "gauge",
                "open file descriptors",
                fds.count() as f64,
            );
        }
        if let Some(max) = max_fds() {
            family(
                "process_max_fds",
                "gauge",
                "the most file descriptors the process may open (the soft limit)",
                max,
            );
        }
        out
    }

    struct Stat {
        utime: u64,
        stime: u64,
        starttime: u64,
        vsize: u64,
        rss_pages: u64,
    }

    impl Stat {
        /// `/proc/self/stat`: the fields after the command name (which may hold spaces and
        /// parentheses, hence the last ')'), numbered as in proc(5).
        fn read() -> Option<Stat> {
            let text = std::fs::read_to_string("/proc/self/stat").ok()?;
            let rest = &text[text.rfind(')')? + 1..];
            // rest starts at field 3 (state).
            let f: Vec<&str> = rest.split_whitespace().collect();
            let field = |n: usize| f.get(n - 3)?.parse::<u64>().ok();
            Some(Stat {
                utime: field(14)?,
                stime: field(15)?,
                starttime: field(22)?,
                vsize: field(23)?,
                rss_pages: field(24)?,
            })
        }
    }

    fn boot_time() -> Option<u64> {
        std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()
    }

    /// The soft "Max open files" of `/proc/self/limits`.
    fn max_fds() -> Option<f64> {
        let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        let soft = line["Max open files".len()..].split_whitespace().next()?;
        Some(if soft == "unlimited" {
            f64::INFINITY
        } else {
            soft.parse().ok()?
        })
    }

    /// Clock ticks per second and the page size (`sysconf`), or Linux's usual 100 and
    /// 4096 where they cannot be read.
    fn tick_and_page() -> (f64, u64) {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: sysconf reads constants of the system; no memory is shared.
        let (t, p) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
        let (t, p) = (100, 4096);
        (
            if t > 0 { t as f64 } else { 100.0 },
            if p > 0 { p as u64 } else { 4096 },
        )
    }
}

/// Fold recorded histogram samples into their buckets. The recorder keeps every sample
/// until this runs; without it a server that nobody scrapes grows by a few bytes per
/// request forever (seen under `scripts/load.sh`: +11 MiB in 60 s at 3,300 requests/s).
/// The server runs it every [`UPKEEP_INTERVAL`]; a scrape runs it too.
pub fn upkeep() {
    if let Some(handle) = install() {
        handle.run_upkeep();
    }
}

/// How often the server runs [`upkeep`].
pub const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Handles of the families that every request or answer touches, made once per label set
/// and kept per thread. The `counter!`, `gauge!` and `histogram!` macros build the metric's
/// key (allocating its labels, and the status code as text), hash it and look it up in the
/// recorder's registry on every call: seven lookups for each `?Cmd=freebusy` answer, the
/// largest part of what the request cost beyond hyper (issue 13). A handle is the same
/// shared cell the macro would have found, so what `/metrics` shows is unchanged.
#[derive(Default)]
struct Handles {
    seconds: Handled<&'static str, metrics::Histogram>,
    requests: Handled<(&'static str, u16), metrics::Counter>,
    rejected: Handled<&'static str, metrics::Counter>,
    plain: Handled<&'static str, metrics::Counter>,
    held: Option<metrics::Gauge>,
}

/// Handles by label set: a handful per thread, so a list beats a hash of the key.
struct Handled<K, H>(Vec<(K, H)>);

impl<K, H> Default for Handled<K, H> {
    fn default() -> Self {
        Handled(Vec::new())
    }
}

impl<K: PartialEq, H> Handled<K, H> {
    fn get(&mut self, key: K, make: impl FnOnce() -> H) -> &H {
        let at = match self.0.iter().position(|(k, _)| *k == key) {
            Some(at) => at,
            None => {
                self.0.push((key, make()));
                self.0.len() - 1
            }
        };
        &self.0[at].1
    }
}

thread_local! {
    static HANDLES: std::cell::RefCell<Handles> = std::cell::RefCell::default();
}

/// Run `f` with this thread's handles. Before [`install`] has run, a handle would belong to
/// no recorder (the macros then reach a no-op one), so none is kept.
fn with_handles(f: impl FnOnce(&mut Handles)) {
    if HANDLE.get().is_some() {
        HANDLES.with_borrow_mut(f);
    } else {
        f(&mut Handles::default());
    }
}

pub fn freebusy_answered(users: usize, no_data: usize) {
    with_handles(|h| {
        let mut add = |name: &'static str, n: usize| {
            h.plain.get(name, || counter!(name)).increment(n as u64);
        };
        add(FREEBUSY_QUERIES, 1);
        add(FREEBUSY_USERS, users);
        add(FREEBUSY_NO_DATA, no_data);
    });
}

pub fn request_done(method: &str, status: u16, seconds: f64) {
    let method = method_label(method);
    with_handles(|h| {
        h.seconds
            .get(method, || histogram!(REQUEST_SECONDS, "method" => method))
            .record(seconds);
        h.requests
            .get(
                (method, status),
                || counter!(REQUESTS, "method" => method, "code" => status.to_string()),
            )
            .increment(1);
        if (400..500).contains(&status) {
            let reason = rejection_reason(status);
            h.rejected
                .get(reason, || counter!(REJECTED, "reason" => reason))
                .increment(1);
        }
    });
}

/// The method as a label: the methods clients of this server send, and `other` for the rest,
/// so that a client inventing methods cannot grow the label set without bound.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 14] = [
        "GET",
        "HEAD",
        "POST",
        "PUT",
        "DELETE",
        "OPTIONS",
        "PROPFIND",
        "PROPPATCH",
        "SEARCH",
        "MKCOL",
        "COPY",
        "MOVE",
        "LOCK",
        "UNLOCK",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("other")
}

/// A label per 4xx status, in words.
fn rejection_reason(status: u16) -> &'static str {
    match status {
        400 => "bad_request",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        412 => "precondition_failed",
        413 => "too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        423 => "locked",
        429 => "too_many_requests",
        _ => "other_4xx",
    }
}

pub fn sign_in_failed(reason: &'static str) {
    counter!(SIGN_IN_FAILURES, "reason" => reason).increment(1);
}

/// Bytes of streamed answers held for clients that have not taken them (see
/// `transport::outbound`).
pub fn answer_bytes_held(bytes: usize) {
    with_handles(|h| {
        h.held
            .get_or_insert_with(|| gauge!(ANSWER_BYTES_HELD))
            .set(bytes as f64)
    });
}

/// A client took nothing of its answer for `send_timeout`; its connection was closed.
pub fn client_stopped_reading() {
    counter!(SEND_TIMEOUTS).increment(1);
}

/// A connection still sending its request head was closed: `per_address` (its address had
/// its share) or `oldest` (to make room for a newer one).
pub fn slow_head_closed(why: &'static str) {
    counter!(SLOW_HEADS_CLOSED, "why" => why).increment(1);
}

/// A connection over `max_connections`: answered 503, or closed unanswered when even the
/// refusals are too many.
pub fn connection_refused(answered: bool) {
    let how = if answered { "answered_503" } else { "closed" };
    counter!(CONNECTIONS_REFUSED, "how" => how).increment(1);
}

/// A fault rule fired (`transport/faults.rs`).
pub fn fault_injected(rule: u32, kind: &'static str) {
    counter!(FAULTS_INJECTED, "rule" => rule.to_string(), "kind" => kind).increment(1);
}

pub fn unknown_owner_stored() {
    counter!(UNKNOWN_OWNER).increment(1);
}

/// A query address that names nobody in the directory: counted every time, logged once per
/// address (a CAS asks for the same attendees again and again).
pub fn unknown_query_user(address: &str) {
    static LOGGED: FirstSeen = FirstSeen::new(4096);
    counter!(UNKNOWN_QUERY_USERS).increment(1);
    if LOGGED.first(address) {
        tracing::warn!(
            address = %address,
            "a free/busy query asked for {address}, who is nobody in the directory; answered 4 (no data) for every slot (logged once per address)"
        );
    }
}

/// Keys seen before, for "counted every time, logged once" warnings: a client that repeats
/// itself logs one line, not one per request. Bounded: when full it starts over. Keys
/// compare ASCII-case-insensitively (legacyDNs and addresses do).
pub struct FirstSeen {
    seen: std::sync::Mutex<Option<std::collections::HashSet<String>>>,
    cap: usize,
}

impl FirstSeen {
    pub const fn new(cap: usize) -> FirstSeen {
        FirstSeen {
            seen: std::sync::Mutex::new(None),
            cap,
        }
    }

    /// True the first time `key` is seen (again after the set was full and started over).
    pub fn first(&self, key: &str) -> bool {
        // A poisoned lock only means another thread panicked mid-insert; the set is fine.
        let mut guard = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let set = guard.get_or_insert_with(std::collections::HashSet::new);
        if set.len() >= self.cap {
            set.clear();
        }
        set.insert(crate::protocol::legacy_dn::fold_key(key))
    }
}

pub fn write(method: &str) {
    counter!(WRITES, "method" => method.to_string()).increment(1);
}

/// The label of a publish reason: the poller's phrases mapped to the names lab dashboards
/// use (`calendar_change`, `window_roll`, `startup`); `cleanfreebusy`, `updatefb`,
/// `manual` (fb set) and `cleanup` pass through.
pub fn reason_label(reason: &str) -> String {
    match reason {
        "calendar changed" | "calendar deleted" => "calendar_change".into(),
        "publish window moved" => "window_roll".into(),
        "start-up" => "startup".into(),
        other => other
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect(),
    }
}

pub fn published(reason: &str) {
    counter!(PUBLISHES, "reason" => reason_label(reason)).increment(1);
}

pub fn publish_failed(reason: &str) {
    counter!(PUBLISH_FAILURES, "reason" => reason_label(reason)).increment(1);
}

pub fn publish_lag(seconds: f64) {
    histogram!(PUBLISH_LAG).record(seconds);
}

pub fn poller_queue(depth: usize) {
    gauge!(POLLER_QUEUE).set(depth as f64);
}

// ---- calendars accepted with leniencies, and refused ------------------------------------

pub const CALENDAR_LENIENCIES: &str = "schedplus_calendar_leniencies_total";
pub const CALENDARS_REFUSED: &str = "schedplus_calendars_refused_total";

/// One leniency of an accepted calendar (`kind` is `calendar::Leniency::kind`).
pub fn calendar_leniency(kind: &'static str) {
    counter!(CALENDAR_LENIENCIES, "kind" => kind).increment(1);
}

/// A calendar refused at the door; `via` is `http`, `import` or `calendar_dir`.
pub fn calendar_refused(via: &'static str) {
    counter!(CALENDARS_REFUSED, "via" => via).increment(1);
}

/// This server's name, organization and replicas (`replicas`: `None` for all).
pub fn server_identity(server: &str, organization: &str, replicas: Option<&[String]>) {
    gauge!(SERVER_INFO, "server" => server.to_string(), "organization" => organization.to_string())
        .set(1.0);
    match replicas {
        None => gauge!(SERVER_REPLICA, "folder" => "*").set(1.0),
        Some(folders) => {
            for f in folders {
                gauge!(SERVER_REPLICA, "folder" => f.clone()).set(1.0);
            }
        }
    }
}

/// A replication round with `peer` that ended: what it applied, ignored and found in
/// conflict, and the age of the oldest change applied.
pub fn replication_round(peer: &str, applied: u64, ignored: u64, conflicts: u64, lag: f64) {
    let peer = peer.to_string();
    counter!(REPLICATION_ROUNDS, "peer" => peer.clone(), "outcome" => "ok").increment(1);
    counter!(REPLICATION_APPLIED, "peer" => peer.clone()).increment(applied);
    counter!(REPLICATION_IGNORED, "peer" => peer.clone()).increment(ignored);
    counter!(REPLICATION_CONFLICTS, "peer" => peer.clone()).increment(conflicts);
    gauge!(REPLICATION_LAG, "peer" => peer).set(lag);
}

/// A replication round with `peer` that failed.
pub fn replication_failed(peer: &str) {
    let peer = peer.to_string();
    counter!(REPLICATION_ROUNDS, "peer" => peer.clone(), "outcome" => "error").increment(1);
    counter!(REPLICATION_ERRORS, "peer" => peer).increment(1);
}

/// An Exchsync session of `link` that ended, with its event-107 counts.
pub fn exchsync_session(link: &str, counts: &[(String, u64)]) {
    counter!(EXCHSYNC_SESSIONS, "link" => link.to_string()).increment(1);
    for (kind, n) in counts {
        counter!(EXCHSYNC_COUNTS, "link" => link.to_string(), "kind" => kind.clone()).increment(*n);
    }
}

/// An Exchsync session of `link` that failed.
pub fn exchsync_failed(link: &str) {
    counter!(EXCHSYNC_FAILURES, "link" => link.to_string()).increment(1);
}

#[cfg(test)]
mod tests {
    use super::method_label;

    #[test]
    fn first_seen_is_true_once_per_key_in_any_case_and_bounded() {
        let seen = super::FirstSeen::new(2);
        assert!(seen.first("Dan@X"));
        assert!(!seen.first("dan@x"), "ASCII case is folded");
        assert!(seen.first("kb@x"));
        // Full: it starts over rather than grow.
        assert!(seen.first("third@x"));
        assert!(seen.first("dan@x"));
    }

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label("PROPFIND"), "PROPFIND");
        assert_eq!(method_label("BREW"), "other");
        assert_eq!(
            method_label("get"),
            "other",
            "methods are case-sensitive (RFC 9110)"
        );
    }

    #[test]
    fn families_sorted_by_name_counter_samples_by_labels_histogram_lines_kept() {
        let text = "# HELP b_total b\n# TYPE b_total counter\nb_total{m=\"z\"} 1\nb_total{m=\"a\"} 2\n\n\
                    # TYPE h histogram\nh_bucket{le=\"5\"} 1\nh_bucket{le=\"10\"} 1\nh_sum 1\nh_count 1\n\n\
                    # TYPE a gauge\na 3\n\n";
        assert_eq!(
            super::in_stable_order(text),
            "# TYPE a gauge\na 3\n\n\
             # HELP b_total b\n# TYPE b_total counter\nb_total{m=\"a\"} 2\nb_total{m=\"z\"} 1\n\n\
             # TYPE h histogram\nh_bucket{le=\"5\"} 1\nh_bucket{le=\"10\"} 1\nh_sum 1\nh_count 1\n"
        );
    }

    /// The handles a thread keeps count into the same series as the macros: two threads
    /// with their own handles and one macro call add up. (An unusual label set, so other
    /// tests in this process do not count into it.)
    #[test]
    fn kept_handles_count_in_the_series_the_macros_reach() {
        let handle = super::install().expect("installed");
        std::thread::spawn(|| {
            super::request_done("MKCOL", 418, 0.0);
            super::request_done("MKCOL", 418, 0.0);
        })
        .join()
        .unwrap();
        std::thread::spawn(|| super::request_done("MKCOL", 418, 0.0))
            .join()
            .unwrap();
        metrics::counter!(super::REQUESTS, "method" => "MKCOL", "code" => "418").increment(1);
        let text = handle.render();
        let line = text
            .lines()
            .find(|l| {
                l.starts_with("schedplus_requests_total{")
                    && l.contains("method=\"MKCOL\"")
                    && l.contains("code=\"418\"")
            })
            .unwrap_or_else(|| panic!("no MKCOL 418 series in {text}"));
        assert!(line.ends_with(" 4"), "{line}");
    }

    #[test]
    fn counters_render() {
        super::install().expect("installed");
        super::freebusy_answered(3, 1);
        std::thread::spawn(|| super::request_done("GET", 404, 0.01))
            .join()
            .unwrap();
        let text = super::install().unwrap().render();
        assert!(
            text.contains("schedplus_freebusy_users_queried_total"),
            "{text}"
        );
    }
}
