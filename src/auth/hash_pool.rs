//! The hashing threads: [`HashPool`] runs Argon2 password checks off the async workers, with
//! a bounded queue ([`HASH_QUEUE`]), and [`constant_time_eq`] compares secrets without an
//! early exit.
//!
//! Must not touch: the store, HTTP.

use std::sync::Mutex;

use super::verify_password_with;

/// Working memory a hashing thread keeps between jobs, in blocks (our own hashes' 19 MiB).
const KEPT_HASH_BLOCKS: usize = argon2::Params::DEFAULT_M_COST as usize;

/// A job for the hashing threads.
type HashJob = Box<dyn FnOnce(&mut Vec<argon2::Block>) + Send>;

/// A few threads that do nothing but Argon2, each reusing its working memory through a
/// burst of sign-ins and giving it back when idle. At
/// most `threads` hashes run at once (each needs a core for tens of milliseconds and
/// 19 MiB) and at most [`HASH_QUEUE`] wait; beyond that a sign-in is refused as busy, so a
/// flood of wrong passwords costs time and a bounded queue, never unbounded memory. A job
/// whose request has already gone is skipped. The threads end when the pool is dropped.
pub struct HashPool {
    tx: std::sync::mpsc::SyncSender<HashJob>,
}

/// Sign-ins that may wait for a hashing thread.
pub const HASH_QUEUE: usize = 256;

/// Why [`HashPool::verify`] gave no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashBusy {
    /// [`HASH_QUEUE`] sign-ins already wait.
    QueueFull,
}

impl HashPool {
    pub fn new(threads: usize) -> HashPool {
        let (tx, rx) = std::sync::mpsc::sync_channel::<HashJob>(HASH_QUEUE);
        let rx = std::sync::Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("schedplus-argon2-{i}"))
                .spawn(move || {
                    loop {
                        // Wait for work with no buffer held; keep the buffer through a
                        // burst of jobs, and give it back when the queue is empty.
                        let mut memory = Vec::new();
                        let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok(job) = job else { break };
                        job(&mut memory);
                        loop {
                            // An odd hash may have asked for more than ours.
                            if memory.capacity() > KEPT_HASH_BLOCKS {
                                memory = Vec::new();
                            }
                            let next = rx.lock().unwrap_or_else(|p| p.into_inner()).try_recv();
                            match next {
                                Ok(job) => job(&mut memory),
                                Err(_) => break,
                            }
                        }
                    }
                })
                .expect("a hashing thread starts");
        }
        HashPool { tx }
    }

    /// Check `pw` against `phc` on a hashing thread.
    pub async fn verify(&self, phc: String, pw: String) -> Result<bool, HashBusy> {
        let (done, answer) = tokio::sync::oneshot::channel::<bool>();
        let job: HashJob = Box::new(move |memory| {
            if done.is_closed() {
                return; // the request went away while it waited
            }
            let _ = done.send(verify_password_with(&phc, &pw, memory));
        });
        match self.tx.try_send(job) {
            Ok(()) => Ok(answer.await.unwrap_or(false)),
            Err(std::sync::mpsc::TrySendError::Full(_)) => Err(HashBusy::QueueFull),
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => Ok(false),
        }
    }
}

/// Compare without an early exit, so response time does not reveal a prefix match.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn secrets_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abd", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
        assert!(!constant_time_eq(b"", b"abc"));
    }
}
