//! `GET /public/?Cmd=freebusy` against a real server (PROTOCOL.md §3).

use crate::common::{TestServer, fbdata};

const NOW: &str = "2008-02-01T12:00:00Z";

/// A server with the demo directory and a known message for danw: busy Feb 2 20:00-21:00
/// (the spec vector), tentative 21:00-22:00, OOF all of Feb 4.
fn seeded() -> TestServer {
    let s = TestServer::start();
    s.import_demo_directory();
    s.fb_set(
        "danw@xcs.example",
        NOW,
        &["2008-02-02T20:00:00Z/2008-02-02T21:00:00Z"],
        &["2008-02-02T21:00:00Z/2008-02-02T22:00:00Z"],
        &["2008-02-04T00:00:00Z/2008-02-05T00:00:00Z"],
    );
    s
}

fn q(extra: &str) -> String {
    format!(
        "/public/?Cmd=freebusy&start=2008-02-02T18:00:00Z&end=2008-02-03T00:00:00Z&interval=60{extra}"
    )
}

#[test]
fn answers_spec_shape_with_all_attendees_first() {
    let s = seeded();
    let r = s.get(&q("&u=SMTP:danw@xcs.example"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/xml; charset=utf-8"));
    let xml = r.text();
    assert!(
        xml.contains(r#"<a:response xmlns:a="WM"><a:recipients>"#),
        "{xml}"
    );
    let first = xml.find("All Attendees").unwrap();
    let dan = xml.find("Dan Winship").unwrap();
    assert!(first < dan);
    assert!(xml.contains(r#"<a:email type="SMTP">danw@xcs.example</a:email>"#));
    assert_eq!(xml.matches("<a:type>1</a:type>").count(), 2);
    // 18-19 free, 19-20 free, 20-21 busy, 21-22 tentative, 22-24 free.
    assert_eq!(fbdata(&xml), vec!["002100", "002100"]);
}

#[test]
fn every_address_form_resolves_and_order_and_echo_are_kept() {
    let s = seeded();
    let r = s.get(&q(
        "&u=EX:%2Fo%3DFirst%20Organization%2Fou%3DFirst%20Administrative%20Group%2Fcn%3DRecipients%2Fcn%3Ddwinship\
         &u=nobody@nowhere.example&u=DANW@XCS.EXAMPLE&u=smtp:jsguillet@companyabc.example",
    ));
    let xml = r.text();
    let digits = fbdata(&xml);
    assert_eq!(digits.len(), 5);
    assert_eq!(digits[1], "002100", "EX: form");
    assert_eq!(digits[2], "444444", "unknown address: no data");
    assert_eq!(digits[3], "002100", "bare address, any case");
    assert_eq!(digits[4], "444444", "known user without a message: no data");
    assert_eq!(digits[0], "444444", "All Attendees is the per-slot maximum");
    assert!(xml.contains(r#"<a:email type="EX">/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=dwinship</a:email>"#));
    assert!(
        xml.contains(r#"<a:email type="SMTP">DANW@XCS.EXAMPLE</a:email>"#),
        "echoed as requested"
    );
    let order: Vec<usize> = [
        "nobody@nowhere.example",
        "DANW@XCS.EXAMPLE",
        "jsguillet@companyabc.example",
    ]
    .iter()
    .map(|a| xml.find(a).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "request order");
}

#[test]
fn oof_and_publish_range_edges() {
    let s = seeded();
    // Feb 4 is OOF all day; the range starts Jan 27 (Sunday) so Jan 26 is outside it.
    let r = s.get(
        "/public/?Cmd=freebusy&start=2008-01-26T00:00:00Z&end=2008-02-05T00:00:00Z&interval=1440&u=danw@xcs.example",
    );
    let d = fbdata(&r.text());
    assert_eq!(d[1], "4000000203", "{d:?}");
}

#[test]
fn parameter_names_and_path_are_case_insensitive() {
    let s = seeded();
    let r = s.get(
        "/Public?cmd=FREEBUSY&START=2008-02-02T18:00:00Z&End=2008-02-03T00:00:00Z&INTERVAL=60&U=danw@xcs.example",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(fbdata(&r.text())[1], "002100");
}

#[test]
fn always_xml_whatever_the_user_agent() {
    let s = seeded();
    let path = q("&u=danw@xcs.example");
    let ie = s.request(
        "GET",
        &path,
        &[(
            "User-Agent",
            "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)",
        )],
        None,
    );
    let cas = s.request(
        "GET",
        &path,
        &[("User-Agent", "ExchangeServicesClient/08.01.0240.003")],
        None,
    );
    let none = s.request("GET", &path, &[("Accept", "text/html")], None);
    assert_eq!(ie.body, cas.body);
    assert_eq!(ie.body, none.body);
    assert_eq!(none.header("content-type"), Some("text/xml; charset=utf-8"));
}

#[test]
fn bad_requests_are_400_with_a_reason() {
    let s = seeded();
    let cases = [
        (
            "/public/?Cmd=freebusy&start=nope&end=2008-02-03T00:00:00Z&u=a",
            "'nope'",
        ),
        (
            "/public/?Cmd=freebusy&start=2008-02-03T00:00:00Z&end=2008-02-02T00:00:00Z&u=a",
            "after start",
        ),
        (
            "/public/?Cmd=freebusy&start=2008-02-02T00:00:00Z&end=2008-02-03T00:00:00Z&interval=0&u=a",
            "interval",
        ),
        (
            "/public/?Cmd=freebusy&start=2008-02-02T00:00:00Z&end=2008-02-03T00:00:00Z&interval=5000&u=a",
            "1 to 1440",
        ),
        (
            "/public/?Cmd=freebusy&end=2008-02-03T00:00:00Z&u=a",
            "start parameter",
        ),
    ];
    for (path, needle) in cases {
        let r = s.get(path);
        assert_eq!(r.status, 400, "{path}");
        assert!(r.text().contains(needle), "{path}: {}", r.text());
        assert_eq!(r.text().lines().count(), 1, "one line: {}", r.text());
    }
    // The server keeps serving.
    assert_eq!(s.get(&q("&u=danw@xcs.example")).status, 200);
}

#[test]
fn limits_are_configurable_and_enforced() {
    let s = TestServer::start_with(|o| {
        o.limits.query.max_users = 2;
        o.limits.query.max_slots = 48;
    });
    let base =
        "/public/?Cmd=freebusy&start=2008-02-02T00:00:00Z&end=2008-02-03T00:00:00Z&interval=30";
    assert_eq!(s.get(&format!("{base}&u=a&u=b")).status, 200);
    let r = s.get(&format!("{base}&u=a&u=b&u=c"));
    assert_eq!(r.status, 400);
    assert!(r.text().contains("at most 2"), "{}", r.text());
    let r = s.get(
        "/public/?Cmd=freebusy&start=2008-02-02T00:00:00Z&end=2008-02-03T00:00:00Z&interval=15&u=a",
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("slots"), "{}", r.text());
}

#[test]
fn a_full_cas_batch_is_answered() {
    let s = seeded();
    let mut path = String::from(
        "/public/?Cmd=freebusy&start=2008-01-27T00:00:00Z&end=2008-03-09T00:00:00Z&interval=5",
    );
    for i in 0..99 {
        path.push_str(&format!("&u=SMTP:user{i}@nowhere.example"));
    }
    path.push_str("&u=SMTP:danw@xcs.example");
    let r = s.get(&path);
    assert_eq!(r.status, 200);
    let d = fbdata(&r.text());
    assert_eq!(d.len(), 101);
    assert!(d.iter().all(|x| x.len() == 42 * 288));
    assert!(d[100].contains('2') && d[100].contains('3') && d[100].contains('0'));
}

#[test]
fn head_and_other_methods() {
    let s = seeded();
    let r = s.request("HEAD", &q("&u=danw@xcs.example"), &[], None);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    let r = s.request("POST", &q("&u=danw@xcs.example"), &[], Some(b""));
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
}

#[test]
fn healthz_and_unknown_paths() {
    let s = TestServer::start();
    assert_eq!(s.get("/healthz").text(), "ok\n");
    let r = s.get("/nothing/here");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("Cmd=freebusy"));
}

#[test]
fn demo_answer_has_busy_and_free_slots_whatever_today_is() {
    // The README's first curl: the demo over the next 7 days at 60 minutes.
    let s = TestServer::start_with(|o| o.demo = true);
    let today =
        schedplus::protocol::time::Minutes1601::from_timestamp(jiff::Timestamp::now()).floor_day();
    let start = schedplus::protocol::time::format_rfc3339(today.to_timestamp());
    let end =
        schedplus::protocol::time::format_rfc3339(today.plus_minutes(7 * 1440).to_timestamp());
    let r = s.get(&format!(
        "/public/?Cmd=freebusy&start={start}&end={end}&interval=60&u=SMTP:danw@xcs.example&u=SMTP:jsguillet@companyabc.example"
    ));
    let d = fbdata(&r.text());
    assert_eq!(d.len(), 3);
    assert!(d[0].contains('0'), "{d:?}");
    assert!(d[0].contains('2'), "{d:?}");
}

#[test]
fn answer_reflects_a_republish_at_once() {
    let s = seeded();
    s.fb_set(
        "danw@xcs.example",
        NOW,
        &["2008-02-02T18:00:00Z/2008-02-02T19:00:00Z"],
        &[],
        &[],
    );
    assert_eq!(
        fbdata(&s.get(&q("&u=danw@xcs.example")).text())[1],
        "200000"
    );
    use schedplus::app::ops::{Ctx, FbDeleteRequest, Operation};
    let deleted = FbDeleteRequest::new("dwinship")
        .run(&Ctx::new(s.store()))
        .unwrap();
    assert_eq!(deleted.deleted, 1);
    assert_eq!(
        fbdata(&s.get(&q("&u=danw@xcs.example")).text())[1],
        "444444"
    );
}

/// Issue 10: `start`/`end` as real readers send them. Each spelling of 2008-02-02 18:00 UTC
/// to 2008-02-03 00:00 UTC gives the same digits as the canonical one; today `T9:00:00Z`
/// (Microsoft's sample code) is a 400.
#[test]
fn times_as_real_readers_send_them() {
    let s = seeded();
    let want = vec!["002100".to_string(), "002100".to_string()];
    for (start, end) in [
        // Hours without zero padding; the end as a date only (midnight UTC).
        ("2008-02-02T18:00:00Z", "2008-02-03"),
        ("2008-02-02T18:0:0Z", "2008-02-03T0:00:00Z"),
        // `-00:00`, fractional seconds, no zone (UTC).
        ("2008-02-02T18:00:00-00:00", "2008-02-03T00:00:00.000Z"),
        ("2008-02-02T18:00:00.0000000", "2008-02-03T00:00:00"),
        // A raw `+` (decoded as a space): after the time an offset, after the date the
        // separator.
        ("2008-02-02T19:00:00+01:00", "2008-02-03T9:00:00+09:00"),
        ("2008-02-02+18:00:00", "2008-02-03+00:00:00"),
        // The same, percent-encoded.
        ("2008-02-02T19:00:00%2B01:00", "2008-02-02T16:00:00-08:00"),
    ] {
        let r = s.get(&format!(
            "/public/?Cmd=freebusy&start={start}&end={end}&interval=60&u=SMTP:danw@xcs.example"
        ));
        assert_eq!(r.status, 200, "{start} .. {end}: {}", r.text());
        assert_eq!(fbdata(&r.text()), want, "{start} .. {end}");
    }
    let r = s.get("/public/?Cmd=freebusy&start=2008-02-02T:00Z&end=2008-02-03&u=a");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("start"), "{}", r.text());
}
