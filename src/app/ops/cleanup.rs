//! `schedplus cleanup`: MadFB's cleanup, now.

use serde::{Deserialize, Serialize};

use super::{Ctx, Operation};
use crate::app::Error;
use crate::store::CleanupReport;

/// Duplicates removed keeping the oldest, leaves made canonical. No fields: its JSON is
/// `null`.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Cleanup;

impl Operation for Cleanup {
    const ROUTE: &'static str = "/cleanup";
    type Report = CleanupReport;

    fn run(self, ctx: &Ctx) -> Result<CleanupReport, Error> {
        Ok(ctx.store.cleanup_messages()?)
    }
}
