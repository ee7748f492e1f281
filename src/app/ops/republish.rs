//! `schedplus cleanfreebusy`, one `updatefb` line, `POST /calendars/ADDRESS.ics?Cmd=cleanfreebusy`:
//! regenerate one user's free/busy from their stored calendar.

use serde::{Deserialize, Serialize};

use super::{Ctx, Operation, publish_settings};
use crate::app::Error;
use crate::protocol::pffb::PublisherStyle;
use crate::publishing::publisher::{Republished, republish_user};
use crate::store::PublishOutcome;

impl Operation for RepublishRequest {
    const ROUTE: &'static str = "/republish";
    type Report = RepublishReport;

    fn run(self, ctx: &Ctx) -> Result<RepublishReport, Error> {
        let (store, base, req) = (&ctx.store, &ctx.publish, &self);
        let settings = publish_settings(base, req.months, req.style, req.default_tz.as_deref())?;
        let now = ctx.now(req.now.as_deref())?;
        let user = store.resolve_user(&req.user)?;
        let result = republish_user(store, &user, now, &settings, req.dry_run);
        let reason = req.reason.as_deref().unwrap_or("cleanfreebusy");
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                crate::app::metrics::publish_failed(reason);
                return Err(e.into());
            }
        };
        if !req.dry_run && result.outcome != PublishOutcome::Unchanged {
            crate::app::metrics::published(reason);
        }
        Ok(RepublishReport {
            user: user.mail.clone(),
            legacy_dn: user.legacy_dn.as_str().to_string(),
            dry_run: req.dry_run,
            result,
        })
    }
}

/// Regenerate one user's free/busy from their calendar (`cleanfreebusy`, one `updatefb`
/// line). The optional fields override the server's (or the defaults') publish settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RepublishRequest {
    pub user: String,
    #[serde(default)]
    pub dry_run: bool,
    pub now: Option<String>,
    pub months: Option<u8>,
    pub style: Option<PublisherStyle>,
    /// IANA zone of floating and all-day events.
    pub default_tz: Option<String>,
    /// Why, for metrics: `cleanfreebusy` or `updatefb`.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepublishReport {
    pub user: String,
    pub legacy_dn: String,
    pub dry_run: bool,
    pub result: Republished,
}
