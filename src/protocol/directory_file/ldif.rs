//! LDIF (RFC 2849) as `ldifde` writes it: records separated by blank lines, each starting
//! with `dn:`; `attr: value`, `attr:: base64` and `attr:< url` lines; a line starting with
//! one space continues the line before it; lines starting with `#` are comments (and may be
//! continued too); an optional `version: 1` first. LF or CRLF.
//!
//! Only the attributes schedplus reads are decoded and checked; everything else (`objectGUID::`
//! binary, `thumbnailPhoto::`, `member:`…) is skipped unread, so a strange value there never
//! refuses a file. `changetype: add` records are accepted (ldifde writes them); other change
//! types are not an export and are problems.

use std::collections::VecDeque;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::{LineProblem, MAX_VALUE_BYTES, RawRecord, Text, shown};

/// Standard alphabet; padding optional, since not every LDIF writer pads.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// One line after unfolding, with the physical line it starts on.
struct Logical {
    line: usize,
    text: String,
    /// A continuation line with nothing before it to continue.
    orphan: bool,
}

/// The records of an LDIF text, one at a time as the text is read (a record is its lines
/// between blank lines); or the problem that stops the file (the text cannot be read).
pub(super) struct Records<T> {
    text: T,
    /// Physical lines read.
    line: usize,
    in_comment: bool,
    /// The logical lines of the record being read.
    group: Vec<Logical>,
    /// No record read yet: a `version:` line may come first.
    first: bool,
    ready: VecDeque<RawRecord>,
    done: bool,
    buf: Vec<u8>,
}

impl<T: Text> Records<T> {
    pub(super) fn new(text: T) -> Records<T> {
        Records {
            text,
            line: 0,
            in_comment: false,
            group: Vec::new(),
            first: true,
            ready: VecDeque::new(),
            done: false,
            buf: Vec::new(),
        }
    }

    pub(super) fn text(&self) -> &T {
        &self.text
    }

    pub(super) fn next_record(&mut self) -> Option<Result<RawRecord, LineProblem>> {
        loop {
            if let Some(record) = self.ready.pop_front() {
                return Some(Ok(record));
            }
            if self.done {
                return None;
            }
            self.buf.clear();
            match self.text.read_until(b'\n', &mut self.buf) {
                Ok(0) => {
                    self.done = true;
                    self.separator();
                }
                Ok(_) => {
                    self.line += 1;
                    let buf = std::mem::take(&mut self.buf);
                    let physical = String::from_utf8_lossy(&buf);
                    let physical = physical.strip_suffix('\n').unwrap_or(&physical);
                    self.physical(physical.strip_suffix('\r').unwrap_or(physical));
                    self.buf = buf;
                }
                Err(e) => {
                    self.done = true;
                    self.ready.clear();
                    let problem = self.text.failure().cloned().unwrap_or_else(|| {
                        LineProblem::new(0, format!("reading the file failed: {e}"))
                    });
                    return Some(Err(problem));
                }
            }
        }
    }

    /// One physical line: unfolded into the record's logical lines, comments dropped, a
    /// blank line ending the record.
    fn physical(&mut self, physical: &str) {
        let line = self.line;
        if physical.is_empty() {
            self.separator();
            self.in_comment = false;
        } else if let Some(rest) = physical.strip_prefix(' ') {
            if self.in_comment {
                return;
            }
            match self.group.last_mut() {
                Some(previous) => previous.text.push_str(rest),
                // Spaces after a blank line: what a hand-edited file has, not a value.
                None if rest.trim().is_empty() => self.separator(),
                None => self.group.push(Logical {
                    line,
                    text: rest.to_string(),
                    orphan: true,
                }),
            }
        } else if physical.starts_with('#') {
            self.in_comment = true;
        } else {
            self.in_comment = false;
            self.group.push(Logical {
                line,
                text: physical.to_string(),
                orphan: false,
            });
        }
    }

    /// The end of a record: its lines become a record (two, when a bad `version:` line
    /// opens the file).
    fn separator(&mut self) {
        let group = std::mem::take(&mut self.group);
        let lines: Vec<&Logical> = group.iter().collect();
        let Some(head) = lines.first() else { return };
        let mut body = &lines[..];
        if std::mem::take(&mut self.first) && !head.orphan {
            if let Ok(attr) = Attribute::parse(&head.text) {
                if attr.name.eq_ignore_ascii_case("version") {
                    if attr.value.trim() != "1" || attr.kind != Kind::Plain {
                        self.ready.push_back(RawRecord {
                            line: head.line,
                            issues: vec![LineProblem::new(
                                head.line,
                                format!(
                                    "'{}' is not supported: only LDIF version 1 is",
                                    shown(&head.text)
                                ),
                            )],
                            ..RawRecord::default()
                        });
                    }
                    // RFC 2849 needs only a line end between the version and the first record.
                    body = &lines[1..];
                }
            }
        }
        if !body.is_empty() {
            self.ready.push_back(record(body));
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `attr: value`
    Plain,
    /// `attr:: base64`
    Base64,
    /// `attr:< url`
    Url,
}

/// `name[;options]:[:|<] value`, split but not decoded.
struct Attribute<'a> {
    /// Without options (`proxyAddresses;binary` → `proxyAddresses`).
    name: &'a str,
    kind: Kind,
    value: &'a str,
}

impl<'a> Attribute<'a> {
    fn parse(text: &'a str) -> Result<Attribute<'a>, String> {
        let not_attr = || format!("'{}' is not an 'attribute: value' line", shown(text));
        let (description, rest) = text.split_once(':').ok_or_else(not_attr)?;
        let name = description.split(';').next().unwrap_or_default();
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        };
        if !name_ok(name) || !description.split(';').skip(1).all(name_ok) {
            return Err(not_attr());
        }
        let (kind, value) = if let Some(v) = rest.strip_prefix(':') {
            (Kind::Base64, v)
        } else if let Some(v) = rest.strip_prefix('<') {
            (Kind::Url, v)
        } else {
            (Kind::Plain, rest)
        };
        Ok(Attribute {
            name,
            kind,
            value: value.trim_start_matches(' '),
        })
    }

    /// The value as text; the reason it is not names the attribute (the caller adds the
    /// line, so that a problem names one line).
    fn decode(&self) -> Result<String, String> {
        let value = match self.kind {
            Kind::Plain => self.value.to_string(),
            Kind::Base64 => {
                let bytes = BASE64
                    .decode(self.value.trim_end())
                    .map_err(|_| format!("{}: the base64 value is not valid", self.name))?;
                String::from_utf8(bytes)
                    .map_err(|_| format!("{}: the base64 value is not UTF-8 text", self.name))?
            }
            Kind::Url => {
                return Err(format!(
                    "{}: values read from a URL (attr:< url) are not supported; \
                     export the value inline",
                    self.name
                ));
            }
        };
        if value.len() > MAX_VALUE_BYTES {
            return Err(format!(
                "{}: the value is longer than {} KiB",
                self.name,
                MAX_VALUE_BYTES / 1024
            ));
        }
        Ok(value)
    }
}

/// One record: its lines between blank lines, the first of which should be `dn:`.
fn record(lines: &[&Logical]) -> RawRecord {
    let mut record = RawRecord {
        line: lines[0].line,
        ..RawRecord::default()
    };
    let mut issues = Vec::new();
    let mut expect_dn = true;
    for logical in lines {
        let line = logical.line;
        // Every problem names the line it is on, and only that one.
        let mut problem = |reason: String| issues.push(LineProblem::new(line, reason));
        if logical.orphan {
            problem(
                "the line starts with a space but there is no line before it to continue".into(),
            );
            continue;
        }
        let attr = match Attribute::parse(&logical.text) {
            Ok(attr) => attr,
            Err(why) => {
                problem(why);
                continue;
            }
        };
        let name = attr.name.to_ascii_lowercase();
        if std::mem::take(&mut expect_dn) {
            if name != "dn" {
                problem(format!(
                    "the record starts with '{}:' instead of dn:",
                    shown(attr.name)
                ));
            }
            // A group names its members by DN; a user's is kept for that.
            record.dn = attr.decode().ok();
            continue;
        }
        let slot = match name.as_str() {
            "dn" => {
                problem("a second record starts here without a blank line before it".to_string());
                break;
            }
            "changetype" => {
                let change = attr.decode().unwrap_or_default();
                if change.trim().eq_ignore_ascii_case("add") {
                    continue;
                }
                // modify/delete/moddn records are instructions, not an export, and their
                // remaining lines (`-`, `replace: mail`) are not attributes of an object.
                problem(format!(
                    "'changetype: {}' records are not supported: export the objects \
                     (ldifde -f file) instead of changes",
                    shown(change.trim())
                ));
                break;
            }
            "mail" => &mut record.mail,
            "legacyexchangedn" => &mut record.legacy_dn,
            "displayname" => &mut record.display_name,
            "mailnickname" => &mut record.mail_nickname,
            "proxyaddresses" | "objectclass" | "member" => {
                match attr.decode() {
                    Ok(value) if name == "objectclass" => record.object_classes.push(value),
                    Ok(value) if name == "member" => record.members.push(value),
                    Ok(value) => record.proxy_addresses.push(value),
                    Err(why) => problem(why),
                }
                continue;
            }
            _ => continue,
        };
        match attr.decode() {
            Ok(_) if slot.is_some() => problem(format!(
                "a second {} value ({} takes one)",
                attr.name, attr.name
            )),
            Ok(value) => *slot = Some(value),
            Err(why) => problem(why),
        }
    }
    record.issues = issues;
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The logical lines of each record, with the line each starts on.
    fn texts(text: &str) -> Vec<Vec<(usize, String)>> {
        let mut records = Records::new(super::super::Decoded::text(""));
        let mut out = Vec::new();
        for physical in text.split('\n') {
            records.line += 1;
            let physical = physical.strip_suffix('\r').unwrap_or(physical);
            if physical.is_empty() && !records.group.is_empty() {
                out.push(
                    records
                        .group
                        .iter()
                        .map(|l| (l.line, l.text.clone()))
                        .collect(),
                );
            }
            records.physical(physical);
        }
        out
    }

    #[test]
    fn folded_lines_and_comments_unfold() {
        let got = texts(
            "# a comment\n  folded into the comment\ndn: cn=a,\r\n dc=x\r\nmail: a@\n x.example\n\n",
        );
        assert_eq!(
            got,
            [vec![
                (3, "dn: cn=a,dc=x".to_string()),
                (5, "mail: a@x.example".to_string()),
            ]]
        );
    }

    #[test]
    fn attribute_lines_split() {
        let a = Attribute::parse("proxyAddresses;binary:: c210cDphQHguZXhhbXBsZQ==").unwrap();
        assert_eq!((a.name, a.kind), ("proxyAddresses", Kind::Base64));
        assert_eq!(a.decode().unwrap(), "smtp:a@x.example");
        let a = Attribute::parse("mail:a@x.example").unwrap();
        assert_eq!((a.kind, a.value), (Kind::Plain, "a@x.example"));
        let a = Attribute::parse("jpegPhoto:< file:///tmp/a.jpg").unwrap();
        assert_eq!(a.kind, Kind::Url);
        assert!(a.decode().unwrap_err().starts_with("jpegPhoto: "));
        assert!(Attribute::parse("no colon here").is_err());
        assert!(Attribute::parse("bad name: x").is_err());
        assert!(Attribute::parse(": x").is_err());
    }

    #[test]
    fn unpadded_base64_is_accepted() {
        let a = Attribute::parse("displayName:: RGFu").unwrap();
        assert_eq!(a.decode().unwrap(), "Dan");
        let a = Attribute::parse("displayName:: RGFuIFc").unwrap();
        assert_eq!(a.decode().unwrap(), "Dan W");
    }
}
