//! The `?Cmd=freebusy` query's caches: for an address as the query wrote it and a slot
//! grid, the row it was answered with (the display name, whether the user was found and
//! had a message, and the painted digits), so that a repeated query reads nothing from
//! sled and paints nothing (issue 13: reading and painting were two thirds of a 100-user
//! query); and for a query string as the client sent it, the whole answer document
//! ([`CachedAnswer`]), so that a repeated query is not even parsed (issue 13: parsing,
//! writing the document and its allocations were most of what a one-user query cost beyond
//! `/healthz`).
//!
//! Owns the caches and their one rule of freshness: a row or an answer is used only while
//! the store's write epoch (`durability::WriteLock::epoch`, bumped by every write as it lets
//! the write lock go, after its transaction and before it returns) is the one loaded before
//! the reads it was made from. So a write is in the very next answer, whatever it wrote
//! (free/busy, directory, folders); only an unchanged publish keeps the epoch. Rows and
//! answers made while a write was in flight carry the epoch from before it and are never
//! used after it.
//!
//! Rows and answers share one bound, `fb_cache_bytes` (each weighs its bytes and key plus a
//! fixed overhead; 0 turns both off), evicted by `quick_cache` (S3-FIFO). Hits and misses
//! of rows are counted for `/metrics` (an answer kept whole counts a hit per row it holds,
//! as the rows would have). Must not decide anything about the answer: rows and answers are
//! made by the caller (`app::freebusy`), the cache only keeps them.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use bytes::Bytes;
use quick_cache::Equivalent;

use super::Store;
use crate::protocol::address::UserAddress;
use crate::protocol::raster::SlotGrid;

/// The default bound of the row cache, in bytes (`fb_cache_bytes`).
pub const DEFAULT_FB_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// What a row or an answer weighs beyond its bytes: the key's and the entry's own fields,
/// the `Arc`.
const ENTRY_OVERHEAD: u64 = 96;

/// How the user of a row was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowSource {
    /// Nobody in the directory answers to the address: `4`s.
    Unknown,
    /// A user without a free/busy message: `4`s.
    NoMessage,
    /// Painted from the user's message.
    Data,
}

/// One answered user, as kept.
#[derive(Debug)]
pub struct CachedRow {
    pub display_name: Box<str>,
    pub source: RowSource,
    /// One digit per slot of the grid it was cached under.
    pub digits: Box<[u8]>,
    epoch: u64,
}

/// A whole answer, as kept for the query string it answered: the document, and what its
/// caller needs to count it again as it counted it the first time.
#[derive(Debug)]
pub struct CachedAnswer {
    /// The answer document, shared with every response that sends it.
    pub body: Bytes,
    /// Users answered (items less All Attendees).
    pub users: usize,
    /// Slots per user.
    pub slots: usize,
    /// The addresses answered as nobody in the directory, in order.
    pub unknown: Box<[Box<str>]>,
    epoch: u64,
}

impl CachedAnswer {
    pub fn new(body: Bytes, users: usize, slots: usize, unknown: Box<[Box<str>]>) -> Self {
        CachedAnswer {
            body,
            users,
            slots,
            unknown,
            epoch: 0,
        }
    }
}

/// The write epoch loaded before a row's reads ([`Store::row_stamp`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowStamp(u64);

/// A row's key: kept with an owned address, looked up with a borrowed one (the same hash,
/// so a lookup allocates nothing).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RowKey<A> {
    start: i64,
    interval: i64,
    slots: usize,
    ex: bool,
    address: A,
}

fn row_key<'a>(addr: &'a UserAddress, grid: &SlotGrid) -> RowKey<&'a str> {
    RowKey {
        start: grid.start.0,
        interval: grid.interval,
        slots: grid.slots,
        ex: matches!(addr, UserAddress::Ex(_)),
        address: addr.value(),
    }
}

/// What the cache holds an entry under: a row, or an answer by its query string.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Key {
    Row(RowKey<Box<str>>),
    Answer(Box<str>),
}

/// A [`Key`] as looked up, borrowed: hashed alike, so that a lookup allocates nothing.
#[derive(PartialEq, Eq, Hash)]
enum KeyRef<'a> {
    Row(RowKey<&'a str>),
    Answer(&'a str),
}

impl Key {
    fn as_ref(&self) -> KeyRef<'_> {
        match self {
            Key::Row(k) => KeyRef::Row(k.with_address(&*k.address)),
            Key::Answer(q) => KeyRef::Answer(q),
        }
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_ref().hash(h);
    }
}

impl Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        *self == key.as_ref()
    }
}

impl<A> RowKey<A> {
    /// The same key over another form of its address.
    fn with_address<B>(&self, address: B) -> RowKey<B> {
        RowKey {
            start: self.start,
            interval: self.interval,
            slots: self.slots,
            ex: self.ex,
            address,
        }
    }
}

#[derive(Clone)]
enum Kept {
    Row(Arc<CachedRow>),
    Answer(Arc<CachedAnswer>),
}

#[derive(Clone)]
struct Weight;

impl quick_cache::Weighter<Key, Kept> for Weight {
    fn weight(&self, key: &Key, kept: &Kept) -> u64 {
        let bytes = match (key, kept) {
            (Key::Row(k), Kept::Row(row)) => {
                k.address.len() + row.display_name.len() + row.digits.len()
            }
            (Key::Answer(q), Kept::Answer(a)) => {
                q.len() + a.body.len() + a.unknown.iter().map(|u| u.len() + 16).sum::<usize>()
            }
            // Never inserted (a key's kind is its entry's).
            _ => 0,
        };
        bytes as u64 + ENTRY_OVERHEAD
    }
}

/// What `/metrics` shows of the cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FbCacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Bytes held (by the weights above), at most `capacity`.
    pub bytes: u64,
    pub capacity: u64,
}

/// The cache of one open store (none when its bound is 0).
pub(crate) struct FbCache {
    kept: Option<quick_cache::sync::Cache<Key, Kept, Weight>>,
    capacity: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl FbCache {
    pub(crate) fn new(capacity: u64) -> FbCache {
        // Rows of one user over two weeks in 15-minute slots weigh about 1.5 KiB.
        let estimated = (capacity / 1536).clamp(16, 1 << 20) as usize;
        FbCache {
            kept: (capacity > 0)
                .then(|| quick_cache::sync::Cache::with_weighter(estimated, capacity, Weight)),
            capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }
}

impl Store {
    /// The stamp to give [`Store::cache_row`] or [`Store::cache_answer`] for what is made
    /// from reads that follow this call.
    pub fn row_stamp(&self) -> RowStamp {
        RowStamp(self.inner.write_lock.epoch())
    }

    /// The row cached for `addr` on `grid`, if no write has been made since it was read.
    pub fn cached_row(&self, addr: &UserAddress, grid: &SlotGrid) -> Option<Arc<CachedRow>> {
        let cache = &self.inner.fb_cache;
        let kept = cache.kept.as_ref()?;
        let epoch = self.inner.write_lock.epoch();
        match kept.get(&KeyRef::Row(row_key(addr, grid))) {
            Some(Kept::Row(row)) if row.epoch == epoch => {
                cache.hits.fetch_add(1, Relaxed);
                Some(row)
            }
            _ => {
                cache.misses.fetch_add(1, Relaxed);
                None
            }
        }
    }

    /// Keep the row answered for `addr` on `grid` (`digits` holds `grid.slots` digits),
    /// made from reads after `stamp` was taken. A row larger than the whole bound is not
    /// kept.
    pub fn cache_row(
        &self,
        addr: &UserAddress,
        grid: &SlotGrid,
        stamp: RowStamp,
        display_name: &str,
        source: RowSource,
        digits: &[u8],
    ) {
        let Some(kept) = &self.inner.fb_cache.kept else {
            return;
        };
        debug_assert_eq!(digits.len(), grid.slots);
        let row = CachedRow {
            display_name: display_name.into(),
            source,
            digits: digits.into(),
            epoch: stamp.0,
        };
        let key = row_key(addr, grid);
        let key = key.with_address(key.address.into());
        kept.insert(Key::Row(key), Kept::Row(Arc::new(row)));
    }

    /// The answer kept for the query string `query`, if no write has been made since it
    /// was made. Counted as a hit for each of its rows; a query not kept counts nothing
    /// (its rows are then looked up and counted one by one).
    pub fn cached_answer(&self, query: &str) -> Option<Arc<CachedAnswer>> {
        let cache = &self.inner.fb_cache;
        let epoch = self.inner.write_lock.epoch();
        match cache.kept.as_ref()?.get(&KeyRef::Answer(query)) {
            Some(Kept::Answer(a)) if a.epoch == epoch => {
                cache.hits.fetch_add(a.users as u64, Relaxed);
                Some(a)
            }
            _ => None,
        }
    }

    /// Keep `answer` for the query string `query`, made from reads after `stamp` was
    /// taken (every row of it: a row kept from before `stamp` is from the same epoch or
    /// the answer is never used).
    pub fn cache_answer(&self, query: &str, stamp: RowStamp, mut answer: CachedAnswer) {
        let Some(kept) = &self.inner.fb_cache.kept else {
            return;
        };
        answer.epoch = stamp.0;
        kept.insert(Key::Answer(query.into()), Kept::Answer(Arc::new(answer)));
    }

    /// Hits, misses and bytes held, for `/metrics`.
    pub fn fb_cache_stats(&self) -> FbCacheStats {
        let c = &self.inner.fb_cache;
        FbCacheStats {
            hits: c.hits.load(Relaxed),
            misses: c.misses.load(Relaxed),
            bytes: c.kept.as_ref().map_or(0, |r| r.weight()),
            capacity: c.capacity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::time::Minutes1601;
    use crate::store::StoreConfig;

    fn store_with(bytes: u64) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = StoreConfig::new(dir.path());
        cfg.fb_cache_bytes = bytes;
        let store = Store::open(&cfg).unwrap();
        (dir, store)
    }

    fn grid(slots: usize) -> SlotGrid {
        SlotGrid {
            start: Minutes1601(0),
            interval: 30,
            slots,
        }
    }

    #[test]
    fn the_cache_stays_within_its_bound() {
        let bound = 64 * 1024;
        let (_dir, store) = store_with(bound);
        let g = grid(2016);
        for i in 0..1000 {
            let addr = UserAddress::Smtp(format!("user{i}@bound.example"));
            store.cache_row(
                &addr,
                &g,
                store.row_stamp(),
                "A Name",
                RowSource::Data,
                &[b'2'; 2016],
            );
            let stats = store.fb_cache_stats();
            assert!(stats.bytes <= bound, "{stats:?} after {i} rows");
        }
        let stats = store.fb_cache_stats();
        assert!(stats.bytes > bound / 2, "the cache is used: {stats:?}");
        // What is held is what fits: each row weighs more than its 2,016 digits.
        let held = (0..1000)
            .filter(|i| {
                let addr = UserAddress::Smtp(format!("user{i}@bound.example"));
                store.cached_row(&addr, &g).is_some()
            })
            .count();
        assert!(held > 0 && held as u64 <= bound / 2016, "{held} rows held");
    }

    #[test]
    fn a_bound_of_zero_keeps_nothing() {
        let (_dir, store) = store_with(0);
        let addr = UserAddress::Smtp("a@b.example".into());
        store.cache_row(
            &addr,
            &grid(4),
            store.row_stamp(),
            "A",
            RowSource::Data,
            b"0000",
        );
        assert!(store.cached_row(&addr, &grid(4)).is_none());
        assert_eq!(store.fb_cache_stats().bytes, 0);
    }

    #[test]
    fn a_row_is_kept_per_address_form_and_grid_and_dropped_by_any_write() {
        let (_dir, store) = store_with(DEFAULT_FB_CACHE_BYTES);
        let addr = UserAddress::Smtp("a@b.example".into());
        let stamp = store.row_stamp();
        store.cache_row(&addr, &grid(4), stamp, "A", RowSource::Data, b"0120");
        let row = store.cached_row(&addr, &grid(4)).expect("kept");
        assert_eq!((&*row.display_name, &*row.digits), ("A", &b"0120"[..]));
        assert!(store.cached_row(&addr, &grid(5)).is_none(), "another grid");
        let ex = UserAddress::Ex("a@b.example".into());
        assert!(
            store.cached_row(&ex, &grid(4)).is_none(),
            "another address form"
        );
        // A write of anything at all (here a folder) makes the row stale.
        let folder = crate::protocol::legacy_dn::AdminGroup::parse("EX:/o=O/ou=AG").unwrap();
        store.fb_create_folder(&folder, 0).unwrap();
        assert!(
            store.cached_row(&addr, &grid(4)).is_none(),
            "stale after a write"
        );
        // A row made from reads before the write is never used after it.
        store.cache_row(&addr, &grid(4), stamp, "A", RowSource::Data, b"0120");
        assert!(store.cached_row(&addr, &grid(4)).is_none());
        let stats = store.fb_cache_stats();
        assert_eq!((stats.hits, stats.misses), (1, 4));
    }

    #[test]
    fn an_answer_is_kept_per_query_string_counted_per_row_and_dropped_by_any_write() {
        let (_dir, store) = store_with(DEFAULT_FB_CACHE_BYTES);
        let answer = || CachedAnswer::new(Bytes::from_static(b"<doc/>"), 2, 4, Box::new([]));
        let stamp = store.row_stamp();
        store.cache_answer("Cmd=freebusy&u=a", stamp, answer());
        let kept = store.cached_answer("Cmd=freebusy&u=a").expect("kept");
        assert_eq!(
            (&kept.body[..], kept.users, kept.slots),
            (&b"<doc/>"[..], 2, 4)
        );
        assert!(
            store.cached_answer("cmd=freebusy&u=a").is_none(),
            "another string"
        );
        // A row under the same string is another entry.
        let addr = UserAddress::Smtp("Cmd=freebusy&u=a".into());
        assert!(store.cached_row(&addr, &grid(4)).is_none());
        let stats = store.fb_cache_stats();
        assert_eq!((stats.hits, stats.misses), (2, 1), "a hit per row it holds");
        let folder = crate::protocol::legacy_dn::AdminGroup::parse("EX:/o=O/ou=AG").unwrap();
        store.fb_create_folder(&folder, 0).unwrap();
        assert!(store.cached_answer("Cmd=freebusy&u=a").is_none(), "stale");
        // One made from reads before the write is never used after it.
        store.cache_answer("Cmd=freebusy&u=a", stamp, answer());
        assert!(store.cached_answer("Cmd=freebusy&u=a").is_none());
        store.cache_answer("Cmd=freebusy&u=a", store.row_stamp(), answer());
        assert!(store.cached_answer("Cmd=freebusy&u=a").is_some());
        assert!(store.fb_cache_stats().bytes > 6);
    }

    #[test]
    fn a_bound_of_zero_keeps_no_answer() {
        let (_dir, store) = store_with(0);
        let answer = CachedAnswer::new(Bytes::from_static(b"x"), 1, 1, Box::new([]));
        store.cache_answer("q", store.row_stamp(), answer);
        assert!(store.cached_answer("q").is_none());
    }
}
