//! `schedplus calendar delete`, `DELETE /calendars/ADDRESS.ics`: remove a user's calendar;
//! the poller then removes the published free/busy.

use serde::{Deserialize, Serialize};

use super::{Ctx, OnUser};
use crate::app::Error;
use crate::store::UserRecord;

/// Its request is [`super::CalendarDeleteRequest`].
pub enum CalendarDelete {}

impl OnUser for CalendarDelete {
    const ROUTE: &'static str = "/calendar/delete";
    type Report = CalendarDeleteReport;

    fn run_on(ctx: &Ctx, user: UserRecord) -> Result<CalendarDeleteReport, Error> {
        let now_us = crate::app::clock::wall_us();
        Ok(CalendarDeleteReport {
            deleted: ctx
                .store
                .delete_calendar(&ctx.writer, &user.legacy_dn, now_us)?,
            user: user.mail,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDeleteReport {
    pub user: String,
    pub deleted: bool,
}
