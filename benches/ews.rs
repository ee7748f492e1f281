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

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use schedplus::app::availability::{CasSettings, ServerOrder};
use schedplus::app::ops::{Ctx, FbSetRequest, ImportRequest, Operation};
use schedplus::protocol::legacy_dn::AdminGroup;
use schedplus::server::{ServeOptions, Server};

const USERS: usize = 200;
const GROUPS: usize = 4;
const NOW: &str = "2026-03-02T09:00:00Z";
const START: &str = "2026-03-01T00:00:00Z";
const END: &str = "2026-04-12T00:00:00Z"; // 42 days

fn env_or(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The directory: USERS users spread over GROUPS admin groups. The front ends resolve
/// addresses in their own copy; only B holds free/busy.
fn directory(store: &schedplus::store::Store) -> Vec<String> {
    let mut csv = String::from("mail,legacyExchangeDN,displayName\n");
    let mut mails = Vec::new();
    for i in 0..USERS {
        let mail = format!("user{i}@bench.example");
        csv.push_str(&format!(
            "{mail},/o=Bench/ou=AG{}/cn=Recipients/cn=user{i},User {i}\n",
            i % GROUPS
        ));
        mails.push(mail);
    }
    ImportRequest {
        text: csv,
        source: "bench".into(),
        ..Default::default()
    }
    .run(&Ctx::new(store))
    .unwrap();
    mails
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

/// Requests per second over `secs` with `clients` keep-alive connections: a GET of `url`,
/// or a POST of `body` to it. Every answer must be 200 and hold `must`.
fn load(url: &str, body: Option<&str>, must: &str, secs: f64, clients: usize) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (stop, done) = (stop.clone(), done.clone());
            let (url, body, must) = (url.to_string(), body.map(str::to_string), must.to_string());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                while !stop.load(Ordering::Relaxed) {
                    let mut r = match &body {
                        Some(b) => agent
                            .post(&url)
                            .header("Content-Type", "text/xml; charset=utf-8")
                            .send(b.as_bytes()),
                        None => agent.get(&url).call(),
                    }
                    .expect("server answers");
                    assert_eq!(r.status(), 200);
                    let text = r
                        .body_mut()
                        .with_config()
                        .limit(1 << 30)
                        .read_to_string()
                        .unwrap();
                    assert!(text.contains(&must), "{}", &text[..text.len().min(2000)]);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
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
    let secs = env_or("BENCH_SECONDS", 3.0);
    let clients = env_or("BENCH_CLIENTS", 2.0) as usize;
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
        "schedplus EWS benchmark: {USERS} users in {GROUPS} admin groups, 42 days, 30-minute slots, {clients} keep-alive clients, {secs}s per scenario"
    );
    for n in [1usize, 100] {
        let users: Vec<String> = mails.iter().take(n).cloned().collect();
        let mut q = format!("{b_url}/?Cmd=freebusy&start={START}&end={END}&interval=30");
        for u in &users {
            q.push_str(&format!("&u=SMTP:{u}"));
        }
        let direct = load(&q, None, "<a:fbdata>", secs, clients);
        let body = soap(&users);
        let via = load(
            &format!("http://{}/EWS/Exchange.asmx", a.addr),
            Some(&body),
            "NoError",
            secs,
            clients,
        );
        let failover = load(
            &format!("http://{}/EWS/Exchange.asmx", a2.addr),
            Some(&body),
            "NoError",
            secs,
            clients,
        );
        println!("{n:>3} mailbox(es): direct ?Cmd=freebusy {direct:>8.1} req/s (baseline)");
        println!(
            "{n:>3} mailbox(es): GetUserAvailability   {via:>8.1} req/s  {:.3} x direct",
            via / direct
        );
        println!(
            "{n:>3} mailbox(es): with one failover     {failover:>8.1} req/s  {:.3} x direct  ({:.2} ms more per request than without)",
            failover / direct,
            (1.0 / failover - 1.0 / via) * 1000.0 * clients as f64
        );
    }
    for s in [a, a2, b] {
        runtime.block_on(s.shutdown());
    }
}
