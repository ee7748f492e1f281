//! `schedplus directory list`, `GET /_schedplus/directory`: every user with their sign-in.

use serde::{Deserialize, Serialize};

use super::{Ctx, Operation, UserSummary};
use crate::app::Error;

/// No fields: its JSON is `null`.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct ListUsers;

impl Operation for ListUsers {
    const ROUTE: &'static str = "/directory";
    const READ_ONLY: bool = true;
    type Report = Vec<UserSummary>;

    fn run(self, ctx: &Ctx) -> Result<Vec<UserSummary>, Error> {
        let store = &ctx.store;
        store
            .list_users()?
            .iter()
            .map(|u| {
                let cred = store.credential(&u.legacy_dn)?.unwrap_or_default();
                Ok(UserSummary {
                    admin: cred.admin,
                    password: cred.password_hash.is_some(),
                    ..UserSummary::from(u)
                })
            })
            .collect()
    }
}
