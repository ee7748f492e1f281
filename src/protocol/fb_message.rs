//! A free/busy message as a publisher writes it: which properties, with which values.
//!
//! Owns [`build_props`], the one definition of the property set schedplus publishes
//! (PROTOCOL.md §2): resource type 0, needs-refresh true, publish range, the owner's
//! legacyDN, the eight month/block properties, the publishing timestamp, subject and
//! normalized subject, and the `IPM.Post` message class.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::freebusy::{FreeBusy, PublishRange};
use super::legacy_dn::LegacyDn;
use super::mapi::{PropName, PropValue, tags};
use super::pffb::{self, PublisherStyle};
use super::time::FileTime;

pub const MESSAGE_CLASS: &str = "IPM.Post";

/// Every property of a freshly published message for `dn`. Only the part of `fb` inside
/// `range` is published.
pub fn build_props(
    dn: &LegacyDn,
    fb: &FreeBusy,
    range: PublishRange,
    style: PublisherStyle,
    now: Timestamp,
) -> BTreeMap<PropName, PropValue> {
    let clipped = match range.as_interval() {
        Some(window) => fb.clip(window),
        None => FreeBusy::default(),
    };
    let subject = dn.subject().as_str().to_string();
    let mut p = BTreeMap::new();
    let mut set = |tag, v| {
        p.insert(PropName::Mapi(tag), v);
    };
    set(tags::SCHEDULE_INFO_RESOURCE_TYPE, PropValue::Int(0));
    set(tags::GATEWAY_NEEDS_TO_REFRESH, PropValue::Bool(true));
    // Both fit in i32 until the year 5684.
    set(
        tags::FREEBUSY_PUBLISH_START,
        PropValue::Int(range.start.0 as i32),
    );
    set(
        tags::FREEBUSY_PUBLISH_END,
        PropValue::Int(range.end.0 as i32),
    );
    set(
        tags::FREEBUSY_MESSAGE_EMAIL_ADDRESS,
        PropValue::String(dn.as_str().to_string()),
    );
    set(
        tags::FREEBUSY_RANGE_TIMESTAMP,
        PropValue::SysTime(FileTime::from_timestamp(now).0),
    );
    set(tags::NORMALIZED_SUBJECT, PropValue::String(subject.clone()));
    set(tags::SUBJECT, PropValue::String(subject));
    for (tag, value) in pffb::encode(&clipped, range, style).to_props() {
        if let Some(v) = value {
            set(tag, v);
        }
    }
    p.insert(
        PropName::message_class(),
        PropValue::String(MESSAGE_CLASS.to_string()),
    );
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::freebusy::{FbStatus, Interval};
    use crate::protocol::time::Minutes1601;

    #[test]
    fn outlook_message_has_the_protocol_property_set() {
        let dn = LegacyDn::parse("/o=Org/ou=AG/cn=Recipients/cn=dan").unwrap();
        let range = PublishRange::at(Minutes1601::from_civil(2008, 2, 2), 2);
        let mut fb = FreeBusy::default();
        let s = Minutes1601::from_civil(2008, 2, 2).plus_minutes(1200);
        fb.add(
            FbStatus::Busy,
            Interval::new(s, s.plus_minutes(60)).unwrap(),
        );
        // Outside the range: not published.
        let far = Minutes1601::from_civil(2009, 1, 1);
        fb.add(
            FbStatus::Oof,
            Interval::new(far, far.plus_minutes(60)).unwrap(),
        );
        let p = build_props(
            &dn,
            &fb,
            range,
            PublisherStyle::Outlook,
            Timestamp::UNIX_EPOCH,
        );
        let get = |t| p.get(&PropName::Mapi(t)).cloned();
        assert_eq!(
            get(tags::SCHEDULE_INFO_RESOURCE_TYPE),
            Some(PropValue::Int(0))
        );
        assert_eq!(
            get(tags::GATEWAY_NEEDS_TO_REFRESH),
            Some(PropValue::Bool(true))
        );
        assert_eq!(
            get(tags::FREEBUSY_PUBLISH_START),
            Some(PropValue::Int(range.start.0 as i32))
        );
        assert_eq!(
            get(tags::NORMALIZED_SUBJECT),
            Some(PropValue::String("USER-/CN=RECIPIENTS/CN=DAN".into()))
        );
        assert_eq!(
            get(tags::SCHEDULE_INFO_FREEBUSY_BUSY),
            Some(PropValue::MvBinary(vec![vec![0x50, 0x0A, 0x8C, 0x0A]]))
        );
        assert_eq!(
            get(tags::SCHEDULE_INFO_FREEBUSY_MERGED),
            get(tags::SCHEDULE_INFO_FREEBUSY_BUSY)
        );
        // Outlook style: empty statuses unset.
        assert_eq!(get(tags::SCHEDULE_INFO_MONTHS_AWAY), None);
        assert_eq!(get(tags::SCHEDULE_INFO_MONTHS_TENTATIVE), None);
        assert_eq!(
            p.get(&PropName::message_class()),
            Some(&PropValue::String("IPM.Post".into()))
        );
    }

    /// The schedule every personality publishes in the tests: a busy event across the end
    /// of November, tentative events in November and January (nothing in December), no
    /// OOF, published on 2008-11-05 for 3 months, a range that crosses the year end.
    pub(crate) fn personality_schedule() -> (LegacyDn, FreeBusy, PublishRange) {
        let dn = LegacyDn::parse("/o=Org/ou=AG/cn=Recipients/cn=dan").unwrap();
        let at = |y, mo, d, min| Minutes1601::from_civil(y, mo, d).plus_minutes(min);
        let span = |a, b| Interval::new(a, b).unwrap();
        let fb = FreeBusy::from_spans([
            (
                FbStatus::Busy,
                span(at(2008, 11, 30, 23 * 60), at(2008, 12, 1, 60)),
            ),
            (
                FbStatus::Tentative,
                span(at(2008, 11, 3, 9 * 60), at(2008, 11, 3, 10 * 60)),
            ),
            (
                FbStatus::Tentative,
                span(at(2009, 1, 20, 9 * 60), at(2009, 1, 20, 10 * 60)),
            ),
        ]);
        (dn, fb, PublishRange::at(at(2008, 11, 5, 600), 3))
    }

    /// Issue 16: each personality's message is linted with exactly the findings
    /// docs/behaviour.md ("Publisher personalities") lists for it, each naming that
    /// publisher, and decodes to the schedule it was built from.
    #[test]
    fn every_personality_is_linted_with_exactly_its_documented_findings() {
        use crate::protocol::lint::{Facts, LintMessage, lint};
        let (dn, fb, range) = personality_schedule();
        // (style, publisher named on its findings, [(rule, how many findings)])
        type Expected = &'static [(&'static str, usize)];
        let table: [(PublisherStyle, &str, Expected); 5] = [
            (PublisherStyle::Outlook, "Outlook", &[]),
            (PublisherStyle::Exchange, "Exchange", &[]),
            (PublisherStyle::Gcc, "GCC", &[("unset-and-empty-mixed", 1)]),
            (
                PublisherStyle::Zimbra,
                "Zimbra",
                // Values 13, 14, 15 and 0 in each of the four statuses; the busy event's
                // block past November's end in busy and in merged.
                &[("month-invalid", 16), ("block-past-month-end", 2)],
            ),
            (
                PublisherStyle::Evolution,
                "evolution-exchange",
                &[("unset-and-empty-mixed", 1), ("merged-not-busy-or-oof", 1)],
            ),
        ];
        for (style, publisher, want) in table {
            let props = build_props(&dn, &fb, range, style, Timestamp::UNIX_EPOCH);
            let msg = LintMessage {
                folder: "EX:/o=Org/ou=AG",
                leaf: "USER-/CN=RECIPIENTS/CN=DAN.EML",
                props: &props,
                modified: None,
            };
            let findings = lint(&msg, &Facts::default());
            let mut got: Vec<(&str, usize)> = Vec::new();
            for f in &findings {
                match got.iter_mut().find(|(r, _)| *r == f.rule) {
                    Some((_, n)) => *n += 1,
                    None => got.push((f.rule.as_str(), 1)),
                }
                assert!(
                    f.publishers.iter().any(|p| p == publisher),
                    "{style:?}: finding {} does not name {publisher}",
                    f.line()
                );
            }
            let mut want = want.to_vec();
            want.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, want, "{style:?}: {findings:#?}");
            let decoded = pffb::decode(
                &pffb::PffbProps::from_lookup(|t| props.get(&PropName::Mapi(t))).unwrap(),
            )
            .unwrap();
            assert_eq!(decoded, fb, "{style:?} decodes to the schedule");
        }
    }

    /// The shapes themselves, as docs/behaviour.md describes them.
    #[test]
    fn each_personality_writes_its_documented_shape() {
        let (dn, fb, range) = personality_schedule();
        let (nov, dec, jan) = (2008 * 16 + 11, 2008 * 16 + 12, 2009 * 16 + 1);
        let shape = |style| {
            let p = build_props(&dn, &fb, range, style, Timestamp::UNIX_EPOCH);
            let months = |t| match p.get(&PropName::Mapi(t)) {
                Some(PropValue::MvInt(v)) => Some(v.clone()),
                None => None,
                other => panic!("{other:?}"),
            };
            (
                months(tags::SCHEDULE_INFO_MONTHS_MERGED),
                months(tags::SCHEDULE_INFO_MONTHS_TENTATIVE),
                months(tags::SCHEDULE_INFO_MONTHS_AWAY),
                p.get(&PropName::Mapi(tags::SCHEDULE_INFO_FREEBUSY_BUSY))
                    .cloned(),
            )
        };
        let (merged, tentative, away, _) = shape(PublisherStyle::Gcc);
        assert_eq!(merged, Some(vec![nov, dec, jan]));
        assert_eq!(tentative, Some(vec![nov, dec, jan]));
        assert_eq!(away, None, "GCC removes away when there is no OOF");

        let (merged, tentative, away, busy) = shape(PublisherStyle::Zimbra);
        let zimbra_months: Vec<i32> = (nov..=jan).collect();
        assert_eq!(zimbra_months.len(), 7, "Nov, Dec, 13, 14, 15, 0, Jan");
        assert_eq!(merged.as_ref(), Some(&zimbra_months));
        assert_eq!(tentative.as_ref(), Some(&zimbra_months));
        assert_eq!(away.as_ref(), Some(&zimbra_months));
        // Nov 30 23:00 .. Dec 1 01:00: 43140..43260 of November, nothing in December.
        let Some(PropValue::MvBinary(b)) = busy else {
            panic!("{busy:?}")
        };
        assert_eq!(
            b[0],
            [43140u16.to_le_bytes(), 43260u16.to_le_bytes()].concat()
        );
        assert!(b[1..].iter().all(Vec::is_empty));

        let (merged, tentative, away, _) = shape(PublisherStyle::Evolution);
        assert_eq!(merged, None, "evolution-exchange removes merged");
        assert_eq!(tentative, Some(vec![nov, dec, jan]));
        assert_eq!(away, None);
    }
}
