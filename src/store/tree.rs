//! Decoded values read out of sled trees: one value by key ([`get`]) and a lazy run of
//! them ([`Values`]), whichever codec the tree's records use.

use serde::de::DeserializeOwned;

use super::StoreError;
use super::codec::{self, CodecError};

/// The value at `key` in `tree`, decoded with the generic codec.
pub fn get<T: DeserializeOwned>(
    tree: &sled::Tree,
    key: impl AsRef<[u8]>,
) -> Result<Option<T>, StoreError> {
    match tree.get(key)? {
        Some(v) => Ok(Some(codec::decode(&v)?)),
        None => Ok(None),
    }
}

/// Values read lazily from a sled iterator, in key order, each decoded by `decode`.
pub struct Values<T> {
    iter: sled::Iter,
    decode: fn(&[u8]) -> Result<T, CodecError>,
}

impl<T> Values<T> {
    pub fn new(iter: sled::Iter, decode: fn(&[u8]) -> Result<T, CodecError>) -> Self {
        Values { iter, decode }
    }
}

impl<T> Iterator for Values<T> {
    type Item = Result<T, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (_, v) = match self.iter.next()? {
            Ok(kv) => kv,
            Err(e) => return Some(Err(e.into())),
        };
        Some((self.decode)(&v).map_err(StoreError::from))
    }
}
