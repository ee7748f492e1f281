//! `schedplus calendar delete`, `DELETE /calendars/ADDRESS.ics`: remove a user's calendar;
//! the poller then removes the published free/busy.

use serde::{Deserialize, Serialize};

use super::{Ctx, Operation};
use crate::app::Error;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CalendarDeleteRequest {
    pub user: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDeleteReport {
    pub user: String,
    pub deleted: bool,
}

impl Operation for CalendarDeleteRequest {
    const ROUTE: &'static str = "/calendar/delete";
    type Report = CalendarDeleteReport;

    fn run(self, ctx: &Ctx) -> Result<CalendarDeleteReport, Error> {
        let user = ctx.store.resolve_user(&self.user)?;
        let deleted = ctx.store.delete_calendar(
            &ctx.writer,
            &user.legacy_dn,
            crate::app::clock::wall_us(),
        )?;
        Ok(CalendarDeleteReport {
            user: user.mail,
            deleted,
        })
    }
}
