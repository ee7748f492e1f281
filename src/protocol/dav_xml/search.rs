//! SEARCH bodies: `DAV:searchrequest` holding Exchange's Web Storage System SQL, and the
//! subset of that SQL publishers use to find a free/busy message (PROTOCOL.md §4).
//!
//! Supported, keywords case-insensitive, `''` escaping a quote in strings and `""` in
//! quoted names:
//!
//! ```text
//! SELECT "prop"[, "prop"…] | *
//! FROM "url"                                    -- shallow, as Exchange defaults
//!    | SCOPE('shallow traversal of "url"')
//!    | SCOPE('deep traversal of "url"') | SCOPE('"url"')   -- deep, as Exchange defaults
//! [WHERE "prop" = 'value' [AND "prop" = 'value' …]]      -- parentheses allowed
//! [ORDER BY "prop" [ASC|DESC][, …]]             -- accepted and ignored
//! [;]
//! ```
//!
//! A bare word or number is accepted as a value (`"DAV:ishidden" = false`). `OR`, `NOT`,
//! other operators, `CAST`, `hierarchical traversal` and several scopes are refused with an
//! [`SqlError`] that says what is supported. `SELECT *` gives an empty `select`, meaning
//! all properties.

use std::collections::HashSet;

use crate::protocol::mapi::PropName;

use super::reader::{Node, SafeReader, is_ncname, is_xml_space};
use super::{DAV_NS, XmlError, XmlLimits};

/// A parsed SEARCH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// The properties to return; empty for `SELECT *` (all properties).
    pub select: Vec<PropName>,
    /// The URL or path of the folder searched, as written (not unescaped).
    pub from: String,
    /// `deep traversal`: subfolders too.
    pub scope_deep: bool,
    /// `"prop" = 'value'` conditions, all of which must hold.
    pub conditions: Vec<(PropName, String)>,
}

/// Why a SEARCH's SQL was refused; the message ends with what is supported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{problem} (at character {position}); supported: SELECT \"prop\"[, \"prop\"…] or SELECT *, \
     FROM \"url\" or FROM SCOPE('shallow traversal of \"url\"') or SCOPE('deep traversal of \"url\"'), \
     optional WHERE \"prop\" = 'value' [AND …], optional ORDER BY (ignored)"
)]
pub struct SqlError {
    pub problem: String,
    pub position: usize,
}

/// Parse a `DAV:searchrequest` body holding one `DAV:sql`.
pub fn parse_search(body: &[u8], limits: &XmlLimits) -> Result<SearchRequest, XmlError> {
    let mut r = SafeReader::new(body, limits)?;
    if r.input().chars().all(is_xml_space) {
        return Err(XmlError::Empty("{DAV:}searchrequest".into()));
    }
    r.expect_root(DAV_NS, "searchrequest")?;
    let mut sql: Option<String> = None;
    loop {
        match r.next_node()? {
            Node::Start(e) if e.is(DAV_NS, "sql") => {
                if sql.is_some() {
                    return Err(XmlError::Invalid(
                        "a searchrequest must hold one sql element".into(),
                    ));
                }
                let mut text = String::new();
                loop {
                    match r.next_node()? {
                        Node::Text(t) => text.push_str(&t),
                        Node::Start(_) => {
                            return Err(XmlError::Invalid(
                                "the sql element must hold text only".into(),
                            ));
                        }
                        Node::End { .. } | Node::Eof => break,
                    }
                }
                sql = Some(text);
            }
            Node::Start(e) if e.ns == DAV_NS && e.local.ends_with("search") => {
                return Err(XmlError::Invalid(format!(
                    "{} searches are not supported; send the query as <D:sql>",
                    e.local
                )));
            }
            Node::Start(_) => r.skip_element()?,
            Node::Text(_) => {}
            Node::End { .. } | Node::Eof => break,
        }
    }
    r.expect_eof()?;
    let sql =
        sql.ok_or_else(|| XmlError::Invalid("a searchrequest must hold a DAV:sql element".into()))?;
    Ok(parse_sql(&sql)?)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A bare word: keyword, number or literal.
    Word(String),
    /// `"…"`: a property name or URL.
    Name(String),
    /// `'…'`: a string literal.
    Str(String),
    Punct(char),
    /// An operator other than `=`.
    Op(String),
}

/// Tokens with their character positions.
fn tokenize(sql: &str) -> Result<Vec<(Tok, usize)>, SqlError> {
    let chars: Vec<char> = sql.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(SqlError {
                            problem: format!("the quote opened here ({c}) is never closed"),
                            position: start,
                        });
                    }
                    Some(&q) if q == c => {
                        if chars.get(i + 1) == Some(&c) {
                            s.push(c);
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(&x) => {
                        s.push(x);
                        i += 1;
                    }
                }
            }
            toks.push((if c == '"' { Tok::Name(s) } else { Tok::Str(s) }, start));
        } else if matches!(c, ',' | '(' | ')' | '=' | '*' | ';') {
            toks.push((Tok::Punct(c), start));
            i += 1;
        } else if matches!(c, '<' | '>' | '!') {
            let mut op = c.to_string();
            i += 1;
            while let Some(&n) = chars.get(i).filter(|n| matches!(n, '<' | '>' | '=')) {
                op.push(n);
                i += 1;
            }
            toks.push((Tok::Op(op), start));
        } else if c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '.' | ':') {
            let mut w = String::new();
            while let Some(&n) = chars
                .get(i)
                .filter(|n| n.is_alphanumeric() || matches!(n, '_' | '-' | '+' | '.' | ':'))
            {
                w.push(n);
                i += 1;
            }
            toks.push((Tok::Word(w), start));
        } else {
            return Err(SqlError {
                problem: format!("unexpected character '{c}'"),
                position: start,
            });
        }
    }
    Ok(toks)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(t, _)| t)
    }

    fn position(&self) -> usize {
        self.toks.get(self.at).map_or(self.end, |(_, p)| *p)
    }

    fn err(&self, problem: impl Into<String>) -> SqlError {
        SqlError {
            problem: problem.into(),
            position: self.position(),
        }
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).map(|(t, _)| t.clone());
        self.at += 1;
        t
    }

    fn is_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn keyword(&mut self, kw: &str) -> Result<(), SqlError> {
        if self.is_keyword(kw) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.err(format!("expected {kw}")))
        }
    }

    fn punct(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn prop_name(&mut self) -> Result<PropName, SqlError> {
        let pos = self.position();
        match self.next() {
            Some(Tok::Name(uri)) => {
                let name = PropName::from_uri(&uri);
                // Names end up as element names in the multistatus answer.
                if let PropName::Named { local, .. } = &name {
                    if !is_ncname(local) {
                        return Err(SqlError {
                            problem: format!("\"{uri}\" is not a property name"),
                            position: pos,
                        });
                    }
                }
                Ok(name)
            }
            _ => Err(SqlError {
                problem: "expected a property name in double quotes".into(),
                position: pos,
            }),
        }
    }
}

/// Parse the SQL subset described in the module documentation.
pub fn parse_sql(sql: &str) -> Result<SearchRequest, SqlError> {
    let toks = tokenize(sql)?;
    let mut p = Parser {
        toks,
        at: 0,
        end: sql.chars().count(),
    };
    p.keyword("SELECT")?;
    let mut select = Vec::new();
    let mut seen = HashSet::new();
    if !p.punct('*') {
        loop {
            let name = p.prop_name()?;
            if seen.insert(name.clone()) {
                select.push(name);
            }
            if !p.punct(',') {
                break;
            }
        }
    }
    p.keyword("FROM")?;
    let (from, scope_deep) = match p.next() {
        Some(Tok::Name(url)) => (url, false),
        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("SCOPE") => {
            if !p.punct('(') {
                return Err(p.err("expected ( after SCOPE"));
            }
            let pos = p.position();
            let scope = match p.next() {
                Some(Tok::Str(s)) => parse_scope(&s).map_err(|problem| SqlError {
                    problem,
                    position: pos,
                })?,
                Some(Tok::Name(url)) => (url, true),
                _ => return Err(p.err("expected a scope such as 'shallow traversal of \"url\"'")),
            };
            if p.punct(',') {
                return Err(p.err("only one scope is supported"));
            }
            if !p.punct(')') {
                return Err(p.err("expected ) after the scope"));
            }
            scope
        }
        _ => {
            p.at = p.at.saturating_sub(1);
            return Err(p.err("expected a folder URL in double quotes or SCOPE(…)"));
        }
    };
    let mut conditions = Vec::new();
    if p.is_keyword("WHERE") {
        p.at += 1;
        conjunction(&mut p, &mut conditions, 0)?;
    }
    if p.is_keyword("ORDER") {
        p.at += 1;
        p.keyword("BY")?;
        loop {
            p.prop_name()?;
            if p.is_keyword("ASC") || p.is_keyword("DESC") {
                p.at += 1;
            }
            if !p.punct(',') {
                break;
            }
        }
    }
    p.punct(';');
    if p.peek().is_some() {
        return Err(p.err("unexpected text after the query"));
    }
    Ok(SearchRequest {
        select,
        from,
        scope_deep,
        conditions,
    })
}

/// Maximum parenthesis nesting in WHERE, so hostile input cannot exhaust the stack.
const MAX_PARENS: usize = 32;

/// `cond AND cond AND …`, each `cond` being `"prop" = value` or a parenthesised
/// conjunction.
fn conjunction(
    p: &mut Parser,
    out: &mut Vec<(PropName, String)>,
    depth: usize,
) -> Result<(), SqlError> {
    loop {
        if p.punct('(') {
            if depth >= MAX_PARENS {
                return Err(p.err("too many nested parentheses"));
            }
            conjunction(p, out, depth + 1)?;
            if !p.punct(')') {
                return Err(p.err("expected )"));
            }
        } else {
            if p.is_keyword("NOT") || p.is_keyword("CAST") {
                return Err(p.err("NOT and CAST are not supported"));
            }
            let name = p.prop_name()?;
            match p.next() {
                Some(Tok::Punct('=')) => {}
                Some(Tok::Op(op)) => {
                    p.at -= 1;
                    return Err(p.err(format!("the operator {op} is not supported, only =")));
                }
                _ => {
                    p.at = p.at.saturating_sub(1);
                    return Err(p.err("expected ="));
                }
            }
            let value = match p.next() {
                Some(Tok::Str(s)) | Some(Tok::Word(s)) => s,
                _ => {
                    p.at = p.at.saturating_sub(1);
                    return Err(p.err("expected a value in single quotes"));
                }
            };
            out.push((name, value));
        }
        if p.is_keyword("AND") {
            p.at += 1;
        } else if p.is_keyword("OR") {
            return Err(p.err("OR is not supported, only AND"));
        } else {
            return Ok(());
        }
    }
}

/// The inside of `SCOPE('…')`: `[shallow|deep] traversal of "url"` or `"url"` (deep).
fn parse_scope(s: &str) -> Result<(String, bool), String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let (deep, rest) = if lower.starts_with("shallow traversal of") {
        (false, &t["shallow traversal of".len()..])
    } else if lower.starts_with("deep traversal of") {
        (true, &t["deep traversal of".len()..])
    } else if lower.starts_with("hierarchical traversal of") {
        return Err("hierarchical traversal is not supported".into());
    } else {
        (true, t)
    };
    let rest = rest.trim();
    match rest
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .filter(|u| !u.is_empty())
    {
        Some(url) => Ok((url.replace("\"\"", "\""), deep)),
        None => Err(format!(
            "the scope '{s}' does not name a folder URL in double quotes"
        )),
    }
}
