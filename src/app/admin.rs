//! The admin operations: what `schedplus directory …`, `fb …`, `calendar …`,
//! `cleanfreebusy`, `updatefb` and `cleanup` do.
//!
//! Owns the request and report types of each operation and the one function that carries
//! it out against a [`Store`]. The CLI calls these directly when it holds the store, and
//! the server's `/_schedplus/` API calls the very same functions for a CLI that reaches it
//! over HTTP (see `cli::client`), so both paths behave identically. Reports are
//! serde types: they are the admin API's JSON.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::app::Clock;
use crate::protocol::directory_file::{self, DirectoryFormat, TextEncoding};
use crate::protocol::fb_message::build_props;
use crate::protocol::freebusy::{
    DEFAULT_PUBLISH_MONTHS, FbStatus, FreeBusy, Interval, MAX_PUBLISH_MONTHS, PublishRange,
};
use crate::protocol::pffb::PublisherStyle;
use crate::protocol::raster::{self, SlotGrid};
use crate::protocol::time::{Minutes1601, format_rfc3339, parse_time};
use crate::publishing::calendar;
use crate::publishing::publisher::{PublishError, PublishSettings, Republished, republish_user};
use crate::store::{
    CalendarChange, CalendarRecord, CalendarSource, CleanupReport, ImportSummary, PublishOutcome,
    PublishedMessage, Refusal, Store, StoreError, UserRecord,
};

/// Why an admin operation failed; one mapping to HTTP status and one to exit code.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Store(StoreError),
    /// The server could not be reached or answered something unexpected.
    #[error("{0}")]
    Transport(String),
    /// Some items of a batch (`cleanfreebusy`, `updatefb`) failed; each was reported.
    #[error("{0}")]
    Partial(String),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => AdminError::NotFound(m),
            StoreError::Conflict(m) => AdminError::Conflict(m),
            StoreError::Refused(r) => AdminError::Conflict(r.to_string()),
            other => AdminError::Store(other),
        }
    }
}

impl AdminError {
    /// 2 for input the user can fix, 3 for a name that is not there, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            AdminError::BadInput(_) | AdminError::Conflict(_) => 2,
            AdminError::NotFound(_) => 3,
            AdminError::Store(_) | AdminError::Transport(_) | AdminError::Partial(_) => 1,
        }
    }

    /// The `kind` field of the admin API's error JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            AdminError::BadInput(_) => "bad_input",
            AdminError::NotFound(_) => "not_found",
            AdminError::Conflict(_) => "conflict",
            AdminError::Store(_) => "store",
            AdminError::Transport(_) => "transport",
            AdminError::Partial(_) => "partial",
        }
    }

    pub fn from_kind(kind: &str, message: String) -> AdminError {
        match kind {
            "bad_input" => AdminError::BadInput(message),
            "not_found" => AdminError::NotFound(message),
            "conflict" => AdminError::Conflict(message),
            _ => AdminError::Transport(message),
        }
    }
}

// ---- directory -------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportRequest {
    /// The export as text (JSON strings are Unicode); empty when `data_base64` is given.
    #[serde(default)]
    pub text: String,
    /// The export's bytes as the file holds them, base64: its encoding (windows-1252,
    /// UTF-16LE, UTF-8 with or without a byte-order mark) is detected here. The CLI sends this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_base64: Option<String>,
    /// `csv` or `ldif`; detected from the text when absent.
    pub format: Option<String>,
    /// Where the text came from, for messages.
    pub source: String,
}

impl ImportRequest {
    /// A request carrying a file's bytes, to be decoded where it is imported.
    pub fn from_bytes(bytes: &[u8], format: Option<String>, source: String) -> ImportRequest {
        use base64::Engine as _;
        ImportRequest {
            text: String::new(),
            data_base64: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            format,
            source,
        }
    }

    /// The export's text and the encoding it was read in.
    fn decoded(&self) -> Result<(std::borrow::Cow<'_, str>, TextEncoding), AdminError> {
        use base64::Engine as _;
        let Some(data) = &self.data_base64 else {
            return Ok((self.text.as_str().into(), TextEncoding::Utf8));
        };
        if !self.text.is_empty() {
            return Err(AdminError::BadInput(
                "send the export as text or as data_base64, not both".into(),
            ));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| AdminError::BadInput(format!("data_base64 is not base64: {e}")))?;
        let (text, encoding) = directory_file::decode_export(&bytes).map_err(|problem| {
            AdminError::BadInput(format!(
                "{}: {}",
                self.source,
                directory_file::DirectoryFileError {
                    problems: vec![problem]
                }
            ))
        })?;
        Ok((text.into(), encoding))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub source: String,
    pub format: String,
    /// The text encoding the export was read in (`windows-1252`, `UTF-16LE with
    /// byte-order mark`…); `UTF-8` for text sent as a JSON string.
    pub encoding: String,
    pub users: usize,
    pub skipped_non_users: usize,
    pub summary: ImportSummary,
}

pub fn import_directory(
    store: &Store,
    clock: &Clock,
    req: &ImportRequest,
) -> Result<ImportReport, AdminError> {
    let (text, encoding) = req.decoded()?;
    let format = match req
        .format
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None => directory_file::detect_format(&text),
        Some("csv") => DirectoryFormat::Csv,
        Some("ldif") => DirectoryFormat::Ldif,
        Some(other) => {
            return Err(AdminError::BadInput(format!(
                "unknown directory format '{other}': use csv or ldif"
            )));
        }
    };
    let parsed = directory_file::parse_directory_detailed(&text, format)
        .map_err(|e| AdminError::BadInput(format!("{}: {e}", req.source)))?;
    let users: Vec<UserRecord> = parsed.entries.into_iter().map(UserRecord::from).collect();
    let summary = store.import_users(&users, clock.now_us())?;
    Ok(ImportReport {
        source: req.source.clone(),
        format: match format {
            DirectoryFormat::Csv => "csv",
            DirectoryFormat::Ldif => "ldif",
        }
        .into(),
        encoding: encoding.name().into(),
        users: users.len(),
        skipped_non_users: parsed.skipped,
        summary,
    })
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

pub fn list_users(store: &Store) -> Result<Vec<UserSummary>, AdminError> {
    store
        .list_users()?
        .iter()
        .map(|u| {
            let cred = store.credential(&u.legacy_dn)?.unwrap_or_default();
            Ok(UserSummary {
                admin: cred.admin,
                password: cred.password_hash.is_some(),
                ..UserSummary::from(u)
            })
        })
        .collect()
}

/// `schedplus directory passwd`: the hash is made by the CLI, so the password itself never
/// travels to the server or into a log. `password_hash: None` removes the password.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PasswdRequest {
    pub user: String,
    pub password_hash: Option<String>,
}

/// `schedplus directory admin`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdminMarkRequest {
    pub user: String,
    pub admin: bool,
}

/// What a credential change did.
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
) -> Result<CredentialReport, AdminError> {
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

pub fn set_password(store: &Store, req: &PasswdRequest) -> Result<CredentialReport, AdminError> {
    if let Some(h) = &req.password_hash {
        crate::auth::check_hash(h).map_err(|e| AdminError::BadInput(e.to_string()))?;
    }
    let hash = req.password_hash.clone();
    change_credential(store, &req.user, |c| c.password_hash = hash)
}

pub fn set_admin(store: &Store, req: &AdminMarkRequest) -> Result<CredentialReport, AdminError> {
    change_credential(store, &req.user, |c| c.admin = req.admin)
}

// ---- free/busy by hand -----------------------------------------------------------------

/// `schedplus fb set`: spans are `START/END` in RFC 3339.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FbSetRequest {
    pub user: String,
    pub busy: Vec<String>,
    pub tentative: Vec<String>,
    pub oof: Vec<String>,
    pub months: Option<u8>,
    pub style: Option<PublisherStyle>,
    /// Overrides the clock for the publish range and timestamp.
    pub now: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FbSetReport {
    pub user: String,
    pub legacy_dn: String,
    pub outcome: PublishOutcome,
    pub removed_duplicates: usize,
    pub range_start: String,
    pub range_end: String,
    /// Spans given that fell outside the publish range, clipped or dropped.
    pub clipped: usize,
}

/// Parse `START/END`.
pub fn parse_span(s: &str) -> Result<Interval, AdminError> {
    let (a, b) = s.split_once('/').ok_or_else(|| {
        AdminError::BadInput(format!(
            "'{s}' is not a span: write START/END, e.g. 2026-11-23T09:00:00Z/2026-11-23T10:00:00Z"
        ))
    })?;
    let t = |x: &str| {
        parse_time(x)
            .map(Minutes1601::from_timestamp)
            .map_err(|e| AdminError::BadInput(format!("in span '{s}': {e}")))
    };
    let (start, end) = (t(a)?, t(b)?);
    Interval::new(start, end)
        .ok_or_else(|| AdminError::BadInput(format!("span '{s}' ends before it starts")))
}

fn effective_now(clock: &Clock, now: Option<&str>) -> Result<Timestamp, AdminError> {
    match now {
        Some(s) => parse_time(s).map_err(|e| AdminError::BadInput(format!("--now: {e}"))),
        None => Ok(clock.now()),
    }
}

pub fn fb_set(store: &Store, clock: &Clock, req: &FbSetRequest) -> Result<FbSetReport, AdminError> {
    let user = store.resolve_user(&req.user)?;
    let months = req.months.unwrap_or(DEFAULT_PUBLISH_MONTHS);
    if !(1..=MAX_PUBLISH_MONTHS).contains(&months) {
        return Err(AdminError::BadInput(format!(
            "--months {months}: publish 1 to {MAX_PUBLISH_MONTHS} months"
        )));
    }
    let now = effective_now(clock, req.now.as_deref())?;
    let range = PublishRange::at(Minutes1601::from_timestamp(now), months);
    let mut spans = Vec::new();
    for (status, list) in [
        (FbStatus::Busy, &req.busy),
        (FbStatus::Tentative, &req.tentative),
        (FbStatus::Oof, &req.oof),
    ] {
        for s in list {
            spans.push((status, parse_span(s)?));
        }
    }
    let window = range.as_interval().expect("publish ranges are never empty");
    let clipped = spans
        .iter()
        .filter(|(_, iv)| iv.intersect(window) != Some(*iv))
        .count();
    let fb = FreeBusy::from_spans(spans);
    let msg = PublishedMessage {
        folder: user.legacy_dn.admin_group(),
        subject: user.legacy_dn.subject(),
        props: build_props(
            &user.legacy_dn,
            &fb,
            range,
            req.style.unwrap_or_default(),
            now,
        ),
    };
    let (outcome, removed_duplicates) = store.publish(&msg, now.as_microsecond())?;
    if outcome != PublishOutcome::Unchanged {
        crate::app::metrics::published("manual");
    }
    Ok(FbSetReport {
        user: user.mail.clone(),
        legacy_dn: user.legacy_dn.as_str().to_string(),
        outcome,
        removed_duplicates,
        range_start: range.start.to_string(),
        range_end: range.end.to_string(),
        clipped,
    })
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FbShowRequest {
    pub user: String,
    pub start: Option<String>,
    pub end: Option<String>,
    pub interval: Option<u32>,
    pub now: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownMessage {
    pub range_start: Option<String>,
    pub range_end: Option<String>,
    /// Per status (`tentative`, `busy`, `oof`): `[start, end]` pairs in RFC 3339.
    pub blocks: Vec<(String, Vec<(String, String)>)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FbShowReport {
    pub user: UserSummary,
    pub message: Option<ShownMessage>,
    pub raster_start: String,
    pub raster_end: String,
    pub interval: u32,
    /// The `fbdata` digits the `?Cmd=freebusy` query answers for this window.
    pub fbdata: String,
}

/// The most digits `fb show` prints.
const MAX_SHOW_SLOTS: i64 = 100_000;

pub fn fb_show(
    store: &Store,
    clock: &Clock,
    req: &FbShowRequest,
) -> Result<FbShowReport, AdminError> {
    let user = store.resolve_user(&req.user)?;
    let now = effective_now(clock, req.now.as_deref())?;
    let time = |s: &Option<String>, name: &str| -> Result<Option<Minutes1601>, AdminError> {
        s.as_deref()
            .map(|v| {
                parse_time(v)
                    .map(Minutes1601::from_timestamp)
                    .map_err(|e| AdminError::BadInput(format!("--{name}: {e}")))
            })
            .transpose()
    };
    let start = time(&req.start, "start")?.unwrap_or(Minutes1601::from_timestamp(now).floor_day());
    let end = time(&req.end, "end")?.unwrap_or(start.plus_minutes(7 * 1440));
    let interval = req.interval.unwrap_or(30);
    if !(1..=1440).contains(&interval) {
        return Err(AdminError::BadInput(format!(
            "--interval {interval}: use 1 to 1440 minutes"
        )));
    }
    if end <= start {
        return Err(AdminError::BadInput("--end must be after --start".into()));
    }
    let slots = (end.0 - start.0 + interval as i64 - 1) / interval as i64;
    if slots > MAX_SHOW_SLOTS {
        return Err(AdminError::BadInput(format!(
            "{slots} slots is too many to show; shorten --start..--end or raise --interval"
        )));
    }
    let grid = SlotGrid {
        start,
        interval: interval as i64,
        slots: slots as usize,
    };
    let stored = store.freebusy_of(&user.legacy_dn.admin_group(), &user.legacy_dn.subject())?;
    let mut digits = Vec::new();
    raster::paint(
        &grid,
        stored.as_ref().map(|s| (&s.fb, s.range)),
        &mut digits,
    );
    let message = stored.map(|s| ShownMessage {
        range_start: s.range.map(|r| r.start.to_string()),
        range_end: s.range.map(|r| r.end.to_string()),
        blocks: FbStatus::MARKED
            .iter()
            .map(|st| {
                let set = s.fb.get(*st).expect("marked");
                (
                    st.name().to_string(),
                    set.iter()
                        .map(|iv| (iv.start().to_string(), iv.end().to_string()))
                        .collect(),
                )
            })
            .collect(),
    });
    Ok(FbShowReport {
        user: UserSummary::from(&user),
        message,
        raster_start: format_rfc3339(start.to_timestamp()),
        raster_end: format_rfc3339(grid.end().to_timestamp()),
        interval,
        fbdata: String::from_utf8(digits).expect("digits are ASCII"),
    })
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FbDeleteRequest {
    pub user: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FbDeleteReport {
    pub user: String,
    pub deleted: usize,
}

pub fn fb_delete(store: &Store, req: &FbDeleteRequest) -> Result<FbDeleteReport, AdminError> {
    let user = store.resolve_user(&req.user)?;
    let deleted =
        store.delete_messages(&user.legacy_dn.admin_group(), &user.legacy_dn.subject())?;
    Ok(FbDeleteReport {
        user: user.mail,
        deleted,
    })
}

// ---- calendars and republishing --------------------------------------------------------

impl From<PublishError> for AdminError {
    fn from(e: PublishError) -> Self {
        match e {
            PublishError::Store(s) => s.into(),
            PublishError::NoCalendar(_) => AdminError::NotFound(e.to_string()),
            PublishError::Calendar(c) => {
                AdminError::BadInput(format!("the stored calendar cannot be published: {c}"))
            }
        }
    }
}

/// Store a user's calendar (`PUT /calendars/…`, `calendar import`, `--calendar-dir`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CalendarPutRequest {
    /// SMTP address, alias or legacyDN.
    pub user: String,
    pub text: String,
    pub source: CalendarSource,
    /// Publish at once instead of leaving it to the poller (for the CLI, which may run
    /// without a server).
    #[serde(default)]
    pub publish_now: bool,
    /// Overrides the clock (the CLI's `--now`) for the check and the publish.
    #[serde(default)]
    pub now: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarPutReport {
    pub user: String,
    pub legacy_dn: String,
    pub events: usize,
    pub change: CalendarChange,
    pub published: Option<Republished>,
    /// RFC 5545 violations read as the writer meant, one sentence each, starting with
    /// `line N:` (see `calendar::Leniency`).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Parse, check that the calendar expands over the current publish range, then store it
/// and queue the user, in one write. A calendar that fails either check is refused with
/// the line and reason; the stored calendar and the published free/busy stay as they were
/// (only a note of the refusal is kept with the stored calendar).
pub fn calendar_put(
    store: &Store,
    clock: &Clock,
    settings: &PublishSettings,
    req: &CalendarPutRequest,
) -> Result<CalendarPutReport, AdminError> {
    let user = store.resolve_user(&req.user)?;
    let now = effective_now(clock, req.now.as_deref())?;
    let checked = calendar::parse(&req.text).and_then(|cal| {
        let window = settings
            .range_at(now)
            .as_interval()
            .expect("publish ranges are never empty");
        // Refused at the door if it can never be published, not only if it fails now.
        cal.check_publishable(window, &settings.expand)?;
        Ok(cal)
    });
    let cal = match checked {
        Ok(cal) => cal,
        Err(e) => {
            crate::app::metrics::calendar_refused(match req.source {
                CalendarSource::Http => "http",
                CalendarSource::Import(_) => "import",
                CalendarSource::Dir(_) => "calendar_dir",
            });
            store.note_refused_calendar(
                &user.legacy_dn,
                Refusal {
                    reason: e.to_string(),
                    source: req.source.clone(),
                    at_us: crate::app::clock::wall_us(),
                },
            )?;
            return Err(AdminError::BadInput(format!(
                "calendar for {} refused ({}): {e}; the previous calendar and its free/busy are unchanged",
                user.mail, req.source
            )));
        }
    };
    let change = store.put_calendar(
        &user.legacy_dn,
        &req.text,
        cal.event_count(),
        req.source.clone(),
        crate::app::clock::wall_us(),
    )?;
    for l in cal.leniencies() {
        crate::app::metrics::calendar_leniency(l.kind);
        // Escaped: the sentence quotes the calendar's own text.
        tracing::warn!(user = %user.mail, source = %req.source.to_string().escape_debug(), kind = l.kind, "calendar read leniently: {}", l.to_string().escape_debug());
    }
    let published = if req.publish_now {
        Some(republish_user(store, &user, now, settings, false)?)
    } else {
        None
    };
    Ok(CalendarPutReport {
        user: user.mail.clone(),
        legacy_dn: user.legacy_dn.as_str().to_string(),
        events: cal.event_count(),
        change,
        published,
        warnings: cal.leniencies().iter().map(ToString::to_string).collect(),
    })
}

/// A stored calendar (for `GET /calendars/…`).
pub fn calendar_get(store: &Store, user: &str) -> Result<(UserRecord, CalendarRecord), AdminError> {
    let user = store.resolve_user(user)?;
    let rec = store
        .calendar(&user.legacy_dn)?
        .ok_or_else(|| AdminError::NotFound(format!("{} has no calendar stored", user.mail)))?;
    Ok((user, rec))
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CalendarDeleteRequest {
    pub user: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDeleteReport {
    pub user: String,
    pub deleted: bool,
}

/// Delete a user's calendar; the poller then removes the published free/busy.
pub fn calendar_delete(
    store: &Store,
    req: &CalendarDeleteRequest,
) -> Result<CalendarDeleteReport, AdminError> {
    let user = store.resolve_user(&req.user)?;
    let deleted = store.delete_calendar(&user.legacy_dn, crate::app::clock::wall_us())?;
    Ok(CalendarDeleteReport {
        user: user.mail,
        deleted,
    })
}

/// Regenerate one user's free/busy from their calendar (`cleanfreebusy`, one `updatefb`
/// line). The optional fields override the server's (or the defaults') publish settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RepublishRequest {
    pub user: String,
    #[serde(default)]
    pub dry_run: bool,
    pub now: Option<String>,
    pub months: Option<u8>,
    pub style: Option<PublisherStyle>,
    /// IANA zone of floating and all-day events.
    pub default_tz: Option<String>,
    /// Why, for metrics: `cleanfreebusy` or `updatefb`.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepublishReport {
    pub user: String,
    pub legacy_dn: String,
    pub dry_run: bool,
    pub result: Republished,
}

/// Apply a request's overrides to `base`.
pub fn publish_settings(
    base: &PublishSettings,
    months: Option<u8>,
    style: Option<PublisherStyle>,
    default_tz: Option<&str>,
) -> Result<PublishSettings, AdminError> {
    let mut s = base.clone();
    if let Some(m) = months {
        if !(1..=MAX_PUBLISH_MONTHS).contains(&m) {
            return Err(AdminError::BadInput(format!(
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
pub fn parse_zone(name: &str) -> Result<jiff::tz::TimeZone, AdminError> {
    jiff::tz::TimeZone::get(name.trim()).map_err(|_| {
        AdminError::BadInput(format!(
            "'{name}' is not an IANA time zone name (e.g. UTC, Europe/Paris, America/Los_Angeles)"
        ))
    })
}

pub fn republish(
    store: &Store,
    clock: &Clock,
    base: &PublishSettings,
    req: &RepublishRequest,
) -> Result<RepublishReport, AdminError> {
    let settings = publish_settings(base, req.months, req.style, req.default_tz.as_deref())?;
    let now = effective_now(clock, req.now.as_deref())?;
    let user = store.resolve_user(&req.user)?;
    let result = republish_user(store, &user, now, &settings, req.dry_run);
    let reason = req.reason.as_deref().unwrap_or("cleanfreebusy");
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            crate::app::metrics::publish_failed(reason);
            return Err(e.into());
        }
    };
    if !req.dry_run && result.outcome != PublishOutcome::Unchanged {
        crate::app::metrics::published(reason);
    }
    Ok(RepublishReport {
        user: user.mail.clone(),
        legacy_dn: user.legacy_dn.as_str().to_string(),
        dry_run: req.dry_run,
        result,
    })
}

/// MadFB's cleanup, now: duplicates removed keeping the oldest, leaves made canonical.
pub fn cleanup(store: &Store) -> Result<CleanupReport, AdminError> {
    Ok(store.cleanup_messages()?)
}
