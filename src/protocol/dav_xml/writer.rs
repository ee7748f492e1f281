//! Multistatus bodies, written the way Exchange 2003 writes them and streamable.
//!
//! Inside each `propstat` the `status` comes before the `prop`, Exchange 2003's order: RFC
//! 4918 allows either, and evolution-exchange reads only propstats that start with status.
//!
//! A body is [`multistatus_head`], then one [`ResponseBuilder::write`] per resource, then
//! [`multistatus_tail`] ([`multistatus`] writes a short one whole); nothing is buffered across
//! responses, so a folder of 100,000 items
//! streams in constant memory. The root binds the prefixes Exchange clients see: `a` = DAV:,
//! `b` = the `b:dt` namespace, `c` = `xml:` (multi-value items), and `d`/`e`/`f` for the MAPI
//! proptag, MAPI and Exchange namespaces. A property in any other namespace declares `g` on
//! its own element; one in no namespace is written `<x xmlns="">`. The root binds no default
//! namespace, which [`PropValue::Xml`] values rely on.
//!
//! Properties whose local name is not an XML name (only possible through names built
//! outside the parsers) are left out rather than break the document.

use crate::protocol::mapi::{PROPTAG_NS, PropName, PropValue};

use super::reader::is_ncname;
use super::values::{escape_attr, escape_text, write_content, written_type};
use super::{DAV_NS, DT_NS, MV_NS};

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

const HEAD: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n",
    "<a:multistatus xmlns:a=\"DAV:\"",
    " xmlns:b=\"urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/\"",
    " xmlns:c=\"xml:\"",
    " xmlns:d=\"http://schemas.microsoft.com/mapi/proptag/\"",
    " xmlns:e=\"http://schemas.microsoft.com/mapi/\"",
    " xmlns:f=\"http://schemas.microsoft.com/exchange/\">"
);

/// The prefixes [`HEAD`] binds, by namespace.
fn root_prefix(ns: &str) -> Option<&'static str> {
    match ns {
        DAV_NS => Some("a"),
        DT_NS => Some("b"),
        MV_NS => Some("c"),
        PROPTAG_NS => Some("d"),
        "http://schemas.microsoft.com/mapi/" => Some("e"),
        "http://schemas.microsoft.com/exchange/" => Some("f"),
        XML_NS => Some("xml"),
        _ => None,
    }
}

/// The XML declaration and the `<a:multistatus>` start tag with its namespace bindings.
pub fn multistatus_head() -> &'static str {
    HEAD
}

pub fn multistatus_tail() -> &'static str {
    "</a:multistatus>"
}

/// A whole multistatus body of a few responses (a PROPPATCH answer); a listing streams
/// [`multistatus_head`], the responses and [`multistatus_tail`] instead.
pub fn multistatus(responses: &[ResponseBuilder]) -> Vec<u8> {
    let mut out = multistatus_head().as_bytes().to_vec();
    for r in responses {
        r.write(&mut out);
    }
    out.extend_from_slice(multistatus_tail().as_bytes());
    out
}

/// A `DAV:error` body with one precondition element, e.g. `propfind-finite-depth`
/// (RFC 4918 §9.1 and §16). A condition that is not an XML name gives an empty error.
pub fn error_body(condition: &str) -> String {
    let head = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
    if is_ncname(condition) {
        format!("{head}<D:error xmlns:D=\"DAV:\"><D:{condition}/></D:error>")
    } else {
        format!("{head}<D:error xmlns:D=\"DAV:\"/>")
    }
}

/// One `<a:response>`: an href, then either property groups by status or one
/// response-level status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseBuilder {
    href: String,
    status: Option<u16>,
    /// (status, the properties' markup), in order of first use.
    groups: Vec<(u16, Vec<u8>)>,
}

impl ResponseBuilder {
    /// `href` must already be URL-escaped; it is XML-escaped here.
    pub fn new(href: &str) -> Self {
        ResponseBuilder {
            href: href.to_string(),
            status: None,
            groups: Vec::new(),
        }
    }

    fn group(&mut self, code: u16) -> &mut Vec<u8> {
        let i = match self.groups.iter().position(|(c, _)| *c == code) {
            Some(i) => i,
            None => {
                self.groups.push((code, Vec::new()));
                self.groups.len() - 1
            }
        };
        &mut self.groups[i].1
    }

    /// A property with its value, in the 200 group.
    pub fn prop_ok(&mut self, name: &PropName, value: &PropValue) {
        write_prop(self.group(200), name, Some(value));
    }

    /// A property without value under another status (404, 403, 409, 424…).
    pub fn prop_status(&mut self, name: &PropName, status: u16) {
        write_prop(self.group(status), name, None);
    }

    /// An empty property element in the 200 group: PROPFIND `propname` answers and
    /// successful PROPPATCH results.
    pub fn prop_name_only(&mut self, name: &PropName) {
        write_prop(self.group(200), name, None);
    }

    /// A response-level status instead of property groups (e.g. 404 for a member that
    /// vanished); when set, property groups are not written.
    pub fn status(&mut self, code: u16) {
        self.status = Some(code);
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"<a:response><a:href>");
        escape_text(out, &self.href);
        out.extend_from_slice(b"</a:href>");
        if let Some(code) = self.status {
            write_status(out, code);
        } else if self.groups.is_empty() {
            // A response must hold a propstat or a status (RFC 4918 §14.24).
            out.extend_from_slice(b"<a:propstat>");
            write_status(out, 200);
            out.extend_from_slice(b"<a:prop/></a:propstat>");
        } else {
            for (code, props) in &self.groups {
                // Exchange 2003 wrote `status` first; evolution-exchange skips a propstat
                // whose first child is anything else (RFC 4918 leaves the order free).
                out.extend_from_slice(b"<a:propstat>");
                write_status(out, *code);
                out.extend_from_slice(b"<a:prop>");
                out.extend_from_slice(props);
                out.extend_from_slice(b"</a:prop></a:propstat>");
            }
        }
        out.extend_from_slice(b"</a:response>");
    }
}

fn write_status(out: &mut Vec<u8>, code: u16) {
    out.extend_from_slice(b"<a:status>HTTP/1.1 ");
    out.extend_from_slice(code.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason_phrase(code).as_bytes());
    out.extend_from_slice(b"</a:status>");
}

/// Reason phrases for the statuses a multistatus carries.
fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        207 => "Multi-Status",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        412 => "Precondition Failed",
        422 => "Unprocessable Entity",
        423 => "Locked",
        424 => "Failed Dependency",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        507 => "Insufficient Storage",
        _ => "Unknown",
    }
}

/// Write one property element; `None` writes it empty and untyped.
fn write_prop(out: &mut Vec<u8>, name: &PropName, value: Option<&PropValue>) {
    let local = name.local();
    let ns = name.ns();
    if !is_ncname(&local) || ns == "http://www.w3.org/2000/xmlns/" {
        return;
    }
    let prefix = root_prefix(ns);
    out.push(b'<');
    let qname_start = out.len();
    match prefix {
        Some(p) => {
            out.extend_from_slice(p.as_bytes());
            out.push(b':');
        }
        None if ns.is_empty() => {}
        None => out.extend_from_slice(b"g:"),
    }
    out.extend_from_slice(local.as_bytes());
    let qname_end = out.len();
    match prefix {
        Some(_) => {}
        None if ns.is_empty() => out.extend_from_slice(b" xmlns=\"\""),
        None => {
            out.extend_from_slice(b" xmlns:g=\"");
            escape_attr(out, ns);
            out.push(b'"');
        }
    }
    let Some(value) = value else {
        out.extend_from_slice(b"/>");
        return;
    };
    if let Some(dt) = written_type(name, value) {
        out.extend_from_slice(b" b:dt=\"");
        out.extend_from_slice(dt.as_bytes());
        out.push(b'"');
    }
    let gt = out.len();
    out.push(b'>');
    write_content(out, value);
    if out.len() == gt + 1 {
        out.truncate(gt);
        out.extend_from_slice(b"/>");
    } else {
        out.extend_from_slice(b"</");
        out.extend_from_within(qname_start..qname_end);
        out.push(b'>');
    }
}
