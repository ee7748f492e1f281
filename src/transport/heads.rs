//! Connections that have not finished sending their first request head: how many there may
//! be, in all and per client address.
//!
//! A slowloris client opens many connections and sends each request head a byte at a time;
//! every one of them holds a connection slot until `header_timeout`, and 600 of them left
//! real clients with 503s. [`PendingHeads`] bounds them:
//! - in all: when `max_pending_heads` are in progress, a new connection closes the one that
//!   has been at it longest. A real client sends its head in one packet, so it is never the
//!   oldest for long; trickling connections are the ones that go. Connection slots held by
//!   heads in progress are so at most `max_pending_heads` (fewer than `max_connections`),
//!   and the rest stay for clients that send requests.
//! - per address: when an address already has `max_pending_heads_per_address` heads in
//!   progress, a new connection from it closes that address's oldest one, if that one has
//!   been at it for more than [`GRACE`]: one address rotates its own slow connections and
//!   cannot push out everyone else's. Younger ones are left alone, so a client that opens
//!   many connections at once (a CAS, a proxy, a load generator) is not cut off while its
//!   heads are on their way.
//!
//! A connection leaves the registry when its first request head has arrived
//! ([`HeadTicket::headed`]) or when it ends; idle kept-alive connections are bounded by
//! `header_timeout` and the connection cap.
//!
//! Must not touch: what happens once a request has arrived.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How long a head may be in progress before its address's newer connections may close it.
pub const GRACE: Duration = Duration::from_secs(1);

/// The registry of connections still sending their first request head.
#[derive(Clone)]
pub struct PendingHeads {
    registry: Arc<Mutex<Registry>>,
    max: usize,
    per_address: usize,
}

struct Pending {
    ip: IpAddr,
    since: Instant,
    close: oneshot::Sender<()>,
}

#[derive(Default)]
struct Registry {
    next: u64,
    /// Oldest first.
    order: BTreeMap<u64, Pending>,
    by_address: HashMap<IpAddr, BTreeSet<u64>>,
}

impl Registry {
    fn remove(&mut self, id: u64) -> Option<Pending> {
        let p = self.order.remove(&id)?;
        if let Some(ids) = self.by_address.get_mut(&p.ip) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_address.remove(&p.ip);
            }
        }
        Some(p)
    }

    fn close(&mut self, id: u64, why: &'static str) {
        if let Some(p) = self.remove(id) {
            crate::app::metrics::slow_head_closed(why);
            let _ = p.close.send(());
        }
    }
}

/// A connection in the registry. Dropping it (the connection ended) takes it out.
pub struct HeadTicket {
    id: u64,
    done: AtomicBool,
    registry: Arc<Mutex<Registry>>,
}

impl HeadTicket {
    /// The connection's first request head has arrived: it no longer counts.
    pub fn headed(&self) {
        if !self.done.swap(true, Ordering::Relaxed) {
            lock(&self.registry).remove(self.id);
        }
    }
}

impl Drop for HeadTicket {
    fn drop(&mut self) {
        self.headed();
    }
}

/// Resolves with `Ok(())` when the connection is to be closed for a newer one.
pub type Evicted = oneshot::Receiver<()>;

fn lock(m: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    // The registry is a few maps, consistent after every statement; a panic elsewhere
    // while holding it leaves nothing half-done worth refusing service over.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PendingHeads {
    pub fn new(max: usize, per_address: usize) -> Self {
        PendingHeads {
            registry: Arc::default(),
            max: max.max(1),
            per_address: per_address.max(1),
        }
    }

    /// Admit a new connection from `ip`, closing older heads in progress as the bounds say.
    pub fn admit(&self, ip: IpAddr) -> (HeadTicket, Evicted) {
        self.admit_at(ip, Instant::now())
    }

    fn admit_at(&self, ip: IpAddr, now: Instant) -> (HeadTicket, Evicted) {
        let ip = ip.to_canonical();
        let mut r = lock(&self.registry);
        let own_oldest = r
            .by_address
            .get(&ip)
            .filter(|ids| ids.len() >= self.per_address)
            .and_then(|ids| ids.first().copied());
        if let Some(id) = own_oldest {
            if r.order.get(&id).is_some_and(|p| now - p.since > GRACE) {
                r.close(id, "per_address");
            }
        }
        while r.order.len() >= self.max {
            let Some(oldest) = r.order.keys().next().copied() else {
                break;
            };
            r.close(oldest, "oldest");
        }
        let id = r.next;
        r.next += 1;
        let (close, evicted) = oneshot::channel();
        r.order.insert(
            id,
            Pending {
                ip,
                since: now,
                close,
            },
        );
        r.by_address.entry(ip).or_default().insert(id);
        (
            HeadTicket {
                id,
                done: AtomicBool::new(false),
                registry: self.registry.clone(),
            },
            evicted,
        )
    }

    /// Connections still sending their first head.
    #[cfg(test)]
    fn pending(&self) -> usize {
        lock(&self.registry).order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_over_its_share_rotates_its_own_slow_heads() {
        let heads = PendingHeads::new(100, 2);
        let t0 = Instant::now();
        let (_a, mut ea) = heads.admit_at(ip("10.0.0.1"), t0);
        let (_b, mut eb) = heads.admit_at(ip("10.0.0.1"), t0);
        let (_o, mut eo) = heads.admit_at(ip("10.0.0.2"), t0);
        // A burst: the address's heads are all young, nobody is closed.
        let (_c, mut ec) = heads.admit_at(ip("10.0.0.1"), t0 + GRACE / 2);
        assert!(ea.try_recv().is_err() && eb.try_recv().is_err());
        assert_eq!(heads.pending(), 4);
        // Later, a new connection from it closes its own oldest, not another address's.
        let (_d, _) = heads.admit_at(ip("10.0.0.1"), t0 + GRACE * 2);
        assert_eq!(ea.try_recv(), Ok(()));
        assert!(eb.try_recv().is_err() && ec.try_recv().is_err());
        assert!(eo.try_recv().is_err());
    }

    #[test]
    fn a_full_registry_closes_the_oldest() {
        let heads = PendingHeads::new(2, 10);
        let (_t1, mut e1) = heads.admit(ip("10.0.0.1"));
        let (_t2, mut e2) = heads.admit(ip("10.0.0.2"));
        let (_t3, mut e3) = heads.admit(ip("10.0.0.3"));
        assert_eq!(e1.try_recv(), Ok(()));
        assert!(e2.try_recv().is_err());
        assert!(e3.try_recv().is_err());
        assert_eq!(heads.pending(), 2);
    }

    #[test]
    fn a_head_that_arrived_or_a_connection_that_ended_leaves_the_registry() {
        let heads = PendingHeads::new(10, 1);
        let t0 = Instant::now();
        let (a, mut ea) = heads.admit_at(ip("::ffff:10.0.0.1"), t0);
        a.headed();
        // v4-mapped is the same address; the first no longer counts, so nothing is closed.
        let (b, mut eb) = heads.admit_at(ip("10.0.0.1"), t0 + GRACE * 2);
        assert!(ea.try_recv().is_err() && eb.try_recv().is_err());
        assert_eq!(heads.pending(), 1);
        drop(b);
        assert_eq!(heads.pending(), 0);
    }
}
