//! `schedplus fault clear [--rule N]`, `POST /_schedplus/fault/clear`: take a running
//! server's fault rules away, one or all; the server answers normally again.

use serde::{Deserialize, Serialize};

use super::fault_list::{FaultReport, server_faults};
use super::{Ctx, Operation};
use crate::app::Error;

/// `rule`: the number `fault list` shows; none: every rule.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultClearRequest {
    pub rule: Option<u32>,
}

impl Operation for FaultClearRequest {
    type Report = FaultReport;
    const ROUTE: &'static str = "/fault/clear";

    fn run(self, ctx: &Ctx) -> Result<FaultReport, Error> {
        let faults = server_faults(ctx)?;
        let removed = faults.lock().clear(self.rule);
        match self.rule {
            Some(id) if removed == 0 => Err(Error::NotFound(format!(
                "this server has no fault rule {id}; `schedplus fault list` shows its rules"
            ))),
            _ => {
                tracing::warn!(removed, "fault rules cleared");
                Ok(faults.report())
            }
        }
    }
}
