//! Answering `GET /public/?Cmd=freebusy`: resolve each `u=`, read its precomputed
//! free/busy, paint the digits, and write the XML.
//!
//! Per user this is one or two point reads in the address index, one in the users tree
//! and one short prefix scan of the messages tree; nothing scans the store. A user who
//! cannot be resolved, or has no message, or whose store read fails, is answered with `4`s:
//! one bad user never fails the whole request (PROTOCOL.md §3).
//!
//! An answer may reach 20 MB (`max_digits`), so it is written a piece at a time
//! ([`AnswerPages`]) rather than built whole: the first item, All Attendees, is the
//! per-slot maximum over every user, so a first pass ([`AnswerPages::new`]) paints each user
//! once to build it (holding one row and the aggregate), and the items are then painted
//! again, a page at a time, as the client takes them. A publish that lands between the two
//! passes can make All Attendees differ from that user's row in this one answer; each row
//! is a consistent read of its own user. An answer of up to 256 KiB of digits (the usual
//! query) keeps its rows from the first pass and reads the store once.

use crate::protocol::query::{
    AnswerItem, FreeBusyQuery, UserAddress, write_answer_head, write_answer_item, write_answer_tail,
};
use crate::protocol::raster::{self, SlotGrid};
use crate::store::Store;

/// What one answered user came to, for logs and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnswerStats {
    pub users: usize,
    pub unknown: usize,
    pub no_message: usize,
}

/// How one user was answered.
enum Outcome {
    Unknown,
    NoMessage,
    Data,
}

/// Paint `addr`'s row into `digits` and return the display name to answer with. `first`:
/// the first pass, which logs what it finds (the second would log it again).
fn paint_user(
    store: &Store,
    addr: &UserAddress,
    grid: &SlotGrid,
    digits: &mut Vec<u8>,
    first: bool,
) -> (String, Outcome) {
    digits.clear();
    let user = match store.find_user(addr) {
        Ok(Some(u)) => Some(u),
        Ok(None) => None,
        Err(e) => {
            if first {
                tracing::warn!(address = addr.value(), error = %e, "directory read failed; answering no data");
            }
            None
        }
    };
    let Some(u) = user else {
        raster::paint(grid, None, digits);
        return (addr.value().to_string(), Outcome::Unknown);
    };
    let dn = &u.legacy_dn;
    let stored = store
        .freebusy_of(&dn.admin_group(), &dn.subject())
        .unwrap_or_else(|e| {
            if first {
                tracing::warn!(user = %dn, error = %e, "free/busy read failed; answering no data");
            }
            None
        });
    // The CAS's 4004: no public-folder server holds this user's admin group. Only checked
    // when there is no message, so it costs nothing on the usual path.
    if first && stored.is_none() && matches!(store.folder(&dn.admin_group()), Ok(None)) {
        tracing::warn!(
            event_id = 4004,
            user = %dn,
            folder = %dn.admin_group(),
            "no SCHEDULE+ FREE BUSY folder for this user's admin group; a CAS would log event 4004. Import the user (schedplus directory import) or create the folder"
        );
    }
    raster::paint(grid, stored.as_ref().map(|s| (&s.fb, s.range)), digits);
    let outcome = if stored.is_some() {
        Outcome::Data
    } else {
        Outcome::NoMessage
    };
    (u.display_name, outcome)
}

/// Answers whose digits fit in this many bytes keep their rows from the first pass instead
/// of painting them again: the usual query (up to 100 users over six weeks in 30-minute
/// slots, say) reads the store once.
const KEEP_ROWS_DIGITS: usize = 256 * 1024;

/// An answer written a piece at a time.
pub struct AnswerPages {
    q: FreeBusyQuery,
    grid: SlotGrid,
    /// All Attendees; taken when its item is written.
    all: Option<Vec<u8>>,
    /// The next user to write.
    next: usize,
    digits: Vec<u8>,
    /// Each user's name and digits from the first pass, for a small answer.
    kept: Option<Vec<(String, Vec<u8>)>>,
    /// The name of the user last painted in the second pass.
    name: String,
}

impl AnswerPages {
    /// The first pass: every user painted once for All Attendees and the statistics.
    pub fn new(store: &Store, q: FreeBusyQuery) -> (AnswerPages, AnswerStats) {
        let grid = q.grid();
        let mut stats = AnswerStats {
            users: q.users.len(),
            ..Default::default()
        };
        let mut all = vec![b'0'; grid.slots];
        let mut digits = Vec::with_capacity(grid.slots);
        let mut kept = (q.users.len().saturating_mul(grid.slots) <= KEEP_ROWS_DIGITS)
            .then(|| Vec::with_capacity(q.users.len()));
        for addr in &q.users {
            let (name, outcome) = paint_user(store, addr, &grid, &mut digits, true);
            match outcome {
                Outcome::Unknown => {
                    stats.unknown += 1;
                    crate::app::metrics::unknown_query_user(&name);
                }
                Outcome::NoMessage => stats.no_message += 1,
                Outcome::Data => {}
            }
            raster::max_into(&mut all, &digits);
            if let Some(rows) = kept.as_mut() {
                rows.push((name, digits.clone()));
            }
        }
        let pages = AnswerPages {
            q,
            grid,
            all: Some(all),
            next: 0,
            digits,
            kept,
            name: String::new(),
        };
        (pages, stats)
    }

    /// Is the answer small enough to have been kept whole from the first pass (at most
    /// 256 KiB of digits)? Then it is cheaper to write it at once than a page at a time.
    pub fn is_small(&self) -> bool {
        self.kept.is_some()
    }

    /// The rest of the answer, at once.
    pub fn finish(mut self, store: &Store) -> Vec<u8> {
        let mut out = Vec::new();
        while self.fill(store, &mut out, usize::MAX) {}
        out
    }

    /// Append the next items to `out` until it holds `chunk` bytes or the answer is
    /// complete (`false`).
    pub fn fill(&mut self, store: &Store, out: &mut Vec<u8>, chunk: usize) -> bool {
        if let Some(all) = self.all.take() {
            write_answer_head(out);
            write_answer_item(
                &AnswerItem {
                    display_name: "All Attendees",
                    email: None,
                    fbdata: &all,
                },
                out,
            );
        }
        while out.len() < chunk {
            let Some(addr) = self.q.users.get(self.next) else {
                if self.next == self.q.users.len() {
                    write_answer_tail(out);
                    self.next += 1;
                }
                return false;
            };
            let i = self.next;
            self.next += 1;
            let (name, fbdata) = match &self.kept {
                Some(rows) => (rows[i].0.as_str(), rows[i].1.as_slice()),
                None => {
                    let (name, _) = paint_user(store, addr, &self.grid, &mut self.digits, false);
                    self.name = name;
                    (self.name.as_str(), self.digits.as_slice())
                }
            };
            write_answer_item(
                &AnswerItem {
                    display_name: name,
                    email: Some(addr),
                    fbdata,
                },
                out,
            );
        }
        self.next <= self.q.users.len()
    }
}

/// Build the whole answer document for a parsed query (for in-process callers and tests;
/// the server streams it with [`AnswerPages`]).
pub fn answer(store: &Store, q: &FreeBusyQuery) -> (Vec<u8>, AnswerStats) {
    let (pages, stats) = AnswerPages::new(store, q.clone());
    (pages.finish(store), stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::query::{QueryLimits, parse_query};
    use crate::store::testutil::temp_store;

    /// The answer written in pages of `chunk` bytes.
    fn paged(store: &Store, q: &FreeBusyQuery, chunk: usize) -> Vec<u8> {
        let (mut pages, _) = AnswerPages::new(store, q.clone());
        let mut out = Vec::new();
        let mut page = Vec::new();
        while pages.fill(store, &mut page, chunk) {
            out.append(&mut page);
        }
        out.append(&mut page);
        out
    }

    #[test]
    fn pages_of_any_size_make_the_same_answer() {
        let (_dir, store) = temp_store();
        crate::app::demo::load(&store, &crate::app::Clock::System, None).unwrap();
        let users = "&u=danw@xcs.example&u=nobody@nowhere.example&u=SMTP:kbaker@xcs.example";
        // A small answer (rows kept from the first pass) and a large one (rows painted
        // again), both with users who have data.
        for (days, interval) in [(7, 60), (340, 5)] {
            let end = jiff::Timestamp::from_second(1_767_225_600 + days * 86_400).unwrap();
            let raw = format!(
                "Cmd=freebusy&start=2026-01-01T00:00:00Z&end={}&interval={interval}{users}",
                crate::protocol::time::format_rfc3339(end)
            );
            let q = parse_query(&raw, &QueryLimits::default()).unwrap();
            let (whole, stats) = answer(&store, &q);
            assert_eq!(stats.users, 3);
            assert_eq!(stats.unknown, 1);
            let text = String::from_utf8(whole.clone()).unwrap();
            assert!(text.ends_with("</a:recipients></a:response>"), "{text}");
            assert_eq!(text.matches("<a:item>").count(), 4);
            let digits = q.users.len() * q.grid().slots;
            assert_eq!(digits <= KEEP_ROWS_DIGITS, days == 7, "one of each kind");
            for chunk in [1, 100, 4096, CHUNK_FOR_TESTS] {
                assert_eq!(paged(&store, &q, chunk), whole, "pages of {chunk} bytes");
            }
        }
    }

    const CHUNK_FOR_TESTS: usize = 64 * 1024;
}
