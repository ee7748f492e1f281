//! The one hardened XML reader every request body goes through.
//!
//! Wraps quick-xml's [`NsReader`] and turns its events into [`Node`]s whose names are already
//! resolved to (namespace, local name), with text already decoded. On top of quick-xml it
//! enforces what a server facing arbitrary clients needs:
//!
//! * UTF-8 only (a declared non-UTF-8 encoding is accepted only for pure-ASCII bodies);
//! * any `<!DOCTYPE` is refused outright, and only the five predefined entities and character
//!   references are decoded, so entity-expansion bombs cost one scan and fail;
//! * undeclared prefixes (on elements and attributes) and `xmlns:p=""` are errors;
//! * [`XmlLimits`] are checked on every element as it is read, not after the fact;
//! * truncated documents, text or a second element after the root, and characters XML 1.0
//!   does not allow are errors.
//!
//! One leniency: an element named `0xHHHHHHHH` (not an XML name) in the MAPI proptag
//! namespace, as pre-2020 Zimbra names every property, is read as `xHHHHHHHH`. quick-xml
//! reads such a tag as it reads any other; only [`check_qname`] would refuse it.
//!
//! Empty elements are reported as a `Start` immediately followed by an `End`, so the parsers
//! have one shape to handle. Each `Start` carries byte offsets into the input so a property
//! value made of markup can be sliced out verbatim (see `proppatch`).

use quick_xml::name::{PrefixDeclaration, QName, ResolveResult};
use quick_xml::{NsReader, XmlVersion};

use super::{XmlError, XmlLimits};
use crate::protocol::mapi::PROPTAG_NS;

/// The namespace bound to the reserved `xmlns` prefix; no element may live in it.
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// An attribute other than a namespace declaration, its name resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attr {
    pub ns: String,
    pub local: String,
    pub value: String,
}

/// A start tag, its name resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    /// The namespace URI, `""` for none.
    pub ns: String,
    pub local: String,
    pub attrs: Vec<Attr>,
    /// Byte offset of the tag's `<`.
    pub tag_start: usize,
    /// Byte offset just after the qualified name (where attributes could be inserted).
    pub name_end: usize,
    /// Byte offset just after the tag's `>`.
    pub tag_end: usize,
    /// Prefixes this tag declares (`None`: the default namespace).
    pub declared: Vec<Option<String>>,
    /// Prefixes this tag's name and attribute names use (`None`: an unprefixed element name,
    /// which uses the default namespace). `xml` is left out: it is always bound.
    pub used: Vec<Option<String>>,
}

impl Element {
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }

    /// The value of the attribute `{ns}local`.
    pub fn attr(&self, ns: &str, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns == ns && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// `{ns}local`, for messages.
    pub fn display_name(&self) -> String {
        format!("{{{}}}{}", self.ns, self.local)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Start(Element),
    /// The end of the innermost open element; `tag_start` is the offset of its `</` (for an
    /// empty element, the offset just after `/>`), i.e. where its content ends.
    End {
        tag_start: usize,
    },
    /// Character data: text, CDATA or one decoded reference, never empty.
    Text(String),
    Eof,
}

pub(crate) struct SafeReader<'i> {
    ns: NsReader<&'i [u8]>,
    input: &'i str,
    limits: XmlLimits,
    depth: usize,
    elements: usize,
    root_seen: bool,
    root_done: bool,
    /// The `End` owed for an empty element just reported.
    pending_end: Option<usize>,
    failed: bool,
}

impl<'i> SafeReader<'i> {
    pub fn new(body: &'i [u8], limits: &XmlLimits) -> Result<Self, XmlError> {
        let input =
            std::str::from_utf8(body).map_err(|e| XmlError::NotUtf8(e.valid_up_to() as u64))?;
        // Offsets are taken on the text without the BOM, so strip it here rather than leave
        // it to quick-xml.
        let input = input.strip_prefix('\u{feff}').unwrap_or(input);
        let mut ns = NsReader::from_str(input);
        // Keep quick-xml's own checks (end names must match) and its cap on in-scope
        // namespace bindings (128), which bounds prefix lookups.
        ns.config_mut().check_end_names = true;
        ns.config_mut().check_comments = true;
        Ok(SafeReader {
            ns,
            input,
            limits: *limits,
            depth: 0,
            elements: 0,
            root_seen: false,
            root_done: false,
            pending_end: None,
            failed: false,
        })
    }

    /// The input the offsets of [`Element`] and [`Node::End`] refer to.
    pub fn input(&self) -> &'i str {
        self.input
    }

    fn pos(&self) -> u64 {
        self.ns.buffer_position()
    }

    fn malformed(&self, what: impl Into<String>, at: u64) -> XmlError {
        XmlError::Malformed(what.into(), at)
    }

    /// The next node. After an error, every further call returns an error.
    pub fn next_node(&mut self) -> Result<Node, XmlError> {
        if self.failed {
            return Err(self.malformed("reading stopped at an earlier error", self.pos()));
        }
        let r = self.next_inner();
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    fn next_inner(&mut self) -> Result<Node, XmlError> {
        use quick_xml::events::Event;
        loop {
            if let Some(at) = self.pending_end.take() {
                return Ok(self.close(at));
            }
            let before = self.pos();
            let event = match self.ns.read_event() {
                Ok(ev) => ev,
                Err(e) => return Err(self.malformed(e.to_string(), self.ns.error_position())),
            };
            let after = self.pos();
            match event {
                Event::Decl(decl) => {
                    if let Some(Ok(enc)) = decl.encoding() {
                        let enc = enc.trim();
                        let utf8 = ["utf-8", "utf8", "us-ascii", "ascii"]
                            .iter()
                            .any(|e| enc.eq_ignore_ascii_case(e));
                        // An ASCII-only body reads the same in every ASCII-compatible
                        // encoding, so only refuse when the difference could matter.
                        if !utf8 && !self.input.is_ascii() {
                            return Err(XmlError::UnsupportedEncoding(enc.to_string()));
                        }
                    }
                }
                Event::DocType(_) => return Err(XmlError::Doctype),
                Event::PI(_) | Event::Comment(_) => {}
                Event::Start(start) => return self.open(&start, false, before, after),
                Event::Empty(start) => return self.open(&start, true, before, after),
                Event::End(_) => return Ok(self.close(before as usize)),
                Event::Text(text) => {
                    let s = text.xml10_content();
                    if let Some(node) = self.character_data(&s, before)? {
                        return Ok(node);
                    }
                }
                Event::CData(cdata) => {
                    let s = cdata.xml10_content();
                    if let Some(node) = self.character_data(&s, before)? {
                        return Ok(node);
                    }
                }
                Event::GeneralRef(r) => {
                    let c = match r.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        Ok(None) => match &*r {
                            "lt" => '<',
                            "gt" => '>',
                            "amp" => '&',
                            "apos" => '\'',
                            "quot" => '"',
                            other => {
                                return Err(self.malformed(
                                    format!("the entity &{other}; is not defined"),
                                    before,
                                ));
                            }
                        },
                        Err(e) => return Err(self.malformed(e.to_string(), before)),
                    };
                    if let Some(node) = self.character_data(c.encode_utf8(&mut [0; 4]), before)? {
                        return Ok(node);
                    }
                }
                Event::Eof => {
                    if self.depth > 0 {
                        return Err(self.malformed(
                            "the document ends before all its elements are closed",
                            after,
                        ));
                    }
                    if !self.root_seen {
                        return Err(self.malformed("the document has no root element", after));
                    }
                    return Ok(Node::Eof);
                }
            }
        }
    }

    fn open(
        &mut self,
        start: &quick_xml::events::BytesStart<'_>,
        empty: bool,
        before: u64,
        after: u64,
    ) -> Result<Node, XmlError> {
        if self.root_done {
            return Err(self.malformed("a second element after the root", before));
        }
        self.root_seen = true;
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(XmlError::TooManyElements(self.limits.max_elements));
        }
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(XmlError::TooDeep(self.limits.max_depth));
        }
        let elem = self.element(start, before as usize, after as usize)?;
        if empty {
            self.pending_end = Some(after as usize);
        }
        Ok(Node::Start(elem))
    }

    fn close(&mut self, at: usize) -> Node {
        self.depth = self.depth.saturating_sub(1);
        if self.depth == 0 {
            self.root_done = true;
        }
        Node::End { tag_start: at }
    }

    /// Text inside the root becomes a node; outside it only whitespace is allowed.
    fn character_data(&self, s: &str, at: u64) -> Result<Option<Node>, XmlError> {
        if let Some(c) = s.chars().find(|&c| !is_xml_char(c)) {
            return Err(self.malformed(
                format!("the character U+{:04X} is not allowed in XML", c as u32),
                at,
            ));
        }
        if self.depth == 0 {
            if s.chars().all(is_xml_space) {
                return Ok(None);
            }
            return Err(self.malformed("text outside the root element", at));
        }
        if s.is_empty() {
            return Ok(None);
        }
        Ok(Some(Node::Text(s.to_string())))
    }

    fn element(
        &self,
        start: &quick_xml::events::BytesStart<'_>,
        tag_start: usize,
        tag_end: usize,
    ) -> Result<Element, XmlError> {
        let at = tag_start as u64;
        let qname = start.name();
        let resolver = self.ns.resolver();
        // `<b:0x68470003>` is not an XML name, but pre-2020 Zimbra names every MAPI
        // property so and Exchange took it: such a name is let through here and, once its
        // namespace is known to be the proptag one, read as `x68470003` (below).
        let proptag_spelling = check_qname(qname.0).is_err() && is_0x_proptag_qname(qname.0);
        if !proptag_spelling {
            check_qname(qname.0).map_err(|why| self.malformed(why, at))?;
        }
        // Attributes first: a bad namespace declaration is the better explanation for a
        // name that then fails to resolve.
        let mut raw_attrs = Vec::new();
        let mut declared = Vec::new();
        for (count, attr) in start.attributes().enumerate() {
            if count >= self.limits.max_attributes_per_element {
                return Err(XmlError::TooManyAttributes(
                    self.limits.max_attributes_per_element,
                ));
            }
            let attr = attr.map_err(|e| self.malformed(e.to_string(), at))?;
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| self.malformed(e.to_string(), at))?;
            if let Some(c) = value.chars().find(|&c| !is_xml_char(c)) {
                return Err(self.malformed(
                    format!("the character U+{:04X} is not allowed in XML", c as u32),
                    at,
                ));
            }
            match attr.key.as_namespace_binding() {
                Some(PrefixDeclaration::Named(p)) => {
                    if value.is_empty() {
                        return Err(XmlError::EmptyPrefixBinding(p.to_string()));
                    }
                    declared.push(Some(p.to_string()));
                }
                Some(PrefixDeclaration::Default) => declared.push(None),
                None => {
                    check_qname(attr.key.0).map_err(|why| self.malformed(why, at))?;
                    raw_attrs.push((attr.key, value));
                }
            }
        }
        let (res, local) = resolver.resolve_element(qname);
        let ns = resolved(res)?;
        let local = local.into_inner();
        let local = if proptag_spelling {
            if !ns.eq_ignore_ascii_case(PROPTAG_NS) {
                return Err(self.malformed(
                    format!(
                        "'{}' is not a valid XML name (a 0x… name is only read in the namespace {PROPTAG_NS})",
                        qname.0
                    ),
                    at,
                ));
            }
            // Drop the `0`: `0x68470003` → `x68470003`, the name Exchange writes.
            local[1..].to_string()
        } else {
            local.to_string()
        };
        if ns == XMLNS_NS {
            return Err(self.malformed("an element in the xmlns namespace", at));
        }
        let mut used = Vec::new();
        match qname.prefix() {
            Some(p) if p.into_inner() == "xml" => {}
            p => used.push(p.map(|p| p.into_inner().to_string())),
        }
        let mut attrs = Vec::with_capacity(raw_attrs.len());
        for (key, value) in raw_attrs {
            let (res, local) = resolver.resolve_attribute(key);
            let ns = resolved(res)?;
            if let Some(p) = key.prefix() {
                if p.into_inner() != "xml" {
                    used.push(Some(p.into_inner().to_string()));
                }
            }
            attrs.push(Attr {
                ns,
                local: local.into_inner().to_string(),
                value: value.into_owned(),
            });
        }
        Ok(Element {
            ns,
            local,
            attrs,
            tag_start,
            name_end: tag_start + 1 + qname.0.len(),
            tag_end,
            declared,
            used,
        })
    }

    /// The namespace `prefix` is bound to where the reader stands (the scope of the last
    /// start tag read); `None` asks for the default namespace. `None` back means unbound.
    pub fn lookup(&self, prefix: Option<&str>) -> Option<String> {
        let probe;
        let qname = match prefix {
            Some(p) => {
                probe = format!("{p}:x");
                QName(&probe)
            }
            None => QName("x"),
        };
        match self.ns.resolver().resolve_element(qname).0 {
            ResolveResult::Bound(ns) => Some(decode_ns(ns.into_inner())),
            _ => None,
        }
    }

    /// Read the first element and check it is `{ns}local`.
    pub fn expect_root(&mut self, ns: &str, local: &str) -> Result<Element, XmlError> {
        match self.next_node()? {
            Node::Start(e) if e.is(ns, local) => Ok(e),
            Node::Start(e) => Err(XmlError::UnexpectedRoot {
                expected: format!("{{{ns}}}{local}"),
                found: e.display_name(),
            }),
            // The reader only reports text inside the root and Eof after it.
            _ => Err(self.malformed("the document has no root element", self.pos())),
        }
    }

    /// Consume everything up to and including the `End` of the element whose `Start` was
    /// just read. Limits still apply to what is skipped.
    pub fn skip_element(&mut self) -> Result<(), XmlError> {
        let mut open = 1usize;
        while open > 0 {
            match self.next_node()? {
                Node::Start(_) => open += 1,
                Node::End { .. } => open -= 1,
                Node::Text(_) => {}
                Node::Eof => return Err(self.malformed("unexpected end of document", self.pos())),
            }
        }
        Ok(())
    }

    /// After the root's `End`: check nothing but whitespace, comments and PIs follow.
    pub fn expect_eof(&mut self) -> Result<(), XmlError> {
        match self.next_node()? {
            Node::Eof => Ok(()),
            _ => Err(self.malformed("content after the root element", self.pos())),
        }
    }
}

fn resolved(res: ResolveResult<'_>) -> Result<String, XmlError> {
    match res {
        ResolveResult::Bound(ns) => Ok(decode_ns(ns.into_inner())),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(p) => Err(XmlError::UndeclaredPrefix(p)),
    }
}

/// quick-xml's resolver hands back a namespace as written in its `xmlns` attribute, so
/// decode it as an attribute value. The declaring attribute was already checked, so this
/// cannot fail; fall back to the normalised text all the same.
fn decode_ns(raw: &str) -> String {
    if !raw.contains(['&', '\t', '\n', '\r']) {
        return raw.to_string();
    }
    // Literal whitespace is normalised before references are resolved (XML 1.0 §3.3.3).
    let spaced = raw.replace("\r\n", " ").replace(['\t', '\n', '\r'], " ");
    quick_xml::escape::unescape(&spaced)
        .map(|c| c.into_owned())
        .unwrap_or(spaced)
}

/// A qualified name: `NCName` or `NCName:NCName`.
fn check_qname(q: &str) -> Result<(), String> {
    let ok = match q.split_once(':') {
        Some((p, l)) => is_ncname(p) && is_ncname(l),
        None => is_ncname(q),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("'{q}' is not a valid XML name"))
    }
}

/// `0xHHHHHHHH` or `p:0xHHHHHHHH` (any case, `p` an NCName): a MAPI proptag written as
/// pre-2020 Zimbra writes it, with a leading digit no XML name may have.
fn is_0x_proptag_qname(q: &str) -> bool {
    let (prefix, local) = match q.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, q),
    };
    prefix.is_none_or(is_ncname)
        && local.len() == 10
        && (local.starts_with("0x") || local.starts_with("0X"))
        && local[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// XML 1.0 (5th edition) `NameStartChar` without `:`.
fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 `NameChar` without `:`.
fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c,
            '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// A name without a colon, as namespaces-in-XML requires for prefixes and local names.
pub(crate) fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

/// XML 1.0 `Char`.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

pub(crate) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}
