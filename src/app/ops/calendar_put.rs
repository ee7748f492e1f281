//! `schedplus calendar import`, `PUT /calendars/ADDRESS.ics`, `--calendar-dir`: store a
//! user's calendar, checked first.

use serde::{Deserialize, Serialize};

use super::{Ctx, Operation};
use crate::app::Error;
use crate::publishing::calendar;
use crate::publishing::publisher::{Republished, republish_expanded};
use crate::store::{CalendarChange, CalendarSource, Refusal};

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
/// and queue the user, in one write; with `publish_now`, publish from that same parse and
/// expansion (the calendar is not read back and parsed again). A calendar that fails either check is refused with
/// the line and reason; the stored calendar and the published free/busy stay as they were
/// (only a note of the refusal is kept with the stored calendar).
impl Operation for CalendarPutRequest {
    const ROUTE: &'static str = "/calendar/put";
    type Report = CalendarPutReport;

    fn run(self, ctx: &Ctx) -> Result<CalendarPutReport, Error> {
        let (store, settings, req) = (&ctx.store, &ctx.publish, &self);
        if let Some(max) = ctx.max_calendar_bytes.filter(|&max| req.text.len() > max) {
            return Err(Error::TooLarge(format!(
                "the calendar is larger than the {max}-byte limit"
            )));
        }
        let user = store.resolve_user(&req.user)?;
        let now = ctx.now(req.now.as_deref())?;
        let checked = calendar::parse(&req.text).and_then(|cal| {
            let window = settings
                .range_at(now)
                .as_interval()
                .expect("publish ranges are never empty");
            // Refused at the door if it can never be published, not only if it fails now;
            // the expansion over the current range is what a publish now writes.
            let fb = cal.check_publishable(window, &settings.expand)?;
            Ok((cal, fb))
        });
        let (cal, fb) = match checked {
            Ok(checked) => checked,
            Err(e) => {
                crate::app::metrics::calendar_refused(match req.source {
                    CalendarSource::Http => "http",
                    CalendarSource::Import(_) => "import",
                    CalendarSource::Dir(_) => "calendar_dir",
                });
                store.note_refused_calendar(
                    &ctx.writer,
                    &user.legacy_dn,
                    Refusal {
                        reason: e.to_string(),
                        source: req.source.clone(),
                        at_us: crate::app::clock::wall_us(),
                    },
                )?;
                return Err(Error::BadInput(format!(
                    "calendar for {} refused ({}): {e}; the previous calendar and its free/busy are unchanged",
                    user.mail, req.source
                )));
            }
        };
        let change = store.put_calendar(
            &ctx.writer,
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
            Some(republish_expanded(store, &user, &fb, now, settings, false)?)
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
}
