//! A small element tree over the hardened reader (`dav_xml::reader`), for SOAP bodies.
//!
//! The reader already bounds depth, element and attribute counts ([`XmlLimits`]), refuses
//! DTDs and undeclared prefixes; this module only gathers its nodes into [`XNode`]s so the
//! request parsers can look children up by name.

use crate::protocol::dav_xml::reader::{Node, SafeReader};
use crate::protocol::dav_xml::{XmlError, XmlLimits};

/// One element: its resolved name, attributes (without namespace declarations), children
/// and the text directly inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XNode {
    pub ns: String,
    pub local: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<XNode>,
    pub text: String,
}

impl XNode {
    /// The first child named `local`, in any namespace (clients differ in which of the
    /// messages and types namespaces they put an element; the names do not collide).
    pub fn child(&self, local: &str) -> Option<&XNode> {
        self.children.iter().find(|c| c.local == local)
    }

    pub fn children_named<'a>(&'a self, local: &'a str) -> impl Iterator<Item = &'a XNode> {
        self.children.iter().filter(move |c| c.local == local)
    }

    /// The trimmed text of the child `local`.
    pub fn child_text(&self, local: &str) -> Option<&str> {
        self.child(local).map(|c| c.text.trim())
    }

    /// An attribute by local name (unqualified attributes, as EWS writes them).
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == local)
            .map(|(_, v)| v.as_str())
    }
}

/// Read a whole document into its root element.
pub fn parse(body: &[u8], limits: &XmlLimits) -> Result<XNode, XmlError> {
    let mut r = SafeReader::new(body, limits)?;
    let root = match r.next_node()? {
        Node::Start(e) => e,
        Node::Eof => return Err(XmlError::Empty("soap:Envelope".into())),
        _ => {
            return Err(XmlError::Malformed(
                "the document has no root element".into(),
                0,
            ));
        }
    };
    // An explicit stack rather than recursion: the reader bounds the depth, but a stack
    // keeps even the bound's worth of nesting off the thread's stack.
    let mut stack = vec![new_node(root)];
    loop {
        match r.next_node()? {
            Node::Start(e) => stack.push(new_node(e)),
            Node::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t);
                }
            }
            Node::End { .. } => {
                let done = stack.pop().expect("an End matches a Start");
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => {
                        r.expect_eof()?;
                        return Ok(done);
                    }
                }
            }
            Node::Eof => {
                return Err(XmlError::Malformed(
                    "the document ends inside an element".into(),
                    0,
                ));
            }
        }
    }
}

fn new_node(e: crate::protocol::dav_xml::reader::Element) -> XNode {
    XNode {
        ns: e.ns,
        local: e.local,
        attrs: e.attrs.into_iter().map(|a| (a.local, a.value)).collect(),
        children: Vec::new(),
        text: String::new(),
    }
}
