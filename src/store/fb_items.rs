//! Free/busy messages and admin-group folders as WebDAV sees them: by URL leaf.
//!
//! [`messages`](super::messages) finds a message by (folder, subject), the publisher's
//! view. WebDAV clients name a message by its URL leaf instead, so this module adds what
//! they need on top of the same trees: get by leaf (through the `leaves` index), list a
//! folder's messages lazily ([`FbMessages`], one sled iterator, nothing materialised),
//! PROPPATCH with create-if-missing at a given leaf ([`Store::fb_patch`], the one-request
//! publish of Google Calendar Connector), delete by leaf, create and delete an admin-group
//! folder, and a batched create for loading large folders.
//!
//! A PROPPATCH result is decoded with [`StoredFreeBusy::from_props`] before anything is
//! written, so the store never holds a message the `?Cmd=freebusy` answer cannot read, and
//! the answer reflects the write at once. The subject (the lookup key) is fixed when a
//! message is created; a PROPPATCH that would change it is refused rather than re-keyed.
//! Must not know about HTTP.

use std::collections::BTreeMap;

use sled::Transactional;

use super::changes;
use super::messages::{canonical_leaf, ensure_folder_noted_tx, leaf_key, message_prefix};
use super::public_folders::PfError;
use super::writer::{OwnerRule, Writer};
use super::{
    MessageRecord, PublishedMessage, Store, StoreError, StoredFreeBusy, TxError, codec,
    codec_abort, tx_result,
};
use crate::protocol::address::UserAddress;
use crate::protocol::legacy_dn::{
    AdminGroup, DnError, LegacyDn, Subject, fold_key, truncate_for_message,
};
use crate::protocol::mapi::{PropChange, PropName, PropValue, tags};
use crate::protocol::pffb::PffbError;

/// Most messages one admin-group folder DELETE removes in its single transaction.
pub const MAX_FOLDER_DELETE: usize = 50_000;

/// Why [`Store::fb_patch`] refused; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FbRefusal {
    #[error("the message's free/busy would not decode: {0}")]
    Undecodable(PffbError),
    #[error("{0}")]
    BadSubject(DnError),
    #[error(
        "the subject is the message's lookup key and cannot change from '{from}' to '{to}'; delete the message and create it anew"
    )]
    SubjectChanged { from: String, to: String },
}

/// What [`Store::fb_patch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FbPatchOutcome {
    Created(MessageRecord),
    Updated(MessageRecord),
    Refused(FbRefusal),
}

/// A folder's messages, read lazily from sled in key order (subject, then age).
pub type FbMessages = super::tree::Values<MessageRecord>;

fn folder_prefix(folder: &AdminGroup) -> Vec<u8> {
    let mut k = folder.key().into_bytes();
    k.push(0);
    k
}

/// Does the URL leaf name `subject`: `SUBJECT`, `SUBJECT.EML` or a numbered duplicate
/// `SUBJECT-N.EML`, in any case?
fn leaf_names(subject: &Subject, leaf: &str) -> bool {
    let leaf = fold_key(leaf);
    let stem = leaf.strip_suffix(".eml").unwrap_or(&leaf);
    let key = subject.key();
    stem == key
        || stem
            .strip_prefix(key.as_str())
            .and_then(|r| r.strip_prefix('-'))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The subject a message's properties give it: PidTagNormalizedSubject, else PidTagSubject,
/// else Exchange's `mapi/subject` name, else the URL leaf without `.EML`.
fn subject_of(props: &BTreeMap<PropName, PropValue>, leaf: &str) -> Result<Subject, DnError> {
    let from_props = [
        PropName::Mapi(tags::NORMALIZED_SUBJECT),
        PropName::Mapi(tags::SUBJECT),
        PropName::mapi_subject(),
    ]
    .iter()
    .find_map(|n| props.get(n).and_then(PropValue::as_str).map(str::to_string));
    let text = from_props.unwrap_or_else(|| {
        let cut = leaf
            .len()
            .checked_sub(4)
            .filter(|&i| leaf.is_char_boundary(i) && leaf[i..].eq_ignore_ascii_case(".EML"));
        cut.map_or(leaf, |i| &leaf[..i]).to_string()
    });
    Subject::parse(&text)
}

/// The legacyDN a message in `folder` with this subject stands for: the folder's DN part
/// and the subject's tail (`EX:/o=Org/ou=AG` + `USER-/CN=RECIPIENTS/CN=ALIAS`).
fn dn_of_subject(folder: &AdminGroup, subject: &str) -> Option<LegacyDn> {
    let ag = folder.as_str().get(3..)?;
    let tail = subject
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("USER-"))
        .and_then(|_| subject.get(5..))?;
    LegacyDn::parse(&format!("{ag}{tail}")).ok()
}

/// The legacyDN a stored message names as its owner: PidTagFreeBusyMessageEmailAddress,
/// else the one its folder and subject stand for.
fn message_owner_dn(folder: &AdminGroup, rec: &MessageRecord) -> Option<String> {
    rec.props
        .get(&PropName::Mapi(tags::FREEBUSY_MESSAGE_EMAIL_ADDRESS))
        .and_then(PropValue::as_str)
        .map(str::to_string)
        .or_else(|| dn_of_subject(folder, &rec.subject).map(|d| d.as_str().to_string()))
}

/// The properties that say whose a message is: read by SEARCH, the browse pages and
/// Outlook, so under the owner rule each must name the writer.
fn names_owner(name: &PropName) -> Option<OwnerProp> {
    let subject_ids = [tags::SUBJECT.id(), tags::NORMALIZED_SUBJECT.id()];
    match name {
        PropName::Mapi(t) if subject_ids.contains(&t.id()) => Some(OwnerProp::Subject),
        PropName::Mapi(t) if t.id() == tags::FREEBUSY_MESSAGE_EMAIL_ADDRESS.id() => {
            Some(OwnerProp::LegacyDn)
        }
        n if *n == PropName::mapi_subject() => Some(OwnerProp::Subject),
        _ => None,
    }
}

/// The free/busy owner rule's refusal of `what`.
fn refused(writer: &Writer, what: impl Into<String>) -> StoreError {
    StoreError::Refused(writer.refused(OwnerRule::FreeBusy, what))
}

enum OwnerProp {
    Subject,
    LegacyDn,
}

impl Store {
    /// The only subject `writer` may write in `folder` (`None`: any), refusing at once a
    /// writer whose own messages live in another admin group, or whose `existing` message
    /// is someone else's.
    fn own_subject(
        &self,
        writer: &Writer,
        folder: &AdminGroup,
        existing: Option<&MessageRecord>,
    ) -> Result<Option<Subject>, StoreError> {
        let what = || {
            let subject = existing.map_or(String::new(), |r| format!(" {}", r.subject));
            format!("{}{subject}", folder.as_str())
        };
        let own = writer
            .own_subject(folder)
            .map_err(|()| refused(writer, what()))?;
        if let (Some(own), Some(rec)) = (&own, existing) {
            if !Writer::owns_subject(own, &rec.subject) {
                return Err(refused(writer, what()));
            }
        }
        Ok(own)
    }

    /// The owner rule beyond the subject key, for a writer who may write only `own`: every
    /// property naming an owner (0x0037, 0x0E1D, `mapi/subject`, 0x6849, any string type)
    /// names the writer, and the URL is not the canonical URL of another user's message (a
    /// numbered duplicate `…CN=KBAKER-2.EML` is kbaker's only while no user or message
    /// `kbaker-2` has it). `None`: allowed.
    fn not_owned_by(
        &self,
        folder: &AdminGroup,
        leaf: &str,
        props: &BTreeMap<PropName, PropValue>,
        own: &Subject,
    ) -> Result<Option<String>, StoreError> {
        for (name, value) in props {
            let Some(kind) = names_owner(name) else {
                continue;
            };
            let text = value.as_str().unwrap_or_default();
            let mine = match kind {
                OwnerProp::Subject => fold_key(text) == own.key(),
                OwnerProp::LegacyDn => LegacyDn::parse(text)
                    .is_ok_and(|dn| dn.subject() == *own && dn.admin_group() == *folder),
            };
            if !mine {
                return Ok(Some(format!(
                    "'{}' (set as property {name}; under the owner rule the subjects and 0x6849001F of a message name its writer)",
                    truncate_for_message(text)
                )));
            }
        }
        let stem = leaf
            .len()
            .checked_sub(4)
            .filter(|&i| leaf.is_char_boundary(i) && leaf[i..].eq_ignore_ascii_case(".EML"))
            .map_or(leaf, |i| &leaf[..i]);
        if fold_key(stem) == own.key() {
            return Ok(None);
        }
        let Ok(named) = Subject::parse(stem) else {
            return Ok(None);
        };
        let user = match dn_of_subject(folder, named.as_str()) {
            Some(dn) => self.find_user(&UserAddress::Ex(dn.as_str().to_string()))?,
            None => None,
        };
        let message = !self.list_keys(&message_prefix(folder, &named)).is_empty();
        if user.is_some_and(|u| u.legacy_dn.subject() != *own) || message {
            return Ok(Some(format!(
                "{leaf} (the URL of {}'s message)",
                named.as_str()
            )));
        }
        Ok(None)
    }

    /// The legacyDN a message names as its owner (0x6849001F, else the one its folder and
    /// subject stand for) when that names nobody in the directory. Exchange stored such
    /// messages and so does schedplus; the caller says so (a warning, a metric).
    pub fn fb_owner_not_in_directory(
        &self,
        folder: &AdminGroup,
        rec: &MessageRecord,
    ) -> Result<Option<String>, StoreError> {
        let Some(dn) = message_owner_dn(folder, rec) else {
            return Ok(None);
        };
        Ok(self
            .find_user(&UserAddress::Ex(dn.trim().to_string()))?
            .is_none()
            .then_some(dn))
    }

    /// Every message of `folder`, streamed.
    pub fn fb_messages(&self, folder: &AdminGroup) -> FbMessages {
        let iter = self.inner.messages.scan_prefix(folder_prefix(folder));
        FbMessages::new(iter, codec::decode_message)
    }

    /// The message whose URL leaf is `leaf` (decoded, any case).
    pub fn fb_message_at(
        &self,
        folder: &AdminGroup,
        leaf: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        Ok(self.at_leaf(folder, leaf)?.and_then(|(_, rec)| rec))
    }

    /// The store key of the message whose URL leaf is `leaf`, with the message when its
    /// record is there.
    fn at_leaf(
        &self,
        folder: &AdminGroup,
        leaf: &str,
    ) -> Result<Option<(sled::IVec, Option<MessageRecord>)>, StoreError> {
        let Some(key) = self.inner.leaves.get(leaf_key(folder, leaf))? else {
            return Ok(None);
        };
        let rec = self.inner.messages.get(&key)?;
        let rec = rec.map(|v| codec::decode_message(&v)).transpose()?;
        Ok(Some((key, rec)))
    }

    /// Apply PROPPATCH instructions in document order to the message at `leaf`, creating it
    /// (and its folder) when missing. All or nothing: a result whose free/busy does not
    /// decode, or whose subject is not a free/busy subject, is refused unwritten; so is a
    /// write by a `writer` who may write only their own message to any other
    /// ([`StoreError::Refused`], checked here under the write lock).
    pub fn fb_patch(
        &self,
        folder: &AdminGroup,
        leaf: &str,
        ops: &[PropChange],
        writer: &Writer,
        now_us: i64,
    ) -> Result<FbPatchOutcome, StoreError> {
        let _w = self.begin_write()?;
        let i = &self.inner;
        let lk = leaf_key(folder, leaf);
        // Plain reads before the transaction (a read inside one deadlocks sled); the write
        // lock keeps them exact.
        let existing = match i.leaves.get(&lk)? {
            Some(key) => match i.messages.get(&key)? {
                Some(v) => Some((key.to_vec(), codec::decode_message(&v)?)),
                None => None,
            },
            None => None,
        };
        let only_subject = self.own_subject(writer, folder, existing.as_ref().map(|(_, r)| r))?;
        let only_subject = only_subject.as_ref();
        let mut props = existing
            .as_ref()
            .map(|(_, r)| r.props.clone())
            .unwrap_or_default();
        for op in ops {
            match op {
                PropChange::Set(n, v) => {
                    props.insert(n.clone(), v.clone());
                }
                PropChange::Remove(n) => {
                    props.remove(n);
                }
            }
        }
        let subject = match subject_of(&props, leaf) {
            Ok(s) => s,
            Err(e) => return Ok(FbPatchOutcome::Refused(FbRefusal::BadSubject(e))),
        };
        if only_subject.is_some_and(|own| own.key() != subject.key()) {
            return Err(refused(writer, subject.as_str()));
        }
        if let Some(own) = only_subject {
            // A new message must also sit at one of the writer's own URLs, so nobody takes
            // the URL another user's publisher writes to.
            if existing.is_none() && !leaf_names(own, leaf) {
                return Err(refused(writer, leaf));
            }
            if let Some(what) = self.not_owned_by(folder, leaf, &props, own)? {
                return Err(refused(writer, what));
            }
        }
        if let Some((_, old)) = &existing {
            if fold_key(&old.subject) != subject.key() {
                return Ok(FbPatchOutcome::Refused(FbRefusal::SubjectChanged {
                    from: old.subject.clone(),
                    to: subject.as_str().to_string(),
                }));
            }
        }
        let fb = match StoredFreeBusy::from_props(&props) {
            Ok(fb) => fb,
            Err(e) => return Ok(FbPatchOutcome::Refused(FbRefusal::Undecodable(e))),
        };
        let now = now_us;
        let (key, rec, created) = match existing {
            Some((key, old)) => (key, old.changed(props, fb, now), false),
            None => {
                let seq = i.db.generate_id()?;
                let key = [
                    message_prefix(folder, &subject).as_slice(),
                    &seq.to_be_bytes(),
                ]
                .concat();
                let rec = MessageRecord::new(leaf.to_string(), &subject, props, fb, now);
                (key, rec, true)
            }
        };
        let trees = (&i.messages, &i.leaves, &i.folders, &i.meta, &i.changes);
        tx_result(trees.transaction(|(tm, tl, tf, tmeta, tc)| {
            if created {
                ensure_folder_noted_tx(tf, tc, tmeta, folder, now_us)?;
                tl.insert(lk.as_slice(), key.as_slice())?;
                super::count_tx(tmeta, 0, 1)?;
            }
            tm.insert(
                key.as_slice(),
                codec::encode_message(&rec).map_err(codec_abort)?,
            )?;
            changes::note_tx(tc, tmeta, folder, Some(&subject), false, now_us)?;
            Ok::<_, TxError>(())
        }))?;
        self.count_changed(0, i64::from(created));
        self.flush()?;
        Ok(if created {
            FbPatchOutcome::Created(rec)
        } else {
            FbPatchOutcome::Updated(rec)
        })
    }

    /// Delete the message at `leaf`; false when there is none.
    /// A `writer` who may write only their own message is refused any other
    /// ([`StoreError::Refused`]), checked under the write lock.
    pub fn fb_delete_at(
        &self,
        folder: &AdminGroup,
        leaf: &str,
        writer: &Writer,
    ) -> Result<bool, StoreError> {
        let _w = self.begin_write()?;
        let Some((key, rec)) = self.at_leaf(folder, leaf)? else {
            return Ok(false);
        };
        let (i, lk) = (&self.inner, leaf_key(folder, leaf));
        if !writer.any {
            self.own_subject(writer, folder, rec.as_ref())?;
        }
        // The message's subject keeps others (duplicates): then the subject changed (its
        // oldest may be another), else it is deleted.
        let subject = rec.as_ref().and_then(|r| Subject::parse(&r.subject).ok());
        let others = subject.as_ref().map_or(0, |s| {
            self.list_keys(&message_prefix(folder, s))
                .iter()
                .filter(|k| k.as_slice() != key.as_ref())
                .count()
        });
        let stamp = changes::deletion_stamp();
        let trees = (&i.messages, &i.leaves, &i.meta, &i.changes);
        tx_result(trees.transaction(|(tm, tl, tmeta, tc)| {
            tm.remove(&key)?;
            tl.remove(lk.as_slice())?;
            super::count_tx(tmeta, 0, -1)?;
            if let Some(subject) = &subject {
                changes::note_tx(tc, tmeta, folder, Some(subject), others == 0, stamp)?;
            }
            Ok::<_, TxError>(())
        }))?;
        self.count_changed(0, -1);
        self.flush()?;
        Ok(true)
    }

    /// Create an admin-group folder (MKCOL); false when it existed.
    pub fn fb_create_folder(&self, folder: &AdminGroup, now_us: i64) -> Result<bool, StoreError> {
        let _w = self.begin_write()?;
        let i = &self.inner;
        let created = tx_result(
            (&i.folders, &i.changes, &i.meta).transaction(|(tf, tc, tmeta)| {
                ensure_folder_noted_tx(tf, tc, tmeta, folder, now_us)
            }),
        )?;
        if created {
            self.flush()?;
        }
        Ok(created)
    }

    /// Delete an admin-group folder with all its messages in one transaction; `None` when
    /// there is no such folder. Folders of more than [`MAX_FOLDER_DELETE`] messages are
    /// refused (sled keeps a transaction's writes in memory).
    pub fn fb_delete_folder(&self, folder: &AdminGroup) -> Result<Option<usize>, PfError> {
        let _w = self.begin_write()?;
        let i = &self.inner;
        if self.folder(folder)?.is_none() {
            return Ok(None);
        }
        let prefix = folder_prefix(folder);
        let scan = |tree: &sled::Tree| -> Result<Vec<sled::IVec>, PfError> {
            let mut keys = Vec::new();
            for k in tree.scan_prefix(&prefix).keys() {
                keys.push(k.map_err(StoreError::from)?);
                if keys.len() > MAX_FOLDER_DELETE {
                    return Err(PfError::TooLarge(MAX_FOLDER_DELETE));
                }
            }
            Ok(keys)
        };
        let messages = scan(&i.messages)?;
        let leaves = scan(&i.leaves)?;
        let fkey = folder.key();
        // Each subject's deletion is a change (a tombstone), so it replicates.
        let mut subjects: Vec<Subject> = messages
            .iter()
            .filter_map(|k| k.len().checked_sub(9).map(|n| &k[prefix.len()..n]))
            .filter_map(|s| Subject::parse(&String::from_utf8_lossy(s)).ok())
            .collect();
        subjects.dedup_by(|a, b| a.key() == b.key());
        let stamp = changes::deletion_stamp();
        let trees = (&i.messages, &i.leaves, &i.folders, &i.meta, &i.changes);
        tx_result(trees.transaction(|(tm, tl, tf, tmeta, tc)| {
            for k in &messages {
                tm.remove(k)?;
            }
            for s in &subjects {
                changes::note_tx(tc, tmeta, folder, Some(s), true, stamp)?;
            }
            super::count_tx(tmeta, 0, -(messages.len() as i64))?;
            for k in &leaves {
                tl.remove(k)?;
            }
            tf.remove(fkey.as_bytes())?;
            Ok::<_, TxError>(())
        }))?;
        self.count_changed(0, -(messages.len() as i64));
        self.flush()?;
        Ok(Some(messages.len()))
    }

    /// Create many new messages in one transaction, each at its canonical leaf (bulk loads
    /// and benchmarks). A message whose (folder, subject) already has one is skipped, so
    /// this never makes duplicates; use [`Store::publish`] to update. Returns how many were
    /// created.
    pub fn fb_create_many(
        &self,
        msgs: &[PublishedMessage],
        now_us: i64,
    ) -> Result<usize, StoreError> {
        let _w = self.begin_write()?;
        let i = &self.inner;
        let mut plan = Vec::new();
        for m in msgs {
            let fb = StoredFreeBusy::from_props(&m.props)
                .map_err(|e| StoreError::Conflict(format!("refusing to publish: {e}")))?;
            let prefix = message_prefix(&m.folder, &m.subject);
            let leaf = canonical_leaf(&m.subject);
            if !self.list_keys(&prefix).is_empty()
                || i.leaves.get(leaf_key(&m.folder, &leaf))?.is_some()
            {
                continue;
            }
            let key = [prefix.as_slice(), &i.db.generate_id()?.to_be_bytes()].concat();
            let rec = MessageRecord::new(leaf, &m.subject, m.props.clone(), fb, now_us);
            plan.push((m.folder.clone(), m.subject.clone(), key, rec));
        }
        let n = plan.len();
        let trees = (&i.messages, &i.leaves, &i.folders, &i.meta, &i.changes);
        tx_result(trees.transaction(|(tm, tl, tf, tmeta, tc)| {
            for (folder, subject, key, rec) in &plan {
                ensure_folder_noted_tx(tf, tc, tmeta, folder, now_us)?;
                tl.insert(leaf_key(folder, &rec.leaf), key.as_slice())?;
                tm.insert(
                    key.as_slice(),
                    codec::encode_message(rec).map_err(codec_abort)?,
                )?;
                changes::note_tx(tc, tmeta, folder, Some(subject), false, now_us)?;
            }
            super::count_tx(tmeta, 0, plan.len() as i64)?;
            Ok::<_, TxError>(())
        }))?;
        self.count_changed(0, n as i64);
        if n > 0 {
            self.flush()?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::dav_xml::{XmlLimits, parse_proppatch};
    use crate::store::testutil::stamp;
    use crate::store::testutil::temp_store;

    const GCC: &[u8] = include_bytes!("../../tests/data/dav/gcc_create_freebusy.xml");

    fn ag() -> AdminGroup {
        AdminGroup::parse("EX:/o=Org/ou=AG").unwrap()
    }

    /// PROPPATCH the item `leaf` of the AG folder with `ops`, as `who`, now.
    fn patch(
        s: &Store,
        leaf: &str,
        ops: &[PropChange],
        who: &Writer,
    ) -> Result<FbPatchOutcome, StoreError> {
        s.fb_patch(&ag(), leaf, ops, who, stamp())
    }

    #[test]
    fn one_proppatch_creates_a_readable_message() {
        let (_d, s) = temp_store();
        let ops = parse_proppatch(GCC, &XmlLimits::default()).unwrap();
        let leaf = "USER-/CN=RECIPIENTS/CN=ALIAS.EML";
        let FbPatchOutcome::Created(rec) = s
            .fb_patch(&ag(), leaf, &ops, &Writer::ANYONE, stamp())
            .unwrap()
        else {
            panic!("expected a created message");
        };
        assert_eq!(rec.subject, "USER-/CN=RECIPIENTS/CN=ALIAS");
        assert!(s.folder(&ag()).unwrap().is_some());
        let subject = Subject::parse("user-/cn=recipients/cn=alias").unwrap();
        let fb = s.freebusy_of(&ag(), &subject).unwrap().unwrap();
        assert!(!fb.fb.busy.is_empty());
        assert_eq!(
            s.fb_message_at(&ag(), &leaf.to_lowercase()).unwrap(),
            Some(rec.clone())
        );
        assert!(matches!(
            patch(&s, leaf, &ops, &Writer::ANYONE).unwrap(),
            FbPatchOutcome::Updated(_)
        ));
        assert_eq!(s.fb_messages(&ag()).count(), 1);
        assert!(s.fb_delete_at(&ag(), leaf, &Writer::ANYONE).unwrap());
        assert!(!s.fb_delete_at(&ag(), leaf, &Writer::ANYONE).unwrap());
        assert!(s.freebusy_of(&ag(), &subject).unwrap().is_none());
    }

    #[test]
    fn undecodable_or_rekeying_patches_change_nothing() {
        let (_d, s) = temp_store();
        let ops = parse_proppatch(GCC, &XmlLimits::default()).unwrap();
        let leaf = "USER-/CN=RECIPIENTS/CN=ALIAS.EML";
        patch(&s, leaf, &ops, &Writer::ANYONE).unwrap();
        let before = s.fb_message_at(&ag(), leaf).unwrap();
        let bad = [PropChange::Set(
            PropName::Mapi(tags::SCHEDULE_INFO_FREEBUSY_BUSY),
            PropValue::MvBinary(vec![vec![1, 2, 3]]),
        )];
        assert!(matches!(
            patch(&s, leaf, &bad, &Writer::ANYONE).unwrap(),
            FbPatchOutcome::Refused(FbRefusal::Undecodable(_))
        ));
        let rename = [PropChange::Set(
            PropName::Mapi(tags::NORMALIZED_SUBJECT),
            PropValue::String("USER-/CN=RECIPIENTS/CN=OTHER".into()),
        )];
        assert!(matches!(
            patch(&s, leaf, &rename, &Writer::ANYONE).unwrap(),
            FbPatchOutcome::Refused(FbRefusal::SubjectChanged { .. })
        ));
        assert_eq!(s.fb_message_at(&ag(), leaf).unwrap(), before);
        // A leaf that is no free/busy subject, with no subject property, is refused.
        let plain = [PropChange::Set(
            PropName::new("urn:x:", "a"),
            PropValue::String("b".into()),
        )];
        assert!(matches!(
            patch(&s, "notes.txt", &plain, &Writer::ANYONE).unwrap(),
            FbPatchOutcome::Refused(FbRefusal::BadSubject(_))
        ));
        assert!(s.fb_message_at(&ag(), "notes.txt").unwrap().is_none());
    }

    #[test]
    fn folders_are_created_and_deleted_with_their_messages() {
        let (_d, s) = temp_store();
        assert!(s.fb_create_folder(&ag(), stamp()).unwrap());
        assert!(!s.fb_create_folder(&ag(), stamp()).unwrap());
        let ops = parse_proppatch(GCC, &XmlLimits::default()).unwrap();
        patch(
            &s,
            "USER-/CN=RECIPIENTS/CN=ALIAS.EML",
            &ops,
            &Writer::ANYONE,
        )
        .unwrap();
        assert_eq!(s.stats().messages, 1, "a PROPPATCH create is counted");
        assert_eq!(s.fb_delete_folder(&ag()).unwrap(), Some(1));
        assert_eq!(s.stats().messages, 0, "a folder delete is counted");
        assert_eq!(s.fb_delete_folder(&ag()).unwrap(), None);
        assert!(s.list_folders().unwrap().is_empty());
        assert_eq!(s.fb_messages(&ag()).count(), 0);
    }

    /// A user of `ag()` who may write only their own message.
    fn writer(alias: &str) -> Writer {
        let dn = LegacyDn::parse(&format!("/o=Org/ou=AG/cn=Recipients/cn={alias}")).unwrap();
        Writer::user(&dn, alias, false)
    }

    /// What a patch refused under the owner rule, if it did.
    fn refused(r: Result<FbPatchOutcome, StoreError>) -> Option<String> {
        match r {
            Err(StoreError::Refused(r)) => Some(r.what),
            _ => None,
        }
    }

    /// The whole owner rule is the store's, under its lock: a writer whose own messages
    /// live in another admin group may write nothing in this one, and nobody but its owner
    /// changes or deletes an existing message, whatever the patch says.
    #[test]
    fn the_store_refuses_another_groups_writer_and_another_users_message() {
        let (_d, s) = temp_store();
        let ops = parse_proppatch(GCC, &XmlLimits::default()).unwrap();
        let leaf = "USER-/CN=RECIPIENTS/CN=ALIAS.EML";
        let elsewhere = Writer::user(
            &LegacyDn::parse("/o=Org/ou=Other/cn=Recipients/cn=alias").unwrap(),
            "alias",
            false,
        );
        assert_eq!(
            refused(patch(&s, leaf, &ops, &elsewhere)),
            Some("EX:/o=Org/ou=AG".into())
        );
        assert!(s.fb_messages(&ag()).next().is_none(), "nothing written");
        assert!(matches!(
            s.fb_patch(&ag(), leaf, &ops, &writer("alias"), stamp()),
            Ok(FbPatchOutcome::Created(_))
        ));
        let what = Some("EX:/o=Org/ou=AG USER-/CN=RECIPIENTS/CN=ALIAS".to_string());
        assert_eq!(
            refused(s.fb_patch(&ag(), leaf, &[], &writer("other"), stamp())),
            what
        );
        assert!(matches!(
            s.fb_delete_at(&ag(), leaf, &elsewhere),
            Err(StoreError::Refused(r)) if r.rule == OwnerRule::FreeBusy && r.writer.starts_with("alias (")
        ));
        assert!(
            s.fb_delete_at(
                &ag(),
                leaf,
                &Writer::user(
                    &LegacyDn::parse("/o=Org/ou=Other/cn=Recipients/cn=boss").unwrap(),
                    "boss",
                    true
                )
            )
            .unwrap()
        );
    }

    #[test]
    fn a_writer_limited_to_one_subject_cannot_create_or_change_another() {
        let (_d, s) = temp_store();
        let own = writer("alias");
        // What the owner rule refuses of `own`'s patch to their own canonical URL.
        let refused_at_own_url =
            |ops: &[PropChange]| refused(patch(&s, "USER-/CN=RECIPIENTS/CN=ALIAS.EML", ops, &own));
        let ops = vec![PropChange::Set(
            PropName::Mapi(crate::protocol::mapi::tags::SUBJECT),
            PropValue::String("USER-/CN=RECIPIENTS/CN=OTHER".into()),
        )];
        // The URL leaf names the writer, the subject property someone else.
        assert_eq!(
            refused_at_own_url(&ops),
            Some("USER-/CN=RECIPIENTS/CN=OTHER".into())
        );
        assert!(s.fb_messages(&ag()).next().is_none(), "nothing written");
        // Nor may they take another user's URL for their own subject.
        let mine = vec![PropChange::Set(
            PropName::Mapi(crate::protocol::mapi::tags::SUBJECT),
            PropValue::String("USER-/CN=RECIPIENTS/CN=ALIAS".into()),
        )];
        for squat in [
            "USER-/CN=RECIPIENTS/CN=OTHER.EML",
            "notes.EML",
            "USER-/CN=RECIPIENTS/CN=ALIAS-x.EML",
        ] {
            assert_eq!(
                refused(patch(&s, squat, &mine, &own)),
                Some(squat.into()),
                "{squat}"
            );
        }
        assert!(s.fb_messages(&ag()).next().is_none(), "nothing written");
        assert!(matches!(
            s.fb_patch(
                &ag(),
                "USER-/CN=RECIPIENTS/CN=ALIAS.EML",
                &[],
                &own,
                stamp()
            )
            .unwrap(),
            FbPatchOutcome::Created(_)
        ));
        assert!(
            matches!(
                patch(&s, "user-/cn=recipients/cn=alias-2.eml", &mine, &own).unwrap(),
                FbPatchOutcome::Created(_)
            ),
            "a numbered duplicate of one's own is one's own"
        );
        // A numbered duplicate that is the canonical URL of another subject's message is
        // not one's own, even with one's own subject in it.
        let other_subject = vec![PropChange::Set(
            PropName::Mapi(crate::protocol::mapi::tags::SUBJECT),
            PropValue::String("USER-/CN=RECIPIENTS/CN=ALIAS-7".into()),
        )];
        assert!(matches!(
            patch(
                &s,
                "USER-/CN=RECIPIENTS/CN=ALIAS-7.EML",
                &other_subject,
                &Writer::ANYONE
            )
            .unwrap(),
            FbPatchOutcome::Created(_)
        ));
        assert!(
            refused(patch(
                &s,
                "USER-/CN=RECIPIENTS/CN=ALIAS-7-1.EML",
                &mine,
                &own
            ))
            .is_some()
        );
        // Owner properties must name the writer: 0x6849 (any string type) and the subjects.
        for (tag, value) in [
            (0x6849_001F, "/o=Org/ou=AG/cn=Recipients/cn=other"),
            (0x6849_001E, "/o=Org/ou=AG/cn=Recipients/cn=other"),
            (0x6849_001F, "/o=Org/ou=Elsewhere/cn=Recipients/cn=alias"),
            (0x0037_001F, "USER-/CN=RECIPIENTS/CN=OTHER"),
        ] {
            let ops = vec![PropChange::Set(
                PropName::Mapi(crate::protocol::mapi::PropTag(tag)),
                PropValue::String(value.into()),
            )];
            assert!(refused_at_own_url(&ops).is_some(), "{tag:08x} {value}");
        }
        let ops = vec![PropChange::Set(
            PropName::Mapi(tags::FREEBUSY_MESSAGE_EMAIL_ADDRESS),
            PropValue::String("/O=ORG/OU=AG/CN=RECIPIENTS/CN=ALIAS".into()),
        )];
        assert!(matches!(
            patch(&s, "USER-/CN=RECIPIENTS/CN=ALIAS.EML", &ops, &own).unwrap(),
            FbPatchOutcome::Updated(_)
        ));
        // Deleting: only one's own subject.
        let other = writer("other");
        assert!(matches!(
            s.fb_delete_at(&ag(), "USER-/CN=RECIPIENTS/CN=ALIAS.EML", &other),
            Err(StoreError::Refused(_))
        ));
        assert!(
            s.fb_delete_at(&ag(), "USER-/CN=RECIPIENTS/CN=ALIAS.EML", &own)
                .unwrap()
        );
    }
}
