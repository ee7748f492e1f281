//! The access settings (`--auth`, `--read`, `--permissions`, `--metrics`) and the rules
//! that apply them: [`AuthSettings`]' methods, each refusing with a [`Refusal`] that names
//! it (the list of rules is in the `auth` module's doc).
//!
//! Must not touch: HTTP, passwords, the store's data (owners are checked by the store,
//! against the [`Writer`] built here).

use std::fmt;
use std::str::FromStr;

use super::{Principal, Refusal, RefusalKind, SignedIn};
use crate::protocol::legacy_dn::LegacyDn;
use crate::store::{OwnerRule, WriteRefused, Writer};

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

/// A write the store refused under an owner rule, as the rule's refusal: a 403 named
/// `owner-or-admin` (free/busy) or `item-owner-or-admin` (the ordinary area), saying who
/// is signed in. The one place a [`WriteRefused`] becomes a [`Refusal`].
pub fn refused_write(r: &WriteRefused) -> Refusal {
    let who = if r.writer.is_empty() {
        String::new()
    } else {
        format!("; you are signed in as {}", r.writer)
    };
    match r.rule {
        OwnerRule::FreeBusy => forbidden(
            "owner-or-admin",
            format!(
                "{r}{who}. `--permissions legacy` lets any signed-in user write any free/busy, as Exchange 2003 did"
            ),
        ),
        OwnerRule::Item => forbidden("item-owner-or-admin", format!("{r}{who}")),
    }
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
        self.signed_in(p, "writes need")
    }

    /// Any method on a user's calendar, reads included (a calendar holds event details):
    /// who is asking, refused under the same rule as a write, with its own sentence.
    pub fn calendar_user<'p>(&self, p: &'p Principal) -> Result<Option<&'p SignedIn>, Refusal> {
        self.signed_in(
            p,
            "a calendar holds event details: reading or changing it needs",
        )
    }

    /// Rule `write-authenticated`: someone signed in, unless nobody signs in. `need` starts
    /// the refusal's sentence ("writes need").
    fn signed_in<'p>(&self, p: &'p Principal, need: &str) -> Result<Option<&'p SignedIn>, Refusal> {
        if self.mode == AuthMode::None {
            return Ok(None);
        }
        match p {
            Principal::User(u) => Ok(Some(u)),
            Principal::Anonymous => Err(unauthenticated(
                "write-authenticated",
                format!(
                    "{need} Basic credentials (a directory user with a password set by `schedplus directory passwd`)"
                ),
            )),
        }
    }

    /// Who writes a free/busy message, for the store, which applies the owner rule under
    /// its write lock: an admin, anyone under `--permissions legacy` and everyone under
    /// `--auth none` may write any; anyone else only their own.
    pub fn fb_writer(&self, p: &Principal) -> Result<Writer, Refusal> {
        Ok(match self.writer(p)? {
            None => Writer::ANYONE,
            Some(u) => Writer::user(
                &u.legacy_dn,
                &u.alias,
                u.admin || self.permissions == Permissions::Legacy,
            ),
        })
    }

    /// The early, read-only check of the store's rule for the data of the user `owner`
    /// (their calendar, a republish): the same predicate the store applies under its write
    /// lock to each calendar write ([`Writer::may_write_user`]), asked before a calendar's
    /// body is read, and for what does not write a calendar (a read of it, a republish).
    pub fn user_data(&self, p: &Principal, owner: &LegacyDn) -> Result<(), Refusal> {
        self.fb_writer(p)?
            .may_write_user(owner)
            .map_err(|r| refused_write(&r))
    }

    /// Who writes in the ordinary area, for the store: anyone signed in may create, and
    /// owns what they create; unless they are an admin (or nobody signs in), every node
    /// they change or remove must be theirs. The store checks that under its write lock.
    pub fn item_writer(&self, p: &Principal) -> Result<Writer, Refusal> {
        Ok(match self.writer(p)? {
            None => Writer::ANYONE,
            Some(u) => Writer::user(&u.legacy_dn, &u.alias, u.admin),
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

#[cfg(test)]
mod tests {
    use super::RefusalKind::{Forbidden, SignIn};
    use super::*;
    use crate::auth::tests::{signed, user};

    #[test]
    fn rules() {
        let dan = user("dan", "AG");
        let ann = user("ann", "AG");
        let ag = dan.legacy_dn.admin_group();
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

        // Free/busy messages: who writes; the store applies the owner rule to them.
        let e = basic.fb_writer(&anon).unwrap_err();
        assert_eq!((e.kind, e.rule), (SignIn, "write-authenticated"));
        let w = basic.fb_writer(&p_dan).unwrap();
        assert_eq!((w.key.clone(), w.any), (Some(dan.legacy_dn.key()), false));
        assert!(basic.fb_writer(&p_admin).unwrap().any);
        assert!(legacy.fb_writer(&p_dan).unwrap().any);
        assert_eq!(legacy.fb_writer(&anon).unwrap_err().kind, SignIn);
        assert_eq!(
            AuthSettings::open().fb_writer(&anon).unwrap(),
            Writer::ANYONE
        );
        // The store's refusal becomes the rule's, naming who asked.
        let e = refused_write(&w.refused(OwnerRule::FreeBusy, ag.as_str()));
        assert_eq!((e.kind, e.rule), (Forbidden, "owner-or-admin"));
        assert!(e.message.contains("dan"), "{}", e.message);

        // Calendars.
        assert!(basic.user_data(&p_dan, &dan.legacy_dn).is_ok());
        assert_eq!(
            basic.user_data(&p_dan, &ann.legacy_dn).unwrap_err().rule,
            "owner-or-admin"
        );
        assert!(basic.user_data(&p_admin, &dan.legacy_dn).is_ok());
        assert!(legacy.user_data(&p_dan, &ann.legacy_dn).is_ok());

        // Ordinary items.
        let w = basic.item_writer(&p_dan).unwrap();
        assert_eq!((w.key.clone(), w.any), (Some(dan.legacy_dn.key()), false));
        assert_eq!(basic.item_writer(&anon).unwrap_err().kind, SignIn);
        assert!(basic.item_writer(&p_admin).unwrap().any);
        assert!(
            !legacy.item_writer(&p_dan).unwrap().any,
            "legacy is about free/busy"
        );
        let e = refused_write(&w.refused(OwnerRule::Item, "/public/x"));
        assert_eq!((e.kind, e.rule), (Forbidden, "item-owner-or-admin"));
        assert!(
            e.message.contains("/public/x") && e.message.contains("dan"),
            "{}",
            e.message
        );

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
