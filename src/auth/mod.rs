//! Who is asking, and what they may do (issue 5).
//!
//! Owns the three settings ([`AuthMode`] `--auth`, [`ReadAccess`] `--read`, [`Permissions`]
//! `--permissions`), passwords ([`hash_password`], [`verify_password`]: Argon2id PHC
//! strings; the store keeps only those), Basic credentials ([`parse_basic`]), the
//! [`Authenticator`] that turns credentials into a [`Principal`] (with a cache so a client
//! that sends Basic on every request pays Argon2 once, not per request), and the rules
//! ([`AuthSettings`]' methods), each of which refuses with a [`Refusal`] naming itself.
//!
//! The rules, by name (`docs/behaviour.md` has the table):
//! * `read-authenticated`: with `--read authenticated`, reads need credentials (401).
//! * `write-authenticated`: with `--auth basic`, every write needs credentials (401).
//! * `owner-or-admin`: a free/busy message (and a user's calendar) is written by the user
//!   whose legacyDN it belongs to, or by an admin; `--permissions legacy` lets any signed-in
//!   user write any of them, as Exchange 2003 did.
//! * `item-owner-or-admin`: an item or folder of the ordinary public-folder area is changed
//!   or deleted by the user who created it, or by an admin; any signed-in user may create.
//! * `admin-only`: admin-group folders and the admin API (`--permissions legacy` opens the
//!   folders to any signed-in user, never the admin API).
//!
//! Must not know about HTTP: a refusal says whether credentials would help
//! ([`RefusalKind`]); the transport turns that into 401 or 403.

mod basic;
pub use basic::{CHALLENGE, REALM, parse_basic};

mod password;
pub use password::{
    MAX_PASSWORD_BYTES, MAX_USER_BYTES, PasswordError, check_hash, check_new_password,
    hash_password, verify_password, verify_password_with,
};

mod hash_pool;
pub use hash_pool::{HASH_QUEUE, HashBusy, HashPool, constant_time_eq};

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use blake2::{Blake2b512, Digest};
use rand_core::{OsRng, RngCore};

use crate::protocol::legacy_dn::{AdminGroup, LegacyDn, Subject};
use crate::store::{Store, StoreError};

/// `--auth`: whether the server asks who is writing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// Nobody signs in; everything is allowed (a closed lab network, or a test).
    None,
    /// HTTP Basic against the passwords set with `schedplus directory passwd`.
    #[default]
    Basic,
}

/// `--read`: whether reads need credentials.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReadAccess {
    /// The `?Cmd=freebusy` query and PROPFIND/GET/SEARCH answer anyone, as a CAS expects.
    #[default]
    Anonymous,
    Authenticated,
}

/// `--permissions`: who may write a free/busy message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Permissions {
    /// Its owner or an admin.
    #[default]
    Owner,
    /// Any signed-in user (Exchange 2003's rule, for labs that test it).
    Legacy,
}

/// `--metrics`: who may read `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Whoever `--read` lets read (anyone by default; signed-in users under
    /// `--read authenticated`).
    #[default]
    Read,
    /// Anyone, even under `--read authenticated` (a Prometheus scraper without credentials).
    Anonymous,
}

macro_rules! keyword_enum {
    ($t:ty, $what:literal, $($word:literal => $v:expr),+) => {
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($word => Ok($v),)+
                    _ => Err(format!("write {}", $what)),
                }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                $(if *self == $v { return f.write_str($word); })+
                unreachable!()
            }
        }
    };
}

keyword_enum!(AuthMode, "none or basic", "none" => AuthMode::None, "basic" => AuthMode::Basic);
keyword_enum!(ReadAccess, "anonymous or authenticated",
    "anonymous" => ReadAccess::Anonymous, "authenticated" => ReadAccess::Authenticated);
keyword_enum!(Permissions, "owner or legacy",
    "owner" => Permissions::Owner, "legacy" => Permissions::Legacy);
keyword_enum!(MetricsAccess, "read or anonymous",
    "read" => MetricsAccess::Read, "anonymous" => MetricsAccess::Anonymous);

/// The access settings together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthSettings {
    pub mode: AuthMode,
    pub read: ReadAccess,
    pub permissions: Permissions,
    pub metrics: MetricsAccess,
}

/// A directory user who proved their password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    pub legacy_dn: LegacyDn,
    /// For logs and messages.
    pub alias: String,
    pub admin: bool,
}

/// Who sent a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Principal {
    #[default]
    Anonymous,
    User(SignedIn),
}

impl Principal {
    /// For the request log: the alias, or `-`.
    pub fn log_name(&self) -> &str {
        match self {
            Principal::Anonymous => "-",
            Principal::User(u) => &u.alias,
        }
    }

    pub fn user(&self) -> Option<&SignedIn> {
        match self {
            Principal::Anonymous => None,
            Principal::User(u) => Some(u),
        }
    }
}

/// A request the rules refuse, with the rule's name and a sentence saying what would be
/// allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub rule: &'static str,
    pub message: String,
}

/// Whether credentials would change the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    /// Credentials are needed, or the ones sent are wrong (HTTP 401 with a challenge).
    SignIn,
    /// Whoever asked (signed in or, with `--auth none`, anyone) may not (HTTP 403).
    Forbidden,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused by rule {}: {}", self.rule, self.message)
    }
}

fn unauthenticated(rule: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        kind: RefusalKind::SignIn,
        rule,
        message: message.into(),
    }
}

fn forbidden(rule: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        kind: RefusalKind::Forbidden,
        rule,
        message: message.into(),
    }
}

/// [`crate::store::PfActor`] with owned keys, to carry into the blocking pool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemActor {
    pub owner: Option<String>,
    pub must_own: Option<String>,
}

impl ItemActor {
    pub fn as_pf(&self) -> crate::store::PfActor<'_> {
        crate::store::PfActor {
            owner: self.owner.as_deref(),
            must_own: self.must_own.as_deref(),
        }
    }
}

/// The refusal of a change to someone else's node of the ordinary area, `what` being its
/// href; says who is signed in when someone is.
pub fn not_item_owner(what: &str, p: &Principal) -> Refusal {
    let who = p.user().map_or(String::new(), |u| {
        format!("; you are signed in as {}", u.alias)
    });
    forbidden(
        "item-owner-or-admin",
        format!(
            "{what} was created by another user: only its creator or an admin may change, move or remove it, and a folder counts with everything in it{who}"
        ),
    )
}

/// How a free/busy message may be written by the requester.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FbAccess {
    /// Any message (no authentication, an admin, or `--permissions legacy`).
    Any,
    /// Only the message whose subject is this (the requester's own).
    Own(Subject),
}

impl AuthSettings {
    /// Wide open: what tests of the protocol itself and `--auth none` use.
    pub fn open() -> Self {
        AuthSettings {
            mode: AuthMode::None,
            ..AuthSettings::default()
        }
    }

    /// `/metrics`: the read rule unless `--metrics anonymous` opens it.
    pub fn metrics(&self, p: &Principal) -> Result<(), Refusal> {
        match self.metrics {
            MetricsAccess::Anonymous => Ok(()),
            MetricsAccess::Read => self.read(p),
        }
    }

    /// Reads of the free/busy query, the WebDAV tree and the browse pages.
    pub fn read(&self, p: &Principal) -> Result<(), Refusal> {
        if self.mode == AuthMode::None || self.read == ReadAccess::Anonymous {
            return Ok(());
        }
        match p {
            Principal::User(_) => Ok(()),
            Principal::Anonymous => Err(unauthenticated(
                "read-authenticated",
                "this server is run with --read authenticated: sign in with Basic credentials to read",
            )),
        }
    }

    /// Any write: who is writing. `Ok(None)` when nobody signs in (`--auth none`).
    pub fn writer<'p>(&self, p: &'p Principal) -> Result<Option<&'p SignedIn>, Refusal> {
        if self.mode == AuthMode::None {
            return Ok(None);
        }
        match p {
            Principal::User(u) => Ok(Some(u)),
            Principal::Anonymous => Err(unauthenticated(
                "write-authenticated",
                "writes need Basic credentials (a directory user with a password set by `schedplus directory passwd`)",
            )),
        }
    }

    /// A write to a free/busy message in `folder`; `subject` is the message's when it
    /// exists (for a new one, the store checks the subject it ends up with).
    pub fn fb_message(
        &self,
        p: &Principal,
        folder: &AdminGroup,
        subject: Option<&str>,
    ) -> Result<FbAccess, Refusal> {
        let Some(u) = self.writer(p)? else {
            return Ok(FbAccess::Any);
        };
        if u.admin || self.permissions == Permissions::Legacy {
            return Ok(FbAccess::Any);
        }
        let own_folder = u.legacy_dn.admin_group();
        let own = u.legacy_dn.subject();
        let mine = own_folder.key() == folder.key()
            && subject.is_none_or(|s| crate::protocol::legacy_dn::fold_key(s) == own.key());
        if mine {
            Ok(FbAccess::Own(own))
        } else {
            Err(not_owner(
                u,
                &format!(
                    "{}{}",
                    folder.as_str(),
                    subject.map_or(String::new(), |s| format!(" {s}"))
                ),
            ))
        }
    }

    /// A write to the store data of the user `owner` (their calendar, a republish).
    pub fn user_data(&self, p: &Principal, owner: &LegacyDn) -> Result<(), Refusal> {
        let Some(u) = self.writer(p)? else {
            return Ok(());
        };
        if u.admin || self.permissions == Permissions::Legacy || u.legacy_dn.key() == owner.key() {
            return Ok(());
        }
        Err(not_owner(u, owner.as_str()))
    }

    /// The same refusal for a message whose subject turned out not to be the writer's.
    pub fn not_own_subject(&self, p: &Principal, subject: &str) -> Refusal {
        match p.user() {
            Some(u) => not_owner(u, subject),
            None => unauthenticated("write-authenticated", "writes need Basic credentials"),
        }
    }

    /// A change to an existing item or folder of the ordinary area, created by `owner` (a
    /// legacyDN key; `None`: created without authentication, so only admins may).
    pub fn item(&self, p: &Principal, owner: Option<&str>, what: &str) -> Result<(), Refusal> {
        let Some(u) = self.writer(p)? else {
            return Ok(());
        };
        if u.admin || owner.is_some_and(|o| o == u.legacy_dn.key()) {
            return Ok(());
        }
        Err(not_item_owner(what, p))
    }

    /// Who writes in the ordinary area, for the store: anyone signed in may create, and
    /// owns what they create; unless they are an admin (or nobody signs in), every node
    /// they change or remove must be theirs. The store checks that under its write lock,
    /// so this is the one place the rule is applied to existing nodes ([`Self::item`] only
    /// answers early, before a PUT's body is read).
    pub fn item_actor(&self, p: &Principal) -> Result<ItemActor, Refusal> {
        let writer = self.writer(p)?;
        Ok(ItemActor {
            owner: writer.map(|u| u.legacy_dn.key()),
            must_own: writer.filter(|u| !u.admin).map(|u| u.legacy_dn.key()),
        })
    }

    /// Creating or deleting an admin-group folder of `SCHEDULE+ FREE BUSY`.
    pub fn fb_folder(&self, p: &Principal) -> Result<(), Refusal> {
        let Some(u) = self.writer(p)? else {
            return Ok(());
        };
        if u.admin || self.permissions == Permissions::Legacy {
            return Ok(());
        }
        Err(forbidden(
            "admin-only",
            format!(
                "admin-group folders are created and deleted by admins (`schedplus directory admin USER`); you are signed in as {}",
                u.alias
            ),
        ))
    }

    /// The admin API, for a requester without the data directory's token.
    pub fn admin(&self, p: &Principal) -> Result<(), Refusal> {
        match p {
            Principal::User(u) if u.admin => Ok(()),
            Principal::User(u) => Err(forbidden(
                "admin-only",
                format!(
                    "the admin API needs an admin (`schedplus directory admin USER`) or the token in the data directory's server.json; you are signed in as {}",
                    u.alias
                ),
            )),
            Principal::Anonymous => Err(Refusal {
                kind: if self.mode == AuthMode::Basic {
                    RefusalKind::SignIn
                } else {
                    RefusalKind::Forbidden
                },
                rule: "admin-only",
                message: "the admin API needs the token from the data directory's server.json (the schedplus CLI sends it) or an admin's Basic credentials".into(),
            }),
        }
    }
}

fn not_owner(u: &SignedIn, what: &str) -> Refusal {
    forbidden(
        "owner-or-admin",
        format!(
            "only its owner or an admin may write the free/busy of {what}; you are signed in as {} ({}). `--permissions legacy` lets any signed-in user write any free/busy, as Exchange 2003 did",
            u.alias,
            u.legacy_dn.as_str()
        ),
    )
}

// ---- credentials -----------------------------------------------------------------------

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
    use super::RefusalKind::{Forbidden, SignIn};
    use super::*;
    use crate::store::UserRecord;
    use crate::store::testutil::temp_store;

    fn user(alias: &str, ou: &str) -> UserRecord {
        UserRecord {
            legacy_dn: LegacyDn::parse(&format!("/o=Org/ou={ou}/cn=Recipients/cn={alias}"))
                .unwrap(),
            mail: format!("{alias}@org.example"),
            display_name: alias.to_string(),
            alias: alias.to_string(),
            proxy_addresses: vec![],
        }
    }

    fn signed(u: &UserRecord, admin: bool) -> Principal {
        Principal::User(SignedIn {
            legacy_dn: u.legacy_dn.clone(),
            alias: u.alias.clone(),
            admin,
        })
    }

    #[test]
    fn sign_in_by_any_name_and_the_cache_follows_password_changes() {
        let (_d, s) = temp_store();
        let dan = user("dan", "AG");
        s.import_users(std::slice::from_ref(&dan)).unwrap();
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

    #[test]
    fn rules() {
        let dan = user("dan", "AG");
        let ann = user("ann", "AG");
        let ag = dan.legacy_dn.admin_group();
        let other_ag = AdminGroup::parse("EX:/o=Org/ou=Other").unwrap();
        let dan_subject = dan.legacy_dn.subject();
        let ann_subject = ann.legacy_dn.subject();
        let basic = AuthSettings::default();
        let legacy = AuthSettings {
            permissions: Permissions::Legacy,
            ..basic
        };
        let closed = AuthSettings {
            read: ReadAccess::Authenticated,
            ..basic
        };
        let anon = Principal::Anonymous;
        let p_dan = signed(&dan, false);
        let p_admin = signed(&ann, true);

        // Reads.
        assert!(basic.read(&anon).is_ok());
        assert_eq!(closed.read(&anon).unwrap_err().kind, SignIn);
        assert!(closed.read(&p_dan).is_ok());
        assert!(AuthSettings::open().read(&anon).is_ok());

        // Free/busy messages.
        let e = basic.fb_message(&anon, &ag, None).unwrap_err();
        assert_eq!((e.kind, e.rule), (SignIn, "write-authenticated"));
        assert_eq!(
            basic
                .fb_message(&p_dan, &ag, Some(dan_subject.as_str()))
                .unwrap(),
            FbAccess::Own(dan_subject.clone())
        );
        assert_eq!(
            basic.fb_message(&p_dan, &ag, None).unwrap(),
            FbAccess::Own(dan_subject.clone())
        );
        let e = basic
            .fb_message(&p_dan, &ag, Some(ann_subject.as_str()))
            .unwrap_err();
        assert_eq!((e.kind, e.rule), (Forbidden, "owner-or-admin"));
        assert!(e.message.contains("dan"), "{}", e.message);
        assert!(basic.fb_message(&p_dan, &other_ag, None).is_err());
        assert_eq!(
            basic.fb_message(&p_admin, &other_ag, None).unwrap(),
            FbAccess::Any
        );
        assert_eq!(
            legacy
                .fb_message(&p_dan, &ag, Some(ann_subject.as_str()))
                .unwrap(),
            FbAccess::Any
        );
        assert_eq!(
            legacy.fb_message(&anon, &ag, None).unwrap_err().kind,
            SignIn
        );
        assert_eq!(
            AuthSettings::open().fb_message(&anon, &ag, None).unwrap(),
            FbAccess::Any
        );

        // Calendars.
        assert!(basic.user_data(&p_dan, &dan.legacy_dn).is_ok());
        assert_eq!(
            basic.user_data(&p_dan, &ann.legacy_dn).unwrap_err().rule,
            "owner-or-admin"
        );
        assert!(basic.user_data(&p_admin, &dan.legacy_dn).is_ok());
        assert!(legacy.user_data(&p_dan, &ann.legacy_dn).is_ok());

        // Ordinary items.
        let dan_key = dan.legacy_dn.key();
        assert_eq!(
            basic.item_actor(&p_dan).unwrap().owner,
            Some(dan_key.clone())
        );
        assert_eq!(basic.item_actor(&anon).unwrap_err().kind, SignIn);
        assert!(basic.item(&p_dan, Some(&dan_key), "x").is_ok());
        let e = basic
            .item(&p_dan, Some("/o=org/cn=other"), "x")
            .unwrap_err();
        assert_eq!((e.kind, e.rule), (Forbidden, "item-owner-or-admin"));
        assert!(
            basic.item(&p_dan, None, "x").is_err(),
            "ownerless: admins only"
        );
        assert!(
            legacy.item(&p_dan, None, "x").is_err(),
            "legacy is about free/busy"
        );
        assert!(basic.item(&p_admin, None, "x").is_ok());

        // Admin-group folders and the admin API.
        assert_eq!(basic.fb_folder(&p_dan).unwrap_err().rule, "admin-only");
        assert!(basic.fb_folder(&p_admin).is_ok());
        assert!(legacy.fb_folder(&p_dan).is_ok());
        assert_eq!(basic.admin(&p_dan).unwrap_err().kind, Forbidden);
        assert_eq!(basic.admin(&anon).unwrap_err().kind, SignIn);
        assert_eq!(
            AuthSettings::open().admin(&anon).unwrap_err().kind,
            Forbidden
        );
        assert!(legacy.admin(&p_admin).is_ok());
        assert!(
            legacy.admin(&p_dan).is_err(),
            "legacy never opens the admin API"
        );
    }

    #[test]
    fn settings_parse_and_print() {
        for s in ["none", "basic"] {
            assert_eq!(s.parse::<AuthMode>().unwrap().to_string(), s);
        }
        assert_eq!(
            "Legacy".parse::<Permissions>().unwrap(),
            Permissions::Legacy
        );
        assert_eq!(
            "x".parse::<ReadAccess>().unwrap_err(),
            "write anonymous or authenticated"
        );
    }
}
