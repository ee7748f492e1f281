//! Distribution groups, in one tree (`groups`), written with the import that brings them.
//!
//! | key | value |
//! |---|---|
//! | `g` ++ group DN key ([`dn_key`]) | [`GroupRecord`] |
//! | `a` ++ `smtp:addr` / `ex:legacydn` (folded) | group DN key |
//! | `u` ++ member DN key | the legacyDN key of the user with that DN |
//!
//! Users are stored by legacyDN and know no DN of their own, so the DN of every user a group
//! names is kept here (`u`), from the same file: a member resolves to its user whatever
//! import brought the user's record. An import replaces the groups it names (and their
//! addresses) and keeps the others, as it does users; it writes them in the one transaction
//! that ends it (with the removal of its `import_pending` mark), so they stand or fall with
//! it. `meta` `groups_layout` is this tree's layout; [`migrate`] brings an older one up to
//! date at open.

use sled::Transactional;

use super::{Store, StoreError, TxError, UserRecord, codec, codec_abort, tagged, tx_result};
use crate::protocol::address::UserAddress;
use crate::protocol::directory_file::groups::{Group, ParsedGroups, dn_key};
use crate::protocol::legacy_dn::fold_key;

pub(super) const TREE: &str = "groups";
/// `meta` key of the layout written; absent: no group was ever written.
const LAYOUT_KEY: &[u8] = b"groups_layout";
/// The layout this schedplus writes.
const LAYOUT: u8 = 1;
const RECORD: u8 = b'g';
const ADDRESS: u8 = b'a';
const MEMBER_USER: u8 = b'u';

/// A group as stored: what the export said of it (see the protocol's [`Group`]).
pub type GroupRecord = Group;

fn key(tag: u8, text: &str) -> Vec<u8> {
    tagged(tag, text.as_bytes())
}

/// The name a user is found by in the `addresses` tree for a group name (`smtp:` only: a
/// group's legacyDN is compared with users' keys directly).
fn user_claims(store: &Store, name: &str) -> Result<bool, StoreError> {
    match name.strip_prefix("ex:") {
        Some(dn) => Ok(store.inner.users.contains_key(dn.as_bytes())?),
        None => Ok(store.inner.addresses.contains_key(name.as_bytes())?),
    }
}

/// Once an import has written its users, before its switch: a group address a stored user
/// holds (the import's users hold theirs by now, and have given up the ones they no longer
/// have), or another stored group, is a conflict that refuses the whole import.
pub(super) fn check_import(store: &Store, groups: &ParsedGroups) -> Result<(), StoreError> {
    let tree = &store.inner.groups;
    for g in groups.groups.iter().map(|e| &e.group) {
        let own = dn_key(&g.dn);
        for name in g.names() {
            let shown = name.split_once(':').map_or(name.as_str(), |(_, v)| v);
            if user_claims(store, &name)? {
                return Err(StoreError::Conflict(format!(
                    "the group {} has the address {shown}, which a directory user already has; addresses must be unique",
                    g.dn
                )));
            }
            if let Some(owner) = tree.get(key(ADDRESS, &name))? {
                if owner.as_ref() != own.as_bytes() {
                    return Err(StoreError::Conflict(format!(
                        "the group {} has the address {shown}, which the group {} already has; addresses must be unique",
                        g.dn,
                        String::from_utf8_lossy(&owner)
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The import's last step, in one transaction: its mark removed (`meta`) and its groups
/// written. Returns how many groups it wrote.
pub(super) fn finish_import(
    store: &Store,
    pending_mark: &[u8],
    groups: &ParsedGroups,
) -> Result<usize, StoreError> {
    let i = &store.inner;
    // Members that are users of a streamed file: found among the users just written
    // (a pass over the users' keys, only when a group names users of its file).
    let resolved;
    let mut groups = groups;
    if groups.wants_users() {
        let mut g = groups.clone();
        for k in i.users.iter().keys() {
            if !g.wants_users() {
                break;
            }
            if let Ok(k) = std::str::from_utf8(&k?) {
                g.resolve_user(k);
            }
        }
        resolved = g;
        groups = &resolved;
    }
    let records: Vec<(String, &GroupRecord)> = groups
        .groups
        .iter()
        .map(|e| (dn_key(&e.group.dn), &e.group))
        .collect();
    tx_result((&i.meta, &i.groups).transaction(|(tmeta, tg)| {
        tmeta.remove(pending_mark)?;
        if records.is_empty() {
            return Ok::<_, TxError>(());
        }
        tmeta.insert(LAYOUT_KEY, &[LAYOUT])?;
        for (k, g) in &records {
            if let Some(old) = tg.get(key(RECORD, k))? {
                let old: GroupRecord = codec::decode(&old).map_err(codec_abort)?;
                for name in old.names() {
                    tg.remove(key(ADDRESS, &name))?;
                }
            }
            for name in g.names() {
                tg.insert(key(ADDRESS, &name), k.as_bytes())?;
            }
            tg.insert(key(RECORD, k), codec::encode(*g).map_err(codec_abort)?)?;
        }
        for (dn, user) in &groups.member_users {
            tg.insert(key(MEMBER_USER, &dn_key(dn)), user.as_bytes())?;
        }
        Ok(())
    }))?;
    Ok(records.len())
}

/// At open: a tree written by a later schedplus is refused (its layout is unknown here);
/// an older layout would be rewritten here (layout 1 is the first).
pub(super) fn migrate(store: &Store) -> Result<(), StoreError> {
    match store.inner.meta.get(LAYOUT_KEY)?.as_deref() {
        None | Some([LAYOUT]) => Ok(()),
        Some(other) => Err(StoreError::Codec(codec::CodecError::Decode(format!(
            "the groups tree has layout {other:?}; this schedplus reads layout {LAYOUT}: use the schedplus that wrote the store"
        )))),
    }
}

impl Store {
    /// The group asked by an address (primary or `smtp:` proxy) or its legacyDN, in any
    /// case.
    pub fn find_group(&self, addr: &UserAddress) -> Result<Option<GroupRecord>, StoreError> {
        let name = match addr {
            UserAddress::Smtp(a) => format!("smtp:{}", fold_key(a)),
            UserAddress::Ex(dn) => format!("ex:{}", fold_key(dn)),
        };
        match self.inner.groups.get(key(ADDRESS, &name))? {
            Some(dn) => self.group_by_key(&dn),
            None => Ok(None),
        }
    }

    /// The group whose distinguished name is `dn` (compared by [`dn_key`]).
    pub fn group_by_dn(&self, dn: &str) -> Result<Option<GroupRecord>, StoreError> {
        self.group_by_key(dn_key(dn).as_bytes())
    }

    fn group_by_key(&self, k: &[u8]) -> Result<Option<GroupRecord>, StoreError> {
        match self.inner.groups.get(tagged(RECORD, k))? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// The user a group names by `dn`, if an import gave that DN to a user still in the
    /// directory.
    pub fn member_user(&self, dn: &str) -> Result<Option<UserRecord>, StoreError> {
        match self.inner.groups.get(key(MEMBER_USER, &dn_key(dn)))? {
            Some(user) => match self.inner.users.get(user)? {
                Some(v) => Ok(Some(codec::decode(&v)?)),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// Every group, ordered by DN key. An admin listing.
    pub fn list_groups(&self) -> Result<Vec<GroupRecord>, StoreError> {
        self.inner
            .groups
            .scan_prefix([RECORD])
            .values()
            .map(|v| Ok(codec::decode(&v?)?))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::directory_file::{DirectoryFormat, parse_directory_detailed};
    use crate::store::testutil::temp_store;

    const LDIF: &str = include_str!("../../fixtures/ews/groups.ldf");

    fn import(store: &Store, text: &str) -> Result<usize, StoreError> {
        let parsed = parse_directory_detailed(text, DirectoryFormat::Ldif).unwrap();
        let users: Vec<UserRecord> = parsed.entries.into_iter().map(UserRecord::from).collect();
        store
            .import_directory(&users, &parsed.groups, 1)
            .map(|s| s.1)
    }

    #[test]
    fn groups_are_found_by_address_and_legacy_dn_and_members_by_dn() {
        let (_d, s) = temp_store();
        assert_eq!(import(&s, LDIF).unwrap(), 3);
        let team = s
            .find_group(&UserAddress::parse("TEAM@xcs.example"))
            .unwrap()
            .unwrap();
        assert_eq!(team.display_name, "Lab Team");
        let by_dn = s
            .find_group(&UserAddress::Ex(
                "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=labteam"
                    .into(),
            ))
            .unwrap();
        assert_eq!(by_dn.as_ref(), Some(&team));
        let dan = s.member_user(&team.members[0]).unwrap().unwrap();
        assert_eq!(dan.mail, "danw@xcs.example");
        assert_eq!(
            s.member_user("CN=Karen Baker,CN=Users,DC=xcs,DC=example")
                .unwrap(),
            None
        );
        let core = s.group_by_dn(&team.members[3]).unwrap().unwrap();
        assert!(core.mail.is_empty());
        assert_eq!(s.list_groups().unwrap().len(), 3);
        // A group is not a user.
        assert_eq!(
            s.find_user(&UserAddress::parse("lab-team@xcs.example"))
                .unwrap(),
            None
        );
    }

    #[test]
    fn an_import_whose_group_takes_a_users_address_writes_nothing() {
        let (_d, s) = temp_store();
        import(&s, LDIF).unwrap();
        let before = s.dump().unwrap();
        let bad = "dn: CN=Thief,DC=x\nobjectClass: group\nmail: danw@xcs.example\n\n\
                   dn: CN=New User,DC=x\nobjectClass: user\nmail: new@x.example\n\
                   legacyExchangeDN: /o=O/ou=A/cn=Recipients/cn=new\ndisplayName: New\n";
        let e = import(&s, bad).unwrap_err().to_string();
        assert!(
            e.contains("danw@xcs.example") && e.contains("CN=Thief"),
            "{e}"
        );
        assert_eq!(s.dump().unwrap(), before);
    }

    #[test]
    fn reimporting_a_group_replaces_its_addresses_and_keeps_the_others() {
        let (_d, s) = temp_store();
        import(&s, LDIF).unwrap();
        let renamed = LDIF.replace("smtp:team@xcs.example", "smtp:crew@xcs.example");
        import(&s, &renamed).unwrap();
        assert_eq!(
            s.find_group(&UserAddress::parse("team@xcs.example"))
                .unwrap(),
            None
        );
        assert!(
            s.find_group(&UserAddress::parse("crew@xcs.example"))
                .unwrap()
                .is_some()
        );
        let only_deep = "dn: CN=Lab Deep,OU=Groups,DC=xcs,DC=example\nobjectClass: group\n\
                         mail: lab-deep@xcs.example\n";
        assert_eq!(import(&s, only_deep).unwrap(), 1);
        assert_eq!(s.list_groups().unwrap().len(), 3);
    }

    #[test]
    fn a_store_with_a_later_groups_layout_is_refused_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::store::StoreConfig::new(dir.path());
        {
            let s = Store::open(&cfg).unwrap();
            import(&s, LDIF).unwrap();
            assert_eq!(
                s.inner.meta.get(LAYOUT_KEY).unwrap().as_deref(),
                Some(&[LAYOUT][..])
            );
            s.inner.meta.insert(LAYOUT_KEY, &[LAYOUT + 1]).unwrap();
            s.inner.db.flush().unwrap();
        }
        let e = Store::open(&cfg).err().unwrap().to_string();
        assert!(e.contains("groups tree has layout"), "{e}");
    }
}
