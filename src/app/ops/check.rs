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

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Ctx, Operation, checked};
use crate::app::Error;
use crate::app::freebusy::answer;
use crate::protocol::freebusy::{FreeBusy, PublishRange};
use crate::protocol::legacy_dn::LegacyDn;
use crate::protocol::query::{FreeBusyQuery, UserAddress};
use crate::protocol::raster::{self, SlotGrid};
use crate::protocol::time::format_rfc3339;
use crate::publishing::calendar;
use crate::store::{StoredFreeBusy, UserRecord};

/// The most slots one user's check paints (36 months at 5 minutes is ~315,000).
const MAX_CHECK_SLOTS: i64 = 400_000;

impl Operation for CheckRequest {
    const ROUTE: &'static str = "/check";
    type Report = CheckReport;

    fn run(self, ctx: &Ctx) -> Result<CheckReport, Error> {
        let interval = checked(self.interval, 30, 5..=1440, |i| {
            format!("--interval {i}: use 5 to 1440 minutes, as the query does")
        })?;
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
    /// On the wire as the user's own `start`, `end`, `interval` and `slots`.
    #[serde(flatten)]
    pub grid: CheckedGrid,
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

/// The slots a user was checked over: the publish range, RFC 3339, cut in `slots` slots of
/// `interval` minutes (the last one reaching past `end` when the range is no multiple).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedGrid {
    pub start: String,
    pub end: String,
    pub interval: u32,
    pub slots: usize,
}

impl fmt::Display for CheckedGrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let CheckedGrid {
            start,
            end,
            interval,
            slots,
        } = self;
        write!(f, "{slots} slots of {interval} min from {start} to {end}")
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
    let views = three_views(ctx, dn, message.as_ref(), range, &grid)?;
    if let Some(p) = &views.problem {
        problem = Some(p.clone());
    }
    let cal = views.calendar.is_some();
    let difference = (0..slots)
        .find(|&i| views.differs(i))
        .map(|i| SlotDifference {
            slot: i,
            at: format_rfc3339(
                range
                    .start
                    .plus_minutes(i as i64 * interval as i64)
                    .to_timestamp(),
            ),
            calendar: views.calendar_digit(i),
            message: ThreeViews::digit(&views.message, i),
            query: ThreeViews::digit(&views.query, i),
        });
    Ok(CheckedUser {
        user: u.alias.clone(),
        legacy_dn: dn.as_str().to_string(),
        grid: CheckedGrid {
            start: format_rfc3339(range.start.to_timestamp()),
            end: format_rfc3339(range.end.to_timestamp()),
            interval,
            slots,
        },
        calendar: cal,
        message: !stored.is_empty(),
        difference,
        problem,
    })
}

/// The three views of one user over a grid of slots, one digit (`b'0'`..`b'4'`) per slot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreeViews {
    /// The calendar's expansion; `None` when no calendar is stored, empty when it does not
    /// expand (then `problem` says why).
    pub calendar: Option<Vec<u8>>,
    /// The stored message, decoded.
    pub message: Vec<u8>,
    /// The `?Cmd=freebusy` digits.
    pub query: Vec<u8>,
    /// Why the calendar could not be expanded.
    pub problem: Option<String>,
}

impl ThreeViews {
    /// The digit of a view at a slot, `-` past its end.
    pub fn digit(view: &[u8], i: usize) -> char {
        view.get(i).map_or('-', |&d| char::from(d))
    }

    /// The calendar's digit at a slot, `-` without a calendar.
    pub fn calendar_digit(&self, i: usize) -> char {
        self.calendar.as_deref().map_or('-', |c| Self::digit(c, i))
    }

    /// Do the views disagree at a slot? The query against the message, and the calendar
    /// (when there is one that expanded) against the message.
    pub fn differs(&self, i: usize) -> bool {
        let m = Self::digit(&self.message, i);
        Self::digit(&self.query, i) != m
            || self
                .calendar
                .as_deref()
                .is_some_and(|c| !c.is_empty() && Self::digit(c, i) != m)
    }
}

/// The three views of `dn` over `grid`: the stored calendar expanded over `range` (the
/// publish range a publish would cover), `message` painted, and the query's digits for the
/// grid's slots. Shared by `schedplus check` and a user's page in the browser.
pub fn three_views(
    ctx: &Ctx,
    dn: &LegacyDn,
    message: Option<&StoredFreeBusy>,
    range: PublishRange,
    grid: &SlotGrid,
) -> Result<ThreeViews, Error> {
    let store = &ctx.store;
    let mut problem = None;
    // 1. The calendar.
    let calendar = match store.calendar(dn)? {
        None => None,
        Some(rec) => {
            let mut digits = Vec::new();
            let expanded: Result<FreeBusy, String> = calendar::parse(&rec.text)
                .map_err(|e| e.to_string())
                .and_then(|c| {
                    let window = range.as_interval().ok_or("empty publish range")?;
                    c.expand(window, &ctx.publish.expand)
                        .map_err(|e| e.to_string())
                });
            match expanded {
                Ok(fb) => raster::paint(grid, Some((&fb, Some(range))), &mut digits),
                Err(e) => problem = Some(format!("the stored calendar does not expand: {e}")),
            }
            Some(digits)
        }
    };
    // 2. The message, decoded.
    let mut msg_digits = Vec::new();
    raster::paint(grid, message.map(|m| (&m.fb, m.range)), &mut msg_digits);
    // 3. The query.
    let q = FreeBusyQuery {
        start: grid.start.to_timestamp(),
        end: grid.end().to_timestamp(),
        interval: grid.interval as u32,
        users: vec![UserAddress::Ex(dn.as_str().to_string())],
    };
    let (body, _) = answer(store, &q);
    let query = last_fbdata(&body).unwrap_or_default().into_bytes();
    Ok(ThreeViews {
        calendar,
        message: msg_digits,
        query,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `check --json` and the remote client read the grid's fields on the user itself.
    #[test]
    fn a_checked_user_keeps_its_wire_shape_and_says_its_grid() {
        let grid = CheckedGrid {
            start: "2026-11-01T00:00:00Z".into(),
            end: "2026-11-02T00:00:00Z".into(),
            interval: 30,
            slots: 48,
        };
        let u = CheckedUser {
            user: "danw".into(),
            legacy_dn: "/o=X/cn=danw".into(),
            grid: grid.clone(),
            calendar: true,
            message: true,
            difference: None,
            problem: None,
        };
        let v = serde_json::to_value(&u).unwrap();
        assert_eq!(v["start"], "2026-11-01T00:00:00Z");
        assert_eq!(v["end"], "2026-11-02T00:00:00Z");
        assert_eq!(v["interval"], 30);
        assert_eq!(v["slots"], 48);
        assert_eq!(serde_json::from_value::<CheckedUser>(v).unwrap(), u);
        assert_eq!(
            grid.to_string(),
            "48 slots of 30 min from 2026-11-01T00:00:00Z to 2026-11-02T00:00:00Z"
        );
    }
}
