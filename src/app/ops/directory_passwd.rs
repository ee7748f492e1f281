//! `schedplus directory passwd`: set or remove a user's password.

use serde::{Deserialize, Serialize};

use super::{CredentialReport, Ctx, Operation, change_credential};
use crate::app::Error;

/// The hash is made by the CLI, so the password itself never travels to the server or into
/// a log. `password_hash: None` removes the password.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PasswdRequest {
    pub user: String,
    pub password_hash: Option<String>,
}

impl Operation for PasswdRequest {
    const ROUTE: &'static str = "/directory/passwd";
    type Report = CredentialReport;

    fn run(self, ctx: &Ctx) -> Result<CredentialReport, Error> {
        if let Some(h) = &self.password_hash {
            crate::auth::check_hash(h).map_err(|e| Error::BadInput(e.to_string()))?;
        }
        let hash = self.password_hash;
        change_credential(&ctx.store, &self.user, |c| c.password_hash = hash)
    }
}
