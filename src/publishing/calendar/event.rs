//! The calendar's content as expansion needs it: events grouped into series, and the
//! periods of VFREEBUSY components, each with the free/busy status it shows.
//!
//! Owns [`Event`], [`Series`], [`FbPeriod`] and the status mapping (one place: [`status`]).
//! Values are parsed and TZIDs resolved here, once; `expand` only does arithmetic.
//!
//! Status of an event, first rule that applies:
//! 1. `STATUS:CANCELLED` → nothing, whatever else the event says;
//! 2. `X-MICROSOFT-CDO-BUSYSTATUS` (or, only when it is absent,
//!    `X-MICROSOFT-CDO-INTENDEDSTATUS`): FREE → nothing, TENTATIVE → tentative, BUSY →
//!    busy, OOF → out of office, WORKINGELSEWHERE → busy (Exchange 2003 had no such
//!    status; busy is what a colleague trying to book the person needs to see); any other
//!    value is ignored and the next rules decide;
//! 3. `TRANSP:TRANSPARENT` → nothing;
//! 4. `STATUS:TENTATIVE` → tentative;
//! 5. otherwise busy.

use std::collections::HashMap;

use super::parse::{Component, Property, shorten};
use super::rrule::{Rule, read_rrule};
use super::tz::ZoneTable;
use super::value::{Duration, When, parse_date, parse_date_time, parse_duration};
use super::{CalendarError, Notes};
use crate::protocol::freebusy::FbStatus;

/// How long an event (or an RDATE period) lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// Neither DTEND nor DURATION: one day for a DATE, nothing for a DATE-TIME.
    Implicit,
    At(When),
    For(Duration),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RDate {
    At(When),
    /// `VALUE=PERIOD`: an instance with its own end.
    Period(When, End),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    pub line: usize,
    pub start: When,
    pub end: End,
    /// With the line each RRULE was on, for errors found while expanding.
    pub rules: Vec<(usize, Rule)>,
    pub rdates: Vec<RDate>,
    pub exdates: Vec<When>,
    pub recurrence_id: Option<When>,
    /// `RECURRENCE-ID;RANGE=THISANDFUTURE`: the change applies to every later instance too.
    pub this_and_future: bool,
    /// `SEQUENCE` (0 when absent): of several revisions of one UID, the highest wins.
    pub sequence: i64,
    /// `None`: the event shows nothing (free, transparent or cancelled).
    pub status: Option<FbStatus>,
}

/// A recurring event and the instances it overrides (same UID, with RECURRENCE-ID). A UID
/// may have overrides without a master (an invitation to one instance): they still show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Series {
    pub masters: Vec<Event>,
    pub overrides: Vec<Event>,
}

/// One FREEBUSY period of a VFREEBUSY.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FbPeriod {
    pub status: Option<FbStatus>,
    pub start: When,
    pub end: End,
}

/// Everything expansion needs, built from the component tree.
#[derive(Clone, Debug, Default)]
pub(crate) struct Content {
    pub series: Vec<Series>,
    pub periods: Vec<FbPeriod>,
    pub event_count: usize,
}

pub(crate) fn build(
    calendars: &[Component],
    zones: &mut ZoneTable,
    notes: &mut Notes,
) -> Result<Content, CalendarError> {
    let mut content = Content::default();
    let mut by_uid: HashMap<String, usize> = HashMap::new();
    let mut uids: Vec<String> = Vec::new();
    for comp in calendars.iter().flat_map(|c| c.children.iter()) {
        match comp.name.as_str() {
            "VEVENT" => {
                let ev = event(comp, zones, notes)?;
                content.event_count += 1;
                let idx = match comp.prop("UID").map(|p| p.value.trim()) {
                    Some(uid) if !uid.is_empty() => {
                        *by_uid.entry(uid.to_string()).or_insert_with(|| {
                            content.series.push(Series::default());
                            uids.push(uid.to_string());
                            content.series.len() - 1
                        })
                    }
                    // No UID: nothing can override it, it stands alone.
                    _ => {
                        content.series.push(Series::default());
                        uids.push(String::new());
                        content.series.len() - 1
                    }
                };
                let series = &mut content.series[idx];
                if ev.recurrence_id.is_some() {
                    series.overrides.push(ev);
                } else {
                    series.masters.push(ev);
                }
            }
            "VFREEBUSY" => freebusy(comp, zones, &mut content.periods, notes)?,
            // VTIMEZONE is read by the zone table; VTODO, VJOURNAL, VALARM and X-
            // components have no free/busy meaning.
            _ => {}
        }
    }
    for (series, uid) in content.series.iter_mut().zip(&uids) {
        latest_revisions(series, uid, notes);
    }
    Ok(content)
}

/// Mail clients keep every revision of an invitation they received (same UID, rising
/// SEQUENCE). Only the highest SEQUENCE counts: of the masters, and of the overrides of
/// each RECURRENCE-ID. Revisions with the same SEQUENCE all stay (as before: two events
/// that merely share a UID).
fn latest_revisions(series: &mut Series, uid: &str, notes: &mut Notes) {
    fn keep_highest(events: &mut Vec<Event>, uid: &str, notes: &mut Notes) {
        let Some(top) = events.iter().map(|e| e.sequence).max() else {
            return;
        };
        let winner = events
            .iter()
            .find(|e| e.sequence == top)
            .map_or(0, |e| e.line);
        events.retain(|e| {
            let keep = e.sequence == top;
            if !keep {
                notes.add(
                    e.line,
                    "older_revision",
                    format!(
                        "this VEVENT is revision SEQUENCE={} of UID '{}'; the revision with SEQUENCE={top} on line {winner} replaces it",
                        e.sequence,
                        shorten(uid)
                    ),
                );
            }
            keep
        });
    }
    if series.masters.len() > 1 {
        keep_highest(&mut series.masters, uid, notes);
    }
    if series.overrides.len() > 1 {
        let mut groups: Vec<Vec<Event>> = Vec::new();
        for o in std::mem::take(&mut series.overrides) {
            match groups
                .iter_mut()
                .find(|g| g[0].recurrence_id == o.recurrence_id)
            {
                Some(g) => g.push(o),
                None => groups.push(vec![o]),
            }
        }
        for mut g in groups {
            keep_highest(&mut g, uid, notes);
            series.overrides.extend(g);
        }
    }
}

fn event(c: &Component, zones: &mut ZoneTable, notes: &mut Notes) -> Result<Event, CalendarError> {
    let dtstart = c
        .prop("DTSTART")
        .ok_or(CalendarError::MissingDtstart { line: c.line })?;
    let mut start = when(dtstart, dtstart.value.trim(), zones, notes)?;
    let mut end = match (c.prop("DTEND"), c.prop("DURATION")) {
        (Some(p), _) => End::At(when(p, p.value.trim(), zones, notes)?),
        (None, Some(p)) => End::For(duration(p, p.value.trim())?),
        (None, None) => End::Implicit,
    };
    if let (End::At(e), Some(p)) = (end, c.prop("DTEND")) {
        if is_before(e, start, zones) {
            // Written the wrong way round (seen from booking systems): the writer meant
            // the span between the two.
            notes.add(
                p.line,
                "dtend_before_dtstart",
                format!(
                    "DTEND '{}' is before DTSTART '{}'; read the other way round",
                    shorten(p.value.trim()),
                    shorten(dtstart.value.trim())
                ),
            );
            (start, end) = (e, End::At(start));
        }
    }
    let mut rules = Vec::new();
    for p in c.props_named("RRULE") {
        if let Some(rule) = read_rrule(p, "event", notes)? {
            rules.push((p.line, rule));
        }
    }
    let mut rdates = Vec::new();
    for p in c.props_named("RDATE") {
        for v in list(&p.value) {
            rdates.push(rdate(p, v, zones, notes)?);
        }
    }
    let mut exdates = Vec::new();
    for p in c.props_named("EXDATE") {
        for v in list(&p.value) {
            exdates.push(when(p, v, zones, notes)?);
        }
    }
    let rid = c.prop("RECURRENCE-ID");
    let recurrence_id = match rid {
        Some(p) => Some(when(p, p.value.trim(), zones, notes)?),
        None => None,
    };
    let this_and_future = rid
        .and_then(|p| p.param("RANGE"))
        .is_some_and(|r| r.trim().eq_ignore_ascii_case("THISANDFUTURE"));
    // A SEQUENCE that is not a number counts as 0, as if absent (it only ranks revisions).
    let sequence = c
        .prop("SEQUENCE")
        .and_then(|p| p.value.trim().parse::<i64>().ok())
        .unwrap_or(0);
    Ok(Event {
        line: c.line,
        start,
        end,
        rules,
        rdates,
        exdates,
        recurrence_id,
        this_and_future,
        sequence,
        status: status(c),
    })
}

/// Whether `a` is strictly before `b`, when that can be told without the default zone:
/// both dates, both on the same clock (UTC, floating, or one zone), or both on known zones.
fn is_before(a: When, b: When, zones: &ZoneTable) -> bool {
    match (a, b) {
        (When::Date(x), When::Date(y)) => x < y,
        (When::Utc(x), When::Utc(y)) | (When::Floating(x), When::Floating(y)) => x < y,
        (When::Zoned(x, i), When::Zoned(y, j)) if i == j => x < y,
        _ => match (zones.instant(a), zones.instant(b)) {
            (Some(x), Some(y)) => x < y,
            _ => false,
        },
    }
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|v| !v.is_empty())
}

/// The free/busy status an event shows; see the module comment for the order.
pub(crate) fn status(c: &Component) -> Option<FbStatus> {
    let upper = |name: &str| c.prop(name).map(|p| p.value.trim().to_ascii_uppercase());
    if upper("STATUS").as_deref() == Some("CANCELLED") {
        return None;
    }
    let cdo =
        upper("X-MICROSOFT-CDO-BUSYSTATUS").or_else(|| upper("X-MICROSOFT-CDO-INTENDEDSTATUS"));
    match cdo.as_deref() {
        Some("FREE") => return None,
        Some("TENTATIVE") => return Some(FbStatus::Tentative),
        Some("BUSY" | "WORKINGELSEWHERE") => return Some(FbStatus::Busy),
        Some("OOF") => return Some(FbStatus::Oof),
        _ => {}
    }
    if upper("TRANSP").as_deref() == Some("TRANSPARENT") {
        return None;
    }
    if upper("STATUS").as_deref() == Some("TENTATIVE") {
        return Some(FbStatus::Tentative);
    }
    Some(FbStatus::Busy)
}

/// A DATE or DATE-TIME value of a property (one item of it, for list-valued ones).
pub(crate) fn when(
    p: &Property,
    raw: &str,
    zones: &mut ZoneTable,
    notes: &mut Notes,
) -> Result<When, CalendarError> {
    let bad = || CalendarError::BadValue {
        line: p.line,
        property: p.name.clone(),
        value: shorten(raw),
        expected: "a date or date-time".into(),
    };
    let declared_date = p
        .param("VALUE")
        .is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
    // `20260310Z`: a date with a Z, even without VALUE=DATE.
    let date_with_z = raw.len() == 9 && raw.ends_with(['Z', 'z']);
    if declared_date || raw.len() == 8 || date_with_z {
        if let Some(d) = parse_date(raw) {
            return Ok(When::Date(d));
        }
        // `RDATE;VALUE=DATE:20260310Z` or `…:20260310T000000Z` (Calendar Labs, booking
        // systems): a date with a time or a Z it cannot have. The date is what was meant.
        let body = raw.strip_suffix(['Z', 'z']).unwrap_or(raw);
        let date = parse_date(body)
            .or_else(|| parse_date_time(raw).map(|(l, _)| l.day))
            .ok_or_else(bad)?;
        notes.add(
            p.line,
            "date_with_time_or_z",
            format!(
                "{} '{}' is declared a DATE but has a time or a Z; read as the date",
                p.name,
                shorten(raw)
            ),
        );
        return Ok(When::Date(date));
    }
    let (local, utc) = parse_date_time(raw).ok_or_else(bad)?;
    if utc {
        return Ok(When::Utc(local));
    }
    match p.param("TZID") {
        Some(tzid) => Ok(When::Zoned(local, zones.resolve(tzid, p.line, notes)?)),
        None => Ok(When::Floating(local)),
    }
}

fn duration(p: &Property, raw: &str) -> Result<Duration, CalendarError> {
    parse_duration(raw).ok_or_else(|| CalendarError::BadValue {
        line: p.line,
        property: p.name.clone(),
        value: shorten(raw),
        expected: "a duration like PT1H30M or P1D".into(),
    })
}

fn rdate(
    p: &Property,
    raw: &str,
    zones: &mut ZoneTable,
    notes: &mut Notes,
) -> Result<RDate, CalendarError> {
    Ok(match period(p, raw, zones, notes)? {
        Some((start, end)) => RDate::Period(start, end),
        None => RDate::At(when(p, raw, zones, notes)?),
    })
}

/// `start/end` or `start/duration`; `None` when `raw` is not a period at all.
fn period(
    p: &Property,
    raw: &str,
    zones: &mut ZoneTable,
    notes: &mut Notes,
) -> Result<Option<(When, End)>, CalendarError> {
    let Some((a, b)) = raw.split_once('/') else {
        return Ok(None);
    };
    let start = when(p, a.trim(), zones, notes)?;
    let b = b.trim();
    let end = if b.starts_with(['P', 'p', '+', '-']) {
        End::For(duration(p, b)?)
    } else {
        End::At(when(p, b, zones, notes)?)
    };
    Ok(Some((start, end)))
}

/// FREEBUSY lines of a VFREEBUSY: FBTYPE BUSY (the default, and what RFC 5545 says
/// unknown types mean) → busy, BUSY-TENTATIVE → tentative, BUSY-UNAVAILABLE → out of
/// office, FREE → nothing.
fn freebusy(
    c: &Component,
    zones: &mut ZoneTable,
    out: &mut Vec<FbPeriod>,
    notes: &mut Notes,
) -> Result<(), CalendarError> {
    for p in c.props_named("FREEBUSY") {
        let status = match p.param("FBTYPE").map(str::to_ascii_uppercase).as_deref() {
            Some("FREE") => None,
            Some("BUSY-TENTATIVE") => Some(FbStatus::Tentative),
            Some("BUSY-UNAVAILABLE") => Some(FbStatus::Oof),
            _ => Some(FbStatus::Busy),
        };
        for v in list(&p.value) {
            let (start, end) =
                period(p, v, zones, notes)?.ok_or_else(|| CalendarError::BadValue {
                    line: p.line,
                    property: p.name.clone(),
                    value: shorten(v),
                    expected: "a period like 20260105T090000Z/20260105T100000Z".into(),
                })?;
            out.push(FbPeriod { status, start, end });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publishing::calendar::parse::parse_tree;

    fn vevent(props: &str) -> Component {
        let text = format!("BEGIN:VCALENDAR\nBEGIN:VEVENT\n{props}\nEND:VEVENT\nEND:VCALENDAR\n");
        parse_tree(&text, &mut Notes::default())
            .unwrap()
            .remove(0)
            .children
            .remove(0)
    }

    #[test]
    fn status_mapping_order() {
        let s = |p: &str| status(&vevent(&format!("DTSTART:20260105T090000Z\n{p}")));
        assert_eq!(s(""), Some(FbStatus::Busy));
        assert_eq!(s("STATUS:TENTATIVE"), Some(FbStatus::Tentative));
        assert_eq!(s("TRANSP:TRANSPARENT"), None);
        assert_eq!(s("STATUS:CANCELLED\nX-MICROSOFT-CDO-BUSYSTATUS:BUSY"), None);
        assert_eq!(
            s("TRANSP:TRANSPARENT\nX-MICROSOFT-CDO-BUSYSTATUS:OOF"),
            Some(FbStatus::Oof)
        );
        assert_eq!(s("X-MICROSOFT-CDO-BUSYSTATUS:FREE"), None);
        assert_eq!(
            s("X-MICROSOFT-CDO-BUSYSTATUS:tentative"),
            Some(FbStatus::Tentative)
        );
        assert_eq!(
            s("X-MICROSOFT-CDO-BUSYSTATUS:WORKINGELSEWHERE"),
            Some(FbStatus::Busy)
        );
        assert_eq!(s("X-MICROSOFT-CDO-INTENDEDSTATUS:OOF"), Some(FbStatus::Oof));
        assert_eq!(
            s("X-MICROSOFT-CDO-BUSYSTATUS:FREE\nX-MICROSOFT-CDO-INTENDEDSTATUS:BUSY"),
            None,
            "INTENDEDSTATUS only counts when BUSYSTATUS is absent"
        );
        assert_eq!(
            s("X-MICROSOFT-CDO-BUSYSTATUS:WEIRD\nSTATUS:TENTATIVE"),
            Some(FbStatus::Tentative)
        );
    }

    #[test]
    fn values_and_errors() {
        let mut zones = ZoneTable::default();
        let c = vevent(
            "DTSTART;TZID=Europe/Paris:20260105T090000\nDTEND;VALUE=DATE:20260106\nEXDATE:20260112T080000Z,20260119T080000Z\nRDATE;VALUE=PERIOD:20260120T100000Z/PT1H",
        );
        let ev = event(&c, &mut zones, &mut Notes::default()).unwrap();
        assert!(matches!(ev.start, When::Zoned(_, 0)));
        assert!(matches!(ev.end, End::At(When::Date(_))));
        assert_eq!(ev.exdates.len(), 2);
        assert!(matches!(
            ev.rdates[0],
            RDate::Period(When::Utc(_), End::For(_))
        ));

        // Each error names its line and what is wrong there.
        #[rustfmt::skip]
        let refused = [
            ("SUMMARY:x", "line 2: the VEVENT has no DTSTART, so it cannot be placed in time"),
            ("SUMMARY:x\nDTSTART:x", "line 4: DTSTART 'x' is not a date or date-time"),
            ("DTSTART:20260105T090000Z\nDURATION:1h", "line 4: DURATION '1h' is not a duration like PT1H30M or P1D"),
            ("DTSTART:20260105T090000Z\nRRULE:FREQ=DAILY;COUNT=x", "line 4: RRULE 'FREQ=DAILY;COUNT=x' is invalid: COUNT 'x' is not a number"),
        ];
        for (lines, says) in refused {
            let e = event(&vevent(lines), &mut zones, &mut Notes::default()).unwrap_err();
            assert_eq!(e.to_string(), says, "{lines}");
        }
    }
}
