//! The free/busy model: what a user's schedule is, independent of how it is encoded.
//!
//! Owns [`FbStatus`], [`Interval`], [`IntervalSet`] (sorted, with overlapping and adjacent
//! intervals merged, which is the normal form MS-OXOPFFB requires of blocks), [`FreeBusy`]
//! (one set per status) and [`PublishRange`] (the window a message claims to cover).
//! The byte encoding lives in `pffb`, the query digits in `raster`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::time::{Minutes1601, MonthKey};

/// A free/busy status. The discriminant is the digit of the `?Cmd=freebusy` answer; on
/// overlap the highest wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FbStatus {
    Free = 0,
    Tentative = 1,
    Busy = 2,
    Oof = 3,
}

impl FbStatus {
    /// The three statuses that have blocks of their own, lowest first.
    pub const MARKED: [FbStatus; 3] = [FbStatus::Tentative, FbStatus::Busy, FbStatus::Oof];

    pub fn digit(self) -> u8 {
        b'0' + self as u8
    }

    /// By discriminant, as [`FbStatus::digit`].
    pub fn name(self) -> &'static str {
        ["free", "tentative", "busy", "oof"][self as usize]
    }
}

impl fmt::Display for FbStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The digit for slots the store knows nothing about.
pub const NO_DATA_DIGIT: u8 = b'4';

/// A half-open span of minutes, `start < end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Interval {
    start: Minutes1601,
    end: Minutes1601,
}

impl Interval {
    /// `None` for an empty or inverted span.
    pub fn new(start: Minutes1601, end: Minutes1601) -> Option<Self> {
        (start < end).then_some(Interval { start, end })
    }

    pub fn start(self) -> Minutes1601 {
        self.start
    }

    pub fn end(self) -> Minutes1601 {
        self.end
    }

    pub fn overlaps(self, other: Interval) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn intersect(self, other: Interval) -> Option<Interval> {
        Interval::new(self.start.max(other.start), self.end.min(other.end))
    }

    pub fn len_minutes(self) -> i64 {
        self.end.0 - self.start.0
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.start, self.end)
    }
}

/// Intervals in normal form: sorted by start, and no two overlap or touch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IntervalSet {
    items: Vec<Interval>,
}

impl IntervalSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Normalise any collection of intervals: sort, then merge overlapping and adjacent.
    pub fn from_intervals(it: impl IntoIterator<Item = Interval>) -> Self {
        let mut v: Vec<Interval> = it.into_iter().collect();
        v.sort_unstable();
        let mut items: Vec<Interval> = Vec::with_capacity(v.len());
        for iv in v {
            match items.last_mut() {
                Some(last) if iv.start <= last.end => last.end = last.end.max(iv.end),
                _ => items.push(iv),
            }
        }
        IntervalSet { items }
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = Interval> + '_ {
        self.items.iter().copied()
    }

    pub fn as_slice(&self) -> &[Interval] {
        &self.items
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn union(&self, other: &IntervalSet) -> IntervalSet {
        Self::from_intervals(self.iter().chain(other.iter()))
    }

    /// The parts that fall inside `window`.
    pub fn clip(&self, window: Interval) -> IntervalSet {
        IntervalSet {
            items: self.iter().filter_map(|i| i.intersect(window)).collect(),
        }
    }

    /// The intervals overlapping `window`, found by binary search (the query path).
    pub fn overlapping(&self, window: Interval) -> &[Interval] {
        let first = self.items.partition_point(|i| i.end <= window.start);
        let last = self.items.partition_point(|i| i.start < window.end);
        &self.items[first..last.max(first)]
    }

    /// Total minutes covered.
    pub fn total_minutes(&self) -> i64 {
        self.iter().map(Interval::len_minutes).sum()
    }
}

impl FromIterator<Interval> for IntervalSet {
    fn from_iter<T: IntoIterator<Item = Interval>>(iter: T) -> Self {
        Self::from_intervals(iter)
    }
}

/// A user's schedule: one normalised set per marked status. Free is everything else.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FreeBusy {
    pub tentative: IntervalSet,
    pub busy: IntervalSet,
    pub oof: IntervalSet,
}

impl FreeBusy {
    pub fn get(&self, status: FbStatus) -> Option<&IntervalSet> {
        match status {
            FbStatus::Free => None,
            FbStatus::Tentative => Some(&self.tentative),
            FbStatus::Busy => Some(&self.busy),
            FbStatus::Oof => Some(&self.oof),
        }
    }

    pub fn get_mut(&mut self, status: FbStatus) -> Option<&mut IntervalSet> {
        match status {
            FbStatus::Free => None,
            FbStatus::Tentative => Some(&mut self.tentative),
            FbStatus::Busy => Some(&mut self.busy),
            FbStatus::Oof => Some(&mut self.oof),
        }
    }

    /// PidTagScheduleInfoFreeBusyMerged: busy ∪ OOF; tentative is not part of it.
    pub fn merged(&self) -> IntervalSet {
        self.busy.union(&self.oof)
    }

    pub fn is_empty(&self) -> bool {
        self.tentative.is_empty() && self.busy.is_empty() && self.oof.is_empty()
    }

    /// Add one span of a status; `Free` adds nothing.
    pub fn add(&mut self, status: FbStatus, iv: Interval) {
        if let Some(set) = self.get_mut(status) {
            *set = IntervalSet::from_intervals(set.iter().chain(std::iter::once(iv)));
        }
    }

    /// Build from (status, interval) pairs in one pass per status.
    pub fn from_spans(spans: impl IntoIterator<Item = (FbStatus, Interval)>) -> Self {
        let (mut t, mut b, mut o) = (Vec::new(), Vec::new(), Vec::new());
        for (s, iv) in spans {
            match s {
                FbStatus::Free => {}
                FbStatus::Tentative => t.push(iv),
                FbStatus::Busy => b.push(iv),
                FbStatus::Oof => o.push(iv),
            }
        }
        FreeBusy {
            tentative: IntervalSet::from_intervals(t),
            busy: IntervalSet::from_intervals(b),
            oof: IntervalSet::from_intervals(o),
        }
    }

    /// Only the parts inside `window` (a publisher publishes its range and nothing else).
    pub fn clip(&self, window: Interval) -> FreeBusy {
        FreeBusy {
            tentative: self.tentative.clip(window),
            busy: self.busy.clip(window),
            oof: self.oof.clip(window),
        }
    }
}

/// The most months a publisher may cover (Outlook's limit).
pub const MAX_PUBLISH_MONTHS: u8 = 36;
/// Outlook's default.
pub const DEFAULT_PUBLISH_MONTHS: u8 = 2;

/// PidTagFreeBusyPublishStart/End: the span a message says it has data for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PublishRange {
    pub start: Minutes1601,
    pub end: Minutes1601,
}

impl PublishRange {
    /// The range a publisher computes at `now`: start at 00:00 UTC of the first day of the
    /// month or of the first day of the week (Sunday), whichever is earlier; end `months`
    /// calendar months later (day clamped to the target month's length).
    pub fn at(now: Minutes1601, months: u8) -> PublishRange {
        let today = now.floor_day();
        let week_start = today.plus_minutes(-(today.weekday() as i64) * 1440);
        let month_start = MonthKey::containing(now).start();
        let start = week_start.min(month_start);
        let (_, _, day) = start.civil_date();
        let end_month = MonthKey::containing(start).plus_months(months as i32);
        let end_day = day.min(end_month.days());
        let end = Minutes1601::from_civil(end_month.year(), end_month.month(), end_day);
        PublishRange { start, end }
    }

    pub fn as_interval(self) -> Option<Interval> {
        Interval::new(self.start, self.end)
    }

    /// The months the range touches, in order (what `exchange` style lists).
    pub fn months(self) -> Vec<MonthKey> {
        let mut out = Vec::new();
        if self.end <= self.start {
            return out;
        }
        let mut m = MonthKey::containing(self.start);
        while m.start() < self.end {
            out.push(m);
            m = m.next();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn iv(a: i64, b: i64) -> Interval {
        Interval::new(Minutes1601(a), Minutes1601(b)).unwrap()
    }

    #[test]
    fn merges_overlapping_and_adjacent() {
        let s = IntervalSet::from_intervals([iv(10, 20), iv(0, 5), iv(20, 30), iv(25, 26)]);
        assert_eq!(s.as_slice(), &[iv(0, 5), iv(10, 30)]);
    }

    #[test]
    fn empty_intervals_are_refused() {
        assert!(Interval::new(Minutes1601(5), Minutes1601(5)).is_none());
        assert!(Interval::new(Minutes1601(6), Minutes1601(5)).is_none());
    }

    #[test]
    fn merged_excludes_tentative() {
        let fb = FreeBusy::from_spans([
            (FbStatus::Busy, iv(0, 10)),
            (FbStatus::Oof, iv(10, 20)),
            (FbStatus::Tentative, iv(30, 40)),
        ]);
        assert_eq!(fb.merged().as_slice(), &[iv(0, 20)]);
    }

    #[test]
    fn overlapping_finds_the_window() {
        let s = IntervalSet::from_intervals([iv(0, 5), iv(10, 15), iv(20, 25)]);
        assert_eq!(s.overlapping(iv(5, 10)), &[] as &[Interval]);
        assert_eq!(s.overlapping(iv(4, 11)), &[iv(0, 5), iv(10, 15)]);
        assert_eq!(s.overlapping(iv(24, 100)), &[iv(20, 25)]);
    }

    /// Year, month, day.
    type Day = (i32, u8, u8);

    /// The range starts at the earlier of the week's Sunday and the month's first day and
    /// lasts the months asked for: (today, minutes into it, months, start, end).
    #[rustfmt::skip]
    const RANGES: &[(Day, i64, u8, Day, Day)] = &[
        // Wed 2008-02-20: week starts Sun 02-17, month starts 02-01 -> 02-01; +2 months.
        ((2008, 2, 20), 600, 2, (2008, 2, 1), (2008, 4, 1)),
        // Mon 2026-06-01: week starts Sun 2026-05-31, before the 1st.
        ((2026, 6, 1), 61, 2, (2026, 5, 31), (2026, 7, 31)),
        // A start on the 31st clamps in a short month.
        ((2026, 6, 1), 61, 1, (2026, 5, 31), (2026, 6, 30)),
    ];

    #[test]
    fn publish_range_starts_at_the_earlier_of_week_and_month() {
        let day = |(y, m, d): Day| Minutes1601::from_civil(y, m, d);
        for &(today, minutes, months, start, end) in RANGES {
            let r = PublishRange::at(day(today).plus_minutes(minutes), months);
            assert_eq!(
                (r.start, r.end),
                (day(start), day(end)),
                "{today:?} +{minutes} min, {months} months"
            );
        }
        let now = Minutes1601::from_civil(2026, 6, 1).plus_minutes(61);
        let r = PublishRange::at(now, 2);
        assert_eq!(
            r.months().iter().map(|m| m.to_wire()).collect::<Vec<_>>(),
            vec![
                MonthKey::new(2026, 5).unwrap().to_wire(),
                MonthKey::new(2026, 6).unwrap().to_wire(),
                MonthKey::new(2026, 7).unwrap().to_wire()
            ]
        );
    }

    proptest! {
        #[test]
        fn normal_form_is_sorted_disjoint_and_covers_input(
            raw in proptest::collection::vec((0i64..10_000, 1i64..500), 0..40)
        ) {
            let ivs: Vec<Interval> = raw.iter().map(|&(a, l)| iv(a, a + l)).collect();
            let set = IntervalSet::from_intervals(ivs.clone());
            for w in set.as_slice().windows(2) {
                prop_assert!(w[0].end() < w[1].start(), "touching or overlapping: {:?}", w);
            }
            for i in &ivs {
                prop_assert!(set.iter().any(|s| s.start() <= i.start() && i.end() <= s.end()));
            }
            // Normalising twice changes nothing.
            prop_assert_eq!(IntervalSet::from_intervals(set.iter()), set.clone());
            // Nothing outside the input is covered.
            let covered: i64 = set.total_minutes();
            let mut minutes = std::collections::BTreeSet::new();
            for i in &ivs { for m in i.start().0..i.end().0 { minutes.insert(m); } }
            prop_assert_eq!(covered, minutes.len() as i64);
        }

        #[test]
        fn publish_range_contains_now_and_starts_at_midnight(
            days in 0i64..200_000, mins in 0i64..1440, months in 1u8..=36
        ) {
            let now = Minutes1601(days * 1440 + mins);
            let r = PublishRange::at(now, months);
            prop_assert!(r.start <= now && now < r.end);
            prop_assert_eq!(r.start, r.start.floor_day());
            prop_assert!(now.0 - r.start.0 < 31 * 1440);
        }
    }
}
