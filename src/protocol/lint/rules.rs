//! The rules, one predicate each, in the order findings are listed.

use super::{
    Facts, Hit, LintMessage, Rule, Severity, dn_of, month_text, same, string_prop, subject_text,
};
use crate::protocol::freebusy::{Interval, IntervalSet};
use crate::protocol::legacy_dn::LegacyDn;
use crate::protocol::mapi::{PropName, PropValue, tags};
use crate::protocol::pffb::{self, PffbKind, PffbProps, StatusProps};
use crate::protocol::time::{FileTime, Minutes1601, MonthKey};

use Severity::{Error, Info, Warning};

const OUTLOOK: &str = "Outlook";
const GCC: &str = "GCC";
const ZIMBRA: &str = "Zimbra";
const EVOLUTION: &str = "evolution-exchange";

macro_rules! rule {
    ($name:literal, $sev:expr, [$($p:expr),*], $about:literal, $check:expr) => {
        Rule { name: $name, severity: $sev, publishers: &[$($p),*], about: $about, check: $check }
    };
}

pub static RULES: &[Rule] = &[
    rule!(
        "wrong-type",
        Error,
        [],
        "a months or blocks property is not of type mv.int / mv.bin.base64",
        wrong_type
    ),
    rule!(
        "half-set",
        Error,
        [],
        "a status has its months property without its blocks property, or the reverse",
        half_set
    ),
    rule!(
        "length-mismatch",
        Error,
        [],
        "a status lists a different number of months and block values",
        length_mismatch
    ),
    rule!(
        "month-invalid",
        Warning,
        [ZIMBRA],
        "a month value is no month (month 0 or 13-15), listed with an empty block value",
        month_invalid
    ),
    rule!(
        "month-invalid-with-blocks",
        Error,
        [],
        "a month value is no month but holds blocks",
        month_invalid_with_blocks
    ),
    rule!(
        "months-unsorted",
        Warning,
        [],
        "month values are not in ascending order, or one is listed twice",
        months_unsorted
    ),
    rule!(
        "block-malformed",
        Error,
        [],
        "a block value's length is not a multiple of 4, or a block ends before it starts",
        block_malformed
    ),
    rule!(
        "blocks-unsorted",
        Error,
        [],
        "blocks of a month are not sorted by start",
        blocks_unsorted
    ),
    rule!(
        "blocks-overlap",
        Error,
        [],
        "two blocks of a month overlap",
        blocks_overlap
    ),
    rule!(
        "blocks-adjacent",
        Warning,
        [],
        "two blocks of a month touch but were not merged into one",
        blocks_adjacent
    ),
    rule!(
        "block-zero-length",
        Warning,
        [],
        "a block starts where it ends",
        block_zero_length
    ),
    rule!(
        "block-past-month-end",
        Warning,
        [ZIMBRA],
        "a block ends past its month's length (the event runs on into the next month)",
        block_past_month_end
    ),
    rule!(
        "month-end-one-minute-short",
        Info,
        [],
        "a block ends one minute short of its month (44639 in a 31-day month) and the next month starts at minute 0",
        month_end_one_minute_short
    ),
    rule!(
        "unset-and-empty-mixed",
        Warning,
        [GCC, EVOLUTION],
        "one status is unset (as Outlook writes) while another lists months with empty values (as Exchange writes)",
        unset_and_empty_mixed
    ),
    rule!(
        "merged-only",
        Info,
        [],
        "only merged is set: readers take it as busy",
        merged_only
    ),
    rule!(
        "merged-not-busy-or-oof",
        Error,
        [EVOLUTION],
        "merged is not busy ∪ OOF",
        merged_not_busy_or_oof
    ),
    rule!(
        "tentative-in-merged",
        Error,
        [],
        "merged holds tentative time, which Exchange leaves out of it",
        tentative_in_merged
    ),
    rule!(
        "range-missing",
        Warning,
        [],
        "the publish range (0x68470003, 0x68480003) is missing or not an int",
        range_missing
    ),
    rule!(
        "range-unix-seconds",
        Error,
        [EVOLUTION],
        "the publish range is in Unix seconds, not minutes since 1601",
        range_unix_seconds
    ),
    rule!(
        "range-inverted",
        Error,
        [],
        "the publish range ends before it starts",
        range_inverted
    ),
    rule!(
        "range-start-not-month-or-week",
        Warning,
        [OUTLOOK],
        "the publish range does not start at 00:00 UTC of the first of a month or of a week (Sunday)",
        range_start
    ),
    rule!(
        "range-end-not-n-months",
        Warning,
        [],
        "the publish range does not end 0 to 36 calendar months after its start",
        range_end
    ),
    rule!(
        "blocks-outside-range",
        Warning,
        [],
        "blocks lie outside the publish range",
        blocks_outside_range
    ),
    rule!(
        "timestamp-stale",
        Warning,
        [],
        "the publishing timestamp (0x68680040) is older than the message's last change by more than a day",
        timestamp_stale
    ),
    rule!(
        "names-disagree",
        Error,
        [],
        "the subjects, the URL leaf, 0x6849001F and the directory's legacyDN do not name one user",
        names_disagree
    ),
    rule!(
        "duplicate",
        Warning,
        [],
        "an older message of the same subject is in the folder (MadFB's nightly cleanup keeps the oldest)",
        duplicate
    ),
    rule!(
        "non-canonical-url",
        Warning,
        [],
        "the URL leaf is not the subject + .EML",
        non_canonical_url
    ),
    rule!(
        "owner-not-in-directory",
        Warning,
        [],
        "the message names nobody in the directory",
        owner_not_in_directory
    ),
];

fn status_name(kind: PffbKind) -> &'static str {
    match kind {
        PffbKind::Merged => "merged",
        PffbKind::Tentative => "tentative",
        PffbKind::Busy => "busy",
        PffbKind::Away => "away",
    }
}

/// A status's two properties as stored: each unset, of the right type, or of another type.
enum Raw<'a, T> {
    Unset,
    Ok(&'a [T]),
    WrongType(&'static str),
}

impl<'a, T> Raw<'a, T> {
    fn get(&self) -> Option<&'a [T]> {
        match self {
            Raw::Ok(v) => Some(v),
            _ => None,
        }
    }
    fn is_unset(&self) -> bool {
        matches!(self, Raw::Unset)
    }
}

fn months_of<'a>(msg: &LintMessage<'a>, kind: PffbKind) -> Raw<'a, i32> {
    match msg.props.get(&PropName::Mapi(kind.months_tag())) {
        None => Raw::Unset,
        Some(PropValue::MvInt(v)) => Raw::Ok(v),
        Some(other) => Raw::WrongType(other.dav_type().unwrap_or("string")),
    }
}

fn blocks_of<'a>(msg: &LintMessage<'a>, kind: PffbKind) -> Raw<'a, Vec<u8>> {
    match msg.props.get(&PropName::Mapi(kind.blocks_tag())) {
        None => Raw::Unset,
        Some(PropValue::MvBinary(v)) => Raw::Ok(v),
        Some(other) => Raw::WrongType(other.dav_type().unwrap_or("string")),
    }
}

/// Each status's (month value, block bytes) pairs, where both properties are well typed.
/// One status's (month value, block bytes) pairs.
type MonthValues<'a> = Vec<(i32, &'a [u8])>;

fn month_values<'a>(msg: &LintMessage<'a>) -> Vec<(PffbKind, MonthValues<'a>)> {
    PffbKind::ALL
        .iter()
        .filter_map(|&k| {
            let m = months_of(msg, k).get()?;
            let b = blocks_of(msg, k).get()?;
            Some((
                k,
                m.iter().copied().zip(b.iter().map(Vec::as_slice)).collect(),
            ))
        })
        .collect()
}

/// The 4-byte blocks of a value, when its length allows.
fn blocks(bytes: &[u8]) -> Option<Vec<(u16, u16)>> {
    (bytes.len() % 4 == 0).then(|| {
        bytes
            .chunks_exact(4)
            .map(|c| {
                (
                    u16::from_le_bytes([c[0], c[1]]),
                    u16::from_le_bytes([c[2], c[3]]),
                )
            })
            .collect()
    })
}

fn hit(kind: PffbKind, month: Option<i32>, sentence: String) -> Hit {
    Hit {
        status: Some(status_name(kind).to_string()),
        month: month.map(month_text),
        sentence,
    }
}

/// Run `f` over each well-formed month of each status: (kind, month, its blocks).
fn each_month(
    msg: &LintMessage<'_>,
    out: &mut Vec<Hit>,
    mut f: impl FnMut(PffbKind, MonthKey, &[(u16, u16)], &mut Vec<Hit>),
) {
    for (kind, months) in month_values(msg) {
        for (value, bytes) in months {
            let (Some(month), Some(bl)) = (MonthKey::from_wire(value), blocks(bytes)) else {
                continue;
            };
            f(kind, month, &bl, out);
        }
    }
}

fn wrong_type(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    for kind in PffbKind::ALL {
        if let Raw::WrongType(t) = months_of(msg, kind) {
            out.push(hit(
                kind,
                None,
                format!(
                    "the months property {} is {t}, not mv.int",
                    kind.months_tag()
                ),
            ));
        }
        if let Raw::WrongType(t) = blocks_of(msg, kind) {
            out.push(hit(
                kind,
                None,
                format!(
                    "the blocks property {} is {t}, not mv.bin.base64",
                    kind.blocks_tag()
                ),
            ));
        }
    }
}

fn half_set(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    for kind in PffbKind::ALL {
        let (m, b) = (months_of(msg, kind), blocks_of(msg, kind));
        if m.is_unset() != b.is_unset() {
            let which = if m.is_unset() { "blocks" } else { "months" };
            out.push(hit(
                kind,
                None,
                format!("only the {which} property is set; readers refuse the status"),
            ));
        }
    }
}

fn length_mismatch(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    for kind in PffbKind::ALL {
        if let (Some(m), Some(b)) = (months_of(msg, kind).get(), blocks_of(msg, kind).get()) {
            if m.len() != b.len() {
                out.push(hit(
                    kind,
                    None,
                    format!("{} months but {} block values", m.len(), b.len()),
                ));
            }
        }
    }
}

fn month_invalid(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    for (kind, months) in month_values(msg) {
        for (value, bytes) in months {
            if MonthKey::from_wire(value).is_none() && bytes.is_empty() {
                out.push(hit(kind, Some(value), format!("month value {value} (month {}) is no month; it is listed with nothing in it", value.rem_euclid(16))));
            }
        }
    }
}

fn month_invalid_with_blocks(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    for (kind, months) in month_values(msg) {
        for (value, bytes) in months {
            if MonthKey::from_wire(value).is_none() && !bytes.is_empty() {
                out.push(hit(kind, Some(value), format!("month value {value} is no month but holds {} bytes of blocks; readers refuse it", bytes.len())));
            }
        }
    }
}

fn months_unsorted(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    for (kind, months) in month_values(msg) {
        if let Some(w) = months.windows(2).find(|w| w[1].0 <= w[0].0) {
            out.push(hit(
                kind,
                Some(w[1].0),
                format!("month value {} follows {}", w[1].0, w[0].0),
            ));
        }
    }
}

fn block_malformed(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    for (kind, months) in month_values(msg) {
        for (value, bytes) in months {
            match blocks(bytes) {
                None => out.push(hit(
                    kind,
                    Some(value),
                    format!(
                        "a block value of {} bytes, not a multiple of 4",
                        bytes.len()
                    ),
                )),
                Some(bl) => {
                    if let Some((s, e)) = bl.iter().find(|(s, e)| e < s) {
                        out.push(hit(
                            kind,
                            Some(value),
                            format!("block {s}..{e} ends before it starts"),
                        ));
                    }
                }
            }
        }
    }
}

/// The first pair of neighbouring blocks in each month (in start order when
/// `in_start_order`) that `judge` has words for, as a hit in those words.
fn neighbours(
    msg: &LintMessage<'_>,
    out: &mut Vec<Hit>,
    in_start_order: bool,
    judge: impl Fn((u16, u16), (u16, u16)) -> Option<String>,
) {
    each_month(msg, out, |kind, month, bl, out| {
        let bl = if in_start_order {
            sorted(bl)
        } else {
            bl.to_vec()
        };
        if let Some(words) = bl.windows(2).find_map(|w| judge(w[0], w[1])) {
            out.push(hit(kind, Some(month.to_wire()), words));
        }
    });
}

fn blocks_unsorted(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    neighbours(msg, out, false, |a, b| {
        (b.0 < a.0).then(|| format!("block {}..{} follows block {}..{}", b.0, b.1, a.0, a.1))
    });
}

/// Blocks in start order (the rules after `blocks-unsorted` judge the set, not the order).
fn sorted(bl: &[(u16, u16)]) -> Vec<(u16, u16)> {
    let mut v = bl.to_vec();
    v.sort_unstable();
    v
}

fn blocks_overlap(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    neighbours(msg, out, true, |a, b| {
        (b.0 < a.1).then(|| format!("blocks {}..{} and {}..{} overlap", a.0, a.1, b.0, b.1))
    });
}

fn blocks_adjacent(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    neighbours(msg, out, true, |a, b| {
        (b.0 == a.1 && a.0 < a.1).then(|| {
            format!(
                "blocks {}..{} and {}..{} touch; Exchange writes them as one block {}..{}",
                a.0, a.1, b.0, b.1, a.0, b.1
            )
        })
    });
}

fn block_zero_length(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    each_month(msg, out, |kind, month, bl, out| {
        if let Some((s, _)) = bl.iter().find(|(s, e)| s == e) {
            out.push(hit(
                kind,
                Some(month.to_wire()),
                format!("block {s}..{s} is empty"),
            ));
        }
    });
}

fn block_past_month_end(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    each_month(msg, out, |kind, month, bl, out| {
        let len = month.len_minutes();
        if let Some((s, e)) = bl.iter().find(|(_, e)| *e as i64 > len) {
            out.push(hit(kind, Some(month.to_wire()), format!("block {s}..{e} ends past the month's {len} minutes; Exchange splits it at the month's end")));
        }
    });
}

fn month_end_one_minute_short(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    for (kind, months) in month_values(msg) {
        let parsed: Vec<(MonthKey, Vec<(u16, u16)>)> = months
            .iter()
            .filter_map(|(v, b)| Some((MonthKey::from_wire(*v)?, blocks(b)?)))
            .collect();
        for (month, bl) in &parsed {
            let short = month.len_minutes() - 1;
            let ends_short = bl.iter().any(|(_, e)| *e as i64 == short);
            let next_at_zero = parsed
                .iter()
                .any(|(m, b)| *m == month.next() && b.iter().any(|(s, e)| *s == 0 && *e > 0));
            if ends_short && next_at_zero {
                out.push(hit(kind, Some(month.to_wire()), format!("a block ends at {short}, one minute short of the month's {}, and the next month starts at 0", short + 1)));
            }
        }
    }
}

fn unset_and_empty_mixed(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    // "Nothing" written as Outlook does (both properties unset) or as an empty list (GCC),
    // beside months listed with empty values (as Exchange lists every month; GCC lists the
    // months of every status, evolution-exchange the months between a status's first and
    // last with data).
    let values = month_values(msg);
    let none: Vec<&str> = PffbKind::ALL
        .iter()
        .filter(|&&k| {
            let unset = months_of(msg, k).is_unset() && blocks_of(msg, k).is_unset();
            let listed_nothing = values.iter().any(|(vk, m)| *vk == k && m.is_empty());
            unset || listed_nothing
        })
        .map(|&k| status_name(k))
        .collect();
    let empty: Vec<&str> = values
        .iter()
        .filter(|(_, months)| months.iter().any(|(_, b)| b.is_empty()))
        .map(|(k, _)| status_name(*k))
        .collect();
    if !none.is_empty() && !empty.is_empty() {
        out.push(Hit::new(format!(
            "{} without months but {} listing months with empty values; Outlook leaves every empty status unset, Exchange lists every month of the range",
            none.join(", "),
            empty.join(", ")
        )));
    }
}

/// Each status decoded as a reader would, `None` when it does not decode (the rules above
/// say why).
struct Decoded {
    merged: IntervalSet,
    tentative: IntervalSet,
    busy: IntervalSet,
    away: IntervalSet,
    props: PffbProps,
}

fn decoded(msg: &LintMessage<'_>) -> Option<Decoded> {
    let props = PffbProps::from_lookup(|t| msg.props.get(&PropName::Mapi(t))).ok()?;
    let d = |k| pffb::decode_status(k, props.get(k)).ok();
    Some(Decoded {
        merged: d(PffbKind::Merged)?,
        tentative: d(PffbKind::Tentative)?,
        busy: d(PffbKind::Busy)?,
        away: d(PffbKind::Away)?,
        props,
    })
}

fn is_unset(st: &StatusProps) -> bool {
    st.months.is_none() && st.blocks.is_none()
}

/// `a − b` for normalised sets.
fn minus(a: &IntervalSet, b: &IntervalSet) -> Vec<Interval> {
    let mut out = Vec::new();
    for iv in a.iter() {
        let mut from = iv.start();
        for cut in b.overlapping(iv) {
            if cut.start() > from {
                out.extend(Interval::new(from, cut.start()));
            }
            from = from.max(cut.end());
        }
        out.extend(Interval::new(from, iv.end()));
    }
    out
}

fn span(iv: Interval) -> String {
    format!("{}..{}", iv.start(), iv.end())
}

fn merged_only(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    let Some(d) = decoded(msg) else { return };
    if is_unset(&d.props.busy) && is_unset(&d.props.away) && !d.merged.is_empty() {
        out.push(hit(
            PffbKind::Merged,
            None,
            "busy and away are unset and merged holds time; readers take merged as busy".into(),
        ));
    }
}

fn merged_not_busy_or_oof(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    let Some(d) = decoded(msg) else { return };
    if is_unset(&d.props.busy) && is_unset(&d.props.away) {
        return; // merged-only
    }
    let want = d.busy.union(&d.away);
    if let Some(iv) = minus(&want, &d.merged).first() {
        let why = if is_unset(&d.props.merged) {
            " (merged is unset)"
        } else {
            ""
        };
        out.push(hit(
            PffbKind::Merged,
            Some(MonthKey::containing(iv.start()).to_wire()),
            format!("busy/OOF time {} is missing from merged{why}", span(*iv)),
        ));
        return;
    }
    let extra = minus(&minus_set(&d.merged, &want), &d.tentative);
    if let Some(iv) = extra.first() {
        out.push(hit(
            PffbKind::Merged,
            Some(MonthKey::containing(iv.start()).to_wire()),
            format!("merged holds {} which is neither busy nor OOF", span(*iv)),
        ));
    }
}

fn minus_set(a: &IntervalSet, b: &IntervalSet) -> IntervalSet {
    IntervalSet::from_intervals(minus(a, b))
}

fn tentative_in_merged(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    let Some(d) = decoded(msg) else { return };
    if is_unset(&d.props.busy) && is_unset(&d.props.away) {
        return;
    }
    let extra = minus_set(&d.merged, &d.busy.union(&d.away));
    let tent_in = minus(&extra, &minus_set(&extra, &d.tentative));
    if let Some(iv) = tent_in.first() {
        out.push(hit(
            PffbKind::Merged,
            Some(MonthKey::containing(iv.start()).to_wire()),
            format!("merged holds tentative time {}", span(*iv)),
        ));
    }
}

/// Start and end as ints, when both are there.
fn range(msg: &LintMessage<'_>) -> Option<(i32, i32)> {
    let get = |t| {
        msg.props
            .get(&PropName::Mapi(t))
            .and_then(PropValue::as_int)
    };
    Some((
        get(tags::FREEBUSY_PUBLISH_START)?,
        get(tags::FREEBUSY_PUBLISH_END)?,
    ))
}

/// Minutes since 1601 of 2800-01-01: no publisher publishes past it, and Unix seconds of
/// any date after 1990 are above it.
const UNIX_SECONDS_FLOOR: i32 = 631_152_000;

fn plausible(msg: &LintMessage<'_>) -> Option<(Minutes1601, Minutes1601)> {
    let (s, e) = range(msg)?;
    (s < e && s < UNIX_SECONDS_FLOOR && e < UNIX_SECONDS_FLOOR && s >= 0)
        .then_some((Minutes1601(s as i64), Minutes1601(e as i64)))
}

fn range_missing(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    if range(msg).is_none() {
        let shown = |t| match msg.props.get(&PropName::Mapi(t)) {
            None => "unset".to_string(),
            Some(v) => format!("a {}", v.dav_type().unwrap_or("string")),
        };
        out.push(Hit::new(format!(
            "publish start is {} and publish end is {}; readers trust the blocks everywhere",
            shown(tags::FREEBUSY_PUBLISH_START),
            shown(tags::FREEBUSY_PUBLISH_END)
        )));
    }
}

fn range_unix_seconds(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    let Some((s, e)) = range(msg) else { return };
    if s >= UNIX_SECONDS_FLOOR || e >= UNIX_SECONDS_FLOOR {
        let as_unix = |v: i32| {
            jiff::Timestamp::from_second(v as i64).map_or(v.to_string(), |t| t.to_string())
        };
        out.push(Hit::new(format!(
            "publish range {s}..{e} is after the year 2800 in minutes since 1601; as Unix seconds it is {}..{}",
            as_unix(s),
            as_unix(e)
        )));
    }
}

fn range_inverted(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    if let Some((s, e)) = range(msg) {
        if e <= s {
            out.push(Hit::new(format!(
                "publish end {e} is not after publish start {s}"
            )));
        }
    }
}

fn range_start(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    let Some((start, _)) = plausible(msg) else {
        return;
    };
    let (_, _, day) = start.civil_date();
    let midnight = start.floor_day() == start;
    if !midnight || (day != 1 && start.weekday() != 0) {
        let what = if midnight {
            "neither the 1st nor a Sunday"
        } else {
            "not 00:00 UTC (a local midnight?)"
        };
        out.push(Hit::new(format!("publish start {start} is {what}")));
    }
}

/// `start` plus `n` calendar months, the day clamped (as `PublishRange::at`), time kept.
fn plus_months(start: Minutes1601, n: i32) -> Minutes1601 {
    let (_, _, day) = start.civil_date();
    let m = MonthKey::containing(start).plus_months(n);
    let time = start.0 - start.floor_day().0;
    Minutes1601::from_civil(m.year(), m.month(), day.min(m.days())).plus_minutes(time)
}

fn range_end(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    let Some((start, end)) = plausible(msg) else {
        return;
    };
    if !(0..=36).any(|n| plus_months(start, n) == end) {
        out.push(Hit::new(format!(
            "publish end {end} is not a whole number of months (0-36) after publish start {start}"
        )));
    }
}

fn blocks_outside_range(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    let (Some((start, end)), Some(d)) = (plausible(msg), decoded(msg)) else {
        return;
    };
    for (kind, set) in [
        (PffbKind::Merged, &d.merged),
        (PffbKind::Tentative, &d.tentative),
        (PffbKind::Busy, &d.busy),
        (PffbKind::Away, &d.away),
    ] {
        if let Some(iv) = set.iter().find(|iv| iv.start() < start || iv.end() > end) {
            out.push(hit(
                kind,
                Some(MonthKey::containing(iv.start()).to_wire()),
                format!("{} lies outside the publish range {start}..{end}", span(iv)),
            ));
        }
    }
}

fn timestamp_stale(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    let Some(modified) = msg.modified else { return };
    let ts = match msg
        .props
        .get(&PropName::Mapi(tags::FREEBUSY_RANGE_TIMESTAMP))
    {
        Some(PropValue::SysTime(t)) => FileTime(*t).to_timestamp(),
        _ => return,
    };
    if modified.as_second() - ts.as_second() > 86_400 {
        out.push(Hit::new(format!(
            "published at {ts} but last changed at {modified}"
        )));
    }
}

/// The URL leaf without `.EML` and without a `-N` duplicate number.
fn leaf_stem(leaf: &str) -> (&str, Option<&str>) {
    let stem = leaf
        .len()
        .checked_sub(4)
        .filter(|&i| leaf.is_char_boundary(i) && leaf[i..].eq_ignore_ascii_case(".EML"))
        .map_or(leaf, |i| &leaf[..i]);
    match stem.rsplit_once('-') {
        Some((base, n))
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && base.contains('/') =>
        {
            (base, Some(n))
        }
        _ => (stem, None),
    }
}

fn names_disagree(msg: &LintMessage<'_>, facts: &Facts<'_>, out: &mut Vec<Hit>) {
    let named = [
        (
            "0x0E1D001F",
            string_prop(msg.props, tags::NORMALIZED_SUBJECT),
        ),
        ("0x0037001F", string_prop(msg.props, tags::SUBJECT)),
        (
            "mapi/subject",
            msg.props
                .get(&PropName::mapi_subject())
                .and_then(PropValue::as_str),
        ),
    ];
    let subjects: Vec<(&str, &str)> = named
        .iter()
        .filter_map(|(n, v)| Some((*n, (*v)?)))
        .collect();
    for w in subjects.windows(2) {
        if !same(w[0].1, w[1].1) {
            out.push(Hit::new(format!(
                "subject {} '{}' and {} '{}' differ",
                w[0].0, w[0].1, w[1].0, w[1].1
            )));
        }
    }
    let Some(subject) = subject_text(msg) else {
        out.push(Hit::new(
            "the message has no subject (0x0E1D001F, 0x0037001F)",
        ));
        return;
    };
    let (stem, _) = leaf_stem(msg.leaf);
    if !same(stem, subject) {
        out.push(Hit::new(format!(
            "URL leaf '{}' names another subject than '{subject}'",
            msg.leaf
        )));
    }
    let by_subject = dn_of(msg.folder, subject);
    let address = string_prop(msg.props, tags::FREEBUSY_MESSAGE_EMAIL_ADDRESS);
    if let Some(a) = address {
        match LegacyDn::parse(a) {
            Err(e) => out.push(Hit::new(format!("0x6849001F is no legacyDN: {e}"))),
            Ok(dn) => {
                if !same(dn.subject().as_str(), subject)
                    || !same(dn.admin_group().as_str(), msg.folder)
                {
                    out.push(Hit::new(format!(
                        "0x6849001F '{a}' is not the user of folder {} and subject '{subject}'",
                        msg.folder
                    )));
                }
            }
        }
    }
    if let (Some(lookup), Some(dn)) = (facts.directory, by_subject.as_deref().or(address)) {
        if let Some(dir) = lookup(dn) {
            for other in [by_subject.as_deref(), address].into_iter().flatten() {
                if !same(&dir, other) {
                    out.push(Hit::new(format!(
                        "the directory's legacyDN '{dir}' differs from '{other}'"
                    )));
                    break;
                }
            }
        }
    }
}

fn duplicate(_: &LintMessage<'_>, facts: &Facts<'_>, out: &mut Vec<Hit>) {
    if let Some(older) = &facts.older_duplicate {
        out.push(Hit::new(format!(
            "an older message of the same subject is at {older}; readers may pick either"
        )));
    }
}

fn non_canonical_url(msg: &LintMessage<'_>, _: &Facts<'_>, out: &mut Vec<Hit>) {
    let Some(subject) = subject_text(msg) else {
        return;
    };
    let canonical = format!("{subject}.EML");
    if same(msg.leaf, &canonical) {
        return;
    }
    let (_, number) = leaf_stem(msg.leaf);
    let what = match number {
        Some(n) => format!("a numbered duplicate URL (-{n})"),
        None => "not the canonical URL".to_string(),
    };
    out.push(Hit::new(format!(
        "URL leaf '{}' is {what}; the canonical leaf is '{canonical}'",
        msg.leaf
    )));
}

fn owner_not_in_directory(msg: &LintMessage<'_>, facts: &Facts<'_>, out: &mut Vec<Hit>) {
    let Some(lookup) = facts.directory else {
        return;
    };
    let dn = string_prop(msg.props, tags::FREEBUSY_MESSAGE_EMAIL_ADDRESS)
        .map(str::to_string)
        .or_else(|| dn_of(msg.folder, subject_text(msg)?));
    if let Some(dn) = dn {
        if lookup(dn.trim()).is_none() {
            out.push(Hit::new(format!(
                "{dn} is nobody in the directory; queries answer 4 for it"
            )));
        }
    }
}
