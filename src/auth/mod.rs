//! Who is asking, and what they may do (issue 5).
//!
//! Owns the three settings ([`AuthMode`] `--auth`, [`ReadAccess`] `--read`, [`Permissions`]
//! `--permissions`), passwords ([`hash_password`], [`verify_password`]: Argon2id PHC
//! strings; the store keeps only those), Basic credentials ([`parse_basic`]), the
//! [`Authenticator`] that turns credentials into a [`Principal`] (with a cache so a client
//! that sends Basic on every request pays Argon2 once, not per request), and the rules
//! ([`AuthSettings`]' methods), each of which refuses with a [`Refusal`] naming itself.
//! This file holds who asks ([`Principal`]) and the refusal; one file each for the rest:
//! `rules.rs` (the settings and the rules), `password.rs` (Argon2 hashing and checking),
//! `hash_pool.rs` (the hashing threads), `basic.rs` (the `Authorization` header) and
//! `authenticator.rs` (credentials to a user, with the cache).
//!
//! The rules, by name (`docs/behaviour.md` has the table):
//! * `read-authenticated`: with `--read authenticated`, reads need credentials (401).
//! * `write-authenticated`: with `--auth basic`, every write needs credentials (401).
//! * `owner-or-admin`: a free/busy message (and a user's calendar) is written by the user
//!   whose legacyDN it belongs to, or by an admin; `--permissions legacy` lets any signed-in
//!   user write any of them, as Exchange 2003 did.
//! * `item-owner-or-admin`: an item or folder of the ordinary public-folder area is changed
//!   or deleted by the user who created it, or by an admin; any signed-in user may create.
//!
//!   Both owner rules are applied by the store, under its write lock, to the
//!   [`crate::store::Writer`] that `fb_writer` / `item_writer` build here; its refusal
//!   comes back once and becomes the rule's 403 in [`refused_write`].
//! * `admin-only`: admin-group folders and the admin API (`--permissions legacy` opens the
//!   folders to any signed-in user, never the admin API).
//!
//! Must not know about HTTP: a refusal says whether credentials would help
//! ([`RefusalKind`]); the transport turns that into 401 or 403.

mod authenticator;
mod basic;
mod hash_pool;
mod password;
mod rules;

pub use authenticator::{Authenticator, Lookup, SignInFailure};
pub use basic::{CHALLENGE, REALM, parse_basic};
pub use hash_pool::{HASH_QUEUE, HashBusy, HashPool, constant_time_eq};
pub use password::{
    MAX_PASSWORD_BYTES, MAX_USER_BYTES, PasswordError, check_hash, check_new_password,
    hash_password, verify_password, verify_password_with,
};
pub use rules::{AuthMode, AuthSettings, MetricsAccess, Permissions, ReadAccess, refused_write};

use std::fmt;

use crate::protocol::legacy_dn::LegacyDn;

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

/// Directory users for the rules' and the authenticator's tests.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::UserRecord;

    pub(super) fn user(alias: &str, ou: &str) -> UserRecord {
        UserRecord {
            legacy_dn: LegacyDn::parse(&format!("/o=Org/ou={ou}/cn=Recipients/cn={alias}"))
                .unwrap(),
            mail: format!("{alias}@org.example"),
            display_name: alias.to_string(),
            alias: alias.to_string(),
            proxy_addresses: vec![],
        }
    }

    pub(super) fn signed(u: &UserRecord, admin: bool) -> Principal {
        Principal::User(SignedIn {
            legacy_dn: u.legacy_dn.clone(),
            alias: u.alias.clone(),
            admin,
        })
    }
}
