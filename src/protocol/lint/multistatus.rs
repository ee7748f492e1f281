//! A PROPFIND answer (`207 Multi-Status`) read into its responses, for `lint --remote`.
//!
//! Reads what Exchange 2003 and schedplus write: `response` elements with an `href` and
//! `propstat`s, `status` before or after `prop`; values typed by `b:dt` (or by the tag's
//! suffix, as Exchange inferred), multi-values as `<c:v>`. Only properties of a `200`
//! propstat are kept. Values go through the same reader as PROPPATCH bodies, so a property
//! reads back exactly as a client wrote it.

use std::collections::BTreeMap;

use crate::protocol::dav_xml::reader::{Node, SafeReader};
use crate::protocol::dav_xml::{DAV_NS, XmlError, XmlLimits, read_value};
use crate::protocol::mapi::{PropName, PropValue};

/// One `response` of a multistatus answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DavResponse {
    /// As sent (escaped, absolute or not).
    pub href: String,
    /// The properties of its `200` propstats.
    pub props: BTreeMap<PropName, PropValue>,
}

impl DavResponse {
    /// A `DAV:` property as text.
    pub fn dav_text(&self, local: &str) -> Option<&str> {
        self.props
            .get(&PropName::new(DAV_NS, local))
            .and_then(PropValue::as_str)
    }

    /// `DAV:iscollection` is 1, or `DAV:resourcetype` holds `collection`.
    pub fn is_collection(&self) -> bool {
        if let Some(v) = self.dav_text("iscollection") {
            return v.trim() == "1" || v.trim().eq_ignore_ascii_case("true");
        }
        match self.props.get(&PropName::new(DAV_NS, "iscollection")) {
            Some(PropValue::Bool(b)) => return *b,
            Some(PropValue::Int(i)) => return *i != 0,
            _ => {}
        }
        matches!(self.props.get(&PropName::new(DAV_NS, "resourcetype")),
            Some(PropValue::Xml(x)) if x.contains("collection"))
    }
}

/// Limits for answers: a Depth 1 listing of a large folder has many elements; depth and
/// attributes stay bounded as for requests.
pub fn answer_limits() -> XmlLimits {
    XmlLimits {
        max_elements: usize::MAX,
        ..XmlLimits::default()
    }
}

/// Read a whole multistatus body.
pub fn parse_multistatus(body: &[u8]) -> Result<Vec<DavResponse>, XmlError> {
    let mut r = SafeReader::new(body, &answer_limits())?;
    r.expect_root(DAV_NS, "multistatus")?;
    let mut out = Vec::new();
    loop {
        match r.next_node()? {
            Node::Start(e) if e.is(DAV_NS, "response") => out.push(read_response(&mut r)?),
            Node::Start(_) => r.skip_element()?,
            Node::Text(_) => {}
            Node::End { .. } => break,
            Node::Eof => return Err(XmlError::Malformed("the answer ends early".into(), 0)),
        }
    }
    r.expect_eof()?;
    Ok(out)
}

fn read_text(r: &mut SafeReader<'_>) -> Result<String, XmlError> {
    let mut s = String::new();
    let mut open = 1usize;
    while open > 0 {
        match r.next_node()? {
            Node::Start(_) => open += 1,
            Node::End { .. } => open -= 1,
            Node::Text(t) if open == 1 => s.push_str(&t),
            Node::Text(_) => {}
            Node::Eof => return Err(XmlError::Malformed("the answer ends early".into(), 0)),
        }
    }
    Ok(s.trim().to_string())
}

fn read_response(r: &mut SafeReader<'_>) -> Result<DavResponse, XmlError> {
    let mut resp = DavResponse {
        href: String::new(),
        props: BTreeMap::new(),
    };
    loop {
        match r.next_node()? {
            Node::Start(e) if e.is(DAV_NS, "href") => resp.href = read_text(r)?,
            Node::Start(e) if e.is(DAV_NS, "propstat") => {
                let mut status_ok = false;
                let mut props = Vec::new();
                loop {
                    match r.next_node()? {
                        Node::Start(e) if e.is(DAV_NS, "status") => {
                            let s = read_text(r)?;
                            status_ok = s.split_whitespace().nth(1) == Some("200");
                        }
                        Node::Start(e) if e.is(DAV_NS, "prop") => loop {
                            match r.next_node()? {
                                Node::Start(p) => {
                                    let name = PropName::new(&p.ns, &p.local);
                                    // A value that does not read as its type (an empty
                                    // element in a 404 propstat, a garbage value) is left out:
                                    // the message then lacks it, as a reader would see it.
                                    match read_value(r, &p, &name) {
                                        Ok(value) => props.push((name, value)),
                                        Err(XmlError::BadValue { .. }) => {}
                                        Err(e) => return Err(e),
                                    }
                                }
                                Node::Text(_) => {}
                                Node::End { .. } => break,
                                Node::Eof => {
                                    return Err(XmlError::Malformed(
                                        "the answer ends early".into(),
                                        0,
                                    ));
                                }
                            }
                        },
                        Node::Start(_) => r.skip_element()?,
                        Node::Text(_) => {}
                        Node::End { .. } => break,
                        Node::Eof => {
                            return Err(XmlError::Malformed("the answer ends early".into(), 0));
                        }
                    }
                }
                if status_ok {
                    resp.props.extend(props);
                }
            }
            Node::Start(_) => r.skip_element()?,
            Node::Text(_) => {}
            Node::End { .. } => return Ok(resp),
            Node::Eof => return Err(XmlError::Malformed("the answer ends early".into(), 0)),
        }
    }
}
