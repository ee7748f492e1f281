//! Crash safety, in the style of sled's own crash test: this test binary re-executes itself
//! as a child (`SCHEDPLUS_CRASH_CHILD=1 … --exact crash::child`), the child writes to a
//! store as fast as it can, the parent kills it with SIGKILL at a random moment, reopens
//! the store and checks that every write was all or nothing and that nothing the poller
//! still owes was forgotten. The same over HTTP: `schedplus serve` is killed while clients
//! PROPPATCH, restarted on the same store, killed again, and every PROPPATCH it answered
//! must be on disk whole. Then a clean stop: `schedplus serve` gets SIGTERM while clients
//! write and read, and every write it acknowledged must be on disk.
//!
//! The child's writes are chosen so that every record has a small set of valid contents
//! the parent can model exactly: each calendar is "version 0", "version 1" or deleted, the
//! directory one of two files, each PROPPATCH-written user a list of messages (a canonical
//! one and the `-1`, `-2` duplicates third-party writers make, each version 0 or 1) that
//! MadFB's cleanup folds back into one. A torn write shows up as a record that is none of
//! these. `SCHEDPLUS_CRASH_ROUNDS=500` runs more kills by hand; `SCHEDPLUS_CRASH_SEED`
//! replays a failing round's random choices (the timing of the kill itself cannot be
//! replayed).

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use schedplus::app::Clock;
use schedplus::app::ops::{Cleanup, Ctx, Operation};
use schedplus::app::poller::{CleanupAt, Poller};
use schedplus::protocol::address::UserAddress;
use schedplus::protocol::dav_xml::values::{escape_text, write_content};
use schedplus::protocol::legacy_dn::AdminGroup;
use schedplus::protocol::legacy_dn::LegacyDn;
use schedplus::protocol::mapi::PropChange;
use schedplus::protocol::mapi::{PropName, PropValue};
use schedplus::protocol::pffb::PffbKind;
use schedplus::publishing::calendar;
use schedplus::publishing::publisher::{PublishSettings, build_message, republish_user};
use schedplus::server::{SERVER_FILE, ServerInfo};
use schedplus::store::{
    CalendarSource, FbPatchOutcome, MessageRecord, Store, StoreConfig, StoreError, StoredFreeBusy,
    UserRecord, canonical_leaf,
};
use schedplus::store::{DirtyReason, Writer};
use schedplus::transport::webdav::path::fb_item_href;

const CHILD_ENV: &str = "SCHEDPLUS_CRASH_CHILD";
const DIR_ENV: &str = "SCHEDPLUS_CRASH_DIR";
const SEED_ENV: &str = "SCHEDPLUS_CRASH_SEED";
const ROUNDS_ENV: &str = "SCHEDPLUS_CRASH_ROUNDS";

/// Users `0..CAL_USERS` have calendars and are published by the poller; the rest have no
/// calendar and are written by PROPPATCH only, so the two writers never share a message
/// and "the message matches the stored calendar" stays a meaningful check.
const USERS: usize = 50;
const CAL_USERS: usize = 25;
/// URL leaves a PROPPATCH user's messages may have: 0 is the canonical `SUBJECT.EML`,
/// `k` the `SUBJECT-k.EML` of a duplicate.
const LEAVES: usize = 3;

/// xorshift64*: enough randomness to pick users and kill times, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn now() -> jiff::Timestamp {
    "2026-03-02T12:00:00Z".parse().unwrap()
}

fn settings() -> PublishSettings {
    PublishSettings::default()
}

fn legacy_dn(i: usize) -> LegacyDn {
    // Three admin groups, so the check walks several folders.
    LegacyDn::parse(&format!("/o=Crash/ou=AG{}/cn=Recipients/cn=u{i:02}", i % 3)).unwrap()
}

/// User `i` as directory file `version` describes them: the display name and one proxy
/// address differ between the versions, so a half-applied import would show.
fn user(i: usize, version: usize) -> UserRecord {
    UserRecord {
        legacy_dn: legacy_dn(i),
        mail: format!("u{i:02}@crash.example"),
        display_name: format!("User {i:02} v{version}"),
        alias: format!("u{i:02}"),
        proxy_addresses: vec![
            format!("SMTP:u{i:02}@crash.example"),
            format!("smtp:u{i:02}.v{version}@crash.example"),
        ],
    }
}

fn directory(version: usize) -> Vec<UserRecord> {
    (0..USERS).map(|i| user(i, version)).collect()
}

/// User `i`'s calendar, version `version`. Version 1 adds a tentative meeting, so the two
/// versions' messages differ in which month/block properties are set, not only in values.
fn calendar_text(i: usize, version: usize) -> String {
    let mut s = String::from("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//schedplus//crash//EN\n");
    s.push_str(&format!(
        "BEGIN:VEVENT\nUID:crash-{i}-a\nDTSTART:202603{:02}T{:02}0000Z\nDURATION:PT1H\nRRULE:FREQ=WEEKLY;COUNT=6\nEND:VEVENT\n",
        3 + version,
        8 + i % 8
    ));
    if version == 1 {
        s.push_str(&format!(
            "BEGIN:VEVENT\nUID:crash-{i}-b\nDTSTART:20260305T{:02}3000Z\nDURATION:PT30M\nSTATUS:TENTATIVE\nEND:VEVENT\n",
            8 + i % 9
        ));
    }
    s.push_str("END:VCALENDAR\n");
    s
}

/// The whole message a publish of `calendar_text(i, version)` at [`now`] writes.
fn expected_props(i: usize, version: usize) -> BTreeMap<PropName, PropValue> {
    let cal = calendar::parse(&calendar_text(i, version)).unwrap();
    build_message(&user(i, 0), &cal, now(), &settings())
        .unwrap()
        .0
        .props
}

/// The URL leaf number `k` of user `i`'s messages (see [`LEAVES`]), as Exchange numbers
/// duplicates.
fn leaf_name(i: usize, k: usize) -> String {
    let subject = legacy_dn(i).subject();
    match k {
        0 => canonical_leaf(&subject),
        k => format!("{}-{k}.EML", subject.as_str()),
    }
}

/// A PROPPATCH that turns either version of user `i`'s message, or no message, into
/// `version`: set every property of `version`, remove what only the other version has.
fn patch_ops(i: usize, version: usize) -> Vec<PropChange> {
    let want = expected_props(i, version);
    let other = expected_props(i, 1 - version);
    let mut ops: Vec<PropChange> = want
        .iter()
        .map(|(n, v)| PropChange::Set(n.clone(), v.clone()))
        .collect();
    ops.extend(
        other
            .keys()
            .filter(|n| !want.contains_key(*n))
            .map(|n| PropChange::Remove(n.clone())),
    );
    ops
}

/// Open the store, waiting out a lock held by someone else for a moment. sled's lock is
/// an flock, which a process forked by another test in this binary (spawning a server or
/// `kill`) shares until it execs; that is a property of the test harness, not of the store.
/// Every other error fails.
fn open(dir: &Path) -> Store {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        match Store::open(&StoreConfig::new(dir)) {
            Ok(s) => return s,
            Err(StoreError::Locked { .. }) if Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("the store does not reopen after a crash: {e}"),
        }
    }
}

/// The child: open the store and write until killed. Does nothing unless the parent set
/// `SCHEDPLUS_CRASH_CHILD` (so a plain `cargo test` runs it as an empty test).
#[test]
fn child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let dir = std::env::var_os(DIR_ENV).expect("the parent names the store");
    let seed: u64 = std::env::var(SEED_ENV).unwrap().parse().unwrap();
    let mut rng = Rng::new(seed);
    let store = open(Path::new(&dir));
    let mut poller = Poller::new(
        store.clone(),
        Clock::Fixed(now()),
        settings(),
        CleanupAt::default(),
        None,
    );
    let patches: Vec<[Vec<PropChange>; 2]> = (CAL_USERS..USERS)
        .map(|i| [patch_ops(i, 0), patch_ops(i, 1)])
        .collect();
    let mut out = std::io::stdout().lock();
    writeln!(out, "crash-child ready").unwrap();
    out.flush().unwrap();
    // Each write is announced before it starts (`begin`) and after it returned (`done`):
    // the parent holds every `done` write to be durable, and the one `begin` without its
    // `done` to be either applied whole or not at all (a cleanup: each of its steps).
    let mut say = |line: String| {
        writeln!(out, "crash-child {line}").unwrap();
        out.flush().unwrap();
    };
    loop {
        let w = ChildWrite::pick(&mut rng);
        say(format!("begin {w}"));
        match w {
            ChildWrite::Import(version) => {
                store
                    .import_users(&directory(version), schedplus::app::clock::wall_us())
                    .unwrap();
            }
            ChildWrite::Calendar(i, version) => {
                store
                    .put_calendar(
                        &schedplus::store::Writer::ANYONE,
                        &legacy_dn(i),
                        &calendar_text(i, version),
                        1 + version,
                        CalendarSource::Http,
                        schedplus::app::clock::wall_us(),
                    )
                    .unwrap();
            }
            ChildWrite::DeleteCalendar(i) => {
                store
                    .delete_calendar(
                        &schedplus::store::Writer::ANYONE,
                        &legacy_dn(i),
                        schedplus::app::clock::wall_us(),
                    )
                    .unwrap();
            }
            ChildWrite::Proppatch {
                user,
                leaf,
                version,
            } => {
                let out = store
                    .fb_patch(
                        &legacy_dn(user).admin_group(),
                        &leaf_name(user, leaf),
                        &patches[user - CAL_USERS][version],
                        &Writer::ANYONE,
                        schedplus::app::clock::wall_us(),
                    )
                    .unwrap();
                assert!(
                    matches!(out, FbPatchOutcome::Created(_) | FbPatchOutcome::Updated(_)),
                    "{out:?}"
                );
            }
            ChildWrite::Unlink(i, leaf) => {
                store
                    .fb_delete_at(
                        &legacy_dn(i).admin_group(),
                        &leaf_name(i, leaf),
                        &Writer::ANYONE,
                    )
                    .unwrap();
            }
            ChildWrite::Cleanup => {
                Cleanup.run(&Ctx::new(&store)).unwrap();
            }
            // A poller round republishes the queued users (everyone, the first time) and
            // removes the messages of users whose calendar was deleted; what it owes is
            // checked through the dirty queue, not through this log. (Its own nightly
            // cleanup never comes: the clock stands after today's cleanup time.)
            ChildWrite::Round => {
                let r = poller.round();
                assert_eq!(r.failed, 0, "{r:?}");
            }
        }
        say("done".into());
    }
}

/// A write the child announced: which record and which version it writes. Its `Display`
/// is the child's log line and [`ChildWrite::parse`] reads it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChildWrite {
    /// Import directory file `version`.
    Import(usize),
    /// Store calendar `version` for calendar user `i` (creating it again if deleted).
    Calendar(usize, usize),
    /// Delete calendar user `i`'s calendar (nothing, if it is already gone).
    DeleteCalendar(usize),
    /// PROPPATCH `version` onto a PROPPATCH user's message at leaf number `leaf`,
    /// creating it (a duplicate, if the user has another) when there is none.
    Proppatch {
        user: usize,
        leaf: usize,
        version: usize,
    },
    /// WebDAV DELETE of a PROPPATCH user's message at leaf number `leaf`, if any.
    Unlink(usize, usize),
    /// MadFB's cleanup, as `schedplus cleanup` runs it.
    Cleanup,
    /// One poller round.
    Round,
}

impl ChildWrite {
    /// The child's next write. Duplicates are made often enough that most cleanups have
    /// groups to fold, and canonical messages deleted so that some have leaves to rename.
    fn pick(rng: &mut Rng) -> ChildWrite {
        let version = rng.below(2) as usize;
        let cal_user = |rng: &mut Rng| rng.below(CAL_USERS as u64) as usize;
        let patch_user = |rng: &mut Rng| CAL_USERS + rng.below((USERS - CAL_USERS) as u64) as usize;
        match rng.below(20) {
            0 => ChildWrite::Import(version),
            1..=5 => ChildWrite::Calendar(cal_user(rng), version),
            6..=7 => ChildWrite::DeleteCalendar(cal_user(rng)),
            8..=13 => {
                let user = patch_user(rng);
                // Half the PROPPATCHes go to the canonical leaf, as a publisher's do.
                let leaf = match rng.below(2) {
                    0 => 0,
                    _ => 1 + rng.below(LEAVES as u64 - 1) as usize,
                };
                ChildWrite::Proppatch {
                    user,
                    leaf,
                    version,
                }
            }
            14 => {
                let user = patch_user(rng);
                ChildWrite::Unlink(user, rng.below(LEAVES as u64) as usize)
            }
            // A cleanup walks every group, so one in twenty writes still catches a good
            // share of the kills.
            15 => ChildWrite::Cleanup,
            _ => ChildWrite::Round,
        }
    }

    fn parse(line: &str) -> Option<ChildWrite> {
        let rest = line.split("crash-child begin ").nth(1)?;
        let mut words = rest.split(' ');
        let kind = words.next()?;
        let n: Vec<usize> = words.map(|w| w.parse().ok()).collect::<Option<_>>()?;
        Some(match (kind, n.as_slice()) {
            ("import", &[v]) => ChildWrite::Import(v),
            ("calendar", &[i, v]) => ChildWrite::Calendar(i, v),
            ("delete-calendar", &[i]) => ChildWrite::DeleteCalendar(i),
            ("proppatch", &[user, leaf, version]) => ChildWrite::Proppatch {
                user,
                leaf,
                version,
            },
            ("unlink", &[i, leaf]) => ChildWrite::Unlink(i, leaf),
            ("cleanup", &[]) => ChildWrite::Cleanup,
            ("round", &[]) => ChildWrite::Round,
            _ => return None,
        })
    }

    /// The write's kind, for the summary of where kills landed.
    fn kind(self) -> &'static str {
        match self {
            ChildWrite::Import(_) => "import",
            ChildWrite::Calendar(..) => "calendar",
            ChildWrite::DeleteCalendar(_) => "delete-calendar",
            ChildWrite::Proppatch { .. } => "proppatch",
            ChildWrite::Unlink(..) => "unlink",
            ChildWrite::Cleanup => "cleanup",
            ChildWrite::Round => "round",
        }
    }
}

impl fmt::Display for ChildWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())?;
        match *self {
            ChildWrite::Import(v) | ChildWrite::DeleteCalendar(v) => write!(f, " {v}"),
            ChildWrite::Calendar(i, v) | ChildWrite::Unlink(i, v) => write!(f, " {i} {v}"),
            ChildWrite::Proppatch {
                user,
                leaf,
                version,
            } => write!(f, " {user} {leaf} {version}"),
            ChildWrite::Cleanup | ChildWrite::Round => Ok(()),
        }
    }
}

/// One PROPPATCH user's messages, oldest first: (leaf number, version).
type Messages = Vec<(usize, usize)>;

/// What MadFB's cleanup makes of one (folder, subject) group: the oldest message alone,
/// at the canonical leaf (which is free once the duplicates are gone).
fn cleaned(messages: &Messages) -> Messages {
    messages
        .first()
        .map(|&(_, version)| vec![(0, version)])
        .unwrap_or_default()
}

/// The versions the store must hold: directory, each calendar, each PROPPATCH user's
/// messages. Calendar users' messages are the poller's business and checked against their
/// calendar and the dirty queue instead.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Versions {
    directory: usize,
    /// `None`: deleted.
    calendars: Vec<Option<usize>>,
    patched: Vec<Messages>,
}

impl Versions {
    fn initial() -> Versions {
        Versions {
            directory: 0,
            calendars: vec![Some(0); CAL_USERS],
            patched: vec![vec![(0, 0)]; USERS - CAL_USERS],
        }
    }

    fn apply(&mut self, w: ChildWrite) {
        match w {
            ChildWrite::Import(v) => self.directory = v,
            ChildWrite::Calendar(i, v) => self.calendars[i] = Some(v),
            ChildWrite::DeleteCalendar(i) => self.calendars[i] = None,
            ChildWrite::Proppatch {
                user,
                leaf,
                version,
            } => {
                let messages = &mut self.patched[user - CAL_USERS];
                match messages.iter_mut().find(|(l, _)| *l == leaf) {
                    Some(m) => m.1 = version,
                    None => messages.push((leaf, version)),
                }
            }
            ChildWrite::Unlink(i, leaf) => self.patched[i - CAL_USERS].retain(|(l, _)| *l != leaf),
            ChildWrite::Cleanup => {
                for messages in &mut self.patched {
                    *messages = cleaned(messages);
                }
            }
            ChildWrite::Round => {}
        }
    }
}

/// Whether the store may hold `seen` when the child's log says `expected` was acknowledged
/// and `pending` was in flight at the kill. A write is all or nothing, so `seen` is
/// `expected` with `pending` applied or not, except for a cleanup: it is one transaction
/// per (folder, subject) group, each flushed before the next starts, so each group is
/// cleaned whole or not at all, and the groups cleaned are the first ones of its walk
/// (folders, then subjects, in key order). `Ok(true)`: a cleanup caught half done.
fn allowed(
    seen: &Versions,
    expected: &Versions,
    pending: Option<ChildWrite>,
) -> Result<bool, String> {
    if *seen == *expected {
        return Ok(false);
    }
    let Some(w) = pending else {
        return Err(format!(
            "acknowledged writes are missing: the store holds {seen:?}, the child's log says {expected:?} with nothing in flight"
        ));
    };
    let mut either = expected.clone();
    either.apply(w);
    if *seen == either {
        return Ok(false);
    }
    let fail = || {
        Err(format!(
            "acknowledged writes are missing or {w:?} was torn: the store holds {seen:?}, the child's log says {expected:?} (or {either:?} with the write in flight)"
        ))
    };
    if w != ChildWrite::Cleanup
        || seen.directory != expected.directory
        || seen.calendars != expected.calendars
    {
        return fail();
    }
    let mut walk: Vec<usize> = (CAL_USERS..USERS).collect();
    walk.sort_by_key(|&i| {
        (
            legacy_dn(i).admin_group().key(),
            legacy_dn(i).subject().key(),
        )
    });
    let mut undone_before: Option<usize> = None;
    for i in walk {
        let (before, now) = (
            &expected.patched[i - CAL_USERS],
            &seen.patched[i - CAL_USERS],
        );
        let after = cleaned(before);
        if *now == *before && *now != after {
            undone_before.get_or_insert(i);
        } else if *now == after && *now != *before {
            if let Some(u) = undone_before {
                return Err(format!(
                    "a cleanup's steps landed out of order: user {i}'s group is cleaned, user {u}'s (earlier in its walk) is not"
                ));
            }
        } else if *now != *before {
            return Err(format!(
                "user {i}'s group is neither as it was ({before:?}) nor cleaned ({after:?}) but {now:?}: a torn cleanup step"
            ));
        }
    }
    Ok(true)
}

/// Fill a fresh store: the directory, version 0 of every calendar, every message published.
fn seed_store(dir: &Path) {
    let store = open(dir);
    store
        .import_users(&directory(0), schedplus::app::clock::wall_us())
        .unwrap();
    for i in 0..USERS {
        if i < CAL_USERS {
            store
                .put_calendar(
                    &schedplus::store::Writer::ANYONE,
                    &legacy_dn(i),
                    &calendar_text(i, 0),
                    1,
                    CalendarSource::Http,
                    schedplus::app::clock::wall_us(),
                )
                .unwrap();
            republish_user(&store, &user(i, 0), now(), &settings(), false).unwrap();
        } else {
            let cal = calendar::parse(&calendar_text(i, 0)).unwrap();
            let (msg, _) = build_message(&user(i, 0), &cal, now(), &settings()).unwrap();
            store
                .publish(&msg, schedplus::app::clock::wall_us())
                .unwrap();
        }
    }
    for entry in store.dirty_users().unwrap() {
        assert!(store.clear_dirty(&entry).unwrap());
    }
}

/// What a check found: the versions held, and counts that show the kills landed in
/// interesting places.
#[derive(Debug)]
struct Seen {
    versions: Versions,
    new_messages: usize,
    queued: usize,
    /// Users whose stored calendar is newer than their message, or deleted while their
    /// message is still there (the poller still owes them).
    owed: usize,
    /// Of those, users whose calendar is deleted.
    owed_deletes: usize,
    /// PROPPATCH users with a duplicate or a non-canonical leaf (for the next cleanup).
    untidy: usize,
}

/// The eight month/block properties of a message, as one unit.
fn pffb_props(props: &BTreeMap<PropName, PropValue>) -> Vec<(String, Option<&PropValue>)> {
    PffbKind::ALL
        .iter()
        .flat_map(|k| [k.months_tag(), k.blocks_tag()])
        .map(|t| (t.dav_local_name(), props.get(&PropName::Mapi(t))))
        .collect()
}

/// Every free/busy message in the store by user, oldest first, after checking what holds
/// of a message whoever wrote it: it decodes, its stored decoding agrees with its
/// properties, it is one of [`USERS`]', its URL leaf leads back to it and no leaf leads
/// nowhere, and the count kept for `/metrics` is right.
fn all_messages(store: &Store) -> Result<BTreeMap<usize, Vec<MessageRecord>>, String> {
    let mut by_user: BTreeMap<usize, Vec<MessageRecord>> = BTreeMap::new();
    let mut count = 0;
    for folder in store.list_folders().map_err(|e| e.to_string())? {
        let folder = AdminGroup::parse(&folder.name).map_err(|e| e.to_string())?;
        for rec in store.fb_messages(&folder) {
            let rec: MessageRecord = rec.map_err(|e| format!("a message does not decode: {e}"))?;
            let decoded = StoredFreeBusy::from_props(&rec.props)
                .map_err(|e| format!("{}: free/busy does not decode: {e}", rec.leaf))?;
            if decoded != rec.fb {
                return Err(format!(
                    "{}: the stored decoding disagrees with the properties",
                    rec.leaf
                ));
            }
            let i = (0..USERS)
                .find(|&i| legacy_dn(i).subject().as_str() == rec.subject)
                .ok_or_else(|| format!("a message nobody wrote: {}", rec.subject))?;
            if legacy_dn(i).admin_group() != folder {
                return Err(format!("user {i}'s message is in folder {folder}"));
            }
            let at_leaf = store
                .fb_message_at(&folder, &rec.leaf)
                .map_err(|e| e.to_string())?;
            if at_leaf.as_ref() != Some(&rec) {
                return Err(format!("{}: the leaf index points elsewhere", rec.leaf));
            }
            count += 1;
            by_user.entry(i).or_default().push(rec);
        }
    }
    let dump = store.dump().map_err(|e| e.to_string())?;
    let leaves = dump.trees.get(b"leaves".as_slice()).map_or(0, Vec::len);
    if leaves != count {
        return Err(format!(
            "{leaves} URL leaves for {count} messages: a leaf leads nowhere"
        ));
    }
    let stats = store.stats();
    if stats.messages != count as u64 {
        return Err(format!("{count} messages, counted {stats:?} at open"));
    }
    Ok(by_user)
}

/// Every invariant a crash must not break. `Err` says which and where.
fn check_store(store: &Store) -> Result<Seen, String> {
    let mut seen = Seen {
        versions: Versions::initial(),
        new_messages: 0,
        queued: 0,
        owed: 0,
        owed_deletes: 0,
        untidy: 0,
    };
    // The directory: one import is one transaction, so every user is of the same version.
    let users = store.list_users().map_err(|e| e.to_string())?;
    if users.len() != USERS {
        return Err(format!("{} users, expected {USERS}", users.len()));
    }
    // Listed in legacyDN order; the alias says which user each is.
    let by_index: BTreeMap<usize, UserRecord> = users
        .into_iter()
        .filter_map(|u| Some((u.alias.strip_prefix('u')?.parse().ok()?, u)))
        .collect();
    if by_index.len() != USERS {
        return Err(format!("users are not u00..u{}: {by_index:?}", USERS - 1));
    }
    let dir_version = if by_index[&0] == user(0, 0) { 0 } else { 1 };
    seen.versions.directory = dir_version;
    for (&i, u) in &by_index {
        if *u != user(i, dir_version) {
            return Err(format!(
                "user {i} is {u:?}, not version {dir_version} like user 0: a torn import"
            ));
        }
        let names = [
            format!("u{i:02}"),
            format!("u{i:02}@crash.example"),
            format!("u{i:02}.v{dir_version}@crash.example"),
            format!("EX:{}", legacy_dn(i)),
        ];
        for name in &names {
            let found = store
                .find_user(&UserAddress::parse(name))
                .map_err(|e| e.to_string())?;
            if found.as_ref() != Some(u) {
                return Err(format!("{name} resolves to {found:?}, not user {i}"));
            }
        }
        let stale = format!("u{i:02}.v{}@crash.example", 1 - dir_version);
        if let Some(f) = store
            .find_user(&UserAddress::parse(&stale))
            .map_err(|e| e.to_string())?
        {
            return Err(format!(
                "{stale} of the other directory version still resolves (to {})",
                f.alias
            ));
        }
    }
    if store.stats().users != USERS as u64 {
        return Err(format!("counts at open are {:?}", store.stats()));
    }
    let queued: BTreeMap<String, DirtyReason> = store
        .dirty_users()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|e| (e.legacy_dn.key(), e.record.reason))
        .collect();
    seen.queued = queued.len();
    // Messages: every one whole, and one whole version of what its writer wrote.
    let messages = all_messages(store)?;
    let version_of = |i: usize, rec: &MessageRecord| {
        (0..2)
            .find(|&v| rec.props == expected_props(i, v))
            .ok_or_else(|| {
                let p = pffb_props(&rec.props);
                let old = expected_props(i, 0);
                let new = expected_props(i, 1);
                format!(
                    "user {i}'s message {} is neither version:\n got {p:?}\n v0  {:?}\n v1  {:?}",
                    rec.leaf,
                    pffb_props(&old),
                    pffb_props(&new)
                )
            })
    };
    for i in 0..USERS {
        let recs = messages.get(&i).map_or(&[][..], Vec::as_slice);
        let mut versions = Vec::new();
        for rec in recs {
            let version = version_of(i, rec)?;
            seen.new_messages += version;
            let leaf = (0..LEAVES)
                .find(|&k| rec.leaf == leaf_name(i, k))
                .ok_or_else(|| {
                    format!("user {i}'s message is at an unexpected leaf {}", rec.leaf)
                })?;
            versions.push((leaf, version));
        }
        if i >= CAL_USERS {
            if versions.len() > 1 || versions.first().is_some_and(|&(leaf, _)| leaf != 0) {
                seen.untidy += 1;
            }
            seen.versions.patched[i - CAL_USERS] = versions;
            continue;
        }
        // A calendar user: the poller's one message at the canonical leaf, or none.
        let message = match versions.as_slice() {
            [] => None,
            [(0, v)] => Some(*v),
            other => {
                return Err(format!(
                    "calendar user {i} has messages {other:?}; the poller writes one, at the canonical leaf"
                ));
            }
        };
        let calendar = match store.calendar(&legacy_dn(i)).map_err(|e| e.to_string())? {
            None => None,
            Some(cal) => Some(
                (0..2)
                    .find(|&v| cal.text == calendar_text(i, v))
                    .ok_or_else(|| format!("user {i}'s calendar is neither version"))?,
            ),
        };
        seen.versions.calendars[i] = calendar;
        // A calendar write and its dirty mark are one transaction, so the queue says why
        // the user is queued as of the last calendar write: deleted exactly when there is
        // no calendar.
        let reason = queued.get(&legacy_dn(i).key());
        let want_reason = match calendar {
            None => DirtyReason::CalendarDeleted,
            Some(_) => DirtyReason::CalendarChanged,
        };
        if reason.is_some_and(|r| *r != want_reason) {
            return Err(format!(
                "user {i} is queued for {reason:?} but their calendar is {calendar:?}"
            ));
        }
        if calendar != message {
            seen.owed += 1;
            seen.owed_deletes += usize::from(calendar.is_none());
            if reason.is_none() {
                return Err(format!(
                    "user {i}: calendar {calendar:?} committed, message {message:?}, and the user is not queued for the poller"
                ));
            }
        }
    }
    Ok(seen)
}

/// Kills of the direct-store test; the HTTP one kills a server half as often.
fn crash_rounds() -> u64 {
    std::env::var(ROUNDS_ENV)
        .map(|s| s.parse().expect("SCHEDPLUS_CRASH_ROUNDS is a number"))
        .unwrap_or(20)
}

fn seed_from_env() -> u64 {
    match std::env::var(SEED_ENV) {
        Ok(s) => s.parse().expect("SCHEDPLUS_CRASH_SEED is a number"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    }
}

/// Start the child on `dir`; its stdout lines arrive on the channel (the reader thread
/// ends when the child dies).
fn spawn_child(dir: &Path, seed: u64) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash::child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env(DIR_ENV, dir)
        .env(SEED_ENV, seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the test binary re-executes itself");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

#[test]
fn sigkill_mid_write_leaves_every_record_whole() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let seed = seed_from_env();
    let rounds = crash_rounds();
    println!("crash test: seed {seed} (SCHEDPLUS_CRASH_SEED={seed} replays it), {rounds} rounds");
    let fail = |round: u64, what: String| -> ! {
        panic!("round {round} (SCHEDPLUS_CRASH_SEED={seed}): {what}")
    };
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    seed_store(dir.path());
    check_store(&open(dir.path())).unwrap_or_else(|e| fail(0, format!("after seeding: {e}")));
    let started = Instant::now();
    let (mut ops_total, mut owed_total, mut new_total, mut queued_total) = (0u64, 0, 0, 0);
    let (mut owed_deletes_total, mut untidy_total) = (0, 0);
    let mut expected = Versions::initial();
    // Kills that caught a write between `begin` and `done` whose effect was kept, and
    // cleanups caught with some groups done and others not.
    let (mut in_flight_kept, mut half_cleanups) = (0, 0);
    // Which write each kill caught in flight.
    let mut caught: BTreeMap<&str, u64> = BTreeMap::new();
    for round in 1..=rounds {
        let (mut child, lines) = spawn_child(dir.path(), rng.next());
        // Usually let the child open the store first; sometimes kill it while sled is still
        // opening (recovering from the previous kill).
        let early = rng.below(5) == 0;
        if !early {
            // Skip libtest's own header lines up to ours.
            let until = Instant::now() + Duration::from_secs(30);
            loop {
                let left = until.saturating_duration_since(Instant::now());
                match lines.recv_timeout(left) {
                    Ok(l) if l.ends_with("crash-child ready") => break,
                    Ok(_) => {}
                    Err(e) => {
                        let _ = child.kill();
                        let mut err = String::new();
                        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
                        fail(round, format!("the child did not start: {e}\n{err}"));
                    }
                }
            }
        }
        let delay = if early {
            rng.below(60)
        } else {
            10 + rng.below(250)
        };
        std::thread::sleep(Duration::from_millis(delay));
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            let out: Vec<String> = lines.try_iter().collect();
            fail(
                round,
                format!(
                    "the child stopped by itself ({status}):\n{}\n{err}",
                    out.join("\n")
                ),
            );
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Replay the child's log: every `done` write must be on disk; the last `begin`
        // without a `done` may or may not be.
        let mut pending = None;
        let mut writes = 0u64;
        for line in lines.iter() {
            if let Some(w) = ChildWrite::parse(&line) {
                pending = Some(w);
            } else if line.ends_with("crash-child done") {
                expected.apply(pending.take().expect("a done follows a begin"));
                writes += 1;
            }
        }
        ops_total += writes;
        *caught
            .entry(pending.map_or("nothing", ChildWrite::kind))
            .or_default() += 1;
        let store = open(dir.path());
        let seen = check_store(&store).unwrap_or_else(|e| {
            fail(
                round,
                format!("after a kill {delay} ms in, {writes} writes: {e}"),
            )
        });
        match allowed(&seen.versions, &expected, pending) {
            Ok(half) => half_cleanups += usize::from(half),
            Err(e) => fail(round, format!("after a kill {delay} ms in: {e}")),
        }
        if seen.versions != expected {
            in_flight_kept += 1;
        }
        expected = seen.versions;
        owed_total += seen.owed;
        owed_deletes_total += seen.owed_deletes;
        new_total += seen.new_messages;
        queued_total += seen.queued;
        untidy_total += seen.untidy;
    }
    println!(
        "crash test: {rounds} kills in {:.1}s, {ops_total} writes acknowledged by the child and found on disk, {in_flight_kept} unacknowledged writes kept (whole, or {half_cleanups} cleanups with their first steps whole); in flight at the kill: {caught:?}; {new_total} version-1 messages, {untidy_total} users with duplicates or renamable leaves, {queued_total} queued users of whom {owed_total} still owed a publish ({owed_deletes_total} a removal), seen across the checks",
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------
// SIGTERM under load

/// The PROPPATCH body that makes user `i`'s message carry write number `n`: a one-hour busy
/// block whose start moves with `n` (so its free/busy changes), and `n` itself as a dead
/// property (so the stored message says which write it is).
fn numbered_patch_body(i: usize, n: u64) -> (Vec<u8>, BTreeMap<PropName, PropValue>) {
    use schedplus::protocol::fb_message::build_props;
    use schedplus::protocol::freebusy::{FbStatus, FreeBusy, Interval};
    use schedplus::protocol::pffb::PublisherStyle;
    let range = settings().range_at(now());
    let mut fb = FreeBusy::default();
    let start = range.start.plus_minutes(60 * (n as i64 % 1000));
    fb.add(
        FbStatus::Busy,
        Interval::new(start, start.plus_minutes(60)).unwrap(),
    );
    let mut props = build_props(&legacy_dn(i), &fb, range, PublisherStyle::Exchange, now());
    props.insert(seq_prop(), PropValue::String(n.to_string()));
    let mut body = br#"<?xml version="1.0"?><a:propertyupdate xmlns:a="DAV:" xmlns:b="urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/" xmlns:c="xml:"><a:set><a:prop>"#.to_vec();
    for (name, value) in &props {
        body.extend_from_slice(b"<p:");
        body.extend_from_slice(name.local().as_bytes());
        body.extend_from_slice(b" xmlns:p=\"");
        escape_text(&mut body, name.ns());
        body.push(b'"');
        if let Some(dt) = value.dav_type() {
            body.extend_from_slice(format!(" b:dt=\"{dt}\"").as_bytes());
        }
        body.push(b'>');
        write_content(&mut body, value);
        body.extend_from_slice(b"</p:");
        body.extend_from_slice(name.local().as_bytes());
        body.push(b'>');
    }
    body.extend_from_slice(b"</a:prop></a:set></a:propertyupdate>");
    (body, props)
}

fn seq_prop() -> PropName {
    PropName::new("urn:schedplus:crash:", "seq")
}

/// How one request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// A complete response with this status.
    Status(u16),
    /// No connection (the server had stopped listening).
    Refused,
    /// Connected, but not a single byte of answer: not acknowledged.
    Unanswered(String),
    /// Part of a response: a request cut off mid-answer, never acceptable from a server
    /// stopping cleanly.
    Truncated(String),
    /// A status line, then less body than announced: cut off mid-answer too, but the
    /// client was told the status (for a write, acknowledged).
    ShortBody(u16),
}

fn request_head(addr: SocketAddr, method: &str, path: &str, extra: &str, len: usize) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {len}\r\n{extra}\r\n"
    )
}

/// Read a whole `Connection: close` response and judge it complete or not.
fn read_response(mut s: TcpStream) -> Outcome {
    let mut raw = Vec::new();
    // A connection reset after part of the answer still may have told the status.
    let reset = match s.read_to_end(&mut raw) {
        Err(e) if raw.is_empty() => return Outcome::Unanswered(e.to_string()),
        Err(e) => Some(format!("{e} after {} bytes", raw.len())),
        Ok(_) => None,
    };
    if raw.is_empty() {
        return Outcome::Unanswered("closed without an answer".into());
    }
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        let got = String::from_utf8_lossy(&raw).into_owned();
        return Outcome::Truncated(reset.unwrap_or(got));
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let Some(status) = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.trim().parse::<u16>().ok())
    else {
        return Outcome::Truncated(reset.unwrap_or(head));
    };
    let body = raw.len() - split - 4;
    let complete = match head.lines().find_map(|l| l.strip_prefix("content-length:")) {
        Some(n) => n.trim().parse::<usize>().ok() == Some(body),
        None if head.contains("transfer-encoding: chunked") => raw.ends_with(b"0\r\n\r\n"),
        None => true,
    };
    if complete && reset.is_none() {
        Outcome::Status(status)
    } else {
        Outcome::ShortBody(status)
    }
}

fn send(addr: SocketAddr, method: &str, path: &str, extra: &str, body: &[u8]) -> Outcome {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return Outcome::Refused;
    };
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = request_head(addr, method, path, extra, body.len());
    if let Err(e) = s.write_all(head.as_bytes()).and_then(|_| s.write_all(body)) {
        return Outcome::Unanswered(e.to_string());
    }
    read_response(s)
}

fn message_path(i: usize) -> String {
    let dn = legacy_dn(i);
    fb_item_href(&dn.admin_group(), &canonical_leaf(&dn.subject()))
}

/// One client write: user, write number, how it ended.
type Sent = (usize, u64, Outcome);

/// What the clients were told about user `i`'s writes in `log` (each user's writes sent
/// one after another, in order): the last one answered 200 (`floor` when none was), and
/// the ones whose answer never came, which may have committed just before the connection
/// dropped. Any other answer to a valid write is an error.
fn told(log: &[Sent], i: usize, floor: u64) -> Result<(u64, Vec<u64>), String> {
    let mut acked = floor;
    let mut unanswered = Vec::new();
    for (_, n, o) in log.iter().filter(|(u, _, _)| *u == i) {
        match o {
            Outcome::Status(200) | Outcome::ShortBody(200) => acked = *n,
            Outcome::Unanswered(_) | Outcome::Truncated(_) => unanswered.push(*n),
            Outcome::Refused => {}
            other => return Err(format!("user {i}: write {n} was answered {other:?}")),
        }
    }
    Ok((acked, unanswered))
}

/// Check user `i`'s message against what its writer was told: it holds the last write
/// acknowledged (`acked`, 0 for none of ours) or a later unanswered one, and holds it
/// whole: every property that write set, not one from another write, and the free/busy
/// decoded from them. Returns the write number held.
fn check_numbered(store: &Store, i: usize, acked: u64, unanswered: &[u64]) -> Result<u64, String> {
    let dn = legacy_dn(i);
    let rec = store
        .fb_message_at(&dn.admin_group(), &canonical_leaf(&dn.subject()))
        .map_err(|e| e.to_string())?;
    let held = match rec.as_ref().and_then(|r| r.props.get(&seq_prop())) {
        None => 0,
        Some(v) => v
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("user {i}: the write number is {v:?}"))?,
    };
    if !(held == acked || (held > acked && unanswered.contains(&held))) {
        return Err(format!(
            "user {i}: write {acked} was acknowledged but the store holds {held} (unanswered: {unanswered:?})"
        ));
    }
    if let Some(rec) = rec.filter(|_| held > 0) {
        let (_, want) = numbered_patch_body(i, held);
        if let Some((name, _)) = want.iter().find(|(n, v)| rec.props.get(*n) != Some(*v)) {
            return Err(format!(
                "user {i}: the message holds write {held}'s number but not its {name:?}: two writes mixed"
            ));
        }
        let fb = StoredFreeBusy::from_props(&want).map_err(|e| e.to_string())?;
        if rec.fb != fb {
            return Err(format!(
                "user {i}: the stored free/busy is not write {held}'s"
            ));
        }
    }
    Ok(held)
}

/// The command line of every `schedplus serve` these tests start (SIGTERM and SIGKILL).
/// Writes are anonymous here: the clients send no credentials, so whatever lets a server
/// accept anonymous writes belongs in this one list.
fn serve_args(data: &Path) -> Vec<String> {
    let data = data
        .to_str()
        .expect("a temporary directory has a UTF-8 path");
    [
        "--data",
        data,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--poll-interval",
        "50ms",
        "--auth",
        "none",
    ]
    .map(String::from)
    .to_vec()
}

/// A `schedplus serve` started by [`spawn_server`].
struct ServeChild {
    process: Child,
    addr: SocketAddr,
    /// Everything it wrote to stderr, once it has exited.
    stderr: JoinHandle<String>,
}

/// Start `schedplus serve` on `data` and wait until it answers. A `server.json` left by a
/// killed server does not fool the wait: the new one is written before the banner.
fn spawn_server(data: &Path) -> ServeChild {
    let mut process = Command::new(env!("CARGO_BIN_EXE_schedplus"))
        .args(serve_args(data))
        .env_remove("SCHEDPLUS_DATA")
        .env_remove("SCHEDPLUS_NOW")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The banner is printed once the server answers; its first line ends the wait. Both
    // pipes are drained to the end so the server never blocks on (or dies of) a full one.
    let mut out = BufReader::new(process.stdout.take().unwrap());
    let mut banner = String::new();
    out.read_line(&mut banner).unwrap();
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let mut stderr = process.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let Some(info) = ServerInfo::read(data) else {
        let _ = process.kill();
        panic!(
            "no server.json once the banner is out (banner {banner:?}); stderr:\n{}",
            stderr.join().unwrap()
        )
    };
    assert_eq!(info.pid, process.id());
    ServeChild {
        process,
        addr: info.addr.parse().unwrap(),
        stderr,
    }
}

#[test]
fn sigterm_under_load_finishes_in_flight_requests_and_loses_nothing_acknowledged() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    seed_store(dir.path());
    let ServeChild {
        process: mut server,
        addr,
        stderr,
    } = spawn_server(dir.path());

    // Writers each own a disjoint set of PROPPATCH users, so each message's writes are
    // ordered; the first PROPPATCH user is kept for the slow request below. Readers ask for
    // everybody's free/busy.
    const WRITERS: usize = 3;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut handles = Vec::new();
    for w in 0..WRITERS {
        handles.push(std::thread::spawn(move || {
            let mine: Vec<usize> = (CAL_USERS + 1..USERS)
                .filter(|i| i % WRITERS == w)
                .collect();
            let mut log = Vec::new();
            for n in 1u64.. {
                let i = mine[n as usize % mine.len()];
                let (body, _) = numbered_patch_body(i, n);
                let out = send(addr, "PROPPATCH", &message_path(i), "Brief: t\r\n", &body);
                let stop = !matches!(out, Outcome::Status(_)) || Instant::now() > deadline;
                log.push((i, n, out));
                if stop {
                    break;
                }
            }
            log
        }));
    }
    let mut readers = Vec::new();
    for r in 0..2usize {
        readers.push(std::thread::spawn(move || {
            let mut log = Vec::new();
            for k in 0usize.. {
                let i = (k * 7 + r) % USERS;
                let q = format!(
                    "/public/?Cmd=freebusy&start=2026-03-02T00:00:00Z&end=2026-03-30T00:00:00Z&interval=30&u=SMTP:u{i:02}@crash.example&u=SMTP:u{:02}@crash.example",
                    (i + 1) % USERS
                );
                let out = send(addr, "GET", &q, "", b"");
                let stop = !matches!(out, Outcome::Status(_)) || Instant::now() > deadline;
                log.push(out);
                if stop {
                    break;
                }
            }
            log
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    // A request caught mid-way by the signal: its handler has started (the server asked
    // for the body with `100 Continue`) and the body only arrives after SIGTERM. A graceful
    // stop answers it, and its write is kept.
    let slow_user = CAL_USERS;
    let (slow_body, _) = numbered_patch_body(slow_user, 1_000_000);
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = request_head(
        addr,
        "PROPPATCH",
        &message_path(slow_user),
        "Brief: t\r\nExpect: 100-continue\r\n",
        slow_body.len(),
    );
    slow.write_all(head.as_bytes()).unwrap();
    let mut interim = Vec::new();
    while !interim.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        slow.read_exact(&mut byte).expect("an interim answer");
        interim.push(byte[0]);
    }
    assert!(
        interim.starts_with(b"HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&interim)
    );
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    std::thread::sleep(Duration::from_millis(300));
    slow.write_all(&slow_body).unwrap();
    let slow_out = read_response(slow);

    let writes: Vec<Sent> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let reads: Vec<Outcome> = readers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let stop_by = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = server.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > stop_by {
            let _ = server.kill();
            panic!("the server did not stop within 30 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let err = stderr.join().unwrap();
    assert_eq!(status.code(), Some(0), "exit after SIGTERM; stderr:\n{err}");
    assert!(
        !dir.path().join(SERVER_FILE).exists(),
        "server.json is removed at a clean stop"
    );

    let bad: Vec<_> = writes
        .iter()
        .map(|(_, _, o)| o)
        .chain(&reads)
        .filter(|o| match o {
            Outcome::Status(s) => *s >= 300,
            Outcome::Truncated(_) | Outcome::ShortBody(_) => true,
            Outcome::Refused | Outcome::Unanswered(_) => false,
        })
        .collect();
    assert!(bad.is_empty(), "failed or cut-off requests: {bad:?}");
    let acked_writes = writes
        .iter()
        .filter(|(_, _, o)| *o == Outcome::Status(200))
        .count();
    let acked_reads = reads.iter().filter(|o| **o == Outcome::Status(200)).count();
    assert!(
        acked_writes > 10 && acked_reads > 10,
        "too little load to mean anything: {acked_writes} writes, {acked_reads} reads"
    );
    assert_eq!(
        slow_out,
        Outcome::Status(200),
        "the request in flight at SIGTERM is answered"
    );

    // Each message holds its last acknowledged write, or a later one that was sent but never
    // answered.
    let store = open(dir.path());
    for i in CAL_USERS..USERS {
        let (mut acked, unanswered) = told(&writes, i, 0).unwrap();
        if i == slow_user {
            acked = 1_000_000; // answered 200 (asserted above)
        }
        check_numbered(&store, i, acked, &unanswered).unwrap_or_else(|e| panic!("{e}"));
    }
    println!(
        "SIGTERM under load: {acked_writes} PROPPATCH and {acked_reads} freebusy answered, {} requests refused or unanswered after the signal, slow request answered {slow_out:?}",
        writes.len() + reads.len() - acked_writes - acked_reads
    );
}

// ---------------------------------------------------------------------------------------
// SIGKILL of `schedplus serve` under PROPPATCH

#[test]
fn sigkill_of_the_server_mid_proppatch_loses_nothing_acknowledged() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let seed = seed_from_env();
    // A server takes longer to start than the direct child: half as many kills.
    let rounds = (crash_rounds() / 2).max(1);
    println!(
        "HTTP crash test: seed {seed} (SCHEDPLUS_CRASH_SEED={seed} replays the kill delays), {rounds} rounds"
    );
    let fail = |round: u64, what: String| -> ! {
        panic!("HTTP round {round} (SCHEDPLUS_CRASH_SEED={seed}): {what}")
    };
    let mut rng = Rng::new(seed);
    // A fresh data directory: the first PROPPATCH to each message creates it (and its
    // folder), so creations are killed too, not only updates.
    let dir = tempfile::tempdir().unwrap();
    // The write number each user's message held at the last check (0: no message).
    let mut held = vec![0u64; USERS];
    let started = Instant::now();
    let (mut sent_total, mut acked_total, mut unanswered_total, mut unanswered_kept) = (0, 0, 0, 0);
    for round in 1..=rounds {
        let ServeChild {
            mut process,
            addr,
            stderr,
        } = spawn_server(dir.path());
        // Each writer owns every WRITERS-th user, so each message's writes are ordered.
        const WRITERS: usize = 4;
        let writers: Vec<JoinHandle<Vec<Sent>>> = (0..WRITERS)
            .map(|w| {
                std::thread::spawn(move || {
                    let mine: Vec<usize> = (0..USERS).filter(|i| i % WRITERS == w).collect();
                    let until = Instant::now() + Duration::from_secs(30);
                    let mut log = Vec::new();
                    for k in 0u64.. {
                        let i = mine[k as usize % mine.len()];
                        // Numbers grow across rounds, so "later" holds across restarts.
                        let n = round * 1_000_000 + k + 1;
                        let (body, _) = numbered_patch_body(i, n);
                        let out = send(addr, "PROPPATCH", &message_path(i), "Brief: t\r\n", &body);
                        let answered = matches!(out, Outcome::Status(_));
                        log.push((i, n, out));
                        if !answered || Instant::now() > until {
                            break;
                        }
                    }
                    log
                })
            })
            .collect();
        let delay = 20 + rng.below(400);
        std::thread::sleep(Duration::from_millis(delay));
        if let Some(status) = process.try_wait().unwrap() {
            fail(
                round,
                format!(
                    "the server stopped by itself ({status}):\n{}",
                    stderr.join().unwrap()
                ),
            );
        }
        process.kill().unwrap(); // SIGKILL
        process.wait().unwrap();
        let log: Vec<Sent> = writers
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let err = stderr.join().unwrap();
        let store = open(dir.path());
        let messages = all_messages(&store)
            .unwrap_or_else(|e| fail(round, format!("after a kill {delay} ms in: {e}\n{err}")));
        for (i, held) in held.iter_mut().enumerate() {
            let recs = messages.get(&i).map_or(&[][..], Vec::as_slice);
            if recs.len() > 1 || recs.first().is_some_and(|r| r.leaf != leaf_name(i, 0)) {
                let leaves: Vec<_> = recs.iter().map(|r| &r.leaf).collect();
                fail(
                    round,
                    format!("user {i} has messages at {leaves:?}, not one at the canonical leaf"),
                );
            }
            let checked = told(&log, i, *held).and_then(|(acked, unanswered)| {
                unanswered_total += unanswered.len();
                let now = check_numbered(&store, i, acked, &unanswered)?;
                unanswered_kept += usize::from(now != acked);
                Ok(now)
            });
            *held = checked.unwrap_or_else(|e| {
                fail(
                    round,
                    format!("after a kill {delay} ms in: {e}\nserver stderr:\n{err}"),
                )
            });
        }
        sent_total += log
            .iter()
            .filter(|(_, _, o)| *o != Outcome::Refused)
            .count();
        acked_total += log
            .iter()
            .filter(|(_, _, o)| matches!(o, Outcome::Status(200) | Outcome::ShortBody(200)))
            .count();
    }
    println!(
        "HTTP crash test: {rounds} server kills in {:.1}s, {sent_total} PROPPATCH sent, {acked_total} answered 200 and found on disk (or superseded), {unanswered_total} cut off by the kill of which {unanswered_kept} were kept whole",
        started.elapsed().as_secs_f64()
    );
}
