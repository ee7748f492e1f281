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
    leniencies: Vec<Leniency>,
}

/// An RFC 5545 violation that real exporters write, read as the writer meant. Never a
/// silent change: every one is reported to whoever stored the calendar (the `PUT` answer,
/// `calendar import`'s output, the log) and counted (`docs/behaviour.md`, "Calendar
/// leniencies", lists them with their reasons).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leniency {
    /// The physical line (first line of the unfolded content line), 1-based.
    pub line: usize,
    /// A short stable name, the metric's label (`rdate_date_with_z`, `empty_rrule`, …).
    pub kind: &'static str,
    /// What was read and how, in a sentence.
    pub message: String,
}

impl std::fmt::Display for Leniency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Where the layers note their leniencies while reading.
#[derive(Debug, Default)]
pub(crate) struct Notes(Vec<Leniency>);

impl Notes {
    pub fn add(&mut self, line: usize, kind: &'static str, message: impl Into<String>) {
        self.0.push(Leniency {
            line,
            kind,
            message: message.into(),
        });
    }
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
    #[error(
        "line {line}: time zone '{tzid}' changes its offset more than {max} times in one year (the cap on VTIMEZONE observance onsets); a real zone changes it at most a few times"
    )]
    TooManyZoneChanges {
        line: usize,
        tzid: String,
        max: usize,
    },
    #[error(
        "line {line}: time zone '{tzid}' needs more than {max} offset changes to place this calendar's events (the cap on VTIMEZONE observance onsets per calendar)"
    )]
    ZoneTooExpensive {
        line: usize,
        tzid: String,
        max: usize,
    },
    #[error(
        "line {line}: this event has more than {max} instances in {days} days from {from} (the instance cap); it could never be published"
    )]
    NeverPublishable {
        line: usize,
        max: usize,
        days: i64,
        from: String,
    },
    #[error(
        "line {line}: this event can put up to {bound} instances into the {days} days from {from}, over the instance cap of {max}; it could not always be published"
    )]
    MayExceedCap {
        line: usize,
        max: usize,
        bound: u64,
        days: i64,
        from: String,
    },
    #[error(
        "line {line}: this calendar has too many events that repeat many times a day to check them all (more than {budget} days of their rules looked at); split it"
    )]
    TooManyDenseRules { line: usize, budget: u64 },
    #[error(
        "this calendar's {events} events together can put up to {bound} instances into a window of {days} days (each event's busiest window, and every date listed one by one, added up), over the instance cap of {max}; it could not always be published"
    )]
    TogetherMayExceedCap {
        events: usize,
        max: usize,
        bound: u64,
        days: i64,
    },
}

/// Parse and validate a calendar file.
pub fn parse(text: &str) -> Result<Calendar, CalendarError> {
    let mut notes = Notes::default();
    let calendars = parse::parse_tree(text, &mut notes)?;
    let mut zones = tz::ZoneTable::new(&calendars);
    let content = event::build(&calendars, &mut zones, &mut notes)?;
    let mut leniencies = notes.0;
    leniencies.sort_by_key(|l| l.line);
    Ok(Calendar {
        content,
        zones: zones.finish(),
        leniencies,
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

    /// What was read leniently, in line order.
    pub fn leniencies(&self) -> &[Leniency] {
        &self.leniencies
    }

    /// Whether the calendar can be published now and later: it expands over `window`
    /// (the current publish range) and no recurring event ever puts more than the instance
    /// cap into a window of the same length (bounded per day over one Gregorian cycle, see
    /// `expand::check_future_windows`), so a calendar dense only on some days of the year
    /// is refused at the door instead of being stored and failing every publish once its
    /// days come. Returns the expansion over `window`, so that a publish at once needs no
    /// second one.
    pub fn check_publishable(
        &self,
        window: Interval,
        opts: &ExpandOptions,
    ) -> Result<FreeBusy, CalendarError> {
        let fb = self.expand(window, opts)?;
        expand::check_future_windows(&self.zones, &self.content, window, opts)?;
        Ok(fb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FIXTURES: &[(&str, &str)] = &[
        (
            "dwinship",
            include_str!("../../../fixtures/calendars/dwinship.ics"),
        ),
        (
            "jsguillet",
            include_str!("../../../fixtures/calendars/jsguillet.ics"),
        ),
        (
            "amartin",
            include_str!("../../../fixtures/calendars/amartin.ics"),
        ),
        (
            "kbaker",
            include_str!("../../../fixtures/calendars/kbaker.ics"),
        ),
        (
            "lchen",
            include_str!("../../../fixtures/calendars/lchen.ics"),
        ),
        (
            "mgarcia",
            include_str!("../../../fixtures/calendars/mgarcia.ics"),
        ),
        // Exports in the shape of real writers, with their RFC 5545 violations.
        (
            "google",
            include_str!("../../../tests/data/calendars-real/google.ics"),
        ),
        (
            "outlook",
            include_str!("../../../tests/data/calendars-real/outlook.ics"),
        ),
        (
            "exchange",
            include_str!("../../../tests/data/calendars-real/exchange.ics"),
        ),
        (
            "confluence",
            include_str!("../../../tests/data/calendars-real/confluence.ics"),
        ),
        (
            "calendarlabs",
            include_str!("../../../tests/data/calendars-real/calendarlabs.ics"),
        ),
        (
            "booking",
            include_str!("../../../tests/data/calendars-real/booking.ics"),
        ),
        (
            "mailclient",
            include_str!("../../../tests/data/calendars-real/mailclient.ics"),
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

    /// (line, kind) of each leniency, and the expansion in January 2026 as strings.
    fn lenient(text: &str) -> (Vec<(usize, &'static str)>, Vec<String>) {
        let cal = parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let notes = cal.leniencies().iter().map(|l| (l.line, l.kind)).collect();
        let w = Interval::new(
            crate::protocol::time::Minutes1601::from_civil(2026, 1, 1),
            crate::protocol::time::Minutes1601::from_civil(2026, 2, 1),
        )
        .unwrap();
        let fb = cal.expand(w, &ExpandOptions::default()).unwrap();
        let out = expand::intervals_as_text(&fb);
        (notes, out)
    }

    /// A VCALENDAR around `body`, with `\n` line ends; line 4 is the body's first line.
    fn vcal(body: &str) -> String {
        format!("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\n{body}END:VCALENDAR\n")
    }

    #[test]
    fn rdate_with_z_on_a_date_value_is_that_date() {
        let (notes, fb) = lenient(&vcal(
            "BEGIN:VEVENT\nUID:a\nDTSTART;VALUE=DATE:20260105\nRDATE;VALUE=DATE:20260107Z,20260109T000000Z\nEND:VEVENT\n",
        ));
        assert_eq!(
            notes,
            [(7, "date_with_time_or_z"), (7, "date_with_time_or_z")]
        );
        assert_eq!(
            fb,
            [
                "busy 2026-01-05T00:00:00Z 2026-01-06T00:00:00Z",
                "busy 2026-01-07T00:00:00Z 2026-01-08T00:00:00Z",
                "busy 2026-01-09T00:00:00Z 2026-01-10T00:00:00Z"
            ]
        );
    }

    #[test]
    fn empty_rrule_means_not_recurring() {
        let (notes, fb) = lenient(&vcal(
            "BEGIN:VEVENT\nUID:a\nDTSTART:20260105T090000Z\nDURATION:PT1H\nRRULE:\nEND:VEVENT\n",
        ));
        assert_eq!(notes, [(8, "empty_rrule")]);
        assert_eq!(fb, ["busy 2026-01-05T09:00:00Z 2026-01-05T10:00:00Z"]);
    }

    #[test]
    fn count_minus_one_escaped_semicolons_and_misspelt_parts() {
        // COUNT=-1: no count (said so). `\;`: the backslashes dropped. UNTL: UNTIL.
        let (notes, fb) = lenient(&vcal(
            "BEGIN:VEVENT\nUID:a\nDTSTART:20260105T090000Z\nDURATION:PT1H\nRRULE:FREQ=WEEKLY;COUNT=-1\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:b\nDTSTART:20260106T090000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY\\;COUNT=2\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:c\nDTSTART:20260107T120000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;UNTL=20260108T120000Z\nEND:VEVENT\n",
        ));
        assert_eq!(
            notes,
            [
                (8, "negative_count"),
                (14, "rrule_escaped"),
                (20, "misspelt_rule_part")
            ]
        );
        assert_eq!(
            fb,
            [
                "busy 2026-01-05T09:00:00Z 2026-01-05T10:00:00Z",
                "busy 2026-01-06T09:00:00Z 2026-01-06T10:00:00Z",
                "busy 2026-01-07T09:00:00Z 2026-01-07T10:00:00Z",
                "busy 2026-01-07T12:00:00Z 2026-01-07T13:00:00Z",
                "busy 2026-01-08T12:00:00Z 2026-01-08T13:00:00Z",
                "busy 2026-01-12T09:00:00Z 2026-01-12T10:00:00Z",
                "busy 2026-01-19T09:00:00Z 2026-01-19T10:00:00Z",
                "busy 2026-01-26T09:00:00Z 2026-01-26T10:00:00Z"
            ]
        );
        // An unknown part that is no clear misspelling is ignored, and the note says the
        // rule now has no end.
        let cal = parse(&vcal(
            "BEGIN:VEVENT\nUID:a\nDTSTART:20260105T090000Z\nRRULE:FREQ=DAILY;ENDS=20260108\nEND:VEVENT\n",
        ))
        .unwrap();
        let l = &cal.leniencies()[0];
        assert_eq!((l.line, l.kind), (7, "unknown_rule_part"));
        assert!(l.to_string().contains("repeats without end"), "{l}");
        // X- parts are RFC 5545's extension point: no note.
        let cal = parse(&vcal(
            "BEGIN:VEVENT\nUID:a\nDTSTART:20260105T090000Z\nRRULE:FREQ=DAILY;X-NAME=1;COUNT=2\nEND:VEVENT\n",
        ))
        .unwrap();
        assert!(cal.leniencies().is_empty());
    }

    #[test]
    fn observance_starting_on_a_date_is_midnight() {
        // A zone at +0100 from 1970, written with DTSTART;VALUE=DATE (Confluence exports).
        let (notes, fb) = lenient(&vcal(
            "BEGIN:VTIMEZONE\nTZID:Lab Zone\nBEGIN:STANDARD\nDTSTART;VALUE=DATE:19700101\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0100\nEND:STANDARD\nEND:VTIMEZONE\n\
BEGIN:VEVENT\nUID:a\nDTSTART;TZID=Lab Zone:20260105T090000\nDURATION:PT1H\nEND:VEVENT\n",
        ));
        assert_eq!(notes, [(7, "observance_date")]);
        assert_eq!(fb, ["busy 2026-01-05T08:00:00Z 2026-01-05T09:00:00Z"]);
    }

    /// Google's export names its zone `Europe/lisbon` and defines it as CET (+01:00).
    const LISBON_AS_CET: &str = "BEGIN:VTIMEZONE\nTZID:NAME\nBEGIN:STANDARD\nDTSTART:19701025T030000\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nEND:STANDARD\nBEGIN:DAYLIGHT\nDTSTART:19700329T020000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nEND:DAYLIGHT\nEND:VTIMEZONE\nBEGIN:VEVENT\nUID:a\nDTSTART;TZID=NAME:20260105T090000\nDURATION:PT1H\nEND:VEVENT\n";

    #[test]
    fn a_tzid_defined_in_the_file_is_that_vtimezone_unless_exactly_a_known_name() {
        let with = |name: &str| lenient(&vcal(&LISBON_AS_CET.replace("NAME", name))).1;
        // Not exactly an IANA name: the file's zone (+01:00 in January): 08:00Z.
        assert_eq!(
            with("Europe/lisbon"),
            ["busy 2026-01-05T08:00:00Z 2026-01-05T09:00:00Z"]
        );
        assert_eq!(
            with("/example.com/Europe/Lisbon"),
            ["busy 2026-01-05T08:00:00Z 2026-01-05T09:00:00Z"]
        );
        // Exactly IANA or exactly Windows: the database (Lisbon is +00:00 in January).
        assert_eq!(
            with("Europe/Lisbon"),
            ["busy 2026-01-05T09:00:00Z 2026-01-05T10:00:00Z"]
        );
        assert_eq!(
            with("GMT Standard Time"),
            ["busy 2026-01-05T09:00:00Z 2026-01-05T10:00:00Z"]
        );
        // Without a VTIMEZONE, a near miss is still looked up leniently.
        let text = vcal(
            "BEGIN:VEVENT\nUID:a\nDTSTART;TZID=europe/lisbon:20260105T090000\nDURATION:PT1H\nEND:VEVENT\n",
        );
        assert_eq!(
            lenient(&text).1,
            ["busy 2026-01-05T09:00:00Z 2026-01-05T10:00:00Z"]
        );
    }

    #[test]
    fn the_highest_sequence_of_a_uid_wins() {
        // A mail client kept three revisions of one invitation, not in order, and two of
        // one moved instance.
        let (notes, fb) = lenient(&vcal(
            "BEGIN:VEVENT\nUID:inv\nSEQUENCE:1\nDTSTART:20260105T100000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;COUNT=2\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:inv\nSEQUENCE:2\nDTSTART:20260105T140000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;COUNT=2\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:inv\nDTSTART:20260105T090000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;COUNT=2\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:inv\nSEQUENCE:2\nRECURRENCE-ID:20260106T140000Z\nDTSTART:20260106T160000Z\nDURATION:PT1H\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:inv\nSEQUENCE:3\nRECURRENCE-ID:20260106T140000Z\nDTSTART:20260106T170000Z\nDURATION:PT1H\nEND:VEVENT\n",
        ));
        assert_eq!(
            notes,
            [
                (4, "older_revision"),
                (18, "older_revision"),
                (24, "older_revision")
            ]
        );
        assert_eq!(
            fb,
            [
                "busy 2026-01-05T14:00:00Z 2026-01-05T15:00:00Z",
                "busy 2026-01-06T17:00:00Z 2026-01-06T18:00:00Z"
            ]
        );
    }

    #[test]
    fn dtend_before_dtstart_is_read_the_other_way_round() {
        let (notes, fb) = lenient(&vcal(
            "BEGIN:VEVENT\nUID:a\nDTSTART:20260105T110000Z\nDTEND:20260105T090000Z\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:b\nDTSTART;TZID=Europe/Paris:20260106T110000\nDTEND:20260106T090000Z\nEND:VEVENT\n",
        ));
        assert_eq!(
            notes,
            [(7, "dtend_before_dtstart"), (12, "dtend_before_dtstart")]
        );
        assert_eq!(
            fb,
            [
                "busy 2026-01-05T09:00:00Z 2026-01-05T11:00:00Z",
                "busy 2026-01-06T09:00:00Z 2026-01-06T10:00:00Z"
            ]
        );
    }

    /// A VTIMEZONE `tzid` of ten STANDARD observances at +0100 repeating at `freq`, the
    /// i-th starting at `dtstart(i)`: a zone whose changes cost what the caps guard against.
    fn ten_observances(tzid: &str, freq: &str, dtstart: impl Fn(usize) -> String) -> String {
        let parts: String = (0..10)
            .map(|i| {
                format!(
                    "BEGIN:STANDARD\nDTSTART:{}\nRRULE:FREQ={freq}\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0100\nEND:STANDARD\n",
                    dtstart(i)
                )
            })
            .collect();
        format!("BEGIN:VTIMEZONE\nTZID:{tzid}\n{parts}END:VTIMEZONE\n")
    }

    #[test]
    fn observances_that_change_every_second_hit_the_onset_cap_quickly() {
        // Issue 11: ten SECONDLY observances from 1601 took 17 s and 3.1 GB. Now each year
        // asked about stops after MAX_ZONE_ONSETS_PER_YEAR onsets and the calendar is refused.
        let zone = ten_observances("Busy Zone", "SECONDLY", |i| format!("16010101T0000{i:02}"));
        let text = vcal(&format!(
            "{zone}BEGIN:VEVENT\nUID:a\nDTSTART;TZID=Busy Zone:20260105T090000\nDURATION:PT1H\nEND:VEVENT\n"
        ));
        let cal = parse(&text).unwrap();
        let e = cal.expand(window(), &ExpandOptions::default()).unwrap_err();
        assert_eq!(
            e,
            CalendarError::TooManyZoneChanges {
                line: 4,
                tzid: "Busy Zone".into(),
                max: tz::MAX_ZONE_ONSETS_PER_YEAR
            }
        );
        assert!(e.to_string().contains("1000"), "{e}");
    }

    #[test]
    fn events_in_many_years_cannot_multiply_the_onset_cap() {
        // Ten daily observances (3,650 onsets a year, each year under the per-year cap) and
        // events in 80 distinct years: the zone's total is capped.
        let zone = ten_observances("Daily", "DAILY", |i| format!("19000101T0{i}0000"));
        let mut events = String::new();
        for y in 0..80 {
            events.push_str(&format!(
                "BEGIN:VEVENT\nUID:{y}\nDTSTART;TZID=Daily:{}0105T090000\nDURATION:PT1H\nEND:VEVENT\n",
                1950 + y
            ));
        }
        let text = vcal(&format!("{zone}{events}"));
        let e = parse(&text)
            .unwrap()
            .expand(window(), &ExpandOptions::default())
            .unwrap_err();
        assert_eq!(
            e,
            CalendarError::ZoneTooExpensive {
                line: 4,
                tzid: "Daily".into(),
                max: tz::MAX_ZONE_ONSETS
            }
        );
    }

    #[test]
    fn a_rule_that_could_never_be_published_is_refused_before_its_time() {
        // SECONDLY without end, starting after the current window: nothing in this window,
        // more than the cap in the first window it reaches.
        let text = vcal(
            "BEGIN:VEVENT\nUID:s\nDTSTART:20270105T090000Z\nDURATION:PT1S\nRRULE:FREQ=SECONDLY\nEND:VEVENT\n",
        );
        let cal = parse(&text).unwrap();
        assert!(
            cal.expand(window(), &ExpandOptions::default())
                .unwrap()
                .is_empty()
        );
        let e = cal
            .check_publishable(window(), &ExpandOptions::default())
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("line 4: this event has more than 100000 instances"),
            "{e}"
        );
        // Zero-length instances count too (they cost as much to walk).
        let e = default_verdict(
            "BEGIN:VEVENT\nUID:s\nDTSTART:20260301T090000Z\nRRULE:FREQ=SECONDLY\nEND:VEVENT\n",
        )
        .unwrap_err();
        assert_eq!(e, CalendarError::TooManyInstances { max: 100_000 });
        // Dense only in December (a seasonal rule): refused now, from December's window.
        let e = default_verdict("BEGIN:VEVENT\nUID:s\nDTSTART:20260301T090000Z\nDURATION:PT1S\nRRULE:FREQ=SECONDLY;BYMONTH=12\nEND:VEVENT\n").unwrap_err();
        assert_window_covers(&e, (2026, 12, 1));
        // A weekly meeting in December only is fine.
        default_verdict("BEGIN:VEVENT\nUID:w\nDTSTART:20260301T090000Z\nDURATION:PT1H\nRRULE:FREQ=WEEKLY;BYMONTH=12\nEND:VEVENT\n").unwrap();
        // An ordinary weekly meeting that starts next year is fine.
        default_verdict("BEGIN:VEVENT\nUID:w\nDTSTART:20270105T090000Z\nDURATION:PT1H\nRRULE:FREQ=WEEKLY\nEND:VEVENT\n").unwrap();
    }

    /// Whether `events` may be published with the default options.
    fn default_verdict(events: &str) -> Result<(), CalendarError> {
        parse(&vcal(events))
            .unwrap()
            .check_publishable(window(), &ExpandOptions::default())
            .map(|_| ())
    }

    /// The refusal names a window (of the publish window's length) holding `day`.
    fn assert_window_covers(e: &CalendarError, day: (i32, u8, u8)) {
        let (CalendarError::NeverPublishable { from, days, .. }
        | CalendarError::MayExceedCap { from, days, .. }) = e
        else {
            panic!("not refused for density: {e}");
        };
        let from = crate::protocol::time::Minutes1601::from_timestamp(
            crate::protocol::time::parse_time(from).unwrap(),
        );
        let day = crate::protocol::time::Minutes1601::from_civil(day.0, day.1, day.2);
        assert!(
            from <= day && day < from.plus_minutes(days * 1440),
            "{e} does not cover {day:?}"
        );
    }

    /// The instance cap the day-density tests use: a day of minutes (1 440) fits, two do
    /// not. Minutes rather than seconds keep the real expansions cheap; the logic is the
    /// same for any cap (`a_rule_that_could_never_be_published_is_refused_before_its_time`
    /// uses the default one).
    const SMALL_CAP: usize = 2_000;

    fn publishable(rule: &str, dtstart: &str) -> Result<(), CalendarError> {
        let text = vcal(&format!(
            "BEGIN:VEVENT\nUID:d\nDTSTART:{dtstart}\nDURATION:PT1S\nRRULE:{rule}\nEND:VEVENT\n"
        ));
        let opts = ExpandOptions {
            max_instances: SMALL_CAP,
            ..ExpandOptions::default()
        };
        let cal = parse(&text).unwrap();
        let verdict = cal.check_publishable(window(), &opts);
        if verdict.is_ok() {
            // Accepted: then no window of the same length from the first of a month in the
            // coming year (every day of the year is in one) is over the cap when it comes.
            let len = window().end().to_unix_seconds() - window().start().to_unix_seconds();
            for k in 0..13 {
                let from = crate::protocol::time::Minutes1601::from_civil(
                    2026 + (2 + k) / 12,
                    ((2 + k) % 12 + 1) as u8,
                    1,
                );
                let w = Interval::new(from, from.plus_minutes(len / 60)).unwrap();
                cal.expand(w, &opts)
                    .unwrap_or_else(|e| panic!("{rule} accepted, but {e} from {from:?}"));
            }
        }
        verdict.map(|_| ())
    }

    fn all(n: u32) -> String {
        (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
    }

    /// What the density check says of a rule.
    enum Dense {
        Fine,
        /// Refused, naming a window that holds this day.
        Refused((i32, u8, u8)),
        /// Refused as never publishable, naming a window that holds this day.
        Never((i32, u8, u8)),
    }

    /// Rule (`{minutes}`: every minute of the day), DTSTART and the verdict, one row a line.
    #[rustfmt::skip]
    const DENSE: &[(&str, &str, Dense)] = &[
        // BYYEARDAY: every minute of two days (2 880) in January; of one day (1 440) is fine.
        ("FREQ=MINUTELY;BYYEARDAY=1,2", "20260301T000000Z", Dense::Never((2027, 1, 1))),
        ("FREQ=MINUTELY;BYYEARDAY=1", "20260301T000000Z", Dense::Fine),
        // Negative day of year: the last two days of the year.
        ("FREQ=MINUTELY;BYYEARDAY=-1,-2", "20260301T000000Z", Dense::Refused((2026, 12, 31))),
        // BYWEEKNO (yearly only), every minute of the days of week 20: 10 080; of two days
        // of weeks 20 and 40 apart, 1 440 each, fine.
        ("FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO,TU,WE,TH,FR,SA,SU;{minutes}", "20260101T000000Z", Dense::Never((2026, 5, 12))),
        ("FREQ=YEARLY;BYWEEKNO=20,40;BYDAY=WE;{minutes}", "20260301T000000Z", Dense::Fine),
        // BYMONTHDAY with BYMONTH, sub-daily: the 1st and 2nd of June, every minute.
        ("FREQ=MINUTELY;BYMONTH=6;BYMONTHDAY=1,2", "20260301T000000Z", Dense::Refused((2026, 6, 1))),
        ("FREQ=MINUTELY;BYMONTH=6;BYMONTHDAY=1", "20260301T000000Z", Dense::Fine),
        // BYMONTHDAY alone: the 1st and 2nd of every month, from after those of this
        // window's first month (its later months have them).
        ("FREQ=MINUTELY;BYMONTHDAY=1,2", "20270303T000000Z", Dense::Never((2027, 4, 1))),
        // BYDAY with an ordinal in a yearly rule: the first Monday of January is fine; the
        // first Monday and the first Tuesday are not. In a sub-daily rule an ordinal means
        // nothing (RFC 5545): 1MO is every Monday of January, named by a window in the
        // busiest January (2028's has five Mondays).
        ("FREQ=YEARLY;BYMONTH=1;BYDAY=1MO;{minutes}", "20260301T000000Z", Dense::Fine),
        ("FREQ=YEARLY;BYMONTH=1;BYDAY=1MO,1TU;{minutes}", "20260301T000000Z", Dense::Refused((2027, 1, 5))),
        ("FREQ=MINUTELY;BYMONTH=1;BYDAY=1MO", "20260301T000000Z", Dense::Refused((2028, 1, 10))),
        // BYHOUR narrows dense days: two hours of minutes on each day of June is 3 600;
        // one hour on each day of one week is 420.
        ("FREQ=MINUTELY;BYMONTH=6;BYHOUR=9,10", "20260301T000000Z", Dense::Refused((2026, 6, 15))),
        ("FREQ=MINUTELY;BYMONTH=6;BYMONTHDAY=1,2,3,4,5,6,7;BYHOUR=9", "20260301T000000Z", Dense::Fine),
        // INTERVAL thins a sub-daily rule: every other minute of two days is 1 440.
        ("FREQ=MINUTELY;INTERVAL=2;BYYEARDAY=1,2", "20260301T000000Z", Dense::Fine),
        // COUNT and UNTIL end a rule before it is dense.
        ("FREQ=MINUTELY;COUNT=1900;BYYEARDAY=1,2", "20260301T000000Z", Dense::Fine),
        ("FREQ=MINUTELY;UNTIL=20261231T235959Z;BYYEARDAY=1,2", "20260301T000000Z", Dense::Fine),
        // Ordinary rules.
        ("FREQ=DAILY;BYHOUR=9,10,11", "20260301T090000Z", Dense::Fine),
        ("FREQ=HOURLY;INTERVAL=4;BYDAY=MO,TU,WE,TH,FR", "20260301T090000Z", Dense::Fine),
    ];

    /// A rule dense only on some days of the year: refused if those days put more than the
    /// cap into one publish window, accepted if they never do. One case per rule part that
    /// picks days; each refusal names a window holding the dense days, and each acceptance
    /// is checked against real windows over two years.
    #[test]
    fn a_rule_dense_only_on_some_days_is_refused_exactly_when_those_days_exceed_the_cap() {
        let minutes = format!("BYHOUR={};BYMINUTE={}", all(24), all(60));
        for (rule, dtstart, verdict) in DENSE {
            let rule = rule.replace("{minutes}", &minutes);
            let got = publishable(&rule, dtstart);
            match (verdict, got) {
                (Dense::Fine, got) => assert_eq!(got, Ok(()), "{rule}"),
                (Dense::Refused(day), Err(e)) => assert_window_covers(&e, *day),
                (Dense::Never(day), Err(e)) => {
                    assert!(
                        matches!(e, CalendarError::NeverPublishable { .. }),
                        "{rule}: {e}"
                    );
                    assert_window_covers(&e, *day);
                }
                (_, Ok(())) => panic!("{rule} accepted"),
            }
        }
    }

    /// The per-day check of dense rules is bounded per calendar: past its budget the
    /// calendar is refused, naming the event where the budget ran out.
    #[test]
    fn too_many_dense_rules_to_check_are_refused_naming_the_budget() {
        // Every minute of day 200 if it is in January: never, but only a look at every
        // day of the cycle shows it.
        let minutes = format!("BYHOUR={};BYMINUTE={}", all(24), all(60));
        let one = |i: usize| {
            format!(
                "BEGIN:VEVENT\nUID:{i}\nDTSTART:20260101T000000Z\nDURATION:PT1S\nRRULE:FREQ=YEARLY;BYMONTH=1;BYYEARDAY=200;{minutes}\nEND:VEVENT\n"
            )
        };
        let per_rule = rrule::GREGORIAN_CYCLE_DAYS as u64;
        let fits = (expand::DAY_PROFILE_BUDGET / per_rule) as usize;
        let text = vcal(&(0..fits).map(one).collect::<String>());
        let opts = ExpandOptions::default();
        parse(&text)
            .unwrap()
            .check_publishable(window(), &opts)
            .unwrap();
        let text = vcal(&(0..=fits).map(one).collect::<String>());
        let e = parse(&text)
            .unwrap()
            .check_publishable(window(), &opts)
            .unwrap_err();
        assert!(matches!(e, CalendarError::TooManyDenseRules { .. }), "{e}");
        assert!(e.to_string().contains("split it"), "{e}");
    }

    /// Events each within the cap alone may fill one window together: their bounds add up.
    #[test]
    fn events_that_together_exceed_the_cap_are_refused() {
        let event = |uid: &str, rule: &str| {
            format!(
                "BEGIN:VEVENT\nUID:{uid}\nDTSTART:20270101T000000Z\nDURATION:PT1S\nRRULE:{rule}\nEND:VEVENT\n"
            )
        };
        let opts = ExpandOptions {
            max_instances: SMALL_CAP,
            ..ExpandOptions::default()
        };
        // Each alone: one day of minutes (1 440) on 1 January from next year; together 2 880.
        let a = event("a", "FREQ=MINUTELY;BYYEARDAY=1");
        let b = event("b", "FREQ=MINUTELY;BYMONTH=1;BYMONTHDAY=1");
        parse(&vcal(&a))
            .unwrap()
            .check_publishable(window(), &opts)
            .unwrap();
        let e = parse(&vcal(&format!("{a}{b}")))
            .unwrap()
            .check_publishable(window(), &opts)
            .unwrap_err();
        assert!(
            matches!(
                e,
                CalendarError::TogetherMayExceedCap {
                    events: 2,
                    bound: 2_880,
                    ..
                }
            ),
            "{e}"
        );
        // Dates listed one by one count too: 2 001 RDATEs a minute apart next December.
        let rdates: Vec<String> = (0..=SMALL_CAP)
            .map(|i| {
                format!(
                    "202712{:02}T{:02}{:02}00Z",
                    1 + i / 1440,
                    i % 1440 / 60,
                    i % 60
                )
            })
            .collect();
        let listed = format!(
            "BEGIN:VEVENT\nUID:r\nDTSTART:20271201T000000Z\nDURATION:PT1S\nRDATE:{}\nEND:VEVENT\n",
            rdates.join(",")
        );
        let e = parse(&vcal(&listed))
            .unwrap()
            .check_publishable(window(), &opts)
            .unwrap_err();
        assert!(
            matches!(e, CalendarError::TogetherMayExceedCap { .. }),
            "{e}"
        );
        // Weekly meetings are counted by the week: a hundred of them are fine.
        let weekly: String = (0..100)
            .map(|i| event(&format!("w{i}"), "FREQ=WEEKLY;BYDAY=MO,WE"))
            .collect();
        let opts = ExpandOptions::default();
        parse(&vcal(&weekly))
            .unwrap()
            .check_publishable(window(), &opts)
            .unwrap();
    }

    /// Where INTERVAL or BYSETPOS make a rule thinner than its day parts say, the check
    /// stays on the safe side: it refuses, saying how many instances the days could hold.
    #[test]
    fn a_rule_thinned_by_interval_on_dense_days_is_refused_as_possibly_over_the_cap() {
        let rule = format!(
            "FREQ=YEARLY;INTERVAL=2;BYYEARDAY=1,-1;BYHOUR={};BYMINUTE={}",
            all(24),
            all(60)
        );
        let e = publishable(&rule, "20260101T000000Z").unwrap_err();
        assert!(
            matches!(e, CalendarError::MayExceedCap { bound: 2_880, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("up to 2880 instances"), "{e}");
    }

    /// Each real export's quirks, noted with their lines (the expansion itself is compared
    /// with recurring-ical-events by `scripts/oracle.sh`).
    #[test]
    fn real_exports_are_read_with_every_quirk_noted() {
        let want: &[(&str, &[(usize, &str)])] = &[
            ("google", &[]),
            ("outlook", &[(41, "broken_line")]),
            ("exchange", &[]),
            (
                "confluence",
                &[
                    (10, "observance_date"),
                    (16, "observance_date"),
                    (28, "negative_count"),
                ],
            ),
            (
                "calendarlabs",
                &[
                    (12, "date_with_time_or_z"),
                    (12, "date_with_time_or_z"),
                    (12, "date_with_time_or_z"),
                ],
            ),
            (
                "booking",
                &[
                    (10, "dtend_before_dtstart"),
                    (11, "empty_rrule"),
                    (19, "rrule_escaped"),
                    (27, "misspelt_rule_part"),
                    (32, "after_end_vcalendar"),
                ],
            ),
            (
                "mailclient",
                &[
                    (23, "older_revision"),
                    (41, "older_revision"),
                    (60, "after_end_vcalendar"),
                ],
            ),
        ];
        for (name, notes) in want {
            let text = FIXTURES.iter().find(|(n, _)| n == name).unwrap().1;
            let cal = parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let got: Vec<(usize, &str)> =
                cal.leniencies().iter().map(|l| (l.line, l.kind)).collect();
            assert_eq!(&got, notes, "{name}");
            for l in cal.leniencies() {
                assert!(l.to_string().starts_with(&format!("line {}: ", l.line)));
            }
        }
    }

    #[test]
    fn real_exports_quirks_change_what_is_published() {
        let fb = |name: &str, a: &str, b: &str| {
            let text = FIXTURES.iter().find(|(n, _)| *n == name).unwrap().1;
            let minute = |s: &str| {
                let ts = format!("{}:00Z", s.replace(' ', "T")).parse().unwrap();
                crate::protocol::time::Minutes1601::from_timestamp(ts)
            };
            let w = Interval::new(minute(a), minute(b)).unwrap();
            let fb = parse(text)
                .unwrap()
                .expand(w, &ExpandOptions::default())
                .unwrap();
            [&fb.tentative, &fb.busy, &fb.oof].map(|s| s.len())
        };
        // (fixture, window from, to (UTC), [tentative, busy, oof] intervals)
        // One row a line: rustfmt would spread the longer ones over six.
        #[rustfmt::skip]
        let cases = [
            // Google's own Europe/lisbon zone is CET: the 09:30 stand-up is 08:30Z, not 09:30Z.
            ("google", "2026-03-02 08:30", "2026-03-02 09:00", [0, 1, 0]),
            ("google", "2026-03-02 09:00", "2026-03-02 10:00", [0, 0, 0]),
            // Exchange's THISANDFUTURE: from Mar 19 the maintenance is 10:00-11:30, out of office.
            ("exchange", "2026-03-23 07:00", "2026-03-23 08:00", [0, 0, 0]),
            ("exchange", "2026-03-23 09:00", "2026-03-23 10:30", [0, 0, 1]),
            // The booking system's UNTL ends the (tentative) fume hood on Mar 16; the escaped
            // centrifuge rule keeps its COUNT=8 (5 of them after Mar 17).
            ("booking", "2026-03-17 00:00", "2026-04-30 00:00", [0, 5, 0]),
            ("booking", "2026-03-12 00:00", "2026-03-17 00:00", [5, 1, 0]),
            // The mail client's SEQUENCE=2 revision only.
            ("mailclient", "2026-03-10 00:00", "2026-03-12 00:00", [0, 0, 0]),
            ("mailclient", "2026-03-12 18:00", "2026-03-12 19:30", [0, 1, 0]),
        ];
        for (name, a, b, want) in cases {
            assert_eq!(fb(name, a, b), want, "{name} {a}..{b}");
        }
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

        /// Mutated fixtures never panic, and the notes of those that parse name real lines.
        #[test]
        fn mutated_fixtures_never_panic_and_notes_name_real_lines(
            which in 0usize..FIXTURES.len(),
            ops in proptest::collection::vec((any::<u8>(), any::<usize>()), 0..6)
        ) {
            let text = mutate(FIXTURES[which].1, &ops);
            if let Ok(cal) = parse(&text) {
                let _ = cal.expand(window(), &ExpandOptions::default());
                let lines = text.split('\n').count();
                for l in cal.leniencies() {
                    prop_assert!(l.line >= 1 && l.line <= lines, "{l} in {lines} lines");
                    let prefix = format!("line {}: ", l.line);
                    prop_assert!(l.to_string().starts_with(&prefix), "{}", l);
                }
            }
        }

        #[test]
        fn an_older_revision_changes_nothing(
            which in 0usize..FIXTURES.len(),
            day in 0i64..60,
            hour in 0i64..24,
        ) {
            // Append, for every UID of the file that has a master, a SEQUENCE=-1 master at
            // another time: the highest SEQUENCE (0 or more, as written) wins, so nothing
            // changes. (A UID with only overrides has no master to outrank the new one.)
            let text = FIXTURES[which].1;
            let unfolded: Vec<String> = parse::unfold(text).into_iter().map(|(_, l)| l).collect();
            let unfolded = unfolded.join("\n");
            let uids: std::collections::BTreeSet<&str> = unfolded
                .split("BEGIN:VEVENT")
                .skip(1)
                .filter(|block| !block.contains("RECURRENCE-ID"))
                .filter_map(|block| block.lines().find_map(|l| l.strip_prefix("UID:")))
                .map(str::trim)
                .collect();
            let start = crate::protocol::time::Minutes1601::from_civil(2026, 3, 1)
                .plus_minutes(day * 1440 + hour * 60);
            let stamp = crate::protocol::time::format_rfc3339(start.to_timestamp())
                .replace(['-', ':'], "");
            let mut extra = String::new();
            for uid in &uids {
                extra.push_str(&format!(
                    "BEGIN:VEVENT\r\nUID:{uid}\r\nSEQUENCE:-1\r\nDTSTART:{stamp}\r\nDURATION:PT3H\r\nEND:VEVENT\r\n"
                ));
            }
            let Some(at) = text.rfind("END:VCALENDAR") else { return Ok(()) };
            let edited = format!("{}{extra}{}", &text[..at], &text[at..]);
            let before = parse(text).unwrap().expand(window(), &ExpandOptions::default()).unwrap();
            let after = parse(&edited).unwrap().expand(window(), &ExpandOptions::default()).unwrap();
            prop_assert_eq!(before, after);
        }

        #[test]
        fn a_thisandfuture_override_that_moves_nothing_changes_nothing(
            day in 0i64..40,
            len in 1i64..180,
            at in 0usize..10,
        ) {
            // A daily series; a THISANDFUTURE override of its at-th instance at the same
            // time and length as the master: the same free/busy as without it.
            let start = crate::protocol::time::Minutes1601::from_civil(2026, 2, 20).plus_minutes(day * 1440 + 9 * 60);
            let fmt = |m: crate::protocol::time::Minutes1601| crate::protocol::time::format_rfc3339(m.to_timestamp()).replace(['-', ':'], "");
            let rid = start.plus_minutes(at as i64 * 1440);
            let master = format!("BEGIN:VEVENT\nUID:d\nDTSTART:{}\nDURATION:PT{len}M\nRRULE:FREQ=DAILY;COUNT=30\nEND:VEVENT\n", fmt(start));
            let over = format!("BEGIN:VEVENT\nUID:d\nRECURRENCE-ID;RANGE=THISANDFUTURE:{}\nDTSTART:{}\nDURATION:PT{len}M\nEND:VEVENT\n", fmt(rid), fmt(rid));
            let plain = parse(&vcal(&master)).unwrap().expand(window(), &ExpandOptions::default()).unwrap();
            let with = parse(&vcal(&format!("{master}{over}"))).unwrap().expand(window(), &ExpandOptions::default()).unwrap();
            prop_assert_eq!(plain, with);
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
