//! Metrics: counters and histograms in the spirit of the Exchange Availability service's
//! performance counters, rendered as Prometheus text by the server's own `/metrics` route.
//!
//! Owns the metric names (one `const` each, so a name is spelled once), their help texts,
//! the one-time installation of the process-wide recorder, and small functions the rest of
//! the code calls at the moment something happens. The recorder is global (the `metrics`
//! crate's design): several servers in one process, as in the tests, share it.

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
pub const SIGN_IN_FAILURES: &str = "schedplus_sign_in_failures_total";
pub const ANSWER_BYTES_HELD: &str = "schedplus_answer_bytes_held";
pub const SEND_TIMEOUTS: &str = "schedplus_send_timeouts_total";
pub const SLOW_HEADS_CLOSED: &str = "schedplus_slow_heads_closed_total";
pub const CONNECTIONS_REFUSED: &str = "schedplus_connections_refused_total";
pub const UNKNOWN_OWNER: &str = "schedplus_freebusy_unknown_owner_writes_total";

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
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    describe_counter!(FREEBUSY_QUERIES, "?Cmd=freebusy requests answered");
    describe_counter!(
        FREEBUSY_USERS,
        "users named by answered ?Cmd=freebusy requests"
    );
    describe_counter!(
        FREEBUSY_NO_DATA,
        "users answered with no data (unknown address or no free/busy message)"
    );
    describe_counter!(REJECTED, "requests answered 4xx, by reason");
    describe_histogram!(
        REQUEST_SECONDS,
        metrics::Unit::Seconds,
        "request duration, by method"
    );
    describe_counter!(
        WRITES,
        "writes to the store by clients (PROPPATCH, PUT, DELETE, ...), by method"
    );
    describe_counter!(PUBLISHES, "free/busy messages published, by reason");
    describe_counter!(PUBLISH_FAILURES, "publishes that failed, by reason");
    describe_histogram!(
        PUBLISH_LAG,
        metrics::Unit::Seconds,
        "time from a calendar change to its publish"
    );
    describe_gauge!(
        POLLER_QUEUE,
        "users waiting for the poller to republish them"
    );
    describe_counter!(
        SIGN_IN_FAILURES,
        "Basic credentials refused, by reason (malformed, wrong_credentials: an unknown user, a user without a password and a wrong password are counted alike, so the metric does not tell which names exist)"
    );
    describe_gauge!(
        ANSWER_BYTES_HELD,
        metrics::Unit::Bytes,
        "bytes of streamed answers handed to connections and not yet taken by their clients (at most answer_buffer)"
    );
    describe_counter!(
        SEND_TIMEOUTS,
        "connections closed because the client took nothing of its answer for send_timeout"
    );
    describe_counter!(
        SLOW_HEADS_CLOSED,
        "connections closed while still sending their request head, by why (per_address, oldest)"
    );
    describe_counter!(
        CONNECTIONS_REFUSED,
        "connections turned away over max_connections, by how (answered_503, closed)"
    );
    describe_counter!(
        UNKNOWN_OWNER,
        "free/busy messages written by clients whose legacyDN names nobody in the directory (stored all the same)"
    );
    describe_calendar();
    describe_gauge!(STORE_MESSAGES, "free/busy messages in the store");
    describe_gauge!(STORE_USERS, "directory users in the store");
    describe_gauge!(
        STORE_BYTES,
        metrics::Unit::Bytes,
        "the store's size on disk"
    );
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
    handle.run_upkeep();
    handle.render()
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

pub fn freebusy_answered(users: usize, no_data: usize) {
    counter!(FREEBUSY_QUERIES).increment(1);
    counter!(FREEBUSY_USERS).increment(users as u64);
    counter!(FREEBUSY_NO_DATA).increment(no_data as u64);
}

pub fn request_done(method: &str, status: u16, seconds: f64) {
    histogram!(REQUEST_SECONDS, "method" => method.to_string()).record(seconds);
    if (400..500).contains(&status) {
        counter!(REJECTED, "reason" => rejection_reason(status)).increment(1);
    }
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
    gauge!(ANSWER_BYTES_HELD).set(bytes as f64);
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

pub fn unknown_owner_stored() {
    counter!(UNKNOWN_OWNER).increment(1);
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

fn describe_calendar() {
    describe_counter!(
        CALENDAR_LENIENCIES,
        "RFC 5545 violations read as the writer meant in accepted calendars, by kind"
    );
    describe_counter!(
        CALENDARS_REFUSED,
        "calendars refused at the door (PUT, admin API, import, calendar directory), by way in"
    );
}

/// One leniency of an accepted calendar (`kind` is `calendar::Leniency::kind`).
pub fn calendar_leniency(kind: &'static str) {
    counter!(CALENDAR_LENIENCIES, "kind" => kind).increment(1);
}

/// A calendar refused at the door; `via` is `http`, `import` or `calendar_dir`.
pub fn calendar_refused(via: &'static str) {
    counter!(CALENDARS_REFUSED, "via" => via).increment(1);
}

#[cfg(test)]
mod tests {
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
