//! Credentials to a [`SignedIn`] user: the [`Authenticator`] looks the name up in the
//! directory (alias, SMTP address, legacyDN or `DOMAIN\alias`), keeps a cache of verified
//! credentials so a client that sends Basic on every request pays Argon2 once, and checks an
//! unknown name against a stand-in hash of the same cost so timing does not tell which names
//! exist. The hashing itself runs where the caller says (see `HashPool`).
//!
//! Must not touch: HTTP (the transport reads the header and answers the refusal).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use blake2::{Blake2b512, Digest};
use rand_core::{OsRng, RngCore};

use super::{SignedIn, constant_time_eq, hash_password, verify_password};
use crate::store::{Store, StoreError};

/// Why a sign-in failed, for the log (the client only hears "wrong user or password").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInFailure {
    UnknownUser,
    NoPassword,
    WrongPassword,
}

impl SignInFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInFailure::UnknownUser => "no such directory user",
            SignInFailure::NoPassword => "the user has no password set",
            SignInFailure::WrongPassword => "wrong password",
        }
    }

    /// The `reason` label of `schedplus_sign_in_failures_total`: one for all three, because
    /// `/metrics` may be public and separate counts would tell which names exist (the log,
    /// which only the operator reads, keeps the reason).
    pub fn label(self) -> &'static str {
        "wrong_credentials"
    }
}

/// What [`Authenticator::lookup`] found before any hashing.
pub enum Lookup {
    /// The cache vouches for these credentials.
    Known(SignedIn),
    /// Verify `password` against `phc` (a real hash, or a stand-in with the same cost for
    /// an unknown user, so timing does not tell which names exist).
    Verify {
        user: Result<SignedIn, SignInFailure>,
        phc: String,
    },
}

/// Most cached sign-ins; beyond it the cache starts over.
const CACHE_ENTRIES: usize = 10_000;

/// Turns credentials into a [`SignedIn`]. Holds a cache of verified credentials: per user,
/// the PHC string that was matched and a keyed BLAKE2b digest of the password (the key is
/// random per process, so the cache says nothing once the process is gone). A changed
/// password changes the stored PHC string, so the cached entry no longer applies.
pub struct Authenticator {
    key: [u8; 32],
    cache: Mutex<HashMap<String, ([u8; 64], String)>>,
}

impl Default for Authenticator {
    fn default() -> Self {
        Self::new()
    }
}

impl Authenticator {
    pub fn new() -> Self {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        Authenticator {
            key,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn digest(&self, user_key: &str, pw: &str) -> [u8; 64] {
        let mut h = Blake2b512::new();
        h.update(self.key);
        h.update((user_key.len() as u64).to_le_bytes());
        h.update(user_key.as_bytes());
        h.update(pw.as_bytes());
        h.finalize().into()
    }

    /// Find the user named `name` (alias, SMTP address, legacyDN, or `DOMAIN\alias`) and
    /// their credential; answer from the cache when it can. Store reads only.
    pub fn lookup(&self, store: &Store, name: &str, pw: &str) -> Result<Lookup, StoreError> {
        let name = name.rsplit_once('\\').map_or(name, |(_, alias)| alias);
        let user = match store.resolve_user(name) {
            Ok(u) => u,
            Err(StoreError::NotFound(_)) => {
                return Ok(Lookup::Verify {
                    user: Err(SignInFailure::UnknownUser),
                    phc: stand_in_hash().to_string(),
                });
            }
            Err(e) => return Err(e),
        };
        let cred = store.credential(&user.legacy_dn)?.unwrap_or_default();
        let signed = SignedIn {
            alias: user.alias.clone(),
            legacy_dn: user.legacy_dn.clone(),
            admin: cred.admin,
        };
        let Some(phc) = cred.password_hash else {
            return Ok(Lookup::Verify {
                user: Err(SignInFailure::NoPassword),
                phc: stand_in_hash().to_string(),
            });
        };
        let key = user.legacy_dn.key();
        let d = self.digest(&key, pw);
        let hit = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .is_some_and(|(cached, cached_phc)| *cached_phc == phc && constant_time_eq(cached, &d));
        Ok(if hit {
            Lookup::Known(signed)
        } else {
            Lookup::Verify {
                user: Ok(signed),
                phc,
            }
        })
    }

    /// After the slow half (Argon2 said `matched`): the outcome, remembering a success.
    pub fn settle(
        &self,
        user: Result<SignedIn, SignInFailure>,
        phc: &str,
        pw: &str,
        matched: bool,
    ) -> Result<SignedIn, SignInFailure> {
        let user = user?;
        if !matched {
            return Err(SignInFailure::WrongPassword);
        }
        let key = user.legacy_dn.key();
        let d = self.digest(&key, pw);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, (d, phc.to_string()));
        Ok(user)
    }

    /// Both halves at once, hashing on the calling thread (tests; the server runs them
    /// apart so that only cache misses queue for a hashing thread).
    pub fn authenticate(
        &self,
        store: &Store,
        name: &str,
        pw: &str,
    ) -> Result<Result<SignedIn, SignInFailure>, StoreError> {
        Ok(match self.lookup(store, name, pw)? {
            Lookup::Known(u) => Ok(u),
            Lookup::Verify { user, phc } => {
                let matched = verify_password(&phc, pw);
                self.settle(user, &phc, pw, matched)
            }
        })
    }
}

/// A hash of a random password, made once: what unknown users are checked against.
fn stand_in_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let mut pw = [0u8; 16];
        OsRng.fill_bytes(&mut pw);
        let pw: String = pw.iter().map(|b| format!("{b:02x}")).collect();
        hash_password(&pw).expect("a random hex password hashes")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::tests::user;
    use crate::store::testutil::store_with;

    #[test]
    fn sign_in_by_any_name_and_the_cache_follows_password_changes() {
        let dan = user("dan", "AG");
        let (_d, s) = store_with(std::slice::from_ref(&dan));
        let auth = Authenticator::new();
        assert_eq!(
            auth.authenticate(&s, "dan", "pw").unwrap(),
            Err(SignInFailure::NoPassword)
        );
        assert_eq!(
            auth.authenticate(&s, "nobody", "pw").unwrap(),
            Err(SignInFailure::UnknownUser)
        );
        let phc = hash_password("pw1").unwrap();
        s.update_credential(&dan.legacy_dn, |c| c.password_hash = Some(phc))
            .unwrap();
        for name in [
            "dan",
            "DAN@org.example",
            "CORP\\dan",
            dan.legacy_dn.as_str(),
        ] {
            let u = auth.authenticate(&s, name, "pw1").unwrap().unwrap();
            assert_eq!(u.alias, "dan", "signed in as {name}");
            assert!(!u.admin);
        }
        assert!(matches!(
            auth.lookup(&s, "dan", "pw1").unwrap(),
            Lookup::Known(_)
        ));
        assert!(matches!(
            auth.lookup(&s, "dan", "pw2").unwrap(),
            Lookup::Verify { .. }
        ));
        assert_eq!(
            auth.authenticate(&s, "dan", "pw2").unwrap(),
            Err(SignInFailure::WrongPassword)
        );
        // A new password: the old one stops working at once, cache or not.
        let phc = hash_password("pw2").unwrap();
        s.update_credential(&dan.legacy_dn, |c| {
            c.password_hash = Some(phc);
            c.admin = true;
        })
        .unwrap();
        assert_eq!(
            auth.authenticate(&s, "dan", "pw1").unwrap(),
            Err(SignInFailure::WrongPassword)
        );
        assert!(auth.authenticate(&s, "dan", "pw2").unwrap().unwrap().admin);
    }
}
