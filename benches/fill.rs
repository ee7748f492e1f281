//! Fixtures for `scripts/bench.sh`: a directory file of N users and, in a store where it was
//! imported (by `schedplus directory import`, which the script measures), one free/busy
//! message per user. Not a measurement itself; it prints what it made and how long it took.
//!
//! - `FILL_CSV=FILE FILL_USERS=N FILL_FOLDER=K cargo bench --bench fill` writes the csvde
//!   file: users `user<i>@bench.example`, the first K in admin group `AG0` (the folder the
//!   PROPFIND row lists), the others spread over `AG1`…`AG3`.
//! - `FILL_DATA=DIR FILL_USERS=N FILL_FOLDER=K cargo bench --bench fill` publishes a message
//!   for each of those users into the store at DIR (no server may hold it): three months of
//!   a working schedule from 2026-03-01, in bulk (`Store::fb_create_many`).

use std::io::Write;
use std::time::Instant;

use schedplus::protocol::fb_message::build_props;
use schedplus::protocol::freebusy::PublishRange;
use schedplus::protocol::legacy_dn::LegacyDn;
use schedplus::protocol::pffb::PublisherStyle;
use schedplus::protocol::time::{Minutes1601, parse_time};
use schedplus::store::{PublishedMessage, Store, StoreConfig};

mod support;
use support::{env_or, schedule};

const NOW: &str = "2026-03-02T09:00:00Z";

/// The legacyExchangeDN of user `i` when the first `folder` users share `AG0`.
fn dn(i: u64, folder: u64) -> String {
    let group = if i < folder { 0 } else { 1 + i % 3 };
    format!("/o=Bench/ou=AG{group}/cn=Recipients/cn=user{i}")
}

fn main() {
    let users = env_or::<u64>("FILL_USERS", 1000);
    let folder = env_or::<u64>("FILL_FOLDER", users);
    let started = Instant::now();
    if let Some(csv) = std::env::var_os("FILL_CSV") {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
        writeln!(out, "mail,legacyExchangeDN,displayName").unwrap();
        for i in 0..users {
            writeln!(out, "user{i}@bench.example,{},User {i}", dn(i, folder)).unwrap();
        }
        out.flush().unwrap();
        println!(
            "fill: wrote {users} users to {} in {:.1} s",
            csv.to_string_lossy(),
            started.elapsed().as_secs_f64()
        );
    }
    if let Some(data) = std::env::var_os("FILL_DATA") {
        let store = Store::open(&StoreConfig::new(&data)).unwrap();
        let now = parse_time(NOW).unwrap();
        let range = PublishRange::at(Minutes1601::from_timestamp(now), 3);
        let mut batch = Vec::with_capacity(1000);
        let mut made = 0;
        for i in 0..users {
            let dn = LegacyDn::parse(&dn(i, folder)).unwrap();
            let fb = schedule(i as usize, range);
            batch.push(PublishedMessage {
                folder: dn.admin_group(),
                subject: dn.subject(),
                props: build_props(&dn, &fb, range, PublisherStyle::Outlook, now),
            });
            if batch.len() == 1000 || i + 1 == users {
                made += store
                    .fb_create_many(&batch, schedplus::app::Clock::System.now_us())
                    .unwrap();
                batch.clear();
            }
        }
        println!(
            "fill: published {made} messages into {} in {:.1} s",
            data.to_string_lossy(),
            started.elapsed().as_secs_f64()
        );
    }
}
