//! The one place that knows how records are laid out in bytes.
//!
//! Every value the store writes is `[FORMAT_VERSION] ++ bincode(serde)`, with bincode's
//! standard configuration and a size limit so that a damaged value cannot make the decoder
//! allocate without bound. bincode 2 is unmaintained; keeping all of its use here means a
//! later change of encoding touches one file and bumps one byte.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Bumped whenever any record's layout changes.
pub const FORMAT_VERSION: u8 = 1;

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

    proptest! {
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
