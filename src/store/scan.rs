//! Every free/busy message of the store, a page at a time, in key order (folder, subject,
//! age): for tools that walk the whole store (`schedplus lint --all`) through the admin API
//! without holding it all. A page ends at a key the next page starts after, so a walk is
//! bounded by the page size, whatever the store holds.

use std::ops::Bound;

use super::{MessageRecord, Store, StoreError, codec};

/// One message of a page: its store key (opaque; pass the last one as `after`), the folder
/// key it lies in and the record.
pub struct ScannedMessage {
    pub key: Vec<u8>,
    /// The admin-group folder's key (lower case), as [`crate::protocol::legacy_dn::AdminGroup::key`].
    pub folder_key: String,
    /// Folder and subject keys: equal for duplicates of one message.
    pub subject_key: Vec<u8>,
    pub record: MessageRecord,
}

impl Store {
    /// Up to `limit` messages after the key `after` (from the start when `None`).
    pub fn fb_scan_page(
        &self,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<ScannedMessage>, StoreError> {
        let iter = match after {
            Some(k) => self
                .inner
                .messages
                .range::<&[u8], _>((Bound::Excluded(k), Bound::Unbounded)),
            None => self.inner.messages.iter(),
        };
        let mut out = Vec::new();
        for kv in iter.take(limit) {
            let (k, v) = kv?;
            let mut parts = k.splitn(3, |&b| b == 0);
            let folder = parts.next().unwrap_or_default();
            let subject = parts.next().unwrap_or_default();
            let mut subject_key = folder.to_vec();
            subject_key.push(0);
            subject_key.extend_from_slice(subject);
            out.push(ScannedMessage {
                key: k.to_vec(),
                folder_key: String::from_utf8_lossy(folder).into_owned(),
                subject_key,
                record: codec::decode_message(&v)?,
            });
        }
        Ok(out)
    }
}
