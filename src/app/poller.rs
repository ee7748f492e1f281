//! The MadFB poller: republishes users whose calendar changed, everyone when the publish
//! window moves, and runs the nightly cleanup of the free/busy folders.
//!
//! Owns [`Poller`] (one round of work, synchronous, testable without a runtime),
//! [`spawn`] (the task that runs a round every `--poll-interval`), [`CleanupAt`] and
//! [`parse_interval`].
//!
//! # Design: a durable queue, polled
//!
//! Exchange's MadFB dropped a request into the System Attendant mailbox on every calendar
//! change and a thread scanned that mailbox every few minutes. schedplus does the same with
//! the store's `dirty` tree: every calendar write marks its user dirty *in the same
//! transaction* (`store::calendars`), and each round here lists the tree, republishes those
//! users and clears each mark with a compare-and-swap on its generation, so a change that
//! arrives during the publish stays queued for the next round. Consequences:
//!
//! * writers never wait for the poller: they only write their own transaction; the poller
//!   takes the store's write lock one user at a time, as any writer does, never across a
//!   round;
//! * coalescing is free: a user changed ten times between rounds is one key;
//! * a restart loses nothing: the queue is on disk, and the first round after start also
//!   republishes everyone (the window may have moved while the server was down);
//! * no sled `Subscriber` is needed: its events are not durable and would only set a flag
//!   that the interval scan of a tree holding just the dirty users already gives.
//!
//! The calendar directory (`calendar_dir`) is scanned at the start of each round, in the
//! same task, so an edited file is published in the round that notices it: within one
//! poll interval.
//!
//! "Now" for publish ranges and the cleanup time comes from the [`Clock`] (`--now`); lags
//! are measured on the wall clock, because they are about this process's latency.
//!
//! # `--publish on-change`
//!
//! MadFB's delay is what `--publish interval` (the default) keeps. With `--publish
//! on-change` a round also starts as soon as a calendar change is queued: the store wakes
//! the task on every new mark of the queue ([`Store::watch_queue`], a sled subscriber, so
//! every door that writes a calendar wakes it: `PUT /calendars/`, the admin API, the
//! calendar directory's scan). The task then waits until the changes stop for
//! [`DEBOUNCE_QUIET`] (at most [`DEBOUNCE_MAX`] after the first), so a burst of edits is
//! one round and one publish per user. The interval round still runs every
//! `--poll-interval`: the window's move, the nightly cleanup and the calendar directory's
//! scan come from it (a file edited in the directory is seen at the next interval round).

use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::app::Clock;
use crate::app::calendar_dir::CalendarDir;
use crate::protocol::address::UserAddress;
use crate::protocol::freebusy::PublishRange;
use crate::publishing::publisher::{
    PublishError, PublishSettings, message_from_text, stored_message,
};
use crate::store::{
    CleanupReport, DirtyEntry, PublishOutcome, PublishedMessage, Queued, Store, UserRecord,
};

/// The default `--poll-interval`.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// `--publish on-change`: a round starts once changes have stopped for this long…
pub const DEBOUNCE_QUIET: Duration = Duration::from_millis(5);
/// … or this long after the first change of a burst, whichever comes first.
pub const DEBOUNCE_MAX: Duration = Duration::from_millis(25);

/// `--publish`: when queued changes are published.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PublishMode {
    /// At the next round, every `--poll-interval`, as Exchange's MadFB did.
    #[default]
    Interval,
    /// As soon as a change is queued (debounced), and every `--poll-interval` as well.
    OnChange,
}

impl std::str::FromStr for PublishMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "interval" => Ok(PublishMode::Interval),
            "on-change" => Ok(PublishMode::OnChange),
            _ => Err(format!("'{s}': write interval or on-change")),
        }
    }
}

/// Parse a duration written like `500ms`, `1s`, `5m` or `1h`.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("'{s}' has no unit: write it like 500ms, 1s, 5m or 1h"))?;
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' does not start with a number: write it like 500ms, 1s, 5m"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" | "min" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => {
            return Err(format!(
                "'{s}': unknown unit '{unit}'; use ms, s, m or h (500ms, 1s, 5m)"
            ));
        }
    };
    if d < Duration::from_millis(10) {
        return Err(format!("'{s}' is too short; poll at most every 10ms"));
    }
    if d > Duration::from_secs(24 * 3600) {
        return Err(format!("'{s}' is too long; poll at least once a day"));
    }
    Ok(d)
}

/// The daily time of MadFB's cleanup (`--cleanup-at HH:MM`), in the `--default-tz` zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CleanupAt(pub Time);

impl Default for CleanupAt {
    fn default() -> Self {
        CleanupAt(Time::constant(2, 0, 0, 0))
    }
}

impl std::str::FromStr for CleanupAt {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}' is not a time of day: write HH:MM, e.g. 02:00");
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        Time::new(h, m, 0, 0).map(CleanupAt).map_err(|_| bad())
    }
}

/// What one round did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundReport {
    /// Calendars the directory scan stored or deleted.
    pub dir_changes: usize,
    pub published: usize,
    pub unchanged: usize,
    pub unpublished: usize,
    pub failed: usize,
    pub window_moved: bool,
    pub cleanup: Option<CleanupReport>,
}

/// Users a round publishes per store transaction ([`Store::publish_queued_unsynced`]): one
/// pass through sled's log for all of them, instead of one each; each message is visible
/// once its batch is written, at most 256 publishes (about 0.2 s on the bench's calendars)
/// after it was made. 256 rather than 64: each transaction has a cost of its own (the
/// write lock, sled's batch seal), and in `benches/publish.rs` (200 users of ~200 events)
/// the first publish's CPU per user fell from 1.095× the unchanged round's to 1.064×
/// (medians of 10 runs); a change alone in its round is one batch of one, as before.
const ROUND_BATCH: usize = 256;

/// A user's message made in a round, waiting for its batch's transaction.
struct Pending<'a> {
    user: UserRecord,
    reason: &'a str,
    lag: Option<Duration>,
    started: std::time::Instant,
    /// The queue mark to clear once the message is stored (none for a whole-window
    /// republish of a user not queued).
    entry: Option<&'a DirtyEntry>,
    msg: PublishedMessage,
}

/// The poller's state between rounds.
pub struct Poller {
    store: Store,
    clock: Clock,
    settings: PublishSettings,
    cleanup_at: CleanupAt,
    calendar_dir: Option<CalendarDir>,
    last_range: Option<PublishRange>,
    last_cleanup_day: Option<Date>,
}

impl Poller {
    pub fn new(
        store: Store,
        clock: Clock,
        settings: PublishSettings,
        cleanup_at: CleanupAt,
        calendar_dir: Option<CalendarDir>,
    ) -> Poller {
        let mut p = Poller {
            store,
            clock,
            settings,
            cleanup_at,
            calendar_dir,
            last_range: None,
            last_cleanup_day: None,
        };
        // Started after today's cleanup time: the next cleanup is tomorrow's, as MadFB's.
        let (today, time) = p.local_now();
        if time >= cleanup_at.0 {
            p.last_cleanup_day = Some(today);
        }
        p
    }

    fn local_now(&self) -> (Date, Time) {
        let z = self
            .clock
            .now()
            .to_zoned(self.settings.expand.default_tz.clone());
        (z.date(), z.time())
    }

    /// One round: scan the calendar directory, republish queued users (everyone when the
    /// window moved), and run the cleanup when its time has come.
    pub fn round(&mut self) -> RoundReport {
        let mut report = RoundReport::default();
        if let Some(dir) = self.calendar_dir.as_mut() {
            let scan = dir.scan(&self.store, &self.clock, &self.settings);
            report.dir_changes = scan.stored + scan.deleted;
        }
        let now = self.clock.now();
        let range = self.settings.range_at(now);
        // Read the queue before publishing anyone: a mark made after this point has a new
        // generation and survives the clear below.
        let queued = match self.store.dirty_users() {
            Ok(q) => q,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the republish queue; retrying next round");
                Vec::new()
            }
        };
        if self.last_range != Some(range) {
            report.window_moved = self.last_range.is_some();
            let reason = if self.last_range.is_none() {
                "start-up"
            } else {
                "publish window moved"
            };
            tracing::info!(start = %range.start, end = %range.end, reason, "republishing every calendar");
            self.republish_all(now, reason, &queued, &mut report);
            self.last_range = Some(range);
        }
        crate::app::metrics::poller_queue(queued.len());
        let mut batch = Vec::new();
        for entry in &queued {
            self.publish_queued(entry, now, &mut batch, &mut report);
        }
        self.write_batch(&mut batch, now, &mut report);
        // One wait for the disk for the round's publishes (each was visible at once).
        if report.published + report.unpublished > 0
            && let Err(e) = self.store.sync()
        {
            tracing::error!(error = %e, "the round's publishes may not be on disk; the first round after a restart makes them again");
        }
        let (today, time) = self.local_now();
        if time >= self.cleanup_at.0 && self.last_cleanup_day != Some(today) {
            self.last_cleanup_day = Some(today);
            match self.store.cleanup_messages() {
                Ok(c) => {
                    tracing::info!(
                        duplicates_removed = c.duplicates_removed,
                        renamed = c.renamed,
                        rename_blocked = c.rename_blocked,
                        subjects = c.subjects,
                        "nightly free/busy cleanup done"
                    );
                    report.cleanup = Some(c);
                }
                Err(e) => tracing::error!(error = %e, "nightly free/busy cleanup failed"),
            }
        }
        report
    }

    /// Republish every user with a calendar who is not queued (queued users are handled
    /// with their own reason right after).
    fn republish_all(
        &self,
        now: Timestamp,
        reason: &str,
        queued: &[DirtyEntry],
        report: &mut RoundReport,
    ) {
        let keys = match self.store.calendar_users() {
            Ok(k) => k,
            Err(e) => {
                tracing::error!(error = %e, "cannot list calendars");
                return;
            }
        };
        // A set, not a scan of `queued` per calendar: a start-up round with many users
        // queued would otherwise fold every queued legacyDN once per calendar.
        let queued: std::collections::HashSet<String> =
            queued.iter().map(|q| q.legacy_dn.key()).collect();
        let mut batch = Vec::new();
        for key in keys {
            if queued.contains(&key) {
                continue;
            }
            let Some(user) = self.user(&key) else {
                continue;
            };
            let started = std::time::Instant::now();
            match stored_message(&self.store, &user, now, &self.settings) {
                Ok(msg) => {
                    let p = Pending {
                        user,
                        reason,
                        lag: None,
                        started,
                        entry: None,
                        msg,
                    };
                    self.add_to_batch(&mut batch, p, now, report);
                }
                Err(e) => self.record(&user, reason, None, started, Err(e), report),
            }
        }
        self.write_batch(&mut batch, now, report);
    }

    /// Queue `p` for the next batch; write the batch once it is full.
    fn add_to_batch<'a>(
        &self,
        batch: &mut Vec<Pending<'a>>,
        p: Pending<'a>,
        now: Timestamp,
        report: &mut RoundReport,
    ) {
        batch.push(p);
        if batch.len() == ROUND_BATCH {
            self.write_batch(batch, now, report);
        }
    }

    /// Publish the batch's messages in one store transaction (visible at once, durable at
    /// the round's sync) that also clears their queue marks, then record each. A store
    /// failure leaves the mark: the user is published again next round.
    fn write_batch(&self, batch: &mut Vec<Pending<'_>>, now: Timestamp, report: &mut RoundReport) {
        if batch.is_empty() {
            return;
        }
        let queued: Vec<Queued<'_>> = batch.iter().map(|p| (&p.msg, p.entry)).collect();
        let results = self
            .store
            .publish_queued_unsynced(&queued, now.as_microsecond());
        drop(queued);
        for (p, r) in batch.drain(..).zip(results) {
            let outcome = r.map(|(o, _)| o).map_err(PublishError::from);
            self.record(&p.user, p.reason, p.lag, p.started, outcome, report);
        }
    }

    fn publish_queued<'a>(
        &self,
        entry: &'a DirtyEntry,
        now: Timestamp,
        batch: &mut Vec<Pending<'a>>,
        report: &mut RoundReport,
    ) {
        let reason = entry.record.reason.as_str();
        let lag = Duration::from_micros(
            crate::app::clock::wall_us()
                .saturating_sub(entry.record.since_us)
                .max(0) as u64,
        );
        let Some(user) = self.user(&entry.legacy_dn.key()) else {
            self.clear(entry);
            return;
        };
        let started = std::time::Instant::now();
        let result = match self.store.calendar(&user.legacy_dn) {
            // The calendar is gone: so is the user's free/busy (the query answers 4).
            Ok(None) => self
                .store
                .delete_messages(&user.legacy_dn.admin_group(), &user.legacy_dn.subject())
                .map(|n| {
                    report.unpublished += 1;
                    tracing::info!(user = %user.mail, reason, lag = %format!("{}ms", lag.as_millis()), deleted = n, "free/busy removed");
                    None
                })
                .map_err(PublishError::from),
            // Published from the calendar just read (not read again), with the batch.
            Ok(Some(rec)) => match message_from_text(&user, &rec.text, now, &self.settings) {
                Ok(msg) => {
                    let p = Pending {
                        user,
                        reason,
                        lag: Some(lag),
                        started,
                        entry: Some(entry),
                        msg,
                    };
                    return self.add_to_batch(batch, p, now, report);
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e.into()),
        };
        let retry = matches!(result, Err(PublishError::Store(_)));
        match result {
            Ok(None) => {}
            Ok(Some(o)) => self.record(&user, reason, Some(lag), started, Ok(o), report),
            Err(e) => self.record(&user, reason, Some(lag), started, Err(e), report),
        }
        // A store failure is retried next round; a calendar that cannot be expanded will
        // fail the same way until it changes, so it is not retried every round.
        if !retry {
            self.clear(entry);
        }
    }

    fn record(
        &self,
        user: &UserRecord,
        reason: &str,
        lag: Option<Duration>,
        started: std::time::Instant,
        outcome: Result<PublishOutcome, PublishError>,
        report: &mut RoundReport,
    ) {
        let ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
        // The lag runs from the first unpublished change; a whole-window republish has none.
        if let Some(l) = lag {
            crate::app::metrics::publish_lag(l.as_secs_f64());
        }
        let lag = match lag {
            Some(l) => format!("{}ms", l.as_millis()),
            None => "-".to_string(),
        };
        match outcome {
            Ok(PublishOutcome::Unchanged) => {
                report.unchanged += 1;
                tracing::debug!(user = %user.mail, reason, %lag, ms, "free/busy unchanged");
            }
            Ok(o) => {
                report.published += 1;
                crate::app::metrics::published(reason);
                tracing::info!(user = %user.mail, reason, %lag, ms, outcome = ?o, "free/busy published");
            }
            Err(e) => {
                report.failed += 1;
                crate::app::metrics::publish_failed(reason);
                // Exchange logged event 8207 (MSExchangeFBPublish) for a failed publish.
                tracing::warn!(user = %user.mail, reason, error = %e, "free/busy publish failed (MSExchangeFBPublish 8207)");
            }
        }
    }

    fn user(&self, dn_key: &str) -> Option<UserRecord> {
        match self.store.find_user(&UserAddress::Ex(dn_key.to_string())) {
            Ok(Some(u)) => Some(u),
            Ok(None) => {
                tracing::warn!(
                    legacy_dn = dn_key,
                    "a calendar belongs to a user no longer in the directory; not published"
                );
                None
            }
            Err(e) => {
                tracing::error!(legacy_dn = dn_key, error = %e, "directory read failed");
                None
            }
        }
    }

    fn clear(&self, entry: &DirtyEntry) {
        if let Err(e) = self.store.clear_dirty(entry) {
            tracing::error!(legacy_dn = %entry.legacy_dn, error = %e, "cannot clear a republish mark; it is retried next round");
        }
    }
}

/// When a debounced round starts: `quiet` after the `last` change, but no later than
/// `max` after the `first` one (changes that never pause still get published).
pub fn round_due<T: Copy + Ord + std::ops::Add<Duration, Output = T>>(
    first: T,
    last: T,
    quiet: Duration,
    max: Duration,
) -> T {
    (last + quiet).min(first + max)
}

/// Wait until `wake` has been quiet for `quiet`, or `max` has passed since the call (the
/// first change of a burst woke the caller): the burst's changes are then all queued.
pub async fn debounce(wake: &tokio::sync::Notify, quiet: Duration, max: Duration) {
    let first = tokio::time::Instant::now();
    let mut last = first;
    loop {
        tokio::select! {
            _ = wake.notified() => last = tokio::time::Instant::now(),
            _ = tokio::time::sleep_until(round_due(first, last, quiet, max)) => return,
        }
    }
}

/// Run `poller` every `interval` (and, [`PublishMode::OnChange`], at each change) until
/// `stop` turns true. Rounds run on the blocking pool (they flush to disk); a round in
/// progress finishes before the task ends.
pub fn spawn(
    poller: Poller,
    interval: Duration,
    mode: PublishMode,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    // The store's events, turned into wake-ups by a task of their own that never waits on
    // a round, so the subscriber's buffer never fills (see `QueueWatch`).
    let watcher = (mode == PublishMode::OnChange).then(|| {
        let mut queue = poller.store.watch_queue();
        let wake = wake.clone();
        tokio::spawn(async move {
            while queue.marked().await {
                wake.notify_one();
            }
        })
    });
    let poller = std::sync::Arc::new(std::sync::Mutex::new(poller));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick fires at once; the server already ran a round while starting.
        ticker.tick().await;
        loop {
            let trigger = tokio::select! {
                _ = ticker.tick() => "interval",
                _ = wake.notified() => {
                    debounce(&wake, DEBOUNCE_QUIET, DEBOUNCE_MAX).await;
                    "change"
                }
                _ = stop.changed() => break,
            };
            if *stop.borrow() {
                break;
            }
            tracing::debug!(trigger, "poller round");
            let p = poller.clone();
            let joined = tokio::task::spawn_blocking(move || {
                // Poisoned only if a round panicked; the state is still usable.
                p.lock().unwrap_or_else(|e| e.into_inner()).round()
            })
            .await;
            if let Err(e) = joined {
                tracing::error!(error = %e, "a poller round panicked; the next round runs as usual");
            }
        }
        if let Some(w) = watcher {
            w.abort();
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::legacy_dn::LegacyDn;
    use crate::store::testutil::stamp;
    use crate::store::testutil::store_with;
    use crate::store::{UserRecord, Writer};

    /// A burst of changes, each within the quiet time of the one before, is waited out
    /// whole: one round for all of them; a stream that never pauses is cut at the maximum.
    #[test]
    fn a_burst_of_changes_is_one_round() {
        let ms = Duration::from_millis;
        let (quiet, max) = (DEBOUNCE_QUIET, DEBOUNCE_MAX);
        // Changes at 0, 2, 4, 6 and 8 ms: each moves the round to 5 ms after it.
        let mut due = round_due(ms(0), ms(0), quiet, max);
        for at in [2, 4, 6, 8] {
            assert!(ms(at) < due, "the change at {at} ms comes before the round");
            due = round_due(ms(0), ms(at), quiet, max);
        }
        assert_eq!(due, ms(8) + quiet, "one round, after the last change");
        // Changes every 3 ms without end: the round starts at the maximum.
        let mut last = ms(0);
        while last + ms(3) < round_due(ms(0), last, quiet, max) {
            last += ms(3);
        }
        assert_eq!(round_due(ms(0), last, quiet, max), max);
    }

    #[test]
    fn publish_modes() {
        assert_eq!("interval".parse(), Ok(PublishMode::Interval));
        assert_eq!(" On-Change".parse(), Ok(PublishMode::OnChange));
        assert!("now".parse::<PublishMode>().is_err());
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_interval(" 5m "), Ok(Duration::from_secs(300)));
        assert_eq!(parse_interval("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["5", "ms", "5x", "-1s", "0ms", "2d"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
        assert_eq!(
            "02:30".parse::<CleanupAt>(),
            Ok(CleanupAt(Time::constant(2, 30, 0, 0)))
        );
        assert!("25:00".parse::<CleanupAt>().is_err());
        assert!("2".parse::<CleanupAt>().is_err());
    }

    const CAL: &str = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nDTSTART:20260303T090000Z\nDURATION:PT1H\nRRULE:FREQ=MONTHLY\nEND:VEVENT\nEND:VCALENDAR\n";

    fn setup() -> (tempfile::TempDir, Store, UserRecord) {
        let u = UserRecord {
            legacy_dn: LegacyDn::parse("/o=Org/ou=AG/cn=Recipients/cn=dan").unwrap(),
            mail: "dan@org.example".into(),
            display_name: "Dan".into(),
            alias: "dan".into(),
            proxy_addresses: vec![],
        };
        let (d, s) = store_with(std::slice::from_ref(&u));
        (d, s, u)
    }

    /// A poller on `s` whose clock stands at `when`, with the default settings.
    fn poller_at(s: &Store, when: &str) -> Poller {
        Poller::new(
            s.clone(),
            at(when),
            PublishSettings::default(),
            CleanupAt::default(),
            None,
        )
    }

    fn at(s: &str) -> Clock {
        Clock::Fixed(s.parse().unwrap())
    }

    #[test]
    fn rounds_publish_queued_users_and_clear_the_queue() {
        let (_d, s, u) = setup();
        let mut p = poller_at(&s, "2026-03-02T12:00:00Z");
        crate::store::testutil::put_calendar(&s, &u.legacy_dn, CAL);
        let r = p.round();
        assert_eq!((r.published, r.failed), (1, 0));
        assert!(s.dirty_users().unwrap().is_empty());
        let r = p.round();
        assert_eq!(r, RoundReport::default(), "nothing queued, nothing done");
        s.delete_calendar(&Writer::ANYONE, &u.legacy_dn, stamp())
            .unwrap();
        assert_eq!(p.round().unpublished, 1);
        assert!(
            s.freebusy_of(&u.legacy_dn.admin_group(), &u.legacy_dn.subject())
                .unwrap()
                .is_none()
        );
    }

    /// A round of more users than one batch publishes each of them, in batches, with one
    /// wait for the disk for the whole round, after its last batch (a store opened again
    /// holds them all).
    #[test]
    fn a_round_publishes_every_batch_with_one_sync_for_the_round() {
        let n = 2 * ROUND_BATCH + 3;
        let users: Vec<UserRecord> = (0..n)
            .map(|i| UserRecord {
                legacy_dn: LegacyDn::parse(&format!("/o=Org/ou=AG/cn=Recipients/cn=u{i}")).unwrap(),
                mail: format!("u{i}@org.example"),
                display_name: format!("U {i}"),
                alias: format!("u{i}"),
                proxy_addresses: vec![],
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::store::StoreConfig::new(dir.path());
        {
            let s = Store::open(&cfg).unwrap();
            s.import_users(&users, stamp()).unwrap();
            for u in &users {
                crate::store::testutil::put_calendar(&s, &u.legacy_dn, CAL);
            }
            let mut p = poller_at(&s, "2026-03-02T12:00:00Z");
            let syncs = s.syncs();
            let r = p.round();
            assert_eq!((r.published, r.failed), (n, 0));
            assert_eq!(s.syncs() - syncs, 1, "one wait for the disk per round");
            assert!(s.dirty_users().unwrap().is_empty());
            // A restarted poller finds every message unchanged.
            let mut again = poller_at(&s, "2026-03-02T12:00:00Z");
            assert_eq!(again.round().unchanged, n);
        }
        let s = Store::open(&cfg).unwrap();
        assert_eq!(s.stats().messages, n as u64);
        for u in &users {
            let fb = s
                .freebusy_of(&u.legacy_dn.admin_group(), &u.legacy_dn.subject())
                .unwrap()
                .unwrap();
            assert!(!fb.fb.busy.as_slice().is_empty(), "{}", u.mail);
        }
    }

    /// Issue 13: a queued user whose new calendar gives the same free/busy is cleared from
    /// the queue in the publish's own transaction, and the query's cached rows stay (a
    /// mark cleared by a write of its own, as before, let the epoch go and dropped every
    /// cached row at each such round).
    #[test]
    fn an_unchanged_queued_publish_clears_its_mark_and_keeps_the_cached_rows() {
        let (_d, s, u) = setup();
        let mut p = poller_at(&s, "2026-03-02T12:00:00Z");
        crate::store::testutil::put_calendar(&s, &u.legacy_dn, CAL);
        assert_eq!(p.round().published, 1);
        // Another text, the same free/busy: queued again.
        let same_fb = CAL.replace("UID:1", "UID:1\nSUMMARY:renamed");
        crate::store::testutil::put_calendar(&s, &u.legacy_dn, &same_fb);
        assert_eq!(s.dirty_users().unwrap().len(), 1);
        let stamp = s.row_stamp();
        let r = p.round();
        assert_eq!((r.unchanged, r.published, r.failed), (1, 0, 0));
        assert!(s.dirty_users().unwrap().is_empty(), "the mark is cleared");
        assert_eq!(s.row_stamp(), stamp, "nothing a query reads was written");
    }

    #[test]
    fn a_new_month_republishes_everyone_and_cleanup_runs_once_a_day() {
        let (_d, s, u) = setup();
        crate::store::testutil::put_calendar(&s, &u.legacy_dn, CAL);
        let mut p = poller_at(&s, "2026-03-31T01:00:00Z");
        let first = p.round();
        assert!(!first.window_moved);
        assert_eq!(first.published, 1);
        assert!(first.cleanup.is_none(), "01:00 is before 02:00");
        p.clock = at("2026-03-31T02:00:00Z");
        assert!(p.round().cleanup.is_some());
        assert!(p.round().cleanup.is_none(), "once a day");
        p.clock = at("2026-04-01T00:10:00Z");
        let moved = p.round();
        assert!(moved.window_moved);
        assert_eq!(moved.published, 1, "the new range is a new message");
    }
}
