//! What a replication round costs: the round that brings 100 changes of a 100,000-message
//! folder (issue 14: work proportional to the changes) against a full copy of the folder
//! (a round from change number 0, as a new replica gets), both over HTTP from a real
//! server, into a store of their own, with the ratio.
//!
//! Run with `cargo bench --bench replication` (release build). Knobs: `MESSAGES` (the
//! folder, default 100,000), `CHANGES` (default 100), `REPEATS` (incremental rounds, each
//! after new changes; the median is shown, default 5).
//!
//! The source store is filled in bulk (`Store::fb_create_many`), then served by
//! `Server::start`; the replica pulls with `app::replication::pull_from`, exactly what a
//! round does (pages of 500, JSON, the records decoded, each change applied in its
//! transaction, the mark stored and synced after each page).

use std::time::Instant;

use schedplus::app::replication::{
    Peer, ReplicationSettings, Topology, TopologySettings, pull_from,
};
use schedplus::protocol::fb_message::build_props;
use schedplus::protocol::freebusy::PublishRange;
use schedplus::protocol::legacy_dn::LegacyDn;
use schedplus::protocol::pffb::PublisherStyle;
use schedplus::protocol::time::{Minutes1601, parse_time};
use schedplus::server::{ServeOptions, Server};
use schedplus::store::{PublishedMessage, Store, StoreConfig};

mod support;
use support::{env_or, schedule};

const SECRET: &str = "bench";

/// User `i`'s message, its schedule varied by `seed`.
fn message(i: usize, seed: usize) -> PublishedMessage {
    let now = parse_time("2026-03-02T09:00:00Z").unwrap();
    let range = PublishRange::at(Minutes1601::from_timestamp(now), 2);
    let dn = LegacyDn::parse(&format!("/o=Bench/ou=AG0/cn=Recipients/cn=user{i}")).unwrap();
    let props = build_props(
        &dn,
        &schedule(seed, range),
        range,
        PublisherStyle::Outlook,
        now,
    );
    PublishedMessage {
        folder: dn.admin_group(),
        subject: dn.subject(),
        props,
    }
}

fn topology(name: &str) -> std::sync::Arc<Topology> {
    Topology::new(TopologySettings {
        server_name: name.into(),
        replication: ReplicationSettings {
            secret: Some(SECRET.into()),
            ..Default::default()
        },
        ..Default::default()
    })
}

fn main() {
    let messages = env_or::<usize>("MESSAGES", 100_000);
    let changes = env_or::<usize>("CHANGES", 100);
    let repeats = env_or::<usize>("REPEATS", 5);
    let source_dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    {
        let fill = Store::open(&StoreConfig {
            fdatasync: false,
            ..StoreConfig::new(source_dir.path())
        })
        .unwrap();
        for chunk in (0..messages).collect::<Vec<_>>().chunks(5_000) {
            let batch: Vec<_> = chunk.iter().map(|&i| message(i, i)).collect();
            fill.fb_create_many(&batch, schedplus::app::clock::wall_us())
                .unwrap();
        }
    }
    println!(
        "replication: a folder of {messages} messages made in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut opts = ServeOptions::new(source_dir.path(), "127.0.0.1:0".parse().unwrap());
    opts.topology = TopologySettings {
        server_name: "SRC".into(),
        replication: ReplicationSettings {
            secret: Some(SECRET.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let server = runtime.block_on(Server::start(opts)).unwrap();
    let source = server.state.store().clone();
    let peer = Peer {
        name: "SRC".into(),
        url: format!("http://{}", server.addr),
    };
    let replica_dir = tempfile::tempdir().unwrap();
    let replica = Store::open(&StoreConfig::new(replica_dir.path())).unwrap();
    let me = topology("REPLICA");
    let now = schedplus::app::clock::wall_us;

    let t = Instant::now();
    let full = pull_from(&me, &replica, &peer, now()).unwrap();
    let full_s = t.elapsed().as_secs_f64();
    assert_eq!(replica.stats().messages, messages as u64);
    println!(
        "full copy: {} changes ({} pages) in {full_s:.3} s",
        full.applied(),
        full.pages
    );

    let mut rounds = Vec::new();
    for r in 0..repeats {
        for k in 0..changes {
            let i = (r * changes + k) * 997 % messages;
            source.publish(&message(i, i + 1 + r), now()).unwrap();
        }
        let t = Instant::now();
        let round = pull_from(&me, &replica, &peer, now()).unwrap();
        rounds.push(t.elapsed().as_secs_f64());
        assert_eq!(round.stored, changes as u64, "round {r}");
    }
    rounds.sort_by(f64::total_cmp);
    let median = rounds[rounds.len() / 2];
    println!(
        "round with {changes} changes: median {:.2} ms over {repeats} rounds (min {:.2}, max {:.2})",
        median * 1e3,
        rounds[0] * 1e3,
        rounds[rounds.len() - 1] * 1e3
    );
    println!(
        "full copy / round: {:.0}x (changes / messages: 1/{:.0})",
        full_s / median,
        messages as f64 / changes as f64
    );
    runtime.block_on(server.shutdown());
}
