//! Connections that have not finished sending their first request head: how many there may
//! be, in all and per client address.
//!
//! A slowloris client opens many connections and sends each request head a byte at a time;
//! every one of them holds a connection slot until `header_timeout`, and 600 of them left
//! real clients with 503s. [`PendingHeads`] bounds them: a connection from an address that
//! already has `max_pending_heads_per_address` heads in progress is closed at once, and when
//! `max_pending_heads` are in progress in all, the one that has been at it longest is
//! closed to make room. A real client sends its head in one packet, so it is never the
//! oldest for long; trickling connections are the ones that go. A connection leaves the
//! registry when its first request head has arrived ([`HeadTicket::headed`]) or when it
//! ends; idle kept-alive connections are bounded by `header_timeout` and the connection cap.
//!
//! Must not touch: what happens once a request has arrived.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// The registry of connections still sending their first request head.
#[derive(Clone)]
pub struct PendingHeads {
    registry: Arc<Mutex<Registry>>,
    max: usize,
    per_address: usize,
}

#[derive(Default)]
struct Registry {
    next: u64,
    /// Oldest first: id → (address, how to close it).
    order: BTreeMap<u64, (IpAddr, oneshot::Sender<()>)>,
    by_address: HashMap<IpAddr, usize>,
}

impl Registry {
    fn remove(&mut self, id: u64) -> Option<oneshot::Sender<()>> {
        let (ip, close) = self.order.remove(&id)?;
        if let Some(n) = self.by_address.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.by_address.remove(&ip);
            }
        }
        Some(close)
    }
}

/// Why a new connection was not admitted.
#[derive(Debug, PartialEq, Eq)]
pub struct TooManyFromAddress;

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
    // The registry is a few counters and maps, consistent after every statement; a panic
    // elsewhere while holding it leaves nothing half-done worth refusing service over.
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

    /// Admit a new connection from `ip`, closing the longest-pending one if the registry is
    /// full; refuse it if its address already has its share.
    pub fn admit(&self, ip: IpAddr) -> Result<(HeadTicket, Evicted), TooManyFromAddress> {
        let ip = ip.to_canonical();
        let mut r = lock(&self.registry);
        if r.by_address.get(&ip).copied().unwrap_or(0) >= self.per_address {
            return Err(TooManyFromAddress);
        }
        while r.order.len() >= self.max {
            let Some(oldest) = r.order.keys().next().copied() else {
                break;
            };
            if let Some(close) = r.remove(oldest) {
                crate::metrics::slow_head_closed("oldest");
                let _ = close.send(());
            }
        }
        let id = r.next;
        r.next += 1;
        let (close, evicted) = oneshot::channel();
        r.order.insert(id, (ip, close));
        *r.by_address.entry(ip).or_default() += 1;
        Ok((
            HeadTicket {
                id,
                done: AtomicBool::new(false),
                registry: self.registry.clone(),
            },
            evicted,
        ))
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
    fn an_address_gets_its_share_and_no_more() {
        let heads = PendingHeads::new(10, 2);
        let a = heads.admit(ip("10.0.0.1")).unwrap();
        let _b = heads.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(heads.admit(ip("10.0.0.1")).err(), Some(TooManyFromAddress));
        assert!(heads.admit(ip("10.0.0.2")).is_ok());
        // A head that arrived frees its address's share.
        a.0.headed();
        assert!(heads.admit(ip("10.0.0.1")).is_ok());
    }

    #[test]
    fn a_full_registry_closes_the_oldest() {
        let heads = PendingHeads::new(2, 10);
        let (_t1, mut e1) = heads.admit(ip("10.0.0.1")).unwrap();
        let (_t2, mut e2) = heads.admit(ip("10.0.0.2")).unwrap();
        let (_t3, mut e3) = heads.admit(ip("10.0.0.3")).unwrap();
        assert_eq!(e1.try_recv(), Ok(()));
        assert!(e2.try_recv().is_err());
        assert!(e3.try_recv().is_err());
        assert_eq!(heads.pending(), 2);
    }

    #[test]
    fn a_connection_that_ends_leaves_the_registry() {
        let heads = PendingHeads::new(2, 1);
        let t = heads.admit(ip("::ffff:10.0.0.1")).unwrap();
        assert!(
            heads.admit(ip("10.0.0.1")).is_err(),
            "v4-mapped is the same address"
        );
        drop(t);
        assert_eq!(heads.pending(), 0);
        assert!(heads.admit(ip("10.0.0.1")).is_ok());
    }
}
