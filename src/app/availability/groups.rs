//! A distribution group asked for in `GetUserAvailability`: its members found in the
//! directory and their free/busy merged into one row, as the Availability service answered
//! a group (docs/behaviour.md, "The Availability front end").
//!
//! Expansion: the group's own members, then those of the groups it names (one level of
//! nesting, [`GROUP_LEVELS`] levels in all); a group nested deeper is not expanded. Each
//! user counts once however many groups name it. A group whose own users are more than
//! [`MAX_GROUP_MEMBERS`] is not expanded at all (`ErrorFreeBusyDLLimitReached`); a nested
//! group whose users would take the count past it is left out, and the others are merged.
//! A member that is neither a user nor a group of the directory is skipped with a warning.
//!
//! Merge: per slot the busiest status of any member, free counting above "no data" (a
//! member who published nothing, or whose servers did not answer, hides nobody's time):
//! 4 only where no member has data.

use std::collections::HashSet;

use crate::protocol::directory_file::groups::dn_key;
use crate::store::{GroupRecord, Store, StoreError, UserRecord};

/// Users one group may expand to (the EWS reference: "Distribution lists that contain more
/// than 100 members cannot be expanded", TooBigGroupAttendeeConflictData).
pub const MAX_GROUP_MEMBERS: usize = 100;
/// The group asked for is level 1; groups it names are level 2 and expanded; the groups
/// those name are not.
pub const GROUP_LEVELS: usize = 2;

/// Why a group got no members.
#[derive(Debug)]
pub enum ExpandError {
    /// Over [`MAX_GROUP_MEMBERS`]: the sentence for `ErrorFreeBusyDLLimitReached`.
    TooBig(String),
    Store(StoreError),
}

impl From<StoreError> for ExpandError {
    fn from(e: StoreError) -> Self {
        ExpandError::Store(e)
    }
}

/// The users whose free/busy make up `root`'s, in the order found.
pub fn expand(store: &Store, root: &GroupRecord) -> Result<Vec<UserRecord>, ExpandError> {
    let mut seen_groups: HashSet<String> = HashSet::from([dn_key(&root.dn)]);
    let mut seen_users: HashSet<String> = HashSet::new();
    let mut users: Vec<UserRecord> = Vec::new();
    let mut level = vec![root.clone()];
    for depth in 1..=GROUP_LEVELS {
        let mut next = Vec::new();
        for g in &level {
            let mut own: Vec<UserRecord> = Vec::new();
            let mut own_keys: HashSet<String> = HashSet::new();
            for m in &g.members {
                if let Some(u) = store.member_user(m)? {
                    let k = u.legacy_dn.key();
                    if !seen_users.contains(&k) && own_keys.insert(k) {
                        own.push(u);
                    }
                } else if let Some(sub) = store.group_by_dn(m)? {
                    if !seen_groups.insert(dn_key(&sub.dn)) {
                        continue;
                    }
                    if depth < GROUP_LEVELS {
                        next.push(sub);
                    } else {
                        tracing::info!(
                            group = %root.dn,
                            nested = %sub.dn,
                            "a group nested more than {GROUP_LEVELS} levels deep is not expanded, as the Availability service did"
                        );
                    }
                } else {
                    tracing::warn!(
                        group = %g.dn,
                        member = %m,
                        "a member of the group is neither a user nor a group of the directory; skipped (import the users and groups from one export)"
                    );
                }
            }
            let listed_more = g.member_count > g.members.len();
            if users.len() + own.len() > MAX_GROUP_MEMBERS || listed_more {
                if depth == 1 {
                    return Err(ExpandError::TooBig(format!(
                        "the distribution group {} has {} members; the Availability service expands at most {MAX_GROUP_MEMBERS}: ask for its members, or for smaller groups",
                        root.dn,
                        own.len().max(g.member_count)
                    )));
                }
                tracing::info!(
                    group = %root.dn,
                    nested = %g.dn,
                    "a nested group is not expanded: its members would take the group past {MAX_GROUP_MEMBERS}"
                );
                continue;
            }
            seen_users.extend(own_keys);
            users.extend(own);
        }
        level = next;
    }
    Ok(users)
}

/// One row of `slots` digits from the members' rows: per slot the busiest status, with
/// "no data" (4) below free (0).
pub fn merge<'a>(slots: usize, rows: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let weight = |d: u8| {
        if d == b'4' {
            0
        } else {
            d.saturating_sub(b'0') + 1
        }
    };
    let mut out = vec![b'4'; slots];
    for row in rows {
        for (o, d) in out.iter_mut().zip(row) {
            if weight(*d) > weight(*o) {
                *o = *d;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busiest_member_wins_and_no_data_hides_nobody() {
        let rows: [&[u8]; 3] = [b"404440", b"014444", b"444423"];
        assert_eq!(merge(6, rows), b"014423");
        assert_eq!(merge(3, std::iter::empty()), b"444");
        assert_eq!(merge(2, [&b"44"[..]]), b"44");
    }
}
