//! Benchmark: what sign-in costs a request (issue 5).
//!
//! Run: `cargo bench --bench auth` (env `BENCH_SECONDS`, default 3 per scenario;
//! `BENCH_CLIENTS`, default 2). Two servers with the demo directory, one `--auth none` and
//! one `--auth basic` with passwords set. Every figure is a ratio against a baseline from
//! the same run (anonymous `GET /healthz` for sign-in itself; the same PROPPATCH on the
//! `--auth none` server for writes), because these machines are shared and absolute numbers
//! drift. The in-process Argon2 rate shows what a request with a wrong password costs.

use std::time::Instant;

use base64::Engine;
use schedplus::auth::{AuthSettings, hash_password, verify_password_with};
use schedplus::protocol::legacy_dn::LegacyDn;
use schedplus::server::{ServeOptions, Server};
use schedplus::store::canonical_leaf;
use schedplus::transport::webdav::path::fb_item_href;

mod support;
use support::{Load, import_csv};

const DAN: &str = "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=dwinship";
const NOTE: &str = r#"<?xml version="1.0"?><a:propertyupdate xmlns:a="DAV:"><a:set><a:prop><x:note xmlns:x="urn:bench:">n</x:note></a:prop></a:set></a:propertyupdate>"#;

fn start(rt: &tokio::runtime::Runtime, dir: &std::path::Path, auth: AuthSettings) -> Server {
    let mut opts = ServeOptions::new(dir, "127.0.0.1:0".parse().unwrap());
    opts.auth = auth;
    let server = rt.block_on(Server::start(opts)).unwrap();
    import_csv(
        server.state.store(),
        schedplus::app::demo::DIRECTORY_CSV.into(),
        "demo",
    );
    let dn = LegacyDn::parse(DAN).unwrap();
    let hash = hash_password("pw").unwrap();
    server
        .state
        .store()
        .update_credential(&dn, |c| c.password_hash = Some(hash))
        .unwrap();
    server
}

fn main() {
    let run = Load::from_env();
    let (secs, clients) = (run.secs, run.clients);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let open = start(&rt, d1.path(), AuthSettings::open());
    let basic = start(&rt, d2.path(), AuthSettings::default());
    let (open_base, basic_base) = (
        format!("http://{}", open.addr),
        format!("http://{}", basic.addr),
    );
    let b64 = |s: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    };
    let good = vec![("Authorization", b64("dwinship:pw"))];
    let wrong = vec![("Authorization", b64("dwinship:nope"))];
    let dn = LegacyDn::parse(DAN).unwrap();
    let item = fb_item_href(&dn.admin_group(), &canonical_leaf(&dn.subject()));
    let brief = ("Brief", "t".to_string());

    println!("schedplus sign-in benchmark: {clients} keep-alive clients, {secs}s per scenario");
    let base_rps = run.run(&basic_base, "GET", "/healthz", &[], "", 200).rps;
    println!(
        "{:<52} {:>9.0} req/s  (baseline)",
        "GET /healthz, anonymous", base_rps
    );
    let rps = run.run(&basic_base, "GET", "/healthz", &good, "", 200).rps;
    println!(
        "{:<52} {:>9.0} req/s  {:>6.3} x baseline",
        "GET /healthz, Basic (verified once, then cached)",
        rps,
        rps / base_rps
    );
    let rps = run.run(&basic_base, "GET", "/healthz", &wrong, "", 401).rps;
    println!(
        "{:<52} {:>9.1} req/s  {:>6.4} x baseline",
        "GET /healthz, wrong password (Argon2 every time)",
        rps,
        rps / base_rps
    );

    let open_patch = run
        .run(
            &open_base,
            "PROPPATCH",
            &item,
            std::slice::from_ref(&brief),
            NOTE,
            200,
        )
        .rps;
    println!(
        "{:<52} {:>9.0} req/s  (baseline)",
        "PROPPATCH own message, --auth none", open_patch
    );
    let mut signed = good.clone();
    signed.push(brief);
    let rps = run
        .run(&basic_base, "PROPPATCH", &item, &signed, NOTE, 200)
        .rps;
    println!(
        "{:<52} {:>9.0} req/s  {:>6.3} x baseline",
        "PROPPATCH own message, --auth basic (owner rule)",
        rps,
        rps / open_patch
    );
    rt.block_on(open.shutdown());
    rt.block_on(basic.shutdown());

    // Argon2 in process: the cost a wrong password puts on the server, per core.
    let phc = hash_password("pw").unwrap();
    let mut memory = Vec::new();
    let started = Instant::now();
    let mut n = 0u32;
    while started.elapsed().as_secs_f64() < secs / 2.0 {
        assert!(verify_password_with(&phc, "pw", &mut memory));
        n += 1;
    }
    let per = started.elapsed().as_secs_f64() / f64::from(n);
    println!(
        "{:<52} {:>9.1} /s     {:.1} ms each, one core",
        "Argon2id verify (19 MiB, t=2), reused memory",
        1.0 / per,
        per * 1000.0
    );
}
