//! Re-keying a store written when keys were folded with Unicode lower-casing.
//!
//! Keys of the directory and the free/busy folders are [`fold_key`]: ASCII case only, as
//! Exchange compared legacyDNs. Stores written before folded with `str::to_lowercase`, which
//! gives the same bytes for every key that is ASCII (nearly every key: Exchange generates
//! legacyDNs, aliases and addresses in ASCII) and different bytes only where a key holds a
//! non-ASCII character with a lower case (`É`, `K` the Kelvin sign). [`migrate`] runs once
//! at open: a store with no such key only gets its marker; otherwise every key is recomputed
//! from the names its records hold, in one transaction (all or nothing), then the marker.
//! It does not re-key the ordinary area (`pf_*` trees), whose names keep their own folding;
//! only the values of `pf_owners`, which are user keys, follow their users.

use std::collections::HashMap;

use sled::Transactional;

use super::directory::UserRecord;
use super::messages::{FolderRecord, MessageRecord};
use super::{Store, StoreError, codec};
use crate::protocol::legacy_dn::{AdminGroup, fold_key};

/// The meta key saying the store's keys are ASCII-folded.
const MARKER: &[u8] = b"key_fold";
const ASCII: &[u8] = b"ascii";

/// A change to one tree: remove the old key, insert the new one.
type Moves = Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>;

/// Bring a store's keys to ASCII folding; returns how many keys changed.
pub(super) fn migrate(store: &Store) -> Result<usize, StoreError> {
    let i = &store.inner;
    let meta = i.db.open_tree("meta")?;
    if meta.get(MARKER)?.as_deref() == Some(ASCII) {
        return Ok(0);
    }
    let trees = [
        &i.users,
        &i.addresses,
        &i.credentials,
        &i.calendars,
        &i.dirty,
        &i.folders,
        &i.messages,
        &i.leaves,
    ];
    let mut non_ascii = false;
    for t in trees {
        for k in t.iter().keys() {
            if !k?.is_ascii() {
                non_ascii = true;
                break;
            }
        }
    }
    if !non_ascii {
        meta.insert(MARKER, ASCII)?;
        return Ok(0);
    }

    // Users: the record holds the legacyDN; credentials, calendars and the dirty queue are
    // keyed by the same user key. Addresses are rebuilt from the records.
    let mut user_keys: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    let mut users: Moves = Vec::new();
    let mut addresses: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for kv in i.users.iter() {
        let (k, v) = kv?;
        let rec: UserRecord = codec::decode(&v)?;
        let new = rec.legacy_dn.key().into_bytes();
        for a in rec.index_keys() {
            addresses.push((a.into_bytes(), new.clone()));
        }
        user_keys.insert(k.to_vec(), new.clone());
        users.push((k.to_vec(), new, v.to_vec()));
    }
    let by_user = |t: &sled::Tree| -> Result<Moves, StoreError> {
        let mut out = Vec::new();
        for kv in t.iter() {
            let (k, v) = kv?;
            // A key whose user is gone keeps its bytes (nothing can name it better).
            let new = user_keys
                .get(k.as_ref())
                .cloned()
                .unwrap_or_else(|| k.to_vec());
            out.push((k.to_vec(), new, v.to_vec()));
        }
        Ok(out)
    };
    let credentials = by_user(&i.credentials)?;
    let calendars = by_user(&i.calendars)?;
    let dirty = by_user(&i.dirty)?;
    // The ordinary area keeps its keys, but records its nodes' creators by user key.
    let mut owners: Moves = Vec::new();
    for kv in i.pf_owners.iter() {
        let (k, v) = kv?;
        if let Some(new) = user_keys
            .get(v.as_ref())
            .filter(|n| n.as_slice() != v.as_ref())
        {
            owners.push((k.to_vec(), k.to_vec(), new.clone()));
        }
    }

    // Folders hold their name; messages are `folder 0 subject 0 id` and hold their subject;
    // leaves are `folder 0 leaf` → message key, and the message holds its leaf.
    let mut folder_keys: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    let mut folders: Moves = Vec::new();
    for kv in i.folders.iter() {
        let (k, v) = kv?;
        let rec: FolderRecord = codec::decode(&v)?;
        let new = AdminGroup::parse(&rec.name)
            .map(|ag| ag.key().into_bytes())
            .unwrap_or_else(|_| fold_key(&rec.name).into_bytes());
        folder_keys.insert(k.to_vec(), new.clone());
        folders.push((k.to_vec(), new, v.to_vec()));
    }
    let folder_of = |k: &[u8]| -> (Vec<u8>, usize) {
        let cut = k.iter().position(|&b| b == 0).unwrap_or(k.len());
        let old = &k[..cut];
        let new = folder_keys
            .get(old)
            .cloned()
            .unwrap_or_else(|| old.to_vec());
        (new, cut)
    };
    let mut message_keys: HashMap<Vec<u8>, (Vec<u8>, String)> = HashMap::new();
    let mut messages: Moves = Vec::new();
    for kv in i.messages.iter() {
        let (k, v) = kv?;
        let rec: MessageRecord = codec::decode_message(&v)?;
        let (mut new, cut) = folder_of(&k);
        let after_folder = k.get(cut + 1..).unwrap_or_default();
        let id = after_folder
            .iter()
            .position(|&b| b == 0)
            .map_or(&[][..], |p| &after_folder[p + 1..]);
        new.push(0);
        new.extend_from_slice(fold_key(&rec.subject).as_bytes());
        new.push(0);
        new.extend_from_slice(id);
        message_keys.insert(k.to_vec(), (new.clone(), rec.leaf.clone()));
        messages.push((k.to_vec(), new, v.to_vec()));
    }
    let mut leaves: Moves = Vec::new();
    for kv in i.leaves.iter() {
        let (k, v) = kv?;
        let (mut new, cut) = folder_of(&k);
        let value = match message_keys.get(v.as_ref()) {
            Some((msg_key, leaf)) => {
                new.push(0);
                new.extend_from_slice(fold_key(leaf).as_bytes());
                msg_key.clone()
            }
            // A leaf whose message is gone: keep it as it was (cleanup removes it).
            None => {
                new.extend_from_slice(&k[cut..]);
                v.to_vec()
            }
        };
        leaves.push((k.to_vec(), new, value));
    }

    let all: [(&sled::Tree, &Moves); 8] = [
        (&i.users, &users),
        (&i.pf_owners, &owners),
        (&i.credentials, &credentials),
        (&i.calendars, &calendars),
        (&i.dirty, &dirty),
        (&i.folders, &folders),
        (&i.messages, &messages),
        (&i.leaves, &leaves),
    ];
    let changed: usize = all
        .iter()
        .map(|(_, m)| m.iter().filter(|(o, n, _)| o != n).count())
        .sum::<usize>()
        + owners.len();
    let old_addresses: Vec<Vec<u8>> = i
        .addresses
        .iter()
        .keys()
        .map(|k| k.map(|k| k.to_vec()))
        .collect::<Result<_, _>>()?;
    let mut tree_list: Vec<&sled::Tree> = trees.to_vec();
    tree_list.push(&i.pf_owners);
    super::tx_result(tree_list.as_slice().transaction(|t| {
        // `t` follows `tree_list`.
        let view = |tree: &sled::Tree| {
            let at = tree_list
                .iter()
                .position(|x| std::ptr::eq(*x, tree))
                .expect("every tree written is in the transaction");
            &t[at]
        };
        for (tree, moves) in &all {
            let tt = view(tree);
            for (old, _, _) in moves.iter() {
                tt.remove(old.as_slice())?;
            }
            for (_, new, v) in moves.iter() {
                tt.insert(new.as_slice(), v.as_slice())?;
            }
        }
        let ta = view(&i.addresses);
        for k in &old_addresses {
            ta.remove(k.as_slice())?;
        }
        for (k, v) in &addresses {
            ta.insert(k.as_slice(), v.as_slice())?;
        }
        Ok(())
    }))?;
    meta.insert(MARKER, ASCII)?;
    i.db.flush()?;
    tracing::info!(
        keys = changed,
        "re-keyed the store for ASCII case folding (keys with non-ASCII capitals changed)"
    );
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::ops::{Ctx, FbSetRequest, Operation};
    use crate::protocol::legacy_dn::LegacyDn;
    use crate::protocol::query::UserAddress;
    use crate::store::StoreConfig;
    use crate::store::testutil::stamp;

    fn user(dn: &str, alias: &str, mail: &str) -> UserRecord {
        UserRecord {
            legacy_dn: LegacyDn::parse(dn).unwrap(),
            mail: mail.into(),
            display_name: alias.into(),
            alias: alias.into(),
            proxy_addresses: vec![format!("SMTP:{mail}")],
        }
    }

    const JOSE: &str = "/o=Org/ou=ÉQUIPE/cn=Recipients/cn=JOSÉ";

    fn publish(store: &Store, who: &str) {
        FbSetRequest {
            user: who.into(),
            busy: vec!["2008-02-02T20:00:00Z/2008-02-02T21:00:00Z".into()],
            now: Some("2008-02-01T12:00:00Z".into()),
            ..Default::default()
        }
        .run(&Ctx::new(store))
        .unwrap();
    }

    /// Rewrite `k` as today's main folded it: Unicode lower case, up to the first two NULs
    /// (a message key ends in a binary id).
    fn old_fold(k: &[u8]) -> Vec<u8> {
        let mut parts = k.splitn(3, |&b| b == 0);
        let mut out = Vec::new();
        for (n, p) in parts.by_ref().enumerate() {
            if n > 0 {
                out.push(0);
            }
            if n < 2 {
                out.extend_from_slice(String::from_utf8_lossy(p).to_lowercase().as_bytes());
            } else {
                out.extend_from_slice(p);
            }
        }
        out
    }

    /// A store as today's main wrote it: every key (and every key stored as a value)
    /// Unicode-lower-cased, no marker.
    fn age(store: &Store) {
        let i = &store.inner;
        for (t, value_is_key) in [
            (&i.users, false),
            (&i.addresses, true),
            (&i.credentials, false),
            (&i.calendars, false),
            (&i.dirty, false),
            (&i.folders, false),
            (&i.messages, false),
            (&i.leaves, true),
        ] {
            let all: Vec<_> = t.iter().map(|kv| kv.unwrap()).collect();
            for (k, v) in all {
                t.remove(&k).unwrap();
                let v = if value_is_key {
                    old_fold(&v)
                } else {
                    v.to_vec()
                };
                t.insert(old_fold(&k), v).unwrap();
            }
        }
        i.db.open_tree("meta").unwrap().remove(MARKER).unwrap();
        i.db.flush().unwrap();
    }

    #[test]
    fn ascii_keys_are_the_bytes_unicode_folding_gave() {
        for s in [
            "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=dwinship",
            "USER-/CN=RECIPIENTS/CN=DWINSHIP",
            "EX:/o=CompanyABC/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)",
            "smtp:Dan.Winship@XCS.example",
        ] {
            assert_eq!(fold_key(s), s.to_lowercase());
        }
        // A store whose keys are all ASCII only gets its marker.
        let (_dir, store) = crate::store::testutil::temp_store();
        store
            .import_users(
                &[user(
                    "/o=Org/ou=AG/cn=Recipients/cn=dan",
                    "dan",
                    "dan@x.example",
                )],
                stamp(),
            )
            .unwrap();
        publish(&store, "dan");
        age(&store);
        assert_eq!(migrate(&store).unwrap(), 0);
        assert!(
            store
                .find_user(&UserAddress::Smtp("DAN@x.example".into()))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn a_store_with_non_ascii_keys_from_main_is_rekeyed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = StoreConfig::new(dir.path());
        let jose = LegacyDn::parse(JOSE).unwrap();
        {
            let store = Store::open(&cfg).unwrap();
            store
                .import_users(
                    &[
                        user(JOSE, "JOSÉ", "jose@x.example"),
                        user("/o=Org/ou=AG/cn=Recipients/cn=k", "k", "k@x.example"),
                    ],
                    stamp(),
                )
                .unwrap();
            publish(&store, "jose@x.example");
            publish(&store, "k@x.example");
            store.update_credential(&jose, |c| c.admin = true).unwrap();
            let owners = &store.inner.pf_owners;
            owners.insert(b"notes", jose.key().as_bytes()).unwrap();
            age(&store);
            let old = owners.get(b"notes").unwrap().unwrap();
            owners.insert(b"notes", old_fold(&old)).unwrap();
            // As main left it, the new code does not find José by his own name.
            assert!(store.credential(&jose).unwrap().is_none());
        }
        let store = Store::open(&cfg).unwrap();
        let found = store
            .find_user(&UserAddress::Ex(JOSE.into()))
            .unwrap()
            .expect("José is found by his legacyDN after the migration");
        assert_eq!(found.alias, "JOSÉ");
        assert!(
            store
                .find_user(&UserAddress::Smtp("JOSÉ".into()))
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .find_user(&UserAddress::Smtp("jose@x.example".into()))
                .unwrap()
                .is_some()
        );
        assert!(store.credential(&jose).unwrap().unwrap().admin);
        assert_eq!(
            store
                .inner
                .pf_owners
                .get(b"notes")
                .unwrap()
                .unwrap()
                .as_ref(),
            jose.key().as_bytes(),
            "José still owns what he created in the ordinary area"
        );
        let msgs = store
            .find_messages(&jose.admin_group(), &jose.subject())
            .unwrap();
        assert_eq!(msgs.len(), 1);
        let folder = store.folder(&jose.admin_group()).unwrap().unwrap();
        assert_eq!(folder.name, "EX:/o=Org/ou=ÉQUIPE");
        let leaf = store
            .fb_message_at(&jose.admin_group(), &msgs[0].leaf)
            .unwrap();
        assert!(leaf.is_some(), "the message is found by its URL leaf");
        // Nothing else changed; the second open finds the marker and does nothing.
        let k = LegacyDn::parse("/o=Org/ou=AG/cn=Recipients/cn=k").unwrap();
        assert_eq!(
            store
                .find_messages(&k.admin_group(), &k.subject())
                .unwrap()
                .len(),
            1
        );
        assert_eq!(store.stats().users, 2);
        assert_eq!(migrate(&store).unwrap(), 0);
    }
}
