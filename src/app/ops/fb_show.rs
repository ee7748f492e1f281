//! `schedplus fb show`: a user's stored free/busy and the digits a query answers.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Ctx, Operation, UserSummary, checked};
use crate::app::Error;
use crate::protocol::freebusy::FbStatus;
use crate::protocol::raster::{self, SlotGrid};
use crate::protocol::time::{Minutes1601, format_rfc3339, parse_time};

impl Operation for FbShowRequest {
    const ROUTE: &'static str = "/fb/show";
    type Report = FbShowReport;

    fn run(self, ctx: &Ctx) -> Result<FbShowReport, Error> {
        let user = ctx.store.resolve_user(&self.user)?;
        let grid = self.window.grid(ctx.now(self.now.as_deref())?)?;
        let stored = ctx
            .store
            .freebusy_of(&user.legacy_dn.admin_group(), &user.legacy_dn.subject())?;
        let mut digits = Vec::new();
        raster::paint(
            &grid,
            stored.as_ref().map(|s| (&s.fb, s.range)),
            &mut digits,
        );
        let message = stored.map(|s| ShownMessage {
            range_start: s.range.map(|r| r.start.to_string()),
            range_end: s.range.map(|r| r.end.to_string()),
            blocks: FbStatus::MARKED
                .iter()
                .map(|st| {
                    let set = s.fb.get(*st).expect("marked");
                    (
                        st.name().to_string(),
                        set.iter()
                            .map(|iv| (iv.start().to_string(), iv.end().to_string()))
                            .collect(),
                    )
                })
                .collect(),
        });
        Ok(FbShowReport {
            user: UserSummary::from(&user),
            message,
            raster_start: format_rfc3339(grid.start.to_timestamp()),
            raster_end: format_rfc3339(grid.end().to_timestamp()),
            interval: grid.interval as u32,
            fbdata: String::from_utf8(digits).expect("digits are ASCII"),
        })
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FbShowRequest {
    pub user: String,
    /// On the wire as the request's own `start`, `end` and `interval`.
    #[serde(flatten)]
    pub window: ShowWindow,
    pub now: Option<String>,
}

/// The slots `fb show` paints, as given: `start` and `end` in RFC 3339, `interval` in
/// minutes; each has a default.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ShowWindow {
    pub start: Option<String>,
    pub end: Option<String>,
    pub interval: Option<u32>,
}

/// The most digits `fb show` prints.
const MAX_SHOW_SLOTS: i64 = 100_000;

impl ShowWindow {
    /// The slots asked for (a week from today's midnight, at 30 minutes, by default),
    /// checked.
    fn grid(&self, now: Timestamp) -> Result<SlotGrid, Error> {
        let time = |s: &Option<String>, name: &str| -> Result<Option<Minutes1601>, Error> {
            s.as_deref()
                .map(|v| {
                    parse_time(v)
                        .map(Minutes1601::from_timestamp)
                        .map_err(|e| Error::BadInput(format!("--{name}: {e}")))
                })
                .transpose()
        };
        let start =
            time(&self.start, "start")?.unwrap_or(Minutes1601::from_timestamp(now).floor_day());
        let end = time(&self.end, "end")?.unwrap_or(start.plus_minutes(7 * 1440));
        let interval = checked(self.interval, 30, 1..=1440, |i| {
            format!("--interval {i}: use 1 to 1440 minutes")
        })?;
        if end <= start {
            return Err(Error::BadInput("--end must be after --start".into()));
        }
        let slots = (end.0 - start.0 + interval as i64 - 1) / interval as i64;
        if slots > MAX_SHOW_SLOTS {
            return Err(Error::BadInput(format!(
                "{slots} slots is too many to show; shorten --start..--end or raise --interval"
            )));
        }
        Ok(SlotGrid {
            start,
            interval: interval as i64,
            slots: slots as usize,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownMessage {
    pub range_start: Option<String>,
    pub range_end: Option<String>,
    /// Per status (`tentative`, `busy`, `oof`): `[start, end]` pairs in RFC 3339.
    pub blocks: Vec<(String, Vec<(String, String)>)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FbShowReport {
    pub user: UserSummary,
    pub message: Option<ShownMessage>,
    pub raster_start: String,
    pub raster_end: String,
    pub interval: u32,
    /// The `fbdata` digits the `?Cmd=freebusy` query answers for this window.
    pub fbdata: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The remote client and the admin API speak this JSON; the window is flattened into it.
    #[test]
    fn the_request_keeps_its_wire_shape() {
        let wire = serde_json::json!({
            "user": "danw",
            "start": "2026-03-03T12:00:00Z",
            "end": null,
            "interval": 60,
            "now": null,
        });
        let req: FbShowRequest = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(req.window.start.as_deref(), Some("2026-03-03T12:00:00Z"));
        assert_eq!(req.window.interval, Some(60));
        assert_eq!(serde_json::to_value(&req).unwrap(), wire);
    }
}
