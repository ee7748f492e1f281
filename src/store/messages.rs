//! Admin-group folders and the free/busy messages in them.
//!
//! A message is found by (folder, subject), case-insensitively, through a prefix scan of
//! the few keys sharing that pair; several messages may share it (duplicates), oldest
//! first. Each message's URL leaf is unique in its folder (the `leaves` tree); a new
//! message whose preferred leaf is taken gets `-1`, `-2`… before `.EML`, as Exchange does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::TransactionalTree;

use super::{
    DirtyEntry, Store, StoreError, TxError, changes, codec, codec_abort, count_tx, tx_result,
};
use crate::protocol::freebusy::{FreeBusy, PublishRange};
use crate::protocol::legacy_dn::fold_key;
use crate::protocol::legacy_dn::{AdminGroup, Subject};
use crate::protocol::mapi::{PropName, PropValue, tags};
use crate::protocol::pffb::{self, PffbError, PffbProps};
use crate::protocol::raster::{self, SlotGrid};

/// An admin-group folder under `SCHEDULE+ FREE BUSY`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderRecord {
    /// As first created, case kept: `EX:/o=Org/ou=AG`.
    pub name: String,
    pub created_us: i64,
}

/// A message's free/busy, decoded when the message was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFreeBusy {
    pub fb: FreeBusy,
    pub range: Option<PublishRange>,
}

impl StoredFreeBusy {
    /// Decode from a message's properties.
    pub fn from_props(props: &BTreeMap<PropName, PropValue>) -> Result<Self, PffbError> {
        let get = |t| props.get(&PropName::Mapi(t));
        let fb = pffb::decode(&PffbProps::from_lookup(get)?)?;
        Ok(StoredFreeBusy {
            fb,
            range: pffb::publish_range_from_lookup(get),
        })
    }
}

/// A message's free/busy as the query reads it ([`Store::freebusy_read_of`]).
pub struct FreeBusyRead(Read);

enum Read {
    /// A record in the current layout, checked when read.
    InPlace(sled::IVec),
    /// A record in an older layout (a store whose migration was cut short).
    Decoded(StoredFreeBusy),
}

impl FreeBusyRead {
    /// Paint into `row` (exactly `grid.slots` bytes), as [`raster::paint_into`] does.
    pub fn paint_into(&self, grid: &SlotGrid, row: &mut [u8]) {
        match &self.0 {
            Read::InPlace(v) => match codec::message_freebusy_view(v) {
                Ok(Some(view)) => raster::paint_schedule_into(grid, Some((&view, view.range)), row),
                // Checked when read; never reached.
                _ => raster::paint_into(grid, None, row),
            },
            Read::Decoded(s) => raster::paint_into(grid, Some((&s.fb, s.range)), row),
        }
    }
}

/// A free/busy message. Its bytes are [`codec::encode_message`]'s (free/busy first, so the
/// query reads only that; see [`codec`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRecord {
    /// The URL leaf, decoded (`USER-/CN=RECIPIENTS/CN=DAN.EML`), case as created.
    pub leaf: String,
    /// The subject as written (the lookup key, folded, is in the record's key).
    pub subject: String,
    pub created_us: i64,
    pub modified_us: i64,
    /// Every property any client set, by name.
    pub props: BTreeMap<PropName, PropValue>,
    /// The decoded free/busy (precomputed for the query path).
    pub fb: StoredFreeBusy,
}

impl MessageRecord {
    /// A new message at `leaf` with `subject`, created and modified at `now_us`.
    pub(crate) fn new(
        leaf: String,
        subject: &Subject,
        props: BTreeMap<PropName, PropValue>,
        fb: StoredFreeBusy,
        now_us: i64,
    ) -> MessageRecord {
        MessageRecord {
            leaf,
            subject: subject.as_str().to_string(),
            created_us: now_us,
            modified_us: now_us,
            props,
            fb,
        }
    }

    /// This message with new properties and free/busy, modified at `now_us`.
    pub(crate) fn changed(
        self,
        props: BTreeMap<PropName, PropValue>,
        fb: StoredFreeBusy,
        now_us: i64,
    ) -> MessageRecord {
        MessageRecord {
            modified_us: now_us,
            props,
            fb,
            ..self
        }
    }
}

/// A whole message as a publisher produces it.
#[derive(Clone, Debug)]
pub struct PublishedMessage {
    pub folder: AdminGroup,
    pub subject: Subject,
    pub props: BTreeMap<PropName, PropValue>,
}

/// One message of a poller's batch ([`Store::publish_queued_unsynced`]) and the
/// republish mark its publish clears, if any.
pub type Queued<'a> = (&'a PublishedMessage, Option<&'a DirtyEntry>);

/// What a publish did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PublishOutcome {
    Created,
    Updated,
    /// The free/busy was already exactly this; nothing was written.
    Unchanged,
}

pub(super) fn message_prefix(folder: &AdminGroup, subject: &Subject) -> Vec<u8> {
    let mut k = folder.key().into_bytes();
    k.push(0);
    k.extend_from_slice(subject.key().as_bytes());
    k.push(0);
    k
}

pub(super) fn leaf_key(folder: &AdminGroup, leaf: &str) -> Vec<u8> {
    let mut k = folder.key().into_bytes();
    k.push(0);
    k.extend_from_slice(fold_key(leaf).as_bytes());
    k
}

/// The leaf Exchange gives a subject: the subject plus `.EML`.
pub fn canonical_leaf(subject: &Subject) -> String {
    format!("{}.EML", subject.as_str())
}

/// The `n`th alternative leaf: `NAME-n.EML`.
fn numbered_leaf(leaf: &str, n: usize) -> String {
    match leaf
        .len()
        .checked_sub(4)
        .filter(|&i| leaf[i..].eq_ignore_ascii_case(".EML"))
    {
        Some(i) => format!("{}-{n}{}", &leaf[..i], &leaf[i..]),
        None => format!("{leaf}-{n}"),
    }
}

/// Create the folder if missing, inside a transaction; true when created.
pub(super) fn ensure_folder_tx(
    tf: &TransactionalTree,
    folder: &AdminGroup,
    now_us: i64,
) -> Result<bool, TxError> {
    let key = folder.key();
    if tf.get(key.as_bytes())?.is_some() {
        return Ok(false);
    }
    let rec = FolderRecord {
        name: folder.as_str().to_string(),
        created_us: now_us,
    };
    tf.insert(key.as_bytes(), codec::encode(&rec).map_err(codec_abort)?)?;
    Ok(true)
}

/// The messages at `keys` (listed before the transaction), read inside it.
pub(super) fn records_tx(
    tm: &TransactionalTree,
    keys: &[Vec<u8>],
) -> Result<Vec<(Vec<u8>, MessageRecord)>, TxError> {
    let mut records = Vec::new();
    for k in keys {
        if let Some(v) = tm.get(k)? {
            records.push((k.clone(), codec::decode_message(&v).map_err(codec_abort)?));
        }
    }
    Ok(records)
}

/// [`ensure_folder_tx`], and a folder created is a change in the log (see [`changes`]).
pub(super) fn ensure_folder_noted_tx(
    tf: &TransactionalTree,
    tc: &TransactionalTree,
    tmeta: &TransactionalTree,
    folder: &AdminGroup,
    now_us: i64,
) -> Result<bool, TxError> {
    let created = ensure_folder_tx(tf, folder, now_us)?;
    if created {
        changes::note_tx(tc, tmeta, folder, None, false, now_us)?;
    }
    Ok(created)
}

/// The `meta` key saying every message record has [`codec::MESSAGE_VERSION`]'s layout.
const LAYOUT_MARKER: &[u8] = b"message_layout";

/// Records rewritten per sled batch by [`migrate_layout`].
const MIGRATE_BATCH: usize = 4096;

/// Re-encode messages written in an older layout (free/busy last) in the current one, once
/// per store: afterwards the marker in `meta` makes every open skip the walk. Runs at open,
/// before anyone writes. Records are rewritten in batches, not one transaction (a store may
/// hold a million messages); each record carries its own version byte and both layouts are
/// read, so a crash midway leaves a store that reads, and the next open finishes the job.
/// Returns how many records were rewritten.
pub(super) fn migrate_layout(store: &Store) -> Result<usize, StoreError> {
    let i = &store.inner;
    if i.meta.get(LAYOUT_MARKER)?.as_deref() == Some(&[codec::MESSAGE_VERSION][..]) {
        return Ok(0);
    }
    let mut done = 0;
    let mut batch = sled::Batch::default();
    let mut pending = 0;
    for kv in i.messages.iter() {
        let (k, v) = kv?;
        if codec::is_current_message(&v) {
            continue;
        }
        let rec = codec::decode_message(&v)?;
        batch.insert(k, codec::encode_message(&rec)?);
        pending += 1;
        if pending == MIGRATE_BATCH {
            i.messages.apply_batch(std::mem::take(&mut batch))?;
            done += pending;
            pending = 0;
        }
    }
    i.messages.apply_batch(batch)?;
    done += pending;
    i.meta.insert(LAYOUT_MARKER, &[codec::MESSAGE_VERSION])?;
    if done > 0 {
        tracing::info!(
            messages = done,
            "free/busy messages re-encoded with their free/busy first (store format of this schedplus)"
        );
    }
    i.db.flush()?;
    Ok(done)
}

/// The props that count when deciding whether a publish changed anything: all but the
/// publishing timestamp.
pub(super) fn same_content(
    a: &BTreeMap<PropName, PropValue>,
    b: &BTreeMap<PropName, PropValue>,
) -> bool {
    let ts = PropName::Mapi(tags::FREEBUSY_RANGE_TIMESTAMP);
    a.iter()
        .filter(|(k, _)| **k != ts)
        .eq(b.iter().filter(|(k, _)| **k != ts))
}

impl Store {
    /// The messages of (folder, subject), oldest first.
    pub fn find_messages(
        &self,
        folder: &AdminGroup,
        subject: &Subject,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.inner
            .messages
            .scan_prefix(message_prefix(folder, subject))
            .values()
            .map(|v| Ok(codec::decode_message(&v?)?))
            .collect()
    }

    /// The free/busy a reader sees for (folder, subject): the oldest message's, which is
    /// also the one MadFB's cleanup keeps. One prefix scan, usually one key.
    pub fn freebusy_of(
        &self,
        folder: &AdminGroup,
        subject: &Subject,
    ) -> Result<Option<StoredFreeBusy>, StoreError> {
        match self
            .inner
            .messages
            .scan_prefix(message_prefix(folder, subject))
            .values()
            .next()
        {
            // Only the free/busy at the front of the record is decoded.
            Some(v) => Ok(Some(codec::decode_message_freebusy(&v?)?)),
            None => Ok(None),
        }
    }

    /// [`Store::freebusy_of`] for the query: the free/busy read in place from the stored
    /// bytes, ready to paint, decoding nothing (see [`codec`]).
    pub fn freebusy_read_of(
        &self,
        folder: &AdminGroup,
        subject: &Subject,
    ) -> Result<Option<FreeBusyRead>, StoreError> {
        let Some(v) = self
            .inner
            .messages
            .scan_prefix(message_prefix(folder, subject))
            .values()
            .next()
        else {
            return Ok(None);
        };
        let v = v?;
        Ok(Some(if codec::message_freebusy_view(&v)?.is_some() {
            FreeBusyRead(Read::InPlace(v))
        } else {
            FreeBusyRead(Read::Decoded(codec::decode_message_freebusy(&v)?))
        }))
    }

    /// Write a publisher's whole message: overwrite the oldest message of (folder,
    /// subject) and delete any duplicates, or create it with its canonical leaf. Nothing is
    /// written when the content is unchanged and there are no duplicates.
    pub fn publish(
        &self,
        msg: &PublishedMessage,
        now_us: i64,
    ) -> Result<(PublishOutcome, usize), StoreError> {
        let result = self.publish_unsynced(msg, now_us)?;
        if result.0 != PublishOutcome::Unchanged {
            self.flush()?;
        }
        Ok(result)
    }

    /// [`Store::publish`] without waiting for the disk: the message is visible at once and
    /// durable after the next [`Store::sync`] (or any later write's). For the poller, which
    /// publishes a round of users and then syncs once: a crash before that loses only
    /// publishes that the first round after a restart makes again.
    pub fn publish_unsynced(
        &self,
        msg: &PublishedMessage,
        now_us: i64,
    ) -> Result<(PublishOutcome, usize), StoreError> {
        self.publish_many_unsynced(std::slice::from_ref(msg), now_us)
            .pop()
            .expect("one result per message")
    }

    /// [`Store::publish_unsynced`] for several messages, each of a different (folder,
    /// subject), in one transaction: one pass through sled's log for the lot instead of one
    /// per message (sled writes its log buffer out at every transaction). A result per
    /// message, in order; a message that cannot be decoded is refused alone. Should the
    /// batch's transaction fail, each message is tried on its own, so one bad message
    /// never costs the others their publish.
    pub fn publish_many_unsynced(
        &self,
        msgs: &[PublishedMessage],
        now_us: i64,
    ) -> Vec<Result<(PublishOutcome, usize), StoreError>> {
        let batch: Vec<Queued<'_>> = msgs.iter().map(|m| (m, None)).collect();
        self.publish_queued_unsynced(&batch, now_us)
    }

    /// [`Store::publish_many_unsynced`] for the poller: each message with the republish
    /// mark its publish answers, which is cleared in the publish's transaction (as
    /// [`Store::clear_dirty`] would: only if not marked again since it was read), so a
    /// round's publish costs one transaction and no separate write per user.
    pub fn publish_queued_unsynced(
        &self,
        batch: &[Queued<'_>],
        now_us: i64,
    ) -> Vec<Result<(PublishOutcome, usize), StoreError>> {
        let prefixes: Vec<Vec<u8>> = batch
            .iter()
            .map(|(m, _)| message_prefix(&m.folder, &m.subject))
            .collect();
        let distinct = prefixes
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len();
        if batch.len() > 1 && (distinct < batch.len() || batch.len() > PUBLISH_BATCH) {
            // Two publishes of one subject are two transactions, in order.
            return batch
                .chunks(if distinct < batch.len() {
                    1
                } else {
                    PUBLISH_BATCH
                })
                .flat_map(|c| self.publish_queued_unsynced(c, now_us))
                .collect();
        }
        let decoded: Vec<Result<StoredFreeBusy, StoreError>> = batch
            .iter()
            .map(|(m, _)| {
                StoredFreeBusy::from_props(&m.props)
                    .map_err(|e| StoreError::Conflict(format!("refusing to publish: {e}")))
            })
            .collect();
        match self.publish_tx(batch, &prefixes, &decoded, now_us) {
            Ok(done) => {
                // One outcome per message that decoded, in order.
                let mut done = done.into_iter();
                decoded
                    .into_iter()
                    .map(|d| d.map(|_| done.next().expect("an outcome per decoded message")))
                    .collect()
            }
            Err(e) if batch.len() == 1 => vec![Err(e)],
            Err(_) => batch
                .iter()
                .flat_map(|q| self.publish_queued_unsynced(std::slice::from_ref(q), now_us))
                .collect(),
        }
    }

    /// The transaction of [`Store::publish_queued_unsynced`]: the outcomes of the messages
    /// whose free/busy decoded, in order.
    fn publish_tx(
        &self,
        batch: &[Queued<'_>],
        prefixes: &[Vec<u8>],
        decoded: &[Result<StoredFreeBusy, StoreError>],
        now_us: i64,
    ) -> Result<Vec<(PublishOutcome, usize)>, StoreError> {
        let w = self.begin_write()?;
        let i = &self.inner;
        // Per message: its free/busy, the keys already under its prefix (transactions
        // cannot scan, and a plain read inside one deadlocks on sled's concurrency
        // control: listed first; the write lock keeps each list exact) and a fresh id
        // drawn outside the transaction (sled ids are unique, not dense).
        let mut todo = Vec::new();
        for (((msg, mark), prefix), fb) in batch.iter().zip(prefixes).zip(decoded) {
            if let Ok(fb) = fb {
                let (existing, new_seq) = (self.list_keys(prefix), i.db.generate_id()?);
                todo.push((*msg, *mark, prefix, fb, existing, new_seq));
            }
        }
        let trees = (
            &i.messages,
            &i.leaves,
            &i.folders,
            &i.meta,
            &i.changes,
            &i.dirty,
        );
        let results = tx_result(trees.transaction(|(tm, tl, tf, tmeta, tc, td)| {
            let mut out = Vec::with_capacity(todo.len());
            for (msg, mark, prefix, fb, existing, new_seq) in &todo {
                out.push(publish_one_tx(
                    (tm, tl, tf, tmeta, tc),
                    msg,
                    prefix,
                    fb,
                    existing,
                    *new_seq,
                    now_us,
                )?);
                if let Some(entry) = mark {
                    super::calendars::clear_mark_tx(td, entry)?;
                }
            }
            Ok::<_, TxError>(out)
        }))?;
        let delta: i64 = results
            .iter()
            .map(|(o, dups)| i64::from(*o == PublishOutcome::Created) - *dups as i64)
            .sum();
        self.count_changed(0, delta);
        // A poller round republishes mostly unchanged calendars: those keep the query's
        // cached rows (`fb_cache`); every other write drops them when it lets go. (A
        // cleared republish mark changes nothing a query reads.)
        if results.iter().all(|(o, _)| *o == PublishOutcome::Unchanged) {
            w.release_unchanged();
        }
        Ok(results)
    }

    /// What [`Store::publish`] would do with `msg`, writing nothing (for dry runs).
    pub fn preview_publish(
        &self,
        msg: &PublishedMessage,
    ) -> Result<(PublishOutcome, usize), StoreError> {
        let records = self.find_messages(&msg.folder, &msg.subject)?;
        Ok(match records.split_first() {
            None => (PublishOutcome::Created, 0),
            Some((keep, dups)) if dups.is_empty() && same_content(&keep.props, &msg.props) => {
                (PublishOutcome::Unchanged, 0)
            }
            Some((_, dups)) => (PublishOutcome::Updated, dups.len()),
        })
    }

    /// Delete every message of (folder, subject); returns how many there were.
    pub fn delete_messages(
        &self,
        folder: &AdminGroup,
        subject: &Subject,
    ) -> Result<usize, StoreError> {
        let _w = self.begin_write()?;
        let i = &self.inner;
        let prefix = message_prefix(folder, subject);
        let keys = self.list_keys(&prefix);
        let stamp = changes::deletion_stamp();
        let n = tx_result((&i.messages, &i.leaves, &i.meta, &i.changes).transaction(
            |(tm, tl, tmeta, tc)| {
                let mut n = 0;
                for k in &keys {
                    if let Some(v) = tm.remove(k.as_slice())? {
                        let rec = codec::decode_message(&v).map_err(codec_abort)?;
                        tl.remove(leaf_key(folder, &rec.leaf))?;
                        n += 1;
                    }
                }
                count_tx(tmeta, 0, -(n as i64))?;
                if n > 0 {
                    changes::note_tx(tc, tmeta, folder, Some(subject), true, stamp)?;
                }
                Ok::<_, TxError>(n)
            },
        ))?;
        self.count_changed(0, -(n as i64));
        if n > 0 {
            self.flush()?;
        }
        Ok(n)
    }

    pub(super) fn list_keys(&self, prefix: &[u8]) -> Vec<Vec<u8>> {
        self.inner
            .messages
            .scan_prefix(prefix)
            .keys()
            .filter_map(Result::ok)
            .map(|k| k.to_vec())
            .collect()
    }

    pub fn folder(&self, folder: &AdminGroup) -> Result<Option<FolderRecord>, StoreError> {
        match self.inner.folders.get(folder.key())? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Every admin-group folder, by key.
    pub fn list_folders(&self) -> Result<Vec<FolderRecord>, StoreError> {
        self.inner
            .folders
            .iter()
            .values()
            .map(|v| Ok(codec::decode(&v?)?))
            .collect()
    }
}

/// Messages per transaction of [`Store::publish_queued_unsynced`] (its writes are held in
/// memory until it commits: a few MiB at 256 free/busy messages of ~200 events each). As
/// large as the poller's batch (`app::poller::ROUND_BATCH`), so a round's batch is one
/// transaction.
const PUBLISH_BATCH: usize = 256;

/// The trees a publish writes, inside its transaction: messages, leaves, folders, meta,
/// changes.
type PublishTrees<'a> = (
    &'a TransactionalTree,
    &'a TransactionalTree,
    &'a TransactionalTree,
    &'a TransactionalTree,
    &'a TransactionalTree,
);

/// One message's publish inside a transaction: overwrite the oldest message under
/// `prefix` (whose keys were `existing` before the transaction) and delete its duplicates,
/// or create it under `new_seq`; nothing when the content is unchanged.
fn publish_one_tx(
    (tm, tl, tf, tmeta, tc): PublishTrees<'_>,
    msg: &PublishedMessage,
    prefix: &[u8],
    fb: &StoredFreeBusy,
    existing: &[Vec<u8>],
    new_seq: u64,
    now: i64,
) -> Result<(PublishOutcome, usize), TxError> {
    let records = records_tx(tm, existing)?;
    if let Some(((keep_key, keep), dups)) = records.split_first() {
        if dups.is_empty() && same_content(&keep.props, &msg.props) {
            return Ok((PublishOutcome::Unchanged, 0));
        }
        for (k, dup) in dups {
            tm.remove(k.as_slice())?;
            tl.remove(leaf_key(&msg.folder, &dup.leaf))?;
        }
        count_tx(tmeta, 0, -(dups.len() as i64))?;
        // Encoded from the new properties and free/busy where they are, not copied into
        // a record first (`MessageRecord::changed`'s fields).
        let rec = codec::MessageParts {
            leaf: &keep.leaf,
            subject: &keep.subject,
            created_us: keep.created_us,
            modified_us: now,
            props: &msg.props,
            fb,
        };
        tm.insert(
            keep_key.as_slice(),
            codec::encode_message_parts(rec).map_err(codec_abort)?,
        )?;
        changes::note_tx(tc, tmeta, &msg.folder, Some(&msg.subject), false, now)?;
        return Ok((PublishOutcome::Updated, dups.len()));
    }
    ensure_folder_noted_tx(tf, tc, tmeta, &msg.folder, now)?;
    let key = [prefix, &new_seq.to_be_bytes()].concat();
    let leaf = free_leaf(tl, &msg.folder, &canonical_leaf(&msg.subject))?;
    tl.insert(leaf_key(&msg.folder, &leaf), key.as_slice())?;
    // `MessageRecord::new`'s fields, borrowed.
    let rec = codec::MessageParts {
        leaf: &leaf,
        subject: msg.subject.as_str(),
        created_us: now,
        modified_us: now,
        props: &msg.props,
        fb,
    };
    tm.insert(
        key.as_slice(),
        codec::encode_message_parts(rec).map_err(codec_abort)?,
    )?;
    count_tx(tmeta, 0, 1)?;
    changes::note_tx(tc, tmeta, &msg.folder, Some(&msg.subject), false, now)?;
    Ok((PublishOutcome::Created, 0))
}

/// The first of `leaf`, `leaf-1`, `leaf-2`… not taken in the folder.
pub(super) fn free_leaf(
    tl: &TransactionalTree,
    folder: &AdminGroup,
    leaf: &str,
) -> Result<String, sled::transaction::UnabortableTransactionError> {
    if tl.get(leaf_key(folder, leaf))?.is_none() {
        return Ok(leaf.to_string());
    }
    let mut n = 1;
    loop {
        let candidate = numbered_leaf(leaf, n);
        if tl.get(leaf_key(folder, &candidate))?.is_none() {
            return Ok(candidate);
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::time::Minutes1601;
    use crate::store::testutil::stamp;
    use crate::store::testutil::{message, temp_store};

    #[test]
    fn publish_creates_then_updates_then_skips_unchanged() {
        let (_d, s) = temp_store();
        let m = message("dan", 600);
        assert_eq!(
            s.publish(&m, stamp()).unwrap(),
            (PublishOutcome::Created, 0)
        );
        let stored = s.find_messages(&m.folder, &m.subject).unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].leaf, "USER-/CN=RECIPIENTS/CN=DAN.EML");
        assert_eq!(
            s.publish(&m, stamp()).unwrap(),
            (PublishOutcome::Unchanged, 0)
        );
        let m2 = message("dan", 900);
        assert_eq!(
            s.publish(&m2, stamp()).unwrap(),
            (PublishOutcome::Updated, 0)
        );
        let fb = s.freebusy_of(&m.folder, &m.subject).unwrap().unwrap();
        assert_eq!(fb.fb.busy.as_slice()[0].start(), m2.props_range_start());
        assert!(s.folder(&m.folder).unwrap().is_some());
        assert_eq!(s.stats().messages, 1);
    }

    #[test]
    fn lookup_ignores_case_and_delete_removes_all() {
        let (_d, s) = temp_store();
        let m = message("dan", 600);
        s.publish(&m, stamp()).unwrap();
        let folder = AdminGroup::parse("ex:/O=ORG/OU=ag").unwrap();
        let subject = Subject::parse("user-/cn=recipients/cn=Dan").unwrap();
        assert!(s.freebusy_of(&folder, &subject).unwrap().is_some());
        assert_eq!(s.delete_messages(&folder, &subject).unwrap(), 1);
        assert!(s.freebusy_of(&m.folder, &m.subject).unwrap().is_none());
        assert_eq!(s.delete_messages(&folder, &subject).unwrap(), 0);
        assert_eq!(s.stats().messages, 0);
    }

    /// Issue 13: a store written before the free/busy-first layout (every message record
    /// `[1] ++ bincode(MessageRecord)`) is re-encoded on open, reads the same, and the
    /// query's prefix read works on it.
    #[test]
    fn a_store_in_the_old_layout_is_migrated_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::store::StoreConfig::new(dir.path());
        let msgs: Vec<_> = (0..5).map(|n| message(&format!("u{n}"), 60 * n)).collect();
        let before = {
            let s = Store::open(&cfg).unwrap();
            for m in &msgs {
                s.publish(m, super::super::testutil::stamp()).unwrap();
            }
            // Write every record as version 1 did, and forget the marker.
            let i = &s.inner;
            for kv in i.messages.iter() {
                let (k, v) = kv.unwrap();
                let rec = codec::decode_message(&v).unwrap();
                let old = codec::encode_message_v1(&rec);
                assert_eq!(old[0], 1);
                i.messages.insert(k, old).unwrap();
            }
            i.meta.remove(LAYOUT_MARKER).unwrap();
            msgs.iter()
                .map(|m| s.find_messages(&m.folder, &m.subject).unwrap())
                .collect::<Vec<_>>()
        };
        let s = Store::open(&cfg).unwrap();
        let i = &s.inner;
        assert_eq!(
            i.meta.get(LAYOUT_MARKER).unwrap().as_deref(),
            Some(&[codec::MESSAGE_VERSION][..])
        );
        assert_eq!(i.messages.len(), 5);
        for kv in i.messages.iter() {
            assert!(codec::is_current_message(&kv.unwrap().1));
        }
        for (m, old) in msgs.iter().zip(&before) {
            assert_eq!(&s.find_messages(&m.folder, &m.subject).unwrap(), old);
            let fb = s.freebusy_of(&m.folder, &m.subject).unwrap().unwrap();
            assert_eq!(fb, old[0].fb);
        }
        // Once migrated, the next open has nothing to do.
        drop(s);
        let s = Store::open(&cfg).unwrap();
        assert_eq!(migrate_layout(&s).unwrap(), 0);
    }

    /// A batch is written as one transaction with a result per message, in order: a
    /// message that cannot be decoded is refused alone, two publishes of one subject are
    /// made in order, and a batch larger than a transaction is split.
    #[test]
    fn a_batch_publishes_each_message_and_refuses_only_the_bad_one() {
        let (_d, s) = temp_store();
        let batch = vec![message("ann", 60), undecodable("bad"), message("bob", 120)];
        let r = s.publish_many_unsynced(&batch, stamp());
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].as_ref().unwrap(), &(PublishOutcome::Created, 0));
        assert!(
            r[1].as_ref()
                .unwrap_err()
                .to_string()
                .contains("refusing to publish")
        );
        assert_eq!(r[2].as_ref().unwrap(), &(PublishOutcome::Created, 0));
        assert!(
            s.find_messages(&batch[1].folder, &batch[1].subject)
                .unwrap()
                .is_empty()
        );
        assert_eq!(s.stats().messages, 2);
        // Unchanged, changed, and the same subject twice (the later one wins).
        let again = vec![message("ann", 60), message("bob", 180), message("bob", 240)];
        let r: Vec<_> = s
            .publish_many_unsynced(&again, stamp())
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            r,
            [
                (PublishOutcome::Unchanged, 0),
                (PublishOutcome::Updated, 0),
                (PublishOutcome::Updated, 0)
            ]
        );
        let bob = s
            .find_messages(&again[2].folder, &again[2].subject)
            .unwrap();
        assert_eq!(bob.len(), 1);
        assert_eq!(bob[0].props, again[2].props);
        // More messages than one transaction takes.
        let many: Vec<_> = (0..PUBLISH_BATCH + 5)
            .map(|n| message(&format!("m{n}"), 60))
            .collect();
        let r = s.publish_many_unsynced(&many, stamp());
        assert!(
            r.iter()
                .all(|r| r.as_ref().unwrap().0 == PublishOutcome::Created)
        );
        assert_eq!(s.stats().messages, 2 + many.len() as u64);
        s.sync().unwrap();
        assert_eq!(
            s.inner.messages.len() as u64,
            s.stats().messages,
            "the kept count is the tree's"
        );
    }

    /// A batch clears each published message's republish mark in its transaction, as
    /// `clear_dirty` would: not a mark made again since it was read (that change stays
    /// queued), and not the mark of a message refused.
    #[test]
    fn a_queued_batch_clears_only_the_marks_it_answers() {
        use crate::store::testutil::put_calendar;
        let (_d, s) = temp_store();
        let (ann, bob, bad) = (message("ann", 60), message("bob", 120), undecodable("eve"));
        let dn = |alias: &str| {
            crate::protocol::legacy_dn::LegacyDn::parse(&format!(
                "/o=Org/ou=AG/cn=Recipients/cn={alias}"
            ))
            .unwrap()
        };
        for alias in ["ann", "bob", "eve"] {
            put_calendar(&s, &dn(alias), "A");
        }
        let read = s.dirty_users().unwrap();
        let mark = |alias: &str| {
            read.iter()
                .find(|e| e.legacy_dn.key() == dn(alias).key())
                .expect("queued")
        };
        // Bob's calendar changes again after the queue was read: a newer mark.
        put_calendar(&s, &dn("bob"), "B");
        let batch = [
            (&ann, Some(mark("ann"))),
            (&bob, Some(mark("bob"))),
            (&bad, Some(mark("eve"))),
        ];
        let r = s.publish_queued_unsynced(&batch, stamp());
        assert!(r[0].is_ok() && r[1].is_ok() && r[2].is_err(), "{r:?}");
        let left: Vec<String> = s
            .dirty_users()
            .unwrap()
            .into_iter()
            .map(|e| e.legacy_dn.key())
            .collect();
        assert_eq!(left, [dn("bob").key(), dn("eve").key()]);
    }

    #[test]
    fn numbered_leaves() {
        assert_eq!(numbered_leaf("USER-X.EML", 2), "USER-X-2.EML");
        assert_eq!(numbered_leaf("note", 1), "note-1");
    }

    impl PublishedMessage {
        fn props_range_start(&self) -> Minutes1601 {
            StoredFreeBusy::from_props(&self.props)
                .unwrap()
                .fb
                .busy
                .as_slice()[0]
                .start()
        }
    }

    /// `alias`'s message with a busy-months array its blocks do not match.
    fn undecodable(alias: &str) -> PublishedMessage {
        let mut m = message(alias, 600);
        m.props.insert(
            PropName::Mapi(tags::SCHEDULE_INFO_MONTHS_BUSY),
            PropValue::MvInt(vec![1, 2]),
        );
        m
    }

    #[test]
    fn undecodable_message_is_refused_and_nothing_written() {
        let (_d, s) = temp_store();
        let m = undecodable("dan");
        assert!(
            s.publish(&m, stamp())
                .unwrap_err()
                .to_string()
                .contains("refusing to publish")
        );
        assert!(s.find_messages(&m.folder, &m.subject).unwrap().is_empty());
    }
}
