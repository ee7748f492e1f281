//! Time as the free/busy store counts it.
//!
//! Owns the three clocks of the wire format: [`Minutes1601`] (PidTagFreeBusyPublishStart/End
//! and every free/busy block, minutes since 1601-01-01 00:00 UTC), [`FileTime`]
//! (PidTagFreeBusyRangeTimestamp, 100 ns ticks since 1601) and [`MonthKey`] (`year*16+month`,
//! the months arrays). Also the parsing of times typed by people and sent by clients. "Now"
//! is never read here: callers pass it in (`app::Clock`).
//!
//! Calendar arithmetic here is plain integer maths on the proleptic Gregorian calendar in
//! UTC, because it runs per block on the query path; nothing here knows about time zones.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Seconds from 1601-01-01 to 1970-01-01.
const UNIX_EPOCH_SECONDS_1601: i64 = 11_644_473_600;
const MINUTES_PER_DAY: i64 = 1440;

/// Minutes since 1601-01-01 00:00 UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Minutes1601(pub i64);

impl Minutes1601 {
    /// `minutes = (unix_seconds + 11_644_473_600) / 60`, rounded towards the past.
    pub fn from_unix_seconds(secs: i64) -> Self {
        Minutes1601((secs + UNIX_EPOCH_SECONDS_1601).div_euclid(60))
    }

    pub fn to_unix_seconds(self) -> i64 {
        self.0 * 60 - UNIX_EPOCH_SECONDS_1601
    }

    pub fn from_timestamp(ts: Timestamp) -> Self {
        Self::from_unix_seconds(ts.as_second())
    }

    pub fn to_timestamp(self) -> Timestamp {
        // Minutes1601 values come from i32 properties or from parsed timestamps, both well
        // inside jiff's range; clamp instead of panicking on anything absurd.
        Timestamp::from_second(self.to_unix_seconds()).unwrap_or(if self.0 < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        })
    }

    /// Midnight UTC of the civil date.
    pub fn from_civil(year: i32, month: u8, day: u8) -> Self {
        Minutes1601(
            days_from_civil(year, month, day) * MINUTES_PER_DAY + UNIX_EPOCH_SECONDS_1601 / 60,
        )
    }

    /// (year, month, day) of the UTC date this minute falls on.
    pub fn civil_date(self) -> (i32, u8, u8) {
        let unix_minutes = self.0 - UNIX_EPOCH_SECONDS_1601 / 60;
        civil_from_days(unix_minutes.div_euclid(MINUTES_PER_DAY))
    }

    /// Day of week, 0 = Sunday.
    pub fn weekday(self) -> u8 {
        let unix_days = (self.0 - UNIX_EPOCH_SECONDS_1601 / 60).div_euclid(MINUTES_PER_DAY);
        // 1970-01-01 was a Thursday.
        (unix_days + 4).rem_euclid(7) as u8
    }

    /// Midnight UTC of the day this minute falls on.
    pub fn floor_day(self) -> Self {
        let (y, m, d) = self.civil_date();
        Self::from_civil(y, m, d)
    }

    pub fn plus_minutes(self, m: i64) -> Self {
        Minutes1601(self.0 + m)
    }
}

impl fmt::Display for Minutes1601 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_rfc3339(self.to_timestamp()))
    }
}

/// 100-nanosecond ticks since 1601-01-01 UTC (Windows FILETIME, MAPI PT_SYSTIME).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FileTime(pub i64);

impl FileTime {
    pub fn from_timestamp(ts: Timestamp) -> Self {
        let ticks = (ts.as_second() as i128 + UNIX_EPOCH_SECONDS_1601 as i128) * 10_000_000
            + ts.subsec_nanosecond() as i128 / 100;
        FileTime(ticks.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
    }

    pub fn to_timestamp(self) -> Timestamp {
        let secs = self.0.div_euclid(10_000_000) - UNIX_EPOCH_SECONDS_1601;
        let nanos = (self.0.rem_euclid(10_000_000) * 100) as i32;
        Timestamp::new(secs, nanos).unwrap_or(Timestamp::MAX)
    }
}

/// A month as the months arrays write it: `year * 16 + month`, January = 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MonthKey {
    year: i32,
    month: u8,
}

impl MonthKey {
    pub fn new(year: i32, month: u8) -> Option<Self> {
        (1..=12)
            .contains(&month)
            .then_some(MonthKey { year, month })
    }

    /// Decode a months-array value; `None` when the month part is not 1..=12 or the year
    /// is before 1601 (no valid free/busy can be there).
    pub fn from_wire(v: i32) -> Option<Self> {
        let year = v.div_euclid(16);
        let month = v.rem_euclid(16) as u8;
        if year < 1601 {
            return None;
        }
        Self::new(year, month)
    }

    pub fn to_wire(self) -> i32 {
        self.year * 16 + self.month as i32
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn containing(t: Minutes1601) -> Self {
        let (year, month, _) = t.civil_date();
        MonthKey { year, month }
    }

    pub fn start(self) -> Minutes1601 {
        Minutes1601::from_civil(self.year, self.month, 1)
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            MonthKey {
                year: self.year + 1,
                month: 1,
            }
        } else {
            MonthKey {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn days(self) -> u8 {
        days_in_month(self.year, self.month)
    }

    /// The month's length in minutes: the `end` of a block that runs to the month's end.
    pub fn len_minutes(self) -> i64 {
        self.days() as i64 * MINUTES_PER_DAY
    }

    /// The month `n` months later.
    pub fn plus_months(self, n: i32) -> Self {
        let idx = self.year as i64 * 12 + (self.month as i64 - 1) + n as i64;
        MonthKey {
            year: idx.div_euclid(12) as i32,
            month: (idx.rem_euclid(12) + 1) as u8,
        }
    }
}

impl fmt::Display for MonthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

pub fn is_leap_year(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap_year(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = y as i64 - if m <= 2 { 1 } else { 0 };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = (yoe + era * 400 + if m <= 2 { 1 } else { 0 }) as i32;
    (y, m, d)
}

/// Why a time string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a time: {reason} (write it like 2008-08-04T12:00:00Z)")]
pub struct TimeError {
    pub input: String,
    pub reason: String,
}

/// Parse a time as clients and people write it: RFC 3339 / ISO 8601 with `Z` or an offset,
/// or without a zone (taken as UTC, as the CAS fallback query does). Fractional seconds are
/// accepted and kept.
pub fn parse_time(input: &str) -> Result<Timestamp, TimeError> {
    let s = input.trim();
    let err = |reason: String| TimeError {
        input: input.to_string(),
        reason,
    };
    if s.is_empty() {
        return Err(err("it is empty".into()));
    }
    match s.parse::<Timestamp>() {
        Ok(ts) => Ok(ts),
        Err(with_zone) => match s.parse::<jiff::civil::DateTime>() {
            // No offset: the query format says UTC.
            Ok(dt) => dt
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map(|z| z.timestamp())
                .map_err(|e| err(e.to_string())),
            Err(_) => Err(err(with_zone.to_string())),
        },
    }
}

/// `2008-08-04T12:00:00Z`, with fractional seconds only when there are any.
pub fn format_rfc3339(ts: Timestamp) -> String {
    if ts.subsec_nanosecond() == 0 {
        ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unix_epoch_in_minutes_1601() {
        assert_eq!(Minutes1601::from_unix_seconds(0).0, 194_074_560);
        assert_eq!(Minutes1601::from_civil(1601, 1, 1).0, 0);
        assert_eq!(Minutes1601::from_civil(1970, 1, 1).0, 194_074_560);
    }

    #[test]
    fn month_keys_match_protocol_examples() {
        assert_eq!(MonthKey::new(2007, 12).unwrap().to_wire(), 32124);
        assert_eq!(MonthKey::new(2008, 1).unwrap().to_wire(), 32129);
        assert_eq!(MonthKey::new(2008, 2).unwrap().to_wire(), 32130);
        assert_eq!(MonthKey::from_wire(32124), MonthKey::new(2007, 12));
        assert_eq!(MonthKey::from_wire(32128), None, "month 0 is not a month");
        assert_eq!(
            MonthKey::from_wire(2008 * 16 + 13),
            None,
            "month 13 is not a month"
        );
        assert_eq!(MonthKey::new(2007, 12).unwrap().next().to_wire(), 32129);
        assert_eq!(MonthKey::new(2008, 2).unwrap().days(), 29);
        assert_eq!(MonthKey::new(2008, 1).unwrap().len_minutes(), 44640);
    }

    #[test]
    fn parse_time_forms() {
        let z = parse_time("2008-08-04T12:00:00Z").unwrap();
        assert_eq!(parse_time("2008-08-04T14:00:00+02:00").unwrap(), z);
        assert_eq!(parse_time("2008-08-04T12:00:00").unwrap(), z);
        assert_eq!(format_rfc3339(z), "2008-08-04T12:00:00Z");
        let e = parse_time("yesterday").unwrap_err();
        assert!(e.to_string().contains("'yesterday'"), "{e}");
        assert!(parse_time("").is_err());
    }

    #[test]
    fn weekday_and_floor() {
        // 2008-02-02 was a Saturday.
        let t = Minutes1601::from_civil(2008, 2, 2).plus_minutes(20 * 60);
        assert_eq!(t.weekday(), 6);
        assert_eq!(t.floor_day(), Minutes1601::from_civil(2008, 2, 2));
    }

    #[test]
    fn filetime_round_trip() {
        let ts = parse_time("2007-12-30T05:19:07.423Z").unwrap();
        assert_eq!(FileTime::from_timestamp(ts).to_timestamp(), ts);
        assert_eq!(
            FileTime::from_timestamp(Timestamp::UNIX_EPOCH).0,
            116_444_736_000_000_000
        );
    }

    proptest! {
        #[test]
        fn civil_round_trip(days in -200_000i64..200_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }

        #[test]
        fn month_key_round_trip(y in 1601i32..3000, m in 1u8..=12, n in -500i32..500) {
            let k = MonthKey::new(y, m).unwrap();
            prop_assert_eq!(MonthKey::from_wire(k.to_wire()), Some(k));
            prop_assert_eq!(MonthKey::containing(k.start()), k);
            prop_assert_eq!(k.plus_months(n).plus_months(-n), k);
        }
    }
}
