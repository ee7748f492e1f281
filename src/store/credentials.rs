//! Who may sign in, and who administers: one [`Credential`] per directory user.
//!
//! The `credentials` tree maps a legacyDN key to the user's password hash (an Argon2id PHC
//! string, made by `auth::hash_password`; the store never sees a password) and the admin
//! mark. It is apart from `users` so that a directory re-import never touches passwords.
//! Each change is one write, flushed before it returns. This module must not know about
//! HTTP or how hashes are made.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, codec};
use crate::protocol::legacy_dn::LegacyDn;

/// A user's sign-in data. A user without a record has no password and is no admin.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// The PHC string (`$argon2id$v=19$m=…`), if a password is set.
    pub password_hash: Option<String>,
    pub admin: bool,
}

impl Store {
    /// The credential of `user`, if any was ever set.
    pub fn credential(&self, user: &LegacyDn) -> Result<Option<Credential>, StoreError> {
        super::tree::get(&self.inner.credentials, user.key().as_bytes())
    }

    /// Change the credential of `user` (who must be in the directory) with `change`;
    /// returns the credential before and after. A credential that ends up empty (no
    /// password, no admin mark) is kept as a record all the same: it says an admin decided,
    /// so nothing (the demo loader) sets a default password over it.
    pub fn update_credential(
        &self,
        user: &LegacyDn,
        change: impl FnOnce(&mut Credential),
    ) -> Result<(Credential, Credential), StoreError> {
        let _w = self.begin_write()?;
        let key = user.key();
        if self.inner.users.get(key.as_bytes())?.is_none() {
            return Err(StoreError::NotFound(format!(
                "{} is not in the directory; import it first",
                user.as_str()
            )));
        }
        let before = self.credential(user)?.unwrap_or_default();
        let mut after = before.clone();
        change(&mut after);
        self.inner
            .credentials
            .insert(key.as_bytes(), codec::encode(&after)?)?;
        self.flush()?;
        Ok((before, after))
    }

    /// How many users are admins and how many have passwords (an admin listing: scans the
    /// credentials tree, which holds one small record per user that signs in).
    pub fn credential_counts(&self) -> Result<(usize, usize), StoreError> {
        let (mut admins, mut passwords) = (0, 0);
        for v in self.inner.credentials.iter().values() {
            let c: Credential = codec::decode(&v?)?;
            admins += usize::from(c.admin);
            passwords += usize::from(c.password_hash.is_some());
        }
        Ok((admins, passwords))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::directory::tests::user;
    use crate::store::testutil::stamp;
    use crate::store::testutil::temp_store;

    #[test]
    fn credentials_are_kept_apart_from_the_directory() {
        let (_d, s) = temp_store();
        let u = user("dan", "AG");
        let stranger = LegacyDn::parse("/o=Org/ou=AG/cn=Recipients/cn=nobody").unwrap();
        assert!(matches!(
            s.update_credential(&stranger, |c| c.admin = true),
            Err(StoreError::NotFound(_))
        ));
        s.import_users(std::slice::from_ref(&u), stamp()).unwrap();
        assert_eq!(s.credential(&u.legacy_dn).unwrap(), None);
        let (before, after) = s
            .update_credential(&u.legacy_dn, |c| {
                c.password_hash = Some("$argon2id$x".into())
            })
            .unwrap();
        assert_eq!(before, Credential::default());
        assert_eq!(after.password_hash.as_deref(), Some("$argon2id$x"));
        s.update_credential(&u.legacy_dn, |c| c.admin = true)
            .unwrap();
        // A re-import of the user leaves the credential alone.
        s.import_users(std::slice::from_ref(&u), stamp()).unwrap();
        let c = s.credential(&u.legacy_dn).unwrap().unwrap();
        assert!(c.admin && c.password_hash.is_some());
        assert_eq!(s.credential_counts().unwrap(), (1, 1));
        // Emptied, the record stays, as a decision.
        s.update_credential(&u.legacy_dn, |c| *c = Credential::default())
            .unwrap();
        assert_eq!(
            s.credential(&u.legacy_dn).unwrap(),
            Some(Credential::default())
        );
        assert_eq!(s.credential_counts().unwrap(), (0, 0));
    }
}
