//! The directory: who the users are and every name they can be asked for by.
//!
//! A user is keyed by legacyDN; the `addresses` tree maps each primary SMTP address, each
//! `smtp:` proxy address and the alias to that key, so a lookup is one or two point reads.
//! Import is one transaction: all users of a file or none.

use serde::{Deserialize, Serialize};
use sled::Transactional;

use super::{Store, StoreError, TxError, abort, codec, codec_abort, tx_result};
use crate::protocol::address::UserAddress;
use crate::protocol::directory_file::{self, DirectoryEntry};
use crate::protocol::legacy_dn::{LegacyDn, fold_key as fold};

/// A directory user as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub legacy_dn: LegacyDn,
    pub mail: String,
    pub display_name: String,
    pub alias: String,
    /// As given: `SMTP:…`, `smtp:…`, `X500:…`, …
    pub proxy_addresses: Vec<String>,
}

impl UserRecord {
    /// Primary address first, then every `smtp:` proxy, without duplicates.
    pub fn smtp_addresses(&self) -> Vec<String> {
        directory_file::smtp_addresses(&self.mail, &self.proxy_addresses)
    }

    pub(super) fn index_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .smtp_addresses()
            .iter()
            .map(|a| format!("smtp:{}", fold(a)))
            .collect();
        keys.push(format!("alias:{}", fold(&self.alias)));
        keys
    }
}

impl From<DirectoryEntry> for UserRecord {
    fn from(e: DirectoryEntry) -> Self {
        UserRecord {
            legacy_dn: e.legacy_dn,
            mail: e.mail,
            display_name: e.display_name,
            alias: e.alias,
            proxy_addresses: e.proxy_addresses,
        }
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub folders_created: usize,
}

impl Store {
    /// Add or update users, creating each one's admin-group folder. All or nothing: an
    /// address that already belongs to another user aborts the whole import.
    pub fn import_users(
        &self,
        users: &[UserRecord],
        now_us: i64,
    ) -> Result<ImportSummary, StoreError> {
        let _w = self.begin_write()?;
        let i = &self.inner;
        let summary = tx_result((&i.users, &i.addresses, &i.folders, &i.meta).transaction(
            |(tu, ta, tf, tmeta)| {
                let mut s = ImportSummary::default();
                for user in users {
                    let key = user.legacy_dn.key();
                    let old: Option<UserRecord> = tu
                        .get(key.as_bytes())?
                        .map(|v| codec::decode(&v))
                        .transpose()
                        .map_err(codec_abort)?;
                    if let Some(old) = &old {
                        for k in old.index_keys() {
                            ta.remove(k.as_bytes())?;
                        }
                    }
                    for k in user.index_keys() {
                        if let Some(owner) = ta.get(k.as_bytes())? {
                            if owner.as_ref() != key.as_bytes() {
                                return Err(abort(StoreError::Conflict(format!(
                                    "{} ({}) is already used by {}; addresses and aliases must be unique",
                                    k.split_once(':').map_or(k.as_str(), |(_, v)| v),
                                    user.legacy_dn,
                                    String::from_utf8_lossy(&owner)
                                ))));
                            }
                        }
                        ta.insert(k.as_bytes(), key.as_bytes())?;
                    }
                    match &old {
                        Some(o) if o == user => s.unchanged += 1,
                        Some(_) => s.updated += 1,
                        None => s.added += 1,
                    }
                    tu.insert(key.as_bytes(), codec::encode(user).map_err(codec_abort)?)?;
                    if super::messages::ensure_folder_tx(tf, &user.legacy_dn.admin_group(), now_us)? {
                        s.folders_created += 1;
                    }
                }
                super::count_tx(tmeta, s.added as i64, 0)?;
                Ok::<_, TxError>(s)
            },
        ))?;
        self.count_changed(summary.added as i64, 0);
        self.flush()?;
        Ok(summary)
    }

    /// Find a user by any name a query may use: `SMTP:`/bare address (primary or proxy,
    /// then alias when the value has no `@`), or `EX:` legacyDN. Case-insensitive.
    pub fn find_user(&self, addr: &UserAddress) -> Result<Option<UserRecord>, StoreError> {
        let dn_key = match addr {
            UserAddress::Ex(dn) => Some(fold(dn).into_bytes().into()),
            UserAddress::Smtp(a) => {
                let hit = self
                    .inner
                    .addresses
                    .get(format!("smtp:{}", fold(a)).as_bytes())?;
                match hit {
                    Some(k) => Some(k),
                    None if !a.contains('@') => self
                        .inner
                        .addresses
                        .get(format!("alias:{}", fold(a)).as_bytes())?,
                    None => None,
                }
            }
        };
        let Some(dn_key) = dn_key else {
            return Ok(None);
        };
        match self.inner.users.get(dn_key)? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Resolve a name typed by an admin: an SMTP address, an alias or a legacyDN.
    pub fn resolve_user(&self, name: &str) -> Result<UserRecord, StoreError> {
        let addr = if name.trim_start().starts_with('/') {
            UserAddress::Ex(name.trim().to_string())
        } else {
            UserAddress::parse(name)
        };
        self.find_user(&addr)?.ok_or_else(|| {
            StoreError::NotFound(format!(
                "no directory user is named '{name}' (give an SMTP address, an alias or a legacyExchangeDN; `schedplus directory list` shows them)"
            ))
        })
    }

    /// Every user, ordered by legacyDN. An admin listing, not for request paths.
    pub fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.inner
            .users
            .iter()
            .values()
            .map(|v| Ok(codec::decode(&v?)?))
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::testutil::{stamp, temp_store};

    pub(crate) fn user(alias: &str, ag: &str) -> UserRecord {
        UserRecord {
            legacy_dn: LegacyDn::parse(&format!("/o=Org/ou={ag}/cn=Recipients/cn={alias}"))
                .unwrap(),
            mail: format!("{alias}@org.example"),
            display_name: format!("User {alias}"),
            alias: alias.to_string(),
            proxy_addresses: vec![
                format!("SMTP:{alias}@org.example"),
                format!("smtp:{alias}.alt@org.example"),
                "X500:/o=Old/cn=x".into(),
            ],
        }
    }

    #[test]
    fn lookup_by_every_name_case_insensitively() {
        let (_d, s) = temp_store();
        let u = user("dan", "AG");
        let sum = s.import_users(std::slice::from_ref(&u), stamp()).unwrap();
        assert_eq!(
            sum,
            ImportSummary {
                added: 1,
                folders_created: 1,
                ..Default::default()
            }
        );
        for name in [
            "SMTP:DAN@org.example",
            "dan@ORG.example",
            "smtp:dan.alt@org.example",
            "DAN",
            "EX:/O=ORG/OU=ag/cn=recipients/cn=dan",
        ] {
            let found = s.find_user(&UserAddress::parse(name)).unwrap();
            assert_eq!(found.as_ref(), Some(&u), "{name}");
        }
        assert_eq!(
            s.find_user(&UserAddress::parse("nobody@org.example"))
                .unwrap(),
            None
        );
        assert_eq!(
            s.resolve_user("/o=Org/ou=AG/cn=Recipients/cn=dan").unwrap(),
            u
        );
        assert!(
            s.resolve_user("ghost")
                .unwrap_err()
                .to_string()
                .contains("'ghost'")
        );
    }

    #[test]
    fn reimport_updates_and_drops_stale_addresses() {
        let (_d, s) = temp_store();
        let mut u = user("dan", "AG");
        s.import_users(std::slice::from_ref(&u), stamp()).unwrap();
        let again = s.import_users(std::slice::from_ref(&u), stamp()).unwrap();
        assert_eq!(again.unchanged, 1);
        u.proxy_addresses.retain(|p| !p.contains(".alt"));
        u.display_name = "Dan W".into();
        assert_eq!(
            s.import_users(std::slice::from_ref(&u), stamp())
                .unwrap()
                .updated,
            1
        );
        assert_eq!(
            s.find_user(&UserAddress::parse("dan.alt@org.example"))
                .unwrap(),
            None
        );
        assert_eq!(s.list_users().unwrap(), vec![u]);
    }

    #[test]
    fn conflicting_address_aborts_whole_import() {
        let (_d, s) = temp_store();
        let a = user("dan", "AG");
        let mut b = user("bob", "AG");
        b.proxy_addresses.push("smtp:dan@org.example".into());
        let c = user("carol", "AG2");
        let e = s
            .import_users(&[a.clone(), c.clone(), b], stamp())
            .unwrap_err();
        assert!(e.to_string().contains("dan@org.example"), "{e}");
        assert_eq!(
            s.list_users().unwrap(),
            vec![],
            "nothing of a failed import is kept"
        );
        assert_eq!(s.stats().users, 0);
    }

    /// Issue 11: keys were Unicode-lower-cased, so `cn=\u{212A}` (the Kelvin sign) was the
    /// key of `cn=k` and importing one replaced the other.
    #[test]
    fn kelvin_sign_is_not_the_letter_k() {
        let (_d, s) = temp_store();
        let k = user("k", "AG");
        let mut kelvin = user("\u{212A}", "AG");
        kelvin.mail = "kelvin@org.example".into();
        kelvin.proxy_addresses = vec!["SMTP:kelvin@org.example".into()];
        s.import_users(std::slice::from_ref(&k), stamp()).unwrap();
        let sum = s
            .import_users(std::slice::from_ref(&kelvin), stamp())
            .unwrap();
        assert_eq!((sum.added, sum.updated), (1, 0));
        assert_eq!(s.stats().users, 2);
        let by_dn = |u: &UserRecord| {
            s.find_user(&UserAddress::Ex(u.legacy_dn.as_str().into()))
                .unwrap()
                .unwrap()
        };
        assert_eq!(by_dn(&k), k);
        assert_eq!(by_dn(&kelvin), kelvin);
        // ASCII case still does not matter.
        let upper = s
            .find_user(&UserAddress::Ex("/O=ORG/OU=AG/CN=RECIPIENTS/CN=K".into()))
            .unwrap()
            .unwrap();
        assert_eq!(upper, k);
        assert_ne!(
            k.legacy_dn.subject().key(),
            kelvin.legacy_dn.subject().key()
        );
    }
}
