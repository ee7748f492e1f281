//! Who writes, and the one refusal of a write to someone else's data.
//!
//! Authorization is decided here, once, under the store's write lock: `auth` says who is
//! writing and how far their rights go (a [`Writer`]); each write (`fb_patch`,
//! `fb_delete_at`, the `pf_*` writes, `put_calendar`, `delete_calendar`,
//! `note_refused_calendar`) checks the data it is about to change against it, so
//! nothing can change hands between a check and the write, and a refusal
//! ([`WriteRefused`]) comes back from that one place. The transport turns it into the
//! rule's 403 (`auth::refused_write`).
//!
//! Must not touch: HTTP, the access settings (`auth` builds the writer).

use std::fmt;

use crate::protocol::legacy_dn::{AdminGroup, LegacyDn, Subject, fold_key};

/// Who is writing, as the store checks it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Writer {
    /// The writer's legacyDN key: recorded as the owner of the ordinary nodes they create
    /// and compared with the owner of what they change. `None` when nobody signs in
    /// (`--auth none`, tools).
    pub key: Option<String>,
    /// May change anything (an admin, `--auth none`; for free/busy also
    /// `--permissions legacy`).
    pub any: bool,
    /// How a refusal names the writer: `alias (legacyDN)`.
    pub who: String,
}

impl Writer {
    /// Nobody in particular: no owner recorded, nothing checked (`--auth none`, tools).
    pub const ANYONE: Writer = Writer {
        key: None,
        any: true,
        who: String::new(),
    };

    /// The signed-in user `dn`, called `alias`; `any` as the rule in force says.
    pub fn user(dn: &LegacyDn, alias: &str, any: bool) -> Writer {
        Writer {
            key: Some(dn.key()),
            any,
            who: format!("{alias} ({})", dn.as_str()),
        }
    }

    /// The legacyDN key every existing node this writer changes must be owned by; `None`
    /// when anything may be changed.
    pub(crate) fn must_own(&self) -> Option<&str> {
        self.key.as_deref().filter(|_| !self.any)
    }

    /// The only free/busy subject this writer may write, in `folder`: `Ok(None)` when any;
    /// `Err` when the writer may write nothing there (their own messages live in their own
    /// admin group).
    pub(crate) fn own_subject(&self, folder: &AdminGroup) -> Result<Option<Subject>, ()> {
        let Some(key) = self.must_own() else {
            return Ok(None);
        };
        let dn = LegacyDn::parse(key).map_err(|_| ())?;
        if dn.admin_group().key() != folder.key() {
            return Err(());
        }
        Ok(Some(dn.subject()))
    }

    /// May this writer change the data of the user `owner`: their calendar, which writes
    /// their free/busy (so the free/busy rule guards it)? The store asks under its write
    /// lock before a calendar write; the transport asks the same, read-only, before it reads
    /// a calendar's body or answers a read of it (`auth::AuthSettings::user_data`).
    pub fn may_write_user(&self, owner: &LegacyDn) -> Result<(), WriteRefused> {
        match self.must_own() {
            Some(key) if key != owner.key() => {
                Err(self.refused(OwnerRule::FreeBusy, owner.as_str()))
            }
            _ => Ok(()),
        }
    }

    /// The refusal of a change to `what`, guarded by `rule`.
    pub(crate) fn refused(&self, rule: OwnerRule, what: impl Into<String>) -> WriteRefused {
        WriteRefused {
            what: what.into(),
            rule,
            writer: self.who.clone(),
        }
    }

    /// Does `subject` name this writer's own message?
    pub(crate) fn owns_subject(own: &Subject, subject: &str) -> bool {
        fold_key(subject) == own.key()
    }
}

/// Which owner rule refused a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerRule {
    /// A free/busy message is written by its owner or an admin.
    FreeBusy,
    /// An item or folder of the ordinary area is changed by its creator or an admin.
    Item,
}

/// A write refused because it would change someone else's data; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteRefused {
    /// What belongs to someone else: a free/busy message (its folder, subject or the value
    /// that named another owner) or an ordinary node's href.
    pub what: String,
    pub rule: OwnerRule,
    /// The writer, as [`Writer::who`] names them.
    pub writer: String,
}

impl fmt::Display for WriteRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule {
            OwnerRule::FreeBusy => write!(
                f,
                "only its owner or an admin may write the free/busy of {}",
                self.what
            ),
            OwnerRule::Item => write!(
                f,
                "{} was created by another user: only its creator or an admin may change, move or remove it, and a folder counts with everything in it",
                self.what
            ),
        }
    }
}
