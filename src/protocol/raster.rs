//! The `fbdata` raster of the `?Cmd=freebusy` answer: one digit per slot.
//!
//! Owns the slot grid ([`SlotGrid`]: start, minutes per slot, slot count) and the painting
//! of a schedule onto it. Slot `i` covers `[start + i·interval, start + (i+1)·interval)`; a
//! status marks a slot when any of its intervals overlaps it; the highest status wins; a
//! slot that does not overlap the message's publish range at all is `4` (no data), and so
//! is every slot of a user without a message.
//!
//! Work is O(slots + intervals that overlap the grid): intervals are found by binary search
//! and painted as whole runs of slots (one `fill` per interval, statuses lowest first so a
//! later, higher status overwrites), never tested or compared slot by slot.

use super::freebusy::{FbStatus, FreeBusy, Interval, NO_DATA_DIGIT, PublishRange};
use super::time::Minutes1601;

/// The slots of one query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotGrid {
    pub start: Minutes1601,
    pub interval: i64,
    pub slots: usize,
}

impl SlotGrid {
    pub fn end(&self) -> Minutes1601 {
        self.start.plus_minutes(self.interval * self.slots as i64)
    }

    /// Slots `[first, last)` that `iv` overlaps, clamped to the grid.
    fn slot_span(&self, iv: Interval) -> (usize, usize) {
        let rel_start = iv.start().0 - self.start.0;
        let rel_end = iv.end().0 - self.start.0;
        let first = rel_start.div_euclid(self.interval).max(0);
        // Exclusive end: the slot holding the interval's last minute, plus one.
        let last = (rel_end - 1).div_euclid(self.interval) + 1;
        let clamp = |v: i64| v.clamp(0, self.slots as i64) as usize;
        (clamp(first), clamp(last))
    }

    fn window(&self) -> Option<Interval> {
        Interval::new(self.start, self.end())
    }
}

/// Paint one user's digits into `out` (cleared first). `message` is `None` when the user
/// has no free/busy message.
pub fn paint(
    grid: &SlotGrid,
    message: Option<(&FreeBusy, Option<PublishRange>)>,
    out: &mut Vec<u8>,
) {
    out.clear();
    out.resize(grid.slots, 0);
    paint_into(grid, message, out);
}

/// A schedule as the painter reads it: for each marked status, its intervals (sorted,
/// disjoint) that overlap a window. [`FreeBusy`] is one; the store reads another straight
/// from a record's bytes, so the query never builds a `FreeBusy`.
pub trait Schedule {
    /// Call `f` with each interval of `status` that overlaps `window`, in order.
    fn each_overlapping(&self, status: FbStatus, window: Interval, f: impl FnMut(Interval));
}

impl Schedule for FreeBusy {
    fn each_overlapping(&self, status: FbStatus, window: Interval, f: impl FnMut(Interval)) {
        if let Some(set) = self.get(status) {
            set.overlapping(window).iter().copied().for_each(f);
        }
    }
}

/// [`paint`] into `out`, which holds exactly `grid.slots` bytes (whatever they are): the
/// answer writer paints each row in place in the document it sends.
pub fn paint_into(
    grid: &SlotGrid,
    message: Option<(&FreeBusy, Option<PublishRange>)>,
    out: &mut [u8],
) {
    paint_schedule_into(grid, message, out)
}

/// [`paint_into`] for any [`Schedule`].
pub fn paint_schedule_into<S: Schedule>(
    grid: &SlotGrid,
    message: Option<(&S, Option<PublishRange>)>,
    out: &mut [u8],
) {
    assert_eq!(out.len(), grid.slots, "a row is one digit per slot");
    let Some((fb, range)) = message else {
        out.fill(NO_DATA_DIGIT);
        return;
    };
    out.fill(FbStatus::Free.digit());
    let Some(window) = grid.window() else {
        return;
    };
    // Lowest status first: a run of a higher status overwrites whatever it overlaps, which
    // is "highest wins" without a comparison per slot.
    debug_assert!(
        FbStatus::MARKED
            .windows(2)
            .all(|w| w[0].digit() < w[1].digit())
    );
    for status in FbStatus::MARKED {
        let digit = status.digit();
        fb.each_overlapping(status, window, |iv| {
            let (a, b) = grid.slot_span(iv);
            out[a..b].fill(digit);
        });
    }
    // A message without a usable range is trusted everywhere: real writers that omit it
    // still mean their blocks.
    if let Some(r) = range.and_then(PublishRange::as_interval) {
        // No data before the first and after the last slot the range overlaps.
        let (a, b) = if r.overlaps(window) {
            grid.slot_span(r)
        } else {
            (0, 0)
        };
        out[..a].fill(NO_DATA_DIGIT);
        out[b..].fill(NO_DATA_DIGIT);
    }
}

/// Raise every digit of `acc` to at least the digit in `user` (the All Attendees item).
pub fn max_into(acc: &mut [u8], user: &[u8]) {
    for (a, &u) in acc.iter_mut().zip(user) {
        *a = (*a).max(u);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(v: i64) -> Minutes1601 {
        Minutes1601(v)
    }

    fn iv(a: i64, b: i64) -> Interval {
        Interval::new(m(a), m(b)).unwrap()
    }

    fn grid(slots: usize) -> SlotGrid {
        SlotGrid {
            start: m(0),
            interval: 30,
            slots,
        }
    }

    fn painted(fb: &FreeBusy, range: Option<PublishRange>, slots: usize) -> String {
        let mut out = Vec::new();
        paint(&grid(slots), Some((fb, range)), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn overlap_marks_every_touched_slot_and_highest_wins() {
        let mut fb = FreeBusy::default();
        fb.add(FbStatus::Tentative, iv(30, 120));
        fb.add(FbStatus::Busy, iv(45, 61));
        fb.add(FbStatus::Oof, iv(200, 210));
        assert_eq!(painted(&fb, None, 8), "02210030");
    }

    #[test]
    fn outside_publish_range_is_no_data() {
        let mut fb = FreeBusy::default();
        fb.add(FbStatus::Busy, iv(60, 90));
        let range = PublishRange {
            start: m(60),
            end: m(150),
        };
        assert_eq!(painted(&fb, Some(range), 7), "4420044");
        let far = PublishRange {
            start: m(10_000),
            end: m(20_000),
        };
        assert_eq!(painted(&fb, Some(far), 3), "444");
    }

    #[test]
    fn no_message_is_all_no_data() {
        let mut out = Vec::new();
        paint(&grid(5), None, &mut out);
        assert_eq!(out, b"44444");
    }

    #[test]
    fn all_attendees_is_the_per_slot_maximum() {
        let mut acc = b"0120".to_vec();
        max_into(&mut acc, b"2100");
        assert_eq!(acc, b"2120");
    }

    /// The definition, slot by slot and in the plainest way (nothing shared with the
    /// painter): without a message every slot is `4`; a slot that the message's range does
    /// not overlap is `4`; otherwise the highest status with an interval overlapping the
    /// slot, or `0`.
    fn paint_by_definition(
        grid: &SlotGrid,
        message: Option<(&FreeBusy, Option<PublishRange>)>,
    ) -> Vec<u8> {
        (0..grid.slots as i64)
            .map(|i| {
                let from = grid.start.0 + i * grid.interval;
                let slot = iv(from, from + grid.interval);
                let Some((fb, range)) = message else {
                    return b'4';
                };
                let outside = range
                    .and_then(PublishRange::as_interval)
                    .is_some_and(|r| !r.overlaps(slot));
                if outside {
                    return b'4';
                }
                FbStatus::MARKED
                    .iter()
                    .rev()
                    .find(|s| fb.get(**s).unwrap().iter().any(|x| x.overlaps(slot)))
                    .map_or(b'0', |s| s.digit())
            })
            .collect()
    }

    proptest! {
        /// Painting whole runs (issue 13) gives the bytes of the definition, slot by slot:
        /// grid offsets, overlapping statuses, ranges and no message included.
        #[test]
        fn runs_paint_exactly_as_the_definition(
            raw in proptest::collection::vec((0u8..3, -500i64..6000, 1i64..900), 0..40),
            rs in -600i64..3000, rl in 1i64..6000, with_range in any::<bool>(),
            start in -300i64..300, interval in 1i64..200, slots in 0usize..200,
            no_message in any::<bool>(),
        ) {
            let fb = FreeBusy::from_spans(raw.iter().map(|&(s, a, l)| {
                (FbStatus::MARKED[s as usize], iv(a, a + l))
            }));
            let range = with_range.then_some(PublishRange { start: m(rs), end: m(rs + rl) });
            let g = SlotGrid { start: m(start), interval, slots };
            let message = (!no_message).then_some((&fb, range));
            let mut runs = Vec::new();
            paint(&g, message, &mut runs);
            let want = paint_by_definition(&g, message);
            prop_assert_eq!(String::from_utf8(runs).unwrap(), String::from_utf8(want).unwrap());
        }
    }
}
