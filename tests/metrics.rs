//! `/metrics`: counters move by exactly a scripted workload. The server runs as its own
//! process, because the metrics recorder is process-wide and other tests in this binary
//! run servers in parallel.

use crate::common::{ServeProcess, basic, http, run_cli};
use std::collections::BTreeMap;

fn scrape(base: &str) -> BTreeMap<String, f64> {
    let r = http(base, "GET", "/metrics", &[], None);
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    r.text()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

fn delta(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, key: &str) -> f64 {
    after.get(key).copied().unwrap_or(0.0) - before.get(key).copied().unwrap_or(0.0)
}

#[test]
fn counters_move_by_exactly_the_workload() {
    let (data, server) = ServeProcess::demo(&[], &[]);
    let base = server.base.clone();

    let before = scrape(&base);
    assert_eq!(before["schedplus_store_users"], 12.0);
    let q = "/public/?Cmd=freebusy&start=2026-01-05T00:00:00Z&end=2026-01-06T00:00:00Z&interval=60";
    for _ in 0..3 {
        let r = http(
            &base,
            "GET",
            &format!("{q}&u=danw@xcs.example&u=nobody@nowhere.example"),
            &[],
            None,
        );
        assert_eq!(r.status, 200);
    }
    for _ in 0..2 {
        assert_eq!(
            http(
                &base,
                "GET",
                "/public/?Cmd=freebusy&start=x&end=y&u=a",
                &[],
                None
            )
            .status,
            400
        );
    }
    assert_eq!(http(&base, "GET", "/nothing", &[], None).status, 404);
    let o = run_cli(
        data.path(),
        &[
            "fb",
            "set",
            "bwright",
            "--busy",
            "2026-01-05T09:00:00Z/2026-01-05T10:00:00Z",
            "--now",
            "2026-01-05T08:00:00Z",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let after = scrape(&base);

    assert_eq!(
        delta(&before, &after, "schedplus_freebusy_queries_total"),
        3.0
    );
    assert_eq!(
        delta(&before, &after, "schedplus_freebusy_users_queried_total"),
        6.0
    );
    assert_eq!(
        delta(&before, &after, "schedplus_freebusy_users_no_data_total"),
        3.0
    );
    assert_eq!(
        delta(
            &before,
            &after,
            "schedplus_requests_rejected_total{reason=\"bad_request\"}"
        ),
        2.0
    );
    assert_eq!(
        delta(
            &before,
            &after,
            "schedplus_requests_rejected_total{reason=\"not_found\"}"
        ),
        1.0
    );
    assert_eq!(
        delta(
            &before,
            &after,
            "schedplus_publishes_total{reason=\"manual\"}"
        ),
        1.0
    );
    // GETs: the first scrape (recorded after it rendered), 3 + 2 queries, the 404 and the
    // CLI's health check; one POST from the CLI.
    assert_eq!(
        delta(
            &before,
            &after,
            "schedplus_request_duration_seconds_count{method=\"GET\"}"
        ),
        8.0
    );
    assert_eq!(
        delta(
            &before,
            &after,
            "schedplus_request_duration_seconds_count{method=\"POST\"}"
        ),
        1.0
    );
    assert_eq!(
        delta(&before, &after, "schedplus_store_messages"),
        1.0,
        "bwright had no message before"
    );
    assert!(after["schedplus_store_size_bytes"] > 0.0);
    // Every tree has a page at least; a message more never frees one.
    assert!(after["schedplus_store_pages"] >= 10.0);
    assert!(after["schedplus_store_pages"] >= before["schedplus_store_pages"]);
}

#[test]
fn sign_in_failures_do_not_tell_which_names_exist() {
    let (_data, server) = ServeProcess::demo(&[], &[]);
    let base = server.base.clone();
    let before = scrape(&base);
    // A name that exists with a wrong password, and a name that does not exist.
    for auth in [basic("bwright", "wrong"), basic("nobody-here", "wrong")] {
        let r = http(&base, "GET", "/public/", &[("Authorization", &auth)], None);
        assert_eq!(r.status, 401);
    }
    let after = scrape(&base);
    let key = "schedplus_sign_in_failures_total{reason=\"wrong_credentials\"}";
    assert_eq!(delta(&before, &after, key), 2.0, "{after:?}");
    let telling: Vec<_> = after
        .keys()
        .filter(|k| k.starts_with("schedplus_sign_in_failures_total"))
        .filter(|k| {
            k.contains("unknown_user") || k.contains("wrong_password") || k.contains("no_password")
        })
        .collect();
    assert!(
        telling.is_empty(),
        "reasons that tell names apart: {telling:?}"
    );
}

#[test]
fn metrics_follow_the_read_rule_unless_opened() {
    let (_data, closed) = ServeProcess::demo(&["--read", "authenticated"], &[]);
    let anonymous = http(&closed.base, "GET", "/metrics", &[], None);
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());
    assert!(
        !anonymous.text().contains("schedplus_"),
        "{}",
        anonymous.text()
    );
    let auth = basic(
        schedplus::app::demo::DEMO_ADMIN,
        schedplus::app::demo::DEMO_PASSWORD,
    );
    let signed_in = http(
        &closed.base,
        "GET",
        "/metrics",
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(signed_in.status, 200);
    assert!(signed_in.text().contains("schedplus_store_users"));
    drop(closed);

    // Opened by its setting (here from the environment; the flag is --metrics anonymous).
    let env = [("SCHEDPLUS_METRICS", "anonymous")];
    let (_data, open) = ServeProcess::demo(&["--read", "authenticated"], &env);
    let r = http(&open.base, "GET", "/metrics", &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    // Everything else still needs credentials.
    assert_eq!(http(&open.base, "GET", "/public/", &[], None).status, 401);
}
