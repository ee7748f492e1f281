//! Answering `GET /public/?Cmd=freebusy`: resolve each `u=`, read its precomputed
//! free/busy, paint the digits, and write the XML.
//!
//! Per user this is one or two point reads in the address index, one in the users tree
//! and one short prefix scan of the messages tree; nothing scans the store. A user who
//! cannot be resolved, or has no message, or whose store read fails, is answered with `4`s:
//! one bad user never fails the whole request (PROTOCOL.md §3).

use crate::protocol::query::{AnswerItem, FreeBusyQuery};
use crate::protocol::raster;
use crate::store::Store;

/// What one answered user came to, for logs and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnswerStats {
    pub users: usize,
    pub unknown: usize,
    pub no_message: usize,
}

/// Build the whole answer document for a parsed query.
pub fn answer(store: &Store, q: &FreeBusyQuery) -> (Vec<u8>, AnswerStats) {
    let grid = q.grid();
    let mut stats = AnswerStats {
        users: q.users.len(),
        ..Default::default()
    };
    let mut all = vec![b'0'; grid.slots];
    let mut rows: Vec<(String, Vec<u8>)> = Vec::with_capacity(q.users.len());
    for addr in &q.users {
        let user = match store.find_user(addr) {
            Ok(Some(u)) => Some(u),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(address = addr.value(), error = %e, "directory read failed; answering no data");
                None
            }
        };
        let mut digits = Vec::new();
        let name = match &user {
            None => {
                stats.unknown += 1;
                raster::paint(&grid, None, &mut digits);
                addr.value().to_string()
            }
            Some(u) => {
                let dn = &u.legacy_dn;
                let stored = store
                    .freebusy_of(&dn.admin_group(), &dn.subject())
                    .unwrap_or_else(|e| {
                        tracing::warn!(user = %dn, error = %e, "free/busy read failed; answering no data");
                        None
                    });
                if stored.is_none() {
                    stats.no_message += 1;
                    // The CAS's 4004: no public-folder server holds this user's admin
                    // group. Only checked when there is no message, so it costs nothing on
                    // the usual path.
                    if matches!(store.folder(&dn.admin_group()), Ok(None)) {
                        tracing::warn!(
                            event_id = 4004,
                            user = %dn,
                            folder = %dn.admin_group(),
                            "no SCHEDULE+ FREE BUSY folder for this user's admin group; a CAS would log event 4004. Import the user (schedplus directory import) or create the folder"
                        );
                    }
                }
                raster::paint(
                    &grid,
                    stored.as_ref().map(|s| (&s.fb, s.range)),
                    &mut digits,
                );
                u.display_name.clone()
            }
        };
        raster::max_into(&mut all, &digits);
        rows.push((name, digits));
    }
    let mut items = Vec::with_capacity(rows.len() + 1);
    items.push(AnswerItem {
        display_name: "All Attendees",
        email: None,
        fbdata: &all,
    });
    for ((name, digits), addr) in rows.iter().zip(&q.users) {
        items.push(AnswerItem {
            display_name: name,
            email: Some(addr),
            fbdata: digits,
        });
    }
    let mut out = Vec::new();
    crate::protocol::query::write_answer(&items, &mut out);
    (out, stats)
}
