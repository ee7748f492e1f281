//! A byte-exact picture of the store, for tests and tools that must tell whether anything
//! changed (the hostile-input replay checks that refused requests wrote nothing).
//!
//! Owns [`StoreDump`]: every sled tree, the default one and `meta` included, with every key
//! and value as stored, in key order, so two dumps are equal exactly when the stores hold
//! the same bytes. Must not interpret records (that is `codec`'s job) and is not used on
//! any request path: a dump reads the whole store.

use std::collections::BTreeMap;
use std::fmt;

use super::{Store, StoreError};

/// One tree's (key, value) pairs, in key order.
pub type TreeEntries = Vec<(Vec<u8>, Vec<u8>)>;

/// Every tree's entries, by tree name.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreDump {
    pub trees: BTreeMap<Vec<u8>, TreeEntries>,
}

impl Store {
    /// Read every tree. Writers are held off meanwhile, so the dump is one consistent state.
    /// A read: it works on a full disk too (the lock without the free-space gate).
    pub fn dump(&self) -> Result<StoreDump, StoreError> {
        let _w = self.inner.write_lock.acquire(&self.inner.path)?;
        let db = &self.inner.db;
        let mut trees = BTreeMap::new();
        for name in db.tree_names() {
            let tree = db.open_tree(&name)?;
            let entries = tree
                .iter()
                .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())))
                .collect::<Result<Vec<_>, _>>()?;
            trees.insert(name.to_vec(), entries);
        }
        Ok(StoreDump { trees })
    }

    /// A short fingerprint of [`Store::dump`]: equal stores give equal digests.
    pub fn dump_digest(&self) -> Result<u64, StoreError> {
        Ok(self.dump()?.digest())
    }
}

impl StoreDump {
    /// FNV-1a over every tree name, key and value, each length-prefixed so that no two
    /// different dumps feed the same byte stream. Stable across builds and platforms.
    pub fn digest(&self) -> u64 {
        let mut h = Fnv(0xcbf2_9ce4_8422_2325);
        for (name, entries) in &self.trees {
            h.field(name);
            h.write(&(entries.len() as u64).to_le_bytes());
            for (k, v) in entries {
                h.field(k);
                h.field(v);
            }
        }
        h.0
    }

    /// The entries of the tree `name` by key (none for a tree this dump lacks).
    fn entries(&self, name: &[u8]) -> BTreeMap<&[u8], &[u8]> {
        self.trees
            .get(name)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
            .collect()
    }

    /// What differs from `other`, one line per tree entry added, removed or changed (keys
    /// shown lossily as text); empty when the dumps are equal.
    pub fn diff(&self, other: &StoreDump) -> Vec<String> {
        let mut out = Vec::new();
        let names: std::collections::BTreeSet<_> =
            self.trees.keys().chain(other.trees.keys()).collect();
        for name in names {
            let a = self.entries(name);
            let b = other.entries(name);
            let tree = String::from_utf8_lossy(name);
            for (k, v) in &a {
                match b.get(k) {
                    None => out.push(format!("{tree}: removed {}", show(k))),
                    Some(w) if w != v => out.push(format!("{tree}: changed {}", show(k))),
                    Some(_) => {}
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{tree}: added {}", show(k)));
            }
        }
        out
    }
}

impl fmt::Debug for StoreDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (name, entries) in &self.trees {
            m.entry(&String::from_utf8_lossy(name), &entries.len());
        }
        m.finish()
    }
}

fn show(key: &[u8]) -> String {
    String::from_utf8_lossy(key).escape_debug().to_string()
}

struct Fnv(u64);

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn field(&mut self, bytes: &[u8]) {
        self.write(&(bytes.len() as u64).to_le_bytes());
        self.write(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreConfig;
    use crate::store::testutil::stamp;

    #[test]
    fn a_write_changes_the_dump_and_a_refused_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreConfig::new(dir.path())).unwrap();
        let before = store.dump().unwrap();
        assert_eq!(store.dump().unwrap(), before, "dumps are deterministic");
        assert!(
            store
                .pf_mkcol(&["a".to_string()], &crate::store::Writer::ANYONE, stamp())
                .is_ok()
        );
        let after = store.dump().unwrap();
        assert_ne!(after.digest(), before.digest());
        assert!(
            before.diff(&after).iter().any(|l| l.contains("added")),
            "{:?}",
            before.diff(&after)
        );
        // Creating it again is refused and writes nothing.
        assert!(
            store
                .pf_mkcol(&["a".to_string()], &crate::store::Writer::ANYONE, stamp())
                .is_err()
        );
        assert_eq!(store.dump().unwrap(), after);
        assert!(after.diff(&store.dump().unwrap()).is_empty());
    }
}
