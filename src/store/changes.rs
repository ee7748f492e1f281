//! The change log: what changed in the free/busy tree, by change number, for replication.
//!
//! Every write to a free/busy message or an admin-group folder gives the item (a message,
//! named by folder and subject, or a folder) the next change number of this store, in the
//! same transaction as the write. The `changes` tree holds, under three prefixes:
//!
//! | key | value |
//! |---|---|
//! | `c` ++ change number (u64 BE) | the item key: folder key `\0` subject key (empty for a folder) |
//! | `v` ++ item key | the item's [`ItemVersion`]: its change number, origin, version vector, tombstone |
//! | `h` ++ name | a high-water mark (u64 BE): the change number of a peer (`repl:NAME`) or of this store for a link (`xsync:NAME`) that is applied |
//!
//! and `meta` holds the last change number given (`change_number`). An item has one `c`
//! entry, its newest: a write removes the item's older entry. "What changed since N" is a
//! range scan from `c ++ N+1` ([`Store::changes_since`]), never a scan of the messages. A
//! deletion leaves its version as a tombstone (`deleted`), so a deletion replicates like any
//! change and an older copy arriving later cannot bring the message back.
//!
//! Versions: each item carries a version vector, server → the change number at which that
//! server last wrote it (this store's own entry under the empty name, so the store need not
//! know its server's name; [`Store::changes_since`]'s callers put the name on the wire). A
//! change from a peer is applied when its vector is newer than the item's, ignored when
//! older or equal (so a change never bounces back: applying it does not make it newer),
//! and is a conflict when neither is newer (both servers wrote the item since they last
//! agreed): the later stamp wins, then the greater server name; the merged vector makes
//! the winner newer than both, so every server ends with the same message
//! ([`Store::apply_remote`]).
//!
//! A store written before the log existed gets it at its next open ([`migrate`]): each
//! message and folder becomes one change of this store.

use std::collections::BTreeMap;

use sled::Transactional;
use sled::transaction::TransactionalTree;

use super::messages::{ensure_folder_tx, free_leaf, leaf_key, message_prefix, records_tx};
use super::{
    FolderRecord, MessageRecord, Store, StoreError, TxError, codec, codec_abort, count_tx,
    tx_result,
};
use crate::protocol::legacy_dn::{AdminGroup, Subject};

const CHANGE: u8 = b'c';
const VERSION: u8 = b'v';
const MARK: u8 = b'h';

/// The `meta` key of the last change number given (u64 BE).
const CHANGE_NUMBER: &[u8] = b"change_number";
/// The `meta` key saying the log covers every item (written by [`migrate`]).
const LOG_MARKER: &[u8] = b"changes_log";

/// Entries looked at per [`Store::changes_since`] call, for each change asked, before it
/// answers with what it has (changes of folders the asker does not hold are skipped).
const SCAN_PER_CHANGE: usize = 20;

/// The newest version of one item (its `origin` and vector entry empty for this store).
pub type ItemVersion = crate::protocol::replica::Version;

/// A change in the log, with the message as it is now (none for a deletion or a folder).
#[derive(Clone, Debug)]
pub struct LoggedChange {
    pub version: ItemVersion,
    pub record: Option<MessageRecord>,
}

/// One page of [`Store::changes_since`].
#[derive(Clone, Debug, Default)]
pub struct ChangeScan {
    pub changes: Vec<LoggedChange>,
    /// The last change number looked at: ask from here next.
    pub next: u64,
    /// More entries wait after `next`.
    pub more: bool,
    /// The last change number this store gave.
    pub latest: u64,
}

/// A change made on another server, to apply here.
#[derive(Clone, Debug)]
pub struct RemoteChange {
    pub folder: AdminGroup,
    /// `None`: the folder itself.
    pub subject: Option<Subject>,
    pub stamp_us: i64,
    /// The server that made it, by name (this server's own name is recognised).
    pub origin: String,
    pub vv: Vec<(String, u64)>,
    pub deleted: bool,
    /// The message (for a change that is not a deletion of a message).
    pub record: Option<MessageRecord>,
}

/// What [`Store::apply_remote`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The message was written.
    Stored,
    /// The message was deleted.
    Deleted,
    FolderCreated,
    /// Nothing to do: this store has the change or a newer one.
    Ignored,
    /// Both servers changed the item since they last agreed; `winner` and `loser` name
    /// the servers whose versions won and lost, `stored` whether the remote one was written.
    Conflict {
        winner: String,
        loser: String,
        stored: bool,
    },
}

fn item_key(folder_key: &str, subject_key: &str) -> Vec<u8> {
    let mut k = folder_key.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(subject_key.as_bytes());
    k
}

fn prefixed(p: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(rest.len() + 1);
    k.push(p);
    k.extend_from_slice(rest);
    k
}

fn change_key(cn: u64) -> Vec<u8> {
    prefixed(CHANGE, &cn.to_be_bytes())
}

fn u64_of(v: Option<&[u8]>) -> u64 {
    v.and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

/// Give the next change number, inside the write's transaction.
fn next_cn_tx(tmeta: &TransactionalTree) -> Result<u64, TxError> {
    let cn = u64_of(tmeta.get(CHANGE_NUMBER)?.as_deref()) + 1;
    tmeta.insert(CHANGE_NUMBER, &cn.to_be_bytes())?;
    Ok(cn)
}

fn version_tx(tc: &TransactionalTree, ik: &[u8]) -> Result<Option<ItemVersion>, TxError> {
    match tc.get(prefixed(VERSION, ik))? {
        Some(v) => Ok(Some(codec::decode(&v).map_err(codec_abort)?)),
        None => Ok(None),
    }
}

/// Write `v` as the item's newest version under a new change number (dropping the item's
/// older entry); `local` sets this store's entry of the vector to that number.
fn put_version_tx(
    tc: &TransactionalTree,
    tmeta: &TransactionalTree,
    ik: &[u8],
    old: Option<&ItemVersion>,
    mut v: ItemVersion,
    local: bool,
) -> Result<u64, TxError> {
    if let Some(o) = old {
        tc.remove(change_key(o.cn))?;
    }
    let cn = next_cn_tx(tmeta)?;
    v.cn = cn;
    if local {
        set_entry(&mut v.vv, "", cn);
    }
    tc.insert(change_key(cn), ik)?;
    tc.insert(
        prefixed(VERSION, ik),
        codec::encode(&v).map_err(codec_abort)?,
    )?;
    Ok(cn)
}

fn set_entry(vv: &mut Vec<(String, u64)>, name: &str, n: u64) {
    match vv.iter_mut().find(|(k, _)| k == name) {
        Some(e) => e.1 = n,
        None => {
            vv.push((name.to_string(), n));
            vv.sort();
        }
    }
}

fn entry(vv: &[(String, u64)], name: &str) -> u64 {
    vv.iter().find(|(k, _)| k == name).map_or(0, |e| e.1)
}

/// Has `a` seen everything `b` has?
fn covers(a: &[(String, u64)], b: &[(String, u64)]) -> bool {
    b.iter().all(|(k, n)| entry(a, k) >= *n)
}

fn merged(a: &[(String, u64)], b: &[(String, u64)]) -> Vec<(String, u64)> {
    let mut m: BTreeMap<String, u64> = a.iter().cloned().collect();
    for (k, n) in b {
        let e = m.entry(k.clone()).or_insert(0);
        *e = (*e).max(*n);
    }
    m.into_iter().collect()
}

/// A local write of a message (`Some(subject)`) or a folder: give it the next change
/// number, inside the write's transaction (whose tuple includes `changes` and `meta`).
pub(super) fn note_tx(
    tc: &TransactionalTree,
    tmeta: &TransactionalTree,
    folder: &AdminGroup,
    subject: Option<&Subject>,
    deleted: bool,
    stamp_us: i64,
) -> Result<(), TxError> {
    let ik = item_key(
        &folder.key(),
        &subject.map(Subject::key).unwrap_or_default(),
    );
    let old = version_tx(tc, &ik)?;
    let v = ItemVersion {
        cn: 0,
        folder: folder.as_str().to_string(),
        subject: subject.map(|s| s.as_str().to_string()).unwrap_or_default(),
        stamp_us,
        origin: String::new(),
        vv: old.as_ref().map(|o| o.vv.clone()).unwrap_or_default(),
        deleted,
    };
    put_version_tx(tc, tmeta, &ik, old.as_ref(), v, true)?;
    Ok(())
}

/// The time a deletion is stamped with: the store's deletions take no clock (their callers
/// pass none), so the wall clock, as the conflict rule compares it with other servers'.
pub(super) fn deletion_stamp() -> i64 {
    jiff::Timestamp::now().as_microsecond()
}

/// Give every message and folder of a store written before the log existed one change of
/// this store, once: afterwards the marker in `meta` makes every open skip it. The log is
/// rebuilt from nothing each time until the marker is written, so a crash midway costs only
/// the redo. Runs at open, before anyone writes. Returns the changes written.
pub(super) fn migrate(store: &Store) -> Result<u64, StoreError> {
    let i = &store.inner;
    if i.meta.get(LOG_MARKER)?.is_some() {
        return Ok(0);
    }
    i.changes.clear()?;
    let mut cn = 0u64;
    let mut batch = sled::Batch::default();
    let mut pending = 0;
    let add = |batch: &mut sled::Batch, ik: Vec<u8>, v: ItemVersion| {
        batch.insert(change_key(v.cn), ik.clone());
        batch.insert(prefixed(VERSION, &ik), codec::encode(&v)?);
        Ok::<_, StoreError>(())
    };
    let mut names = BTreeMap::new();
    for kv in i.folders.iter() {
        let (k, v) = kv?;
        let rec: FolderRecord = codec::decode(&v)?;
        cn += 1;
        let version = local_version(cn, &rec.name, "", rec.created_us);
        add(
            &mut batch,
            item_key(&String::from_utf8_lossy(&k), ""),
            version,
        )?;
        names.insert(k.to_vec(), rec.name);
    }
    let mut last: Option<Vec<u8>> = None;
    for kv in i.messages.iter() {
        let (k, v) = kv?;
        // folder key \0 subject key \0 seq: one change per (folder, subject).
        let Some(ik) = k.len().checked_sub(9).map(|n| k[..n].to_vec()) else {
            continue;
        };
        if last.as_ref() == Some(&ik) {
            continue;
        }
        let rec = codec::decode_message(&v)?;
        let fkey = ik.split(|b| *b == 0).next().unwrap_or_default().to_vec();
        let folder = names
            .get(&fkey)
            .cloned()
            .unwrap_or_else(|| String::from_utf8_lossy(&fkey).into_owned());
        cn += 1;
        add(
            &mut batch,
            ik.clone(),
            local_version(cn, &folder, &rec.subject, rec.modified_us),
        )?;
        last = Some(ik);
        pending += 1;
        if pending == 4096 {
            i.changes.apply_batch(std::mem::take(&mut batch))?;
            pending = 0;
        }
    }
    i.changes.apply_batch(batch)?;
    // The counter and the marker together, last: until the marker, the next open redoes.
    let mut done = sled::Batch::default();
    done.insert(CHANGE_NUMBER, &cn.to_be_bytes());
    done.insert(LOG_MARKER, &[1]);
    i.meta.apply_batch(done)?;
    i.db.flush()?;
    (cn > 0).then(|| {
        tracing::info!(
            changes = cn,
            "change log for replication written: every message and folder is one change of this server"
        )
    });
    Ok(cn)
}

fn local_version(cn: u64, folder: &str, subject: &str, stamp_us: i64) -> ItemVersion {
    ItemVersion {
        cn,
        folder: folder.to_string(),
        subject: subject.to_string(),
        stamp_us,
        origin: String::new(),
        vv: vec![(String::new(), cn)],
        deleted: false,
    }
}

impl Store {
    /// The last change number this store gave.
    pub fn latest_change(&self) -> Result<u64, StoreError> {
        Ok(u64_of(self.inner.meta.get(CHANGE_NUMBER)?.as_deref()))
    }

    /// Changes after `since`, oldest first: at most `limit` of folders `holds` accepts (by
    /// folder key), each the item's newest version and its message as it is now. A range
    /// scan of the log; entries of other folders are skipped, and a call looks at no more
    /// than `limit` × 20 entries (then `more`).
    pub fn changes_since(
        &self,
        since: u64,
        limit: usize,
        holds: impl Fn(&str) -> bool,
    ) -> Result<ChangeScan, StoreError> {
        let i = &self.inner;
        let mut scan = ChangeScan {
            next: since,
            latest: self.latest_change()?,
            ..Default::default()
        };
        let budget = limit.max(1).saturating_mul(SCAN_PER_CHANGE);
        let from = change_key(since.saturating_add(1));
        let to = prefixed(CHANGE + 1, &[]);
        for (looked, kv) in i.changes.range(from..to).enumerate() {
            if scan.changes.len() >= limit.max(1) || looked >= budget {
                scan.more = true;
                break;
            }
            let (k, ik) = kv?;
            let cn = u64_of(k.get(1..));
            scan.next = cn;
            let folder_key = ik.split(|b| *b == 0).next().unwrap_or_default();
            if !holds(&String::from_utf8_lossy(folder_key)) {
                continue;
            }
            let Some(v) = i.changes.get(prefixed(VERSION, &ik))? else {
                continue;
            };
            let version: ItemVersion = codec::decode(&v)?;
            // Rewritten since the scan began: its newer entry comes later.
            if version.cn != cn {
                continue;
            }
            let record = if version.deleted || version.subject.is_empty() {
                None
            } else {
                let prefix = [ik.as_ref(), &[0]].concat();
                match i.messages.scan_prefix(prefix).values().next() {
                    Some(v) => Some(codec::decode_message(&v?)?),
                    // Deleted since: the tombstone comes later.
                    None => continue,
                }
            };
            scan.changes.push(LoggedChange { version, record });
        }
        Ok(scan)
    }

    /// The version of one message (for tests and the browse pages).
    pub fn item_version(
        &self,
        folder: &AdminGroup,
        subject: &Subject,
    ) -> Result<Option<ItemVersion>, StoreError> {
        let ik = item_key(&folder.key(), &subject.key());
        match self.inner.changes.get(prefixed(VERSION, &ik))? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// A stored high-water mark (0 when none).
    pub fn mark(&self, name: &str) -> Result<u64, StoreError> {
        Ok(u64_of(
            self.inner
                .changes
                .get(prefixed(MARK, name.as_bytes()))?
                .as_deref(),
        ))
    }

    /// Store a high-water mark, durably, after everything written before it: the marks of
    /// what was applied are written only once the changes are (the log is replayed in
    /// order, so a mark that survives a crash has its changes with it).
    pub fn set_mark(&self, name: &str, cn: u64) -> Result<(), StoreError> {
        let _w = self.begin_write()?;
        self.inner
            .changes
            .insert(prefixed(MARK, name.as_bytes()), &cn.to_be_bytes())?;
        self.flush()
    }

    /// Apply a change made on another server; `local_name` is this server's name (a
    /// vector entry or origin under it is this store's own). Not yet durable: call
    /// [`Store::set_mark`] (or [`Store::sync`]) after a page.
    pub fn apply_remote(&self, local_name: &str, c: &RemoteChange) -> Result<Applied, StoreError> {
        self.apply_remote_page(local_name, std::slice::from_ref(c))?
            .pop()
            .expect("one outcome per change")
    }

    /// Apply a page of changes from another server, in one transaction (a change of an
    /// item already in the page starts another): one outcome per change, in order. A
    /// change that cannot apply (no message where one is due) is its own error; a store
    /// failure fails the page, which then changed nothing. Not yet durable: call
    /// [`Store::set_mark`] (or [`Store::sync`]) after it.
    pub fn apply_remote_page(
        &self,
        local_name: &str,
        changes: &[RemoteChange],
    ) -> Result<Vec<Result<Applied, StoreError>>, StoreError> {
        let _w = self.begin_write()?;
        let mut out = Vec::with_capacity(changes.len());
        let mut rest = changes;
        while !rest.is_empty() {
            // Plain reads first (none may happen inside a transaction), under the write
            // lock, so they stay exact; an item met twice waits for the next transaction.
            let mut seen = std::collections::HashSet::new();
            let mut steps = Vec::new();
            for c in rest {
                let step = self.plan(local_name, c)?;
                if !seen.insert(step.item.clone()) {
                    break;
                }
                steps.push(step);
            }
            rest = &rest[steps.len()..];
            let i = &self.inner;
            let trees = (&i.messages, &i.leaves, &i.folders, &i.changes, &i.meta);
            let (delta, applied) = tx_result(trees.transaction(|(tm, tl, tf, tc, tmeta)| {
                let mut delta = 0i64;
                let mut applied = Vec::with_capacity(steps.len());
                for step in &steps {
                    let t = Trees {
                        tm,
                        tl,
                        tf,
                        tc,
                        tmeta,
                    };
                    applied.push(step.run(&t, &mut delta)?);
                }
                Ok::<_, TxError>((delta, applied))
            }))?;
            self.count_changed(0, delta);
            out.extend(applied);
        }
        Ok(out)
    }

    /// What applying `c` takes, read before the transaction.
    fn plan<'c>(&self, local_name: &str, c: &'c RemoteChange) -> Result<Step<'c>, StoreError> {
        let own = |n: &str| {
            if n == local_name {
                String::new()
            } else {
                n.to_string()
            }
        };
        let name_of = |n: &str| {
            if n.is_empty() {
                local_name.to_string()
            } else {
                n.to_string()
            }
        };
        let mut vv: Vec<(String, u64)> = c.vv.iter().map(|(k, n)| (own(k), *n)).collect();
        vv.sort();
        let origin = own(&c.origin);
        let i = &self.inner;
        let subject_key = c.subject.as_ref().map(Subject::key).unwrap_or_default();
        let item = item_key(&c.folder.key(), &subject_key);
        let old: Option<ItemVersion> = match i.changes.get(prefixed(VERSION, &item))? {
            Some(v) => Some(codec::decode(&v)?),
            None => None,
        };
        let mut step = Step {
            change: c,
            item,
            old,
            version: remote_version(c, origin.clone(), vv.clone()),
            work: Work::Done(Ok(Applied::Ignored)),
        };
        let Some(subject) = &c.subject else {
            // A folder: created if missing, never deleted by replication.
            if !c.deleted {
                step.work = Work::Folder;
            }
            return Ok(step);
        };
        let mut outcome = if c.deleted {
            Applied::Deleted
        } else {
            Applied::Stored
        };
        if let Some(o) = &step.old {
            if covers(&o.vv, &vv) {
                return Ok(step);
            }
            if !covers(&vv, &o.vv) {
                // Concurrent: the later stamp, then the greater server name, wins.
                let theirs = (c.stamp_us, name_of(&origin));
                let ours = (o.stamp_us, name_of(&o.origin));
                let stored = theirs > ours;
                let (winner, loser) = if stored {
                    (theirs, ours)
                } else {
                    (ours, theirs)
                };
                outcome = Applied::Conflict {
                    winner: winner.1,
                    loser: loser.1,
                    stored,
                };
                step.version.vv = merged(&o.vv, &vv);
                if !stored {
                    // Ours stays, with a vector that now covers theirs too, so that it
                    // replaces theirs wherever it goes.
                    step.version = ItemVersion {
                        vv: step.version.vv.clone(),
                        ..o.clone()
                    };
                    step.work = Work::Version(outcome);
                    return Ok(step);
                }
            }
        }
        if !c.deleted && c.record.is_none() {
            step.work = Work::Done(Err(StoreError::Conflict(format!(
                "the change of {} {} from {} carries no message",
                c.folder.as_str(),
                subject.as_str(),
                c.origin
            ))));
            return Ok(step);
        }
        let prefix = message_prefix(&c.folder, subject);
        step.work = Work::Message {
            existing: self.list_keys(&prefix),
            new_key: [prefix.as_slice(), &i.db.generate_id()?.to_be_bytes()].concat(),
            outcome,
        };
        Ok(step)
    }
}

/// The trees a page of remote changes writes, inside its transaction.
struct Trees<'t> {
    tm: &'t TransactionalTree,
    tl: &'t TransactionalTree,
    tf: &'t TransactionalTree,
    tc: &'t TransactionalTree,
    tmeta: &'t TransactionalTree,
}

/// One remote change, planned: its item, its version before and after, and the work.
struct Step<'c> {
    change: &'c RemoteChange,
    item: Vec<u8>,
    old: Option<ItemVersion>,
    version: ItemVersion,
    work: Work,
}

enum Work {
    /// Nothing to write: ignored, or refused.
    Done(Result<Applied, StoreError>),
    /// Create the folder if it is missing.
    Folder,
    /// Keep the message, store the merged version (a conflict this store won).
    Version(Applied),
    /// Write or delete the message (the keys of its messages, listed before).
    Message {
        existing: Vec<Vec<u8>>,
        new_key: Vec<u8>,
        outcome: Applied,
    },
}

impl Step<'_> {
    /// Do the step inside the page's transaction; `delta` counts messages added.
    fn run(&self, t: &Trees<'_>, delta: &mut i64) -> Result<Result<Applied, StoreError>, TxError> {
        let c = self.change;
        let put_version = || {
            put_version_tx(
                t.tc,
                t.tmeta,
                &self.item,
                self.old.as_ref(),
                self.version.clone(),
                false,
            )
        };
        match &self.work {
            Work::Done(r) => Ok(match r {
                Ok(a) => Ok(a.clone()),
                Err(e) => Err(StoreError::Conflict(e.to_string())),
            }),
            Work::Folder => {
                if !ensure_folder_tx(t.tf, &c.folder, c.stamp_us)? {
                    return Ok(Ok(Applied::Ignored));
                }
                put_version()?;
                Ok(Ok(Applied::FolderCreated))
            }
            Work::Version(outcome) => {
                put_version()?;
                Ok(Ok(outcome.clone()))
            }
            Work::Message {
                existing,
                new_key,
                outcome,
            } => {
                let current = records_tx(t.tm, existing)?;
                let record = if c.deleted { None } else { c.record.as_ref() };
                // The oldest is kept (rewritten), the others go; all go for a deletion.
                let keep = record.and(current.first());
                // The change in the message count.
                let mut d = 0;
                for (k, rec) in &current {
                    if keep.is_some_and(|(kk, _)| kk == k) {
                        continue;
                    }
                    t.tm.remove(k.as_slice())?;
                    t.tl.remove(leaf_key(&c.folder, &rec.leaf))?;
                    d -= 1;
                }
                match (record, keep) {
                    (Some(r), Some((k, old))) => {
                        let rec = MessageRecord {
                            leaf: old.leaf.clone(),
                            created_us: old.created_us,
                            ..r.clone()
                        };
                        t.tm.insert(
                            k.as_slice(),
                            codec::encode_message(&rec).map_err(codec_abort)?,
                        )?;
                    }
                    (Some(r), None) => {
                        ensure_folder_tx(t.tf, &c.folder, c.stamp_us)?;
                        let leaf = free_leaf(t.tl, &c.folder, &r.leaf)?;
                        t.tl.insert(leaf_key(&c.folder, &leaf), new_key.as_slice())?;
                        let rec = MessageRecord { leaf, ..r.clone() };
                        t.tm.insert(
                            new_key.as_slice(),
                            codec::encode_message(&rec).map_err(codec_abort)?,
                        )?;
                        d += 1;
                    }
                    (None, _) => {}
                }
                count_tx(t.tmeta, 0, d)?;
                *delta += d;
                put_version()?;
                Ok(Ok(outcome.clone()))
            }
        }
    }
}

fn remote_version(c: &RemoteChange, origin: String, vv: Vec<(String, u64)>) -> ItemVersion {
    ItemVersion {
        cn: 0,
        folder: c.folder.as_str().to_string(),
        subject: c
            .subject
            .as_ref()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        stamp_us: c.stamp_us,
        origin,
        vv,
        deleted: c.deleted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testutil::{message, stamp, temp_store};
    use crate::store::{StoreConfig, Writer};

    fn all(s: &Store, since: u64) -> ChangeScan {
        s.changes_since(since, 1000, |_| true).unwrap()
    }

    /// As a peer sends it: the change as `name` logged it, its own entries under `name`.
    fn remote(c: &LoggedChange, name: &str) -> RemoteChange {
        let v = &c.version;
        let n = |k: &str| {
            if k.is_empty() {
                name.to_string()
            } else {
                k.to_string()
            }
        };
        RemoteChange {
            folder: AdminGroup::parse(&v.folder).unwrap(),
            subject: (!v.subject.is_empty()).then(|| Subject::parse(&v.subject).unwrap()),
            stamp_us: v.stamp_us,
            origin: n(&v.origin),
            vv: v.vv.iter().map(|(k, x)| (n(k), *x)).collect(),
            deleted: v.deleted,
            record: c.record.clone(),
        }
    }

    /// FB01 and FB02's stores, `a`'s message published on FB01 and pulled by FB02 (with
    /// what FB02 did).
    fn replicated_pair() -> (
        [tempfile::TempDir; 2],
        (Store, Store),
        crate::store::PublishedMessage,
        Vec<Applied>,
    ) {
        let (d1, one) = temp_store();
        let (d2, two) = temp_store();
        let a = message("a", 60);
        one.publish(&a, stamp()).unwrap();
        let got = pull(&one, "FB01", &two, "FB02");
        ([d1, d2], (one, two), a, got)
    }

    /// Does `to` find nothing new in `from`?
    fn nothing_new(from: &Store, from_name: &str, to: &Store, to_name: &str) -> bool {
        pull(from, from_name, to, to_name)
            .iter()
            .all(|x| *x == Applied::Ignored)
    }

    /// Copy every change of `from` after `since` into `to`; the outcomes.
    fn pull(from: &Store, from_name: &str, to: &Store, to_name: &str) -> Vec<Applied> {
        all(from, 0)
            .changes
            .iter()
            .map(|c| to.apply_remote(to_name, &remote(c, from_name)).unwrap())
            .collect()
    }

    /// Every write is one change; the log keeps each item's newest, so a scan from N
    /// returns what changed after N, a deletion included (a tombstone).
    #[test]
    fn writes_are_logged_once_per_item_and_read_from_a_change_number() {
        let (_d, s) = temp_store();
        let (a, b) = (message("a", 60), message("b", 120));
        s.publish(&a, stamp()).unwrap();
        s.publish(&b, stamp()).unwrap();
        // The folder, a, b.
        assert_eq!(s.latest_change().unwrap(), 3);
        let first = all(&s, 0);
        assert_eq!(first.changes.len(), 3);
        assert!(first.changes[0].version.subject.is_empty());
        s.publish(&message("a", 600), stamp()).unwrap();
        let later = all(&s, 3);
        assert_eq!(later.changes.len(), 1);
        assert_eq!(later.changes[0].version.subject, a.subject.as_str());
        assert_eq!(later.changes[0].version.vv, vec![(String::new(), 4)]);
        // The older entry of a is gone: 3 entries in all, not 4.
        assert_eq!(all(&s, 0).changes.len(), 3);
        s.delete_messages(&b.folder, &b.subject).unwrap();
        let gone = all(&s, 4);
        assert_eq!(gone.changes.len(), 1);
        assert!(gone.changes[0].version.deleted && gone.changes[0].record.is_none());
        // Unchanged publishes change nothing.
        s.publish(&message("a", 600), stamp()).unwrap();
        assert_eq!(s.latest_change().unwrap(), 5);
        // A folder the asker does not hold is skipped.
        assert!(
            s.changes_since(0, 10, |_| false)
                .unwrap()
                .changes
                .is_empty()
        );
        // A page stops at its limit and says more waits.
        let page = s.changes_since(0, 1, |_| true).unwrap();
        assert_eq!((page.changes.len(), page.more, page.next), (1, true, 1));
    }

    /// Two stores converge, a change applied is not applied again (no bounce), and a
    /// deletion replicates as a tombstone.
    #[test]
    fn changes_apply_once_and_deletions_replicate() {
        let (_d, (one, two), a, got) = replicated_pair();
        assert_eq!(got, vec![Applied::FolderCreated, Applied::Stored]);
        assert_eq!(
            two.find_messages(&a.folder, &a.subject).unwrap()[0].props,
            a.props
        );
        // Back to one: nothing is new there; again into two: nothing either.
        assert!(nothing_new(&two, "FB02", &one, "FB01"));
        assert!(nothing_new(&one, "FB01", &two, "FB02"));
        let before = all(&two, 0);
        two.delete_messages(&a.folder, &a.subject).unwrap();
        let got = pull(&two, "FB02", &one, "FB01");
        assert!(got.contains(&Applied::Deleted), "{got:?}");
        assert!(one.find_messages(&a.folder, &a.subject).unwrap().is_empty());
        assert!(
            one.item_version(&a.folder, &a.subject)
                .unwrap()
                .unwrap()
                .deleted
        );
        // The old copy arriving again (from a peer that had not seen the deletion) does
        // not bring it back.
        for c in &before.changes {
            let r = one.apply_remote("FB01", &remote(c, "FB02")).unwrap();
            assert_eq!(r, Applied::Ignored);
        }
        assert!(one.find_messages(&a.folder, &a.subject).unwrap().is_empty());
    }

    /// A page applies in one transaction; an item met twice in it is applied in order
    /// (the second time: nothing new), and a change that cannot apply is its own error.
    #[test]
    fn a_page_applies_in_order_with_errors_in_their_place() {
        let (_d1, one) = temp_store();
        let (_d2, two) = temp_store();
        one.publish(&message("a", 60), stamp()).unwrap();
        one.publish(&message("b", 60), stamp()).unwrap();
        let mut page: Vec<RemoteChange> = all(&one, 0)
            .changes
            .iter()
            .map(|c| remote(c, "FB01"))
            .collect();
        let mut broken = page[2].clone();
        broken.record = None;
        page.insert(2, broken);
        page.push(page[1].clone());
        let got = two.apply_remote_page("FB02", &page).unwrap();
        assert!(matches!(got[0], Ok(Applied::FolderCreated)));
        assert!(matches!(got[1], Ok(Applied::Stored)));
        let err = got[2].as_ref().unwrap_err().to_string();
        assert!(err.contains("carries no message"), "{err}");
        assert!(matches!(got[3], Ok(Applied::Stored)));
        assert!(matches!(got[4], Ok(Applied::Ignored)));
        assert_eq!(two.stats().messages, 2);
    }

    /// The same message changed on both stores: both end with the later one, and the
    /// loser is named.
    #[test]
    fn a_conflict_resolves_the_same_way_on_both_stores() {
        let (_d, (one, two), a, _) = replicated_pair();
        one.publish(&message("a", 300), 1_000).unwrap();
        two.publish(&message("a", 900), 2_000).unwrap();
        let on_one = pull(&two, "FB02", &one, "FB01");
        let on_two = pull(&one, "FB01", &two, "FB02");
        let conflict = |v: &[Applied]| {
            v.iter()
                .find(|x| matches!(x, Applied::Conflict { .. }))
                .cloned()
        };
        assert_eq!(
            conflict(&on_one),
            Some(Applied::Conflict {
                winner: "FB02".into(),
                loser: "FB01".into(),
                stored: true
            })
        );
        // Two then takes one's merged version, which covers its own: no second conflict.
        assert_eq!(conflict(&on_two), None);
        // The other order: the winner sees the conflict first, keeps its own, and its
        // merged version replaces the loser's.
        let (_d3, three) = temp_store();
        let (_d4, four) = temp_store();
        three.publish(&a, stamp()).unwrap();
        pull(&three, "FB03", &four, "FB04");
        three.publish(&message("a", 300), 1_000).unwrap();
        four.publish(&message("a", 900), 2_000).unwrap();
        let on_four = pull(&three, "FB03", &four, "FB04");
        assert_eq!(
            conflict(&on_four),
            Some(Applied::Conflict {
                winner: "FB04".into(),
                loser: "FB03".into(),
                stored: false
            })
        );
        assert!(conflict(&pull(&four, "FB04", &three, "FB03")).is_none());
        let read = |s: &Store| {
            s.find_messages(&a.folder, &a.subject).unwrap()[0]
                .props
                .clone()
        };
        assert_eq!(read(&three), message("a", 900).props);
        assert_eq!(read(&four), message("a", 900).props);

        // One more exchange each way changes nothing: they agree.
        pull(&two, "FB02", &one, "FB01");
        pull(&one, "FB01", &two, "FB02");
        let read = |s: &Store| {
            s.find_messages(&a.folder, &a.subject).unwrap()[0]
                .props
                .clone()
        };
        assert_eq!(read(&one), read(&two));
        assert_eq!(read(&one), message("a", 900).props);
        assert!(nothing_new(&one, "FB01", &two, "FB02"));
        assert!(nothing_new(&two, "FB02", &one, "FB01"));
    }

    /// A store written before the change log (as main wrote it up to now: no `changes`
    /// entries, no marker) gets one change per message and folder at its next open, and
    /// writes go on from there.
    #[test]
    fn a_store_without_a_change_log_gets_one_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = StoreConfig::new(dir.path());
        {
            let s = Store::open(&cfg).unwrap();
            for n in 0..5 {
                s.publish(&message(&format!("u{n}"), 60 * n), stamp())
                    .unwrap();
            }
            // What a store written by the schedplus before this one holds.
            s.inner.changes.clear().unwrap();
            s.inner.meta.remove(LOG_MARKER).unwrap();
            s.inner.meta.remove(CHANGE_NUMBER).unwrap();
        }
        let s = Store::open(&cfg).unwrap();
        assert_eq!(s.latest_change().unwrap(), 6);
        let scan = all(&s, 0);
        assert_eq!(scan.changes.len(), 6);
        assert!(scan.changes[1..].iter().all(|c| c.record.is_some()));
        s.delete_messages(&message("u0", 0).folder, &message("u0", 0).subject)
            .unwrap();
        assert_eq!(s.latest_change().unwrap(), 7);
        drop(s);
        let s = Store::open(&cfg).unwrap();
        assert_eq!(migrate(&s).unwrap(), 0);
        assert_eq!(all(&s, 6).changes.len(), 1);
    }

    /// WebDAV writes are logged too: a PROPPATCH, a DELETE of one duplicate (the subject
    /// stays), of the last (a tombstone), and a folder's DELETE.
    #[test]
    fn webdav_writes_are_logged() {
        let (_d, s) = temp_store();
        let a = message("a", 60);
        let ops: Vec<_> = a
            .props
            .iter()
            .map(|(k, v)| crate::protocol::mapi::PropChange::Set(k.clone(), v.clone()))
            .collect();
        s.fb_patch(
            &a.folder,
            "USER-/CN=RECIPIENTS/CN=A.EML",
            &ops,
            &Writer::ANYONE,
            stamp(),
        )
        .unwrap();
        s.fb_patch(
            &a.folder,
            "USER-/CN=RECIPIENTS/CN=A-1.EML",
            &ops,
            &Writer::ANYONE,
            stamp(),
        )
        .unwrap();
        let n = s.latest_change().unwrap();
        assert_eq!(n, 3);
        s.fb_delete_at(&a.folder, "USER-/CN=RECIPIENTS/CN=A-1.EML", &Writer::ANYONE)
            .unwrap();
        assert!(!all(&s, n).changes[0].version.deleted);
        s.fb_delete_at(&a.folder, "USER-/CN=RECIPIENTS/CN=A.EML", &Writer::ANYONE)
            .unwrap();
        assert!(all(&s, n + 1).changes[0].version.deleted);
        s.publish(&message("b", 60), stamp()).unwrap();
        let n = s.latest_change().unwrap();
        s.fb_delete_folder(&a.folder).unwrap();
        let gone = all(&s, n);
        assert_eq!(gone.changes.len(), 1);
        assert!(gone.changes[0].version.deleted);
    }

    #[test]
    fn version_vectors_order_and_merge() {
        let a = vec![("".to_string(), 3), ("B".to_string(), 1)];
        let b = vec![("B".to_string(), 2)];
        assert!(!covers(&a, &b) && !covers(&b, &a));
        let m = merged(&a, &b);
        assert!(covers(&m, &a) && covers(&m, &b));
        assert_eq!(m, vec![("".to_string(), 3), ("B".to_string(), 2)]);
        assert!(covers(&a, &[]));
    }
}
