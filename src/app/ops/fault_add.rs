//! `schedplus fault add RULE…`, `POST /_schedplus/fault/add`: more fault rules for a running
//! server, all of them or none (a rule that does not parse adds nothing).

use serde::{Deserialize, Serialize};

use super::fault_list::{FaultReport, server_faults};
use super::{Ctx, Operation};
use crate::app::Error;
use crate::protocol::fault_rule::FaultRule;

/// Rules in the grammar of `protocol::fault_rule`, e.g. `503 group=EX:/o=Org/ou=AG1 p=0.5`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FaultAddRequest {
    pub rules: Vec<String>,
}

impl Operation for FaultAddRequest {
    const ROUTE: &'static str = "/fault/add";
    type Report = FaultReport;

    fn run(self, ctx: &Ctx) -> Result<FaultReport, Error> {
        let faults = server_faults(ctx)?;
        let parsed = self
            .rules
            .iter()
            .map(|r| r.parse::<FaultRule>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::BadInput(e.to_string()))?;
        {
            let mut set = faults.lock();
            for rule in parsed {
                let text = rule.to_string();
                let id = set.add(rule);
                tracing::warn!(rule = id, "fault rule {id} added: {text}");
            }
        }
        Ok(faults.report())
    }
}
