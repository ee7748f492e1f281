//! Time zones of a calendar: what a TZID means and how a wall-clock time becomes an instant.
//!
//! Owns [`Zone`] (an IANA zone from jiff's bundled database, or a [`CustomZone`] computed
//! from a VTIMEZONE) and [`ZoneTable`] (the TZIDs one calendar uses, resolved once).
//!
//! A TZID is resolved in this order, first hit wins:
//! 1. an IANA name (`America/New_York`), also behind a vendor prefix such as
//!    `/mozilla.org/20050126_1/America/New_York` (leading path segments are dropped until
//!    what remains is an IANA name);
//! 2. a Windows name as Outlook writes it (`Pacific Standard Time`), via CLDR's table;
//! 3. a Windows display name (`(UTC-08:00) Pacific Time (US & Canada)`,
//!    `(GMT-08.00) Pacific Time (US & Canada); Tijuana`), via a table of display names;
//! 4. the calendar's own VTIMEZONE with that TZID, evaluated from its STANDARD/DAYLIGHT
//!    rules;
//! 5. for an unknown display name without VTIMEZONE, the fixed offset in its parentheses
//!    (no DST: the best that can be said about a zone we cannot name).
//!
//! Known names win over the file's VTIMEZONE because Outlook's VTIMEZONE only describes
//! the current rules (from 1601), while the IANA database also knows the past ones.
//!
//! Local → UTC follows RFC 5545 §3.3.5: a time in a DST gap is read with the offset from
//! before the gap (so it moves forward by the gap's length), an ambiguous time in an
//! overlap takes the first occurrence. jiff's "compatible" disambiguation is exactly that.

use std::collections::HashMap;

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

use super::CalendarError;
use super::parse::{Component, shorten};
use super::rrule::{Bounds, Instances, parse_rule};
use super::value::{LocalDt, When, ZoneId, parse_date_time, unescape_text};
use super::windows_zones::{display_to_iana, windows_to_iana};
use crate::protocol::time::days_from_civil;

/// VTIMEZONE rules are evaluated up to this year; later instants keep the last offset.
const CUSTOM_ZONE_LAST_YEAR: i32 = 2200;

#[derive(Clone, Debug)]
pub(crate) enum Zone {
    Tz(TimeZone),
    Custom(CustomZone),
}

impl Zone {
    /// Unix seconds of a wall-clock time in this zone; `None` only outside jiff's range.
    pub fn to_utc(&self, local: LocalDt) -> Option<i64> {
        match self {
            Zone::Tz(tz) => {
                let (y, mo, d) = local.ymd();
                let (h, mi, s) = local.hms();
                let dt = DateTime::new(
                    i16::try_from(y).ok()?,
                    mo as i8,
                    d as i8,
                    h as i8,
                    mi as i8,
                    s as i8,
                    0,
                )
                .ok()?;
                tz.to_timestamp(dt).ok().map(|ts| ts.as_second())
            }
            Zone::Custom(c) => Some(c.to_utc(local)),
        }
    }
}

/// A zone defined only by a VTIMEZONE: its transitions, precomputed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CustomZone {
    /// (Unix second of the change, offset in seconds from then on), sorted.
    transitions: Vec<(i64, i32)>,
    /// Offset before the first transition.
    initial: i32,
    /// Every offset the zone uses, for reversing local times.
    offsets: Vec<i32>,
}

impl CustomZone {
    pub fn from_component(c: &Component) -> Result<CustomZone, CalendarError> {
        let mut transitions = Vec::new();
        let mut first: Option<(i64, i32)> = None;
        for obs in c
            .children
            .iter()
            .filter(|o| o.name == "STANDARD" || o.name == "DAYLIGHT")
        {
            let from = offset_prop(obs, "TZOFFSETFROM")?;
            let to = offset_prop(obs, "TZOFFSETTO")?;
            for onset in observance_onsets(obs, from)? {
                let utc = onset.as_secs() - i64::from(from);
                transitions.push((utc, to));
                if first.is_none_or(|(t, _)| utc < t) {
                    first = Some((utc, from));
                }
            }
        }
        let Some((_, initial)) = first else {
            return Err(CalendarError::Syntax {
                line: c.line,
                reason: "the VTIMEZONE has no STANDARD or DAYLIGHT part with a DTSTART".into(),
            });
        };
        transitions.sort_unstable();
        let mut offsets: Vec<i32> = transitions.iter().map(|t| t.1).collect();
        offsets.push(initial);
        offsets.sort_unstable();
        offsets.dedup();
        Ok(CustomZone {
            transitions,
            initial,
            offsets,
        })
    }

    fn offset_at(&self, utc: i64) -> i32 {
        match self.transitions.partition_point(|t| t.0 <= utc) {
            0 => self.initial,
            i => self.transitions[i - 1].1,
        }
    }

    /// RFC 5545 §3.3.5: of the offsets that fit, the earliest instant (first occurrence);
    /// if none fits (a gap), the offset in force just before the gap.
    fn to_utc(&self, local: LocalDt) -> i64 {
        let l = local.as_secs();
        let fitting = self
            .offsets
            .iter()
            .map(|&o| l - i64::from(o))
            .filter(|&u| i64::from(self.offset_at(u)) == l - u)
            .min();
        fitting.unwrap_or_else(|| {
            // The earliest candidate lies before the gap's transition.
            let earliest = self
                .offsets
                .iter()
                .map(|&o| l - i64::from(o))
                .min()
                .unwrap_or(l);
            l - i64::from(self.offset_at(earliest))
        })
    }
}

/// The local onsets of one STANDARD/DAYLIGHT part: DTSTART, its RRULE, its RDATEs.
fn observance_onsets(obs: &Component, from: i32) -> Result<Vec<LocalDt>, CalendarError> {
    let dtstart = obs.prop("DTSTART").ok_or(CalendarError::Syntax {
        line: obs.line,
        reason: format!("the VTIMEZONE's {} part has no DTSTART", obs.name),
    })?;
    let start = parse_date_time(dtstart.value.trim())
        .map(|(l, _)| l)
        .ok_or_else(|| bad_value(dtstart.line, "DTSTART", &dtstart.value, "a date-time"))?;
    let mut onsets = vec![start];
    let stop = LocalDt::midnight(days_from_civil(CUSTOM_ZONE_LAST_YEAR, 1, 1));
    if let Some(p) = obs.prop("RRULE") {
        let rule = parse_rule(&p.value).map_err(|reason| CalendarError::BadRule {
            line: p.line,
            value: shorten(&p.value),
            reason,
        })?;
        let until = rule.until;
        let bounds = Bounds {
            skip_before: None,
            stop_after: stop,
        };
        for onset in Instances::new(&rule, start, bounds).skip(1) {
            let past_until = match until {
                Some(When::Utc(u)) => onset.as_secs() - i64::from(from) > u.as_secs(),
                Some(other) => onset > other.local(),
                None => false,
            };
            if past_until {
                break;
            }
            onsets.push(onset);
        }
    }
    for p in obs.props_named("RDATE") {
        for v in p.value.split(',') {
            let (l, _) = parse_date_time(v.trim())
                .ok_or_else(|| bad_value(p.line, "RDATE", v, "a date-time"))?;
            onsets.push(l);
        }
    }
    Ok(onsets)
}

/// `+hhmm` or `+hhmmss` → seconds east of UTC.
fn offset_prop(obs: &Component, name: &str) -> Result<i32, CalendarError> {
    let p = obs.prop(name).ok_or(CalendarError::Syntax {
        line: obs.line,
        reason: format!("the VTIMEZONE's {} part has no {name}", obs.name),
    })?;
    parse_utc_offset(p.value.trim())
        .ok_or_else(|| bad_value(p.line, name, &p.value, "a UTC offset like +0100"))
}

pub(crate) fn parse_utc_offset(v: &str) -> Option<i32> {
    let (sign, digits) = match v.as_bytes().first()? {
        b'+' => (1, &v[1..]),
        b'-' => (-1, &v[1..]),
        _ => return None,
    };
    if !(digits.len() == 4 || digits.len() == 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| digits[r].parse::<i32>().ok();
    let (h, m) = (n(0..2)?, n(2..4)?);
    let s = if digits.len() == 6 { n(4..6)? } else { 0 };
    (h < 24 && m < 60 && s < 60).then_some(sign * (h * 3600 + m * 60 + s))
}

fn bad_value(line: usize, property: &str, value: &str, expected: &str) -> CalendarError {
    CalendarError::BadValue {
        line,
        property: property.to_string(),
        value: shorten(value),
        expected: expected.to_string(),
    }
}

/// What a TZID names without looking at the file's VTIMEZONEs.
enum Named {
    Known(TimeZone),
    /// Only the fixed offset of an unknown display name: used if no VTIMEZONE helps.
    FixedOffset(TimeZone),
    Unknown,
}

fn resolve_name(tzid: &str) -> Named {
    let tzid = tzid.trim();
    if let Some(tz) = iana(tzid) {
        return Named::Known(tz);
    }
    // Vendor prefixes: "/mozilla.org/20050126_1/America/New_York",
    // "/softwarestudio.org/Olson_20011030_5/America/New_York".
    if tzid.contains('/') {
        let parts: Vec<&str> = tzid.split('/').collect();
        for i in 1..parts.len() {
            if let Some(tz) = iana(&parts[i..].join("/")) {
                return Named::Known(tz);
            }
        }
    }
    if let Some(tz) = windows_to_iana(tzid).and_then(iana) {
        return Named::Known(tz);
    }
    match split_display_name(tzid) {
        Some((offset, body)) => {
            let body = body.split(';').next().unwrap_or(body);
            match display_to_iana(body).and_then(iana) {
                Some(tz) => Named::Known(tz),
                None => Offset::from_seconds(offset)
                    .map(|o| Named::FixedOffset(TimeZone::fixed(o)))
                    .unwrap_or(Named::Unknown),
            }
        }
        None => Named::Unknown,
    }
}

fn iana(name: &str) -> Option<TimeZone> {
    if name.is_empty() || name.len() > 100 {
        return None;
    }
    TimeZone::get(name).ok()
}

/// "(UTC-08:00) Pacific Time", "(GMT-08.00) Pacific Time; Tijuana", "(UTC) Coordinated
/// Universal Time", "(GMT) Greenwich Mean Time : Dublin…" → (offset seconds, body).
fn split_display_name(tzid: &str) -> Option<(i32, &str)> {
    let rest = tzid.strip_prefix('(')?;
    let close = rest.find(')')?;
    let inside = &rest[..close];
    let body = rest[close + 1..].trim();
    let sign_and_hm = inside
        .strip_prefix("UTC")
        .or_else(|| inside.strip_prefix("GMT"))?;
    if sign_and_hm.is_empty() {
        return Some((0, body));
    }
    let (sign, hm) = match sign_and_hm.as_bytes()[0] {
        b'+' => (1, &sign_and_hm[1..]),
        b'-' => (-1, &sign_and_hm[1..]),
        _ => return None,
    };
    let (h, m) = hm.split_once([':', '.'])?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some((sign * (h * 3600 + m * 60), body))
}

/// The zones one calendar uses. TZIDs are resolved on first use and cached, so a
/// calendar that names a zone on 1000 events resolves it once.
#[derive(Debug, Default)]
pub(crate) struct ZoneTable {
    pub zones: Vec<Zone>,
    by_tzid: HashMap<String, ZoneId>,
    vtimezones: HashMap<String, Component>,
}

impl ZoneTable {
    /// Remember every VTIMEZONE of the calendars (evaluated only if a TZID needs one).
    pub fn new(calendars: &[Component]) -> ZoneTable {
        let mut vtimezones = HashMap::new();
        for c in calendars.iter().flat_map(|c| c.children_named("VTIMEZONE")) {
            if let Some(id) = c.prop("TZID") {
                // TZID is a TEXT property: "(UTC+08:00) Beijing\, Chongqing" names the
                // zone that a parameter quotes as "(UTC+08:00) Beijing, Chongqing".
                vtimezones
                    .entry(unescape_text(id.value.trim()))
                    .or_insert_with(|| c.clone());
            }
        }
        ZoneTable {
            zones: Vec::new(),
            by_tzid: HashMap::new(),
            vtimezones,
        }
    }

    pub fn resolve(&mut self, tzid: &str, line: usize) -> Result<ZoneId, CalendarError> {
        if let Some(&id) = self.by_tzid.get(tzid) {
            return Ok(id);
        }
        let zone = match resolve_name(tzid) {
            Named::Known(tz) => Zone::Tz(tz),
            named => match self.vtimezones.get(tzid.trim()) {
                Some(vtz) => Zone::Custom(CustomZone::from_component(vtz)?),
                None => match named {
                    Named::FixedOffset(tz) => Zone::Tz(tz),
                    _ => {
                        return Err(CalendarError::UnknownTimeZone {
                            line,
                            tzid: shorten(tzid),
                        });
                    }
                },
            },
        };
        self.zones.push(zone);
        let id = self.zones.len() - 1;
        self.by_tzid.insert(tzid.to_string(), id);
        Ok(id)
    }

    /// Drop the raw VTIMEZONEs once every TZID is resolved.
    pub fn finish(self) -> Vec<Zone> {
        self.zones
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::parse::parse_tree;

    fn local(s: &str) -> LocalDt {
        parse_date_time(s).unwrap().0
    }

    fn utc_string(secs: i64) -> String {
        jiff::Timestamp::from_second(secs).unwrap().to_string()
    }

    fn zone(tzid: &str) -> Zone {
        match resolve_name(tzid) {
            Named::Known(tz) | Named::FixedOffset(tz) => Zone::Tz(tz),
            Named::Unknown => panic!("{tzid} unknown"),
        }
    }

    #[test]
    fn iana_windows_mozilla_and_display_names() {
        // 2026-01-15 09:00 in Los Angeles is PST (-8): 17:00Z.
        let want = "2026-01-15T17:00:00Z";
        let l = local("20260115T090000");
        for tzid in [
            "America/Los_Angeles",
            "Pacific Standard Time",
            "/mozilla.org/20050126_1/America/Los_Angeles",
            "/softwarestudio.org/Olson_20011030_5/America/Los_Angeles",
            "(UTC-08:00) Pacific Time (US & Canada)",
            "(GMT-08.00) Pacific Time (US & Canada); Tijuana",
        ] {
            assert_eq!(utc_string(zone(tzid).to_utc(l).unwrap()), want, "{tzid}");
        }
        // W. Europe: 2026-07-01 09:00 CEST (+2) = 07:00Z.
        assert_eq!(
            utc_string(
                zone("W. Europe Standard Time")
                    .to_utc(local("20260701T090000"))
                    .unwrap()
            ),
            "2026-07-01T07:00:00Z"
        );
        // AUS Eastern in January is AEDT (+11): 09:00 → 22:00Z the day before.
        assert_eq!(
            utc_string(
                zone("AUS Eastern Standard Time")
                    .to_utc(local("20260115T090000"))
                    .unwrap()
            ),
            "2026-01-14T22:00:00Z"
        );
        // India has no DST: +5:30.
        assert_eq!(
            utc_string(
                zone("India Standard Time")
                    .to_utc(local("20260715T090000"))
                    .unwrap()
            ),
            "2026-07-15T03:30:00Z"
        );
    }

    #[test]
    fn unknown_display_name_falls_back_to_its_offset() {
        // Not in the table: fixed -03:00, so 09:00 → 12:00Z all year.
        let z = zone("(UTC-03:00) Somewhere Nobody Knows");
        assert_eq!(
            utc_string(z.to_utc(local("20260715T090000")).unwrap()),
            "2026-07-15T12:00:00Z"
        );
        assert!(matches!(resolve_name("Mars Standard Time"), Named::Unknown));
        assert!(matches!(resolve_name("(UTC+99:00) x"), Named::Unknown));
    }

    #[test]
    fn dst_gap_moves_forward_and_overlap_takes_first() {
        let ny = zone("America/New_York");
        // 2026-03-08 02:30 does not exist; read with EST (-5): 07:30Z (= 03:30 EDT).
        assert_eq!(
            utc_string(ny.to_utc(local("20260308T023000")).unwrap()),
            "2026-03-08T07:30:00Z"
        );
        // 2026-11-01 01:30 happens twice; the first is EDT (-4): 05:30Z.
        assert_eq!(
            utc_string(ny.to_utc(local("20261101T013000")).unwrap()),
            "2026-11-01T05:30:00Z"
        );
    }

    const CUSTOM: &str = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:Lab Eastern\r\n\
BEGIN:STANDARD\r\nDTSTART:16011104T020000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\n\
TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\n\
BEGIN:DAYLIGHT\r\nDTSTART:16010311T020000\r\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\n\
TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n";

    #[test]
    fn custom_vtimezone_matches_the_iana_zone_it_copies() {
        let cals = parse_tree(CUSTOM).unwrap();
        let mut table = ZoneTable::new(&cals);
        let id = table.resolve("Lab Eastern", 1).unwrap();
        let custom = &table.zones[id];
        assert!(matches!(custom, Zone::Custom(_)));
        let ny = zone("America/New_York");
        for s in [
            "20260115T090000", // EST: 14:00Z
            "20260308T013000", // just before the gap: 06:30Z
            "20260308T023000", // in the gap: 07:30Z
            "20260308T030000", // after: 07:00Z
            "20260715T090000", // EDT: 13:00Z
            "20261101T013000", // overlap, first (EDT): 05:30Z
            "20261101T020000", // after: 07:00Z
        ] {
            assert_eq!(custom.to_utc(local(s)), ny.to_utc(local(s)), "{s}");
        }
        assert_eq!(
            utc_string(custom.to_utc(local("20260308T023000")).unwrap()),
            "2026-03-08T07:30:00Z"
        );
    }

    #[test]
    fn custom_vtimezone_with_rdate_and_bad_offsets() {
        let text = "BEGIN:VCALENDAR\nBEGIN:VTIMEZONE\nTZID:Odd\nBEGIN:STANDARD\n\
DTSTART:20000101T000000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0100\nEND:STANDARD\n\
BEGIN:DAYLIGHT\nDTSTART:20260601T000000\nRDATE:20270601T000000\nTZOFFSETFROM:+0100\n\
TZOFFSETTO:+0200\nEND:DAYLIGHT\nBEGIN:STANDARD\nDTSTART:20260901T000000\n\
RDATE:20270901T000000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nEND:STANDARD\n\
END:VTIMEZONE\nEND:VCALENDAR\n";
        let cals = parse_tree(text).unwrap();
        let mut table = ZoneTable::new(&cals);
        let z = &table.zones.clone();
        assert!(z.is_empty());
        let id = table.resolve("Odd", 1).unwrap();
        let odd = &table.zones[id];
        // July 2027 is in the RDATE summer: +2, 12:00 → 10:00Z.
        assert_eq!(
            utc_string(odd.to_utc(local("20270701T120000")).unwrap()),
            "2027-07-01T10:00:00Z"
        );
        // July 2028 has no summer: +1 → 11:00Z.
        assert_eq!(
            utc_string(odd.to_utc(local("20280701T120000")).unwrap()),
            "2028-07-01T11:00:00Z"
        );

        let bad = text.replace("TZOFFSETTO:+0200", "TZOFFSETTO:+2");
        let cals = parse_tree(&bad).unwrap();
        let e = ZoneTable::new(&cals).resolve("Odd", 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 13: TZOFFSETTO '+2' is not a UTC offset like +0100"
        );
    }

    #[test]
    fn unknown_tzid_without_vtimezone_is_an_error() {
        let mut table = ZoneTable::default();
        let e = table.resolve("Mars/Olympus_Mons", 7).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("line 7: time zone 'Mars/Olympus_Mons'"),
            "{e}"
        );
    }

    #[test]
    fn utc_offsets() {
        assert_eq!(parse_utc_offset("+0530"), Some(19_800));
        assert_eq!(parse_utc_offset("-000130"), Some(-90));
        assert_eq!(parse_utc_offset("0100"), None);
        assert_eq!(parse_utc_offset("+2400"), None);
        assert_eq!(parse_utc_offset("+01"), None);
    }
}
