//! `schedplus fb set`: publish free/busy given by hand, span by span.

use serde::{Deserialize, Serialize};

use super::{Ctx, Operation, checked};
use crate::app::Error;
use crate::protocol::fb_message::build_props;
use crate::protocol::freebusy::{
    DEFAULT_PUBLISH_MONTHS, FbStatus, FreeBusy, Interval, MAX_PUBLISH_MONTHS, PublishRange,
};
use crate::protocol::pffb::PublisherStyle;
use crate::protocol::time::{Minutes1601, parse_time};
use crate::store::{PublishOutcome, PublishedMessage};

impl Operation for FbSetRequest {
    const ROUTE: &'static str = "/fb/set";
    type Report = FbSetReport;

    fn run(self, ctx: &Ctx) -> Result<FbSetReport, Error> {
        let (store, req) = (&ctx.store, &self);
        let user = store.resolve_user(&req.user)?;
        let months = checked(
            req.months,
            DEFAULT_PUBLISH_MONTHS,
            1..=MAX_PUBLISH_MONTHS,
            |m| format!("--months {m}: publish 1 to {MAX_PUBLISH_MONTHS} months"),
        )?;
        let now = ctx.now(req.now.as_deref())?;
        let range = PublishRange::at(Minutes1601::from_timestamp(now), months);
        let spans = req.spans()?;
        let window = range.as_interval().expect("publish ranges are never empty");
        let clipped = spans
            .iter()
            .filter(|(_, iv)| iv.intersect(window) != Some(*iv))
            .count();
        let fb = FreeBusy::from_spans(spans);
        let msg = PublishedMessage {
            folder: user.legacy_dn.admin_group(),
            subject: user.legacy_dn.subject(),
            props: build_props(
                &user.legacy_dn,
                &fb,
                range,
                req.style.unwrap_or_default(),
                now,
            ),
        };
        let (outcome, removed_duplicates) = store.publish(&msg, now.as_microsecond())?;
        if outcome != PublishOutcome::Unchanged {
            crate::app::metrics::published("manual");
        }
        Ok(FbSetReport {
            user: user.mail.clone(),
            legacy_dn: user.legacy_dn.as_str().to_string(),
            outcome,
            removed_duplicates,
            range_start: range.start.to_string(),
            range_end: range.end.to_string(),
            clipped,
        })
    }
}

/// `schedplus fb set`: spans are `START/END` in RFC 3339.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FbSetRequest {
    pub user: String,
    pub busy: Vec<String>,
    pub tentative: Vec<String>,
    pub oof: Vec<String>,
    pub months: Option<u8>,
    pub style: Option<PublisherStyle>,
    /// Overrides the clock for the publish range and timestamp.
    pub now: Option<String>,
}

impl FbSetRequest {
    /// Every span given, with its status.
    fn spans(&self) -> Result<Vec<(FbStatus, Interval)>, Error> {
        let mut spans = Vec::new();
        for (status, list) in [
            (FbStatus::Busy, &self.busy),
            (FbStatus::Tentative, &self.tentative),
            (FbStatus::Oof, &self.oof),
        ] {
            for s in list {
                spans.push((status, parse_span(s)?));
            }
        }
        Ok(spans)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FbSetReport {
    pub user: String,
    pub legacy_dn: String,
    pub outcome: PublishOutcome,
    pub removed_duplicates: usize,
    pub range_start: String,
    pub range_end: String,
    /// Spans given that fell outside the publish range, clipped or dropped.
    pub clipped: usize,
}

/// Parse `START/END`.
pub fn parse_span(s: &str) -> Result<Interval, Error> {
    let (a, b) = s.split_once('/').ok_or_else(|| {
        Error::BadInput(format!(
            "'{s}' is not a span: write START/END, e.g. 2026-11-23T09:00:00Z/2026-11-23T10:00:00Z"
        ))
    })?;
    let t = |x: &str| {
        parse_time(x)
            .map(Minutes1601::from_timestamp)
            .map_err(|e| Error::BadInput(format!("in span '{s}': {e}")))
    };
    let (start, end) = (t(a)?, t(b)?);
    Interval::new(start, end)
        .ok_or_else(|| Error::BadInput(format!("span '{s}' ends before it starts")))
}
