//! Time zones of a calendar: what a TZID means and how a wall-clock time becomes an instant.
//!
//! Owns [`Zone`] (an IANA zone from jiff's bundled database, or a [`CustomZone`] computed
//! from a VTIMEZONE) and [`ZoneTable`] (the TZIDs one calendar uses, resolved once).
//!
//! A TZID the file defines with its own VTIMEZONE means that VTIMEZONE, unless the TZID is
//! exactly (case included) an IANA name or a Windows name: then the IANA database, which
//! also knows the past rules that Outlook's VTIMEZONE (current rules from 1601) leaves out.
//! A near miss such as Google's `Europe/lisbon` with its own VTIMEZONE is the VTIMEZONE:
//! reading it as IANA Europe/Lisbon put 94 events of a real export an hour off (issue 10).
//!
//! A TZID without a VTIMEZONE is resolved in this order, first hit wins:
//! 1. an IANA name (`America/New_York`, any case), also behind a vendor prefix such as
//!    `/mozilla.org/20050126_1/America/New_York` (leading path segments are dropped until
//!    what remains is an IANA name);
//! 2. a Windows name as Outlook writes it (`Pacific Standard Time`), via CLDR's table;
//! 3. a Windows display name (`(UTC-08:00) Pacific Time (US & Canada)`,
//!    `(GMT-08.00) Pacific Time (US & Canada); Tijuana`), via a table of display names;
//! 4. for an unknown display name, the fixed offset in its parentheses (no DST: the best
//!    that can be said about a zone we cannot name).
//!
//! A VTIMEZONE's onsets are computed lazily, per year asked about, and capped
//! ([`MAX_ZONE_ONSETS_PER_YEAR`]).
//!
//! Local → UTC follows RFC 5545 §3.3.5: a time in a DST gap is read with the offset from
//! before the gap (so it moves forward by the gap's length), an ambiguous time in an
//! overlap takes the first occurrence. jiff's "compatible" disambiguation is exactly that.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

use super::parse::{Component, shorten};
use super::rrule::{Bounds, Instances, Rule, read_rrule};
use super::value::{LocalDt, When, ZoneId, parse_date, parse_date_time, unescape_text};
use super::windows_zones::{display_to_iana, windows_to_iana, windows_to_iana_exact};
use super::{CalendarError, Notes};
use crate::protocol::time::{civil_from_days, days_from_civil};

/// VTIMEZONE rules are evaluated up to this year; later instants keep the last offset.
const CUSTOM_ZONE_LAST_YEAR: i32 = 2200;

/// Onsets one observance may produce (or walk past) to place one year. A real zone changes
/// its offset at most a few times a year; `RRULE:FREQ=SECONDLY` from 1601 would otherwise
/// build hundreds of millions (17 s and 3.1 GB for a 1.4 KB file, seen in issue 11).
pub(crate) const MAX_ZONE_ONSETS_PER_YEAR: usize = 1_000;

/// Onsets one VTIMEZONE may produce (or walk past) over all the years one calendar asks
/// about. Events spread over thousands of distinct years, each asking for its own, would
/// otherwise multiply the per-year cap; a real zone used by a real calendar needs a few
/// hundred.
pub(crate) const MAX_ZONE_ONSETS: usize = 200_000;

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

    /// Why the zone could not be evaluated for some year (the onset cap), if it could not.
    pub fn error(&self) -> Option<CalendarError> {
        match self {
            Zone::Tz(_) => None,
            Zone::Custom(c) => c
                .cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .error
                .clone(),
        }
    }
}

/// One STANDARD or DAYLIGHT part of a VTIMEZONE, parsed and checked, not expanded.
#[derive(Clone, Debug)]
struct Observance {
    from: i32,
    to: i32,
    start: LocalDt,
    rule: Option<Rule>,
    /// DTSTART and the RDATEs: onsets listed one by one (bounded by the file's size), sorted.
    listed: Vec<LocalDt>,
}

/// Transitions computed so far, by local year, and the first error met.
#[derive(Clone, Debug, Default)]
struct YearCache {
    years: BTreeMap<i32, Vec<(i64, i32)>>,
    /// Onsets produced or walked so far, against [`MAX_ZONE_ONSETS`].
    spent: usize,
    error: Option<CalendarError>,
}

/// A zone defined only by a VTIMEZONE. Its transitions are computed lazily, one year at a
/// time and only for the years an expansion asks about (the publish window's, the DTSTART
/// of each event), each year capped at [`MAX_ZONE_ONSETS_PER_YEAR`] onsets per observance.
#[derive(Clone, Debug)]
pub(crate) struct CustomZone {
    tzid: String,
    line: usize,
    observances: Vec<Observance>,
    /// Offset before the first onset, and that onset (UTC).
    initial: i32,
    first_utc: i64,
    /// Every offset the zone uses, for reversing local times.
    offsets: Vec<i32>,
    /// Behind a lock so that a parsed calendar stays shareable between threads (an
    /// expansion is one thread, so it is hardly ever contended), and shared by clones, so
    /// that an error met through a clone is seen by the expansion that checks the zone.
    cache: Arc<Mutex<YearCache>>,
}

impl CustomZone {
    pub fn from_component(
        c: &Component,
        tzid: &str,
        notes: &mut Notes,
    ) -> Result<CustomZone, CalendarError> {
        let mut observances = Vec::new();
        for obs in c
            .children
            .iter()
            .filter(|o| o.name == "STANDARD" || o.name == "DAYLIGHT")
        {
            let from = offset_prop(obs, "TZOFFSETFROM")?;
            let to = offset_prop(obs, "TZOFFSETTO")?;
            observances.push(observance(obs, from, to, notes)?);
        }
        let Some(first) = observances
            .iter()
            .min_by_key(|o| o.start.as_secs() - i64::from(o.from))
        else {
            return Err(CalendarError::Syntax {
                line: c.line,
                reason: "the VTIMEZONE has no STANDARD or DAYLIGHT part with a DTSTART".into(),
            });
        };
        let initial = first.from;
        let first_utc = first.start.as_secs() - i64::from(first.from);
        let mut offsets: Vec<i32> = observances.iter().flat_map(|o| [o.from, o.to]).collect();
        offsets.sort_unstable();
        offsets.dedup();
        Ok(CustomZone {
            tzid: tzid.to_string(),
            line: c.line,
            observances,
            initial,
            first_utc,
            offsets,
            cache: Arc::new(Mutex::new(YearCache::default())),
        })
    }

    /// Compute (once) the transitions whose onset falls in local `year`, sorted.
    fn year(&self, cache: &mut YearCache, year: i32) {
        if cache.years.contains_key(&year) {
            return;
        }
        let mut out = Vec::new();
        let lo = LocalDt::midnight(days_from_civil(year, 1, 1));
        let hi = LocalDt::midnight(days_from_civil(year + 1, 1, 1));
        for o in &self.observances {
            let utc = |l: LocalDt| l.as_secs() - i64::from(o.from);
            let first = o.listed.partition_point(|l| *l < lo);
            for &l in o.listed[first..].iter().take_while(|l| **l < hi) {
                out.push((utc(l), o.to));
                cache.spent += 1;
            }
            let Some(rule) = &o.rule else { continue };
            let bounds = Bounds {
                skip_before: Some(lo.plus_days(-1)),
                stop_after: hi,
            };
            let mut walked = 0usize;
            for onset in Instances::new(rule, o.start, bounds).skip(1) {
                walked += 1;
                cache.spent += 1;
                let (line, tzid) = (self.line, || shorten(&self.tzid));
                let over = if cache.spent > MAX_ZONE_ONSETS {
                    Some(CalendarError::ZoneTooExpensive {
                        line,
                        tzid: tzid(),
                        max: MAX_ZONE_ONSETS,
                    })
                } else if walked > MAX_ZONE_ONSETS_PER_YEAR {
                    Some(CalendarError::TooManyZoneChanges {
                        line,
                        tzid: tzid(),
                        max: MAX_ZONE_ONSETS_PER_YEAR,
                    })
                } else {
                    None
                };
                if let Some(e) = over {
                    // The first error found is the one reported.
                    cache.error.get_or_insert(e);
                    break;
                }
                let past_until = match rule.until {
                    Some(When::Utc(u)) => utc(onset) > u.as_secs(),
                    Some(other) => onset > other.local(),
                    None => false,
                };
                if past_until || onset >= hi {
                    break;
                }
                if onset >= lo {
                    out.push((utc(onset), o.to));
                }
            }
        }
        out.sort_unstable();
        cache.years.insert(year, out);
    }

    fn offset_at(&self, utc: i64) -> i32 {
        if utc < self.first_utc {
            return self.initial;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.error.is_some() {
            // The expansion fails anyway; do not spend more on this zone.
            return self.initial;
        }
        // Local year of the instant, give or take the offset: look in it and the year after,
        // then back one year at a time until an onset at or before the instant is found.
        let (y, _, _) = civil_from_days((utc + 86_400).div_euclid(86_400));
        let y = y.min(CUSTOM_ZONE_LAST_YEAR);
        let first_year = civil_from_days(self.first_utc.div_euclid(86_400)).0 - 1;
        let mut year = y;
        while year >= first_year {
            self.year(&mut cache, year);
            let found = cache.years.get(&year).and_then(|t| {
                t.iter()
                    .rev()
                    .find(|(at, _)| *at <= utc)
                    .map(|&(_, off)| off)
            });
            if let Some(off) = found {
                return off;
            }
            if cache.error.is_some() {
                break;
            }
            year -= 1;
        }
        self.initial
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

/// One STANDARD/DAYLIGHT part: its DTSTART (a DATE is read as midnight, with a note), its
/// RRULE (checked now, expanded per year later), its RDATEs.
fn observance(
    obs: &Component,
    from: i32,
    to: i32,
    notes: &mut Notes,
) -> Result<Observance, CalendarError> {
    let dtstart = obs.prop("DTSTART").ok_or(CalendarError::Syntax {
        line: obs.line,
        reason: format!("the VTIMEZONE's {} part has no DTSTART", obs.name),
    })?;
    let raw = dtstart.value.trim();
    let start = match parse_date_time(raw) {
        Some((l, _)) => l,
        None => {
            let day = parse_date(raw)
                .ok_or_else(|| bad_value(dtstart.line, "DTSTART", raw, "a date-time"))?;
            notes.add(
                dtstart.line,
                "observance_date",
                format!(
                    "the VTIMEZONE's {} part starts on a DATE ('{}'); read as midnight",
                    obs.name,
                    shorten(raw)
                ),
            );
            LocalDt::midnight(day)
        }
    };
    let mut listed = vec![start];
    let rule = match obs.prop("RRULE") {
        Some(p) => read_rrule(p, "observance", notes)?,
        None => None,
    };
    for p in obs.props_named("RDATE") {
        for v in p.value.split(',').filter(|v| !v.trim().is_empty()) {
            let (l, _) = parse_date_time(v.trim())
                .or_else(|| parse_date(v.trim()).map(|d| (LocalDt::midnight(d), false)))
                .ok_or_else(|| bad_value(p.line, "RDATE", v, "a date-time"))?;
            listed.push(l);
        }
    }
    listed.sort_unstable();
    Ok(Observance {
        from,
        to,
        start,
        rule,
        listed,
    })
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

/// A zone named exactly (case included) as the IANA database or Windows names it.
fn exact_name(name: &str) -> Option<TimeZone> {
    if let Some(tz) = iana(name).filter(|tz| tz.iana_name() == Some(name)) {
        return Some(tz);
    }
    windows_to_iana_exact(name).and_then(iana)
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

    pub fn resolve(
        &mut self,
        tzid: &str,
        line: usize,
        notes: &mut Notes,
    ) -> Result<ZoneId, CalendarError> {
        if let Some(&id) = self.by_tzid.get(tzid) {
            return Ok(id);
        }
        let zone = match self.vtimezones.get(tzid.trim()) {
            // The file defines the zone: its definition is what the writer meant, unless
            // the name is exactly a zone everyone knows (then the IANA database, which
            // also knows the past rules that Outlook's VTIMEZONE leaves out).
            Some(vtz) => match exact_name(tzid.trim()) {
                Some(tz) => Zone::Tz(tz),
                None => Zone::Custom(CustomZone::from_component(vtz, tzid.trim(), notes)?),
            },
            None => match resolve_name(tzid) {
                Named::Known(tz) | Named::FixedOffset(tz) => Zone::Tz(tz),
                Named::Unknown => {
                    return Err(CalendarError::UnknownTimeZone {
                        line,
                        tzid: shorten(tzid),
                    });
                }
            },
        };
        self.zones.push(zone);
        let id = self.zones.len() - 1;
        self.by_tzid.insert(tzid.to_string(), id);
        Ok(id)
    }

    /// The instant of a UTC or zoned value (`None` for dates and floating times, which
    /// depend on the default zone).
    pub fn instant(&self, w: When) -> Option<i64> {
        match w {
            When::Utc(l) => Some(l.as_secs()),
            When::Zoned(l, id) => self.zones.get(id)?.to_utc(l),
            When::Date(_) | When::Floating(_) => None,
        }
    }

    /// Drop the raw VTIMEZONEs once every TZID is resolved.
    pub fn finish(self) -> Vec<Zone> {
        self.zones
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publishing::calendar::parse::parse_tree;

    fn local(s: &str) -> LocalDt {
        parse_date_time(s).unwrap().0
    }

    fn utc_string(secs: i64) -> String {
        jiff::Timestamp::from_second(secs).unwrap().to_string()
    }

    /// The UTC time of the local time `s` in `zone`.
    fn utc_at(zone: &Zone, s: &str) -> String {
        utc_string(zone.to_utc(local(s)).unwrap())
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
        assert_eq!(utc_at(&z, "20260715T090000"), "2026-07-15T12:00:00Z");
        assert!(matches!(resolve_name("Mars Standard Time"), Named::Unknown));
        assert!(matches!(resolve_name("(UTC+99:00) x"), Named::Unknown));
    }

    #[test]
    fn dst_gap_moves_forward_and_overlap_takes_first() {
        let ny = zone("America/New_York");
        // 2026-03-08 02:30 does not exist; read with EST (-5): 07:30Z (= 03:30 EDT).
        assert_eq!(utc_at(&ny, "20260308T023000"), "2026-03-08T07:30:00Z");
        // 2026-11-01 01:30 happens twice; the first is EDT (-4): 05:30Z.
        assert_eq!(utc_at(&ny, "20261101T013000"), "2026-11-01T05:30:00Z");
    }

    const CUSTOM: &str = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:Lab Eastern\r\n\
BEGIN:STANDARD\r\nDTSTART:16011104T020000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\n\
TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\n\
BEGIN:DAYLIGHT\r\nDTSTART:16010311T020000\r\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\n\
TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n";

    #[test]
    fn custom_vtimezone_matches_the_iana_zone_it_copies() {
        let cals = parse_tree(CUSTOM, &mut Notes::default()).unwrap();
        let mut table = ZoneTable::new(&cals);
        let id = table
            .resolve("Lab Eastern", 1, &mut Notes::default())
            .unwrap();
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
        assert_eq!(utc_at(custom, "20260308T023000"), "2026-03-08T07:30:00Z");
    }

    #[test]
    fn custom_vtimezone_with_rdate_and_bad_offsets() {
        let text = "BEGIN:VCALENDAR\nBEGIN:VTIMEZONE\nTZID:Odd\nBEGIN:STANDARD\n\
DTSTART:20000101T000000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0100\nEND:STANDARD\n\
BEGIN:DAYLIGHT\nDTSTART:20260601T000000\nRDATE:20270601T000000\nTZOFFSETFROM:+0100\n\
TZOFFSETTO:+0200\nEND:DAYLIGHT\nBEGIN:STANDARD\nDTSTART:20260901T000000\n\
RDATE:20270901T000000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nEND:STANDARD\n\
END:VTIMEZONE\nEND:VCALENDAR\n";
        let cals = parse_tree(text, &mut Notes::default()).unwrap();
        let mut table = ZoneTable::new(&cals);
        let z = &table.zones.clone();
        assert!(z.is_empty());
        let id = table.resolve("Odd", 1, &mut Notes::default()).unwrap();
        let odd = &table.zones[id];
        // July 2027 is in the RDATE summer: +2, 12:00 → 10:00Z.
        assert_eq!(utc_at(odd, "20270701T120000"), "2027-07-01T10:00:00Z");
        // July 2028 has no summer: +1 → 11:00Z.
        assert_eq!(utc_at(odd, "20280701T120000"), "2028-07-01T11:00:00Z");

        let bad = text.replace("TZOFFSETTO:+0200", "TZOFFSETTO:+2");
        let cals = parse_tree(&bad, &mut Notes::default()).unwrap();
        let e = ZoneTable::new(&cals)
            .resolve("Odd", 1, &mut Notes::default())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 13: TZOFFSETTO '+2' is not a UTC offset like +0100"
        );
    }

    #[test]
    fn unknown_tzid_without_vtimezone_is_an_error() {
        let mut table = ZoneTable::default();
        let e = table
            .resolve("Mars/Olympus_Mons", 7, &mut Notes::default())
            .unwrap_err();
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
