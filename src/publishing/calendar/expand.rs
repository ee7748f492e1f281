//! Expansion: from parsed events to the free/busy spans that fall in a window.
//!
//! Owns the per-call state ([`Expansion`]): the zones (the calendar's plus the caller's
//! default for floating and all-day values), the window, the instance cap and the spans
//! found so far. Instants are Unix seconds here; they become [`Minutes1601`] only when a
//! span is recorded, start rounded down and end rounded up (a meeting that ends at 10:00:30
//! still makes the 10:00 minute busy).
//!
//! Choices where RFC 5545 leaves room:
//! - An instance lasts DTEND − DTSTART as an exact duration (same number of seconds each
//!   time), except all-day events, whose length is in calendar days, and DURATION, whose
//!   days are calendar days and whose time part is exact (RFC 5545 §3.3.6).
//! - An override (RECURRENCE-ID) replaces the instance it names and shows at its own
//!   DTSTART/DTEND with its own status. With `RANGE=THISANDFUTURE` (RFC 5545 §3.8.4.4) it
//!   also moves every later instance by the same amount (the override's DTSTART minus the
//!   instant it names), gives each the override's length and status; the latest such
//!   override at or before an instance applies, and a single-instance override still wins
//!   for the instance it names.
//! - Every instance that starts in the window counts toward the instance cap, zero-length
//!   ones included (they show nothing but cost as much to walk).
//! - The recurrence set is a set: an instant produced twice (RRULE and RDATE) shows once.

use std::collections::HashSet;

use jiff::tz::TimeZone;

use super::event::{Content, End, Event, RDate, Series};
use super::rrule::{self, Bounds, Instances, STEP_BUDGET};
use super::tz::Zone;
use super::value::{LocalDt, SECS_PER_DAY, When};
use super::{CalendarError, ExpandOptions};
use crate::protocol::freebusy::{FbStatus, FreeBusy, Interval};
use crate::protocol::time::Minutes1601;

/// Margin for wall-clock vs UTC when walking rules: no zone is more than a day off UTC.
const ZONE_MARGIN: i64 = 2 * SECS_PER_DAY;

/// How long instances of an event last, resolved once per event.
#[derive(Clone, Copy, Debug)]
enum Span {
    Exact(i64),
    /// Calendar days, then exact seconds.
    Nominal {
        days: i64,
        secs: i64,
    },
}

impl Span {
    /// An upper bound in seconds (a nominal day may be 25 hours).
    fn max_secs(self) -> i64 {
        match self {
            Span::Exact(s) => s.max(0),
            Span::Nominal { days, secs } => (days.max(0) + 1) * SECS_PER_DAY + secs.max(0),
        }
    }
}

/// A `RANGE=THISANDFUTURE` override as it applies to later instances.
#[derive(Clone, Copy, Debug)]
struct FromHereOn {
    /// The instant of the instance it names.
    from: i64,
    /// How far later instances move, seconds.
    shift: i64,
    /// How long they last, seconds.
    len: i64,
    status: Option<FbStatus>,
}

pub(crate) struct Expansion<'a> {
    zones: &'a [Zone],
    default: Zone,
    utc: Zone,
    start: i64,
    end: i64,
    max_instances: usize,
    instances: usize,
    spans: Vec<(FbStatus, Interval)>,
}

impl<'a> Expansion<'a> {
    pub fn new(zones: &'a [Zone], window: Interval, opts: &ExpandOptions) -> Self {
        Expansion {
            zones,
            default: Zone::Tz(opts.default_tz.clone()),
            utc: Zone::Tz(TimeZone::UTC),
            start: window.start().to_unix_seconds(),
            end: window.end().to_unix_seconds(),
            max_instances: opts.max_instances,
            instances: 0,
            spans: Vec::new(),
        }
    }

    pub fn run(mut self, content: &Content, window: Interval) -> Result<FreeBusy, CalendarError> {
        for s in &content.series {
            self.series(s)?;
            self.zone_errors()?;
        }
        for p in &content.periods {
            if let Some(start) = self.instant(p.start) {
                let span = self.span(p.start, p.end);
                let end = self.end_of(self.zone_of(p.start), p.start.local(), start, span);
                self.record(p.status, start, end)?;
            }
        }
        self.zone_errors()?;
        Ok(FreeBusy::from_spans(self.spans).clip(window))
    }

    /// A VTIMEZONE that could not be evaluated (over its onset cap) fails the expansion.
    fn zone_errors(&self) -> Result<(), CalendarError> {
        match self.zones.iter().find_map(Zone::error) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn zone_of(&self, w: When) -> &Zone {
        match w {
            When::Date(_) | When::Floating(_) => &self.default,
            When::Utc(_) => &self.utc,
            // Ids come from the table the zones were built with; fall back rather than panic.
            When::Zoned(_, id) => self.zones.get(id).unwrap_or(&self.default),
        }
    }

    fn instant(&self, w: When) -> Option<i64> {
        self.zone_of(w).to_utc(w.local())
    }

    /// A floating RECURRENCE-ID or EXDATE on a zoned event means the event's zone.
    fn in_zone_of(w: When, master: When) -> When {
        match (w, master) {
            (When::Floating(l), When::Zoned(_, id)) => When::Zoned(l, id),
            _ => w,
        }
    }

    fn span(&self, start: When, end: End) -> Span {
        match end {
            End::Implicit if start.is_date() => Span::Nominal { days: 1, secs: 0 },
            End::Implicit => Span::Exact(0),
            End::For(d) => Span::Nominal {
                days: d.days,
                secs: d.secs,
            },
            End::At(When::Date(e)) if start.is_date() => Span::Nominal {
                days: e - start.local().day,
                secs: 0,
            },
            End::At(e) => match (self.instant(start), self.instant(e)) {
                (Some(a), Some(b)) => Span::Exact(b - a),
                _ => Span::Exact(0),
            },
        }
    }

    fn end_of(&self, zone: &Zone, local: LocalDt, start: i64, span: Span) -> i64 {
        match span {
            Span::Exact(s) => start + s,
            Span::Nominal { days, secs } => {
                let base = if days == 0 {
                    Some(start)
                } else {
                    zone.to_utc(local.plus_days(days))
                };
                base.map_or(start, |b| b + secs)
            }
        }
    }

    /// Count an instance that touches the window and keep its span if it shows anything.
    fn record(
        &mut self,
        status: Option<FbStatus>,
        start: i64,
        end: i64,
    ) -> Result<(), CalendarError> {
        let touches = if end > start {
            end > self.start && start < self.end
        } else {
            self.start <= start && start < self.end
        };
        if !touches {
            return Ok(());
        }
        self.instances += 1;
        if self.instances > self.max_instances {
            return Err(CalendarError::TooManyInstances {
                max: self.max_instances,
            });
        }
        if end <= start {
            return Ok(());
        }
        let from = Minutes1601::from_unix_seconds(start);
        let to = Minutes1601::from_unix_seconds(end + 59);
        if let (Some(s), Some(iv)) = (status, Interval::new(from, to)) {
            self.spans.push((s, iv));
        }
        Ok(())
    }

    fn series(&mut self, s: &Series) -> Result<(), CalendarError> {
        for m in &s.masters {
            let replaced: HashSet<i64> = s
                .overrides
                .iter()
                .filter_map(|o| o.recurrence_id)
                .filter_map(|r| self.instant(Self::in_zone_of(r, m.start)))
                .collect();
            let mut from_here_on: Vec<FromHereOn> = Vec::new();
            for o in s.overrides.iter().filter(|o| o.this_and_future) {
                let Some(rid) = o.recurrence_id else { continue };
                let (Some(from), Some(start)) = (
                    self.instant(Self::in_zone_of(rid, m.start)),
                    self.instant(o.start),
                ) else {
                    continue;
                };
                let span = self.span(o.start, o.end);
                let end = self.end_of(self.zone_of(o.start), o.start.local(), start, span);
                from_here_on.push(FromHereOn {
                    from,
                    shift: start - from,
                    len: end - start,
                    status: o.status,
                });
            }
            from_here_on.sort_by_key(|f| f.from);
            self.master(m, &replaced, &from_here_on)?;
        }
        for o in &s.overrides {
            if let Some(start) = self.instant(o.start) {
                let span = self.span(o.start, o.end);
                let end = self.end_of(self.zone_of(o.start), o.start.local(), start, span);
                self.record(o.status, start, end)?;
            }
        }
        Ok(())
    }

    fn master(
        &mut self,
        m: &Event,
        replaced: &HashSet<i64>,
        from_here_on: &[FromHereOn],
    ) -> Result<(), CalendarError> {
        // How far a THISANDFUTURE override can move an instance into or out of the window.
        let reach = from_here_on
            .iter()
            .map(|f| f.shift.abs() + f.len.max(0))
            .max()
            .unwrap_or(0);
        let zone = self.zone_of(m.start).clone();
        let local = m.start.local();
        let Some(first) = zone.to_utc(local) else {
            return Ok(());
        };
        let span = self.span(m.start, m.end);
        let mut excluded: HashSet<i64> = HashSet::new();
        let mut excluded_days: HashSet<i64> = HashSet::new();
        for &x in &m.exdates {
            match x {
                // A DATE EXDATE on a timed event removes that day's instances (RFC 5545
                // wants matching types; Outlook-era tools do not always comply).
                When::Date(d) if !m.start.is_date() => {
                    excluded_days.insert(d);
                }
                _ => {
                    if let Some(u) = self.instant(Self::in_zone_of(x, m.start)) {
                        excluded.insert(u);
                    }
                }
            }
        }
        let mut seen: HashSet<i64> = HashSet::new();
        let mut emit = |this: &mut Self, l: LocalDt, start: i64, end: i64| {
            if excluded.contains(&start)
                || excluded_days.contains(&l.day)
                || replaced.contains(&start)
                || !seen.insert(start)
            {
                return Ok(());
            }
            let (start, end, status) = match from_here_on.iter().rev().find(|f| f.from < start) {
                Some(f) => (start + f.shift, start + f.shift + f.len, f.status),
                None => (start, end, m.status),
            };
            if end < this.start || start >= this.end {
                return Ok(());
            }
            this.record(status, start, end)
        };
        if m.rules.is_empty() {
            let end = self.end_of(&zone, local, first, span);
            emit(self, local, first, end)?;
        }
        for (line, rule) in &m.rules {
            let bounds = Bounds {
                skip_before: Some(LocalDt::from_secs(
                    self.start - span.max_secs() - ZONE_MARGIN - reach,
                )),
                stop_after: LocalDt::from_secs(self.end + ZONE_MARGIN + reach),
            };
            let mut it = Instances::new(rule, local, bounds);
            for l in &mut it {
                let Some(start) = zone.to_utc(l) else {
                    continue;
                };
                if past_until(rule.until, l, start) {
                    break;
                }
                if start >= self.end + ZONE_MARGIN + reach {
                    break;
                }
                let end = self.end_of(&zone, l, start, span);
                emit(self, l, start, end)?;
            }
            if it.exhausted {
                return Err(CalendarError::RuleTooExpensive {
                    line: *line,
                    budget: STEP_BUDGET,
                });
            }
        }
        for r in &m.rdates {
            let (w, end) = match *r {
                RDate::At(w) => (w, m.end),
                RDate::Period(w, e) => (w, e),
            };
            let w = Self::in_zone_of(w, m.start);
            let Some(start) = self.instant(w) else {
                continue;
            };
            let rspan = match r {
                RDate::At(_) if w.is_date() == m.start.is_date() => span,
                _ => self.span(w, end),
            };
            let end = self.end_of(self.zone_of(w), w.local(), start, rspan);
            emit(self, w.local(), start, end)?;
        }
        Ok(())
    }
}

/// Days of rule day parts one calendar's check may look at (each dense recurring event
/// costs one Gregorian cycle, 146 097 days, per RRULE): about 140 such rules.
pub(crate) const DAY_PROFILE_BUDGET: u64 = 20_000_000;

/// Refuse a recurring event that would put more than the instance cap into some future
/// publish window (a window of the same length as `window`, which `Calendar::expand` has
/// checked). Sound and bounded:
///
/// 1. Each RRULE has an upper bound on the instances one local day can hold
///    ([`rrule::per_day_bound`]). An event whose bound, times the days a window can touch
///    (its length plus the event's duration, plus two for time-zone offsets), is within
///    the cap can never exceed it: accepted at once. That is every ordinary meeting.
/// 2. Otherwise the bound is placed on each day the rule's day parts let through
///    (`BYMONTH`, `BYWEEKNO`, `BYYEARDAY`, `BYMONTHDAY`, `BYDAY`; INTERVAL and BYSETPOS
///    ignored, which only over-count), over one 400-year Gregorian cycle from the event's
///    start or the window, whichever is later; the calendar repeats after it, so the
///    busiest run of days found there is the busiest there ever will be. Within the cap:
///    accepted.
/// 3. Over it: the event is expanded for real around that busiest run, and refused with the
///    window where it exceeds the cap. If the real expansion stays under the cap there
///    (INTERVAL or BYSETPOS thin it out), it is still refused, saying it can put up to the
///    bound in that window: the check never accepts a calendar that may fail later.
///
/// The event is also expanded alone from its first instance when that is after `window`,
/// so that its time zones are checked over a window it will really be published in.
pub(crate) fn check_future_windows(
    zones: &[Zone],
    content: &Content,
    window: Interval,
    opts: &ExpandOptions,
) -> Result<(), CalendarError> {
    let len = window.end().to_unix_seconds() - window.start().to_unix_seconds();
    let cap = opts.max_instances as u64;
    let mut budget = DAY_PROFILE_BUDGET;
    // The events' bounds added up: each one's busiest window, wherever it is.
    // Dates listed one by one (single events, RDATEs, overrides, FREEBUSY periods) count
    // once each, wherever they fall.
    let mut together: u64 = content.periods.len() as u64
        + content
            .series
            .iter()
            .map(|s| s.overrides.len() as u64)
            .sum::<u64>();
    let mut events = 0;
    for m in content.series.iter().flat_map(|s| s.masters.iter()) {
        events += 1;
        together = together.saturating_add(m.rdates.len() as u64);
        if m.rules.is_empty() {
            together = together.saturating_add(1);
            continue;
        }
        let probe = Expansion::new(zones, window, opts);
        let Some(first) = probe.instant(m.start) else {
            continue;
        };
        if first >= window.end().to_unix_seconds() {
            let from = Minutes1601::from_unix_seconds(first);
            expand_alone(zones, m, from, len, opts)?;
        }
        let dtstart = m.start.local();
        let span = probe.span(m.start, m.end).max_secs();
        let days = (len + span + SECS_PER_DAY - 1) / SECS_PER_DAY + 2;
        // From the later of the event's start and the current window (earlier windows are
        // never published again).
        let window_day = window.start().to_unix_seconds().div_euclid(SECS_PER_DAY) - 1;
        let from_day = dtstart.day.max(window_day);
        let at_once: u64 = m
            .rules
            .iter()
            .map(|(_, r)| rrule::window_bound(r, dtstart, days, window_day))
            .fold(0u64, u64::saturating_add);
        if at_once <= cap {
            together = together.saturating_add(at_once);
            continue;
        }
        let bounds: Vec<u64> = m
            .rules
            .iter()
            .map(|(_, r)| rrule::per_day_bound(r, dtstart))
            .collect();
        // The busiest run of `days` local days.
        let mut per_day = vec![0u64; (rrule::GREGORIAN_CYCLE_DAYS + days) as usize];
        for ((_, r), &b) in m.rules.iter().zip(&bounds) {
            let looked = rrule::add_day_bounds(r, dtstart, from_day, b, &mut per_day);
            budget = budget
                .checked_sub(looked)
                .ok_or(CalendarError::TooManyDenseRules {
                    line: m.line,
                    budget: DAY_PROFILE_BUDGET,
                })?;
        }
        let Some((busiest, first_at, last_at)) = busiest_run(&per_day, days as usize) else {
            continue;
        };
        if busiest <= cap {
            together = together.saturating_add(busiest);
            continue;
        }
        let first_day = from_day + first_at as i64;
        let last_day = from_day + last_at as i64;
        // Real windows around the run: ending with it (its busy days at the end of the
        // first busiest run) and starting with it (at the start of the last one).
        let tail = days - (len + SECS_PER_DAY - 1) / SECS_PER_DAY;
        let mut tried = Vec::new();
        for d in [
            first_day + tail - 1,
            first_day + tail,
            last_day - 1,
            last_day,
        ] {
            if tried.contains(&d) || d < from_day {
                continue;
            }
            tried.push(d);
            let from = Minutes1601::from_unix_seconds(d * SECS_PER_DAY);
            expand_alone(zones, m, from, len, opts)?;
        }
        return Err(CalendarError::MayExceedCap {
            line: m.line,
            max: opts.max_instances,
            bound: busiest,
            days,
            from: crate::protocol::time::format_rfc3339(
                Minutes1601::from_unix_seconds(first_day * SECS_PER_DAY).to_timestamp(),
            ),
        });
    }
    // Several events, each within the cap alone, may still fill one window together. Their
    // busiest windows are added as if they fell together (an upper bound).
    if together > cap {
        return Err(CalendarError::TogetherMayExceedCap {
            events,
            max: opts.max_instances,
            bound: together,
            days: len / SECS_PER_DAY,
        });
    }
    Ok(())
}

/// Expand master `m` alone over `[from, from + len)`; over the cap is
/// [`CalendarError::NeverPublishable`] naming that window.
fn expand_alone(
    zones: &[Zone],
    m: &Event,
    from: Minutes1601,
    len: i64,
    opts: &ExpandOptions,
) -> Result<(), CalendarError> {
    let Some(later) = Interval::new(from, from.plus_minutes(len / 60)) else {
        return Ok(());
    };
    let mut e = Expansion::new(zones, later, opts);
    match e.master(m, &HashSet::new(), &[]) {
        Err(CalendarError::TooManyInstances { max }) => Err(CalendarError::NeverPublishable {
            line: m.line,
            max,
            days: len / SECS_PER_DAY,
            from: crate::protocol::time::format_rfc3339(from.to_timestamp()),
        }),
        other => {
            other?;
            e.zone_errors()
        }
    }
}

/// The largest sum of `width` consecutive values, with the first and the last start
/// index where it is reached. `None` when there are fewer than `width` values.
fn busiest_run(values: &[u64], width: usize) -> Option<(u64, usize, usize)> {
    if width == 0 || values.len() < width {
        return None;
    }
    let mut sum: u64 = values[..width].iter().fold(0, |a, &v| a.saturating_add(v));
    let (mut best, mut first, mut last) = (sum, 0, 0);
    for i in width..values.len() {
        sum = sum
            .saturating_add(values[i])
            .saturating_sub(values[i - width]);
        let at = i + 1 - width;
        if sum > best {
            (best, first, last) = (sum, at, at);
        } else if sum == best {
            last = at;
        }
    }
    Some((best, first, last))
}

/// UNTIL is inclusive. A UTC UNTIL compares instants; a DATE UNTIL compares the
/// instance's wall-clock date; a floating UNTIL compares wall clocks.
fn past_until(until: Option<When>, l: LocalDt, start: i64) -> bool {
    match until {
        None => false,
        Some(When::Date(d)) => l.day > d,
        Some(When::Utc(u)) => start > u.as_secs(),
        Some(When::Floating(u)) | Some(When::Zoned(u, _)) => l > u,
    }
}

/// Each interval of `fb` as `"STATUS START END"` (RFC 3339, UTC), tentative, busy, then
/// OOF: how the tests here and in `calendar` compare expansions.
#[cfg(test)]
pub(super) fn intervals_as_text(fb: &FreeBusy) -> Vec<String> {
    use crate::protocol::time::format_rfc3339;
    let sets = [
        ("tentative", &fb.tentative),
        ("busy", &fb.busy),
        ("oof", &fb.oof),
    ];
    sets.iter()
        .flat_map(|(name, set)| {
            set.iter().map(move |iv| {
                format!(
                    "{name} {} {}",
                    format_rfc3339(iv.start().to_timestamp()),
                    format_rfc3339(iv.end().to_timestamp())
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::intervals_as_text;
    use crate::protocol::freebusy::Interval;
    use crate::protocol::time::{Minutes1601, parse_time};
    use crate::publishing::calendar::{ExpandOptions, parse};

    fn window(a: &str, b: &str) -> Interval {
        Interval::new(
            Minutes1601::from_timestamp(parse_time(a).unwrap()),
            Minutes1601::from_timestamp(parse_time(b).unwrap()),
        )
        .unwrap()
    }

    fn cal(events: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{events}END:VCALENDAR\r\n")
    }

    fn expand(text: &str, a: &str, b: &str) -> Vec<String> {
        expand_in(text, a, b, "UTC")
    }

    fn expand_in(text: &str, a: &str, b: &str, tz: &str) -> Vec<String> {
        let c = parse(text).unwrap();
        let opts = ExpandOptions {
            default_tz: jiff::tz::TimeZone::get(tz).unwrap(),
            ..ExpandOptions::default()
        };
        intervals_as_text(&c.expand(window(a, b), &opts).unwrap())
    }

    /// The cases in `expand_cases.txt`: events expanded over a window in a default zone,
    /// and the intervals that must come out (tentative, busy, oof; each in start order).
    /// A case is a `case:` line saying what it shows, a `window: START END ZONE` line,
    /// the calendar's lines, then `want:` and one interval a line; a blank line ends it.
    const CASES: &str = include_str!("expand_cases.txt");

    #[test]
    fn expansion_cases() {
        let mut seen = 0;
        for case in CASES.split("\n\n") {
            let mut lines = case.lines();
            let what = lines.next().and_then(|l| l.strip_prefix("case: ")).unwrap();
            let window = lines
                .next()
                .and_then(|l| l.strip_prefix("window: "))
                .unwrap();
            let [start, end, zone] = window.split(' ').collect::<Vec<_>>()[..] else {
                panic!("{what}: window: START END ZONE")
            };
            let events: String = lines
                .by_ref()
                .take_while(|l| *l != "want:")
                .map(|l| format!("{l}\r\n"))
                .collect();
            let want: Vec<&str> = lines.collect();
            assert_eq!(expand_in(&cal(&events), start, end, zone), want, "{what}");
            seen += 1;
        }
        assert_eq!(seen, 12, "every case in expand_cases.txt is read");
    }

    #[test]
    fn until_is_inclusive_in_utc() {
        // Daily 09:00 Berlin (+1 = 08:00Z) until 2026-01-07T08:00:00Z: Jan 5, 6, 7.
        let text = cal(
            "BEGIN:VEVENT\r\nUID:u\r\nDTSTART;TZID=W. Europe Standard Time:20260105T090000\r\n\
DURATION:PT1H\r\nRRULE:FREQ=DAILY;UNTIL=20260107T080000Z\r\nEND:VEVENT\r\n",
        );
        assert_eq!(
            expand(&text, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z").len(),
            3
        );
    }

    #[test]
    fn too_many_instances() {
        let text = cal(
            "BEGIN:VEVENT\r\nUID:m\r\nDTSTART:20260101T000000Z\r\nDURATION:PT1M\r\n\
RRULE:FREQ=MINUTELY\r\nEND:VEVENT\r\n",
        );
        let c = parse(&text).unwrap();
        let opts = ExpandOptions {
            max_instances: 100,
            ..ExpandOptions::default()
        };
        let e = c
            .expand(
                window("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"),
                &opts,
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "more than 100 event instances fall in the publish window; raise the instance cap or shorten the window"
        );
    }

    #[test]
    fn far_future_window_without_count_is_fast_and_right() {
        // Weekly since 2000; the window in 2090 is reached by skipping, not walking.
        let text = cal(
            "BEGIN:VEVENT\r\nUID:s\r\nDTSTART:20000103T090000Z\r\nDURATION:PT1H\r\n\
RRULE:FREQ=SECONDLY;INTERVAL=604800\r\nEND:VEVENT\r\n",
        );
        let v = expand(&text, "2090-01-01T00:00:00Z", "2090-01-15T00:00:00Z");
        // 2000-01-03 and 2090-01-02 are 32 872 days = 4696 weeks apart: Jan 2 and Jan 9.
        assert_eq!(v.len(), 2);
        assert!(v[0].starts_with("busy 2090-01-02T09:00:00Z"), "{v:?}");
    }

    #[test]
    fn ancient_dtstart_is_skipped_not_walked() {
        // Daily since 1601 without COUNT: the window in 2026 is reached by skipping.
        let text = cal(
            "BEGIN:VEVENT\r\nUID:old\r\nDTSTART:16010101T120000Z\r\nDURATION:PT1H\r\n\
RRULE:FREQ=DAILY\r\nEND:VEVENT\r\n",
        );
        assert_eq!(
            expand(&text, "2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z").len(),
            2
        );
    }
}
