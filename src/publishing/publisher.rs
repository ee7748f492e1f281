//! Publishing free/busy from a calendar, as Outlook and MadFB did: expand the calendar over
//! the publish range and write the user's whole message.
//!
//! Owns [`PublishSettings`], [`publish_calendar`] and [`republish_user`]. The poller,
//! `cleanfreebusy`, `updatefb`, calendar imports and the demo all publish through here, so
//! there is one definition of "what a publish writes": the range from `now` and
//! `settings.months`, the calendar expanded over exactly that range, the message built by
//! `protocol::fb_message`, written by `Store::publish` (oldest duplicate kept, unchanged
//! content not rewritten).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::protocol::fb_message::build_props;
use crate::protocol::freebusy::{
    DEFAULT_PUBLISH_MONTHS, FbStatus, FreeBusy, Interval, PublishRange,
};
use crate::protocol::pffb::PublisherStyle;
use crate::protocol::time::Minutes1601;
use crate::publishing::calendar::{self, Calendar, ExpandOptions};
use crate::store::{PublishOutcome, PublishedMessage, Store, StoreError, UserRecord};

/// How publishes are made.
#[derive(Clone, Debug)]
pub struct PublishSettings {
    pub months: u8,
    pub style: PublisherStyle,
    pub expand: ExpandOptions,
}

impl Default for PublishSettings {
    fn default() -> Self {
        PublishSettings {
            months: DEFAULT_PUBLISH_MONTHS,
            style: PublisherStyle::Outlook,
            expand: ExpandOptions::default(),
        }
    }
}

impl PublishSettings {
    /// The publish range at `now`.
    pub fn range_at(&self, now: Timestamp) -> PublishRange {
        PublishRange::at(Minutes1601::from_timestamp(now), self.months)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0}")]
    Calendar(#[from] crate::publishing::calendar::CalendarError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error(
        "{0} has no calendar to publish from; store one with `schedplus calendar import`, PUT /calendars/ADDRESS.ics or --calendar-dir"
    )]
    NoCalendar(String),
}

/// The message a publish at `now` writes for `user` from `cal`.
pub fn build_message(
    user: &UserRecord,
    cal: &Calendar,
    now: Timestamp,
    settings: &PublishSettings,
) -> Result<(PublishedMessage, FreeBusy), PublishError> {
    let fb = expand_at(cal, now, settings)?;
    Ok((message_of(user, &fb, now, settings), fb))
}

/// `cal` expanded over the publish range at `now`.
fn expand_at(
    cal: &Calendar,
    now: Timestamp,
    settings: &PublishSettings,
) -> Result<FreeBusy, PublishError> {
    let range = settings.range_at(now);
    Ok(cal.expand(
        range.as_interval().expect("publish ranges are never empty"),
        &settings.expand,
    )?)
}

/// The message a publish at `now` writes for `user` whose free/busy over the publish range
/// is `fb`.
fn message_of(
    user: &UserRecord,
    fb: &FreeBusy,
    now: Timestamp,
    settings: &PublishSettings,
) -> PublishedMessage {
    PublishedMessage {
        folder: user.legacy_dn.admin_group(),
        subject: user.legacy_dn.subject(),
        props: build_props(
            &user.legacy_dn,
            fb,
            settings.range_at(now),
            settings.style,
            now,
        ),
    }
}

/// Expand `cal` over the publish range at `now` and publish `user`'s message.
pub fn publish_calendar(
    store: &Store,
    user: &UserRecord,
    cal: &Calendar,
    now: Timestamp,
    settings: &PublishSettings,
) -> Result<(PublishOutcome, usize), PublishError> {
    let (msg, _) = build_message(user, cal, now, settings)?;
    Ok(store.publish(&msg, now.as_microsecond())?)
}

/// One block that a publish added or removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockChange {
    pub status: FbStatus,
    pub block: Interval,
}

/// What republishing one user did (or, for a dry run, would do).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Republished {
    pub outcome: PublishOutcome,
    pub removed_duplicates: usize,
    pub range: PublishRange,
    /// Blocks in the new message that the previous one did not have.
    pub added: Vec<BlockChange>,
    /// Blocks of the previous message that the new one does not have.
    pub removed: Vec<BlockChange>,
}

/// Regenerate `user`'s message from their stored calendar and publish it (Outlook's
/// `/cleanfreebusy`, one Updatefb line, one poller publish). With `dry_run`, compute the
/// same report and write nothing.
pub fn republish_user(
    store: &Store,
    user: &UserRecord,
    now: Timestamp,
    settings: &PublishSettings,
    dry_run: bool,
) -> Result<Republished, PublishError> {
    let fb = expand_stored(store, user, now, settings)?;
    let write = if dry_run {
        Write::DryRun
    } else {
        Write::Synced
    };
    republish_with(store, user, &fb, now, settings, write)
}

/// The message a publish at `now` writes for `user` from `text`, their calendar: what the
/// poller's round publishes, a batch of users at a time ([`Store::publish_queued_unsynced`]),
/// each batch visible at once and durable at the round's [`Store::sync`]. No report of
/// the blocks that changed is made: the round has no reader for one.
pub fn message_from_text(
    user: &UserRecord,
    text: &str,
    now: Timestamp,
    settings: &PublishSettings,
) -> Result<PublishedMessage, PublishError> {
    let fb = expand_at(&calendar::parse(text)?, now, settings)?;
    Ok(message_of(user, &fb, now, settings))
}

/// [`message_from_text`] from the user's stored calendar.
pub fn stored_message(
    store: &Store,
    user: &UserRecord,
    now: Timestamp,
    settings: &PublishSettings,
) -> Result<PublishedMessage, PublishError> {
    message_from_text(user, &stored_text(store, user)?, now, settings)
}

/// The text of `user`'s stored calendar.
fn stored_text(store: &Store, user: &UserRecord) -> Result<String, PublishError> {
    Ok(store
        .calendar(&user.legacy_dn)?
        .ok_or_else(|| PublishError::NoCalendar(user.mail.clone()))?
        .text)
}

/// How a republish writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    DryRun,
    Synced,
}

/// The user's stored calendar, parsed and expanded over the publish range at `now`.
fn expand_stored(
    store: &Store,
    user: &UserRecord,
    now: Timestamp,
    settings: &PublishSettings,
) -> Result<FreeBusy, PublishError> {
    expand_at(&calendar::parse(&stored_text(store, user)?)?, now, settings)
}

/// [`republish_user`] from `fb`, the user's calendar already expanded over the publish
/// range at `now` (by the check of a calendar being stored): nothing is parsed or expanded
/// again.
pub fn republish_expanded(
    store: &Store,
    user: &UserRecord,
    fb: &FreeBusy,
    now: Timestamp,
    settings: &PublishSettings,
    dry_run: bool,
) -> Result<Republished, PublishError> {
    let write = if dry_run {
        Write::DryRun
    } else {
        Write::Synced
    };
    republish_with(store, user, fb, now, settings, write)
}

fn republish_with(
    store: &Store,
    user: &UserRecord,
    fb: &FreeBusy,
    now: Timestamp,
    settings: &PublishSettings,
    write: Write,
) -> Result<Republished, PublishError> {
    let range = settings.range_at(now);
    let msg = message_of(user, fb, now, settings);
    let before = store
        .freebusy_of(&msg.folder, &msg.subject)?
        .map(|s| s.fb)
        .unwrap_or_default();
    let (outcome, removed_duplicates) = match write {
        Write::DryRun => store.preview_publish(&msg)?,
        Write::Synced => store.publish(&msg, now.as_microsecond())?,
    };
    Ok(Republished {
        outcome,
        removed_duplicates,
        range,
        added: block_changes(fb, &before),
        removed: block_changes(&before, fb),
    })
}

/// Blocks of `a` that `b` does not have, per status.
fn block_changes(a: &FreeBusy, b: &FreeBusy) -> Vec<BlockChange> {
    let mut out = Vec::new();
    for status in FbStatus::MARKED {
        let (sa, sb) = (
            a.get(status).expect("marked"),
            b.get(status).expect("marked"),
        );
        for block in sa.iter() {
            if sb.as_slice().binary_search(&block).is_err() {
                out.push(BlockChange { status, block });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::legacy_dn::LegacyDn;
    use crate::store::testutil::temp_store;

    const CAL: &str = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nDTSTART:20260303T090000Z\nDURATION:PT1H\nRRULE:FREQ=WEEKLY;COUNT=3\nEND:VEVENT\nEND:VCALENDAR\n";

    fn user() -> UserRecord {
        UserRecord {
            legacy_dn: LegacyDn::parse("/o=Org/ou=AG/cn=Recipients/cn=dan").unwrap(),
            mail: "dan@org.example".into(),
            display_name: "Dan".into(),
            alias: "dan".into(),
            proxy_addresses: vec![],
        }
    }

    #[test]
    fn republish_reports_blocks_and_dry_run_writes_nothing() {
        let (_d, s) = temp_store();
        let u = user();
        let now = "2026-03-02T12:00:00Z".parse().unwrap();
        let settings = PublishSettings::default();
        assert!(matches!(
            republish_user(&s, &u, now, &settings, false),
            Err(PublishError::NoCalendar(_))
        ));
        crate::store::testutil::put_calendar(&s, &u.legacy_dn, CAL);
        let dry = republish_user(&s, &u, now, &settings, true).unwrap();
        assert_eq!(dry.outcome, PublishOutcome::Created);
        assert_eq!(dry.added.len(), 3);
        let folder = u.legacy_dn.admin_group();
        assert!(
            s.find_messages(&folder, &u.legacy_dn.subject())
                .unwrap()
                .is_empty()
        );
        let real = republish_user(&s, &u, now, &settings, false).unwrap();
        assert_eq!(real, dry);
        let again = republish_user(&s, &u, now, &settings, false).unwrap();
        assert_eq!(again.outcome, PublishOutcome::Unchanged);
        assert!(again.added.is_empty() && again.removed.is_empty());
        let edited = CAL.replace("COUNT=3", "COUNT=2");
        crate::store::testutil::put_calendar(&s, &u.legacy_dn, &edited);
        let r = republish_user(&s, &u, now, &settings, false).unwrap();
        assert_eq!(r.outcome, PublishOutcome::Updated);
        assert_eq!((r.added.len(), r.removed.len()), (0, 1));
    }
}
