//! Benchmark: `GetUserAvailability` through the EWS front end against the direct
//! `?Cmd=freebusy` request to the free/busy server it asks, in the same run, and what a
//! failover costs.
//!
//! Run: `cargo bench --bench ews` (env `BENCH_SECONDS`, default 3 per scenario;
//! `BENCH_CLIENTS`, default 2). Two servers in this process on loopback: B, a free/busy
//! server with 200 users in four admin groups; A, a front end whose four admin groups are
//! all on B; A2, the same with a server that refuses connections listed first
//! (`--cas-order listed`), so every request pays one failed connect (event 4003) first.
//! Figures are also given as ratios to the direct query measured in the same run, because
//! these machines are shared and absolute numbers drift.

mod support;
use support::{Load, import_bench_users};

use schedplus::app::availability::{CasSettings, ServerOrder};
use schedplus::app::ops::{Ctx, FbSetRequest, Operation};
use schedplus::protocol::legacy_dn::AdminGroup;
use schedplus::server::{ServeOptions, Server};

const USERS: usize = 200;
const GROUPS: usize = 4;
const NOW: &str = "2026-03-02T09:00:00Z";
const START: &str = "2026-03-01T00:00:00Z";
const END: &str = "2026-04-12T00:00:00Z"; // 42 days

/// The directory: USERS users spread over GROUPS admin groups. The front ends resolve
/// addresses in their own copy; only B holds free/busy.
fn directory(store: &schedplus::store::Store) -> Vec<String> {
    import_bench_users(store, USERS, GROUPS)
}

fn seed(store: &schedplus::store::Store) -> Vec<String> {
    let mails = directory(store);
    for (i, m) in mails.iter().enumerate() {
        // A meeting on each of the first weekdays, at an hour that depends on the user.
        let busy = (2..7)
            .map(|d| {
                let h = 8 + (i + d) % 8;
                format!("2026-03-{d:02}T{h:02}:00:00Z/2026-03-{d:02}T{h:02}:45:00Z")
            })
            .collect();
        FbSetRequest {
            user: m.clone(),
            busy,
            now: Some(NOW.into()),
            ..Default::default()
        }
        .run(&Ctx::new(store))
        .unwrap();
    }
    mails
}

fn soap(mailboxes: &[String]) -> String {
    let m: String = mailboxes
        .iter()
        .map(|a| {
            format!("<t:MailboxData><t:Email><t:Address>{a}</t:Address></t:Email></t:MailboxData>")
        })
        .collect();
    format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Body><m:GetUserAvailabilityRequest><t:TimeZone><t:Bias>0</t:Bias></t:TimeZone><m:MailboxDataArray>{m}</m:MailboxDataArray><t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>{START}</t:StartTime><t:EndTime>{END}</t:EndTime></t:TimeWindow><t:MergedFreeBusyIntervalInMinutes>30</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>MergedOnly</t:RequestedView></t:FreeBusyViewOptions></m:GetUserAvailabilityRequest></s:Body></s:Envelope>"#
    )
}

/// One request first, to check the answer is what is measured (`must` in a 200), then
/// requests per second of `method path`.
fn measure(
    load: &Load,
    base: &str,
    method: &'static str,
    path: &str,
    body: &str,
    must: &str,
) -> f64 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{base}{path}");
    let mut r = if method == "POST" {
        agent
            .post(&url)
            .header("Content-Type", "text/xml; charset=utf-8")
            .send(body.as_bytes())
    } else {
        agent.get(&url).call()
    }
    .expect("the server answers");
    let text = r
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_string()
        .unwrap();
    assert!(text.contains(must), "{}", &text[..text.len().min(2000)]);
    // The load generator sends a 'static body; a bench leaks one per scenario.
    let body: &'static str = Box::leak(body.to_string().into_boxed_str());
    let headers = [("Content-Type", "text/xml; charset=utf-8".to_string())];
    load.run(base, method, path, &headers, body, 200).rps
}

fn start(runtime: &tokio::runtime::Runtime, cas: CasSettings) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = ServeOptions::new(dir.path(), "127.0.0.1:0".parse().unwrap());
    opts.auth = schedplus::auth::AuthSettings::open();
    opts.cas = cas;
    let server = runtime.block_on(Server::start(opts)).unwrap();
    (dir, server)
}

fn main() {
    let load = Load::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_db, b) = start(&runtime, CasSettings::default());
    let mails = seed(b.state.store());
    let b_url = format!("http://{}/public", b.addr);
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/public", l.local_addr().unwrap())
    };
    let groups = |first: &[&str]| CasSettings {
        servers: (0..GROUPS)
            .map(|g| {
                let mut urls: Vec<String> = first.iter().map(|u| u.to_string()).collect();
                urls.push(b_url.clone());
                (
                    AdminGroup::parse(&format!("EX:/o=Bench/ou=AG{g}")).unwrap(),
                    urls,
                )
            })
            .collect(),
        order: ServerOrder::Listed,
        ..CasSettings::default()
    };
    let (_da, a) = start(&runtime, groups(&[]));
    let (_da2, a2) = start(&runtime, groups(&[&dead]));
    for s in [&a, &a2] {
        directory(s.state.store());
    }
    println!(
        "schedplus EWS benchmark: {USERS} users in {GROUPS} admin groups, 42 days, 30-minute slots, {} keep-alive clients, {}s per scenario",
        load.clients, load.secs
    );
    for n in [1usize, 100] {
        let users: Vec<String> = mails.iter().take(n).cloned().collect();
        let mut q = format!("/public/?Cmd=freebusy&start={START}&end={END}&interval=30");
        for u in &users {
            q.push_str(&format!("&u=SMTP:{u}"));
        }
        let b_base = format!("http://{}", b.addr);
        let direct = measure(&load, &b_base, "GET", &q, "", "<a:fbdata>");
        let body = soap(&users);
        let ews = "/EWS/Exchange.asmx";
        let via = measure(
            &load,
            &format!("http://{}", a.addr),
            "POST",
            ews,
            &body,
            "NoError",
        );
        let failover = measure(
            &load,
            &format!("http://{}", a2.addr),
            "POST",
            ews,
            &body,
            "NoError",
        );
        println!("{n:>3} mailbox(es): direct ?Cmd=freebusy {direct:>8.1} req/s (baseline)");
        println!(
            "{n:>3} mailbox(es): GetUserAvailability   {via:>8.1} req/s  {:.3} x direct",
            via / direct
        );
        println!(
            "{n:>3} mailbox(es): with one failover     {failover:>8.1} req/s  {:.3} x direct  ({:.2} ms more per request than without)",
            failover / direct,
            (1.0 / failover - 1.0 / via) * 1000.0 * load.clients as f64
        );
    }
    for s in [a, a2, b] {
        runtime.block_on(s.shutdown());
    }
}
