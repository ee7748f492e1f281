//! The one place that knows how records are laid out in bytes.
//!
//! Every value the store writes is `[FORMAT_VERSION] ++ bincode(serde)`, with bincode's
//! standard configuration and a size limit so that a damaged value cannot make the decoder
//! allocate without bound. bincode 2 is unmaintained; keeping all of its use here means a
//! later change of encoding touches one file and bumps one byte.
//!
//! Free/busy messages have a layout of their own ([`MESSAGE_VERSION`]):
//! `[2] ++ bincode(StoredFreeBusy) ++ bincode(leaf, subject, created, modified, props)`.
//! The precomputed free/busy comes first so that the `?Cmd=freebusy` query decodes that
//! prefix and stops ([`decode_message_freebusy`]), never the MAPI properties behind it
//! (which were 48% of a 100-user query when the whole record was decoded). Stores written
//! with version 1 (`[1] ++ bincode(MessageRecord)`, free/busy last) are still read, and
//! re-encoded once when the store opens (`messages::migrate_layout`).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::messages::{MessageRecord, StoredFreeBusy};
use crate::protocol::mapi::{PropName, PropValue};

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

/// A message record in the current layout (free/busy first).
pub fn encode_message(rec: &MessageRecord) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![MESSAGE_VERSION];
    let enc = |e: bincode::error::EncodeError| CodecError::Encode(e.to_string());
    bincode::serde::encode_into_std_write(&rec.fb, &mut out, config()).map_err(enc)?;
    let tail = TailRef {
        leaf: &rec.leaf,
        subject: &rec.subject,
        created_us: rec.created_us,
        modified_us: rec.modified_us,
        props: &rec.props,
    };
    bincode::serde::encode_into_std_write(&tail, &mut out, config()).map_err(enc)?;
    Ok(out)
}

/// Decode one value from the front of `body`: the value and the bytes after it.
fn decode_front<T: DeserializeOwned>(body: &[u8]) -> Result<(T, &[u8]), CodecError> {
    let (value, used) = bincode::serde::decode_from_slice(body, config())
        .map_err(|e| CodecError::Decode(e.to_string()))?;
    Ok((value, &body[used..]))
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
            let (fb, rest) = decode_front::<StoredFreeBusy>(body)?;
            let (t, rest) = decode_front::<Tail>(rest)?;
            no_trailing(rest)?;
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

/// Only the precomputed free/busy of a message record: in the current layout the bytes
/// after it are not looked at.
pub fn decode_message_freebusy(bytes: &[u8]) -> Result<StoredFreeBusy, CodecError> {
    match bytes.split_first() {
        Some((&MESSAGE_VERSION, body)) => Ok(decode_front::<StoredFreeBusy>(body)?.0),
        _ => Ok(decode_message(bytes)?.fb),
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
        // The version byte and the free/busy: as long as the generic encoding of the free/busy.
        let fb_len = encode(&rec.fb).unwrap().len();
        bytes.truncate(fb_len + 3);
        assert_eq!(decode_message_freebusy(&bytes).unwrap(), rec.fb);
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
