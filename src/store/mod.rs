//! The store: the public-folder free/busy tree and the directory, in sled.
//!
//! Owns [`Store`], a cheap `Clone` handle over one open sled database, and the records in
//! it. Trees:
//!
//! | tree | key | value |
//! |---|---|---|
//! | `folders` | admin-group key (lower case) | [`FolderRecord`] |
//! | `messages` | folder key `\0` subject key `\0` seq (u64 BE) | [`MessageRecord`] |
//! | `leaves` | folder key `\0` URL leaf (lower case) | message key |
//! | `users` | legacyDN key (lower case) | [`UserRecord`] |
//! | `addresses` | `smtp:addr` / `alias:name` (lower case) | legacyDN key |
//! | `calendars` | legacyDN key | [`CalendarRecord`] (the user's iCalendar text) |
//! | `calendar_deletions` | legacyDN key | [`CalendarDeletion`] (when the calendar was deleted) |
//! | `dirty` | legacyDN key | [`DirtyRecord`] (queued for republishing) |
//! | `pf_nodes` | depth byte, folded names joined by `\0` | [`PfNode`] |
//! | `pf_bodies` | as `pf_nodes` | an item's body |
//! | `pf_owners` | as `pf_nodes` | legacyDN key of the user who created the node |
//! | `credentials` | legacyDN key | [`Credential`] (password hash, admin mark) |
//! | `groups` | tag byte ++ DN key / address | [`GroupRecord`], the addresses groups are asked by, the DN of each user a group names (see [`groups`]) |
//! | `changes` | `c` change number, `v` item, `h` mark (see [`changes`]) | the change log of the free/busy tree: each message's and folder's newest change, its version and tombstone, and replication's high-water marks |
//! | `meta` | `format`, `key_fold`, `message_layout`, `groups_layout`, `count_users`, `count_messages`, `import_pending`, `change_number`, `changes_log` | the store's format, migration markers, the user and message counts (i64 BE), the mark of an import being written, and the last change number given |
//! | `import_undo` | tag byte ++ key | only while an import is written: what it overwrote (see [`directory`]) |
//!
//! [`inspect`] gives a byte-exact dump of every tree ([`StoreDump`]), for tests and tools.
//!
//! Messages are found by (folder, subject) with a prefix scan of a few keys, never by a
//! scan of the store; the sequence number keeps creation order, so duplicates (`-1`, `-2`
//! URLs that third-party writers create) are ordered oldest first. Each message carries its
//! free/busy already decoded ([`MessageRecord::fb`]), computed when it is written and stored
//! at the front of the record, so the query path only reads, and decodes nothing else. [`fb_items`] adds the by-URL-leaf view WebDAV needs, and
//! [`public_folders`] the ordinary folders and items clients create elsewhere under
//! `/public/`. The query's rows are kept in [`fb_cache`], fresh until the next write.
//!
//! Every write is one sled transaction, made durable before the call returns: a write
//! that returned survives a crash or a power cut, one that failed changed nothing.
//! [`durability`] does that with a group commit (sled's flush, then `fdatasync` of its
//! files, shared by the writers that wait together), and refuses writes before sled can meet
//! a full disk (see [`durability`] for why sled must never see `ENOSPC`). This module must
//! not know about HTTP.

mod calendars;
mod changes;
mod cleanup;
pub mod codec;
mod credentials;
mod directory;
mod durability;
mod fb_cache;
mod fb_items;
mod groups;
mod inspect;
mod key_fold;
mod messages;
mod public_folders;
mod scan;
mod tree;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};

pub use calendars::{
    CalendarChange, CalendarDeletion, CalendarRecord, CalendarSource, DirtyEntry, DirtyReason,
    DirtyRecord, QueueWatch, Refusal, Tombstone,
};
pub use changes::{Applied, ChangeScan, ItemVersion, LoggedChange, RemoteChange};
pub use cleanup::CleanupReport;
pub use credentials::Credential;
pub use directory::{DirectoryImport, ImportSummary, UserRecord};
pub use fb_cache::{
    CachedAnswer, CachedRow, DEFAULT_FB_CACHE_BYTES, FbCacheStats, RowSource, RowStamp,
};
pub use fb_items::{FbMessages, FbPatchOutcome, FbRefusal, MAX_FOLDER_DELETE};
pub use groups::GroupRecord;
pub use inspect::StoreDump;
pub use messages::canonical_leaf;
pub use messages::{
    FolderRecord, FreeBusyRead, MessageRecord, PublishOutcome, PublishedMessage, Queued,
    StoredFreeBusy,
};
pub use public_folders::{
    CopyDepth, MAX_TREE_ENTRIES, PfChildren, PfError, PfKind, PfNode, PfWrite,
};
pub use scan::ScannedMessage;
pub use writer::{OwnerRule, WriteRefused, Writer};

/// sled's page cache. Small on purpose: what the free/busy query reads again is kept by its
/// own row and answer caches (`fb_cache_bytes`), and a page sled has evicted is read again
/// from the file system's cache. A `PROPFIND` of a large folder peaks at about the start-up
/// memory plus 15 MB plus 1.2 times this (docs/limits.md, "Memory").
pub const DEFAULT_CACHE_BYTES: u64 = 16 * 1024 * 1024;

pub use durability::{DEFAULT_MIN_FREE_BYTES, WRITE_WAIT};
use durability::{Durability, WriteGuard, WriteLock};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store at {path} is in use by another process (a running `schedplus serve`?); stop it, or let the command go through it"
    )]
    Locked { path: PathBuf },
    #[error("the store at {path} cannot be opened: {source}")]
    Open { path: PathBuf, source: sled::Error },
    #[error("store I/O failed: {0}")]
    Sled(sled::Error),
    #[error("a stored record is damaged: {0}")]
    Codec(#[from] codec::CodecError),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    /// A write limited to one user's data met another user's (the transport's 403, by the
    /// rule that guards it); nothing was written.
    #[error("{0}")]
    Refused(WriteRefused),
    /// The disk is too full to write safely; nothing was written (the transport's 507).
    #[error(
        "the disk holding the store at {} has {free} bytes free, less than the {reserve} bytes schedplus keeps in reserve so that the store never fills it; nothing was written: free some space and retry (writes resume by themselves)",
        path.display()
    )]
    NoSpace {
        path: PathBuf,
        free: u64,
        reserve: u64,
    },
    /// The disk ran out of space under sled (the reserve was not enough, or another program
    /// took the last bytes mid-write); the transport's 507.
    #[error("{0}")]
    DiskFull(String),
    /// The disk has not finished a write for too long; writes are refused meanwhile (the
    /// transport's 503). Reads still work.
    #[error("{0}")]
    Stalled(String),
}

impl StoreError {
    /// Out of disk space: refused before writing, or met by sled (`ENOSPC` in an I/O error).
    /// The transport answers these `507 Insufficient Storage`.
    pub fn is_out_of_space(&self) -> bool {
        match self {
            StoreError::NoSpace { .. } | StoreError::DiskFull(_) => true,
            StoreError::Sled(sled::Error::Io(e)) => durability::is_no_space(e),
            _ => false,
        }
    }
}

/// sled's errors, with `ENOSPC` told apart wherever it comes from (a transaction, or a
/// plain tree operation): sled writes nothing more after it, and the sentence says what to do.
impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        match e {
            sled::Error::Io(io) if durability::is_no_space(&io) => {
                StoreError::DiskFull(durability::SLED_STOPPED.into())
            }
            e => StoreError::Sled(e),
        }
    }
}

/// A write aborted by the store's own rules (conflicts), carried out of a transaction.
type TxError = ConflictableTransactionError<StoreError>;

fn tx_result<T>(r: Result<T, TransactionError<StoreError>>) -> Result<T, StoreError> {
    r.map_err(|e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::from(e),
    })
}

fn abort(e: StoreError) -> TxError {
    ConflictableTransactionError::Abort(e)
}

fn codec_abort(e: codec::CodecError) -> TxError {
    abort(StoreError::Codec(e))
}

/// Options for opening a store.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    pub path: PathBuf,
    pub cache_capacity: u64,
    /// Writes are refused (507) while the store's file system has fewer bytes free than
    /// this (see [`durability`]).
    pub min_free_bytes: u64,
    /// `fdatasync` sled's files before acknowledging a write (true). False acknowledges
    /// after sled's flush alone, as schedplus did before: a power cut can then lose
    /// acknowledged writes. Only for `benches/durability.rs`, which measures the difference.
    #[doc(hidden)]
    pub fdatasync: bool,
    /// Bytes of the query's row cache (`fb_cache_bytes`; 0: none). See [`fb_cache`].
    pub fb_cache_bytes: u64,
}

impl StoreConfig {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StoreConfig {
            path: path.into(),
            cache_capacity: DEFAULT_CACHE_BYTES,
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
            fdatasync: true,
            fb_cache_bytes: DEFAULT_FB_CACHE_BYTES,
        }
    }
}

/// The open store. Clones share one database.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// Held by every write until its transaction commits. sled transactions cannot scan,
    /// and a publish must see every message of its (folder, subject) to keep the oldest and
    /// drop the rest; one writer at a time makes that listing exact. Reads never take it.
    /// [`Store::flush`] lets it go before waiting for the disk, so the next writer's
    /// transaction overlaps this one's sync and both share one `fdatasync`.
    write_lock: WriteLock,
    /// The query's rows, fresh while the write lock's epoch stays (see [`fb_cache`]).
    fb_cache: fb_cache::FbCache,
    /// The group commit and the free-space gate.
    durability: Durability,
    db: sled::Db,
    folders: sled::Tree,
    messages: sled::Tree,
    leaves: sled::Tree,
    users: sled::Tree,
    addresses: sled::Tree,
    /// The ordinary public-folder area (see [`public_folders`]).
    pf_nodes: sled::Tree,
    pf_bodies: sled::Tree,
    /// Who created each ordinary node (absent: created without authentication).
    pf_owners: sled::Tree,
    credentials: sled::Tree,
    /// Distribution groups (see [`groups`]).
    groups: sled::Tree,
    calendars: sled::Tree,
    /// When each user's calendar was last deleted (see [`calendars`]).
    calendar_deletions: sled::Tree,
    dirty: sled::Tree,
    /// The change log of the free/busy tree, for replication (see [`changes`]).
    changes: sled::Tree,
    /// The store's own facts: `format`, migration markers, and the stored user and message
    /// counts (see [`count_tx`]).
    meta: sled::Tree,
    /// Exact counts for `/metrics`, so a scrape never scans. Read from `meta` at open (where
    /// every writer keeps them, in the transaction that changes them), then adjusted by every
    /// writer after its transaction commits (writers are serialised, so the adjustments
    /// cannot interleave).
    counts: Counts,
}

/// The `meta` keys of the stored counts: i64, big-endian.
const USERS_COUNT: &[u8] = b"count_users";
const MESSAGES_COUNT: &[u8] = b"count_messages";

fn count_value(v: Option<&[u8]>) -> Option<i64> {
    Some(i64::from_be_bytes(v?.try_into().ok()?))
}

/// Keep the stored counts right, inside the transaction that adds or removes users or
/// messages (its tuple includes `meta`), so the counts commit or fail with the change.
/// Start-up then reads two keys instead of counting (sled's `len` walks the whole tree: 87%
/// of a start on a million users).
pub(crate) fn count_tx(
    tmeta: &TransactionalTree,
    users: i64,
    messages: i64,
) -> Result<(), UnabortableTransactionError> {
    for (key, delta) in [(USERS_COUNT, users), (MESSAGES_COUNT, messages)] {
        if delta != 0 {
            let old = count_value(tmeta.get(key)?.as_deref()).unwrap_or(0);
            tmeta.insert(key, &(old + delta).to_be_bytes())?;
        }
    }
    Ok(())
}

/// The stored counts, or (once, for a store written before they were kept, or whose
/// counts are damaged) a count of the trees, then stored.
fn load_counts(
    meta: &sled::Tree,
    users: &sled::Tree,
    messages: &sled::Tree,
) -> Result<Counts, StoreError> {
    let stored = (
        count_value(meta.get(USERS_COUNT)?.as_deref()),
        count_value(meta.get(MESSAGES_COUNT)?.as_deref()),
    );
    let (u, m) = match stored {
        (Some(u), Some(m)) => (u, m),
        _ => {
            let (u, m) = (users.len() as i64, messages.len() as i64);
            let mut b = sled::Batch::default();
            b.insert(USERS_COUNT, &u.to_be_bytes());
            b.insert(MESSAGES_COUNT, &m.to_be_bytes());
            meta.apply_batch(b)?;
            (u, m)
        }
    };
    Ok(Counts {
        users: u.into(),
        messages: m.into(),
    })
}

#[derive(Default)]
struct Counts {
    users: std::sync::atomic::AtomicI64,
    messages: std::sync::atomic::AtomicI64,
}

/// What the store holds, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub users: u64,
    pub messages: u64,
}

#[derive(Serialize, Deserialize)]
struct Meta {
    created_by: String,
}

/// Return the heap pages freed during the open to the system.
///
/// sled reads its snapshot of the page table at open, a small allocation for each page's
/// fragments (592,076 pages on a store of a million users and messages), and frees it once
/// the table is built. The table's own allocations are interleaved with the freed ones, so
/// glibc keeps those heap pages (67 MB on that store, measured with heaptrack) unless asked.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn give_back_freed_heap() {
    // SAFETY: malloc_trim only returns wholly free pages of the heap to the kernel; it
    // reads and changes no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn give_back_freed_heap() {}

impl Store {
    /// Open (creating if needed) the store in `cfg.path`. The store directory holds the
    /// sled database under `db/`, so the data directory can also hold the server's address
    /// file and logs.
    pub fn open(cfg: &StoreConfig) -> Result<Store, StoreError> {
        let db_path = cfg.path.join("db");
        // The store holds password hashes: owner-only, before sled creates anything.
        durability::make_private_dirs(&cfg.path, &db_path).map_err(|e| StoreError::Open {
            path: cfg.path.clone(),
            source: sled::Error::Io(e),
        })?;
        let db = open_waiting_for_lock(&cfg.path, || {
            sled::Config::new()
                .path(&db_path)
                .cache_capacity(cfg.cache_capacity)
                .open()
        })?;
        durability::make_private_files(&db_path);
        let meta = db.open_tree("meta")?;
        if meta.get("format")?.is_none() {
            meta.insert(
                "format",
                codec::encode(&Meta {
                    created_by: format!("schedplus {}", env!("CARGO_PKG_VERSION")),
                })?,
            )?;
        } else if let Some(v) = meta.get("format")? {
            // Reading it checks the format-version byte.
            codec::decode::<Meta>(&v)?;
        }
        let users = db.open_tree("users")?;
        let messages = db.open_tree("messages")?;
        let counts = load_counts(&meta, &users, &messages)?;
        let durability = Durability::start(&db, &db_path, cfg.min_free_bytes, cfg.fdatasync)
            .map_err(|e| StoreError::Open {
                path: cfg.path.clone(),
                source: sled::Error::Io(e),
            })?;
        let inner = Inner {
            counts,
            path: cfg.path.clone(),
            write_lock: WriteLock::default(),
            fb_cache: fb_cache::FbCache::new(cfg.fb_cache_bytes),
            durability,
            folders: db.open_tree("folders")?,
            messages,
            leaves: db.open_tree("leaves")?,
            users,
            addresses: db.open_tree("addresses")?,
            calendars: db.open_tree("calendars")?,
            calendar_deletions: db.open_tree("calendar_deletions")?,
            dirty: db.open_tree("dirty")?,
            changes: db.open_tree("changes")?,
            pf_nodes: db.open_tree("pf_nodes")?,
            pf_bodies: db.open_tree("pf_bodies")?,
            pf_owners: db.open_tree("pf_owners")?,
            credentials: db.open_tree("credentials")?,
            groups: db.open_tree(groups::TREE)?,
            meta,
            db,
        };
        let store = Store {
            inner: Arc::new(inner),
        };
        directory::undo_import(&store)?;
        key_fold::migrate(&store)?;
        messages::migrate_layout(&store)?;
        groups::migrate(&store)?;
        changes::migrate(&store)?;
        give_back_freed_heap();
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Start a write: serialise writers (see [`Inner::write_lock`]) and admit this write
    /// only if the disk can take it: the wait for the lock is bounded ([`WRITE_WAIT`]), the
    /// file system must have the reserve free, and the disk must not be stuck on an earlier
    /// sync. Every write begins with `let _w = self.begin_write()?;` and ends with
    /// [`Store::flush`]. (It was `write_guard()`, infallible, before the disk could refuse:
    /// the new name makes code written against the old one fail to build rather than run
    /// unlocked.)
    fn begin_write(&self) -> Result<WriteGuard<'_>, StoreError> {
        self.begin_write_of(0)
    }

    /// [`Store::begin_write`] for a write that adds about `bytes` (a large item body).
    fn begin_write_of(&self, bytes: u64) -> Result<WriteGuard<'_>, StoreError> {
        let guard = self.inner.write_lock.acquire(&self.inner.path)?;
        self.inner.durability.admit(&self.inner.path, bytes)?;
        Ok(guard)
    }

    /// Make everything written so far durable: called by each writer after its transaction
    /// committed, as its last store operation. Lets the write lock go first (the
    /// transaction is in; only the wait for the disk is left), then waits, bounded, for a
    /// sync that started after this call.
    fn flush(&self) -> Result<(), StoreError> {
        self.inner.write_lock.release_if_held();
        self.inner.durability.wait_durable(&self.inner.path)
    }

    /// Make everything written so far durable (after [`Store::publish_queued_unsynced`]).
    pub fn sync(&self) -> Result<(), StoreError> {
        self.flush()
    }

    /// `fdatasync`s of sled's files completed (each after sled's flush) since the store
    /// opened. A write that returned Ok waited for one that started after it committed.
    pub fn syncs(&self) -> u64 {
        self.inner.durability.syncs()
    }

    /// Users and messages held; O(1).
    pub fn stats(&self) -> StoreStats {
        use std::sync::atomic::Ordering::Relaxed;
        StoreStats {
            users: self.inner.counts.users.load(Relaxed).max(0) as u64,
            messages: self.inner.counts.messages.load(Relaxed).max(0) as u64,
        }
    }

    /// Adjust the counts after a committed write.
    pub(crate) fn count_changed(&self, users: i64, messages: i64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.inner.counts.users.fetch_add(users, Relaxed);
        self.inner.counts.messages.fetch_add(messages, Relaxed);
    }

    /// Set the user count (an import undone).
    pub(crate) fn set_user_count(&self, users: i64) {
        self.inner
            .counts
            .users
            .store(users, std::sync::atomic::Ordering::Relaxed);
    }

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.inner.db.size_on_disk().unwrap_or(0)
    }

    /// The pages of sled's page table: each costs about 220 bytes of memory from open to
    /// close, whether its contents are cached or not (`vendor/sled/PATCHES.md`).
    pub fn page_table_len(&self) -> u64 {
        self.inner.db.page_table_len()
    }
}

/// `key` behind a one-byte tag: the keys of a tree that holds several kinds of entry.
pub(super) fn tagged(tag: u8, key: &[u8]) -> Vec<u8> {
    [&[tag][..], key].concat()
}

/// How long an open waits for a held store before it reports [`StoreError::Locked`].
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Open sled, trying again for [`LOCK_WAIT`] while the store is locked: a store this process
/// has just closed stays locked until sled's I/O threads have finished their last jobs
/// (they hold its file), which a loaded machine can stretch to a moment. The restart of a
/// test, the shutdown's checkpoint and a server restarted in place would otherwise be
/// refused. A store another process holds is still refused, [`LOCK_WAIT`] later.
fn open_waiting_for_lock(
    path: &Path,
    open: impl Fn() -> sled::Result<sled::Db>,
) -> Result<sled::Db, StoreError> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match open().map_err(|e| classify_open_error(path, e)) {
            Err(StoreError::Locked { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn classify_open_error(path: &Path, e: sled::Error) -> StoreError {
    // sled reports a held lock as an I/O error (WouldBlock) while opening its file.
    let locked = match &e {
        sled::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::WouldBlock
                || io.to_string().contains("could not acquire lock")
        }
        _ => false,
    };
    if locked {
        StoreError::Locked {
            path: path.to_path_buf(),
        }
    } else {
        StoreError::Open {
            path: path.to_path_buf(),
            source: e,
        }
    }
}

/// Lower-case key text; the store's notion of "the same name".
pub(crate) fn fold(s: &str) -> String {
    s.to_lowercase()
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    pub fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreConfig::new(dir.path())).unwrap();
        (dir, store)
    }

    /// A temporary store with `users` imported.
    pub fn store_with(users: &[UserRecord]) -> (tempfile::TempDir, Store) {
        let (dir, store) = temp_store();
        store.import_users(users, stamp()).unwrap();
        (dir, store)
    }

    /// The time a test's write is stamped with.
    pub fn stamp() -> i64 {
        jiff::Timestamp::now().as_microsecond()
    }

    /// The message a publisher writes for `alias` of `/o=Org/ou=AG`: busy for an hour
    /// `busy_from` minutes into February 2008.
    pub fn message(alias: &str, busy_from: i64) -> PublishedMessage {
        use crate::protocol::freebusy::{FbStatus, FreeBusy, Interval, PublishRange};
        use crate::protocol::time::Minutes1601;
        let dn = crate::protocol::legacy_dn::LegacyDn::parse(&format!(
            "/o=Org/ou=AG/cn=Recipients/cn={alias}"
        ))
        .unwrap();
        let range = PublishRange {
            start: Minutes1601::from_civil(2008, 2, 1),
            end: Minutes1601::from_civil(2008, 4, 1),
        };
        let mut fb = FreeBusy::default();
        let s = range.start.plus_minutes(busy_from);
        fb.add(
            FbStatus::Busy,
            Interval::new(s, s.plus_minutes(60)).unwrap(),
        );
        let ts = jiff::Timestamp::from_second(1_200_000_000).unwrap();
        PublishedMessage {
            folder: dn.admin_group(),
            subject: dn.subject(),
            props: crate::protocol::fb_message::build_props(
                &dn,
                &fb,
                range,
                crate::protocol::pffb::PublisherStyle::Outlook,
                ts,
            ),
        }
    }

    /// Store `text` as `dn`'s calendar (one event, over HTTP, by anyone).
    pub fn put_calendar(s: &Store, dn: &crate::protocol::legacy_dn::LegacyDn, text: &str) {
        s.put_calendar(&Writer::ANYONE, dn, text, 1, CalendarSource::Http, stamp())
            .unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testutil::stamp;

    #[test]
    fn second_open_reports_the_lock() {
        let (dir, _store) = testutil::temp_store();
        match Store::open(&StoreConfig::new(dir.path())) {
            Err(StoreError::Locked { path }) => assert_eq!(path, dir.path()),
            Err(other) => panic!("expected Locked, got {other}"),
            Ok(_) => panic!("a second open of a held store must fail"),
        }
    }

    #[test]
    fn an_open_waits_while_the_store_is_being_closed() {
        let (dir, store) = testutil::temp_store();
        // Closed a moment after the second open starts, as a store this process has just
        // dropped is released once sled's I/O threads finish.
        let closer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(store);
        });
        let again = Store::open(&StoreConfig::new(dir.path()));
        closer.join().unwrap();
        assert!(again.is_ok(), "{:?}", again.err().map(|e| e.to_string()));
    }

    fn actor() -> Writer {
        Writer::ANYONE
    }

    /// "Flushed before acknowledged": each write returns only after a sync (sled's flush and
    /// `fdatasync` of its files) that it asked for. Fails if the sync is skipped.
    #[test]
    fn every_acknowledged_write_waited_for_a_sync() {
        let (_dir, store) = testutil::temp_store();
        for i in 0..5 {
            let before = store.syncs();
            store
                .pf_mkcol(&[format!("f{i}")], &actor(), stamp())
                .unwrap();
            assert!(
                store.syncs() > before,
                "write {i} was answered before a sync"
            );
        }
        // Concurrent writers: every one is covered, fewer syncs may cover them all.
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        let before = store.syncs();
                        store
                            .pf_put(
                                &["f0".into(), format!("{t}-{i}")],
                                b"x",
                                None,
                                &actor(),
                                stamp(),
                            )
                            .unwrap();
                        assert!(store.syncs() > before);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // The count is of real fdatasyncs: acknowledging after sled's flush alone (the old
        // way, kept for the benchmark) counts none.
        let dir = tempfile::tempdir().unwrap();
        let unsynced = Store::open(&StoreConfig {
            fdatasync: false,
            ..StoreConfig::new(dir.path())
        })
        .unwrap();
        unsynced.pf_mkcol(&["f".into()], &actor(), stamp()).unwrap();
        assert_eq!(unsynced.syncs(), 0);
    }

    /// A refused write does not wait for the disk, and nothing is left half-done.
    #[test]
    fn a_write_refused_for_space_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreConfig {
            min_free_bytes: u64::MAX,
            ..StoreConfig::new(dir.path())
        })
        .unwrap();
        let before = store.dump().unwrap();
        match store.pf_mkcol(&["f".into()], &actor(), stamp()) {
            Err(PfError::Store(e)) => {
                assert!(e.is_out_of_space());
                assert!(e.to_string().contains("nothing was written"), "{e}");
            }
            other => panic!("refused for space, not {other:?}"),
        }
        assert!(store.pf_get(&["f".into()]).unwrap().is_none());
        assert!(store.dump().unwrap() == before, "nothing changed");
    }

    /// The store holds password hashes: owner-only directories and files, made so at
    /// creation and tightened on open when found wider.
    #[cfg(unix)]
    #[test]
    fn store_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        fn check(data: &Path) {
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(data), 0o700, "{}", data.display());
            let mut stack = vec![data.join("db")];
            let mut files = 0;
            while let Some(d) = stack.pop() {
                assert_eq!(mode(&d), 0o700, "{}", d.display());
                for e in std::fs::read_dir(&d).unwrap() {
                    let p = e.unwrap().path();
                    if p.is_dir() {
                        stack.push(p);
                    } else {
                        assert_eq!(mode(&p), 0o600, "{}", p.display());
                        files += 1;
                    }
                }
            }
            assert!(files >= 2, "sled's files were checked");
        }
        fn loosen(p: &Path) {
            let m = if p.is_dir() { 0o755 } else { 0o644 };
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
            if p.is_dir() {
                for e in std::fs::read_dir(p).unwrap() {
                    loosen(&e.unwrap().path());
                }
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = Store::open(&StoreConfig::new(&data)).unwrap();
        // A large value goes to a file of its own under blobs/.
        store
            .pf_mkcol(&["f".into()], &actor(), stamp())
            .and_then(|_| {
                store.pf_put(
                    &["f".into(), "big".into()],
                    &[7; 300_000],
                    None,
                    &actor(),
                    stamp(),
                )
            })
            .unwrap();
        check(&data);
        drop(store);
        check(&data);
        loosen(&data);
        let store = Store::open(&StoreConfig::new(&data)).unwrap();
        check(&data);
        assert_eq!(
            store
                .pf_body(&["f".into(), "big".into()])
                .unwrap()
                .map(|b| b.len()),
            Some(300_000)
        );
    }

    fn user(n: usize) -> UserRecord {
        let dn = format!("/o=Org/ou=AG/cn=Recipients/cn=u{n}");
        UserRecord {
            legacy_dn: crate::protocol::legacy_dn::LegacyDn::parse(&dn).unwrap(),
            mail: format!("u{n}@x.example"),
            display_name: format!("U {n}"),
            alias: format!("u{n}"),
            proxy_addresses: Vec::new(),
        }
    }

    fn published(n: usize) -> PublishedMessage {
        use crate::protocol::freebusy::{FreeBusy, PublishRange};
        use crate::protocol::time::Minutes1601;
        let dn = user(n).legacy_dn;
        let range = PublishRange {
            start: Minutes1601::from_civil(2008, 2, 1),
            end: Minutes1601::from_civil(2008, 4, 1),
        };
        PublishedMessage {
            folder: dn.admin_group(),
            subject: dn.subject(),
            props: crate::protocol::fb_message::build_props(
                &dn,
                &FreeBusy::default(),
                range,
                crate::protocol::pffb::PublisherStyle::Outlook,
                jiff::Timestamp::from_second(1_200_000_000).unwrap(),
            ),
        }
    }

    /// What the trees hold, counted the slow way.
    fn counted(store: &Store) -> StoreStats {
        StoreStats {
            users: store.inner.users.len() as u64,
            messages: store.inner.messages.len() as u64,
        }
    }

    /// Issue 13: the user and message counts are kept in `meta` by every write and read
    /// back at open, across creates, deletes, imports and restarts.
    #[test]
    fn stored_counts_follow_every_write_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = StoreConfig::new(dir.path());
        let check = |s: &Store, users: u64, messages: u64| {
            let want = StoreStats { users, messages };
            assert_eq!(s.stats(), want);
            assert_eq!(counted(s), want);
        };
        {
            let s = Store::open(&cfg).unwrap();
            check(&s, 0, 0);
            s.import_users(&(0..4).map(user).collect::<Vec<_>>(), testutil::stamp())
                .unwrap();
            // Re-importing the same users adds none.
            s.import_users(&(2..6).map(user).collect::<Vec<_>>(), testutil::stamp())
                .unwrap();
            check(&s, 6, 0);
            s.publish(&published(0), testutil::stamp()).unwrap();
            s.publish(&published(0), testutil::stamp()).unwrap();
            s.publish(&published(1), testutil::stamp()).unwrap();
            assert_eq!(
                s.fb_create_many(
                    &(1..5).map(published).collect::<Vec<_>>(),
                    testutil::stamp()
                )
                .unwrap(),
                3
            );
            check(&s, 6, 5);
            let m = published(2);
            assert_eq!(s.delete_messages(&m.folder, &m.subject).unwrap(), 1);
            check(&s, 6, 4);
        }
        let s = Store::open(&cfg).unwrap();
        check(&s, 6, 4);
        let m = published(3);
        assert!(
            s.fb_delete_at(&m.folder, &canonical_leaf(&m.subject), &Writer::ANYONE)
                .unwrap()
        );
        check(&s, 6, 3);
        assert_eq!(s.fb_delete_folder(&m.folder).unwrap(), Some(3));
        check(&s, 6, 0);
        drop(s);
        let s = Store::open(&cfg).unwrap();
        check(&s, 6, 0);
        // Start-up reads the stored counts and counts nothing: a stored figure is believed.
        s.inner
            .meta
            .insert(USERS_COUNT, &1234i64.to_be_bytes())
            .unwrap();
        drop(s);
        assert_eq!(Store::open(&cfg).unwrap().stats().users, 1234);
    }

    /// A store written before counts were kept gets them, counted once, at its next open.
    #[test]
    fn a_store_without_stored_counts_gets_them_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = StoreConfig::new(dir.path());
        {
            let s = Store::open(&cfg).unwrap();
            s.import_users(&(0..3).map(user).collect::<Vec<_>>(), testutil::stamp())
                .unwrap();
            s.publish(&published(1), testutil::stamp()).unwrap();
            s.inner.meta.remove(USERS_COUNT).unwrap();
            s.inner.meta.remove(MESSAGES_COUNT).unwrap();
        }
        let s = Store::open(&cfg).unwrap();
        let want = StoreStats {
            users: 3,
            messages: 1,
        };
        assert_eq!(s.stats(), want);
        let stored = |k| count_value(s.inner.meta.get(k).unwrap().as_deref());
        assert_eq!(stored(USERS_COUNT), Some(3));
        assert_eq!(stored(MESSAGES_COUNT), Some(1));
        s.publish(&published(2), testutil::stamp()).unwrap();
        assert_eq!(stored(MESSAGES_COUNT), Some(2));
    }

    #[test]
    fn reopen_after_drop_works() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(&StoreConfig::new(dir.path())).unwrap());
        Store::open(&StoreConfig::new(dir.path())).unwrap();
    }
}
