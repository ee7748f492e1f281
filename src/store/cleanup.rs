//! MadFB's nightly cleanup of the free/busy folders (PROTOCOL.md §1): of several messages
//! with one subject keep the oldest and delete the rest, and give a message whose URL leaf
//! is not its subject's canonical `SUBJECT.EML` that leaf when it is free.
//!
//! Walks every folder, one (folder, subject) group at a time: each group is listed and
//! rewritten under the write lock in its own transaction, so writers wait for at most one
//! group, never for the whole walk. Leaves that differ from the canonical one only in case
//! are left alone: real servers keep the creator's case in URLs.

use serde::{Deserialize, Serialize};
use sled::Transactional;

use super::messages::{MessageRecord, canonical_leaf, leaf_key};
use super::{Store, StoreError, TxError, codec, codec_abort, tx_result};
use crate::protocol::legacy_dn::fold_key;
use crate::protocol::legacy_dn::{AdminGroup, Subject};

/// What a cleanup did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupReport {
    pub folders: usize,
    /// (folder, subject) groups looked at: one per user with a message.
    pub subjects: usize,
    pub duplicates_removed: usize,
    pub renamed: usize,
    /// Non-canonical leaves left as they were because another message holds the
    /// canonical leaf.
    pub rename_blocked: usize,
}

/// The messages key of one seq-suffixed message, minus its 8-byte sequence number.
fn group_prefix(key: &[u8]) -> Option<&[u8]> {
    key.len().checked_sub(8).map(|n| &key[..n])
}

impl Store {
    pub fn cleanup_messages(&self) -> Result<CleanupReport, StoreError> {
        let mut report = CleanupReport::default();
        for folder in self.list_folders()? {
            let Ok(ag) = AdminGroup::parse(&folder.name) else {
                tracing::warn!(folder = %folder.name, "cleanup skips a folder whose name does not parse");
                continue;
            };
            report.folders += 1;
            let mut folder_prefix = ag.key().into_bytes();
            folder_prefix.push(0);
            let mut groups: Vec<Vec<u8>> = self
                .list_keys(&folder_prefix)
                .iter()
                .filter_map(|k| group_prefix(k).map(<[u8]>::to_vec))
                .collect();
            groups.dedup();
            for prefix in groups {
                report.subjects += 1;
                let (removed, renamed) = self.cleanup_group(&ag, &prefix)?;
                report.duplicates_removed += removed;
                match renamed {
                    Some(true) => report.renamed += 1,
                    Some(false) => report.rename_blocked += 1,
                    None => {}
                }
            }
        }
        Ok(report)
    }

    /// Clean one (folder, subject) group: (duplicates removed, rename outcome if the kept
    /// leaf was not canonical).
    fn cleanup_group(
        &self,
        folder: &AdminGroup,
        prefix: &[u8],
    ) -> Result<(usize, Option<bool>), StoreError> {
        let _w = self.begin_write()?;
        let i = &self.inner;
        // Listed before the transaction: a plain read inside one deadlocks sled.
        let keys = self.list_keys(prefix);
        let trees = (&i.messages, &i.leaves, &i.meta);
        let result = tx_result(trees.transaction(|(tm, tl, tmeta)| {
            let mut records = Vec::new();
            for k in &keys {
                if let Some(v) = tm.get(k)? {
                    records.push((k.clone(), codec::decode_message(&v).map_err(codec_abort)?));
                }
            }
            let Some(((keep_key, keep), dups)) = records.split_first() else {
                return Ok((0, None));
            };
            for (k, dup) in dups {
                tm.remove(k.as_slice())?;
                tl.remove(leaf_key(folder, &dup.leaf))?;
            }
            super::count_tx(tmeta, 0, -(dups.len() as i64))?;
            let canonical = Subject::parse(&keep.subject)
                .ok()
                .map(|s| canonical_leaf(&s))
                .filter(|c| fold_key(c) != fold_key(&keep.leaf));
            let mut renamed = None;
            if let Some(canonical) = canonical {
                let free = match tl.get(leaf_key(folder, &canonical))? {
                    None => true,
                    Some(owner) => owner.as_ref() == keep_key.as_slice(),
                };
                if free {
                    tl.remove(leaf_key(folder, &keep.leaf))?;
                    tl.insert(leaf_key(folder, &canonical), keep_key.as_slice())?;
                    let rec = MessageRecord {
                        leaf: canonical,
                        ..keep.clone()
                    };
                    tm.insert(
                        keep_key.as_slice(),
                        codec::encode_message(&rec).map_err(codec_abort)?,
                    )?;
                }
                renamed = Some(free);
            }
            Ok::<_, TxError>((dups.len(), renamed))
        }))?;
        self.count_changed(0, -(result.0 as i64));
        if result.0 > 0 || result.1 == Some(true) {
            self.flush()?;
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testutil::temp_store;

    /// Write a message record directly, as a third-party writer's PROPPATCH would leave it
    /// (the public write path always uses the canonical leaf).
    fn raw_message(s: &Store, folder: &AdminGroup, subject: &Subject, leaf: &str, seq: u64) {
        let i = &s.inner;
        let folder_rec = super::super::FolderRecord {
            name: folder.as_str().to_string(),
            created_us: 0,
        };
        i.folders
            .insert(folder.key(), codec::encode(&folder_rec).unwrap())
            .unwrap();
        let key = [
            super::super::messages::message_prefix(folder, subject).as_slice(),
            &seq.to_be_bytes(),
        ]
        .concat();
        let rec = MessageRecord {
            leaf: leaf.to_string(),
            subject: subject.as_str().to_string(),
            created_us: seq as i64,
            modified_us: seq as i64,
            props: Default::default(),
            fb: super::super::StoredFreeBusy {
                fb: Default::default(),
                range: None,
            },
        };
        i.messages
            .insert(key.as_slice(), codec::encode_message(&rec).unwrap())
            .unwrap();
        i.leaves
            .insert(leaf_key(folder, leaf), key.as_slice())
            .unwrap();
    }

    #[test]
    fn keeps_the_oldest_and_renames_it_to_the_canonical_leaf() {
        let (_d, s) = temp_store();
        let folder = AdminGroup::parse("EX:/o=Org/ou=AG").unwrap();
        let dan = Subject::parse("USER-/CN=RECIPIENTS/CN=DAN").unwrap();
        let eve = Subject::parse("USER-/CN=RECIPIENTS/CN=EVE").unwrap();
        // Dan: the oldest message sits at -1, a newer duplicate holds the canonical leaf.
        raw_message(&s, &folder, &dan, "USER-/CN=RECIPIENTS/CN=DAN-1.EML", 1);
        raw_message(&s, &folder, &dan, "USER-/CN=RECIPIENTS/CN=DAN.EML", 2);
        raw_message(&s, &folder, &dan, "USER-/CN=RECIPIENTS/CN=DAN-2.EML", 3);
        // Eve: one message, canonical but in the creator's case: left alone.
        raw_message(&s, &folder, &eve, "user-/cn=recipients/cn=eve.eml", 4);
        let r = s.cleanup_messages().unwrap();
        assert_eq!(
            r,
            CleanupReport {
                folders: 1,
                subjects: 2,
                duplicates_removed: 2,
                renamed: 1,
                rename_blocked: 0
            }
        );
        let left = s.find_messages(&folder, &dan).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].created_us, 1, "the oldest is kept");
        assert_eq!(left[0].leaf, "USER-/CN=RECIPIENTS/CN=DAN.EML");
        assert_eq!(s.inner.leaves.len(), 2, "stale leaves are gone");
        assert_eq!(
            s.find_messages(&folder, &eve).unwrap()[0].leaf,
            "user-/cn=recipients/cn=eve.eml"
        );
        assert_eq!(
            s.cleanup_messages().unwrap().duplicates_removed,
            0,
            "a second run finds nothing"
        );
    }
}
