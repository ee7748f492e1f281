//! PROPPATCH bodies: `DAV:propertyupdate` → [`PropChange`]s in document order.
//!
//! Exchange clients create a whole free/busy message in one PROPPATCH, `set` and `remove`
//! blocks mixed, and expect them applied in document order (RFC 4918 §9.2), so the result
//! is one flat list across blocks. Property values are read by [`read_value`]: typed by
//! `b:dt` (either datatype namespace, any prefix), else for a MAPI proptag by its tag's type
//! suffix (as Exchange did: `x68531003` is `mv.int`), else kept as markup when they hold
//! child elements, or else plain text. Multi-value items are `v` elements under any prefix
//! bound to `xml:` (`<c:v>`, `<X:v>`).

use crate::protocol::mapi::{PropChange, PropName, PropValue};

use super::reader::{Element, Node, SafeReader, is_xml_space};
use super::values::{escape_attr, implied_type, parse_typed};
use super::{DAV_NS, DT_NS, DT_NS_ALT, MV_NS, XmlError, XmlLimits};

/// Parse a `DAV:propertyupdate` body. Unknown elements outside `DAV:prop` are ignored
/// (RFC 4918 extensibility); every element inside `DAV:prop` is a property. A body with no
/// property at all is refused.
pub fn parse_proppatch(body: &[u8], limits: &XmlLimits) -> Result<Vec<PropChange>, XmlError> {
    let mut r = SafeReader::new(body, limits)?;
    if r.input().chars().all(is_xml_space) {
        return Err(XmlError::Empty("{DAV:}propertyupdate".into()));
    }
    r.expect_root(DAV_NS, "propertyupdate")?;
    let mut ops = Vec::new();
    loop {
        match r.next_node()? {
            Node::Start(e) if e.is(DAV_NS, "set") => read_instruction(&mut r, true, &mut ops)?,
            Node::Start(e) if e.is(DAV_NS, "remove") => read_instruction(&mut r, false, &mut ops)?,
            Node::Start(_) => r.skip_element()?,
            Node::Text(_) => {}
            Node::End { .. } | Node::Eof => break,
        }
    }
    r.expect_eof()?;
    if ops.is_empty() {
        return Err(XmlError::Invalid(
            "a propertyupdate must set or remove at least one property".into(),
        ));
    }
    Ok(ops)
}

/// Is the body's root element `DAV:propertyupdate`? For a POST, which is a PROPPATCH only
/// when it carries one.
pub fn is_propertyupdate(body: &[u8], limits: &XmlLimits) -> bool {
    SafeReader::new(body, limits).is_ok_and(|mut r| r.expect_root(DAV_NS, "propertyupdate").is_ok())
}

/// Inside `set` or `remove`: each `DAV:prop` lists properties.
fn read_instruction(
    r: &mut SafeReader<'_>,
    set: bool,
    ops: &mut Vec<PropChange>,
) -> Result<(), XmlError> {
    loop {
        match r.next_node()? {
            Node::Start(e) if e.is(DAV_NS, "prop") => loop {
                match r.next_node()? {
                    Node::Start(p) => {
                        let name = PropName::new(&p.ns, &p.local);
                        if set {
                            let value = read_value(r, &p, &name)?;
                            ops.push(PropChange::Set(name, value));
                        } else {
                            r.skip_element()?;
                            ops.push(PropChange::Remove(name));
                        }
                    }
                    Node::Text(_) => {}
                    Node::End { .. } | Node::Eof => break,
                }
            },
            Node::Start(_) => r.skip_element()?,
            Node::Text(_) => {}
            Node::End { .. } | Node::Eof => return Ok(()),
        }
    }
}

/// The namespace declarations one top-level child of a markup value needs added so that
/// it reads the same out of context.
struct Injection {
    at: usize,
    decls: Vec<(Option<String>, String)>,
}

/// Read the value of the property element `prop` whose start tag was just read, up to and
/// including its end tag.
pub(crate) fn read_value(
    r: &mut SafeReader<'_>,
    prop: &Element,
    name: &PropName,
) -> Result<PropValue, XmlError> {
    let dt = prop
        .attr(DT_NS, "dt")
        .or_else(|| prop.attr(DT_NS_ALT, "dt"))
        .map(str::to_string);
    // Without `b:dt`, a MAPI property's type is its tag's type suffix, as Exchange read it
    // (evolution-exchange writes every month and block array untyped).
    let implied = match (&dt, name) {
        (None, PropName::Mapi(tag)) => implied_type(tag.prop_type()),
        _ => None,
    };
    let mut text = String::new();
    let mut items: Vec<String> = Vec::new();
    let mut item: Option<String> = None;
    let mut has_children = false;
    // A top-level child that is not a multi-value item (`<c:v>`): the value is markup.
    let mut other_children = false;
    let mut injections: Vec<Injection> = Vec::new();
    // Prefixes declared by each open element of the value, outermost first.
    let mut declared_path: Vec<Vec<Option<String>>> = Vec::new();
    let inner_end = loop {
        match r.next_node()? {
            Node::Start(child) => {
                has_children = true;
                if declared_path.is_empty() {
                    injections.push(Injection {
                        at: child.name_end,
                        decls: Vec::new(),
                    });
                    item = child.is(MV_NS, "v").then(String::new);
                    other_children |= item.is_none();
                }
                declared_path.push(child.declared);
                // A prefix used here and declared nowhere inside the value is bound outside
                // it: the reader's scope (which includes this element) still resolves it to
                // that outer binding, since no element in the value redeclares it.
                for used in &child.used {
                    if declared_path.iter().any(|d| d.contains(used)) {
                        continue;
                    }
                    if let (Some(uri), Some(inj)) =
                        (r.lookup(used.as_deref()), injections.last_mut())
                    {
                        if !inj.decls.iter().any(|(p, _)| p == used) {
                            inj.decls.push((used.clone(), uri));
                        }
                    }
                }
            }
            Node::End { tag_start } => {
                if declared_path.pop().is_none() {
                    break tag_start;
                }
                if declared_path.is_empty() {
                    if let Some(t) = item.take() {
                        items.push(t);
                    }
                }
            }
            Node::Text(t) => match declared_path.len() {
                0 => text.push_str(&t),
                1 => {
                    if let Some(it) = item.as_mut() {
                        it.push_str(&t);
                    }
                }
                _ => {}
            },
            Node::Eof => {
                return Err(XmlError::Malformed(
                    "the document ends inside a property value".into(),
                    prop.tag_end as u64,
                ));
            }
        }
    };
    // The tag's type is implied only where the content can be of it: text for a single value,
    // `v` items for a multi-value. Other markup stays markup, as sent.
    let implied = implied.filter(|dt| !has_children || (dt.starts_with("mv.") && !other_children));
    match dt.as_deref().or(implied) {
        Some(dt) => parse_typed(dt, &text, &items).map_err(|reason| XmlError::BadValue {
            prop: name.clone(),
            reason,
        }),
        None if has_children => Ok(PropValue::Xml(splice(
            r.input(),
            prop.tag_end,
            inner_end,
            &injections,
        )?)),
        None => Ok(PropValue::String(text)),
    }
}

/// The value's markup exactly as sent, with the needed namespace declarations inserted
/// after the name of each top-level element.
fn splice(
    input: &str,
    start: usize,
    end: usize,
    injections: &[Injection],
) -> Result<String, XmlError> {
    let slice = |a: usize, b: usize| {
        input.get(a..b).ok_or_else(|| {
            XmlError::Malformed("a property value could not be cut out".into(), a as u64)
        })
    };
    let mut out = Vec::with_capacity(end.saturating_sub(start));
    let mut pos = start;
    for inj in injections.iter().filter(|i| !i.decls.is_empty()) {
        out.extend_from_slice(slice(pos, inj.at)?.as_bytes());
        for (prefix, uri) in &inj.decls {
            match prefix {
                Some(p) => {
                    out.extend_from_slice(b" xmlns:");
                    out.extend_from_slice(p.as_bytes());
                }
                None => out.extend_from_slice(b" xmlns"),
            }
            out.extend_from_slice(b"=\"");
            escape_attr(&mut out, uri);
            out.push(b'"');
        }
        pos = inj.at;
    }
    out.extend_from_slice(slice(pos, end)?.as_bytes());
    // Built from slices of a str and escaped text, so this cannot fail; map rather than
    // unwrap all the same.
    String::from_utf8(out).map_err(|e| XmlError::NotUtf8(e.utf8_error().valid_up_to() as u64))
}
