//! Publishing free/busy from a calendar, as Outlook and MadFB did: expand the calendar over
//! the publish range and write the user's whole message.
//!
//! Owns [`PublishSettings`] and [`publish_calendar`]. The poller, `cleanfreebusy`,
//! `updatefb` and the demo all publish through here, so there is one definition of "what a
//! publish writes".

use jiff::Timestamp;

use crate::calendar::{Calendar, ExpandOptions};
use crate::protocol::fb_message::build_props;
use crate::protocol::freebusy::{DEFAULT_PUBLISH_MONTHS, PublishRange};
use crate::protocol::pffb::PublisherStyle;
use crate::protocol::time::Minutes1601;
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

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0}")]
    Calendar(#[from] crate::calendar::CalendarError),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Expand `cal` over the publish range at `now` and publish `user`'s message.
pub fn publish_calendar(
    store: &Store,
    user: &UserRecord,
    cal: &Calendar,
    now: Timestamp,
    settings: &PublishSettings,
) -> Result<(PublishOutcome, usize), PublishError> {
    let range = PublishRange::at(Minutes1601::from_timestamp(now), settings.months);
    let window = range.as_interval().expect("publish ranges are never empty");
    let fb = cal.expand(window, &settings.expand)?;
    let msg = PublishedMessage {
        folder: user.legacy_dn.admin_group(),
        subject: user.legacy_dn.subject(),
        props: build_props(&user.legacy_dn, &fb, range, settings.style, now),
    };
    Ok(store.publish(&msg)?)
}
