//! Answering `GET /public/?Cmd=freebusy`: resolve each `u=`, read its precomputed
//! free/busy, paint the digits, and write the XML.
//!
//! Per user this is one or two point reads in the address index, one in the users tree
//! and one short prefix scan of the messages tree; nothing scans the store. A user who
//! cannot be resolved, or has no message, or whose store read fails, is answered with `4`s:
//! one bad user never fails the whole request (PROTOCOL.md §3).
//!
//! An answer may reach 20 MB (`max_digits`), so it is written a piece at a time
//! ([`AnswerPages`]) rather than built whole: the first item, All Attendees, is the
//! per-slot maximum over every user, so a first pass ([`AnswerPages::new`]) paints each user
//! once to build it (holding one row and the aggregate), and the items are then painted
//! again, a page at a time, as the client takes them. A publish that lands between the two
//! passes can make All Attendees differ from that user's row in this one answer; each row
//! is a consistent read of its own user. An answer of up to 256 KiB of digits (the usual
//! query) is written whole by the first pass, each row painted once straight into its
//! place in the document, and reads the store once.
//!
//! A message's free/busy is read without decoding the rest of its record (the store keeps
//! it at the front: `store::codec`), and painted a run of slots per interval. Each row
//! answered is kept in the store's row cache (`store::fb_cache`) and used again, without
//! a read or a paint, until the next write to the store; an answer whose every row is kept
//! is written from them alone ([`cached_answer`]), cheaply enough for the request's thread.
//! A small answer is also kept whole, under its query string as received, until the next
//! write ([`AnswerPages::finish_keeping`]), and a repeated query is answered with those
//! very bytes before it is even parsed ([`kept_answer`], which counts it as it was counted
//! the first time).

use crate::protocol::query::QueryLimits;
use crate::protocol::query::{
    ANSWER_ITEM_OVERHEAD, FreeBusyQuery, UserAddress, write_answer_head, write_answer_item_close,
    write_answer_item_open, write_answer_tail,
};
use crate::protocol::raster::{self, SlotGrid};
use crate::store::{CachedAnswer, CachedRow, FreeBusyRead, RowSource, RowStamp, Store};
use bytes::Bytes;
use std::sync::Arc;

/// What one answered user came to, for logs and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnswerStats {
    pub users: usize,
    pub unknown: usize,
    pub no_message: usize,
}

/// One user of the answer: a row kept by the store's row cache (`store::fb_cache`), or
/// what was read for it, painted when its digits are written.
enum UserRow {
    Kept(Arc<CachedRow>),
    Read {
        name: String,
        stored: Option<FreeBusyRead>,
        source: RowSource,
        /// The write epoch before the reads; `None` when a read failed (never kept).
        stamp: Option<RowStamp>,
    },
}

impl UserRow {
    /// `addr`'s row on `grid`: the cached one while no write has been made since it was
    /// read, else read from the store. `first`: the first pass, which logs what it finds
    /// (the second would log it again).
    fn of(store: &Store, addr: &UserAddress, grid: &SlotGrid, first: bool) -> UserRow {
        if let Some(kept) = store.cached_row(addr, grid) {
            return UserRow::Kept(kept);
        }
        let stamp = store.row_stamp();
        let (name, stored, source, clean) = read_user(store, addr, first);
        UserRow::Read {
            name,
            stored,
            source,
            // A user without a message is not kept: each answer checks for the CAS's 4004.
            stamp: (clean && source != RowSource::NoMessage).then_some(stamp),
        }
    }

    fn name(&self) -> &str {
        match self {
            UserRow::Kept(row) => &row.display_name,
            UserRow::Read { name, .. } => name,
        }
    }

    /// May an answer holding this row be kept whole? Not when a read failed, nor for a
    /// user without a message (each answer checks for the CAS's 4004).
    fn keepable(&self) -> bool {
        match self {
            UserRow::Kept(_) => true,
            UserRow::Read { stamp, .. } => stamp.is_some(),
        }
    }

    fn source(&self) -> RowSource {
        match self {
            UserRow::Kept(row) => row.source,
            UserRow::Read { source, .. } => *source,
        }
    }

    /// Append the row's `grid.slots` digits to `out` (and keep a row just read).
    fn push_digits(&self, store: &Store, addr: &UserAddress, grid: &SlotGrid, out: &mut Vec<u8>) {
        match self {
            UserRow::Kept(row) => out.extend_from_slice(&row.digits),
            UserRow::Read {
                name,
                stored,
                source,
                stamp,
            } => {
                let at = out.len();
                out.resize(at + grid.slots, 0);
                let row = &mut out[at..];
                match stored {
                    Some(s) => s.paint_into(grid, row),
                    None => raster::paint_into(grid, None, row),
                }
                if let Some(stamp) = *stamp {
                    store.cache_row(addr, grid, stamp, name, *source, row);
                }
            }
        }
    }
}

/// Read what `addr`'s row needs: the display name to answer with and the free/busy (the
/// store reads of one user), and whether every read succeeded. `first`: see [`UserRow::of`].
fn read_user(
    store: &Store,
    addr: &UserAddress,
    first: bool,
) -> (String, Option<FreeBusyRead>, RowSource, bool) {
    let user = match store.find_user(addr) {
        Ok(Some(u)) => Some(u),
        Ok(None) => None,
        Err(e) => {
            if first {
                tracing::warn!(address = addr.value(), error = %e, "directory read failed; answering no data");
            }
            return (addr.value().to_string(), None, RowSource::Unknown, false);
        }
    };
    let Some(u) = user else {
        return (addr.value().to_string(), None, RowSource::Unknown, true);
    };
    let dn = &u.legacy_dn;
    let (stored, clean) = match store.freebusy_read_of(&dn.admin_group(), &dn.subject()) {
        Ok(stored) => (stored, true),
        Err(e) => {
            if first {
                tracing::warn!(user = %dn, error = %e, "free/busy read failed; answering no data");
            }
            (None, false)
        }
    };
    // The CAS's 4004: no public-folder server holds this user's admin group. Only checked
    // when there is no message, so it costs nothing on the usual path.
    if first && stored.is_none() && matches!(store.folder(&dn.admin_group()), Ok(None)) {
        tracing::warn!(
            event_id = 4004,
            user = %dn,
            folder = %dn.admin_group(),
            "no SCHEDULE+ FREE BUSY folder for this user's admin group; a CAS would log event 4004. Import the user (schedplus directory import) or create the folder"
        );
    }
    let source = if stored.is_some() {
        RowSource::Data
    } else {
        RowSource::NoMessage
    };
    (u.display_name, stored, source, clean)
}

/// Append one user's item to `out`, its digits written in place; returns where they are.
fn write_item(
    out: &mut Vec<u8>,
    store: &Store,
    grid: &SlotGrid,
    addr: &UserAddress,
    user: &UserRow,
) -> std::ops::Range<usize> {
    write_answer_item_open(user.name(), Some(addr), out);
    let at = out.len();
    user.push_digits(store, addr, grid, out);
    write_answer_item_close(out);
    at..at + grid.slots
}

impl AnswerStats {
    fn note(&mut self, user: &UserRow) {
        match user.source() {
            RowSource::Unknown => {
                self.unknown += 1;
                crate::app::metrics::unknown_query_user(user.name());
            }
            RowSource::NoMessage => self.no_message += 1,
            RowSource::Data => {}
        }
    }
}

/// What it takes to keep a small answer whole (`store::fb_cache`): the stamp loaded before
/// its first read, and the addresses it answered as nobody (counted again on each use).
struct Keep {
    stamp: RowStamp,
    unknown: Vec<Box<str>>,
}

/// A small answer written whole: each row (one per user, in order) written straight into
/// its item and raised into All Attendees' digits, which sit before it in the same buffer.
/// `keep` (the stamp loaded before the rows were looked up) comes back with what keeping
/// the answer takes, or `None` when a row may not be kept ([`UserRow::keepable`]).
fn write_whole(
    store: &Store,
    q: &FreeBusyQuery,
    grid: &SlotGrid,
    rows: impl Iterator<Item = UserRow>,
    stats: &mut AnswerStats,
    keep: RowStamp,
) -> (Vec<u8>, Option<Keep>) {
    let mut out =
        Vec::with_capacity((q.users.len() + 1) * (grid.slots + ANSWER_ITEM_OVERHEAD + 64) + 128);
    let mut keep = Some(Keep {
        stamp: keep,
        unknown: Vec::new(),
    });
    write_answer_head(&mut out);
    write_answer_item_open("All Attendees", None, &mut out);
    let all_at = out.len();
    out.resize(all_at + grid.slots, b'0');
    write_answer_item_close(&mut out);
    for (addr, user) in q.users.iter().zip(rows) {
        stats.note(&user);
        if !user.keepable() {
            keep = None;
        } else if let (Some(k), RowSource::Unknown) = (&mut keep, user.source()) {
            k.unknown.push(user.name().into());
        }
        let row = write_item(&mut out, store, grid, addr, &user);
        let (head, rest) = out.split_at_mut(row.start);
        raster::max_into(&mut head[all_at..all_at + grid.slots], &rest[..grid.slots]);
    }
    write_answer_tail(&mut out);
    (out, keep)
}

/// `body`, answering the query string `query` (`users` users over `grid`), as shared
/// bytes; kept whole by the store for [`kept_answer`] when `keep` allows.
fn keep_whole(
    store: &Store,
    query: &str,
    (users, grid): (usize, &SlotGrid),
    body: Vec<u8>,
    keep: Option<Keep>,
) -> Bytes {
    let body = Bytes::from(body);
    if let Some(Keep { stamp, unknown }) = keep {
        let answer = CachedAnswer::new(body.clone(), users, grid.slots, unknown.into());
        store.cache_answer(query, stamp, answer);
    }
    body
}

/// The answer kept whole for the query string `query` (see [`AnswerPages::finish_keeping`]),
/// if no write has been made since it was written and `limits` admit it, counted as it was
/// the first time (its unknown addresses included). Nothing is parsed: this is the whole of
/// a repeated query's work.
pub fn kept_answer(
    store: &Store,
    query: &str,
    limits: &QueryLimits,
) -> Option<(Bytes, AnswerStats)> {
    let kept = store.cached_answer(query)?;
    // The same string parsed under other limits (another server on the same store) may be
    // refused.
    limits.check(kept.users, kept.slots).ok()?;
    let mut stats = AnswerStats {
        users: kept.users,
        ..Default::default()
    };
    for address in &kept.unknown {
        stats.unknown += 1;
        crate::app::metrics::unknown_query_user(address);
    }
    Some((kept.body.clone(), stats))
}

/// The whole answer when every row of it is cached and fresh, or `None` (nothing counted
/// or logged; [`AnswerPages::new`] then reads). Copies only, no store read: cheap enough
/// for the request's own thread whatever its size, which spares a repeated large query the
/// hand-off to the store threads and back. Kept whole for `query`, its query string.
pub fn cached_answer(
    store: &Store,
    q: &FreeBusyQuery,
    query: &str,
) -> Option<(Bytes, AnswerStats)> {
    let grid = q.grid();
    if q.users.len().saturating_mul(grid.slots) > KEEP_ROWS_DIGITS {
        return None;
    }
    let stamp = store.row_stamp();
    let rows = q
        .users
        .iter()
        .map(|a| store.cached_row(a, &grid).map(UserRow::Kept))
        .collect::<Option<Vec<_>>>()?;
    let mut stats = AnswerStats {
        users: q.users.len(),
        ..Default::default()
    };
    let (out, keep) = write_whole(store, q, &grid, rows.into_iter(), &mut stats, stamp);
    let body = keep_whole(store, query, (q.users.len(), &grid), out, keep);
    Some((body, stats))
}

/// Answers whose digits fit in this many bytes are written whole in the first pass: the
/// usual query (up to 100 users over six weeks in 30-minute slots, say) reads the store
/// once and paints each row once, in place in the document.
const KEEP_ROWS_DIGITS: usize = 256 * 1024;

/// An answer written a piece at a time.
pub struct AnswerPages {
    q: FreeBusyQuery,
    grid: SlotGrid,
    /// All Attendees; taken when its item is written.
    all: Option<Vec<u8>>,
    /// The next user to write.
    next: usize,
    /// A small answer, written whole by the first pass; taken when written.
    whole: Option<Vec<u8>>,
    /// What keeping `whole` takes, if it may be kept.
    keep: Option<Keep>,
}

impl AnswerPages {
    /// The first pass: every user painted once for All Attendees and the statistics. A
    /// small answer is written whole here: each row is painted straight into its item and
    /// raised into All Attendees' digits, which sit before it in the same buffer.
    pub fn new(store: &Store, q: FreeBusyQuery) -> (AnswerPages, AnswerStats) {
        let grid = q.grid();
        let mut stats = AnswerStats {
            users: q.users.len(),
            ..Default::default()
        };
        let small = q.users.len().saturating_mul(grid.slots) <= KEEP_ROWS_DIGITS;
        let mut keep = None;
        let (all, whole) = if small {
            let stamp = store.row_stamp();
            let rows = q.users.iter().map(|a| UserRow::of(store, a, &grid, true));
            let (whole, k) = write_whole(store, &q, &grid, rows, &mut stats, stamp);
            keep = k;
            (None, Some(whole))
        } else {
            let mut all = vec![b'0'; grid.slots];
            let mut row = Vec::with_capacity(grid.slots);
            for addr in &q.users {
                let user = UserRow::of(store, addr, &grid, true);
                stats.note(&user);
                row.clear();
                user.push_digits(store, addr, &grid, &mut row);
                raster::max_into(&mut all, &row);
            }
            (Some(all), None)
        };
        let pages = AnswerPages {
            q,
            grid,
            all,
            next: 0,
            whole,
            keep,
        };
        (pages, stats)
    }

    /// Is the answer small enough to have been written whole by the first pass (at most
    /// 256 KiB of digits)? Then it is cheaper to send it at once than a page at a time.
    pub fn is_small(&self) -> bool {
        self.whole.is_some()
    }

    /// The rest of the answer, at once (a small answer's document as written, not copied).
    pub fn finish(mut self, store: &Store) -> Vec<u8> {
        if let Some(whole) = self.whole.take() {
            return whole;
        }
        let mut out = Vec::new();
        while self.fill(store, &mut out, usize::MAX) {}
        out
    }

    /// [`finish`](Self::finish) as shared bytes, and a small answer whose every row could be
    /// kept is kept whole for `query`, the query string it answers ([`kept_answer`]).
    pub fn finish_keeping(mut self, store: &Store, query: &str) -> Bytes {
        let keep = self.keep.take();
        let (users, grid) = (self.q.users.len(), self.grid);
        keep_whole(store, query, (users, &grid), self.finish(store), keep)
    }

    /// Append the next items to `out` until it holds `chunk` bytes or the answer is
    /// complete (`false`).
    pub fn fill(&mut self, store: &Store, out: &mut Vec<u8>, chunk: usize) -> bool {
        if let Some(whole) = self.whole.take() {
            out.extend_from_slice(&whole);
            return false;
        }
        if let Some(all) = self.all.take() {
            write_answer_head(out);
            write_answer_item_open("All Attendees", None, out);
            out.extend_from_slice(&all);
            write_answer_item_close(out);
        }
        while out.len() < chunk {
            let Some(addr) = self.q.users.get(self.next) else {
                if self.next == self.q.users.len() {
                    write_answer_tail(out);
                    self.next += 1;
                }
                return false;
            };
            self.next += 1;
            let user = UserRow::of(store, addr, &self.grid, false);
            write_item(out, store, &self.grid, addr, &user);
        }
        self.next <= self.q.users.len()
    }
}

/// Build the whole answer document for a parsed query (for in-process callers and tests;
/// the server streams it with [`AnswerPages`]).
pub fn answer(store: &Store, q: &FreeBusyQuery) -> (Vec<u8>, AnswerStats) {
    let (pages, stats) = AnswerPages::new(store, q.clone());
    (pages.finish(store), stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::query::{QueryLimits, parse_query};
    use crate::store::testutil::temp_store;

    /// The query string of `users` from 2026-01-01 over `days` days in slots of `interval`
    /// minutes.
    fn raw_from_new_year(days: i64, interval: u32, users: &str) -> String {
        let end = jiff::Timestamp::from_second(1_767_225_600 + days * 86_400).unwrap();
        format!(
            "Cmd=freebusy&start=2026-01-01T00:00:00Z&end={}&interval={interval}{users}",
            crate::protocol::time::format_rfc3339(end)
        )
    }

    /// That query, parsed.
    fn from_new_year(days: i64, interval: u32, users: &str) -> FreeBusyQuery {
        parse_query(
            &raw_from_new_year(days, interval, users),
            &QueryLimits::default(),
        )
        .unwrap()
    }

    /// The answer written in pages of `chunk` bytes.
    fn paged(store: &Store, q: &FreeBusyQuery, chunk: usize) -> Vec<u8> {
        let (mut pages, _) = AnswerPages::new(store, q.clone());
        let mut out = Vec::new();
        let mut page = Vec::new();
        while pages.fill(store, &mut page, chunk) {
            out.append(&mut page);
        }
        out.append(&mut page);
        out
    }

    #[test]
    fn pages_of_any_size_make_the_same_answer() {
        let (_dir, store) = temp_store();
        crate::app::demo::load(&store, &crate::app::Clock::System, None).unwrap();
        let users = "&u=danw@xcs.example&u=nobody@nowhere.example&u=SMTP:kbaker@xcs.example";
        // A small answer (rows kept from the first pass) and a large one (rows painted
        // again), both with users who have data.
        for (days, interval) in [(7, 60), (340, 5)] {
            let q = from_new_year(days, interval, users);
            let (whole, stats) = answer(&store, &q);
            assert_eq!(stats.users, 3);
            assert_eq!(stats.unknown, 1);
            let text = String::from_utf8(whole.clone()).unwrap();
            assert!(text.ends_with("</a:recipients></a:response>"), "{text}");
            assert_eq!(text.matches("<a:item>").count(), 4);
            let digits = q.users.len() * q.grid().slots;
            assert_eq!(digits <= KEEP_ROWS_DIGITS, days == 7, "one of each kind");
            for chunk in [1, 100, 4096, CHUNK_FOR_TESTS] {
                assert_eq!(paged(&store, &q, chunk), whole, "pages of {chunk} bytes");
            }
        }
    }

    const CHUNK_FOR_TESTS: usize = 64 * 1024;

    const DEMO_USERS: &str =
        "&u=danw@xcs.example&u=nobody@nowhere.example&u=SMTP:kbaker@xcs.example&u=DANW@xcs.example";

    fn demo_store(fb_cache_bytes: u64) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = crate::store::StoreConfig::new(dir.path());
        cfg.fb_cache_bytes = fb_cache_bytes;
        let store = Store::open(&cfg).unwrap();
        crate::app::demo::load(&store, &crate::app::Clock::System, None).unwrap();
        (dir, store)
    }

    /// Publish `alias`'s free/busy: busy in each of `hours` (hours from 2026-01-05), as of
    /// 2026-01-01 (a publish range of two months from then).
    fn publish_busy_hours(store: &Store, alias: &str, hours: &[i64]) {
        use crate::protocol::fb_message::build_props;
        use crate::protocol::freebusy::{FbStatus, FreeBusy, Interval, PublishRange};
        use crate::protocol::time::{Minutes1601, parse_time};
        let dn = store.resolve_user(alias).unwrap().legacy_dn;
        let now = parse_time("2026-01-01T00:00:00Z").unwrap();
        let day = Minutes1601::from_timestamp(parse_time("2026-01-05T00:00:00Z").unwrap());
        let fb = FreeBusy::from_spans(hours.iter().map(|h| {
            let at = |m| day.plus_minutes(h * 60 + m);
            (FbStatus::Busy, Interval::new(at(0), at(60)).unwrap())
        }));
        let range = PublishRange::at(Minutes1601::from_timestamp(now), 2);
        let msg = crate::store::PublishedMessage {
            folder: dn.admin_group(),
            subject: dn.subject(),
            props: build_props(&dn, &fb, range, Default::default(), now),
        };
        let stamp = now.as_microsecond() + hours.iter().sum::<i64>();
        store.publish(&msg, stamp).unwrap();
    }

    /// Issue 13: answers from cached rows are the bytes a store without the cache answers,
    /// small answers and paged ones, asked once (rows read) and again (rows kept).
    #[test]
    fn cached_answers_are_the_uncached_bytes() {
        let (_d1, cached) = demo_store(crate::store::DEFAULT_FB_CACHE_BYTES);
        let (_d2, plain) = demo_store(0);
        for store in [&cached, &plain] {
            publish_busy_hours(store, "kbaker", &[9, 10, 14, 30, 31]);
        }
        let mut whole_from_cache = 0;
        // danw has no message (the demo publishes none); kbaker has.
        let with_data = "&u=SMTP:kbaker@xcs.example&u=nobody@nowhere.example&u=KBaker@xcs.example";
        let cases = [(7, 60), (14, 15), (340, 5)];
        for (&(days, interval), users) in
            cases.iter().flat_map(|c| [(c, DEMO_USERS), (c, with_data)])
        {
            let raw = raw_from_new_year(days, interval, users);
            let q = from_new_year(days, interval, users);
            let (want, want_stats) = answer(&plain, &q);
            assert_eq!(
                cached_answer(&plain, &q, &raw),
                None,
                "nothing is cached without the cache"
            );
            let limits = QueryLimits::default();
            assert_eq!(kept_answer(&plain, &raw, &limits), None);
            // Users without a message are never kept (each answer checks for 4004).
            let kept = want_stats.no_message == 0;
            let small = q.users.len() * q.grid().slots <= KEEP_ROWS_DIGITS;
            for round in 0..3 {
                let (got, stats) = answer(&cached, &q);
                assert_eq!(got, want, "{days} days, round {round}");
                assert_eq!(stats, want_stats);
                // Every row is cached after the first round (a small answer only).
                let from_cache = cached_answer(&cached, &q, &raw);
                if kept && small {
                    whole_from_cache += 1;
                    assert_eq!(from_cache, Some((want.clone().into(), want_stats)));
                } else {
                    assert_eq!(from_cache, None);
                }
                assert_eq!(paged(&cached, &q, 4096), want);
            }
            // Kept whole by cached_answer, the answer's bytes and counts.
            let whole = kept_answer(&cached, &raw, &limits);
            if kept && small {
                assert_eq!(whole, Some((want.clone().into(), want_stats)));
            } else {
                assert_eq!(whole, None);
            }
        }
        assert_eq!(whole_from_cache, 6, "small answers with every row cached");
        let stats = cached.fb_cache_stats();
        assert!(stats.hits > 0 && stats.misses > 0, "{stats:?}");
        assert_eq!(plain.fb_cache_stats().hits, 0);
    }

    /// A poller round republishes unchanged calendars: that writes nothing and keeps the
    /// rows; a changed publish drops them.
    #[test]
    fn an_unchanged_publish_keeps_the_rows_and_a_change_drops_them() {
        let (_dir, store) = demo_store(crate::store::DEFAULT_FB_CACHE_BYTES);
        publish_busy_hours(&store, "kbaker", &[9]);
        let raw = raw_from_new_year(7, 60, "&u=kbaker@xcs.example");
        let q = from_new_year(7, 60, "&u=kbaker@xcs.example");
        let (first, _) = answer(&store, &q);
        let first = Bytes::from(first);
        let kept = || kept_answer(&store, &raw, &QueryLimits::default()).map(|a| a.0);
        assert_eq!(
            cached_answer(&store, &q, &raw).map(|a| a.0),
            Some(first.clone())
        );
        assert_eq!(kept(), Some(first.clone()));
        publish_busy_hours(&store, "kbaker", &[9]);
        assert_eq!(
            cached_answer(&store, &q, &raw).map(|a| a.0),
            Some(first.clone())
        );
        assert_eq!(kept(), Some(first.clone()));
        publish_busy_hours(&store, "kbaker", &[10]);
        assert_eq!(kept(), None);
        assert_eq!(cached_answer(&store, &q, &raw), None);
        assert_ne!(answer(&store, &q).0, first);
    }

    /// Issue 13: no stale read. Each publish is in the very next answer, while two other
    /// threads ask the same query all along (filling the cache with rows read before,
    /// during and after each write).
    #[test]
    fn a_write_is_in_the_very_next_answer_while_others_query() {
        use std::sync::atomic::{AtomicBool, Ordering};

        let (_dir, store) = demo_store(crate::store::DEFAULT_FB_CACHE_BYTES);
        let q = parse_query(
            &format!("Cmd=freebusy&start=2026-01-05T00:00:00Z&end=2026-01-06T00:00:00Z&interval=60{DEMO_USERS}"),
            &QueryLimits::default(),
        )
        .unwrap();
        // danw's digits: the third item (after All Attendees).
        let danw = |xml: &[u8]| {
            let text = String::from_utf8(xml.to_vec()).unwrap();
            let item = text.split("<a:fbdata>").nth(2).unwrap();
            item[..item.find("</a:fbdata>").unwrap()].to_string()
        };
        let stop = AtomicBool::new(false);
        // Stops the readers however the writer's loop ends (a failed assertion included).
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    while !stop.load(Ordering::Relaxed) {
                        answer(&store, &q);
                    }
                });
            }
            let _stop = Stop(&stop);
            for hour in 0..24 {
                publish_busy_hours(&store, "danw@xcs.example", &[hour]);
                let want: String = (0..24).map(|h| if h == hour { '2' } else { '0' }).collect();
                assert_eq!(
                    danw(&answer(&store, &q).0),
                    want,
                    "after the publish of hour {hour}"
                );
                // Asked again: the same, now from the cache.
                assert_eq!(danw(&answer(&store, &q).0), want);
            }
        });
        assert!(store.fb_cache_stats().hits > 0, "the cache answered");
    }

    /// An answer kept whole is used only where its query would be parsed and accepted:
    /// a server with lower limits refuses it (the query is then parsed, and refused).
    #[test]
    fn a_kept_answer_is_used_only_within_the_limits() {
        let (_dir, store) = demo_store(crate::store::DEFAULT_FB_CACHE_BYTES);
        publish_busy_hours(&store, "kbaker", &[9]);
        let users = "&u=kbaker@xcs.example&u=nobody@nowhere.example";
        let raw = raw_from_new_year(7, 60, users);
        let q = from_new_year(7, 60, users);
        let limits = QueryLimits::default();
        let kept = |limits: &QueryLimits| kept_answer(&store, &raw, limits);
        assert_eq!(kept(&limits), None, "nothing is kept before it is asked");
        let (pages, stats) = AnswerPages::new(&store, q.clone());
        let body = pages.finish_keeping(&store, &raw);
        assert_eq!(kept(&limits), Some((body, stats)));
        assert_eq!(stats.unknown, 1);
        let slots = q.grid().slots;
        for lower in [
            QueryLimits {
                max_users: 1,
                ..limits
            },
            QueryLimits {
                max_slots: slots - 1,
                ..limits
            },
            QueryLimits {
                max_digits: 3 * slots - 1,
                ..limits
            },
        ] {
            assert!(parse_query(&raw, &lower).is_err());
            assert_eq!(kept(&lower), None, "{lower:?}");
        }
        assert!(
            kept(&QueryLimits {
                max_digits: 3 * slots,
                ..limits
            })
            .is_some()
        );
    }
}
