//! `schedplus directory admin`: mark a user as an admin, or revoke the mark.

use serde::{Deserialize, Serialize};

use super::{CredentialReport, Ctx, Operation, change_credential};
use crate::app::Error;

impl Operation for AdminMarkRequest {
    const ROUTE: &'static str = "/directory/admin";
    type Report = CredentialReport;

    fn run(self, ctx: &Ctx) -> Result<CredentialReport, Error> {
        change_credential(&ctx.store, &self.user, |c| c.admin = self.admin)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdminMarkRequest {
    pub user: String,
    pub admin: bool,
}
