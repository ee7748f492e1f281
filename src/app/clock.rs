//! The one clock: where "now" comes from. Read by `app`, `transport` and the composition
//! root, and passed down as a value (a `Timestamp`, or microseconds to the store), so that
//! `--now` fixes every "now" of a run, record stamps included, and protocol and store
//! never read the system time themselves.

use jiff::Timestamp;

/// Where "now" comes from: the system clock, or a fixed instant so that labs and tests can
/// reproduce month ends, year ends and DST changes (`--now`, `SCHEDPLUS_NOW`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    System,
    Fixed(Timestamp),
}

impl Clock {
    pub fn now(&self) -> Timestamp {
        match self {
            Clock::System => Timestamp::now(),
            Clock::Fixed(t) => *t,
        }
    }

    /// Now, in the microseconds since 1970 that store records keep.
    pub fn now_us(&self) -> i64 {
        self.now().as_microsecond()
    }
}

/// The wall clock, in microseconds since 1970, whatever `--now` says: for the stamps of a
/// user's calendar (its `updated_us`, a deletion's tombstone, a refusal note, the time it
/// was queued), which are compared with calendar files' modification times (see
/// `calendar_dir`) and measure the poller's lag, both real times.
pub fn wall_us() -> i64 {
    Timestamp::now().as_microsecond()
}
