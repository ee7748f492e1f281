//! `schedplus directory list`, `GET /_schedplus/directory`: every user with their sign-in;
//! `GET /_schedplus/directory/groups`: every distribution group.

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

/// Every distribution group (`schedplus directory list` shows them after the users).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct ListGroups;

/// One group as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSummary {
    pub display_name: String,
    /// Empty for a group that is not mail-enabled (it is then only ever a member).
    pub mail: String,
    pub dn: String,
    /// Members the export listed (users and groups).
    pub members: usize,
}

impl Operation for ListGroups {
    const ROUTE: &'static str = "/directory/groups";
    const READ_ONLY: bool = true;
    type Report = Vec<GroupSummary>;

    fn run(self, ctx: &Ctx) -> Result<Vec<GroupSummary>, Error> {
        let groups = ctx.store.list_groups()?;
        Ok(groups
            .into_iter()
            .map(|g| GroupSummary {
                display_name: g.display_name,
                mail: g.mail,
                dn: g.dn,
                members: g.member_count,
            })
            .collect())
    }
}
