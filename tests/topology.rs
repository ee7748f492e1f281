//! Issue 14 items 1–3: several free/busy servers on loopback, each its own `schedplus
//! serve` process (the metrics recorder is per process): a folder without a replica is 503,
//! servers of one organization converge by replication, a server killed mid-round catches
//! up, and an Exchsync link pushes one way with its event-107 counts.
//!
//! Intervals are a second; nothing is timed: each test waits for a positive event (an
//! answer, a metric, a log line) with a generous deadline.

use std::time::{Duration, Instant};

use crate::common::{ServeProcess, http, message_url};

const SECRET: &str = "s3cret-for-tests";
const DEADLINE: Duration = Duration::from_secs(90);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One server of a lab: its name, port and data directory.
struct Node {
    name: &'static str,
    port: u16,
    dir: tempfile::TempDir,
}

impl Node {
    fn new(name: &'static str) -> Node {
        Node {
            name,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `NAME=URL` for `replication_peers`.
    fn peer(&self) -> String {
        format!("{}={}", self.name, self.url())
    }

    /// Start `schedplus serve` here with `env` (and the name, the secret, open writes).
    fn start(&self, env: &[(&str, &str)]) -> ServeProcess {
        let data = self.dir.path();
        // A killed server leaves its server.json behind; the new one writes its own.
        let _ = std::fs::remove_file(data.join("server.json"));
        let listen = format!("127.0.0.1:{}", self.port);
        let mut all = vec![
            ("SCHEDPLUS_SERVER_NAME", self.name),
            ("SCHEDPLUS_REPLICATION_SECRET", SECRET),
            ("SCHEDPLUS_REPLICATION_INTERVAL", "1s"),
            ("SCHEDPLUS_EXCHSYNC_INTERVAL", "1s"),
            ("SCHEDPLUS_AUTH", "none"),
            ("SCHEDPLUS_METRICS", "anonymous"),
            ("RUST_LOG", "info"),
        ];
        all.extend_from_slice(env);
        ServeProcess::spawn(
            data,
            &["--data", data.to_str().unwrap()],
            &["--listen", &listen],
            &all,
        )
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < DEADLINE, "waited {DEADLINE:?} for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A PROPPATCH that creates or rewrites `dn`'s free/busy message, marked `mark` (a
/// property of its own, read back by [`mark_of`]).
fn message_body(dn: &str, mark: &str) -> Vec<u8> {
    let dn = schedplus::protocol::legacy_dn::LegacyDn::parse(dn).unwrap();
    let subject = dn.subject();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<a:propertyupdate xmlns:a="DAV:" xmlns:b="urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/" xmlns:c="xml:" xmlns:d="http://schemas.microsoft.com/mapi/proptag/" xmlns:t="urn:schedplus:test:">
  <a:set><a:prop>
    <d:x68470003 b:dt="int">214104960</d:x68470003>
    <d:x68480003 b:dt="int">214191360</d:x68480003>
    <d:x6849001F>{dn}</d:x6849001F>
    <d:x68531003 b:dt="mv.int"><c:v>32130</c:v></d:x68531003>
    <d:x68541102 b:dt="mv.bin.base64"><c:v>UAqMCg==</c:v></d:x68541102>
    <d:x0E1D001F>{subject}</d:x0E1D001F>
    <d:x0037001F>{subject}</d:x0037001F>
    <t:mark>{mark}</t:mark>
  </a:prop></a:set>
</a:propertyupdate>"#,
        dn = dn.as_str(),
        subject = subject.as_str(),
    )
    .into_bytes()
}

fn write(base: &str, dn: &str, mark: &str) {
    let r = http(
        base,
        "PROPPATCH",
        &message_url(dn),
        &[("Content-Type", "text/xml")],
        Some(&message_body(dn, mark)),
    );
    assert!(
        r.status == 207 || r.status == 200,
        "PROPPATCH {dn} on {base}: {} {}",
        r.status,
        r.text()
    );
}

/// The mark of `dn`'s message on `base`, if it has one.
fn mark_of(base: &str, dn: &str) -> Option<String> {
    let body = br#"<?xml version="1.0"?><a:propfind xmlns:a="DAV:" xmlns:t="urn:schedplus:test:"><a:prop><t:mark/></a:prop></a:propfind>"#;
    let r = http(
        base,
        "PROPFIND",
        &message_url(dn),
        &[("Depth", "0")],
        Some(body),
    );
    if r.status != 207 {
        return None;
    }
    let text = r.text();
    let start = text.find(":mark")?;
    let rest = &text[start..];
    let open = rest.find('>')? + 1;
    let close = rest[open..].find('<')? + open;
    Some(rest[open..close].to_string()).filter(|m| !m.is_empty())
}

/// The sum of a metric's samples whose labels contain every one of `labels`.
fn metric(base: &str, name: &str, labels: &[&str]) -> f64 {
    let r = http(base, "GET", "/metrics", &[], None);
    r.text()
        .lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter(|l| l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn log_of(p: &ServeProcess) -> String {
    std::fs::read_to_string(&p.log).unwrap_or_default()
}

const AG1: &str = "EX:/o=Org/ou=AG1";
fn dn(ag: u8, alias: &str) -> String {
    format!("/o=Org/ou=AG{ag}/cn=Recipients/cn={alias}")
}

/// Item 1: a server holding only AG1 answers 503 for AG2 (the free/busy query for its
/// users, PROPFIND, PROPPATCH), naming FB02 once FB02 has told it (by replication) that it
/// holds AG2; the browse page and /metrics name the server and its replicas.
#[test]
fn a_folder_without_a_replica_is_503_naming_the_servers_that_hold_one() {
    let (one, two) = (Node::new("FB01"), Node::new("FB02"));
    let p1 = one.start(&[
        ("SCHEDPLUS_REPLICAS", AG1),
        ("SCHEDPLUS_REPLICATION_PEERS", &two.peer()),
        ("SCHEDPLUS_ORGANIZATION", "Org"),
    ]);
    let p2 = two.start(&[
        ("SCHEDPLUS_REPLICAS", "EX:/o=Org/ou=AG2"),
        ("SCHEDPLUS_REPLICATION_PEERS", &one.peer()),
    ]);
    write(&p1.base, &dn(1, "ann"), "a1");
    write(&p2.base, &dn(2, "bob"), "b1");
    let q = "/public/?Cmd=freebusy&start=2008-02-01T00:00:00Z&end=2008-02-02T00:00:00Z&interval=60";
    let ex = |d: &str| format!("{q}&u=EX:{d}");
    // Once FB01 has asked FB02 for changes, it knows FB02 holds AG2.
    wait_until("FB01 to name FB02 as AG2's holder", || {
        let r = http(&p1.base, "GET", &ex(&dn(2, "bob")), &[], None);
        r.status == 503 && r.text().contains(&format!("FB02 {}", two.url()))
    });
    let r = http(&p1.base, "GET", &ex(&dn(2, "bob")), &[], None);
    assert!(
        r.text().contains(
            "no replica of the public folder 'EX:/o=Org/ou=AG2' is on this server (FB01)"
        ),
        "{}",
        r.text()
    );
    assert_eq!(
        http(&p1.base, "GET", &ex(&dn(1, "ann")), &[], None).status,
        200
    );
    // Asked again, Ann's answer is kept whole (and skips the gate it passed); a query
    // naming Bob as well is still refused.
    assert_eq!(
        http(&p1.base, "GET", &ex(&dn(1, "ann")), &[], None).status,
        200
    );
    let both = format!("{}&u=EX:{}", ex(&dn(1, "ann")), dn(2, "bob"));
    assert_eq!(http(&p1.base, "GET", &both, &[], None).status, 503);
    // WebDAV: a read and a write under AG2, and the folder itself.
    let propfind = http(
        &p1.base,
        "PROPFIND",
        &message_url(&dn(2, "bob")),
        &[("Depth", "0")],
        None,
    );
    assert_eq!(propfind.status, 503, "{}", propfind.text());
    let r = http(
        &p1.base,
        "PROPPATCH",
        &message_url(&dn(2, "carl")),
        &[],
        Some(&message_body(&dn(2, "carl"), "c1")),
    );
    assert_eq!(r.status, 503);
    // A server holding AG2 knows nothing of a holder of AG1 it was never told about.
    let r = http(&p2.base, "GET", &ex(&dn(1, "ann")), &[], None);
    assert_eq!(r.status, 503);
    // Nothing of AG2 was replicated to FB01, nor of AG1 to FB02.
    assert_eq!(mark_of(&p1.base, &dn(1, "ann")).as_deref(), Some("a1"));
    let page = http(&p1.base, "GET", "/", &[], None).text();
    assert!(
        page.contains("server FB01 of Org; replicas: EX:/o=Org/ou=AG1"),
        "{page}"
    );
    assert_eq!(
        metric(
            &p1.base,
            "schedplus_server_info",
            &["server=\"FB01\"", "organization=\"Org\""]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &p1.base,
            "schedplus_server_replica",
            &["folder=\"EX:/o=Org/ou=AG1\""]
        ),
        1.0
    );
    drop(p2);
}

/// Without the secret the endpoint answers nobody; with a wrong one, 403 too.
#[test]
fn the_replication_endpoint_wants_the_secret() {
    let one = Node::new("FB01");
    let p1 = one.start(&[]);
    let ask = br#"{"from":"X","since":0,"limit":10,"folders":null}"#;
    let r = http(&p1.base, "POST", "/replication/changes", &[], Some(ask));
    assert_eq!(r.status, 403);
    let wrong = [("X-Schedplus-Replication-Secret", "nope")];
    assert_eq!(
        http(&p1.base, "POST", "/replication/changes", &wrong, Some(ask)).status,
        403
    );
    let right = [("X-Schedplus-Replication-Secret", SECRET)];
    let r = http(&p1.base, "POST", "/replication/changes", &right, Some(ask));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("\"server\":\"FB01\""));
    assert_eq!(
        http(&p1.base, "GET", "/replication/changes", &right, None).status,
        405
    );
    assert!(!log_of(&p1).contains(SECRET), "the secret is never logged");
    let two = Node::new("FB02");
    let p2 = two.start(&[("SCHEDPLUS_REPLICATION_SECRET", "")]);
    assert_eq!(
        http(&p2.base, "POST", "/replication/changes", &right, Some(ask)).status,
        403
    );
}

/// Item 2: three servers in a chain (FB01 ↔ FB02 ↔ FB03): writes on FB01 and FB03 reach
/// every server (FB03's through FB02), a rewrite too, and a deletion on FB03 reaches FB01.
/// Then nothing more moves: applied changes do not bounce.
#[test]
fn writes_on_different_servers_converge_and_a_delete_replicates() {
    let (one, two, three) = (Node::new("FB01"), Node::new("FB02"), Node::new("FB03"));
    let p1 = one.start(&[("SCHEDPLUS_REPLICATION_PEERS", &two.peer())]);
    let both = format!("{};{}", one.peer(), three.peer());
    let p2 = two.start(&[("SCHEDPLUS_REPLICATION_PEERS", &both)]);
    let p3 = three.start(&[("SCHEDPLUS_REPLICATION_PEERS", &two.peer())]);
    let all = [&p1.base, &p2.base, &p3.base];
    write(&p1.base, &dn(1, "ann"), "ann-1");
    write(&p3.base, &dn(2, "bob"), "bob-1");
    let everywhere =
        |d: &str, mark: Option<&str>| all.iter().all(|b| mark_of(b, d).as_deref() == mark);
    wait_until("ann and bob on every server", || {
        everywhere(&dn(1, "ann"), Some("ann-1")) && everywhere(&dn(2, "bob"), Some("bob-1"))
    });
    write(&p2.base, &dn(1, "ann"), "ann-2");
    wait_until("ann's rewrite everywhere", || {
        everywhere(&dn(1, "ann"), Some("ann-2"))
    });
    let r = http(&p3.base, "DELETE", &message_url(&dn(1, "ann")), &[], None);
    assert!(r.status == 204 || r.status == 200, "{}", r.status);
    wait_until("ann's deletion everywhere", || {
        everywhere(&dn(1, "ann"), None)
    });
    assert_eq!(mark_of(&p1.base, &dn(2, "bob")).as_deref(), Some("bob-1"));
    // Converged: a few more rounds apply nothing anywhere.
    let applied = |b: &str| metric(b, "schedplus_replication_changes_applied_total", &[]);
    let rounds = |b: &str| metric(b, "schedplus_replication_rounds_total", &["outcome=\"ok\""]);
    let before: Vec<f64> = all.iter().map(|b| applied(b)).collect();
    let r0: Vec<f64> = all.iter().map(|b| rounds(b)).collect();
    wait_until("three more rounds on every server", || {
        all.iter().zip(&r0).all(|(b, r)| rounds(b) >= r + 3.0)
    });
    let after: Vec<f64> = all.iter().map(|b| applied(b)).collect();
    assert_eq!(before, after, "changes kept moving after convergence");
    assert!(before.iter().all(|n| *n > 0.0));
    assert!(log_of(&p2).contains("replication round"));
}

/// Item 2: the same message changed on two servers while they did not replicate (each
/// started alone first): once they replicate, both hold the later write, and the loser
/// is logged and counted.
#[test]
fn a_conflict_resolves_the_same_way_on_every_server() {
    let (one, two) = (Node::new("FB01"), Node::new("FB02"));
    let d = dn(1, "ann");
    {
        let (p1, p2) = (
            one.start(&[("SCHEDPLUS_REPLICATION_PEERS", &two.peer())]),
            two.start(&[("SCHEDPLUS_REPLICATION_PEERS", &one.peer())]),
        );
        write(&p1.base, &d, "first");
        wait_until("the first version on FB02", || {
            mark_of(&p2.base, &d).as_deref() == Some("first")
        });
    }
    // Apart: each changes ann, FB01 first, FB02 later (after FB01's server has stopped).
    {
        let p1 = one.start(&[]);
        write(&p1.base, &d, "from-FB01");
    }
    {
        let p2 = two.start(&[]);
        write(&p2.base, &d, "from-FB02");
    }
    let p1 = one.start(&[("SCHEDPLUS_REPLICATION_PEERS", &two.peer())]);
    let p2 = two.start(&[("SCHEDPLUS_REPLICATION_PEERS", &one.peer())]);
    wait_until("both to hold FB02's later write", || {
        mark_of(&p1.base, &d).as_deref() == Some("from-FB02")
            && mark_of(&p2.base, &d).as_deref() == Some("from-FB02")
    });
    let conflicts = |b: &str| metric(b, "schedplus_replication_conflicts_total", &[]);
    wait_until("the conflict counted", || {
        conflicts(&p1.base) + conflicts(&p2.base) >= 1.0
    });
    let logs = log_of(&p1) + &log_of(&p2);
    assert!(logs.contains("replication conflict"), "{logs}");
    assert!(logs.contains("loser=FB01"), "{logs}");
}

/// Item 2: a server killed while it pulls a large folder (several pages) starts again and
/// ends with every message, each as written: nothing acknowledged was lost, nothing is
/// missing.
#[test]
fn a_server_killed_mid_round_catches_up_with_nothing_lost() {
    let (one, two) = (Node::new("FB01"), Node::new("FB02"));
    const N: usize = 1200;
    let p1 = one.start(&[]);
    // Written on FB01 alone, a few writers at once.
    std::thread::scope(|s| {
        for t in 0..4 {
            let base = p1.base.clone();
            s.spawn(move || {
                for i in (t..N).step_by(4) {
                    write(&base, &dn(1, &format!("u{i}")), &format!("m{i}"));
                }
            });
        }
    });
    drop(p1);
    let p1 = one.start(&[("SCHEDPLUS_REPLICATION_PEERS", &two.peer())]);
    let mut p2 = two.start(&[("SCHEDPLUS_REPLICATION_PEERS", &one.peer())]);
    let held = |b: &str| metric(b, "schedplus_store_messages", &[]);
    wait_until("FB02 to have begun", || held(&p2.base) > 0.0);
    let at_kill = held(&p2.base);
    p2.child.kill().unwrap();
    p2.child.wait().unwrap();
    eprintln!("FB02 was killed holding {at_kill} of {N} messages");
    let p2 = two.start(&[("SCHEDPLUS_REPLICATION_PEERS", &one.peer())]);
    wait_until("FB02 to hold all", || held(&p2.base) == N as f64);
    for i in (0..N).step_by(37) {
        assert_eq!(
            mark_of(&p2.base, &dn(1, &format!("u{i}"))).as_deref(),
            Some(format!("m{i}").as_str()),
            "u{i} (FB02 held {at_kill} messages when killed)"
        );
    }
    drop(p1);
}

/// Item 3: a one-way Exchsync link from organization A's server to organization B's pushes
/// the link's folder (not the other), logs event 107 with the session's real counts and
/// exports them; a deletion is pushed as one; nothing comes back the other way.
#[test]
fn a_one_way_exchsync_link_pushes_its_folders_with_event_107_counts() {
    let (src, dst) = (Node::new("FBA"), Node::new("FBB"));
    let (a1, a2) = (dn(1, "ann"), dn(2, "bob"));
    let more = [dn(1, "cid"), dn(1, "dee")];
    {
        let p = src.start(&[]);
        for d in [&a1, &a2, &more[0], &more[1]] {
            write(&p.base, d, "v1");
        }
    }
    let pd = dst.start(&[
        ("SCHEDPLUS_ORGANIZATION", "Org B"),
        ("SCHEDPLUS_REPLICATION_SECRET", "dst-secret"),
    ]);
    write(&pd.base, "/o=OrgB/ou=Here/cn=Recipients/cn=zed", "b");
    let link = format!("TOB|{}|{AG1}", dst.url());
    let ps = src.start(&[
        ("SCHEDPLUS_EXCHSYNC_LINKS", &link),
        ("SCHEDPLUS_EXCHSYNC_SECRET", "dst-secret"),
    ]);
    let first = "Statistics for Free/Busy replication session 'TOB' [3 Message Changes, 0 Message Deletions, 0 Message Ignores, 0 Message Errors, 1 Folder Changes, 0 Folder Deletions, 0 Folder Ignores, 0 Folder Errors]";
    wait_until("the first session's event 107", || {
        log_of(&ps).contains(first)
    });
    for d in [&a1, &more[0], &more[1]] {
        assert_eq!(mark_of(&pd.base, d).as_deref(), Some("v1"), "{d}");
    }
    assert_eq!(mark_of(&pd.base, &a2), None, "AG2 is not on the link");
    let kind = |k: &str| {
        metric(
            &ps.base,
            "schedplus_exchsync_items_total",
            &["link=\"TOB\"", &format!("kind=\"{k}\"")],
        )
    };
    assert_eq!(kind("message_changes"), 3.0);
    assert_eq!(kind("folder_changes"), 1.0);
    // A deletion and a change, in a later session.
    let r = http(&ps.base, "DELETE", &message_url(&more[1]), &[], None);
    assert!(r.status == 204 || r.status == 200);
    write(&ps.base, &more[0], "v2");
    wait_until("the deletion and the change at the destination", || {
        mark_of(&pd.base, &more[1]).is_none()
            && mark_of(&pd.base, &more[0]).as_deref() == Some("v2")
    });
    wait_until("the counts of both", || {
        kind("message_deletions") == 1.0 && kind("message_changes") == 4.0
    });
    assert!(log_of(&ps).contains("1 Message Deletions"));
    // One way: the destination's own message never reaches the source.
    assert_eq!(
        mark_of(&ps.base, "/o=OrgB/ou=Here/cn=Recipients/cn=zed"),
        None
    );
    // A link whose destination refuses the secret is counted as failing, not as done.
    let bad = format!("BAD|{}|*", dst.url());
    drop(ps);
    let ps = src.start(&[("SCHEDPLUS_EXCHSYNC_LINKS", &bad)]);
    wait_until("the refused session counted", || {
        metric(
            &ps.base,
            "schedplus_exchsync_failures_total",
            &["link=\"BAD\""],
        ) >= 1.0
    });
    assert!(!log_of(&ps).contains("session 'BAD' ["));
}

/// Item 2: a peer whose store was replaced (a new data directory under the same name and
/// address) starts its change numbers again; the other server notices and replicates it
/// from the start instead of waiting for numbers it has already passed.
#[test]
fn a_peer_with_a_new_store_is_replicated_from_the_start() {
    let (one, two) = (Node::new("FB01"), Node::new("FB02"));
    let p2 = two.start(&[("SCHEDPLUS_REPLICATION_PEERS", &one.peer())]);
    {
        let p1 = one.start(&[]);
        for i in 0..5 {
            write(&p1.base, &dn(1, &format!("old{i}")), "old");
        }
        wait_until("FB02 to have FB01's old messages", || {
            mark_of(&p2.base, &dn(1, "old4")).is_some()
        });
    }
    let fresh = Node {
        name: "FB01",
        port: one.port,
        dir: tempfile::tempdir().unwrap(),
    };
    let p1 = fresh.start(&[]);
    write(&p1.base, &dn(1, "new"), "new");
    wait_until("FB02 to have the new store's message", || {
        mark_of(&p2.base, &dn(1, "new")).as_deref() == Some("new")
    });
    assert!(log_of(&p2).contains("change numbers went back"));
}
