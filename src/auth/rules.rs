//! The access settings (`--auth`, `--read`, `--permissions`, `--metrics`) and the rules
//! that apply them: [`AuthSettings`]' methods, each refusing with a [`Refusal`] that names
//! it (the list of rules is in the `auth` module's doc).
//!
//! Must not touch: HTTP, passwords, the store (owners are passed in).

use std::fmt;
use std::str::FromStr;

use super::{Principal, Refusal, RefusalKind, SignedIn};
use crate::protocol::legacy_dn::{AdminGroup, LegacyDn, Subject};

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
