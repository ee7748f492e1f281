//! iCalendar (RFC 5545) → free/busy: what a user's calendar file says about when they are
//! busy, tentative or out of office inside a publish window.
//!
//! Pure, no I/O. [`parse`] reads a VCALENDAR into a validated [`Calendar`] (every TZID
//! resolved, every value parsed, errors carrying the line number); [`Calendar::expand`]
//! turns it into a [`FreeBusy`] clipped to a window. The pieces:
//!
//! * `parse`: unfolding, content lines, the BEGIN/END tree;
//! * `value`: DATE, DATE-TIME, DURATION, PERIOD;
//! * `tz` and `windows_zones`: what a TZID means (IANA, Windows names, display names,
//!   vendor prefixes, the file's own VTIMEZONEs);
//! * `rrule`: recurrence rules in wall-clock time;
//! * `event`: events, overrides and VFREEBUSY periods with their status mapping;
//! * `expand`: instances → spans in the window.
//!
//! This module does not know how free/busy is encoded or stored (`protocol::pffb`, the
//! store) and never reads the clock: the caller passes the window.

mod event;
mod expand;
mod parse;
mod rrule;
mod tz;
mod value;
mod windows_zones;

use jiff::tz::TimeZone;

use crate::protocol::freebusy::{FreeBusy, Interval};

/// How to expand a calendar.
#[derive(Clone, Debug)]
pub struct ExpandOptions {
    /// The zone of floating times and all-day events (the user's own zone).
    pub default_tz: TimeZone,
    /// Refuse calendars with more instances than this in the window (a runaway MINUTELY
    /// rule would otherwise build millions of spans).
    pub max_instances: usize,
}

impl Default for ExpandOptions {
    fn default() -> Self {
        ExpandOptions {
            default_tz: TimeZone::UTC,
            max_instances: 100_000,
        }
    }
}

/// A parsed, validated VCALENDAR (or several concatenated in one file). Cheap to keep:
/// expansion borrows it, so one parse serves any number of windows.
#[derive(Clone, Debug)]
pub struct Calendar {
    content: event::Content,
    zones: Vec<tz::Zone>,
}

/// Why a calendar could not be read or expanded. Every message names the line (the first
/// physical line of the unfolded content line) except the instance cap, which is about the
/// whole window.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("line {line}: this is not an iCalendar file: {reason}")]
    NotACalendar { line: usize, reason: String },
    #[error("line {line}: {reason}")]
    Syntax { line: usize, reason: String },
    #[error("line {line}: {property} '{value}' is not {expected}")]
    BadValue {
        line: usize,
        property: String,
        value: String,
        expected: String,
    },
    #[error("line {line}: the VEVENT has no DTSTART, so it cannot be placed in time")]
    MissingDtstart { line: usize },
    #[error(
        "line {line}: time zone '{tzid}' is not an IANA or Windows time zone name and the calendar has no VTIMEZONE for it"
    )]
    UnknownTimeZone { line: usize, tzid: String },
    #[error("line {line}: RRULE '{value}' is invalid: {reason}")]
    BadRule {
        line: usize,
        value: String,
        reason: String,
    },
    #[error(
        "line {line}: this RRULE takes more than {budget} steps to reach the publish window; give it a later DTSTART or fewer instances"
    )]
    RuleTooExpensive { line: usize, budget: u64 },
    #[error(
        "more than {max} event instances fall in the publish window; raise the instance cap or shorten the window"
    )]
    TooManyInstances { max: usize },
}

/// Parse and validate a calendar file.
pub fn parse(text: &str) -> Result<Calendar, CalendarError> {
    let calendars = parse::parse_tree(text)?;
    let mut zones = tz::ZoneTable::new(&calendars);
    let content = event::build(&calendars, &mut zones)?;
    Ok(Calendar {
        content,
        zones: zones.finish(),
    })
}

impl Calendar {
    /// The free/busy inside `window` (clipped to it), one merged set per status.
    pub fn expand(
        &self,
        window: Interval,
        opts: &ExpandOptions,
    ) -> Result<FreeBusy, CalendarError> {
        expand::Expansion::new(&self.zones, window, opts).run(&self.content, window)
    }

    /// VEVENT components in the file, overrides included.
    pub fn event_count(&self) -> usize {
        self.content.event_count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FIXTURES: &[(&str, &str)] = &[
        (
            "dwinship",
            include_str!("../../fixtures/calendars/dwinship.ics"),
        ),
        (
            "jsguillet",
            include_str!("../../fixtures/calendars/jsguillet.ics"),
        ),
        (
            "amartin",
            include_str!("../../fixtures/calendars/amartin.ics"),
        ),
        (
            "kbaker",
            include_str!("../../fixtures/calendars/kbaker.ics"),
        ),
        ("lchen", include_str!("../../fixtures/calendars/lchen.ics")),
        (
            "mgarcia",
            include_str!("../../fixtures/calendars/mgarcia.ics"),
        ),
    ];

    fn window() -> Interval {
        let now = crate::protocol::time::Minutes1601::from_civil(2026, 3, 1);
        Interval::new(now.plus_minutes(-7 * 1440), now.plus_minutes(62 * 1440)).unwrap()
    }

    #[test]
    fn every_fixture_parses_and_shows_something() {
        for (name, text) in FIXTURES {
            let cal = parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(cal.event_count() > 0, "{name}");
            let fb = cal.expand(window(), &ExpandOptions::default()).unwrap();
            assert!(!fb.is_empty(), "{name} is empty in March 2026");
        }
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:x\nEND:VEVENT\nEND:VCALENDAR\n")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3: DTSTART 'x' is not a date or date-time"
        );
        let e = parse("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=Nowhere:20260101T000000\nEND:VEVENT\nEND:VCALENDAR\n")
            .unwrap_err();
        assert!(
            e.to_string().starts_with("line 3: time zone 'Nowhere'"),
            "{e}"
        );
    }

    #[test]
    fn unknown_components_are_ignored() {
        let text = "BEGIN:VCALENDAR\nBEGIN:VTODO\nDTSTART:20260105T090000Z\nEND:VTODO\nBEGIN:X-THING\nFOO:1\nEND:X-THING\n\
BEGIN:VEVENT\nUID:1\nDTSTART:20260301T090000Z\nDURATION:PT1H\nBEGIN:VALARM\nTRIGGER:-PT15M\nEND:VALARM\nEND:VEVENT\nEND:VCALENDAR\n";
        let cal = parse(text).unwrap();
        assert_eq!(cal.event_count(), 1);
        assert_eq!(
            cal.expand(window(), &ExpandOptions::default())
                .unwrap()
                .busy
                .len(),
            1
        );
    }

    /// Small edits of real fixtures: drop, duplicate or cut lines, flip bytes.
    fn mutate(text: &str, ops: &[(u8, usize)]) -> String {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for &(op, at) in ops {
            if lines.is_empty() {
                break;
            }
            let i = at % lines.len();
            match op % 5 {
                0 => {
                    lines.remove(i);
                }
                1 => {
                    let l = lines[i].clone();
                    lines.insert(i, l);
                }
                2 => {
                    let l = &mut lines[i];
                    let cut = (at / 7) % (l.len() + 1);
                    let cut = (0..=cut)
                        .rev()
                        .find(|c| l.is_char_boundary(*c))
                        .unwrap_or(0);
                    l.truncate(cut);
                }
                3 => lines[i] = format!(" {}", lines[i]),
                _ => {
                    let j = (at / 3) % lines.len();
                    lines.swap(i, j);
                }
            }
        }
        lines.join("\r\n")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn parse_never_panics_on_arbitrary_text(s in "\\PC{0,400}") {
            let _ = parse(&s);
        }

        #[test]
        fn parse_never_panics_on_calendar_shaped_text(
            lines in proptest::collection::vec(
                prop_oneof![
                    Just("BEGIN:VEVENT".to_string()),
                    Just("END:VEVENT".to_string()),
                    Just("BEGIN:VTIMEZONE".to_string()),
                    Just("END:VTIMEZONE".to_string()),
                    "(DTSTART|DTEND|RRULE|EXDATE|RDATE|DURATION|TZID|RECURRENCE-ID)(;[A-Z]{1,5}=[A-Za-z0-9/ ]{0,12}){0,2}:[A-Z0-9=;,/:TZP+-]{0,30}",
                ],
                0..20,
            )
        ) {
            let text = format!("BEGIN:VCALENDAR\n{}\nEND:VCALENDAR\n", lines.join("\n"));
            if let Ok(cal) = parse(&text) {
                let opts = ExpandOptions { max_instances: 2_000, ..ExpandOptions::default() };
                let _ = cal.expand(window(), &opts);
            }
        }

        #[test]
        fn mutated_fixtures_never_panic(
            which in 0usize..6,
            ops in proptest::collection::vec((any::<u8>(), any::<usize>()), 1..6)
        ) {
            let text = mutate(FIXTURES[which].1, &ops);
            if let Ok(cal) = parse(&text) {
                let _ = cal.expand(window(), &ExpandOptions::default());
            }
        }

        #[test]
        fn expansion_stays_inside_the_window(day in 0i64..1500, len in 1i64..120) {
            // Any window from 2025 on: every span lies inside it, and the sets are normalised.
            let start = crate::protocol::time::Minutes1601::from_civil(2025, 1, 1).plus_minutes(day * 1440);
            let w = Interval::new(start, start.plus_minutes(len * 1440)).unwrap();
            for (_, text) in FIXTURES {
                let fb = parse(text).unwrap().expand(w, &ExpandOptions::default()).unwrap();
                for set in [&fb.tentative, &fb.busy, &fb.oof] {
                    for iv in set.iter() {
                        prop_assert!(w.start() <= iv.start() && iv.end() <= w.end());
                    }
                }
            }
        }
    }
}
