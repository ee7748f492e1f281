//! When a write is on disk, and when the disk is too full to take one.
//!
//! Owns the write lock ([`WriteLock`]), the group commit ([`Durability`]: one thread that
//! runs sled's flush and then `fdatasync` of sled's files for every writer waiting at that
//! moment) and the free-space gate. It must not know about records or HTTP.
//!
//! Why each piece exists (sled 0.34.7, read in its source and tried on a 20 MiB tmpfs):
//!
//! - **A real sync.** sled's `flush` writes the log with `sync_file_range`, which neither
//!   flushes the drive's cache nor the file's size, and leaves `fsync` to a background
//!   thread every 500 ms; large values go to files under `blobs/` that sled never syncs. A
//!   power cut could lose a write sled's flush had returned for. So after sled's flush we
//!   `fdatasync` the log, every new blob and the blob directory, and only then answer.
//! - **Group commit.** A writer holds the write lock only until its transaction commits;
//!   then it waits for a sync that *started after* the commit. The sync thread takes every
//!   waiting writer in one go, so N concurrent writers cost about one `fdatasync`, not N.
//! - **Never let sled meet `ENOSPC`.** When a write to its log fails, sled stores the error
//!   and fails every later write and flush with it, forever, even once space is back (a
//!   reopen clears it). So a write is admitted only while the file system has
//!   [`DEFAULT_MIN_FREE_BYTES`] (plus twice the body of an item PUT) free: a full
//!   disk is refused with 507 *before* sled writes anything, and writes resume by
//!   themselves when space returns. If sled meets `ENOSPC` anyway (another program took the
//!   last bytes mid-write), that error is answered 507 too; sled then stays read-only until
//!   the server restarts (docs/limits.md).
//! - **Bounded waits.** A sync that never returns (a dead disk; sled can also miss a wake-up
//!   after a failed write) must not hold the write lock or a request thread forever: writers
//!   wait at most [`WRITE_WAIT`] for the lock and for their sync and then get a sentence
//!   (503); while a sync is stuck, new writes are refused at once; closing the store waits
//!   for the sync thread at most [`WRITE_WAIT`], so a shutdown always ends.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use super::StoreError;

/// Free bytes the store's file system must keep for a write to be admitted: room for sled to
/// grow its log by a few 512 KiB segments and write a `max_calendar_bytes` calendar.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 8 * 1024 * 1024;

/// Why writes fail once sled has met `ENOSPC` (see the module's notes).
pub(crate) const SLED_STOPPED: &str = "the store's disk filled up during a write, and sled, its database, writes nothing more until schedplus restarts; nothing was written: free some space and restart schedplus (reads still work, and every acknowledged write is safe)";

/// How long a writer waits for the write lock, and for its sync, before it is refused.
pub const WRITE_WAIT: Duration = Duration::from_secs(20);

/// True for an I/O error that says the disk is full.
pub(crate) fn is_no_space(e: &io::Error) -> bool {
    // sled wraps its I/O errors once more, keeping the kind and the text.
    e.kind() == io::ErrorKind::StorageFull || e.to_string().contains("No space left on device")
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means a holder panicked; the state it guards stays consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Wait on `cv` for what is left until `deadline`; once it has passed, a
/// [`StoreError::Stalled`] saying `why`. A poisoned lock is taken over (see [`lock`]).
fn wait_until<'a, T>(
    cv: &Condvar,
    guard: MutexGuard<'a, T>,
    deadline: Instant,
    why: impl FnOnce() -> String,
) -> Result<MutexGuard<'a, T>, StoreError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(StoreError::Stalled(why()));
    }
    Ok(cv
        .wait_timeout(guard, left)
        .unwrap_or_else(|p| p.into_inner())
        .0)
}

// ---- the write lock ----------------------------------------------------------------------

/// One writer at a time, released either when its guard drops or, earlier, by
/// [`WriteLock::release_if_held`] from the same thread (the writer's flush).
#[derive(Default)]
pub(crate) struct WriteLock {
    owner: Mutex<Option<ThreadId>>,
    freed: Condvar,
    /// Writes let go so far (see [`WriteLock::epoch`]).
    epoch: std::sync::atomic::AtomicU64,
}

/// Proof of holding the write lock; lets it go when dropped unless the flush already did.
/// Not `Send`: the lock belongs to a thread, and only that thread can let it go.
pub(crate) struct WriteGuard<'a> {
    lock: &'a WriteLock,
    _thread_bound: std::marker::PhantomData<*const ()>,
}

impl WriteLock {
    pub(crate) fn acquire(&self, path: &Path) -> Result<WriteGuard<'_>, StoreError> {
        let me = std::thread::current().id();
        let deadline = Instant::now() + WRITE_WAIT;
        let mut owner = lock(&self.owner);
        while owner.is_some() {
            owner = wait_until(&self.freed, owner, deadline, || {
                format!(
                    "the store at {} has been busy with another write for {} s; this write was not made: retry later (reads still work)",
                    path.display(),
                    WRITE_WAIT.as_secs()
                )
            })?;
        }
        *owner = Some(me);
        Ok(WriteGuard {
            lock: self,
            _thread_bound: std::marker::PhantomData,
        })
    }

    /// Let the lock go if this thread holds it.
    pub(crate) fn release_if_held(&self) {
        self.release(true)
    }

    fn release(&self, changed: bool) {
        let mut owner = lock(&self.owner);
        if *owner == Some(std::thread::current().id()) {
            if changed {
                self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            *owner = None;
            self.freed.notify_one();
        }
    }

    /// Bumped by every write as it lets the lock go, after its transaction and before it
    /// returns: a value derived from reads made after loading an epoch is current while
    /// the epoch is unchanged (the query's row cache, `store::fb_cache`). Every writer
    /// bumps it, so a new kind of write cannot leave a stale row behind.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl WriteGuard<'_> {
    /// Let the lock go after a write that wrote nothing (an unchanged publish): the epoch
    /// stays, so cached rows stay.
    pub(crate) fn release_unchanged(self) {
        self.lock.release(false)
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        self.lock.release_if_held();
    }
}

// ---- the group commit --------------------------------------------------------------------

/// The group commit and the free-space gate of one open store.
pub(crate) struct Durability {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
    min_free: u64,
    /// Where free space is measured: the store's `db` directory.
    db_path: PathBuf,
}

struct Shared {
    state: Mutex<SyncState>,
    /// Signalled when a writer asks for a sync, when a sync ends, and at close.
    changed: Condvar,
    syncs: AtomicU64,
}

#[derive(Default)]
struct SyncState {
    /// Tickets handed out; a writer takes one after its transaction committed.
    requested: u64,
    /// Every ticket up to this one has been covered by a sync (successful or not).
    handled: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    /// The last failed sync: the last ticket it covered and why.
    failed: Option<(u64, Failure)>,
    /// When the sync in progress started.
    busy_since: Option<Instant>,
    stop: bool,
}

#[derive(Clone)]
struct Failure {
    message: String,
    no_space: bool,
}

impl Durability {
    /// Start the sync thread for `db`, whose files are in `db_path`.
    pub(crate) fn start(
        db: &sled::Db,
        db_path: &Path,
        min_free: u64,
        fdatasync: bool,
    ) -> io::Result<Durability> {
        let mut files = Files::open(db_path)?;
        files.fdatasync = fdatasync;
        let shared = Arc::new(Shared {
            state: Mutex::new(SyncState::default()),
            changed: Condvar::new(),
            syncs: AtomicU64::new(0),
        });
        let thread = {
            let shared = shared.clone();
            let db = db.clone();
            std::thread::Builder::new()
                .name("store-sync".into())
                .spawn(move || sync_loop(&shared, &db, files))?
        };
        Ok(Durability {
            shared,
            thread: Some(thread),
            min_free,
            db_path: db_path.to_path_buf(),
        })
    }

    pub(crate) fn syncs(&self) -> u64 {
        self.shared.syncs.load(Ordering::Relaxed)
    }

    /// Admit a write of about `bytes`, or say why not. Called with the write lock held.
    pub(crate) fn admit(&self, path: &Path, bytes: u64) -> Result<(), StoreError> {
        let last_failed = {
            let st = lock(&self.shared.state);
            if let Some(since) = st.busy_since.filter(|t| t.elapsed() >= WRITE_WAIT) {
                return Err(StoreError::Stalled(format!(
                    "the disk holding the store at {} has not finished a write for {} s; writes are refused until it does (reads still work)",
                    path.display(),
                    since.elapsed().as_secs()
                )));
            }
            st.failed
                .as_ref()
                .is_some_and(|(upto, _)| *upto > st.durable)
        };
        // The last sync failed: sync again, with nothing new, before writing. If the disk
        // is fine now, writes go on; if sled has stopped writing (it met ENOSPC), say so
        // before a transaction fails inside it.
        if last_failed {
            self.wait_durable(path).map_err(|e| match e {
                StoreError::DiskFull(_) => StoreError::DiskFull(SLED_STOPPED.into()),
                other => other,
            })?;
        }
        let reserve = self.min_free.saturating_add(bytes.saturating_mul(2));
        match fs2::available_space(&self.db_path) {
            Ok(free) if free < reserve => Err(StoreError::NoSpace {
                path: path.to_path_buf(),
                free,
                reserve,
            }),
            Ok(_) => Ok(()),
            // Not knowing is no reason to refuse: sled's own error would still be a 507.
            Err(e) => {
                tracing::warn!(path = %self.db_path.display(), error = %e, "cannot measure free disk space");
                Ok(())
            }
        }
    }

    /// Wait until everything committed before this call is durable.
    pub(crate) fn wait_durable(&self, path: &Path) -> Result<(), StoreError> {
        let deadline = Instant::now() + WRITE_WAIT;
        let mut st = lock(&self.shared.state);
        st.requested += 1;
        let ticket = st.requested;
        self.shared.changed.notify_all();
        loop {
            if st.durable >= ticket {
                return Ok(());
            }
            if let Some((_, f)) = st.failed.as_ref().filter(|(upto, _)| *upto >= ticket) {
                let message = if f.no_space {
                    format!(
                        "the disk holding the store at {} filled up during this write ({}): it may be lost on restart, and sled, the store's database, writes nothing more until schedplus restarts; free some space and restart schedplus (reads still work, and every acknowledged write is safe)",
                        path.display(),
                        f.message
                    )
                } else {
                    format!(
                        "the store at {} could not write to its disk ({}); this write may be lost on restart",
                        path.display(),
                        f.message
                    )
                };
                return Err(if f.no_space {
                    StoreError::DiskFull(message)
                } else {
                    StoreError::Stalled(message)
                });
            }
            st = wait_until(&self.shared.changed, st, deadline, || {
                format!(
                    "the disk holding the store at {} did not finish this write within {} s; it may not survive a power cut, and writes are refused until the disk answers (reads still work)",
                    path.display(),
                    WRITE_WAIT.as_secs()
                )
            })?;
        }
    }
}

impl Drop for Durability {
    /// Stop the sync thread after it has synced what was asked; wait for it at most
    /// [`WRITE_WAIT`]. A thread stuck in sled is left behind (it holds sled open, so sled's
    /// own close, which would block on the same disk, never runs) and the process can exit.
    fn drop(&mut self) {
        lock(&self.shared.state).stop = true;
        self.shared.changed.notify_all();
        let Some(thread) = self.thread.take() else {
            return;
        };
        let deadline = Instant::now() + WRITE_WAIT;
        while !thread.is_finished() {
            if Instant::now() >= deadline {
                tracing::error!("the store's sync thread is stuck on the disk; closing without it");
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = thread.join();
    }
}

fn sync_loop(shared: &Shared, db: &sled::Db, mut files: Files) {
    loop {
        let target = {
            let mut st = lock(&shared.state);
            while st.requested == st.handled && !st.stop {
                st = shared.changed.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            if st.requested == st.handled {
                return;
            }
            st.busy_since = Some(Instant::now());
            // Every ticket up to here was taken after its transaction committed, so the
            // flush below covers it.
            st.requested
        };
        let result = match db.flush() {
            Ok(_) => files.sync().map_err(|e| Failure {
                no_space: is_no_space(&e),
                message: e.to_string(),
            }),
            Err(e) => Err(Failure {
                no_space: matches!(&e, sled::Error::Io(io) if is_no_space(io)),
                message: e.to_string(),
            }),
        };
        let mut st = lock(&shared.state);
        st.busy_since = None;
        st.handled = target;
        match result {
            Ok(synced) => {
                st.durable = target;
                if synced {
                    shared.syncs.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(f) => {
                tracing::error!(error = %f.message, "the store could not sync its disk");
                st.failed = Some((target, f));
            }
        }
        shared.changed.notify_all();
    }
}

/// sled's files that hold data: the log, and blobs (values over ~128 KiB) in `blobs/`.
struct Files {
    log: File,
    blobs: PathBuf,
    /// Blob files are named by a growing number; those up to this one are synced.
    blobs_synced: u64,
    /// False only in the benchmark of what the sync costs (`StoreConfig::fdatasync`).
    fdatasync: bool,
}

impl Files {
    fn open(db_path: &Path) -> io::Result<Files> {
        let log = File::open(db_path.join("db"))?;
        let blobs = db_path.join("blobs");
        // What is there at open was written by an earlier process, which synced it.
        let blobs_synced = blob_numbers(&blobs)?.map(|(n, _)| n).max().unwrap_or(0);
        // The directory entries of the files sled just created.
        File::open(db_path)?.sync_all()?;
        Ok(Files {
            log,
            blobs,
            blobs_synced,
            fdatasync: true,
        })
    }

    /// `fdatasync` what sled wrote since the last call; true when it did (false only with
    /// the benchmark's `fdatasync: false`).
    fn sync(&mut self) -> io::Result<bool> {
        if !self.fdatasync {
            return Ok(false);
        }
        self.log.sync_data()?;
        let mut newest = self.blobs_synced;
        for (n, path) in blob_numbers(&self.blobs)? {
            if n <= self.blobs_synced {
                continue;
            }
            match File::open(&path) {
                Ok(f) => {
                    f.sync_data()?;
                    set_mode(&path, 0o600);
                }
                // Collected by sled meanwhile: nothing to keep.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            newest = newest.max(n);
        }
        if newest > self.blobs_synced {
            File::open(&self.blobs)?.sync_all()?;
            self.blobs_synced = newest;
        }
        Ok(true)
    }
}

/// The numbered files in sled's blob directory (none if it does not exist).
fn blob_numbers(dir: &Path) -> io::Result<impl Iterator<Item = (u64, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd.collect::<Result<Vec<_>, _>>()?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(entries.into_iter().filter_map(|e| {
        let n = e.file_name().to_str()?.parse::<u64>().ok()?;
        Some((n, e.path()))
    }))
}

// ---- file modes --------------------------------------------------------------------------

/// Create the data directory and sled's directory owner-only (0700), and tighten them if
/// they exist: the store holds password hashes.
pub(crate) fn make_private_dirs(data: &Path, db: &Path) -> io::Result<()> {
    for dir in [data, db] {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)?;
        set_mode(dir, 0o700);
    }
    Ok(())
}

/// Tighten everything sled has under `db` to 0600 (files) and 0700 (directories). sled
/// creates its files with the process umask; the 0700 directory keeps later ones private
/// anyway, and blobs are tightened as they are synced.
pub(crate) fn make_private_files(db: &Path) {
    let Ok(rd) = std::fs::read_dir(db) else {
        return;
    };
    for e in rd.flatten() {
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => {
                set_mode(&path, 0o700);
                make_private_files(&path);
            }
            Ok(t) if t.is_file() => set_mode(&path, 0o600),
            _ => {}
        }
    }
}

/// Set `path`'s permission bits; a failure (a directory we do not own) is logged, not fatal.
fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let current = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777);
        if current.is_ok_and(|m| m == mode) {
            return;
        }
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
            tracing::warn!(path = %path.display(), error = %e, "cannot make the store's file private");
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}
