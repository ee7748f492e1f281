//! The MS-OXOPFFB encoding of free/busy: four pairs of properties (months, blocks) for
//! merged, tentative, busy and away.
//!
//! Owns the mapping between a [`FreeBusy`] and the eight properties, in both directions:
//! * encoding splits every interval at month boundaries (a part that runs to a month's end
//!   ends at the month's length in minutes), writes blocks as `start:u16 LE, end:u16 LE`
//!   minutes from the 1st of the month, and computes merged = busy ∪ OOF;
//! * decoding accepts every shape real writers produce (statuses unset, months listed with
//!   empty values, months listed only where there is data, blocks ending one minute short of
//!   the month, months out of order, blocks whose end runs past the month into the next one,
//!   month values that are no month (0, 13-15) listed with empty values) and refuses
//!   malformed ones (odd lengths, data in an invalid month, inverted blocks) with an error
//!   that names the status and the month, never a panic.
//!
//! [`StatusProps`] keeps "unset" apart from "listed but empty", so whatever a client stored
//! can be described exactly. PROTOCOL.md §2.

use std::fmt;

use super::freebusy::{FreeBusy, Interval, IntervalSet, PublishRange};
use super::mapi::{PropTag, PropValue, tags};
use super::time::{Minutes1601, MonthKey};

/// The four statuses the store encodes, each a (months, blocks) property pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PffbKind {
    Merged,
    Tentative,
    Busy,
    Away,
}

impl PffbKind {
    pub const ALL: [PffbKind; 4] = [
        PffbKind::Merged,
        PffbKind::Tentative,
        PffbKind::Busy,
        PffbKind::Away,
    ];

    pub fn months_tag(self) -> PropTag {
        match self {
            PffbKind::Merged => tags::SCHEDULE_INFO_MONTHS_MERGED,
            PffbKind::Tentative => tags::SCHEDULE_INFO_MONTHS_TENTATIVE,
            PffbKind::Busy => tags::SCHEDULE_INFO_MONTHS_BUSY,
            PffbKind::Away => tags::SCHEDULE_INFO_MONTHS_AWAY,
        }
    }

    pub fn blocks_tag(self) -> PropTag {
        match self {
            PffbKind::Merged => tags::SCHEDULE_INFO_FREEBUSY_MERGED,
            PffbKind::Tentative => tags::SCHEDULE_INFO_FREEBUSY_TENTATIVE,
            PffbKind::Busy => tags::SCHEDULE_INFO_FREEBUSY_BUSY,
            PffbKind::Away => tags::SCHEDULE_INFO_FREEBUSY_AWAY,
        }
    }

    /// Is `tag` one of the eight properties this codec owns?
    pub fn owns(tag: PropTag) -> bool {
        Self::ALL
            .iter()
            .any(|k| k.months_tag() == tag || k.blocks_tag() == tag)
    }
}

impl fmt::Display for PffbKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PffbKind::Merged => "merged",
            PffbKind::Tentative => "tentative",
            PffbKind::Busy => "busy",
            PffbKind::Away => "away (OOF)",
        })
    }
}

/// How a publisher writes the eight properties: the shapes of the publishers whose bytes
/// docs/behaviour.md ("Publisher personalities") documents.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum PublisherStyle {
    /// Outlook: leave both properties of an empty status unset; list only months with data.
    #[default]
    Outlook,
    /// Exchange regenerating a message: list every month of the publish range, with
    /// zero-length values where there is nothing.
    Exchange,
    /// Google Calendar Connector: merged, tentative and busy list every month in which any
    /// status has data (zero-length values where that status has none); away is removed
    /// (unset) when there is no OOF time.
    Gcc,
    /// Pre-2020 Zimbra: every status lists every month value from the range's first month
    /// to its last by adding 1 (so values 13-15 and 0 across a year end), with zero-length
    /// values where there is nothing; an event crossing a month end is written whole in
    /// the month it starts in (its end past the month's length).
    Zimbra,
    /// evolution-exchange: merged removed (unset); each other status lists every month
    /// from its first to its last with data (zero-length values between) or is unset.
    Evolution,
}

impl PublisherStyle {
    pub const ALL: [PublisherStyle; 5] = [
        PublisherStyle::Outlook,
        PublisherStyle::Exchange,
        PublisherStyle::Gcc,
        PublisherStyle::Zimbra,
        PublisherStyle::Evolution,
    ];

    /// The setting's spelling: `outlook`, `exchange`, `gcc`, `zimbra`, `evolution`.
    pub fn name(self) -> &'static str {
        match self {
            PublisherStyle::Outlook => "outlook",
            PublisherStyle::Exchange => "exchange",
            PublisherStyle::Gcc => "gcc",
            PublisherStyle::Zimbra => "zimbra",
            PublisherStyle::Evolution => "evolution",
        }
    }

    /// Parse the setting's spelling, any case.
    pub fn parse(s: &str) -> Option<PublisherStyle> {
        Self::ALL
            .into_iter()
            .find(|st| st.name().eq_ignore_ascii_case(s.trim()))
    }
}

/// One status's two properties as found on a message: each unset or a list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct StatusProps {
    pub months: Option<Vec<i32>>,
    pub blocks: Option<Vec<Vec<u8>>>,
}

/// The eight properties, by status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PffbProps {
    pub merged: StatusProps,
    pub tentative: StatusProps,
    pub busy: StatusProps,
    pub away: StatusProps,
}

impl PffbProps {
    pub fn get(&self, kind: PffbKind) -> &StatusProps {
        match kind {
            PffbKind::Merged => &self.merged,
            PffbKind::Tentative => &self.tentative,
            PffbKind::Busy => &self.busy,
            PffbKind::Away => &self.away,
        }
    }

    fn get_mut(&mut self, kind: PffbKind) -> &mut StatusProps {
        match kind {
            PffbKind::Merged => &mut self.merged,
            PffbKind::Tentative => &mut self.tentative,
            PffbKind::Busy => &mut self.busy,
            PffbKind::Away => &mut self.away,
        }
    }

    /// Read the eight properties from a message's property lookup. A property of the wrong
    /// type is an error (it would be undecodable).
    pub fn from_lookup<'a>(
        get: impl Fn(PropTag) -> Option<&'a PropValue>,
    ) -> Result<PffbProps, PffbError> {
        let mut out = PffbProps::default();
        for kind in PffbKind::ALL {
            let st = out.get_mut(kind);
            st.months = match get(kind.months_tag()) {
                None => None,
                Some(PropValue::MvInt(v)) => Some(v.clone()),
                Some(other) => return Err(PffbError::WrongType(kind.months_tag(), kind_of(other))),
            };
            st.blocks = match get(kind.blocks_tag()) {
                None => None,
                Some(PropValue::MvBinary(v)) => Some(v.clone()),
                Some(other) => return Err(PffbError::WrongType(kind.blocks_tag(), kind_of(other))),
            };
        }
        Ok(out)
    }

    /// The eight properties as (tag, value); `None` means "leave unset / remove".
    pub fn to_props(&self) -> Vec<(PropTag, Option<PropValue>)> {
        let mut out = Vec::with_capacity(8);
        for kind in PffbKind::ALL {
            let st = self.get(kind);
            out.push((kind.months_tag(), st.months.clone().map(PropValue::MvInt)));
            out.push((
                kind.blocks_tag(),
                st.blocks.clone().map(PropValue::MvBinary),
            ));
        }
        out
    }
}

fn kind_of(v: &PropValue) -> &'static str {
    v.dav_type().unwrap_or("string")
}

/// Why a message's free/busy cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PffbError {
    #[error(
        "property {0} has type {1}, but the free/busy codec needs mv.int months and mv.bin.base64 blocks"
    )]
    WrongType(PropTag, &'static str),
    #[error("{kind} free/busy has {which} set but not its partner property; set both or neither")]
    HalfSet { kind: PffbKind, which: &'static str },
    #[error(
        "{kind} free/busy lists {months} months but {blocks} block values; the two lists must be the same length"
    )]
    LengthMismatch {
        kind: PffbKind,
        months: usize,
        blocks: usize,
    },
    #[error(
        "{kind} free/busy has month value {value}, which is not year*16+month with a month of 1-12"
    )]
    BadMonth { kind: PffbKind, value: i32 },
    #[error(
        "{kind} free/busy for {month} is {len} bytes long; block values are 4-byte blocks, so the length must be a multiple of 4"
    )]
    BadBlockLength {
        kind: PffbKind,
        month: MonthKey,
        len: usize,
    },
    #[error("{kind} free/busy for {month} has a block {start}..{end} that ends before it starts")]
    InvertedBlock {
        kind: PffbKind,
        month: MonthKey,
        start: u16,
        end: u16,
    },
}

/// Encode one status's intervals. `range` is the publish range (used by the Exchange and
/// Zimbra styles to list every month of it). The Gcc style lists months as Outlook does
/// here; [`encode`] adds the months of the other statuses.
pub fn encode_status(set: &IntervalSet, range: PublishRange, style: PublisherStyle) -> StatusProps {
    // (month value, blocks): a value need not be a month (Zimbra's 13-15 and 0).
    let mut months: Vec<(i32, Vec<u8>)> = match style {
        PublisherStyle::Exchange => range
            .months()
            .into_iter()
            .map(|m| (m.to_wire(), Vec::new()))
            .collect(),
        PublisherStyle::Zimbra => match (range.months().first(), range.months().last()) {
            (Some(a), Some(b)) => (a.to_wire()..=b.to_wire())
                .map(|v| (v, Vec::new()))
                .collect(),
            _ => Vec::new(),
        },
        PublisherStyle::Outlook | PublisherStyle::Gcc | PublisherStyle::Evolution => Vec::new(),
    };
    for iv in set.iter() {
        let mut month = MonthKey::containing(iv.start());
        while month.start() < iv.end() {
            let m_start = month.start();
            let from = iv.start().max(m_start).0 - m_start.0;
            let mut to = iv.end().0.min(m_start.0 + month.len_minutes()) - m_start.0;
            // Zimbra keeps the whole event in its first month while the end fits in u16.
            let whole = iv.end().0 - m_start.0;
            if style == PublisherStyle::Zimbra && whole <= u16::MAX as i64 {
                to = whole;
            }
            let bytes = slot(&mut months, month.to_wire());
            // Months are at most 44640 minutes long, and Zimbra's ends are bounded above,
            // so both ends fit in u16.
            bytes.extend_from_slice(&(from as u16).to_le_bytes());
            bytes.extend_from_slice(&(to as u16).to_le_bytes());
            if to == whole {
                break;
            }
            month = month.next();
        }
    }
    if style == PublisherStyle::Evolution {
        // Every month from the first to the last with data (all real months here).
        let first = months.first().and_then(|(v, _)| MonthKey::from_wire(*v));
        let last = months.last().and_then(|(v, _)| MonthKey::from_wire(*v));
        if let (Some(mut m), Some(last)) = (first, last) {
            while m < last {
                slot(&mut months, m.to_wire());
                m = m.next();
            }
        }
    }
    if months.is_empty()
        && matches!(
            style,
            PublisherStyle::Outlook | PublisherStyle::Gcc | PublisherStyle::Evolution
        )
    {
        return StatusProps::default();
    }
    StatusProps {
        months: Some(months.iter().map(|(m, _)| *m).collect()),
        blocks: Some(months.into_iter().map(|(_, b)| b).collect()),
    }
}

/// The block value of month value `v` in the sorted list, inserted empty when missing.
fn slot(months: &mut Vec<(i32, Vec<u8>)>, v: i32) -> &mut Vec<u8> {
    let i = match months.binary_search_by_key(&v, |(m, _)| *m) {
        Ok(i) => i,
        Err(i) => {
            months.insert(i, (v, Vec::new()));
            i
        }
    };
    &mut months[i].1
}

/// Encode a whole schedule as a publisher writes it: merged = busy ∪ OOF, tentative apart,
/// in the shapes of `style` (merged unset for evolution-exchange; for GCC the months of
/// every status listed in merged, tentative and busy, and away only when it has data).
pub fn encode(fb: &FreeBusy, range: PublishRange, style: PublisherStyle) -> PffbProps {
    let mut p = PffbProps {
        merged: encode_status(&fb.merged(), range, style),
        tentative: encode_status(&fb.tentative, range, style),
        busy: encode_status(&fb.busy, range, style),
        away: encode_status(&fb.oof, range, style),
    };
    match style {
        PublisherStyle::Evolution => p.merged = StatusProps::default(),
        PublisherStyle::Gcc => {
            let mut all: Vec<i32> = PffbKind::ALL
                .iter()
                .flat_map(|&k| p.get(k).months.clone().unwrap_or_default())
                .collect();
            all.sort_unstable();
            all.dedup();
            for kind in [PffbKind::Merged, PffbKind::Tentative, PffbKind::Busy] {
                let st = p.get_mut(kind);
                let mut listed: Vec<(i32, Vec<u8>)> = st
                    .months
                    .take()
                    .unwrap_or_default()
                    .into_iter()
                    .zip(st.blocks.take().unwrap_or_default())
                    .collect();
                for &v in &all {
                    slot(&mut listed, v);
                }
                st.months = Some(listed.iter().map(|(m, _)| *m).collect());
                st.blocks = Some(listed.into_iter().map(|(_, b)| b).collect());
            }
        }
        PublisherStyle::Outlook | PublisherStyle::Exchange | PublisherStyle::Zimbra => {}
    }
    p
}

/// Decode one status. Zero-length blocks are skipped; a block that ends one minute short of
/// its month followed by a block at minute 0 of the next month is read as contiguous.
pub fn decode_status(kind: PffbKind, st: &StatusProps) -> Result<IntervalSet, PffbError> {
    let (months, blocks) = match (&st.months, &st.blocks) {
        (None, None) => return Ok(IntervalSet::new()),
        (Some(_), None) => {
            return Err(PffbError::HalfSet {
                kind,
                which: "the months property",
            });
        }
        (None, Some(_)) => {
            return Err(PffbError::HalfSet {
                kind,
                which: "the blocks property",
            });
        }
        (Some(m), Some(b)) => (m, b),
    };
    if months.len() != blocks.len() {
        return Err(PffbError::LengthMismatch {
            kind,
            months: months.len(),
            blocks: blocks.len(),
        });
    }
    let mut ivs = Vec::new();
    for (&value, bytes) in months.iter().zip(blocks) {
        let Some(month) = MonthKey::from_wire(value) else {
            // Zimbra lists month values 0 and 13-15 (its own arithmetic across a year end)
            // with empty blobs; with nothing in them they say nothing, so skip them.
            if bytes.is_empty() {
                continue;
            }
            return Err(PffbError::BadMonth { kind, value });
        };
        if bytes.len() % 4 != 0 {
            return Err(PffbError::BadBlockLength {
                kind,
                month,
                len: bytes.len(),
            });
        }
        let base = month.start();
        for chunk in bytes.chunks_exact(4) {
            let start = u16::from_le_bytes([chunk[0], chunk[1]]);
            let end = u16::from_le_bytes([chunk[2], chunk[3]]);
            if end < start {
                return Err(PffbError::InvertedBlock {
                    kind,
                    month,
                    start,
                    end,
                });
            }
            // An end past the month's length runs on into the next month: Zimbra writes an
            // event from Nov 30 23:00 to Dec 1 01:00 as minutes 43140-43260 of November.
            // A u16 reaches at most ~45 days past the 1st, so this stays bounded.
            if let Some(iv) = Interval::new(
                base.plus_minutes(start as i64),
                base.plus_minutes(end as i64),
            ) {
                ivs.push(iv);
            }
        }
    }
    ivs.sort_unstable();
    // Bridge the one-minute gap some writers leave at month ends.
    for i in 1..ivs.len() {
        let (prev, next) = (ivs[i - 1], ivs[i]);
        let gap_end = prev.end().plus_minutes(1);
        if gap_end == next.start() && MonthKey::containing(next.start()).start() == next.start() {
            ivs[i - 1] = Interval::new(prev.start(), next.start()).expect("non-empty");
        }
    }
    Ok(IntervalSet::from_intervals(ivs))
}

/// Decode the schedule a message describes. When busy and away are both unset but merged
/// is set (writers that only publish merged), merged is read as busy.
pub fn decode(props: &PffbProps) -> Result<FreeBusy, PffbError> {
    let merged = decode_status(PffbKind::Merged, &props.merged)?;
    let tentative = decode_status(PffbKind::Tentative, &props.tentative)?;
    let mut busy = decode_status(PffbKind::Busy, &props.busy)?;
    let oof = decode_status(PffbKind::Away, &props.away)?;
    let busy_and_away_unset = props.busy.months.is_none() && props.away.months.is_none();
    if busy_and_away_unset && !merged.is_empty() {
        busy = merged;
    }
    Ok(FreeBusy {
        tentative,
        busy,
        oof,
    })
}

/// The publish range from PidTagFreeBusyPublishStart/End, when both are set and sane.
pub fn publish_range_from_lookup<'a>(
    get: impl Fn(PropTag) -> Option<&'a PropValue>,
) -> Option<PublishRange> {
    let start = get(tags::FREEBUSY_PUBLISH_START)?.as_int()?;
    let end = get(tags::FREEBUSY_PUBLISH_END)?.as_int()?;
    (start < end).then_some(PublishRange {
        start: Minutes1601(start as i64),
        end: Minutes1601(end as i64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::freebusy::FbStatus;
    use crate::protocol::time::parse_time;
    use proptest::prelude::*;

    fn at(s: &str) -> Minutes1601 {
        Minutes1601::from_timestamp(parse_time(s).unwrap())
    }

    fn iv(a: &str, b: &str) -> Interval {
        Interval::new(at(a), at(b)).unwrap()
    }

    fn range_feb_2008() -> PublishRange {
        PublishRange {
            start: at("2008-01-27T00:00:00Z"),
            end: at("2008-03-27T00:00:00Z"),
        }
    }

    /// MS-OXOPFFB §4.4: a busy event Feb 2 2008 12:00-13:00 PST.
    #[test]
    fn spec_vector_one_event() {
        let set = IntervalSet::from_intervals([iv("2008-02-02T20:00:00Z", "2008-02-02T21:00:00Z")]);
        let st = encode_status(&set, range_feb_2008(), PublisherStyle::Outlook);
        assert_eq!(st.months, Some(vec![32130]));
        assert_eq!(st.blocks, Some(vec![vec![0x50, 0x0A, 0x8C, 0x0A]]));
    }

    /// §4.4.2: a back-to-back event merges into one block.
    #[test]
    fn spec_vector_back_to_back_merge() {
        let set = IntervalSet::from_intervals([
            iv("2008-02-02T20:00:00Z", "2008-02-02T21:00:00Z"),
            iv("2008-02-02T21:00:00Z", "2008-02-02T22:00:00Z"),
        ]);
        let st = encode_status(&set, range_feb_2008(), PublisherStyle::Outlook);
        assert_eq!(st.blocks, Some(vec![vec![0x50, 0x0A, 0xC8, 0x0A]]));
    }

    /// §4.4.2: an event crossing Jan 31 → Feb 1 is split per month.
    #[test]
    fn spec_vector_month_crossing() {
        let set = IntervalSet::from_intervals([iv("2008-01-31T23:00:00Z", "2008-02-01T01:00:00Z")]);
        let st = encode_status(&set, range_feb_2008(), PublisherStyle::Outlook);
        assert_eq!(st.months, Some(vec![32129, 32130]));
        assert_eq!(
            st.blocks,
            Some(vec![
                vec![0x24, 0xAE, 0x60, 0xAE],
                vec![0x00, 0x00, 0x3C, 0x00]
            ])
        );
        // 0xAE60 = 44640: the end of a 31-day month, beyond i16.
        assert_eq!(u16::from_le_bytes([0x60, 0xAE]), 44640);
        assert_eq!(decode_status(PffbKind::Busy, &st).unwrap(), set);
    }

    #[test]
    fn middle_months_cover_whole_month() {
        let set = IntervalSet::from_intervals([iv("2008-01-31T00:00:00Z", "2008-03-01T00:00:00Z")]);
        let st = encode_status(&set, range_feb_2008(), PublisherStyle::Outlook);
        let feb_len = 29u16 * 1440;
        assert_eq!(st.months, Some(vec![32129, 32130]));
        assert_eq!(
            st.blocks.as_ref().unwrap()[1],
            [0, 0, feb_len.to_le_bytes()[0], feb_len.to_le_bytes()[1]]
        );
    }

    #[test]
    fn merged_is_busy_union_oof_without_tentative() {
        let mut fb = FreeBusy::default();
        fb.add(
            FbStatus::Busy,
            iv("2008-02-02T20:00:00Z", "2008-02-02T21:00:00Z"),
        );
        fb.add(
            FbStatus::Oof,
            iv("2008-02-02T21:00:00Z", "2008-02-02T22:00:00Z"),
        );
        fb.add(
            FbStatus::Tentative,
            iv("2008-02-03T20:00:00Z", "2008-02-03T21:00:00Z"),
        );
        let p = encode(&fb, range_feb_2008(), PublisherStyle::Outlook);
        assert_eq!(p.merged.blocks, Some(vec![vec![0x50, 0x0A, 0xC8, 0x0A]]));
        assert_eq!(decode(&p).unwrap(), fb);
    }

    #[test]
    fn outlook_leaves_empty_statuses_unset_exchange_lists_every_month() {
        let fb = FreeBusy::default();
        let o = encode(&fb, range_feb_2008(), PublisherStyle::Outlook);
        assert_eq!(o.busy, StatusProps::default());
        let e = encode(&fb, range_feb_2008(), PublisherStyle::Exchange);
        assert_eq!(e.busy.months, Some(vec![32129, 32130, 32131]));
        assert_eq!(e.busy.blocks, Some(vec![vec![], vec![], vec![]]));
        assert_eq!(decode(&o).unwrap(), fb);
        assert_eq!(decode(&e).unwrap(), fb);
    }

    #[test]
    fn reader_bridges_one_minute_short_month_end() {
        let st = StatusProps {
            months: Some(vec![32129, 32130]),
            blocks: Some(vec![
                [0x24u8, 0xAE]
                    .iter()
                    .chain(&(44639u16).to_le_bytes())
                    .copied()
                    .collect(),
                vec![0x00, 0x00, 0x3C, 0x00],
            ]),
        };
        let set = decode_status(PffbKind::Busy, &st).unwrap();
        assert_eq!(
            set.as_slice(),
            &[iv("2008-01-31T23:00:00Z", "2008-02-01T01:00:00Z")]
        );
    }

    #[test]
    fn only_merged_is_read_as_busy() {
        let mut fb = FreeBusy::default();
        fb.add(
            FbStatus::Busy,
            iv("2008-02-02T20:00:00Z", "2008-02-02T21:00:00Z"),
        );
        let mut p = encode(&fb, range_feb_2008(), PublisherStyle::Outlook);
        p.busy = StatusProps::default();
        assert_eq!(decode(&p).unwrap().busy, fb.busy);
    }

    #[test]
    fn malformed_shapes_are_errors_with_a_sentence() {
        // (months, blocks, what the sentence mentions)
        let cases = [
            (Some(vec![32130]), None, "partner"),
            (Some(vec![32130, 32131]), Some(vec![vec![]]), "same length"),
            (
                Some(vec![32128]),
                Some(vec![vec![0, 0, 0x3C, 0]]),
                "month of 1-12",
            ),
            (
                Some(vec![32130]),
                Some(vec![vec![1, 2, 3]]),
                "multiple of 4",
            ),
            (
                Some(vec![32130]),
                Some(vec![vec![10, 0, 5, 0]]),
                "ends before",
            ),
            (
                Some(vec![32143]),
                Some(vec![vec![0, 0, 0x3C, 0]]),
                "month of 1-12",
            ),
            (
                Some(vec![32128, 32130]),
                Some(vec![vec![0, 0, 0x3C, 0], vec![]]),
                "value 32128",
            ),
        ];
        for (months, blocks, needle) in cases {
            let st = StatusProps { months, blocks };
            let e = decode_status(PffbKind::Busy, &st).unwrap_err().to_string();
            assert!(e.contains(needle), "{e} should mention {needle}");
        }
        let wrong = PropValue::Int(3);
        let e =
            PffbProps::from_lookup(|t| (t == tags::SCHEDULE_INFO_MONTHS_BUSY).then_some(&wrong));
        assert!(matches!(e, Err(PffbError::WrongType(..))));
    }

    /// Zimbra encodes an event from Nov 30 23:00 to Dec 1 01:00 UTC entirely in November:
    /// minutes 43140-43260, past November's 43200. It runs on into December.
    #[test]
    fn a_block_past_its_month_end_runs_into_the_next_month() {
        let nov_2008 = 2008 * 16 + 11;
        let mut blob = 43140u16.to_le_bytes().to_vec();
        blob.extend_from_slice(&43260u16.to_le_bytes());
        let st = StatusProps {
            months: Some(vec![nov_2008]),
            blocks: Some(vec![blob]),
        };
        let set = decode_status(PffbKind::Busy, &st).unwrap();
        assert_eq!(
            set.as_slice(),
            &[iv("2008-11-30T23:00:00Z", "2008-12-01T01:00:00Z")]
        );
        // The largest end a block can hold is still read, about 45 days on.
        let st = StatusProps {
            months: Some(vec![32130]),
            blocks: Some(vec![vec![0, 0, 0xFF, 0xFF]]),
        };
        let set = decode_status(PffbKind::Busy, &st).unwrap();
        assert_eq!(
            set.as_slice()[0].end(),
            at("2008-02-01T00:00:00Z").plus_minutes(65535)
        );
    }

    /// Across a year end Zimbra lists month values 13-15 and 0 (year*16 + 13…) with empty
    /// blobs: skipped. The same values with blocks in them are refused.
    #[test]
    fn invalid_months_with_empty_blocks_are_skipped() {
        let st = StatusProps {
            months: Some(vec![
                2008 * 16 + 12,
                2008 * 16 + 13,
                2008 * 16 + 14,
                2009 * 16,
                2009 * 16 + 1,
            ]),
            blocks: Some(vec![
                vec![],
                vec![],
                vec![],
                vec![],
                vec![0x50, 0x0A, 0x8C, 0x0A],
            ]),
        };
        let set = decode_status(PffbKind::Busy, &st).unwrap();
        assert_eq!(
            set.as_slice(),
            &[iv("2009-01-02T20:00:00Z", "2009-01-02T21:00:00Z")]
        );
        let e = decode_status(
            PffbKind::Tentative,
            &StatusProps {
                months: Some(vec![2008 * 16 + 13]),
                blocks: Some(vec![vec![0x50, 0x0A, 0x8C, 0x0A]]),
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("tentative") && e.contains("32141"), "{e}");
    }

    #[test]
    fn empty_and_unsorted_months_are_accepted() {
        let st = StatusProps {
            months: Some(vec![32130, 32129]),
            blocks: Some(vec![vec![0x50, 0x0A, 0x8C, 0x0A], vec![]]),
        };
        let set = decode_status(PffbKind::Busy, &st).unwrap();
        assert_eq!(
            set.as_slice(),
            &[iv("2008-02-02T20:00:00Z", "2008-02-02T21:00:00Z")]
        );
    }

    fn arb_freebusy() -> impl Strategy<Value = FreeBusy> {
        // Intervals within 2007-2009, minute precision, up to ~100 days long.
        let base = Minutes1601::from_civil(2007, 1, 1).0;
        let span = (0i64..3 * 366 * 1440, 1i64..100 * 1440);
        let ivs = proptest::collection::vec((0u8..3, span), 0..30);
        ivs.prop_map(move |v| {
            FreeBusy::from_spans(v.into_iter().map(|(s, (a, l))| {
                let st = [FbStatus::Tentative, FbStatus::Busy, FbStatus::Oof][s as usize];
                (
                    st,
                    Interval::new(Minutes1601(base + a), Minutes1601(base + a + l)).unwrap(),
                )
            }))
        })
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(fb in arb_freebusy(), which in 0..PublisherStyle::ALL.len()) {
            // Every personality's message reads back to the schedule it was built from.
            let style = PublisherStyle::ALL[which];
            let range = PublishRange {
                start: Minutes1601::from_civil(2007, 1, 1),
                end: Minutes1601::from_civil(2010, 1, 1),
            };
            let props = encode(&fb, range, style);
            prop_assert_eq!(decode(&props).unwrap(), fb.clone());
            // Re-encoding what was decoded gives the same bytes (unset vs empty kept).
            prop_assert_eq!(encode(&decode(&props).unwrap(), range, style), props);
        }

        #[test]
        fn decode_never_panics(
            months in proptest::option::of(proptest::collection::vec(any::<i32>(), 0..6)),
            blocks in proptest::option::of(proptest::collection::vec(
                proptest::collection::vec(any::<u8>(), 0..24), 0..6)),
        ) {
            let st = StatusProps { months, blocks };
            let _ = decode_status(PffbKind::Busy, &st);
        }

        #[test]
        fn decode_never_panics_on_plausible_months(
            blocks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..4),
        ) {
            let months = (0..blocks.len() as i32).map(|i| 32129 + i).collect();
            let _ = decode_status(PffbKind::Busy, &StatusProps { months: Some(months), blocks: Some(blocks) });
        }
    }
}
