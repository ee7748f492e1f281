//! The one place that knows how records are laid out in bytes.
//!
//! Every value the store writes is `[FORMAT_VERSION] ++ bincode(serde)`, with bincode's
//! standard configuration and a size limit so that a damaged value cannot make the decoder
//! allocate without bound. bincode 2 is unmaintained; keeping all of its use here means a
//! later change of encoding touches one file and bumps one byte.
//!
//! Free/busy messages have a layout of their own ([`MESSAGE_VERSION`]), made for the
//! `?Cmd=freebusy` query:
//!
//! ```text
//! [2]
//! range:  0u8 | 1u8 start:i64 end:i64          the publish range (minutes since 1601)
//! 3 × (tentative, busy, oof):  n:u32 then n × (start:i64, end:i64)   sorted, disjoint
//! bincode(leaf, subject, created_us, modified_us, props)
//! ```
//!
//! (integers little-endian). The precomputed free/busy comes first, in fixed-width arrays,
//! so the query reads it in place ([`FreeBusyView`]): a binary search finds the intervals
//! that overlap the asked window and nothing else is decoded, neither the intervals outside
//! it nor the MAPI properties behind (decoding the whole record was 48% of a 100-user
//! query; decoding the free/busy with bincode, element by element, was still 36%). Stores
//! written with version 1 (`[1] ++ bincode(MessageRecord)`, free/busy last) are still
//! read, and re-encoded once when the store opens (`messages::migrate_layout`).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::messages::{MessageRecord, StoredFreeBusy};
use crate::protocol::freebusy::{FbStatus, FreeBusy, Interval, IntervalSet, PublishRange};
use crate::protocol::mapi::{PropName, PropValue};
use crate::protocol::raster::Schedule;
use crate::protocol::time::Minutes1601;

/// Bumped whenever any record's layout changes.
pub const FORMAT_VERSION: u8 = 1;

/// The layout of free/busy message records: 2 puts the free/busy first. Version 1 is
/// [`FORMAT_VERSION`]'s generic encoding of the whole record, free/busy last.
pub const MESSAGE_VERSION: u8 = 2;

/// No record is larger than this; free/busy messages are a few KiB.
const MAX_RECORD_BYTES: usize = 64 * 1024 * 1024;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_RECORD_BYTES>()
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("record is empty")]
    Empty,
    #[error(
        "record has format version {0}, this schedplus reads version {FORMAT_VERSION}; use the schedplus that wrote the store"
    )]
    Version(u8),
    #[error("record does not decode: {0}")]
    Decode(String),
    #[error("record does not encode: {0}")]
    Encode(String),
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![FORMAT_VERSION];
    bincode::serde::encode_into_std_write(value, &mut out, config())
        .map_err(|e| CodecError::Encode(e.to_string()))?;
    Ok(out)
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (&version, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    if version != FORMAT_VERSION {
        return Err(CodecError::Version(version));
    }
    let (value, used) = bincode::serde::decode_from_slice(body, config())
        .map_err(|e| CodecError::Decode(e.to_string()))?;
    if used != body.len() {
        return Err(CodecError::Decode(format!(
            "{} trailing bytes after the record",
            body.len() - used
        )));
    }
    Ok(value)
}

/// A message record as version 1 wrote it (field order is the layout).
#[derive(Serialize, Deserialize)]
struct MessageV1 {
    leaf: String,
    subject: String,
    created_us: i64,
    modified_us: i64,
    props: BTreeMap<PropName, PropValue>,
    fb: StoredFreeBusy,
}

/// What follows the free/busy in a version-2 message, borrowed for writing.
#[derive(Serialize)]
struct TailRef<'a> {
    leaf: &'a str,
    subject: &'a str,
    created_us: i64,
    modified_us: i64,
    props: &'a BTreeMap<PropName, PropValue>,
}

/// What follows the free/busy in a version-2 message, as read.
#[derive(Deserialize)]
struct Tail {
    leaf: String,
    subject: String,
    created_us: i64,
    modified_us: i64,
    props: BTreeMap<PropName, PropValue>,
}

/// Bytes of one interval in the free/busy arrays.
const INTERVAL_BYTES: usize = 16;

fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A message record's fields, borrowed: what [`encode_message_parts`] writes. A publish
/// encodes the record it writes from the new properties and free/busy it already holds,
/// without first copying them into a [`MessageRecord`].
#[derive(Clone, Copy)]
pub struct MessageParts<'a> {
    pub leaf: &'a str,
    pub subject: &'a str,
    pub created_us: i64,
    pub modified_us: i64,
    pub props: &'a BTreeMap<PropName, PropValue>,
    pub fb: &'a StoredFreeBusy,
}

/// A message record in the current layout (free/busy first).
pub fn encode_message(rec: &MessageRecord) -> Result<Vec<u8>, CodecError> {
    encode_message_parts(MessageParts {
        leaf: &rec.leaf,
        subject: &rec.subject,
        created_us: rec.created_us,
        modified_us: rec.modified_us,
        props: &rec.props,
        fb: &rec.fb,
    })
}

/// [`encode_message`] from borrowed fields: the same bytes.
pub fn encode_message_parts(rec: MessageParts<'_>) -> Result<Vec<u8>, CodecError> {
    let fb = rec.fb;
    let n: usize = FbStatus::MARKED
        .iter()
        .map(|s| fb.fb.get(*s).map_or(0, IntervalSet::len))
        .sum();
    let mut out = Vec::with_capacity(1 + 17 + 12 + n * INTERVAL_BYTES + 256);
    out.push(MESSAGE_VERSION);
    match fb.range {
        None => out.push(0),
        Some(r) => {
            out.push(1);
            put_i64(&mut out, r.start.0);
            put_i64(&mut out, r.end.0);
        }
    }
    for status in FbStatus::MARKED {
        let set = fb.fb.get(status).expect("marked statuses have sets");
        let len = u32::try_from(set.len())
            .map_err(|_| CodecError::Encode(format!("{} {status} intervals", set.len())))?;
        out.extend_from_slice(&len.to_le_bytes());
        for iv in set.iter() {
            put_i64(&mut out, iv.start().0);
            put_i64(&mut out, iv.end().0);
        }
    }
    let tail = TailRef {
        leaf: rec.leaf,
        subject: rec.subject,
        created_us: rec.created_us,
        modified_us: rec.modified_us,
        props: rec.props,
    };
    bincode::serde::encode_into_std_write(&tail, &mut out, config())
        .map_err(|e| CodecError::Encode(e.to_string()))?;
    Ok(out)
}

/// A version-2 message's free/busy, read in place from the record's bytes.
#[derive(Clone, Copy, Debug)]
pub struct FreeBusyView<'a> {
    pub range: Option<PublishRange>,
    /// Tentative, busy, out of office ([`FbStatus::MARKED`] order): `n × 16` bytes each.
    sets: [&'a [u8]; 3],
}

fn take<'a>(body: &mut &'a [u8], n: usize) -> Result<&'a [u8], CodecError> {
    if body.len() < n {
        return Err(CodecError::Decode(format!(
            "the free/busy needs {n} more bytes, the record has {}",
            body.len()
        )));
    }
    let (head, rest) = body.split_at(n);
    *body = rest;
    Ok(head)
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl<'a> FreeBusyView<'a> {
    /// Read the free/busy at the front of a version-2 body (after the version byte);
    /// returns it and the bytes after it.
    fn parse(mut body: &'a [u8]) -> Result<(Self, &'a [u8]), CodecError> {
        let range = match take(&mut body, 1)?[0] {
            0 => None,
            1 => {
                let b = take(&mut body, 16)?;
                Some(PublishRange {
                    start: Minutes1601(i64_at(b, 0)),
                    end: Minutes1601(i64_at(b, 8)),
                })
            }
            other => {
                return Err(CodecError::Decode(format!(
                    "publish range marker {other}, expected 0 or 1"
                )));
            }
        };
        let mut sets: [&[u8]; 3] = [&[]; 3];
        for set in &mut sets {
            let n = u32::from_le_bytes(take(&mut body, 4)?.try_into().expect("4 bytes"));
            *set = take(&mut body, (n as usize).saturating_mul(INTERVAL_BYTES))?;
        }
        Ok((FreeBusyView { range, sets }, body))
    }

    fn set(&self, status: FbStatus) -> &'a [u8] {
        match status {
            FbStatus::Tentative => self.sets[0],
            FbStatus::Busy => self.sets[1],
            FbStatus::Oof => self.sets[2],
            FbStatus::Free => &[],
        }
    }

    fn len(set: &[u8]) -> usize {
        set.len() / INTERVAL_BYTES
    }

    fn start(set: &[u8], i: usize) -> i64 {
        i64_at(set, i * INTERVAL_BYTES)
    }

    fn end(set: &[u8], i: usize) -> i64 {
        i64_at(set, i * INTERVAL_BYTES + 8)
    }

    /// The intervals of `status` in `[from, to)` (indices), skipping any that is not an
    /// interval (a damaged record paints what it can; the full decode refuses it).
    fn intervals(set: &'a [u8], from: usize, to: usize) -> impl Iterator<Item = Interval> + 'a {
        (from..to).filter_map(move |i| {
            Interval::new(
                Minutes1601(Self::start(set, i)),
                Minutes1601(Self::end(set, i)),
            )
        })
    }

    /// The owned free/busy (for the full decode); refuses intervals that are not.
    fn to_owned(self) -> Result<StoredFreeBusy, CodecError> {
        let mut fb = FreeBusy::default();
        for status in FbStatus::MARKED {
            let set = self.set(status);
            let mut items = Vec::with_capacity(Self::len(set));
            for i in 0..Self::len(set) {
                let (a, b) = (Self::start(set, i), Self::end(set, i));
                items.push(
                    Interval::new(Minutes1601(a), Minutes1601(b)).ok_or_else(|| {
                        CodecError::Decode(format!(
                            "{status} interval {a}..{b} is empty or reversed"
                        ))
                    })?,
                );
            }
            *fb.get_mut(status).expect("marked statuses have sets") =
                IntervalSet::from_intervals(items);
        }
        Ok(StoredFreeBusy {
            fb,
            range: self.range,
        })
    }
}

impl Schedule for FreeBusyView<'_> {
    fn each_overlapping(&self, status: FbStatus, window: Interval, f: impl FnMut(Interval)) {
        let set = self.set(status);
        let n = Self::len(set);
        // As `IntervalSet::overlapping`: the first interval ending after the window starts,
        // up to the first starting at or after its end.
        let first = partition_point(n, |i| Self::end(set, i) <= window.start().0);
        let last = partition_point(n, |i| Self::start(set, i) < window.end().0);
        Self::intervals(set, first, last.max(first)).for_each(f);
    }
}

/// The first index in `0..n` for which `pred` is false (`pred` true then false).
fn partition_point(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

fn no_trailing(rest: &[u8]) -> Result<(), CodecError> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(CodecError::Decode(format!(
            "{} trailing bytes after the record",
            rest.len()
        )))
    }
}

/// A whole message record, in either layout.
pub fn decode_message(bytes: &[u8]) -> Result<MessageRecord, CodecError> {
    match bytes.split_first() {
        Some((&MESSAGE_VERSION, body)) => {
            let (view, rest) = FreeBusyView::parse(body)?;
            let fb = view.to_owned()?;
            let (t, used): (Tail, usize) = bincode::serde::decode_from_slice(rest, config())
                .map_err(|e| CodecError::Decode(e.to_string()))?;
            no_trailing(&rest[used..])?;
            Ok(MessageRecord {
                leaf: t.leaf,
                subject: t.subject,
                created_us: t.created_us,
                modified_us: t.modified_us,
                props: t.props,
                fb,
            })
        }
        Some((&FORMAT_VERSION, _)) => {
            let v: MessageV1 = decode(bytes)?;
            Ok(MessageRecord {
                leaf: v.leaf,
                subject: v.subject,
                created_us: v.created_us,
                modified_us: v.modified_us,
                props: v.props,
                fb: v.fb,
            })
        }
        Some((&other, _)) => Err(CodecError::Version(other)),
        None => Err(CodecError::Empty),
    }
}

/// Only the precomputed free/busy of a message record, owned.
pub fn decode_message_freebusy(bytes: &[u8]) -> Result<StoredFreeBusy, CodecError> {
    match bytes.split_first() {
        Some((&MESSAGE_VERSION, body)) => FreeBusyView::parse(body)?.0.to_owned(),
        _ => Ok(decode_message(bytes)?.fb),
    }
}

/// The free/busy of a version-2 message record, read in place; `None` for a record in an
/// older layout (decode it with [`decode_message_freebusy`]). The bytes after the free/busy
/// are not looked at.
pub fn message_freebusy_view(bytes: &[u8]) -> Result<Option<FreeBusyView<'_>>, CodecError> {
    match bytes.split_first() {
        Some((&MESSAGE_VERSION, body)) => Ok(Some(FreeBusyView::parse(body)?.0)),
        _ => Ok(None),
    }
}

/// Is this message record in the current layout (nothing to migrate)?
pub fn is_current_message(bytes: &[u8]) -> bool {
    bytes.first() == Some(&MESSAGE_VERSION)
}

/// A message record in the version-1 layout, as schedplus wrote it before version 2: for
/// the tests that open a store written that way.
#[cfg(test)]
pub(crate) fn encode_message_v1(rec: &MessageRecord) -> Vec<u8> {
    encode(&MessageV1 {
        leaf: rec.leaf.clone(),
        subject: rec.subject.clone(),
        created_us: rec.created_us,
        modified_us: rec.modified_us,
        props: rec.props.clone(),
        fb: rec.fb.clone(),
    })
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::mapi::{PropName, PropValue};
    use proptest::prelude::*;

    #[test]
    fn version_byte_is_checked() {
        let bytes = encode(&42u32).unwrap();
        assert_eq!(bytes[0], FORMAT_VERSION);
        let mut other = bytes.clone();
        other[0] = FORMAT_VERSION + 1;
        assert!(matches!(decode::<u32>(&other), Err(CodecError::Version(_))));
        assert!(matches!(decode::<u32>(&[]), Err(CodecError::Empty)));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            decode::<u32>(&trailing),
            Err(CodecError::Decode(_))
        ));
    }

    fn arb_value() -> impl Strategy<Value = PropValue> {
        prop_oneof![
            any::<i32>().prop_map(PropValue::Int),
            any::<bool>().prop_map(PropValue::Bool),
            any::<i64>().prop_map(PropValue::SysTime),
            ".{0,20}".prop_map(PropValue::String),
            proptest::collection::vec(any::<u8>(), 0..20).prop_map(PropValue::Binary),
            proptest::collection::vec(any::<i32>(), 0..5).prop_map(PropValue::MvInt),
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..9), 0..4)
                .prop_map(PropValue::MvBinary),
        ]
    }

    fn record(props: Vec<(PropName, PropValue)>, spans: Vec<(u8, i64, i64)>) -> MessageRecord {
        use crate::protocol::freebusy::{FbStatus, FreeBusy, Interval, PublishRange};
        use crate::protocol::time::Minutes1601;
        let fb = FreeBusy::from_spans(spans.into_iter().map(|(s, a, l)| {
            let iv = Interval::new(Minutes1601(a), Minutes1601(a + l)).unwrap();
            (FbStatus::MARKED[s as usize % 3], iv)
        }));
        MessageRecord {
            leaf: "USER-/CN=RECIPIENTS/CN=DAN.EML".into(),
            subject: "USER-/CN=RECIPIENTS/CN=DAN".into(),
            created_us: 1,
            modified_us: -2,
            props: props.into_iter().collect(),
            fb: StoredFreeBusy {
                fb,
                range: Some(PublishRange {
                    start: Minutes1601(10),
                    end: Minutes1601(99_999),
                }),
            },
        }
    }

    /// The query reads the free/busy at the front of a record and nothing after it: a
    /// record whose properties are damaged still gives its free/busy to the query (and is
    /// refused whole).
    #[test]
    fn the_query_decodes_only_the_front_of_a_message() {
        let rec = record(
            vec![(PropName::new("urn:x:", "a"), PropValue::Int(1))],
            vec![(1, 100, 60), (0, 300, 30)],
        );
        let mut bytes = encode_message(&rec).unwrap();
        assert_eq!(bytes[0], MESSAGE_VERSION);
        let after_fb = FreeBusyView::parse(&bytes[1..]).unwrap().1.len();
        bytes.truncate(bytes.len() - after_fb + 3);
        assert_eq!(decode_message_freebusy(&bytes).unwrap(), rec.fb);
        let view = message_freebusy_view(&bytes).unwrap().unwrap();
        assert_eq!(view.range, rec.fb.range);
        assert!(decode_message(&bytes).is_err());
        assert!(matches!(
            decode_message(&[9, 0]),
            Err(CodecError::Version(9))
        ));
        assert!(matches!(decode_message(&[]), Err(CodecError::Empty)));
    }

    proptest! {
        /// Both layouts decode to the record written; the current one is what is written.
        #[test]
        fn message_layouts_round_trip(
            vals in proptest::collection::vec((".{0,10}", arb_value()), 0..6),
            spans in proptest::collection::vec((0u8..3, -100i64..3000, 1i64..400), 0..10),
        ) {
            let rec = record(
                vals.into_iter().map(|(n, v)| (PropName::new("urn:x:", &n), v)).collect(),
                spans,
            );
            let now = encode_message(&rec).unwrap();
            prop_assert!(is_current_message(&now));
            prop_assert_eq!(&decode_message(&now).unwrap(), &rec);
            prop_assert_eq!(&decode_message_freebusy(&now).unwrap(), &rec.fb);
            let old = encode_message_v1(&rec);
            prop_assert!(!is_current_message(&old));
            prop_assert_eq!(&decode_message(&old).unwrap(), &rec);
            prop_assert_eq!(&decode_message_freebusy(&old).unwrap(), &rec.fb);
        }

        /// The query paints a record in place exactly as it would paint the decoded
        /// free/busy, whatever the grid.
        #[test]
        fn painting_in_place_equals_painting_the_decoded_free_busy(
            spans in proptest::collection::vec((0u8..3, -500i64..6000, 1i64..900), 0..40),
            start in -600i64..3000, interval in 1i64..200, slots in 0usize..120,
        ) {
            use crate::protocol::raster::{SlotGrid, paint_into, paint_schedule_into};
            let rec = record(Vec::new(), spans);
            let bytes = encode_message(&rec).unwrap();
            let view = message_freebusy_view(&bytes).unwrap().unwrap();
            let grid = SlotGrid { start: Minutes1601(start), interval, slots };
            let (mut a, mut b) = (vec![0; slots], vec![0; slots]);
            paint_schedule_into(&grid, Some((&view, view.range)), &mut a);
            paint_into(&grid, Some((&rec.fb.fb, rec.fb.range)), &mut b);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn message_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut b = bytes.clone();
            let _ = decode_message(&b);
            let _ = decode_message_freebusy(&b);
            if let Some(first) = b.first_mut() {
                *first = MESSAGE_VERSION;
            }
            let _ = decode_message(&b);
            let _ = decode_message_freebusy(&b);
        }

        #[test]
        fn round_trip(vals in proptest::collection::vec((".{0,10}", arb_value()), 0..8)) {
            let props: Vec<(PropName, PropValue)> =
                vals.into_iter().map(|(n, v)| (PropName::new("urn:x:", &n), v)).collect();
            let bytes = encode(&props).unwrap();
            prop_assert_eq!(decode::<Vec<(PropName, PropValue)>>(&bytes).unwrap(), props);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode::<Vec<(PropName, PropValue)>>(&bytes);
        }
    }
}
