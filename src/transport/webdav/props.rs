//! The properties of every resource: the live ones computed here, the stored ones as kept.
//!
//! Owns [`Entry`], one resource as PROPFIND, SEARCH and GET describe it, built from what the
//! store holds ([`Entry::from_found`], [`Entry::fb_item`], [`Entry::node`]); the live DAV and
//! Exchange properties of PROTOCOL.md §4 ([`LIVE`]); and [`write_response`], which answers a
//! PROPFIND/SEARCH property request for one entry in one `<a:response>`. Live properties
//! cannot be set or removed ([`is_protected`]); everything else a client stored comes back
//! with its `b:dt` type, MAPI properties of free/busy messages included.

use std::collections::BTreeMap;

use crate::protocol::dav_xml::{DAV_NS, PropfindRequest, ResponseBuilder};
use crate::protocol::legacy_dn::AdminGroup;
use crate::protocol::mapi::{PropName, PropValue, tags};
use crate::protocol::public_tree;
use crate::protocol::time::FileTime;
use crate::store::{FolderRecord, MessageRecord, PfNode};

use super::Found;
use super::path::{self, Resource};

/// The live DAV: properties, in the order `allprop` lists them.
pub const LIVE: &[&str] = &[
    "href",
    "displayname",
    "iscollection",
    "isfolder",
    "ishidden",
    "resourcetype",
    "contentclass",
    "getcontenttype",
    "getcontentlength",
    "getlastmodified",
    "creationdate",
    "getetag",
    "parentname",
];

/// DAV: properties this server computes (and so refuses to PROPPATCH), and the locking ones
/// it does not support.
pub fn is_protected(name: &PropName) -> bool {
    name.ns() == DAV_NS
        && (LIVE.contains(&name.local().as_str())
            || matches!(name.local().as_str(), "supportedlock" | "lockdiscovery"))
}

const CLASS_FOLDER: &str = "urn:content-classes:folder";
const CLASS_MESSAGE: &str = "urn:content-classes:message";
const CLASS_DOCUMENT: &str = "urn:content-classes:document";

/// One resource, described.
#[derive(Clone, Debug)]
pub struct Entry {
    pub href: String,
    pub name: String,
    pub collection: bool,
    pub hidden: bool,
    pub content_class: &'static str,
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    pub created_us: i64,
    pub modified_us: i64,
    pub etag: String,
    pub parent: Option<String>,
    /// Free/busy messages: the subject, as Exchange's `mapi/subject`.
    pub subject: Option<String>,
    /// Everything a client stored.
    pub props: BTreeMap<PropName, PropValue>,
}

/// A free/busy message's ETag: its modification time and a hash of its properties. The
/// time alone would not do: under a fixed clock (`--now`) every write has the same time,
/// and an ETag must change whenever the content does.
fn message_etag(rec: &MessageRecord) -> String {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same properties give the same ETag in every run of one
    // build (a new build may give new ETags; clients then fetch the message once more).
    let mut h = std::collections::hash_map::DefaultHasher::new();
    rec.props.hash(&mut h);
    format!("\"m-{:x}-{:x}\"", rec.modified_us, h.finish())
}

fn folder_entry(
    href: String,
    name: &str,
    parent: Option<String>,
    hidden: bool,
    t_us: i64,
) -> Entry {
    Entry {
        etag: format!("\"f-{t_us:x}\""),
        href,
        name: name.to_string(),
        collection: true,
        hidden,
        content_class: CLASS_FOLDER,
        content_type: None,
        content_length: None,
        created_us: t_us,
        modified_us: t_us,
        parent,
        subject: None,
        props: BTreeMap::new(),
    }
}

/// The parent href of an href (`/public/a/b/` → `/public/a/`).
fn parent_href(href: &str) -> Option<String> {
    let trimmed = href.strip_suffix('/').unwrap_or(href);
    let cut = trimmed.rfind('/')?;
    (cut > 0).then(|| trimmed[..=cut].to_string())
}

impl Entry {
    /// The entry of a found resource; `None` for a missing one.
    pub fn from_found(found: &Found) -> Option<Entry> {
        Some(match found {
            Found::Root | Found::NonIpm | Found::FbRoot => {
                let r = match found {
                    Found::Root => Resource::Root,
                    Found::NonIpm => Resource::NonIpm,
                    _ => Resource::FbRoot,
                };
                let href = path::system_href(&r)?;
                let (name, hidden) = match r {
                    Resource::Root => ("public", false),
                    Resource::NonIpm => (public_tree::NON_IPM_SUBTREE, true),
                    _ => (public_tree::FREE_BUSY_FOLDER, true),
                };
                let parent = parent_href(&href).filter(|_| r != Resource::Root);
                folder_entry(href, name, parent, hidden, 0)
            }
            Found::FbFolder(rec) => Entry::fb_folder(rec),
            Found::FbItem(folder, rec) => Entry::fb_item(folder, (**rec).clone()),
            Found::Node(n) => Entry::node((**n).clone()),
            Found::Missing(_) => return None,
        })
    }

    pub fn fb_folder(rec: &FolderRecord) -> Entry {
        // The record was valid when written; an unparsable name only loses its href's
        // canonical spelling, never the listing.
        let href = match AdminGroup::parse(&rec.name) {
            Ok(ag) => path::fb_folder_href(&ag),
            Err(_) => format!(
                "{}{}/",
                path::fb_root_href(),
                crate::protocol::wss_name::escape_segment(&rec.name)
            ),
        };
        folder_entry(
            href,
            &rec.name,
            Some(path::fb_root_href()),
            true,
            rec.created_us,
        )
    }

    pub fn fb_item(folder: &AdminGroup, rec: MessageRecord) -> Entry {
        let subject = rec
            .props
            .get(&PropName::Mapi(tags::SUBJECT))
            .and_then(PropValue::as_str)
            .unwrap_or(&rec.subject)
            .to_string();
        Entry {
            href: path::fb_item_href(folder, &rec.leaf),
            etag: message_etag(&rec),
            name: rec.leaf,
            collection: false,
            hidden: true,
            content_class: CLASS_MESSAGE,
            content_type: Some("message/rfc822".into()),
            content_length: Some(rfc822_len(&subject) as u64),
            created_us: rec.created_us,
            modified_us: rec.modified_us,
            parent: Some(path::fb_folder_href(folder)),
            subject: Some(subject),
            props: rec.props,
        }
    }

    pub fn node(n: PfNode) -> Entry {
        let folder = n.is_folder();
        let href = path::ordinary_href(&n.path, folder);
        Entry {
            parent: parent_href(&href),
            href,
            name: n.name().to_string(),
            collection: folder,
            hidden: false,
            content_class: if folder { CLASS_FOLDER } else { CLASS_DOCUMENT },
            content_type: if folder {
                None
            } else {
                Some(
                    n.content_type
                        .clone()
                        .unwrap_or_else(|| "application/octet-stream".into()),
                )
            },
            content_length: (!folder).then_some(n.content_length),
            created_us: n.created_us,
            modified_us: n.modified_us,
            etag: format!("\"{:x}\"", n.version),
            subject: None,
            props: n.props,
        }
    }

    /// `Last-Modified` / `DAV:getlastmodified`: RFC 1123 date.
    pub fn last_modified(&self) -> String {
        let ts = jiff::Timestamp::from_microsecond(self.modified_us)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&ts)
            .unwrap_or_default()
    }

    /// A live property's value.
    fn live(&self, name: &PropName) -> Option<PropValue> {
        if name.ns() == "http://schemas.microsoft.com/mapi/" && name.local() == "subject" {
            return self.subject.clone().map(PropValue::String);
        }
        if name.ns() != DAV_NS {
            return None;
        }
        let s = |v: &str| Some(PropValue::String(v.to_string()));
        match name.local().as_str() {
            "href" => s(&self.href),
            "displayname" => s(&self.name),
            "iscollection" | "isfolder" => Some(PropValue::Bool(self.collection)),
            "ishidden" => Some(PropValue::Bool(self.hidden)),
            // The writer binds `a` to DAV: on the multistatus root.
            "resourcetype" => Some(PropValue::Xml(if self.collection {
                "<a:collection/>".into()
            } else {
                String::new()
            })),
            "contentclass" => s(self.content_class),
            "getcontenttype" => self.content_type.as_deref().and_then(s),
            "getcontentlength" => self.content_length.map(|n| match i32::try_from(n) {
                Ok(n) => PropValue::Int(n),
                Err(_) => PropValue::I8(n as i64),
            }),
            "getlastmodified" => s(&self.last_modified()),
            "creationdate" => {
                let ts = jiff::Timestamp::from_microsecond(self.created_us)
                    .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                Some(PropValue::SysTime(FileTime::from_timestamp(ts).0))
            }
            "getetag" => s(&self.etag),
            "parentname" => self.parent.as_deref().and_then(s),
            _ => None,
        }
    }

    /// The value of any property: live first, then stored.
    pub fn value(&self, name: &PropName) -> Option<PropValue> {
        self.live(name).or_else(|| self.props.get(name).cloned())
    }

    /// Every live property this entry has, in [`LIVE`] order, then `mapi/subject`.
    fn live_names(&self) -> Vec<PropName> {
        let mut names: Vec<PropName> = LIVE
            .iter()
            .map(|l| PropName::new(DAV_NS, l))
            .filter(|n| self.live(n).is_some())
            .collect();
        if self.subject.is_some() && !self.props.contains_key(&PropName::mapi_subject()) {
            names.push(PropName::mapi_subject());
        }
        names
    }
}

/// The length of the `message/rfc822` body GET gives a free/busy message.
pub fn rfc822_len(subject: &str) -> usize {
    rfc822_body(subject).len()
}

/// The small message GET returns for a free/busy message (its data is in properties).
pub fn rfc822_body(subject: &str) -> String {
    // A subject is one line; anything that could start a header is flattened.
    let one_line: String = subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!(
        "Subject: {one_line}\r\nContent-Type: text/plain; charset=utf-8\r\nX-MS-Has-Attach: no\r\n\r\nFree/busy message; its data is in its MAPI properties (PROPFIND).\r\n"
    )
}

/// Write one `<a:response>` answering `req` for `entry`. With `brief`, properties that are
/// not found are left out (Exchange's `Brief: t`).
pub fn write_response(entry: &Entry, req: &PropfindRequest, brief: bool, out: &mut Vec<u8>) {
    let mut rb = ResponseBuilder::new(&entry.href);
    match req {
        PropfindRequest::AllProp { include } => {
            let live = entry.live_names();
            for name in &live {
                if let Some(v) = entry.live(name) {
                    rb.prop_ok(name, &v);
                }
            }
            for (name, v) in &entry.props {
                if !live.contains(name) {
                    rb.prop_ok(name, v);
                }
            }
            for name in include {
                if live.contains(name) || entry.props.contains_key(name) {
                    continue;
                }
                match entry.value(name) {
                    Some(v) => rb.prop_ok(name, &v),
                    None if brief => {}
                    None => rb.prop_status(name, 404),
                }
            }
        }
        PropfindRequest::PropName => {
            let live = entry.live_names();
            for name in &live {
                rb.prop_name_only(name);
            }
            for name in entry.props.keys().filter(|n| !live.contains(n)) {
                rb.prop_name_only(name);
            }
        }
        PropfindRequest::Prop(names) => {
            for name in names {
                match entry.value(name) {
                    Some(v) => rb.prop_ok(name, &v),
                    None if brief => {}
                    None => rb.prop_status(name, 404),
                }
            }
        }
    }
    rb.write(out);
}

/// A property value as text, for SEARCH comparisons: strings as they are, scalars as
/// Exchange writes them, booleans also as `true`/`false`.
pub fn matches_text(value: &PropValue, wanted: &str) -> bool {
    let text = match value {
        PropValue::String(s) | PropValue::Xml(s) => s.clone(),
        PropValue::Int(v) => v.to_string(),
        PropValue::I8(v) => v.to_string(),
        PropValue::Bool(b) => {
            let word = if *b { "true" } else { "false" };
            if wanted.eq_ignore_ascii_case(word) {
                return true;
            }
            (if *b { "1" } else { "0" }).to_string()
        }
        PropValue::SysTime(t) => crate::protocol::dav_xml::values::format_systime(*t),
        PropValue::MvString(items) => {
            return items.iter().any(|s| eq_fold(s, wanted));
        }
        PropValue::Binary(b) => crate::protocol::dav_xml::values::format_base64(b),
        PropValue::MvInt(_) | PropValue::MvBinary(_) => return false,
    };
    eq_fold(&text, wanted)
}

fn eq_fold(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_and_matching() {
        assert_eq!(parent_href("/public/a/b/").as_deref(), Some("/public/a/"));
        assert_eq!(parent_href("/public/a").as_deref(), Some("/public/"));
        assert_eq!(parent_href("/public/"), None);
        assert!(matches_text(
            &PropValue::String("USER-/CN=X".into()),
            "user-/cn=x"
        ));
        assert!(matches_text(&PropValue::Bool(false), "false"));
        assert!(matches_text(&PropValue::Bool(false), "0"));
        assert!(!matches_text(&PropValue::Int(3), "4"));
        assert!(is_protected(&PropName::new("DAV:", "getetag")));
        assert!(!is_protected(&PropName::new("DAV:", "author")));
    }
}
