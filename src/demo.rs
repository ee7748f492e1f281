//! The demo organisation, embedded in the binary so `serve --demo` works from anywhere.
//!
//! Owns the fixture texts (`fixtures/demo/directory.csv`, `fixtures/calendars/*.ics`) and
//! [`load`], which imports the directory and publishes free/busy from each calendar around
//! the current date. Users without a calendar keep no message, so the demo also shows what
//! "no data" (`4`) looks like.

use crate::admin::{self, AdminError, ImportRequest};
use crate::calendar;
use crate::protocol::query::UserAddress;
use crate::protocol::time::Clock;
use crate::publisher::{PublishSettings, publish_calendar};
use crate::store::Store;

pub const DIRECTORY_CSV: &str = include_str!("../fixtures/demo/directory.csv");

/// (alias, calendar text)
pub const CALENDARS: &[(&str, &str)] = &[
    (
        "dwinship",
        include_str!("../fixtures/calendars/dwinship.ics"),
    ),
    (
        "jsguillet",
        include_str!("../fixtures/calendars/jsguillet.ics"),
    ),
    ("amartin", include_str!("../fixtures/calendars/amartin.ics")),
    ("kbaker", include_str!("../fixtures/calendars/kbaker.ics")),
    ("lchen", include_str!("../fixtures/calendars/lchen.ics")),
    ("mgarcia", include_str!("../fixtures/calendars/mgarcia.ics")),
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoReport {
    pub users: usize,
    pub published: usize,
}

/// Import the demo directory and publish every demo calendar at the clock's "now".
pub fn load(store: &Store, clock: &Clock) -> Result<DemoReport, AdminError> {
    let imported = admin::import_directory(
        store,
        &ImportRequest {
            text: DIRECTORY_CSV.to_string(),
            format: Some("csv".into()),
            source: "fixtures/demo/directory.csv".into(),
        },
    )?;
    let settings = PublishSettings::default();
    let now = clock.now();
    let mut published = 0;
    for (alias, text) in CALENDARS {
        let user = store
            .find_user(&UserAddress::Smtp((*alias).to_string()))?
            .ok_or_else(|| {
                AdminError::NotFound(format!("demo calendar {alias}.ics has no user"))
            })?;
        let cal = calendar::parse(text)
            .map_err(|e| AdminError::BadInput(format!("fixtures/calendars/{alias}.ics: {e}")))?;
        publish_calendar(store, &user, &cal, now, &settings)
            .map_err(|e| AdminError::BadInput(format!("publishing {alias}: {e}")))?;
        published += 1;
    }
    Ok(DemoReport {
        users: imported.users,
        published,
    })
}
