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
}
