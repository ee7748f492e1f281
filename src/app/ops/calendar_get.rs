//! `GET /calendars/ADDRESS.ics` (and `/_schedplus/calendar/get`): a user's stored calendar.

use serde::{Deserialize, Serialize};

use super::{Ctx, Operation};
use crate::app::Error;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CalendarGetRequest {
    /// SMTP address, alias or legacyDN.
    pub user: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarGetReport {
    pub user: String,
    pub legacy_dn: String,
    /// The iCalendar text as it was stored.
    pub text: String,
}

impl Operation for CalendarGetRequest {
    const ROUTE: &'static str = "/calendar/get";
    type Report = CalendarGetReport;

    fn run(self, ctx: &Ctx) -> Result<CalendarGetReport, Error> {
        let user = ctx.store.resolve_user(&self.user)?;
        let rec = ctx
            .store
            .calendar(&user.legacy_dn)?
            .ok_or_else(|| Error::NotFound(format!("{} has no calendar stored", user.mail)))?;
        Ok(CalendarGetReport {
            legacy_dn: user.legacy_dn.as_str().to_string(),
            user: user.mail,
            text: rec.text,
        })
    }
}
