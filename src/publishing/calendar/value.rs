//! iCalendar value types (RFC 5545 §3.3): DATE, DATE-TIME, DURATION, PERIOD and escaped
//! TEXT, parsed into small integer types.
//!
//! Owns [`LocalDt`] (a wall-clock date-time with no zone, the unit recurrence rules work
//! in), [`When`] (a DTSTART-like value: all-day date, floating, UTC or zoned) and
//! [`Duration`] (nominal days kept apart from exact seconds, because RFC 5545 says a day in
//! a DURATION is a calendar day, not 86 400 seconds). Knows nothing about time zone rules:
//! a zoned value only carries the id of a zone that `tz` resolves later.

use crate::protocol::time::{civil_from_days, days_from_civil, days_in_month};

pub(crate) const SECS_PER_DAY: i64 = 86_400;

/// A wall-clock date-time: days since 1970-01-01 and the second of that day.
/// Ordered chronologically, which is what recurrence sets need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct LocalDt {
    pub day: i64,
    pub sec: i64,
}

impl LocalDt {
    pub fn new(day: i64, sec: i64) -> Self {
        LocalDt {
            day: day + sec.div_euclid(SECS_PER_DAY),
            sec: sec.rem_euclid(SECS_PER_DAY),
        }
    }

    pub fn midnight(day: i64) -> Self {
        LocalDt { day, sec: 0 }
    }

    /// Seconds since 1970-01-01 00:00 of the same wall clock; for a UTC value this is the
    /// Unix time.
    pub fn as_secs(self) -> i64 {
        self.day * SECS_PER_DAY + self.sec
    }

    pub fn from_secs(secs: i64) -> Self {
        LocalDt::new(0, secs)
    }

    pub fn plus_days(self, days: i64) -> Self {
        LocalDt {
            day: self.day + days,
            sec: self.sec,
        }
    }

    pub fn ymd(self) -> (i32, u8, u8) {
        civil_from_days(self.day)
    }

    pub fn hms(self) -> (u8, u8, u8) {
        (
            (self.sec / 3600) as u8,
            (self.sec / 60 % 60) as u8,
            (self.sec % 60) as u8,
        )
    }
}

/// A zone a DATE-TIME refers to through its TZID, as an index into the calendar's table.
pub(crate) type ZoneId = usize;

/// A date or date-time value as DTSTART, DTEND, RDATE, EXDATE and RECURRENCE-ID carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum When {
    /// `VALUE=DATE`: an all-day value, placed in the default zone when expanded.
    Date(i64),
    /// No `Z`, no TZID: wall clock in the default zone.
    Floating(LocalDt),
    /// Ends in `Z`; the wall clock is UTC.
    Utc(LocalDt),
    /// Carries a TZID.
    Zoned(LocalDt, ZoneId),
}

impl When {
    pub fn is_date(self) -> bool {
        matches!(self, When::Date(_))
    }

    /// The wall clock of the value (midnight for a date).
    pub fn local(self) -> LocalDt {
        match self {
            When::Date(d) => LocalDt::midnight(d),
            When::Floating(l) | When::Utc(l) | When::Zoned(l, _) => l,
        }
    }
}

/// An RFC 5545 DURATION: weeks and days are nominal (a day is a calendar day, 23 or 25
/// hours across a DST change), hours, minutes and seconds are exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Duration {
    pub days: i64,
    pub secs: i64,
}

/// `YYYYMMDD`.
pub(crate) fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year = num(&b[0..4]) as i32;
    let month = num(&b[4..6]) as u8;
    let day = num(&b[6..8]) as u8;
    // Year 0 and anything past 9999 cannot be converted by the time zone library.
    if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// `YYYYMMDDTHHMMSS` with an optional `Z`; returns the wall clock and whether it was UTC.
/// A leap second (`60`) is read as `59`: free/busy has minute resolution.
pub(crate) fn parse_date_time(s: &str) -> Option<(LocalDt, bool)> {
    let (body, utc) = match s.strip_suffix(['Z', 'z']) {
        Some(b) => (b, true),
        None => (s, false),
    };
    let (date, time) = body.split_once(['T', 't'])?;
    let day = parse_date(date)?;
    let t = time.as_bytes();
    if t.len() != 6 || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let (h, m, sec) = (num(&t[0..2]), num(&t[2..4]), num(&t[4..6]).min(59));
    if h > 23 || m > 59 {
        return None;
    }
    Some((
        LocalDt {
            day,
            sec: h * 3600 + m * 60 + sec,
        },
        utc,
    ))
}

fn num(digits: &[u8]) -> i64 {
    digits
        .iter()
        .fold(0, |acc, d| acc * 10 + i64::from(d - b'0'))
}

/// `[+-]P[nW][nD][T[nH][nM][nS]]`. RFC 5545 forbids mixing weeks with other parts; we
/// accept it (Outlook never writes it, some scripts do) because the meaning is obvious.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let (neg, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let rest = rest.strip_prefix(['P', 'p'])?;
    let mut d = Duration::default();
    let mut in_time = false;
    let mut digits = String::new();
    let mut any = false;
    for c in rest.chars() {
        match c.to_ascii_uppercase() {
            '0'..='9' => digits.push(c),
            'T' if !in_time && digits.is_empty() => in_time = true,
            unit => {
                // Cap the number so that arithmetic later cannot overflow: 10^9 days is
                // far beyond any calendar.
                if digits.is_empty() || digits.len() > 9 {
                    return None;
                }
                let n: i64 = digits.parse().ok()?;
                digits.clear();
                any = true;
                match (unit, in_time) {
                    ('W', false) => d.days += n * 7,
                    ('D', false) => d.days += n,
                    ('H', true) => d.secs += n * 3600,
                    ('M', true) => d.secs += n * 60,
                    ('S', true) => d.secs += n,
                    _ => return None,
                }
            }
        }
    }
    if !any || !digits.is_empty() {
        return None;
    }
    if neg {
        d.days = -d.days;
        d.secs = -d.secs;
    }
    Some(d)
}

/// Undo TEXT escaping (`\\`, `\;`, `\,`, `\n`/`\N`). Unknown escapes keep the character.
pub(crate) fn unescape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("19700101"), Some(0));
        assert_eq!(parse_date("19700102"), Some(1));
        assert_eq!(parse_date("20240229"), Some(19_782));
        assert_eq!(parse_date("20230229"), None, "not a leap year");
        assert_eq!(parse_date("20231301"), None);
        assert_eq!(parse_date("2023011"), None);
        assert_eq!(parse_date("00000101"), None);
        assert_eq!(parse_date("2023-1-01"), None);
    }

    #[test]
    fn date_times() {
        let (l, utc) = parse_date_time("19700101T010203Z").unwrap();
        assert!(utc);
        assert_eq!(l.as_secs(), 3723);
        let (l, utc) = parse_date_time("20260308T023000").unwrap();
        assert!(!utc);
        assert_eq!(l.hms(), (2, 30, 0));
        assert_eq!(l.ymd(), (2026, 3, 8));
        assert_eq!(parse_date_time("20260308T243000"), None);
        assert_eq!(parse_date_time("20260308"), None);
        assert_eq!(parse_date_time("20260308T0230"), None);
        // Leap second folds into :59.
        assert_eq!(parse_date_time("19700101T000060Z").unwrap().0.sec, 59);
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("PT1H30M"),
            Some(Duration {
                days: 0,
                secs: 5400
            })
        );
        assert_eq!(parse_duration("P1W"), Some(Duration { days: 7, secs: 0 }));
        assert_eq!(
            parse_duration("-P1DT2S"),
            Some(Duration { days: -1, secs: -2 })
        );
        assert_eq!(parse_duration("P"), None);
        assert_eq!(parse_duration("PT"), None);
        assert_eq!(parse_duration("P1H"), None, "hours need the T");
        assert_eq!(parse_duration("PT5"), None);
        assert_eq!(parse_duration("P99999999999D"), None);
    }

    #[test]
    fn local_dt_normalises() {
        assert_eq!(
            LocalDt::new(0, -1),
            LocalDt {
                day: -1,
                sec: 86_399
            }
        );
        assert_eq!(
            LocalDt::from_secs(86_400 * 3 + 5),
            LocalDt { day: 3, sec: 5 }
        );
    }

    #[test]
    fn text_escapes() {
        assert_eq!(unescape_text(r"a\, b\; c\\d\ne\N"), "a, b; c\\d\ne\n");
        assert_eq!(unescape_text("trailing\\"), "trailing\\");
    }
}
