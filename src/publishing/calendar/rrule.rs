//! Recurrence rules (RFC 5545 §3.3.10 and §3.8.5.3): parsing an RRULE value and listing its
//! instances in wall-clock time.
//!
//! Owns [`Rule`] and [`Instances`]. Instances are [`LocalDt`] values in the event's own
//! zone; turning them into instants, UNTIL in UTC, EXDATE and overrides are `expand`'s job.
//!
//! The method is the one RFC 5545 describes: walk the periods of the rule's frequency
//! (year, month, week, day, hour, minute, second) every INTERVAL, list the candidate days
//! of each period that pass every BYxxx filter, multiply by the times (BYHOUR × BYMINUTE ×
//! BYSECOND, or DTSTART's), then apply BYSETPOS to that period's sorted set. Expanding
//! parts are modelled as "all days of the period, filtered", which gives the table in
//! §3.3.10 for the valid combinations. Invalid dates (Feb 30) are never candidates, so they
//! are skipped, as the RFC requires.

use super::parse::{Property, shorten};
use super::value::{LocalDt, When, parse_date, parse_date_time};
use super::{CalendarError, Notes};
use crate::protocol::time::{civil_from_days, days_from_civil, days_in_month, is_leap_year};

/// Work (periods walked plus candidates built) one rule may take before we give up rather
/// than spin: a daily rule over 100 years is ~36 500, a secondly rule over a 62-day window
/// ~5.4 million.
pub(crate) const STEP_BUDGET: u64 = 20_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Freq {
    Secondly,
    Minutely,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

/// Monday = 0 … Sunday = 6.
pub(crate) type Weekday = u8;

/// Day of week of a day number (days since 1970-01-01, a Thursday).
pub(crate) fn weekday(day: i64) -> Weekday {
    (day + 3).rem_euclid(7) as Weekday
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rule {
    pub freq: Freq,
    pub interval: i64,
    pub count: Option<u64>,
    pub until: Option<When>,
    /// The parts that pick the candidates of a period.
    pub by: ByParts,
    /// BYSETPOS: which of a period's sorted candidates are kept, applied after `by`.
    pub setpos: Vec<i32>,
    pub wkst: Weekday,
}

/// The BYxxx parts of a rule that list or filter the candidate days and times of each
/// period, each empty when the rule does not give it. The time parts (BYSECOND, BYMINUTE,
/// BYHOUR) and BYMONTH are sorted and without repeats.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ByParts {
    pub second: Vec<u8>,
    pub minute: Vec<u8>,
    pub hour: Vec<u8>,
    /// (ordinal, weekday); ordinal 0 means every such weekday.
    pub day: Vec<(i32, Weekday)>,
    pub monthday: Vec<i32>,
    pub yearday: Vec<i32>,
    pub weekno: Vec<i32>,
    pub month: Vec<u8>,
}

impl ByParts {
    /// Does the rule name its days (BYWEEKNO, BYYEARDAY, BYMONTHDAY or BYDAY)? Without
    /// one, RFC 5545 fills in DTSTART's (see [`expand_defaults`]).
    fn has_day_part(&self) -> bool {
        !(self.weekno.is_empty()
            && self.yearday.is_empty()
            && self.monthday.is_empty()
            && self.day.is_empty())
    }
}

/// The rule parts RFC 5545 defines, for recognising a misspelt one.
const RULE_PARTS: &[&str] = &[
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYMONTH",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYSETPOS",
    "BYDAY",
    "WKST",
];

/// A leniency found in a rule: (kind, sentence). The caller adds the line.
pub(crate) type RuleNote = (&'static str, String);

/// The rule part a misspelt name clearly means: the one nearest by edit distance, if it
/// is near (one edit for names up to five letters, two for longer) and no other is as near.
fn misspelt_part(key: &str) -> Option<&'static str> {
    let limit = if key.len() <= 5 { 1 } else { 2 };
    let mut best: Vec<(usize, &'static str)> = RULE_PARTS
        .iter()
        .map(|p| (edit_distance(key, p), *p))
        .filter(|(d, _)| *d <= limit)
        .collect();
    best.sort_unstable();
    match best.as_slice() {
        [(d, p)] => Some(*p).filter(|_| *d > 0),
        [(d, p), (d2, _), ..] if d < d2 => Some(*p),
        _ => None,
    }
}

/// Levenshtein distance of two short ASCII words.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diag + usize::from(ca != cb))
                .min(above + 1)
                .min(row[j] + 1);
            diag = above;
        }
    }
    row[b.len()]
}

/// Parse an RRULE value. The error string completes "RRULE '…' is invalid: …".
#[cfg(test)]
pub(crate) fn parse_rule(value: &str) -> Result<Rule, String> {
    parse_rule_noting(value, &mut Vec::new())
}

/// The RRULE property `p` of a `what` ("event", "observance"): `None` for an empty value
/// (noted: the component is read as not recurring), else the rule with its leniencies
/// noted at `p`'s line; a rule that cannot be read is an error naming that line.
pub(crate) fn read_rrule(
    p: &Property,
    what: &str,
    notes: &mut Notes,
) -> Result<Option<Rule>, CalendarError> {
    if p.value.trim().is_empty() {
        notes.add(
            p.line,
            "empty_rrule",
            format!("the RRULE is empty; the {what} is read as not recurring"),
        );
        return Ok(None);
    }
    let mut rule_notes = Vec::new();
    let rule = parse_rule_noting(p.value.trim(), &mut rule_notes).map_err(|reason| {
        CalendarError::BadRule {
            line: p.line,
            value: shorten(&p.value),
            reason,
        }
    })?;
    for (kind, message) in rule_notes {
        notes.add(p.line, kind, message);
    }
    Ok(Some(rule))
}

/// [`parse_rule`], reading what real exporters get wrong as they meant it and noting it:
/// `\;` and `\,` (TEXT escaping applied to a RECUR value), `COUNT=-1` (no count), a
/// misspelt part (`UNTL=`), an unknown part (ignored, said so: if it was meant to end the
/// rule, the rule now repeats without end, and the note says that).
pub(crate) fn parse_rule_noting(value: &str, notes: &mut Vec<RuleNote>) -> Result<Rule, String> {
    let unescaped;
    let value = if value.contains("\\;") || value.contains("\\,") {
        unescaped = value.replace("\\;", ";").replace("\\,", ",");
        notes.push((
            "rrule_escaped",
            "the RRULE escapes ';' or ',' with a backslash as if it were text; read without the backslashes".into(),
        ));
        unescaped.as_str()
    } else {
        value
    };
    let mut rule = Rule {
        freq: Freq::Daily,
        interval: 1,
        count: None,
        until: None,
        by: ByParts::default(),
        setpos: vec![],
        wkst: 0,
    };
    let mut freq = None;
    let mut ignored: Vec<String> = Vec::new();
    for part in value.split(';').filter(|p| !p.trim().is_empty()) {
        let (key, val) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}' has no '='"))?;
        let mut key = key.trim().to_ascii_uppercase();
        let val = val.trim();
        if !RULE_PARTS.contains(&key.as_str()) && !key.starts_with("X-") {
            if let Some(meant) = misspelt_part(&key) {
                notes.push((
                    "misspelt_rule_part",
                    format!("rule part '{key}' read as {meant}"),
                ));
                key = meant.to_string();
            }
        }
        match key.as_str() {
            "FREQ" => freq = Some(parse_freq(val)?),
            "INTERVAL" => {
                rule.interval = val
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=1_000_000).contains(n))
                    .ok_or_else(|| format!("INTERVAL '{val}' is not a positive number"))?
            }
            "COUNT" => match val.parse::<i64>() {
                Ok(n) if n >= 0 => rule.count = Some(n as u64),
                // Some calendar libraries write -1 for "no limit".
                Ok(n) => {
                    notes.push((
                        "negative_count",
                        format!("COUNT={n} read as no COUNT: the rule repeats without end"),
                    ));
                    rule.count = None;
                }
                Err(_) => return Err(format!("COUNT '{val}' is not a number")),
            },
            "UNTIL" => {
                let date = val.strip_suffix(['Z', 'z']).and_then(parse_date);
                rule.until = Some(match date {
                    // `UNTIL=20260310Z`: a date with a Z it cannot have.
                    Some(d) if val.len() == 9 => {
                        notes.push((
                            "date_with_time_or_z",
                            format!("UNTIL '{val}' is a date with a Z; read as the date"),
                        ));
                        When::Date(d)
                    }
                    _ => parse_until(val)?,
                })
            }
            "BYSECOND" => rule.by.second = int_list(&key, val, 0, 60)?,
            "BYMINUTE" => rule.by.minute = int_list(&key, val, 0, 59)?,
            "BYHOUR" => rule.by.hour = int_list(&key, val, 0, 23)?,
            "BYMONTH" => rule.by.month = int_list(&key, val, 1, 12)?,
            "BYMONTHDAY" => rule.by.monthday = signed_list(&key, val, 31)?,
            "BYYEARDAY" => rule.by.yearday = signed_list(&key, val, 366)?,
            "BYWEEKNO" => rule.by.weekno = signed_list(&key, val, 53)?,
            "BYSETPOS" => rule.setpos = signed_list(&key, val, 366)?,
            "BYDAY" => rule.by.day = val.split(',').map(parse_byday).collect::<Result<_, _>>()?,
            "WKST" => rule.wkst = parse_weekday(val)?,
            // RFC 5545 allows x-name parts; they mean nothing to free/busy.
            k if k.starts_with("X-") => {}
            _ => ignored.push(key.clone()),
        }
    }
    if !ignored.is_empty() {
        let endless = if rule.count.is_none() && rule.until.is_none() {
            "; the rule has no COUNT or UNTIL, so it repeats without end"
        } else {
            ""
        };
        notes.push((
            "unknown_rule_part",
            format!("unknown rule part {} ignored{endless}", ignored.join(", ")),
        ));
    }
    rule.freq = freq.ok_or("it has no FREQ")?;
    // Leap seconds do not exist in free/busy; 60 means the last second.
    for s in &mut rule.by.second {
        *s = (*s).min(59);
    }
    for list in [
        &mut rule.by.second,
        &mut rule.by.minute,
        &mut rule.by.hour,
        &mut rule.by.month,
    ] {
        list.sort_unstable();
        list.dedup();
    }
    Ok(rule)
}

fn parse_freq(v: &str) -> Result<Freq, String> {
    Ok(match v.to_ascii_uppercase().as_str() {
        "SECONDLY" => Freq::Secondly,
        "MINUTELY" => Freq::Minutely,
        "HOURLY" => Freq::Hourly,
        "DAILY" => Freq::Daily,
        "WEEKLY" => Freq::Weekly,
        "MONTHLY" => Freq::Monthly,
        "YEARLY" => Freq::Yearly,
        _ => return Err(format!("FREQ '{v}' is not SECONDLY … YEARLY")),
    })
}

fn parse_until(v: &str) -> Result<When, String> {
    if let Some(d) = parse_date(v) {
        return Ok(When::Date(d));
    }
    match parse_date_time(v) {
        Some((l, true)) => Ok(When::Utc(l)),
        // A floating UNTIL is only valid with a floating DTSTART; with a zoned DTSTART old
        // clients still write it, and the event's zone is the only sensible reading.
        Some((l, false)) => Ok(When::Floating(l)),
        None => Err(format!("UNTIL '{v}' is not a date or date-time")),
    }
}

fn parse_weekday(v: &str) -> Result<Weekday, String> {
    const NAMES: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
    NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(v))
        .map(|i| i as Weekday)
        .ok_or_else(|| format!("'{v}' is not a weekday (MO … SU)"))
}

fn parse_byday(v: &str) -> Result<(i32, Weekday), String> {
    let v = v.trim();
    if v.len() < 2 || !v.is_char_boundary(v.len() - 2) {
        return Err(format!("BYDAY '{v}' is not a weekday"));
    }
    let (ord, day) = v.split_at(v.len() - 2);
    let day = parse_weekday(day)?;
    let ord = match ord {
        "" | "+" => 0,
        _ => ord
            .parse::<i32>()
            .ok()
            .filter(|n| *n != 0 && (-53..=53).contains(n))
            .ok_or_else(|| format!("BYDAY '{v}' has a bad ordinal"))?,
    };
    Ok((ord, day))
}

fn int_list(key: &str, v: &str, min: i32, max: i32) -> Result<Vec<u8>, String> {
    v.split(',')
        .map(|x| {
            x.trim()
                .parse::<i32>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .map(|n| n as u8)
                .ok_or_else(|| format!("{key} value '{x}' is not in {min}..{max}"))
        })
        .collect()
}

/// ±1..=max, zero excluded (RFC 5545 gives no meaning to 0).
fn signed_list(key: &str, v: &str, max: i32) -> Result<Vec<i32>, String> {
    v.split(',')
        .map(|x| {
            x.trim()
                .parse::<i32>()
                .ok()
                .filter(|n| *n != 0 && (-max..=max).contains(n))
                .ok_or_else(|| format!("{key} value '{x}' is not in ±1..{max}"))
        })
        .collect()
}

/// Where to start and stop walking periods; both are hints in the event's wall clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds {
    /// Periods that end before this cannot matter (ignored when COUNT is set, because COUNT
    /// counts from DTSTART).
    pub skip_before: Option<LocalDt>,
    /// No instance after this matters.
    pub stop_after: LocalDt,
}

/// The instances of one rule from DTSTART (which is always the first, RFC 5545 §3.8.5.3,
/// and counts toward COUNT even if the rule would not produce it). Ends at COUNT, at
/// `stop_after`, at year 9999, or when the step budget is spent ([`Instances::exhausted`]).
/// UNTIL is applied by the caller, who knows the zone.
pub(crate) struct Instances<'a> {
    rule: &'a Rule,
    dtstart: LocalDt,
    expanded: Expanded,
    period: i64,
    buffer: Vec<LocalDt>,
    pos: usize,
    emitted: u64,
    started: bool,
    stop_after: LocalDt,
    steps: u64,
    done: bool,
    pub exhausted: bool,
}

/// The BYxxx lists after RFC 5545's defaults from DTSTART are filled in.
struct Expanded {
    by_day: Vec<(i32, Weekday)>,
    by_monthday: Vec<i32>,
    by_month: Vec<u8>,
    hours: Vec<u8>,
    minutes: Vec<u8>,
    seconds: Vec<u8>,
}

impl<'a> Instances<'a> {
    pub fn new(rule: &'a Rule, dtstart: LocalDt, bounds: Bounds) -> Self {
        let expanded = expand_defaults(rule, dtstart);
        let period = match (rule.count, bounds.skip_before) {
            (None, Some(t)) => first_useful_period(rule, dtstart, t),
            _ => 0,
        };
        Instances {
            rule,
            dtstart,
            expanded,
            period,
            buffer: Vec::new(),
            pos: 0,
            emitted: 0,
            started: false,
            stop_after: bounds.stop_after,
            steps: 0,
            done: false,
            exhausted: false,
        }
    }

    fn fill_next_period(&mut self) {
        self.buffer.clear();
        self.pos = 0;
        let Some((days, start_sec)) =
            period_days(self.rule, &self.expanded, self.dtstart, self.period)
        else {
            self.done = true;
            return;
        };
        self.period += 1;
        self.steps += 1;
        if days
            .first()
            .is_some_and(|d| LocalDt::new(*d, 0) > self.stop_after)
        {
            self.done = true;
            return;
        }
        if days.last().is_some_and(|d| civil_from_days(*d).0 > 9999) {
            self.done = true;
            return;
        }
        let (hours, minutes, seconds) = self.times_for_period(start_sec);
        for &day in &days {
            if !day_matches(self.rule, &self.expanded, day) {
                continue;
            }
            for &h in &hours {
                for &m in &minutes {
                    for &s in &seconds {
                        self.steps += 1;
                        let sec = i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s);
                        self.buffer.push(LocalDt { day, sec });
                    }
                }
            }
            if self.steps > STEP_BUDGET {
                break;
            }
        }
        apply_setpos(&self.rule.setpos, &mut self.buffer);
    }

    /// For sub-daily frequencies the period fixes the hour/minute/second it stands for;
    /// the BY lists then only filter it.
    fn times_for_period(&self, start_sec: i64) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let e = &self.expanded;
        let (h, m, s) = LocalDt::new(0, start_sec).hms();
        let only = |v: u8, by: &[u8]| -> Vec<u8> {
            if by.is_empty() || by.contains(&v) {
                vec![v]
            } else {
                vec![]
            }
        };
        let r = self.rule;
        match r.freq {
            Freq::Secondly => (
                only(h, &r.by.hour),
                only(m, &r.by.minute),
                only(s, &r.by.second),
            ),
            Freq::Minutely => (
                only(h, &r.by.hour),
                only(m, &r.by.minute),
                e.seconds.clone(),
            ),
            Freq::Hourly => (only(h, &r.by.hour), e.minutes.clone(), e.seconds.clone()),
            _ => (e.hours.clone(), e.minutes.clone(), e.seconds.clone()),
        }
    }
}

impl Iterator for Instances<'_> {
    type Item = LocalDt;

    fn next(&mut self) -> Option<LocalDt> {
        if self.rule.count.is_some_and(|c| self.emitted >= c) {
            return None;
        }
        if !self.started {
            self.started = true;
            self.emitted = 1;
            return Some(self.dtstart);
        }
        loop {
            if self.done {
                return None;
            }
            if self.steps > STEP_BUDGET {
                self.exhausted = true;
                self.done = true;
                return None;
            }
            while self.pos < self.buffer.len() {
                let c = self.buffer[self.pos];
                self.pos += 1;
                // DTSTART was emitted first; the rule may or may not produce it again.
                if c <= self.dtstart {
                    continue;
                }
                if c > self.stop_after {
                    self.done = true;
                    return None;
                }
                self.emitted += 1;
                return Some(c);
            }
            self.fill_next_period();
        }
    }
}

/// RFC 5545's implied parts: without any BYxxx day part, WEEKLY repeats DTSTART's
/// weekday, MONTHLY its day of month, YEARLY its month and day; frequencies coarser than
/// the time parts repeat DTSTART's hour, minute and second.
fn expand_defaults(rule: &Rule, dtstart: LocalDt) -> Expanded {
    let (_, month, dom) = dtstart.ymd();
    let (h, m, s) = dtstart.hms();
    let mut by_day = rule.by.day.clone();
    let mut by_monthday = rule.by.monthday.clone();
    let mut by_month = rule.by.month.clone();
    if !rule.by.has_day_part() {
        match rule.freq {
            Freq::Yearly => {
                if by_month.is_empty() {
                    by_month.push(month);
                }
                by_monthday.push(i32::from(dom));
            }
            Freq::Monthly => by_monthday.push(i32::from(dom)),
            Freq::Weekly => by_day.push((0, weekday(dtstart.day))),
            _ => {}
        }
    }
    let or = |by: &[u8], v: u8| if by.is_empty() { vec![v] } else { by.to_vec() };
    Expanded {
        by_day,
        by_monthday,
        by_month,
        hours: or(&rule.by.hour, h),
        minutes: or(&rule.by.minute, m),
        seconds: or(&rule.by.second, s),
    }
}

/// Days in the Gregorian calendar's cycle: every civil fact a rule's day parts test (month,
/// day of month, day of year, ISO-style week number, weekday) repeats after it, since
/// 146 097 days are exactly 20 871 weeks.
pub(crate) const GREGORIAN_CYCLE_DAYS: i64 = 146_097;

/// An upper bound on the instances `rule` (with this DTSTART) can put on any one local day.
/// Exact for the time parts; INTERVAL only lowers it for the sub-daily frequencies (the
/// period it strides over is within a day), and BYSETPOS, which only removes, is ignored.
pub(crate) fn per_day_bound(rule: &Rule, dtstart: LocalDt) -> u64 {
    let e = expand_defaults(rule, dtstart);
    let n = |by: &[u8], all: u64| if by.is_empty() { all } else { by.len() as u64 };
    let stride = |slots: u64, units_per_day: u64| {
        let interval = rule.interval.max(1) as u64;
        slots.min(units_per_day.div_ceil(interval))
    };
    match rule.freq {
        Freq::Secondly => stride(
            n(&rule.by.hour, 24) * n(&rule.by.minute, 60) * n(&rule.by.second, 60),
            86_400,
        ),
        Freq::Minutely => {
            stride(n(&rule.by.hour, 24) * n(&rule.by.minute, 60), 1_440) * e.seconds.len() as u64
        }
        Freq::Hourly => {
            stride(n(&rule.by.hour, 24), 24) * (e.minutes.len() * e.seconds.len()) as u64
        }
        _ => (e.hours.len() * e.minutes.len() * e.seconds.len()) as u64,
    }
}

/// An upper bound on the instances `rule` can put into any `days` consecutive local days:
/// its per-day bound times the days that can match, counted per period for the common
/// frequencies (a weekly meeting on two weekdays holds at most two days a week), and
/// COUNT if smaller. `until_day` before `from_day` (a rule that ended): zero.
pub(crate) fn window_bound(rule: &Rule, dtstart: LocalDt, days: i64, from_day: i64) -> u64 {
    let ended = match rule.until {
        Some(When::Date(d)) => d < from_day,
        Some(When::Utc(u)) | Some(When::Floating(u)) | Some(When::Zoned(u, _)) => {
            u.day + 1 < from_day
        }
        None => false,
    };
    if ended {
        return 0;
    }
    let e = expand_defaults(rule, dtstart);
    let interval = rule.interval.max(1);
    let days = days.max(0);
    let matching = match rule.freq {
        Freq::Daily => days / interval + 1,
        Freq::Weekly => (days / (7 * interval) + 2) * (e.by_day.len() as i64).clamp(1, 7),
        Freq::Monthly if !e.by_monthday.is_empty() => {
            (days / (28 * interval) + 2) * (e.by_monthday.len() as i64).min(31)
        }
        _ => days,
    }
    .min(days);
    let w = per_day_bound(rule, dtstart).saturating_mul(matching as u64);
    rule.count.map_or(w, |c| w.min(c))
}

/// Add `per_day` to `out[i]` for every day `from_day + i` the rule's day parts let through
/// (ignoring INTERVAL, so an upper bound), from DTSTART's day and up to UNTIL's. Returns
/// the days looked at, for the caller's budget.
pub(crate) fn add_day_bounds(
    rule: &Rule,
    dtstart: LocalDt,
    from_day: i64,
    per_day: u64,
    out: &mut [u64],
) -> u64 {
    let e = expand_defaults(rule, dtstart);
    let last = match rule.until {
        Some(When::Date(d)) => d,
        Some(When::Utc(u)) | Some(When::Floating(u)) | Some(When::Zoned(u, _)) => {
            // A zoned or UTC UNTIL is an instant; a day either side covers any offset.
            u.day + 1
        }
        None => i64::MAX,
    };
    let mut looked = 0;
    for (i, slot) in out.iter_mut().enumerate() {
        let day = from_day + i as i64;
        if day < dtstart.day {
            continue;
        }
        if day > last {
            break;
        }
        looked += 1;
        if day_matches(rule, &e, day) {
            *slot = slot.saturating_add(per_day);
        }
    }
    looked
}

/// Start of the week (per WKST) that contains `day`.
fn week_start(day: i64, wkst: Weekday) -> i64 {
    day - i64::from((weekday(day) + 7 - wkst) % 7)
}

/// The days of period `k` and, for sub-daily frequencies, the second of the day the
/// period starts at. `None` past the representable range.
fn period_days(rule: &Rule, e: &Expanded, dtstart: LocalDt, k: i64) -> Option<(Vec<i64>, i64)> {
    let n = k.checked_mul(rule.interval)?;
    let (y0, m0, _) = dtstart.ymd();
    Some(match rule.freq {
        Freq::Yearly => {
            let year = i64::from(y0).checked_add(n)?;
            if year > 9999 {
                return None;
            }
            let year = year as i32;
            let months: Vec<u8> = if e.by_month.is_empty() {
                (1..=12).collect()
            } else {
                e.by_month.clone()
            };
            // Only the listed months: a yearly rule in a VTIMEZONE from 1601 stays cheap.
            let days = if rule.by.weekno.is_empty() && rule.by.yearday.is_empty() {
                months.iter().flat_map(|&m| month_days(year, m)).collect()
            } else {
                let first = days_from_civil(year, 1, 1);
                (first..days_from_civil(year + 1, 1, 1)).collect()
            };
            (days, 0)
        }
        Freq::Monthly => {
            let idx = i64::from(y0) * 12 + i64::from(m0) - 1 + n;
            let year = idx.div_euclid(12);
            if year > 9999 {
                return None;
            }
            (
                month_days(year as i32, (idx.rem_euclid(12) + 1) as u8).collect(),
                0,
            )
        }
        Freq::Weekly => {
            let start = week_start(dtstart.day, rule.wkst).checked_add(n.checked_mul(7)?)?;
            ((start..start + 7).collect(), 0)
        }
        Freq::Daily => (vec![dtstart.day.checked_add(n)?], 0),
        Freq::Hourly | Freq::Minutely | Freq::Secondly => {
            let unit = match rule.freq {
                Freq::Hourly => 3600,
                Freq::Minutely => 60,
                _ => 1,
            };
            let base = dtstart.as_secs() - dtstart.as_secs().rem_euclid(unit);
            let at = LocalDt::from_secs(base.checked_add(n.checked_mul(unit)?)?);
            (vec![at.day], at.sec)
        }
    })
}

fn month_days(year: i32, month: u8) -> std::ops::Range<i64> {
    let first = days_from_civil(year, month, 1);
    first..first + i64::from(days_in_month(year, month))
}

/// The first period that can hold an instance at or after `t`: everything earlier is
/// skipped without being listed. Exact for fixed-length periods; one period early at worst
/// for months and years, which only costs one extra period.
fn first_useful_period(rule: &Rule, dtstart: LocalDt, t: LocalDt) -> i64 {
    if t <= dtstart {
        return 0;
    }
    let (y0, m0, _) = dtstart.ymd();
    let (y1, m1, _) = t.ymd();
    let units = match rule.freq {
        Freq::Yearly => i64::from(y1 - y0),
        Freq::Monthly => {
            (i64::from(y1) * 12 + i64::from(m1)) - (i64::from(y0) * 12 + i64::from(m0))
        }
        Freq::Weekly => (week_start(t.day, rule.wkst) - week_start(dtstart.day, rule.wkst)) / 7,
        Freq::Daily => t.day - dtstart.day,
        Freq::Hourly => t.as_secs().div_euclid(3600) - dtstart.as_secs().div_euclid(3600),
        Freq::Minutely => t.as_secs().div_euclid(60) - dtstart.as_secs().div_euclid(60),
        Freq::Secondly => t.as_secs() - dtstart.as_secs(),
    };
    (units.div_euclid(rule.interval) - 1).max(0)
}

fn day_matches(rule: &Rule, e: &Expanded, day: i64) -> bool {
    let (year, month, dom) = civil_from_days(day);
    if !e.by_month.is_empty() && !e.by_month.contains(&month) {
        return false;
    }
    let year_len: i32 = if is_leap_year(year) { 366 } else { 365 };
    let doy = (day - days_from_civil(year, 1, 1)) as i32 + 1;
    if !rule.by.yearday.is_empty() && !counted_either_way(&rule.by.yearday, doy, year_len) {
        return false;
    }
    let month_len = i32::from(days_in_month(year, month));
    let dom = i32::from(dom);
    if !e.by_monthday.is_empty() && !counted_either_way(&e.by_monthday, dom, month_len) {
        return false;
    }
    if rule.freq == Freq::Yearly && !rule.by.weekno.is_empty() && !weekno_matches(rule, day, year) {
        return false;
    }
    if !e.by_day.is_empty() {
        let wd = weekday(day);
        // Ordinals count within the month for MONTHLY (and YEARLY narrowed by BYMONTH),
        // within the year for plain YEARLY, and mean nothing for other frequencies.
        let scope = match rule.freq {
            Freq::Monthly => Some((dom, month_len)),
            Freq::Yearly if !rule.by.month.is_empty() => Some((dom, month_len)),
            Freq::Yearly if rule.by.weekno.is_empty() => Some((doy, year_len)),
            _ => None,
        };
        let hit = e.by_day.iter().any(|&(ord, d)| {
            d == wd
                && match (ord, scope) {
                    (0, _) | (_, None) => true,
                    (o, Some((pos, _))) if o > 0 => (pos - 1) / 7 + 1 == o,
                    (o, Some((pos, len))) => -((len - pos) / 7 + 1) == o,
                }
        });
        if !hit {
            return false;
        }
    }
    true
}

/// First day of week 1 of `year` per WKST: the week holding at least four days of the year.
fn week1_start(year: i32, wkst: Weekday) -> i64 {
    let jan1 = days_from_civil(year, 1, 1);
    let into_week = i64::from((weekday(jan1) + 7 - wkst) % 7);
    if into_week <= 3 {
        jan1 - into_week
    } else {
        jan1 + 7 - into_week
    }
}

/// Whether `day` is in one of BYWEEKNO's weeks, counted in the week-numbering year the day
/// belongs to (late December can be week 1 of the next year, early January the last week
/// of the previous one).
fn weekno_matches(rule: &Rule, day: i64, year: i32) -> bool {
    let week_year = if day < week1_start(year, rule.wkst) {
        year - 1
    } else if day >= week1_start(year + 1, rule.wkst) {
        year + 1
    } else {
        year
    };
    let start = week1_start(week_year, rule.wkst);
    let weeks = ((week1_start(week_year + 1, rule.wkst) - start) / 7) as i32;
    let no = ((day - start) / 7) as i32 + 1;
    counted_either_way(&rule.by.weekno, no, weeks)
}

/// Whether `list` names the `n`-th of `len` (1-based), counted from the start (`n`) or,
/// negative, from the end (`-1` is the last): BYMONTHDAY, BYYEARDAY and BYWEEKNO alike.
fn counted_either_way(list: &[i32], n: i32, len: i32) -> bool {
    list.iter().any(|&v| v == n || v == n - len - 1)
}

/// Keep only the BYSETPOS-th members of one period's sorted candidates.
fn apply_setpos(setpos: &[i32], set: &mut Vec<LocalDt>) {
    if setpos.is_empty() {
        return;
    }
    set.sort_unstable();
    set.dedup();
    let len = set.len() as i64;
    let mut keep: Vec<LocalDt> = setpos
        .iter()
        .filter_map(|&p| {
            let i = if p > 0 {
                i64::from(p) - 1
            } else {
                len + i64::from(p)
            };
            (0..len).contains(&i).then(|| set[i as usize])
        })
        .collect();
    keep.sort_unstable();
    keep.dedup();
    *set = keep;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> LocalDt {
        parse_date_time(s).unwrap().0
    }

    fn fmt(l: LocalDt) -> String {
        let (y, m, d) = l.ymd();
        let (h, mi, s) = l.hms();
        format!("{y:04}{m:02}{d:02}T{h:02}{mi:02}{s:02}")
    }

    /// All instances up to `stop` (inclusive), as compact strings.
    fn run(rule: &str, start: &str, stop: &str) -> Vec<String> {
        let r = parse_rule(rule).unwrap();
        let it = Instances::new(
            &r,
            dt(start),
            Bounds {
                skip_before: None,
                stop_after: dt(stop),
            },
        );
        it.map(fmt).collect()
    }

    /// Rule, DTSTART, the bound (inclusive) and every instance up to it: `YYYYMMDD` where
    /// the days are the point, the whole stamp where the times are. One row a line, in
    /// groups named after what they pin.
    #[rustfmt::skip]
    const EXPANSIONS: &[(&str, &str, &str, &[&str])] = &[
        // daily with interval and count
        // Every other day from Mon 2026-0105 09:00, three times.
        ("FREQ=DAILY;INTERVAL=2;COUNT=3", "20260105T090000", "20270101T000000", &["20260105T090000", "20260107T090000", "20260109T090000"]),
        // weekly byday and wkst
        // RFC 5545 example: WKST changes which days an INTERVAL=2 week holds.
        // DTSTART Tue 1997-08-05; WKST=MO → Aug 5, 10, 19, 24.
        ("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO", "19970805T090000", "19980101T000000", &["19970805", "19970810", "19970819", "19970824"]),
        // WKST=SU → Aug 5, 17, 19, 31.
        ("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU", "19970805T090000", "19980101T000000", &["19970805", "19970817", "19970819", "19970831"]),
        // weekly default day is dtstart weekday
        ("FREQ=WEEKLY;COUNT=3", "20260302T100000", "20270101T000000", &["20260302", "20260309", "20260316"]),
        // monthly byday ordinals
        // Second Monday: Jan 12, Feb 9, Mar 9 2026.
        ("FREQ=MONTHLY;BYDAY=2MO;COUNT=3", "20260112T090000", "20270101T000000", &["20260112", "20260209", "20260309"]),
        // Last Friday: Jan 30, Feb 27, Mar 27 2026.
        ("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", "20260130T090000", "20270101T000000", &["20260130", "20260227", "20260327"]),
        // monthly negative monthday and invalid dates skipped
        // Last day of the month.
        ("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3", "20260131T120000", "20270101T000000", &["20260131", "20260228", "20260331"]),
        // The 30th: February has none, so it is skipped (not clamped).
        ("FREQ=MONTHLY;COUNT=3", "20260130T120000", "20270101T000000", &["20260130", "20260330", "20260430"]),
        // yearly bymonth byday like us dst
        // Second Sunday of March at 02:00, as VTIMEZONEs write US DST.
        ("FREQ=YEARLY;BYMONTH=3;BYDAY=2SU;COUNT=3", "20070311T020000", "20300101T000000", &["20070311", "20080309", "20090308"]),
        // Last Sunday of October.
        ("FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;COUNT=2", "19961027T030000", "20300101T000000", &["19961027", "19971026"]),
        // yearly leap day only in leap years
        ("FREQ=YEARLY", "20240229T120000", "20330101T000000", &["20240229", "20280229", "20320229"]),
        // yearly byyearday and byweekno
        // Day 1, 100 and the last day (-1) of each year.
        ("FREQ=YEARLY;BYYEARDAY=1,100,-1;COUNT=4", "20250101T000000", "20300101T000000", &["20250101", "20250410", "20251231", "20260101"]),
        // RFC 5545: Monday of week 20 → 1997-05-12, 1998-05-11, 1999-05-17.
        ("FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO;COUNT=3", "19970512T090000", "20300101T000000", &["19970512", "19980511", "19990517"]),
        // Week 1 of 2026 starts Mon 2025-12-29, so its Monday lies in 2025's period.
        ("FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO;COUNT=3", "20250101T090000", "20300101T000000", &["20250101", "20251229", "20270104"]),
        // bysetpos last workday of month
        // RFC 5545: last work day of the month. Jan 30 2026 (Fri), Feb 27 (Fri), Mar 31 (Tue).
        ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3", "20260130T170000", "20270101T000000", &["20260130", "20260227", "20260331"]),
        // Third instance of Tue/Wed/Thu in each month: 1997-09-04, 10-07, 11-06 (RFC).
        ("FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3", "19970904T090000", "19980101T000000", &["19970904", "19971007", "19971106"]),
        // byhour byminute expand daily
        ("FREQ=DAILY;BYHOUR=9,14;BYMINUTE=0,30;COUNT=5", "20260105T090000", "20270101T000000", &["20260105T090000", "20260105T093000", "20260105T140000", "20260105T143000", "20260106T090000"]),
        // hourly and minutely
        ("FREQ=HOURLY;INTERVAL=3;COUNT=3", "20260105T230000", "20270101T000000", &["20260105T230000", "20260106T020000", "20260106T050000"]),
        ("FREQ=MINUTELY;INTERVAL=20;BYHOUR=9;COUNT=4", "20260105T090000", "20270101T000000", &["20260105T090000", "20260105T092000", "20260105T094000", "20260106T090000"]),
        ("FREQ=SECONDLY;INTERVAL=30;COUNT=3", "20260105T090000", "20270101T000000", &["20260105T090000", "20260105T090030", "20260105T090100"]),
        // daily limited by month and weekday
        // Every weekday in January only, RFC style.
        ("FREQ=DAILY;BYMONTH=1;BYDAY=MO,TU,WE,TH,FR", "20260129T080000", "20270105T235959", &["20260129", "20260130", "20270101", "20270104", "20270105"]),
        // dtstart counts even when rule skips it
        // DTSTART on a Sunday, rule on Mondays: Sunday is still the first of COUNT=2.
        ("FREQ=WEEKLY;BYDAY=MO;COUNT=2", "20260104T090000", "20270101T000000", &["20260104", "20260105"]),
        // bysecond expands minutely
        ("FREQ=MINUTELY;INTERVAL=2;BYSECOND=0,30;COUNT=4", "20260105T090000", "20270101T000000", &["20260105T090000", "20260105T090030", "20260105T090200", "20260105T090230"]),
        // never matching rule stops at the bound
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "20260101T000000", "20300101T000000", &["20260101T000000"]),
    ];

    #[test]
    fn rules_expand_to_the_listed_instances() {
        for (rule, start, stop, want) in EXPANSIONS {
            let got = run(rule, start, stop);
            let width = want.first().map_or(15, |w| w.len());
            let got: Vec<&str> = got.iter().map(|s| &s[..width]).collect();
            assert_eq!(got, *want, "{rule} from {start} to {stop}");
        }
    }

    #[test]
    fn skipping_periods_gives_the_same_tail() {
        let r = parse_rule("FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,TH").unwrap();
        let start = dt("20200106T090000");
        let stop = dt("20261231T000000");
        let all: Vec<_> = Instances::new(
            &r,
            start,
            Bounds {
                skip_before: None,
                stop_after: stop,
            },
        )
        .collect();
        let from = dt("20260601T000000");
        let skipped: Vec<_> = Instances::new(
            &r,
            start,
            Bounds {
                skip_before: Some(from),
                stop_after: stop,
            },
        )
        .filter(|l| *l >= from)
        .collect();
        let expected: Vec<_> = all.into_iter().filter(|l| *l >= from).collect();
        assert_eq!(skipped, expected);
        assert!(!expected.is_empty());
    }

    proptest::proptest! {
        /// Skipping periods before a bound never changes the instances after it.
        #[test]
        fn skip_before_is_invisible(
            freq in 0usize..5,
            interval in 1i64..5,
            days in proptest::sample::subsequence(vec!["MO", "TU", "WE", "TH", "FR", "SA", "SU"], 0..4),
            start_day in 0i64..3000,
            skip_days in 0i64..3000,
        ) {
            let freq = ["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"][freq];
            let mut text = format!("FREQ={freq};INTERVAL={interval}");
            if !days.is_empty() {
                text.push_str(&format!(";BYDAY={}", days.join(",")));
            }
            let r = parse_rule(&text).unwrap();
            let start = LocalDt::new(18_000 + start_day, 9 * 3600);
            let from = start.plus_days(skip_days);
            let stop = from.plus_days(if freq == "HOURLY" { 3 } else { 400 });
            let all: Vec<_> = Instances::new(&r, start, Bounds { skip_before: None, stop_after: stop })
                .filter(|l| *l >= from)
                .collect();
            let skipped: Vec<_> = Instances::new(&r, start, Bounds { skip_before: Some(from), stop_after: stop })
                .filter(|l| *l >= from)
                .collect();
            proptest::prop_assert_eq!(skipped, all);
        }
    }

    #[test]
    fn rule_parse_errors() {
        assert!(parse_rule("INTERVAL=2").unwrap_err().contains("no FREQ"));
        assert!(parse_rule("FREQ=FORTNIGHTLY").is_err());
        assert!(parse_rule("FREQ=DAILY;INTERVAL=0").is_err());
        assert!(parse_rule("FREQ=DAILY;BYMONTHDAY=0").is_err());
        assert!(parse_rule("FREQ=DAILY;BYDAY=XX").is_err());
        assert!(parse_rule("FREQ=DAILY;BYDAY=0MO").is_err());
        assert!(parse_rule("FREQ=DAILY;UNTIL=tomorrow").is_err());
        assert!(parse_rule("FREQ=DAILY;BYHOUR=24").is_err());
        assert!(parse_rule("FREQ=DAILY;X-FOO=1").is_ok());
        let r = parse_rule("FREQ=MONTHLY;BYDAY=+2MO,-1FR,SU;UNTIL=20261231T235959Z").unwrap();
        assert_eq!(r.by.day, vec![(2, 0), (-1, 4), (0, 6)]);
        assert!(matches!(r.until, Some(When::Utc(_))));
    }
}
