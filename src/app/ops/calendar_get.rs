//! `GET /calendars/ADDRESS.ics` (and `/_schedplus/calendar/get`): a user's stored calendar.

use serde::{Deserialize, Serialize};

use super::{Ctx, OnUser};
use crate::app::Error;
use crate::store::UserRecord;

/// Its request is [`super::CalendarGetRequest`].
pub enum CalendarGet {}

impl OnUser for CalendarGet {
    const ROUTE: &'static str = "/calendar/get";
    type Report = CalendarGetReport;

    fn run_on(ctx: &Ctx, user: UserRecord) -> Result<CalendarGetReport, Error> {
        match ctx.store.calendar(&user.legacy_dn)? {
            Some(rec) => Ok(CalendarGetReport {
                legacy_dn: user.legacy_dn.as_str().to_string(),
                user: user.mail,
                text: rec.text,
            }),
            None => Err(Error::NotFound(format!(
                "{} has no calendar stored",
                user.mail
            ))),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarGetReport {
    pub user: String,
    pub legacy_dn: String,
    /// The iCalendar text as it was stored.
    pub text: String,
}
