//! `schedplus fault list`, `GET /_schedplus/fault/list`: a running server's fault rules,
//! with what each has matched and fired (issue 14 item 5). Also the handle the server
//! keeps them behind ([`Faults`]), which the other fault operations change.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::{Ctx, Operation};
use crate::app::Error;
use crate::protocol::fault_rule::FaultSet;

/// A server's fault rules, shared by its requests (which draw from them) and the admin
/// API (which changes them). A lock held for a match or an edit, never across I/O; a
/// server without rules (the usual case) answers [`Faults::any`] without taking it, so
/// every request does not meet on one lock.
#[derive(Clone, Debug)]
pub struct Faults(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    set: Mutex<FaultSet>,
    /// Whether `set` holds a rule, as the last guard to let it go left it.
    any: AtomicBool,
}

/// The rules, locked; letting them go notes whether any is left ([`Faults::any`]).
pub struct FaultsGuard<'a> {
    set: MutexGuard<'a, FaultSet>,
    any: &'a AtomicBool,
}

impl Deref for FaultsGuard<'_> {
    type Target = FaultSet;
    fn deref(&self) -> &FaultSet {
        &self.set
    }
}

impl DerefMut for FaultsGuard<'_> {
    fn deref_mut(&mut self) -> &mut FaultSet {
        &mut self.set
    }
}

impl Drop for FaultsGuard<'_> {
    fn drop(&mut self) {
        self.any.store(!self.set.is_empty(), Ordering::Release);
    }
}

impl Faults {
    pub fn new(set: FaultSet) -> Faults {
        let any = AtomicBool::new(!set.is_empty());
        Faults(Arc::new(Shared {
            set: Mutex::new(set),
            any,
        }))
    }

    /// Does the server have any fault rule? (No lock taken.)
    pub fn any(&self) -> bool {
        self.0.any.load(Ordering::Acquire)
    }

    /// The rules. A panic while they were held leaves them as they were; they are still
    /// used.
    pub fn lock(&self) -> FaultsGuard<'_> {
        FaultsGuard {
            set: self.0.set.lock().unwrap_or_else(|p| p.into_inner()),
            any: &self.0.any,
        }
    }

    /// The report every fault operation answers with: the rules as they are now.
    pub fn report(&self) -> FaultReport {
        let set = self.lock();
        FaultReport {
            seed: set.seed(),
            rules: set
                .rules()
                .iter()
                .map(|r| ListedRule {
                    id: r.id,
                    rule: r.rule.to_string(),
                    matched: r.matched,
                    fired: r.fired,
                })
                .collect(),
        }
    }
}

impl Default for Faults {
    fn default() -> Faults {
        Faults::new(FaultSet::new(0, Vec::new()))
    }
}

/// A server's fault rules, in the order they are tried.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultReport {
    /// The seed of the `p=` draws (`fault_seed`): the same seed and requests, the same faults.
    pub seed: u64,
    pub rules: Vec<ListedRule>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedRule {
    pub id: u32,
    /// The rule's canonical text.
    pub rule: String,
    /// Requests it matched, and among them those it answered.
    pub matched: u64,
    pub fired: u64,
}

/// No fields: its JSON is `null`.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct FaultList;

impl Operation for FaultList {
    const ROUTE: &'static str = "/fault/list";
    const READ_ONLY: bool = true;
    type Report = FaultReport;

    fn run(self, ctx: &Ctx) -> Result<FaultReport, Error> {
        Ok(server_faults(ctx)?.report())
    }
}

/// The running server's rules; the CLI without a server has none to change.
pub(super) fn server_faults(ctx: &Ctx) -> Result<&Faults, Error> {
    ctx.faults.as_ref().ok_or_else(|| {
        Error::Unavailable(
            "fault rules live in a running server: start `schedplus serve` on this data directory, or name a lab server with --server".into(),
        )
    })
}
