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

/// A multistatus answer read as it arrives: each `response` is handed out as soon as its
/// end tag is in, so a listing of 100,000 messages holds one response (and one read
/// buffer) at a time. Each response is cut out whole and read with the root's start tag
/// around it (the namespace declarations Exchange and schedplus put there), by the same
/// reader as [`parse_multistatus`].
#[derive(Default)]
pub struct MultistatusStream {
    buf: Vec<u8>,
    /// The root's start tag and its name, once seen.
    root: Option<(String, String)>,
    /// `</a:response>`, from the first response's start tag.
    close: Option<Vec<u8>>,
    responses: usize,
}

impl MultistatusStream {
    pub fn new() -> MultistatusStream {
        MultistatusStream::default()
    }

    /// Take `chunk` and return the responses it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<DavResponse>, XmlError> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        if self.root.is_none() {
            let Some((tag, name, end)) = root_tag(&self.buf) else {
                return Ok(out);
            };
            self.root = Some((tag, name));
            self.buf.drain(..end);
        }
        loop {
            let Some(start) = find_response_start(&self.buf) else {
                // Keep a tail that may hold the start of a tag split across chunks.
                let keep = self.buf.len().min(64);
                let cut = self.buf.len() - keep;
                self.buf.drain(..cut);
                return Ok(out);
            };
            if self.close.is_none() {
                let name_end = self.buf[start + 1..]
                    .iter()
                    .position(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
                    .map(|i| start + 1 + i);
                let Some(name_end) = name_end else {
                    return Ok(out);
                };
                let mut close = b"</".to_vec();
                close.extend_from_slice(&self.buf[start + 1..name_end]);
                close.push(b'>');
                self.close = Some(close);
            }
            let close = self.close.as_deref().expect("set above");
            let Some(rel) = find(&self.buf[start..], close) else {
                self.buf.drain(..start);
                return Ok(out);
            };
            let end = start + rel + close.len();
            let (tag, name) = self.root.as_ref().expect("root seen");
            let mut doc = Vec::with_capacity(tag.len() + end - start + name.len() + 3);
            doc.extend_from_slice(tag.as_bytes());
            doc.extend_from_slice(&self.buf[start..end]);
            doc.extend_from_slice(format!("</{name}>").as_bytes());
            out.extend(parse_multistatus(&doc)?);
            self.responses += 1;
            self.buf.drain(..end);
        }
    }

    /// After the last chunk: was this a multistatus answer at all?
    pub fn finish(self) -> Result<usize, XmlError> {
        match self.root {
            Some(_) => Ok(self.responses),
            None => Err(XmlError::Malformed(
                "the answer has no root element".into(),
                0,
            )),
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// The root's start tag (text and name) and the offset after it, once the buffer holds it.
fn root_tag(buf: &[u8]) -> Option<(String, String, usize)> {
    let mut i = 0;
    loop {
        let lt = i + buf[i..].iter().position(|&b| b == b'<')?;
        match buf.get(lt + 1)? {
            b'?' | b'!' => {
                i = lt + 1 + find(&buf[lt + 1..], b">")? + 1;
            }
            _ => {
                let gt = lt + find(&buf[lt..], b">")?;
                let tag = std::str::from_utf8(&buf[lt..=gt]).ok()?.to_string();
                let name_len = tag[1..]
                    .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
                    .unwrap_or(tag.len() - 1);
                let name = tag[1..1 + name_len].to_string();
                return Some((tag, name, gt + 1));
            }
        }
    }
}

/// The offset of the next `<response` or `<p:response` start tag (not `responsedescription`).
fn find_response_start(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(rel) = find(&buf[i..], b"response") {
        let at = i + rel;
        let after = buf.get(at + 8).copied();
        let closes_name = after.is_some_and(|b| b.is_ascii_whitespace() || b == b'>' || b == b'/');
        // Walk back over a prefix to the `<`.
        let mut j = at;
        while j > 0
            && (buf[j - 1].is_ascii_alphanumeric() || matches!(buf[j - 1], b'_' | b'-' | b'.'))
        {
            j -= 1;
        }
        let prefixed = j > 0 && buf[j - 1] == b':' && {
            let mut k = j - 1;
            while k > 0
                && (buf[k - 1].is_ascii_alphanumeric() || matches!(buf[k - 1], b'_' | b'-' | b'.'))
            {
                k -= 1;
            }
            k > 0 && buf[k - 1] == b'<' && {
                j = k - 1;
                true
            }
        };
        let bare = !prefixed && j == at && at > 0 && buf[at - 1] == b'<' && {
            j = at - 1;
            true
        };
        if closes_name && (prefixed || bare) {
            return Some(j);
        }
        i = at + 8;
    }
    None
}
