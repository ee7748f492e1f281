//! The Availability service's performance counters, as Prometheus metrics through the
//! process-wide recorder (`app::metrics` renders them on `/metrics`).

use std::sync::Once;

use metrics::{counter, describe_counter, describe_histogram, histogram};

pub const REQUESTS: &str = "schedplus_availability_requests_total";
pub const DROPPED: &str = "schedplus_availability_requests_dropped_total";
pub const MAILBOXES: &str = "schedplus_availability_mailboxes_total";
pub const SERVER_ANSWERS: &str = "schedplus_availability_server_answers_total";
pub const SERVER_FAILURES: &str = "schedplus_availability_server_failures_total";
pub const SERVER_SECONDS: &str = "schedplus_availability_server_seconds";
pub const NO_SERVER: &str = "schedplus_availability_no_server_total";

fn describe() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        describe_counter!(
            REQUESTS,
            "EWS requests serviced (GetUserAvailability, GetServerTimeZones, autodiscover), by operation"
        );
        describe_counter!(DROPPED, "EWS requests answered with a SOAP fault, by response code");
        describe_counter!(
            MAILBOXES,
            "mailboxes queried through GetUserAvailability, by outcome (merged: answered at the free/busy level)"
        );
        describe_counter!(
            SERVER_ANSWERS,
            "?Cmd=freebusy requests a public-folder server answered for the front end, by server"
        );
        describe_counter!(
            SERVER_FAILURES,
            "?Cmd=freebusy requests that failed (event 4003), by server and kind: connect, timeout, status, bad_answer"
        );
        describe_histogram!(
            SERVER_SECONDS,
            "time a public-folder server took to answer the front end, by server"
        );
        describe_counter!(
            NO_SERVER,
            "admin groups none of whose servers answered (event 4004)"
        );
    });
}

pub fn request(operation: &'static str) {
    describe();
    counter!(REQUESTS, "operation" => operation).increment(1);
}

pub fn dropped(code: &'static str) {
    describe();
    counter!(DROPPED, "code" => code).increment(1);
}

pub fn mailbox(outcome: &'static str) {
    describe();
    counter!(MAILBOXES, "outcome" => outcome).increment(1);
}

pub fn server_answered(server: &str, seconds: f64) {
    describe();
    counter!(SERVER_ANSWERS, "server" => server.to_string()).increment(1);
    histogram!(SERVER_SECONDS, "server" => server.to_string()).record(seconds);
}

pub fn server_failed(server: &str, kind: &'static str) {
    describe();
    counter!(SERVER_FAILURES, "server" => server.to_string(), "kind" => kind).increment(1);
}

pub fn no_server() {
    describe();
    counter!(NO_SERVER).increment(1);
}
