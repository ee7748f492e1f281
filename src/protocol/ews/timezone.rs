//! The availability request's time zone (`t:TimeZone`, the "serializable time zone" of
//! [MS-OXWAVLS]): a bias and, optionally, the yearly standard and daylight transitions, as
//! Windows' TIME_ZONE_INFORMATION holds them. And the few zone definitions
//! `GetServerTimeZones` answers with.
//!
//! Biases follow Windows: UTC = local time + bias (minutes), so Paris is `-60` in winter
//! and `-60 + -60` in summer. A transition happens on the `day_order`th `weekday` of
//! `month` (5: the last), at `time` minutes after local midnight, in the local time that
//! was in force before it.

use jiff::Timestamp;
use jiff::civil::DateTime;

use crate::protocol::time::{days_from_civil, days_in_month};

/// One yearly change (`t:StandardTime` or `t:DaylightTime`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// Added to the zone's bias while this period is in force.
    pub bias: i32,
    /// Minutes after local midnight.
    pub time: i32,
    /// 1-4, or 5 for the last such weekday of the month.
    pub day_order: u8,
    /// 1-12; 0 means "no transition" (Windows' convention for zones without DST).
    pub month: u8,
    /// 0 = Sunday … 6 = Saturday.
    pub weekday: u8,
}

/// The days of the week as EWS spells them, Sunday (0) first.
pub const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// `t:TimeZone` of a `GetUserAvailabilityRequest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SerializableTimeZone {
    pub bias: i32,
    pub standard: Option<Transition>,
    pub daylight: Option<Transition>,
}

impl SerializableTimeZone {
    pub const UTC: SerializableTimeZone = SerializableTimeZone {
        bias: 0,
        standard: None,
        daylight: None,
    };

    /// Is `local` (a wall-clock time in this zone) in daylight time?
    fn is_daylight(&self, local: DateTime) -> bool {
        let (Some(std), Some(dst)) = (self.standard, self.daylight) else {
            return false;
        };
        if std.month == 0 || dst.month == 0 || std.bias == dst.bias {
            return false;
        }
        let year = local.year() as i32;
        let t = local_minutes(local);
        let dst_start = transition_minutes(year, &dst);
        let std_start = transition_minutes(year, &std);
        if dst_start < std_start {
            // Northern hemisphere: daylight from spring to autumn.
            dst_start <= t && t < std_start
        } else {
            // Southern: daylight across the new year.
            !(std_start <= t && t < dst_start)
        }
    }

    /// The instant a wall-clock time in this zone names.
    pub fn to_utc(&self, local: DateTime) -> Timestamp {
        let extra = if self.is_daylight(local) {
            self.daylight.map_or(0, |d| d.bias)
        } else {
            self.standard.map_or(0, |s| s.bias)
        };
        let minutes = local_minutes(local) + (self.bias + extra) as i64;
        let secs = minutes * 60 + local.second() as i64;
        Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// Minutes since 1970-01-01 00:00 of a wall-clock time, as if it were UTC.
fn local_minutes(dt: DateTime) -> i64 {
    days_from_civil(dt.year() as i32, dt.month() as u8, dt.day() as u8) * 1440
        + dt.hour() as i64 * 60
        + dt.minute() as i64
}

/// The wall-clock minute (as [`local_minutes`]) a transition happens at in `year`.
fn transition_minutes(year: i32, t: &Transition) -> i64 {
    let month = t.month.clamp(1, 12);
    let first = days_from_civil(year, month, 1);
    // 1970-01-01 was a Thursday (4).
    let first_weekday = (first + 4).rem_euclid(7) as u8;
    let offset = (7 + t.weekday as i64 - first_weekday as i64) % 7;
    let mut day = 1 + offset + 7 * (t.day_order.clamp(1, 5) as i64 - 1);
    let len = days_in_month(year, month) as i64;
    while day > len {
        day -= 7;
    }
    (first + day - 1) * 1440 + t.time as i64
}

/// One zone `GetServerTimeZones` knows: the Windows id and display name, the standard
/// bias, and the daylight rule (daylight bias, start, end) for zones that have one.
pub struct ZoneDefinition {
    pub id: &'static str,
    pub name: &'static str,
    pub bias: i32,
    /// (extra bias in daylight time, daylight start, standard start).
    pub daylight: Option<(i32, Rule, Rule)>,
}

/// (month, day order (5 = last), weekday, minutes after midnight).
pub type Rule = (u8, u8, u8, i32);

const EU: Option<(i32, Rule, Rule)> = Some((-60, (3, 5, 0, 120), (10, 5, 0, 180)));
const US: Option<(i32, Rule, Rule)> = Some((-60, (3, 2, 0, 120), (11, 1, 0, 120)));

/// The zones answered, with today's rules (no historical periods). exchangelib asks for the
/// zone of its own `start` time; these cover UTC and the zones a lab is likely to use.
pub const ZONES: &[ZoneDefinition] = &[
    ZoneDefinition {
        id: "UTC",
        name: "(UTC) Coordinated Universal Time",
        bias: 0,
        daylight: None,
    },
    ZoneDefinition {
        id: "GMT Standard Time",
        name: "(UTC+00:00) Dublin, Edinburgh, Lisbon, London",
        bias: 0,
        daylight: Some((-60, (3, 5, 0, 60), (10, 5, 0, 120))),
    },
    ZoneDefinition {
        id: "W. Europe Standard Time",
        name: "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
        bias: -60,
        daylight: EU,
    },
    ZoneDefinition {
        id: "Romance Standard Time",
        name: "(UTC+01:00) Brussels, Copenhagen, Madrid, Paris",
        bias: -60,
        daylight: EU,
    },
    ZoneDefinition {
        id: "Central Europe Standard Time",
        name: "(UTC+01:00) Belgrade, Bratislava, Budapest, Ljubljana, Prague",
        bias: -60,
        daylight: EU,
    },
    ZoneDefinition {
        id: "Eastern Standard Time",
        name: "(UTC-05:00) Eastern Time (US & Canada)",
        bias: 300,
        daylight: US,
    },
    ZoneDefinition {
        id: "Central Standard Time",
        name: "(UTC-06:00) Central Time (US & Canada)",
        bias: 360,
        daylight: US,
    },
    ZoneDefinition {
        id: "Mountain Standard Time",
        name: "(UTC-07:00) Mountain Time (US & Canada)",
        bias: 420,
        daylight: US,
    },
    ZoneDefinition {
        id: "Pacific Standard Time",
        name: "(UTC-08:00) Pacific Time (US & Canada)",
        bias: 480,
        daylight: US,
    },
    ZoneDefinition {
        id: "India Standard Time",
        name: "(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi",
        bias: -330,
        daylight: None,
    },
    ZoneDefinition {
        id: "Tokyo Standard Time",
        name: "(UTC+09:00) Osaka, Sapporo, Tokyo",
        bias: -540,
        daylight: None,
    },
];

/// A zone by its Windows id, any case.
pub fn zone(id: &str) -> Option<&'static ZoneDefinition> {
    ZONES.iter().find(|z| z.id.eq_ignore_ascii_case(id.trim()))
}

impl ZoneDefinition {
    /// The same zone as a request would carry it.
    pub fn serializable(&self) -> SerializableTimeZone {
        let rule = |bias, (month, day_order, weekday, time): Rule| Transition {
            bias,
            time,
            day_order,
            month,
            weekday,
        };
        match self.daylight {
            None => SerializableTimeZone {
                bias: self.bias,
                standard: None,
                daylight: None,
            },
            Some((extra, start, end)) => SerializableTimeZone {
                bias: self.bias,
                standard: Some(rule(0, end)),
                daylight: Some(rule(extra, start)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each `(local, utc)`: the wall-clock time `local` in `tz` is the instant `utc`.
    fn converts(tz: &SerializableTimeZone, cases: &[(&str, &str)]) {
        for (local, utc) in cases {
            let local: DateTime = local.parse().unwrap();
            assert_eq!(tz.to_utc(local).to_string(), *utc, "{local}");
        }
    }

    #[test]
    fn paris_is_one_hour_ahead_in_winter_and_two_in_summer() {
        let paris = zone("Romance Standard Time").unwrap().serializable();
        // 2026's changes: last Sunday of March (the 29th) and of October (the 25th).
        converts(
            &paris,
            &[
                ("2026-01-15T09:00:00", "2026-01-15T08:00:00Z"),
                ("2026-07-15T09:00:00", "2026-07-15T07:00:00Z"),
                ("2026-03-29T01:59:00", "2026-03-29T00:59:00Z"),
                ("2026-03-29T03:00:00", "2026-03-29T01:00:00Z"),
                ("2026-10-25T03:00:00", "2026-10-25T02:00:00Z"),
            ],
        );
    }

    #[test]
    fn pacific_changes_on_the_second_sunday_of_march() {
        let pst = zone("pacific standard time").unwrap().serializable();
        // 2026-03-08 is the second Sunday.
        converts(
            &pst,
            &[
                ("2026-03-07T12:00:00", "2026-03-07T20:00:00Z"),
                ("2026-03-09T12:00:00", "2026-03-09T19:00:00Z"),
            ],
        );
    }

    /// A yearly change on the `day_order`th `weekday` (0 = Sunday) of `month` at `time`
    /// minutes, adding `bias`.
    fn change(bias: i32, time: i32, day_order: u8, month: u8, weekday: u8) -> Option<Transition> {
        Some(Transition {
            bias,
            time,
            day_order,
            month,
            weekday,
        })
    }

    #[test]
    fn southern_daylight_spans_the_new_year() {
        // Sydney-like: bias -600, daylight from the first Sunday of October to the first
        // Sunday of April.
        let tz = SerializableTimeZone {
            bias: -600,
            standard: change(0, 180, 1, 4, 0),
            daylight: change(-60, 120, 1, 10, 0),
        };
        converts(
            &tz,
            &[
                ("2026-01-10T11:00:00", "2026-01-10T00:00:00Z"),
                ("2026-06-10T10:00:00", "2026-06-10T00:00:00Z"),
            ],
        );
    }

    #[test]
    fn zero_daylight_bias_is_no_daylight() {
        // exchangelib's stand-in for a zone without DST: transitions with bias 0.
        let tz = SerializableTimeZone {
            bias: 0,
            standard: change(0, 0, 1, 1, 1),
            daylight: change(0, 0, 5, 12, 6),
        };
        converts(&tz, &[("2026-12-31T12:00:00", "2026-12-31T12:00:00Z")]);
    }
}
