//! The timeline picture of a free/busy message: one 24-hour UTC bar per day.
//!
//! The picture shows what the `?Cmd=freebusy` query will answer, not merely what the blocks
//! say: parts of a day outside the publish range are drawn as "no data" (digit 4) over any
//! block there, exactly as [`raster::paint`] answers them. Days come from the publish range,
//! padded to whole Sunday-to-Saturday weeks (the padding days are outside the range, so they
//! show grey); without a usable range, from the blocks themselves, as the query then trusts
//! the blocks everywhere.
//!
//! Every size is bounded so that a hostile message cannot produce a giant page: at most
//! [`MAX_TIMELINE_DAYS`] rows, and a day with more than [`EXACT_SEGMENTS_PER_DAY`] blocks is
//! drawn from 30-minute slots painted by [`raster::paint`] (at most 48 segments).

use super::{Html, fmt_duration, fmt_hm, group_digits};
use crate::protocol::freebusy::{FbStatus, FreeBusy, Interval, IntervalSet};
use crate::protocol::raster::{self, SlotGrid};
use crate::protocol::time::{Minutes1601, MonthKey};

const DAY: i64 = 1440;
/// Rows drawn when the message has a usable publish range (36 months would be ~1100).
pub const MAX_TIMELINE_DAYS: usize = 400;
/// Rows drawn when there is no usable range and the days come from the blocks.
pub const NO_RANGE_DAYS: usize = 100;
/// Beyond this many blocks in one day, the row is drawn from coarse slots.
pub const EXACT_SEGMENTS_PER_DAY: usize = 48;
const COARSE_SLOT_MINUTES: i64 = 30;

/// The digit drawn for "no data".
pub const NO_DATA: u8 = 4;

/// Which days the timeline shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Midnight UTC of the first row (a Sunday).
    pub first: Minutes1601,
    /// Rows drawn.
    pub days: usize,
    /// Rows that would have been drawn without the cap.
    pub wanted: i64,
}

/// The days to draw, or `None` when there is nothing to draw at all.
pub fn span(range: Option<Interval>, fb: &FreeBusy) -> Option<Span> {
    let (lo, hi, cap) = match range {
        Some(r) => (r.start(), r.end(), MAX_TIMELINE_DAYS),
        None => {
            let sets = || FbStatus::MARKED.into_iter().filter_map(|s| fb.get(s));
            let lo = sets()
                .filter_map(|s| s.as_slice().first())
                .map(|i| i.start())
                .min()?;
            let hi = sets()
                .filter_map(|s| s.as_slice().last())
                .map(|i| i.end())
                .max()?;
            (lo, hi, NO_RANGE_DAYS)
        }
    };
    let first_day = lo.floor_day();
    let first = first_day.plus_minutes(-(first_day.weekday() as i64) * DAY);
    // Days up to and including the one holding the last minute, padded to a Saturday.
    let last_day = hi.plus_minutes(-1).floor_day();
    let days = (last_day.0 - first.0) / DAY + 1;
    let wanted = (days + 6) / 7 * 7;
    Some(Span {
        first,
        days: wanted.clamp(0, cap as i64) as usize,
        wanted,
    })
}

/// One coloured piece of a day bar, in minutes from that day's midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seg {
    pub digit: u8,
    pub start: i64,
    pub end: i64,
}

/// Where a day stands with respect to the publish range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeCover {
    Inside,
    Partly,
    Outside,
}

/// Everything drawn for one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayRow {
    pub day: Minutes1601,
    /// Lowest digit first, so that later (higher) segments are drawn on top.
    pub segs: Vec<Seg>,
    /// Drawn from 30-minute slots because the day holds too many blocks.
    pub coarse: bool,
    /// Blocks (of any status) touching the day.
    pub blocks: usize,
    /// Minutes of the day marked with any status, inside the range.
    pub marked_minutes: i64,
    pub cover: RangeCover,
}

/// Lay out the day starting at midnight `day`.
pub fn day_row(day: Minutes1601, fb: &FreeBusy, range: Option<Interval>) -> DayRow {
    let window = Interval::new(day, day.plus_minutes(DAY)).expect("a day is not empty");
    let pieces = |s: FbStatus| {
        fb.get(s)
            .expect("marked statuses have sets")
            .overlapping(window)
            .iter()
            .filter_map(move |iv| iv.intersect(window))
    };
    let blocks: usize = FbStatus::MARKED.iter().map(|&s| pieces(s).count()).sum();
    let coarse = blocks > EXACT_SEGMENTS_PER_DAY;
    let rel = |m: Minutes1601| m.0 - day.0;

    let mut segs = Vec::new();
    if coarse {
        let grid = SlotGrid {
            start: day,
            interval: COARSE_SLOT_MINUTES,
            slots: (DAY / COARSE_SLOT_MINUTES) as usize,
        };
        let mut digits = Vec::new();
        raster::paint(&grid, Some((fb, None)), &mut digits);
        let mut runs: Vec<Seg> = Vec::new();
        for (i, &d) in digits.iter().enumerate() {
            let digit = d - b'0';
            let (a, b) = (i as i64 * grid.interval, (i as i64 + 1) * grid.interval);
            match runs.last_mut() {
                Some(last) if last.digit == digit && last.end == a => last.end = b,
                _ if digit != 0 => runs.push(Seg {
                    digit,
                    start: a,
                    end: b,
                }),
                _ => {}
            }
        }
        runs.sort_by_key(|s| (s.digit, s.start));
        segs.extend(runs);
    } else {
        for s in FbStatus::MARKED {
            segs.extend(pieces(s).map(|iv| Seg {
                digit: s as u8,
                start: rel(iv.start()),
                end: rel(iv.end()),
            }));
        }
    }

    let inside = match range {
        Some(r) => r.intersect(window),
        None => Some(window),
    };
    let cover = match inside {
        None => RangeCover::Outside,
        Some(i) if i == window => RangeCover::Inside,
        Some(_) => RangeCover::Partly,
    };
    match inside {
        None => segs.push(Seg {
            digit: NO_DATA,
            start: 0,
            end: DAY,
        }),
        Some(i) => {
            if i.start() > day {
                segs.push(Seg {
                    digit: NO_DATA,
                    start: 0,
                    end: rel(i.start()),
                });
            }
            if i.end() < window.end() {
                segs.push(Seg {
                    digit: NO_DATA,
                    start: rel(i.end()),
                    end: DAY,
                });
            }
        }
    }
    let marked_minutes = match inside {
        None => 0,
        Some(i) => IntervalSet::from_intervals(
            FbStatus::MARKED
                .iter()
                .flat_map(|&s| pieces(s))
                .filter_map(|iv| iv.intersect(i)),
        )
        .total_minutes(),
    };
    DayRow {
        day,
        segs,
        coarse,
        blocks,
        marked_minutes,
        cover,
    }
}

pub fn status_label(digit: u8) -> &'static str {
    match digit {
        0 => "Free",
        1 => "Tentative",
        2 => "Busy",
        3 => "Out of office",
        _ => "No data",
    }
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

pub fn weekday_name(m: Minutes1601) -> &'static str {
    WEEKDAYS[m.weekday() as usize % 7]
}

pub fn month_name(month: u8) -> &'static str {
    MONTHS[(month as usize).clamp(1, 12) - 1]
}

/// A percentage of the day with two decimals, the unit of every position in the picture.
fn pct(minutes: i64) -> String {
    format!("{:.2}%", minutes as f64 * 100.0 / DAY as f64)
}

/// Write the timeline: scale, month headings and one row per day; the days of `days`, or
/// when `None` those [`span`] chooses.
pub fn render(
    h: &mut Html,
    fb: &FreeBusy,
    range: Option<Interval>,
    now: Minutes1601,
    days: Option<Span>,
) {
    let Some(sp) = days.or_else(|| span(range, fb)) else {
        h.raw("<p class=\"empty\">No blocks and no publish range: there is nothing to draw.</p>");
        return;
    };
    h.raw(
        "<div class=\"tl\" role=\"img\" aria-label=\"Free/busy timeline, one row per day, UTC\">",
    );
    h.raw("<div class=\"scale\"><div class=\"ticks\">");
    for hour in [0, 6, 12, 18, 24] {
        h.fmt(format_args!(
            "<span style=\"left:{}\">{hour:02}:00</span>",
            pct(hour * 60)
        ));
    }
    h.raw("</div></div>");
    let today = now.floor_day();
    let mut month = None;
    for n in 0..sp.days {
        let day = sp.first.plus_minutes(n as i64 * DAY);
        let (y, m, d) = day.civil_date();
        let key = MonthKey::new(y, m);
        if month != key {
            month = key;
            h.fmt(format_args!(
                "<div class=\"mh\">{} {y}</div>",
                month_name(m)
            ));
        }
        let row = day_row(day, fb, range);
        let wd = day.weekday();
        h.raw("<div class=\"day");
        if wd == 0 && n != 0 && d != 1 {
            h.raw(" sow");
        }
        if wd == 0 || wd == 6 {
            h.raw(" we");
        }
        if day == today {
            h.raw(" today");
        }
        match row.cover {
            RangeCover::Outside => h.raw(" out"),
            RangeCover::Partly => h.raw(" part"),
            RangeCover::Inside => {}
        }
        if row.coarse {
            h.raw(" coarse");
        }
        h.fmt(format_args!(
            "\" data-day=\"{y:04}-{m:02}-{d:02}\"><span class=\"dl\"{}>{} {d} {}</span><div class=\"bar\">",
            if row.coarse {
                " title=\"Many blocks: drawn in 30-minute slots\""
            } else {
                ""
            },
            weekday_name(day),
            &month_name(m)[..3],
        ));
        for s in &row.segs {
            let title = if s.digit == NO_DATA {
                "No data (outside the publish range)".to_string()
            } else {
                format!(
                    "{} {}–{} ({})",
                    status_label(s.digit),
                    fmt_hm(s.start),
                    fmt_hm(s.end),
                    fmt_duration(s.end - s.start)
                )
            };
            h.fmt(format_args!(
                "<i class=\"s{}\" style=\"left:{};width:{}\" title=\"{title}\"></i>",
                s.digit,
                pct(s.start),
                pct(s.end - s.start),
            ));
        }
        if day == today {
            h.fmt(format_args!(
                "<b class=\"now\" style=\"left:{}\" title=\"now\"></b>",
                pct(now.0 - day.0)
            ));
        }
        h.raw("</div><span class=\"dt\">");
        if row.marked_minutes > 0 {
            h.raw(&fmt_duration(row.marked_minutes));
        }
        h.raw("</span></div>");
    }
    h.raw("</div>");
    if (sp.days as i64) < sp.wanted {
        h.fmt(format_args!(
            "<p class=\"note\">The timeline stops after {} days of {}; every block is still listed below.</p>",
            sp.days,
            group_digits(sp.wanted.max(0) as u64)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, mo: u8, d: u8, h: i64, mi: i64) -> Minutes1601 {
        Minutes1601::from_civil(y, mo, d).plus_minutes(h * 60 + mi)
    }

    fn iv(a: Minutes1601, b: Minutes1601) -> Interval {
        Interval::new(a, b).unwrap()
    }

    #[test]
    fn span_pads_the_range_to_whole_weeks() {
        // Range Sun 2026-11-01 .. Fri 2027-01-01 (Exchange style, 2 months).
        let r = iv(at(2026, 11, 1, 0, 0), at(2027, 1, 1, 0, 0));
        let sp = span(Some(r), &FreeBusy::default()).unwrap();
        assert_eq!(sp.first, at(2026, 11, 1, 0, 0));
        assert_eq!(sp.first.weekday(), 0);
        // Through Sat 2027-01-02: 9 weeks.
        assert_eq!(sp.days, 63);
        // A range starting on Wednesday the 1st pulls in the Sunday before.
        let r = iv(at(2025, 10, 1, 0, 0), at(2025, 12, 1, 0, 0));
        let sp = span(Some(r), &FreeBusy::default()).unwrap();
        assert_eq!(sp.first, at(2025, 9, 28, 0, 0));
    }

    #[test]
    fn span_without_range_follows_the_blocks_and_is_capped() {
        assert_eq!(span(None, &FreeBusy::default()), None);
        let mut fb = FreeBusy::default();
        fb.add(
            FbStatus::Busy,
            iv(at(2026, 3, 4, 9, 0), at(2026, 3, 4, 10, 0)),
        );
        let sp = span(None, &fb).unwrap();
        assert_eq!((sp.first, sp.days), (at(2026, 3, 1, 0, 0), 7));
        fb.add(
            FbStatus::Oof,
            iv(at(2030, 1, 1, 0, 0), at(2030, 1, 2, 0, 0)),
        );
        let sp = span(None, &fb).unwrap();
        assert_eq!(sp.days, NO_RANGE_DAYS);
        assert!(sp.wanted > 1000);
    }

    #[test]
    fn a_range_ending_at_midnight_adds_no_extra_week() {
        // Sun 2026-05-31 .. Sun 2026-06-07: exactly one week.
        let r = iv(at(2026, 5, 31, 0, 0), at(2026, 6, 7, 0, 0));
        assert_eq!(span(Some(r), &FreeBusy::default()).unwrap().days, 7);
    }

    #[test]
    fn coarse_rows_stay_small_and_keep_the_highest_status() {
        let day = at(2026, 2, 2, 0, 0);
        // 300 one-minute busy blocks, two minutes apart, and an OOF hour over some of them.
        let mut spans: Vec<_> = (0..300)
            .map(|k| {
                let s = day.plus_minutes(k * 2);
                (FbStatus::Busy, iv(s, s.plus_minutes(1)))
            })
            .collect();
        spans.push((
            FbStatus::Oof,
            iv(at(2026, 2, 2, 1, 0), at(2026, 2, 2, 2, 0)),
        ));
        let fb = FreeBusy::from_spans(spans);
        let row = day_row(day, &fb, None);
        assert!(row.coarse);
        assert!(row.segs.len() <= 48);
        assert_eq!(
            row.segs,
            vec![
                Seg {
                    digit: 2,
                    start: 0,
                    end: 60
                },
                Seg {
                    digit: 2,
                    start: 120,
                    end: 600
                },
                Seg {
                    digit: 3,
                    start: 60,
                    end: 120
                },
            ]
        );
    }
}
