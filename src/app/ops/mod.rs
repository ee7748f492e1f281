//! The operations: one type per admin or publishing operation, one file each (as
//! mini-redis's `cmd/`).
//!
//! Each operation is its own request type: it carries its route under `/_schedplus`
//! ([`Operation::ROUTE`]), its report type and [`Operation::run`], the one place its work
//! is done against a [`Ctx`]. The operations that take one user and nothing more share one
//! request, [`ForUser`], and say only what they do with the user ([`OnUser`]). Each file
//! has the operation's work first, then its types. The CLI runs an operation directly when it holds the store
//! and posts the same value as JSON to `ROUTE` otherwise (`cli::client`); the admin API
//! (`transport::admin_api`) is one table of routes to one generic handler, and the
//! calendars routes (`transport::calendars`) build the same types. So every route and every
//! operation is written once, and both ways behave identically. Requests and reports are
//! serde types: they are the admin API's JSON.
//!
//! Sits in `app`: uses `store`, `publishing`, `auth` and `protocol`; never HTTP types.

mod calendar_delete;
mod calendar_get;
mod calendar_put;
mod check;
mod cleanup;
mod directory_admin;
mod directory_import;
mod directory_list;
mod directory_passwd;
mod fault_add;
mod fault_clear;
mod fault_list;
mod fb_delete;
mod fb_set;
mod fb_show;
mod lint;
mod republish;

pub use calendar_delete::{CalendarDelete, CalendarDeleteReport};
pub use calendar_get::{CalendarGet, CalendarGetReport};
pub use calendar_put::{CalendarPutReport, CalendarPutRequest};
pub use check::{
    CheckReport, CheckRequest, CheckedGrid, CheckedUser, SlotDifference, ThreeViews, three_views,
};
pub use cleanup::Cleanup;
pub use directory_admin::AdminMarkRequest;
pub use directory_import::{DryRunList, ImportPreview, ImportReport, ImportRequest};
pub use directory_list::{GroupSummary, ListGroups, ListUsers};
pub use directory_passwd::PasswdRequest;
pub use fault_add::FaultAddRequest;
pub use fault_clear::FaultClearRequest;
pub use fault_list::{FaultList, FaultReport, Faults, ListedRule};
pub use fb_delete::{FbDelete, FbDeleteReport};
pub use fb_set::{FbSetReport, FbSetRequest, parse_span};
pub use fb_show::{FbShowReport, FbShowRequest, ShowWindow, ShownMessage};
pub use lint::{
    LINT_PAGE, LintCursor, LintReport, LintRequest, MAX_LINT_PAGE, directory_lookup, lint_record,
};
pub use republish::{RepublishReport, RepublishRequest};

/// The requests of the operations that take one user and nothing more.
pub type CalendarGetRequest = ForUser<CalendarGet>;
pub type CalendarDeleteRequest = ForUser<CalendarDelete>;
pub type FbDeleteRequest = ForUser<FbDelete>;

use std::marker::PhantomData;

use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Error;
use crate::app::Clock;
use crate::protocol::freebusy::MAX_PUBLISH_MONTHS;
use crate::protocol::pffb::PublisherStyle;
use crate::protocol::time::parse_time;
use crate::publishing::publisher::PublishSettings;
use crate::store::{Store, UserRecord, Writer};

/// An admin or publishing operation: its route, its report and its work.
pub trait Operation: Serialize + DeserializeOwned + Send + 'static {
    /// The path under `/_schedplus` it is posted to.
    const ROUTE: &'static str;
    /// Also answered to `GET` (an operation that changes nothing and takes no fields).
    const READ_ONLY: bool = false;
    type Report: Serialize + DeserializeOwned + Send + 'static;
    fn run(self, ctx: &Ctx) -> Result<Self::Report, Error>;
    /// A file on the server's machine this request would make the server read (an import
    /// by path). The admin API takes such a request only with the token of `server.json`,
    /// which only a user of that machine who may read the data directory holds; an admin
    /// signed in over HTTP must send the file's content instead.
    fn server_file(&self) -> Option<&std::path::Path> {
        None
    }
}

/// The request of an operation that takes one user and nothing more: its JSON is
/// `{"user": ...}` (SMTP address, alias or legacyDN); `K` says which operation.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ForUser<K> {
    pub user: String,
    #[serde(skip)]
    kind: PhantomData<fn() -> K>,
}

impl<K> ForUser<K> {
    pub fn new(user: impl Into<String>) -> Self {
        ForUser {
            user: user.into(),
            kind: PhantomData,
        }
    }
}

impl<K> Clone for ForUser<K> {
    fn clone(&self) -> Self {
        ForUser::new(self.user.clone())
    }
}

impl<K> std::fmt::Debug for ForUser<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForUser").field("user", &self.user).finish()
    }
}

/// An operation on one user and nothing more: its route, its report and its work on the
/// user, found once for all of them (by [`ForUser`]'s `run`).
pub trait OnUser: 'static {
    const ROUTE: &'static str;
    type Report: Serialize + DeserializeOwned + Send + 'static;
    fn run_on(ctx: &Ctx, user: UserRecord) -> Result<Self::Report, Error>;
}

impl<K: OnUser> Operation for ForUser<K> {
    const ROUTE: &'static str = K::ROUTE;
    type Report = K::Report;

    fn run(self, ctx: &Ctx) -> Result<K::Report, Error> {
        K::run_on(ctx, ctx.store.resolve_user(&self.user)?)
    }
}

/// What an operation runs against: the store, the clock, the publish settings (the
/// server's, or the defaults for a CLI without a server), the calendar size limit and who
/// writes (the store checks each calendar write against it).
#[derive(Clone)]
pub struct Ctx {
    pub store: Store,
    pub clock: Clock,
    pub publish: PublishSettings,
    /// The largest calendar `calendar/put` takes; `None` where the caller checked already
    /// (the CLI checks the file, `--calendar-dir` each file it reads).
    pub max_calendar_bytes: Option<usize>,
    /// Who writes, for the writes the store authorizes (a user's calendar): anyone for the
    /// CLI and the admin API; the signed-in user for `/calendars/`.
    pub writer: Writer,
    /// The running server's fault rules (`fault add|list|clear`); none without a server.
    pub faults: Option<Faults>,
}

impl Ctx {
    /// The system clock, the default publish settings and no calendar limit.
    pub fn new(store: &Store) -> Ctx {
        Ctx {
            store: store.clone(),
            clock: Clock::System,
            publish: PublishSettings::default(),
            max_calendar_bytes: None,
            writer: Writer::ANYONE,
            faults: None,
        }
    }

    pub fn with_faults(self, faults: Faults) -> Ctx {
        Ctx {
            faults: Some(faults),
            ..self
        }
    }

    pub fn with_writer(self, writer: Writer) -> Ctx {
        Ctx { writer, ..self }
    }

    pub fn with_clock(self, clock: Clock) -> Ctx {
        Ctx { clock, ..self }
    }

    pub fn with_publish(self, publish: PublishSettings) -> Ctx {
        Ctx { publish, ..self }
    }

    pub fn with_max_calendar_bytes(self, max: usize) -> Ctx {
        Ctx {
            max_calendar_bytes: Some(max),
            ..self
        }
    }

    /// The request's `now` (the CLI's `--now`) or the clock's.
    fn now(&self, now: Option<&str>) -> Result<Timestamp, Error> {
        match now {
            Some(s) => parse_time(s).map_err(|e| Error::BadInput(format!("--now: {e}"))),
            None => Ok(self.clock.now()),
        }
    }
}

/// A user as listings show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub display_name: String,
    pub mail: String,
    pub alias: String,
    pub legacy_dn: String,
    pub admin_group: String,
    pub other_smtp: Vec<String>,
    /// Marked with `schedplus directory admin`.
    #[serde(default)]
    pub admin: bool,
    /// A password is set (`schedplus directory passwd`), so the user can sign in.
    #[serde(default)]
    pub password: bool,
}

impl From<&UserRecord> for UserSummary {
    fn from(u: &UserRecord) -> Self {
        UserSummary {
            display_name: u.display_name.clone(),
            mail: u.mail.clone(),
            alias: u.alias.clone(),
            legacy_dn: u.legacy_dn.as_str().to_string(),
            admin_group: u.legacy_dn.admin_group().as_str().to_string(),
            other_smtp: u.smtp_addresses().into_iter().skip(1).collect(),
            admin: false,
            password: false,
        }
    }
}

/// What a credential change did (`directory passwd`, `directory admin`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialReport {
    pub user: String,
    pub legacy_dn: String,
    pub had_password: bool,
    pub has_password: bool,
    pub was_admin: bool,
    pub admin: bool,
}

fn change_credential(
    store: &Store,
    user: &str,
    change: impl FnOnce(&mut crate::store::Credential),
) -> Result<CredentialReport, Error> {
    let u = store.resolve_user(user)?;
    let (before, after) = store.update_credential(&u.legacy_dn, change)?;
    Ok(CredentialReport {
        user: u.alias.clone(),
        legacy_dn: u.legacy_dn.as_str().to_string(),
        had_password: before.password_hash.is_some(),
        has_password: after.password_hash.is_some(),
        was_admin: before.admin,
        admin: after.admin,
    })
}

/// A request's number, or `default` when it gives none, refused in the words of `refuse`
/// unless it is in `range`.
fn checked<T: PartialOrd + Copy>(
    value: Option<T>,
    default: T,
    range: std::ops::RangeInclusive<T>,
    refuse: impl FnOnce(T) -> String,
) -> Result<T, Error> {
    let v = value.unwrap_or(default);
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(Error::BadInput(refuse(v)))
    }
}

/// Apply a request's overrides to `base`.
pub fn publish_settings(
    base: &PublishSettings,
    months: Option<u8>,
    style: Option<PublisherStyle>,
    default_tz: Option<&str>,
) -> Result<PublishSettings, Error> {
    let mut s = base.clone();
    if let Some(m) = months {
        if !(1..=MAX_PUBLISH_MONTHS).contains(&m) {
            return Err(Error::BadInput(format!(
                "--publish-months {m}: publish 1 to {MAX_PUBLISH_MONTHS} months"
            )));
        }
        s.months = m;
    }
    if let Some(st) = style {
        s.style = st;
    }
    if let Some(name) = default_tz {
        s.expand.default_tz = parse_zone(name)?;
    }
    Ok(s)
}

/// An IANA time zone name, for `--default-tz`.
pub fn parse_zone(name: &str) -> Result<jiff::tz::TimeZone, Error> {
    jiff::tz::TimeZone::get(name.trim()).map_err(|_| {
        Error::BadInput(format!(
            "'{name}' is not an IANA time zone name (e.g. UTC, Europe/Paris, America/Los_Angeles)"
        ))
    })
}
