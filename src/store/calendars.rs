//! Users' calendars and the durable queue of users whose free/busy must be republished.
//!
//! Three trees, all keyed by the user's legacyDN key:
//!
//! | tree | value |
//! |---|---|
//! | `calendars` | [`CalendarRecord`]: the iCalendar text last accepted, where it came from, when |
//! | `calendar_deletions` | [`CalendarDeletion`]: when the user's calendar was last deleted |
//! | `dirty` | [`DirtyRecord`]: why the user must be republished and since when |
//!
//! A deletion asked for (`DELETE /calendars/…`, the admin API, `calendar delete`) leaves a
//! tombstone with its time, so that the calendar directory does not bring back, on the
//! next restart, a file last modified before the deletion: the newest change wins. Storing
//! a calendar again removes the tombstone in the same transaction. The tombstones live in
//! their own tree rather than in [`CalendarRecord`], so no record written by an earlier
//! schedplus changes layout (nothing to migrate), and everything that lists calendars
//! still sees only calendars.
//!
//! A calendar change and its dirty mark are written in one transaction, so a calendar that
//! is stored is always either published or queued, including across a crash or restart.
//! Marks coalesce: a user changed five times before the poller runs is one entry, keeping
//! the time of the *first* unpublished change (the lag the poller logs) and the latest
//! reason. Each mark carries a fresh generation number, and the poller clears a mark only
//! if its generation is still the one it published for ([`Store::clear_dirty`]), so a
//! change that lands while a publish is running is never lost.
//!
//! Each write of a user's calendar (`put_calendar`, `delete_calendar`,
//! `note_refused_calendar`) is authorized here, under the write lock, against the
//! [`Writer`] it is given: a user's calendar writes their free/busy, so only the user or
//! a writer who may write anyone's ([`Writer::may_write_user`]) changes it; anyone else is
//! refused with [`StoreError::Refused`] and nothing is written.
//!
//! This module stores text; it does not parse calendars (the caller refuses bad ones
//! before they get here) and does not publish.

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::TransactionalTree;

use super::{Store, StoreError, TxError, Writer, codec, codec_abort, tx_result};
use crate::protocol::legacy_dn::LegacyDn;

/// Where a calendar came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CalendarSource {
    /// `PUT /calendars/ADDRESS.ics`.
    Http,
    /// `schedplus calendar import` (the file named).
    Import(String),
    /// A file in the `--calendar-dir` directory (its path).
    Dir(String),
}

impl std::fmt::Display for CalendarSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CalendarSource::Http => f.write_str("HTTP PUT"),
            CalendarSource::Import(p) => write!(f, "import of {p}"),
            CalendarSource::Dir(p) => write!(f, "calendar file {p}"),
        }
    }
}

/// A stored calendar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarRecord {
    /// The iCalendar text as received; it parsed when it was accepted.
    pub text: String,
    pub source: CalendarSource,
    /// VEVENT components, overrides included (for listings).
    pub events: usize,
    pub updated_us: i64,
    /// The last text refused for this user (it did not parse), if that happened after
    /// `text` was accepted: why, when and from where. The refused text is not kept.
    pub refused: Option<Refusal>,
}

impl CalendarRecord {
    /// Whether the latest text offered for the user was accepted.
    pub fn parsed_ok(&self) -> bool {
        self.refused.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub reason: String,
    pub source: CalendarSource,
    pub at_us: i64,
}

/// A tombstone: the user's calendar was deleted on request at `at_us` (wall clock,
/// microseconds since 1970).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDeletion {
    pub at_us: i64,
}

/// Whether a deletion leaves a [`CalendarDeletion`] tombstone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tombstone {
    /// A deletion asked for by a person (HTTP, admin API, CLI): remembered, so that an
    /// older calendar file does not bring the calendar back.
    Keep,
    /// The calendar directory following its own file's removal: nothing to remember (a
    /// file moved out and back in, keeping its time, must load again).
    None,
}

/// Why a user is queued for republishing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DirtyReason {
    /// A calendar was stored or replaced.
    CalendarChanged,
    /// The calendar was deleted: the poller removes the published message.
    CalendarDeleted,
}

impl DirtyReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DirtyReason::CalendarChanged => "calendar changed",
            DirtyReason::CalendarDeleted => "calendar deleted",
        }
    }
}

/// A queued user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirtyRecord {
    pub reason: DirtyReason,
    /// The first change not yet published (wall clock, microseconds since 1970).
    pub since_us: i64,
    /// Bumped on every mark; see [`Store::clear_dirty`].
    pub generation: u64,
}

/// Wakes whoever waits for the republish queue (`--publish on-change`): each new mark,
/// made by any calendar write of this process, is an event. A wake-up only: the queue
/// itself, read with [`Store::dirty_users`], says what to publish, so an event missed or
/// coalesced costs nothing but latency (the poller's interval round still runs).
///
/// It holds a sled subscriber, whose buffer is bounded (1,024 events): a writer waits
/// when it is full, so the owner must keep taking events ([`QueueWatch::marked`]) for as
/// long as it holds the watch, and drop it when it stops.
pub struct QueueWatch(sled::Subscriber);

impl QueueWatch {
    /// Wait for the next mark (a removal, the poller's own clear, is skipped). False once
    /// the store is closed.
    pub async fn marked(&mut self) -> bool {
        while let Some(event) = (&mut self.0).await {
            if matches!(event, sled::Event::Insert { .. }) {
                return true;
            }
        }
        false
    }
}

/// A queue entry as the poller takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirtyEntry {
    pub legacy_dn: LegacyDn,
    pub record: DirtyRecord,
}

/// What storing a calendar did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CalendarChange {
    Created,
    Replaced,
    /// Same text as stored: nothing written, nothing queued.
    Unchanged,
}

fn mark(
    td: &sled::transaction::TransactionalTree,
    key: &[u8],
    reason: DirtyReason,
    now: i64,
    generation: u64,
) -> Result<(), TxError> {
    let since_us = match td.get(key)? {
        Some(v) => {
            codec::decode::<DirtyRecord>(&v)
                .map_err(codec_abort)?
                .since_us
        }
        None => now,
    };
    let rec = DirtyRecord {
        reason,
        since_us,
        generation,
    };
    td.insert(key, codec::encode(&rec).map_err(codec_abort)?)?;
    Ok(())
}

/// One user's calendar write in its transaction: the user's calendar, tombstone and queue
/// entry (each keyed by `key`), and the queue generation this write marks with.
struct CalendarTx<'a> {
    calendars: &'a TransactionalTree,
    dirty: &'a TransactionalTree,
    deletions: &'a TransactionalTree,
    key: &'a [u8],
    generation: u64,
}

impl CalendarTx<'_> {
    /// Queue the user for `reason` ([`mark`]).
    fn queue(&self, reason: DirtyReason, now_us: i64) -> Result<(), TxError> {
        mark(self.dirty, self.key, reason, now_us, self.generation)
    }
}

impl Store {
    /// A calendar write that queues the user: under the write lock and the owner rule
    /// (else [`StoreError::Refused`], nothing written), `f` runs in one transaction over
    /// the user's calendar, tombstone and queue entry ([`CalendarTx`]).
    fn calendar_write<T>(
        &self,
        writer: &Writer,
        dn: &LegacyDn,
        f: impl Fn(&CalendarTx<'_>) -> Result<T, TxError>,
    ) -> Result<T, StoreError> {
        let _w = self.begin_write()?;
        writer.may_write_user(dn).map_err(StoreError::Refused)?;
        let (key, generation) = (dn.key(), self.inner.db.generate_id()?);
        let i = &self.inner;
        tx_result(
            (&i.calendars, &i.dirty, &i.calendar_deletions).transaction(|(tc, td, tt)| {
                f(&CalendarTx {
                    calendars: tc,
                    dirty: td,
                    deletions: tt,
                    key: key.as_bytes(),
                    generation,
                })
            }),
        )
    }

    /// Store `text` as `dn`'s calendar and queue the user, in one transaction, if `writer`
    /// may write `dn`'s data (else [`StoreError::Refused`], nothing written). The caller
    /// has parsed `text`. Storing the same text again changes nothing (and clears an
    /// earlier refusal note).
    pub fn put_calendar(
        &self,
        writer: &Writer,
        dn: &LegacyDn,
        text: &str,
        events: usize,
        source: CalendarSource,
        now_us: i64,
    ) -> Result<CalendarChange, StoreError> {
        let change = self.calendar_write(writer, dn, |t| {
            let old: Option<CalendarRecord> = t
                .calendars
                .get(t.key)?
                .map(|v| codec::decode(&v))
                .transpose()
                .map_err(codec_abort)?;
            if let Some(old) = old.as_ref().filter(|o| o.text == text) {
                if old.refused.is_some() {
                    let rec = CalendarRecord {
                        refused: None,
                        ..old.clone()
                    };
                    t.calendars
                        .insert(t.key, codec::encode(&rec).map_err(codec_abort)?)?;
                }
                return Ok(CalendarChange::Unchanged);
            }
            let rec = CalendarRecord {
                text: text.to_string(),
                source: source.clone(),
                events,
                updated_us: now_us,
                refused: None,
            };
            t.calendars
                .insert(t.key, codec::encode(&rec).map_err(codec_abort)?)?;
            t.deletions.remove(t.key)?;
            t.queue(DirtyReason::CalendarChanged, now_us)?;
            Ok(if old.is_some() {
                CalendarChange::Replaced
            } else {
                CalendarChange::Created
            })
        })?;
        self.flush()?;
        Ok(change)
    }

    /// Note that a calendar offered for `dn` was refused. The stored calendar (if any) and
    /// the published free/busy are untouched; only the note is written. Nothing is written
    /// for a user without a stored calendar. Refused like [`Store::put_calendar`] when
    /// `writer` may not write `dn`'s data.
    pub fn note_refused_calendar(
        &self,
        writer: &Writer,
        dn: &LegacyDn,
        refusal: Refusal,
    ) -> Result<(), StoreError> {
        let _w = self.begin_write()?;
        writer.may_write_user(dn).map_err(StoreError::Refused)?;
        let key = dn.key();
        let Some(v) = self.inner.calendars.get(key.as_bytes())? else {
            return Ok(());
        };
        let mut rec: CalendarRecord = codec::decode(&v)?;
        if rec.refused.as_ref().map(|r| (&r.reason, &r.source))
            == Some((&refusal.reason, &refusal.source))
        {
            return Ok(());
        }
        rec.refused = Some(refusal);
        self.inner
            .calendars
            .insert(key.as_bytes(), codec::encode(&rec)?)?;
        self.flush()
    }

    /// Delete `dn`'s calendar on request and queue the user (the poller then removes the
    /// published message), leaving a tombstone. False when there was no calendar (then
    /// nothing is written). Refused like [`Store::put_calendar`] when `writer` may not
    /// write `dn`'s data.
    pub fn delete_calendar(
        &self,
        writer: &Writer,
        dn: &LegacyDn,
        now_us: i64,
    ) -> Result<bool, StoreError> {
        self.delete_calendar_with(writer, dn, Tombstone::Keep, now_us)
    }

    /// [`Store::delete_calendar`], leaving a tombstone only if `tombstone` says so.
    pub fn delete_calendar_with(
        &self,
        writer: &Writer,
        dn: &LegacyDn,
        tombstone: Tombstone,
        now_us: i64,
    ) -> Result<bool, StoreError> {
        let existed = self.calendar_write(writer, dn, |t| {
            if t.calendars.remove(t.key)?.is_none() {
                return Ok(false);
            }
            if tombstone == Tombstone::Keep {
                let rec = CalendarDeletion { at_us: now_us };
                t.deletions
                    .insert(t.key, codec::encode(&rec).map_err(codec_abort)?)?;
            }
            t.queue(DirtyReason::CalendarDeleted, now_us)?;
            Ok(true)
        })?;
        if existed {
            self.flush()?;
        }
        Ok(existed)
    }

    /// When `dn`'s calendar was deleted on request, if no calendar was stored since.
    pub fn calendar_deletion(&self, dn: &LegacyDn) -> Result<Option<CalendarDeletion>, StoreError> {
        super::tree::get(&self.inner.calendar_deletions, dn.key().as_bytes())
    }

    /// Forget `dn`'s tombstone, so that its calendar file loads whatever its time: for an
    /// explicit "restore this calendar from its file" (the demo's reset). True when there
    /// was one.
    pub fn forget_calendar_deletion(&self, dn: &LegacyDn) -> Result<bool, StoreError> {
        let _w = self.begin_write()?;
        let had = self
            .inner
            .calendar_deletions
            .remove(dn.key().as_bytes())?
            .is_some();
        if had {
            self.flush()?;
        }
        Ok(had)
    }

    pub fn calendar(&self, dn: &LegacyDn) -> Result<Option<CalendarRecord>, StoreError> {
        super::tree::get(&self.inner.calendars, dn.key().as_bytes())
    }

    /// The users that have a calendar, as their legacyDN keys, in key order.
    pub fn calendar_users(&self) -> Result<Vec<String>, StoreError> {
        self.inner
            .calendars
            .iter()
            .keys()
            .map(|k| Ok(String::from_utf8_lossy(&k?).into_owned()))
            .collect()
    }

    /// Every calendar with its user's legacyDN key (for the calendar directory's start-up
    /// reconciliation; an admin listing, not a request path).
    pub fn list_calendars(&self) -> Result<Vec<(String, CalendarRecord)>, StoreError> {
        self.inner
            .calendars
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                Ok((String::from_utf8_lossy(&k).into_owned(), codec::decode(&v)?))
            })
            .collect()
    }

    /// A wake-up for every new mark on the queue, from now on.
    pub fn watch_queue(&self) -> QueueWatch {
        QueueWatch(self.inner.dirty.watch_prefix(Vec::<u8>::new()))
    }

    /// The queue, oldest key first. Entries whose key is not a legacyDN (never written by
    /// this code) are skipped with a warning rather than wedging the queue.
    pub fn dirty_users(&self) -> Result<Vec<DirtyEntry>, StoreError> {
        let mut out = Vec::new();
        for kv in self.inner.dirty.iter() {
            let (k, v) = kv?;
            let key = String::from_utf8_lossy(&k);
            match LegacyDn::parse(&key) {
                Ok(legacy_dn) => out.push(DirtyEntry {
                    legacy_dn,
                    record: codec::decode(&v)?,
                }),
                Err(e) => {
                    tracing::warn!(key = %key, error = %e, "skipping a damaged dirty-queue key")
                }
            }
        }
        Ok(out)
    }

    /// Take `entry` off the queue if it was not marked again since it was read. Returns
    /// false when a newer change is queued (the poller publishes again next round).
    /// Not flushed: losing a clear in a crash only costs one redundant, unchanged publish.
    /// (A publish by the poller clears its mark in its own transaction instead, see
    /// [`Store::publish_queued_unsynced`].)
    pub fn clear_dirty(&self, entry: &DirtyEntry) -> Result<bool, StoreError> {
        let _w = self.begin_write()?;
        let key = entry.legacy_dn.key();
        let old = codec::encode(&entry.record)?;
        match self
            .inner
            .dirty
            .compare_and_swap(key.as_bytes(), Some(old), None::<&[u8]>)?
        {
            Ok(()) => Ok(true),
            Err(_) => Ok(false),
        }
    }
}

/// [`Store::clear_dirty`] inside a transaction (with the write lock held, as every mark is
/// made, so a get then a remove is the compare-and-swap); false when marked again.
pub(super) fn clear_mark_tx(td: &TransactionalTree, entry: &DirtyEntry) -> Result<bool, TxError> {
    let key = entry.legacy_dn.key();
    let read = codec::encode(&entry.record).map_err(codec_abort)?;
    if td.get(key.as_bytes())?.as_deref() != Some(read.as_slice()) {
        return Ok(false);
    }
    td.remove(key.as_bytes())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testutil::{stamp, temp_store};
    use crate::store::{Store, StoreConfig};

    fn dn(alias: &str) -> LegacyDn {
        LegacyDn::parse(&format!("/o=Org/ou=AG/cn=Recipients/cn={alias}")).unwrap()
    }

    #[test]
    fn put_queues_once_and_same_text_is_unchanged() {
        let (_d, s) = temp_store();
        let d = dn("dan");
        assert_eq!(
            s.put_calendar(&Writer::ANYONE, &d, "A", 1, CalendarSource::Http, stamp())
                .unwrap(),
            CalendarChange::Created
        );
        let first = s.dirty_users().unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].record.reason, DirtyReason::CalendarChanged);
        assert_eq!(
            s.put_calendar(&Writer::ANYONE, &d, "A", 1, CalendarSource::Http, stamp())
                .unwrap(),
            CalendarChange::Unchanged
        );
        assert_eq!(
            s.dirty_users().unwrap(),
            first,
            "unchanged text queues nothing"
        );
        assert_eq!(
            s.put_calendar(&Writer::ANYONE, &d, "B", 2, CalendarSource::Http, stamp())
                .unwrap(),
            CalendarChange::Replaced
        );
        let second = s.dirty_users().unwrap();
        assert_eq!(second.len(), 1, "marks coalesce");
        assert_eq!(second[0].record.since_us, first[0].record.since_us);
        assert_ne!(second[0].record.generation, first[0].record.generation);
        assert_eq!(s.calendar(&d).unwrap().unwrap().text, "B");
    }

    #[test]
    fn clear_keeps_a_mark_made_during_the_publish() {
        let (_d, s) = temp_store();
        let d = dn("dan");
        s.put_calendar(&Writer::ANYONE, &d, "A", 1, CalendarSource::Http, stamp())
            .unwrap();
        let seen = s.dirty_users().unwrap().remove(0);
        s.put_calendar(&Writer::ANYONE, &d, "B", 1, CalendarSource::Http, stamp())
            .unwrap();
        assert!(!s.clear_dirty(&seen).unwrap());
        let now = s.dirty_users().unwrap().remove(0);
        assert!(s.clear_dirty(&now).unwrap());
        assert!(s.dirty_users().unwrap().is_empty());
    }

    #[test]
    fn dirty_users_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(&StoreConfig::new(dir.path())).unwrap();
            s.put_calendar(
                &Writer::ANYONE,
                &dn("dan"),
                "A",
                1,
                CalendarSource::Import("a.ics".into()),
                stamp(),
            )
            .unwrap();
            s.put_calendar(
                &Writer::ANYONE,
                &dn("eve"),
                "E",
                1,
                CalendarSource::Http,
                stamp(),
            )
            .unwrap();
            assert!(
                s.delete_calendar(&Writer::ANYONE, &dn("eve"), stamp())
                    .unwrap()
            );
            assert!(
                !s.delete_calendar(&Writer::ANYONE, &dn("eve"), stamp())
                    .unwrap()
            );
        }
        let s = Store::open(&StoreConfig::new(dir.path())).unwrap();
        let q = s.dirty_users().unwrap();
        let got: Vec<_> = q
            .iter()
            .map(|e| (e.legacy_dn.last_cn().to_string(), e.record.reason))
            .collect();
        assert_eq!(
            got,
            vec![
                ("dan".to_string(), DirtyReason::CalendarChanged),
                ("eve".to_string(), DirtyReason::CalendarDeleted)
            ]
        );
        assert_eq!(s.calendar_users().unwrap().len(), 1);
    }

    #[test]
    fn a_requested_deletion_leaves_a_tombstone_until_a_calendar_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let d = dn("dan");
        {
            let s = Store::open(&StoreConfig::new(dir.path())).unwrap();
            assert!(!s.delete_calendar(&Writer::ANYONE, &d, stamp()).unwrap());
            assert!(
                s.calendar_deletion(&d).unwrap().is_none(),
                "nothing deleted"
            );
            s.put_calendar(&Writer::ANYONE, &d, "A", 1, CalendarSource::Http, stamp())
                .unwrap();
            let before = stamp();
            assert!(s.delete_calendar(&Writer::ANYONE, &d, stamp()).unwrap());
            let t = s.calendar_deletion(&d).unwrap().expect("a tombstone");
            assert!(t.at_us >= before);
            assert!(s.calendar_users().unwrap().is_empty());
            assert!(s.list_calendars().unwrap().is_empty());
        }
        // It survives a restart, and storing a calendar again removes it.
        let s = Store::open(&StoreConfig::new(dir.path())).unwrap();
        assert!(s.calendar_deletion(&d).unwrap().is_some());
        s.put_calendar(&Writer::ANYONE, &d, "B", 1, CalendarSource::Http, stamp())
            .unwrap();
        assert!(s.calendar_deletion(&d).unwrap().is_none());
        // A deletion without a tombstone (the calendar directory's own file removed).
        assert!(
            s.delete_calendar_with(&Writer::ANYONE, &d, Tombstone::None, stamp())
                .unwrap()
        );
        assert!(s.calendar_deletion(&d).unwrap().is_none());
        s.put_calendar(&Writer::ANYONE, &d, "C", 1, CalendarSource::Http, stamp())
            .unwrap();
        s.delete_calendar(&Writer::ANYONE, &d, stamp()).unwrap();
        assert!(s.forget_calendar_deletion(&d).unwrap());
        assert!(s.calendar_deletion(&d).unwrap().is_none());
    }

    /// WP9: the store decides who writes a user's calendar, under its write lock: the user
    /// themself or a writer who may write anyone's; anyone else is refused by the free/busy
    /// owner rule, naming the calendar's owner and the writer, and nothing is written.
    #[test]
    fn only_the_user_or_an_any_writer_changes_a_calendar() {
        let (_d, s) = temp_store();
        let (dan, ann) = (dn("dan"), dn("ann"));
        let as_ann = Writer::user(&ann, "ann", false);
        let refused = |r: Result<_, StoreError>| match r {
            Err(StoreError::Refused(r)) => r,
            other => panic!("not refused: {other:?}"),
        };
        let r = refused(
            s.put_calendar(&as_ann, &dan, "A", 1, CalendarSource::Http, stamp())
                .map(|_| ()),
        );
        assert_eq!(r.rule, crate::store::OwnerRule::FreeBusy);
        assert!(
            r.what.contains("cn=dan") && r.writer.starts_with("ann ("),
            "{r:?}"
        );
        assert!(s.calendar(&dan).unwrap().is_none() && s.dirty_users().unwrap().is_empty());
        // Her own calendar, and anyone's for an admin.
        s.put_calendar(&as_ann, &ann, "A", 1, CalendarSource::Http, stamp())
            .unwrap();
        let admin = Writer::user(&ann, "ann", true);
        s.put_calendar(&admin, &dan, "D", 1, CalendarSource::Http, stamp())
            .unwrap();
        let refusal = Refusal {
            reason: "line 1: bad".into(),
            source: CalendarSource::Http,
            at_us: 1,
        };
        refused(s.note_refused_calendar(&as_ann, &dan, refusal).map(|_| ()));
        assert!(s.calendar(&dan).unwrap().unwrap().parsed_ok());
        refused(s.delete_calendar(&as_ann, &dan, stamp()).map(|_| ()));
        refused(
            s.delete_calendar_with(&as_ann, &dan, Tombstone::None, stamp())
                .map(|_| ()),
        );
        assert_eq!(s.calendar(&dan).unwrap().unwrap().text, "D", "still there");
        assert!(s.delete_calendar(&as_ann, &ann, stamp()).unwrap());
    }

    #[test]
    fn refusal_note_leaves_the_calendar_alone() {
        let (_d, s) = temp_store();
        let d = dn("dan");
        let refusal = Refusal {
            reason: "line 3: bad".into(),
            source: CalendarSource::Http,
            at_us: 1,
        };
        s.note_refused_calendar(&Writer::ANYONE, &d, refusal.clone())
            .unwrap();
        assert!(s.calendar(&d).unwrap().is_none(), "no calendar, no note");
        s.put_calendar(&Writer::ANYONE, &d, "A", 1, CalendarSource::Http, stamp())
            .unwrap();
        s.note_refused_calendar(&Writer::ANYONE, &d, refusal.clone())
            .unwrap();
        let rec = s.calendar(&d).unwrap().unwrap();
        assert_eq!(rec.text, "A");
        assert!(!rec.parsed_ok());
        s.put_calendar(&Writer::ANYONE, &d, "A", 1, CalendarSource::Http, stamp())
            .unwrap();
        assert!(s.calendar(&d).unwrap().unwrap().parsed_ok());
    }
}
