//! MAPI properties as the free/busy store holds them and WebDAV names them.
//!
//! Owns [`PropTag`] (a 32-bit tag: property id in the high half, type in the low half),
//! [`PropName`] (a WebDAV property name, with MAPI proptag names canonicalised so that
//! `x68470003`, `0X68470003` and `x68470003` are one key), [`PropValue`] (the typed values
//! of Exchange's `b:dt` typing) and the well-known tags of [MS-OXOPFFB].
//!
//! Must not know about storage or HTTP.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The namespace under which Exchange exposes MAPI properties by tag.
pub const PROPTAG_NS: &str = "http://schemas.microsoft.com/mapi/proptag/";

/// A MAPI property tag: `id << 16 | type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PropTag(pub u32);

impl PropTag {
    pub fn id(self) -> u16 {
        (self.0 >> 16) as u16
    }

    pub fn prop_type(self) -> u16 {
        self.0 as u16
    }

    /// The local part of the WebDAV name: lower-case `x` and eight hex digits.
    pub fn dav_local_name(self) -> String {
        format!("x{:08x}", self.0)
    }

    /// Parse the local part of a proptag name: `x`/`0x` prefix, hex digits in either case.
    pub fn parse_local_name(s: &str) -> Option<PropTag> {
        let hex = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .or_else(|| s.strip_prefix('x'))
            .or_else(|| s.strip_prefix('X'))?;
        if hex.is_empty() || hex.len() > 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(hex, 16).ok().map(PropTag)
    }
}

impl fmt::Display for PropTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08X}", self.0)
    }
}

/// MAPI property types used by the store.
pub mod ptype {
    pub const PT_SHORT: u16 = 0x0002;
    pub const PT_LONG: u16 = 0x0003;
    pub const PT_BOOLEAN: u16 = 0x000B;
    pub const PT_I8: u16 = 0x0014;
    pub const PT_STRING8: u16 = 0x001E;
    pub const PT_UNICODE: u16 = 0x001F;
    pub const PT_SYSTIME: u16 = 0x0040;
    pub const PT_BINARY: u16 = 0x0102;
    /// A multi-valued type is its single-valued type with this flag ([MS-OXCDATA] 2.11.1).
    pub const MV_FLAG: u16 = 0x1000;
    pub const PT_MV_LONG: u16 = MV_FLAG | PT_LONG;
    pub const PT_MV_STRING8: u16 = MV_FLAG | PT_STRING8;
    pub const PT_MV_UNICODE: u16 = MV_FLAG | PT_UNICODE;
    pub const PT_MV_BINARY: u16 = MV_FLAG | PT_BINARY;
}

/// The tags of [MS-OXOPFFB] and the subject properties.
pub mod tags {
    use super::PropTag;
    pub const SCHEDULE_INFO_RESOURCE_TYPE: PropTag = PropTag(0x6841_0003);
    pub const GATEWAY_NEEDS_TO_REFRESH: PropTag = PropTag(0x6846_000B);
    pub const FREEBUSY_PUBLISH_START: PropTag = PropTag(0x6847_0003);
    pub const FREEBUSY_PUBLISH_END: PropTag = PropTag(0x6848_0003);
    pub const FREEBUSY_MESSAGE_EMAIL_ADDRESS: PropTag = PropTag(0x6849_001F);
    pub const SCHEDULE_INFO_MONTHS_MERGED: PropTag = PropTag(0x684F_1003);
    pub const SCHEDULE_INFO_FREEBUSY_MERGED: PropTag = PropTag(0x6850_1102);
    pub const SCHEDULE_INFO_MONTHS_TENTATIVE: PropTag = PropTag(0x6851_1003);
    pub const SCHEDULE_INFO_FREEBUSY_TENTATIVE: PropTag = PropTag(0x6852_1102);
    pub const SCHEDULE_INFO_MONTHS_BUSY: PropTag = PropTag(0x6853_1003);
    pub const SCHEDULE_INFO_FREEBUSY_BUSY: PropTag = PropTag(0x6854_1102);
    pub const SCHEDULE_INFO_MONTHS_AWAY: PropTag = PropTag(0x6855_1003);
    pub const SCHEDULE_INFO_FREEBUSY_AWAY: PropTag = PropTag(0x6856_1102);
    pub const FREEBUSY_RANGE_TIMESTAMP: PropTag = PropTag(0x6868_0040);
    pub const NORMALIZED_SUBJECT: PropTag = PropTag(0x0E1D_001F);
    pub const SUBJECT: PropTag = PropTag(0x0037_001F);
}

/// A WebDAV property name. MAPI tags are held as tags so that every spelling of one tag
/// is one key; everything else keeps its namespace URI and local name as sent.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PropName {
    Mapi(PropTag),
    Named { ns: String, local: String },
}

impl PropName {
    pub fn new(ns: &str, local: &str) -> PropName {
        if ns.eq_ignore_ascii_case(PROPTAG_NS) {
            if let Some(tag) = PropTag::parse_local_name(local) {
                return PropName::Mapi(tag);
            }
        }
        PropName::Named {
            ns: ns.to_string(),
            local: local.to_string(),
        }
    }

    /// Parse a full name as it appears in SEARCH SQL: namespace URI immediately followed by
    /// the local name. The split is at the last `/`, `:` or `#`.
    pub fn from_uri(uri: &str) -> PropName {
        match uri.rfind(['/', ':', '#']) {
            Some(i) if i + 1 < uri.len() => PropName::new(&uri[..=i], &uri[i + 1..]),
            _ => PropName::new("", uri),
        }
    }

    pub fn ns(&self) -> &str {
        match self {
            PropName::Mapi(_) => PROPTAG_NS,
            PropName::Named { ns, .. } => ns,
        }
    }

    pub fn local(&self) -> String {
        match self {
            PropName::Mapi(t) => t.dav_local_name(),
            PropName::Named { local, .. } => local.clone(),
        }
    }

    pub fn message_class() -> PropName {
        PropName::new(
            "http://schemas.microsoft.com/exchange/",
            "outlookmessageclass",
        )
    }

    pub fn mapi_subject() -> PropName {
        PropName::new("http://schemas.microsoft.com/mapi/", "subject")
    }
}

impl fmt::Display for PropName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.ns(), self.local())
    }
}

/// A typed property value, as Exchange's `b:dt` attribute types them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PropValue {
    /// `int` (PT_LONG)
    Int(i32),
    /// `boolean` (PT_BOOLEAN), written 0/1
    Bool(bool),
    /// `i8` (PT_I8)
    I8(i64),
    /// `dateTime.tz` (PT_SYSTIME), as FILETIME ticks
    SysTime(i64),
    /// untyped or `string`
    String(String),
    /// `bin.base64`
    Binary(Vec<u8>),
    /// `mv.int`
    MvInt(Vec<i32>),
    /// `mv.bin.base64`
    MvBinary(Vec<Vec<u8>>),
    /// `mv.string`
    MvString(Vec<String>),
    /// A dead property whose value is XML: the inner markup, kept with its namespace
    /// declarations so it can be written back as sent.
    Xml(String),
}

impl PropValue {
    /// The `b:dt` name of this value's type, `None` for plain strings and XML.
    pub fn dav_type(&self) -> Option<&'static str> {
        match self {
            PropValue::Int(_) => Some("int"),
            PropValue::Bool(_) => Some("boolean"),
            PropValue::I8(_) => Some("i8"),
            PropValue::SysTime(_) => Some("dateTime.tz"),
            PropValue::String(_) | PropValue::Xml(_) => None,
            PropValue::Binary(_) => Some("bin.base64"),
            PropValue::MvInt(_) => Some("mv.int"),
            PropValue::MvBinary(_) => Some("mv.bin.base64"),
            PropValue::MvString(_) => Some("mv.string"),
        }
    }

    pub fn as_int(&self) -> Option<i32> {
        match self {
            PropValue::Int(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            PropValue::String(s) => Some(s),
            _ => None,
        }
    }
}

/// One change to a stored item's properties: a PROPPATCH instruction, in the order the
/// body gave it, as the store applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropChange {
    Set(PropName, PropValue),
    Remove(PropName),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proptag_names_accept_every_spelling() {
        for s in [
            "x68470003",
            "X68470003",
            "0x68470003",
            "0X68470003",
            "x68470003",
        ] {
            assert_eq!(
                PropTag::parse_local_name(s),
                Some(tags::FREEBUSY_PUBLISH_START),
                "{s}"
            );
        }
        assert_eq!(PropTag::parse_local_name("x6850110z"), None);
        assert_eq!(PropTag::parse_local_name("68470003"), None);
        assert_eq!(PropTag::parse_local_name("x"), None);
        assert_eq!(
            tags::SCHEDULE_INFO_FREEBUSY_MERGED.dav_local_name(),
            "x68501102"
        );
    }

    #[test]
    fn prop_names_canonicalise_mapi_tags() {
        let a = PropName::new(PROPTAG_NS, "0x6849001F");
        let b = PropName::from_uri("http://schemas.microsoft.com/mapi/proptag/x6849001f");
        assert_eq!(a, b);
        assert_eq!(
            b.to_string(),
            "http://schemas.microsoft.com/mapi/proptag/x6849001f"
        );
        let s = PropName::from_uri("http://schemas.microsoft.com/mapi/subject");
        assert_eq!(s, PropName::mapi_subject());
        let d = PropName::from_uri("DAV:displayname");
        assert_eq!(d, PropName::new("DAV:", "displayname"));
    }
}
