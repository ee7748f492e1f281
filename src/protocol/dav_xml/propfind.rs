//! PROPFIND bodies: `DAV:propfind` → [`PropfindRequest`].
//!
//! RFC 4918 §9.1 and §14.20: an empty body means `allprop`; the body holds one of
//! `allprop` (optionally with `include`), `propname` or `prop`. Unknown elements are
//! ignored wherever they appear outside `prop`/`include` (litmus `propextended`). A
//! `propfind` holding none of the three is read as `allprop` (lenient; some clients send
//! `<propfind/>`); one holding two of them is refused.

use std::collections::HashSet;

use crate::protocol::mapi::PropName;

use super::reader::{Node, SafeReader, is_xml_space};
use super::{DAV_NS, XmlError, XmlLimits};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropfindRequest {
    /// All properties, plus the listed ones that `allprop` would not return.
    AllProp { include: Vec<PropName> },
    /// Names only.
    PropName,
    /// These properties, in request order, duplicates dropped.
    Prop(Vec<PropName>),
}

pub fn parse_propfind(body: &[u8], limits: &XmlLimits) -> Result<PropfindRequest, XmlError> {
    let mut r = SafeReader::new(body, limits)?;
    if r.input().chars().all(is_xml_space) {
        return Ok(PropfindRequest::AllProp {
            include: Vec::new(),
        });
    }
    r.expect_root(DAV_NS, "propfind")?;
    let mut mode: Option<PropfindRequest> = None;
    let mut include = Vec::new();
    let mut included = HashSet::new();
    let set_mode = |mode: &mut Option<PropfindRequest>, m| {
        if mode.is_some() {
            return Err(XmlError::Invalid(
                "a propfind must hold only one of allprop, propname or prop".into(),
            ));
        }
        *mode = Some(m);
        Ok(())
    };
    loop {
        match r.next_node()? {
            Node::Start(e) if e.is(DAV_NS, "allprop") => {
                r.skip_element()?;
                set_mode(
                    &mut mode,
                    PropfindRequest::AllProp {
                        include: Vec::new(),
                    },
                )?;
            }
            Node::Start(e) if e.is(DAV_NS, "propname") => {
                r.skip_element()?;
                set_mode(&mut mode, PropfindRequest::PropName)?;
            }
            Node::Start(e) if e.is(DAV_NS, "prop") => {
                let names = read_names(&mut r)?;
                set_mode(&mut mode, PropfindRequest::Prop(names))?;
            }
            Node::Start(e) if e.is(DAV_NS, "include") => {
                for name in read_names(&mut r)? {
                    if included.insert(name.clone()) {
                        include.push(name);
                    }
                }
            }
            Node::Start(_) => r.skip_element()?,
            Node::Text(_) => {}
            Node::End { .. } | Node::Eof => break,
        }
    }
    r.expect_eof()?;
    Ok(match mode {
        None | Some(PropfindRequest::AllProp { .. }) => PropfindRequest::AllProp { include },
        Some(m) => m,
    })
}

/// The property names listed inside `prop` or `include`; their content is ignored.
pub(crate) fn read_names(r: &mut SafeReader<'_>) -> Result<Vec<PropName>, XmlError> {
    let mut names = Vec::new();
    // A hash set, not `Vec::contains`: a hostile `prop` may list 100,000 names.
    let mut seen = HashSet::new();
    loop {
        match r.next_node()? {
            Node::Start(e) => {
                r.skip_element()?;
                let name = PropName::new(&e.ns, &e.local);
                if seen.insert(name.clone()) {
                    names.push(name);
                }
            }
            Node::Text(_) => {}
            Node::End { .. } | Node::Eof => return Ok(names),
        }
    }
}
