//! `schedplus check`: three views, one truth (issue 16 item 2).
//!
//! For a user, over the publish range of their stored message (or the range a publish now
//! would cover, when there is none), at `interval` minutes per slot:
//! 1. the calendar: the stored calendar expanded as a publish would (`publishing::calendar`,
//!    the server's publish settings), painted with `protocol::raster`;
//! 2. the message: its properties decoded now from the bytes as stored (`protocol::pffb`),
//!    painted the same way;
//! 3. the query: the `fbdata` digits `GET /public/?Cmd=freebusy` answers for the user's
//!    legacyDN (`app::freebusy::answer`, the code the query route runs).
//!
//! They must be equal slot for slot; the first slot that differs is reported with the
//! three digits there. A user without a calendar is checked on the message and the query.

use serde::{Deserialize, Serialize};

use super::{Ctx, Operation};
use crate::app::Error;
use crate::app::freebusy::answer;
use crate::protocol::freebusy::{FreeBusy, PublishRange};
use crate::protocol::query::{FreeBusyQuery, UserAddress};
use crate::protocol::raster::{self, SlotGrid};
use crate::protocol::time::{Minutes1601, format_rfc3339};
use crate::publishing::calendar;
use crate::store::{StoredFreeBusy, UserRecord};

/// The most slots one user's check paints (36 months at 5 minutes is ~315,000).
const MAX_CHECK_SLOTS: i64 = 400_000;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CheckRequest {
    /// One user (SMTP address, alias or legacyDN); every user in the directory when `None`.
    pub user: Option<String>,
    /// Minutes per slot (default 30).
    pub interval: Option<u32>,
    pub now: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    pub users: Vec<CheckedUser>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedUser {
    pub user: String,
    pub legacy_dn: String,
    pub start: String,
    pub end: String,
    pub interval: u32,
    pub slots: usize,
    /// Whether a calendar is stored (without one, only message and query are compared).
    pub calendar: bool,
    /// Whether a message is stored.
    pub message: bool,
    /// The first slot where the views differ; `None` when they agree.
    pub difference: Option<SlotDifference>,
    /// Why a view could not be made (a calendar or message that does not decode).
    pub problem: Option<String>,
}

impl CheckedUser {
    pub fn agrees(&self) -> bool {
        self.difference.is_none() && self.problem.is_none()
    }
}

/// The first differing slot and the digit of each view there (`-` for no calendar).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotDifference {
    pub slot: usize,
    pub at: String,
    pub calendar: char,
    pub message: char,
    pub query: char,
}

impl Operation for CheckRequest {
    const ROUTE: &'static str = "/check";
    type Report = CheckReport;

    fn run(self, ctx: &Ctx) -> Result<CheckReport, Error> {
        let interval = self.interval.unwrap_or(30);
        if !(5..=1440).contains(&interval) {
            return Err(Error::BadInput(format!(
                "--interval {interval}: use 5 to 1440 minutes, as the query does"
            )));
        }
        let now = ctx.now(self.now.as_deref())?;
        let users = match &self.user {
            Some(u) => vec![ctx.store.resolve_user(u)?],
            None => ctx.store.list_users()?,
        };
        let mut out = Vec::with_capacity(users.len());
        for u in &users {
            out.push(check_user(ctx, u, interval, ctx.publish.range_at(now))?);
        }
        Ok(CheckReport { users: out })
    }
}

fn check_user(
    ctx: &Ctx,
    u: &UserRecord,
    interval: u32,
    default_range: PublishRange,
) -> Result<CheckedUser, Error> {
    let store = &ctx.store;
    let dn = &u.legacy_dn;
    let mut problem = None;
    let stored = store.find_messages(&dn.admin_group(), &dn.subject())?;
    let message: Option<StoredFreeBusy> = match stored.first() {
        None => None,
        Some(rec) => match StoredFreeBusy::from_props(&rec.props) {
            Ok(fb) => Some(fb),
            Err(e) => {
                problem = Some(format!("the stored message does not decode: {e}"));
                None
            }
        },
    };
    let range = message
        .as_ref()
        .and_then(|m| m.range)
        .filter(|r| r.end.0 - r.start.0 <= MAX_CHECK_SLOTS * interval as i64)
        .unwrap_or(default_range);
    let span = range.end.0 - range.start.0;
    let slots = ((span + interval as i64 - 1) / interval as i64).max(0) as usize;
    let grid = SlotGrid {
        start: range.start,
        interval: interval as i64,
        slots,
    };
    // 1. The calendar.
    let cal = store.calendar(dn)?;
    let mut cal_digits = Vec::new();
    if let Some(rec) = &cal {
        let expanded: Result<FreeBusy, String> = calendar::parse(&rec.text)
            .map_err(|e| e.to_string())
            .and_then(|c| {
                let window = range.as_interval().ok_or("empty publish range")?;
                c.expand(window, &ctx.publish.expand)
                    .map_err(|e| e.to_string())
            });
        match expanded {
            Ok(fb) => raster::paint(&grid, Some((&fb, Some(range))), &mut cal_digits),
            Err(e) => problem = Some(format!("the stored calendar does not expand: {e}")),
        }
    }
    // 2. The message, decoded now.
    let mut msg_digits = Vec::new();
    raster::paint(
        &grid,
        message.as_ref().map(|m| (&m.fb, m.range)),
        &mut msg_digits,
    );
    // 3. The query.
    let q = FreeBusyQuery {
        start: range.start.to_timestamp(),
        end: Minutes1601(range.start.0 + slots as i64 * interval as i64).to_timestamp(),
        interval,
        users: vec![UserAddress::Ex(dn.as_str().to_string())],
    };
    let (body, _) = answer(store, &q);
    let query_digits = last_fbdata(&body).unwrap_or_default().into_bytes();
    let digit = |v: &[u8], i: usize| v.get(i).map_or('-', |&d| char::from(d));
    let qdigit = |i: usize| query_digits.get(i).map_or('-', |&d| d as char);
    let difference = (0..slots)
        .find(|&i| {
            let m = digit(&msg_digits, i);
            qdigit(i) != m
                || (cal.is_some() && !cal_digits.is_empty() && digit(&cal_digits, i) != m)
        })
        .map(|i| SlotDifference {
            slot: i,
            at: format_rfc3339(
                range
                    .start
                    .plus_minutes(i as i64 * interval as i64)
                    .to_timestamp(),
            ),
            calendar: if cal_digits.is_empty() {
                '-'
            } else {
                digit(&cal_digits, i)
            },
            message: digit(&msg_digits, i),
            query: qdigit(i),
        });
    Ok(CheckedUser {
        user: u.alias.clone(),
        legacy_dn: dn.as_str().to_string(),
        start: format_rfc3339(range.start.to_timestamp()),
        end: format_rfc3339(range.end.to_timestamp()),
        interval,
        slots,
        calendar: cal.is_some(),
        message: !stored.is_empty(),
        difference,
        problem,
    })
}

/// The text of the last `<a:fbdata>` of an answer (the one user's item).
fn last_fbdata(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.rfind("<a:fbdata>")? + "<a:fbdata>".len();
    let end = start + text[start..].find("</a:fbdata>")?;
    Some(text[start..end].to_string())
}
