//! `schedplus fb delete`: remove a user's free/busy messages.

use serde::{Deserialize, Serialize};

use super::{Ctx, OnUser};
use crate::app::Error;
use crate::store::UserRecord;

/// Its request is [`super::FbDeleteRequest`].
pub enum FbDelete {}

impl OnUser for FbDelete {
    const ROUTE: &'static str = "/fb/delete";
    type Report = FbDeleteReport;

    fn run_on(ctx: &Ctx, user: UserRecord) -> Result<FbDeleteReport, Error> {
        let dn = &user.legacy_dn;
        let deleted = ctx
            .store
            .delete_messages(&dn.admin_group(), &dn.subject())?;
        Ok(FbDeleteReport {
            user: user.mail,
            deleted,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FbDeleteReport {
    pub user: String,
    pub deleted: usize,
}
