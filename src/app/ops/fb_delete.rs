//! `schedplus fb delete`: remove a user's free/busy messages.

use serde::{Deserialize, Serialize};

use super::{Ctx, Operation};
use crate::app::Error;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FbDeleteRequest {
    pub user: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FbDeleteReport {
    pub user: String,
    pub deleted: usize,
}

impl Operation for FbDeleteRequest {
    const ROUTE: &'static str = "/fb/delete";
    type Report = FbDeleteReport;

    fn run(self, ctx: &Ctx) -> Result<FbDeleteReport, Error> {
        let user = ctx.store.resolve_user(&self.user)?;
        let deleted = ctx
            .store
            .delete_messages(&user.legacy_dn.admin_group(), &user.legacy_dn.subject())?;
        Ok(FbDeleteReport {
            user: user.mail,
            deleted,
        })
    }
}
