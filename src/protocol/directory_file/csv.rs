//! csvde's CSV: a header row naming attributes, then one row per directory object, with
//! multi-valued attributes joined by `;`. Columns are found by name (any case, trimmed);
//! columns schedplus does not read (`DN`, `objectGUID`, `member`…) are ignored, whatever
//! their size. Lines starting with `#` between rows are comments (csvde writes none, but
//! people who write these files by hand do, and [`super::detect_format`] skips them too).

use std::collections::VecDeque;
use std::io::{self, Read};

use super::{LineProblem, MAX_VALUE_BYTES, RawRecord, Text, is_named, shown};

const REQUIRED: [&str; 3] = ["mail", "legacyExchangeDN", "displayName"];

/// The records after the header, one at a time, as the text is read; or the one problem
/// that stops the file (the text cannot be read, a quote never closes, the header is
/// unusable), after which nothing more comes.
pub(super) struct Records<T> {
    reader: ::csv::Reader<RowScanner<T>>,
    // Byte records: the text is UTF-8, so every field we keep is UTF-8 already (fields
    // split at ASCII delimiters), and no row can fail on encoding.
    row: ::csv::ByteRecord,
    columns: Option<Columns>,
    done: bool,
}

impl<T: Text> Records<T> {
    pub(super) fn new(text: T) -> Records<T> {
        let reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            // A short or long row is reported as that row's problem, not as a reader error.
            .flexible(true)
            .comment(Some(b'#'))
            .from_reader(RowScanner::new(text));
        Records {
            reader,
            row: ::csv::ByteRecord::new(),
            columns: None,
            done: false,
        }
    }

    pub(super) fn text(&self) -> &T {
        &self.reader.get_ref().text
    }

    pub(super) fn next_record(&mut self) -> Option<Result<RawRecord, LineProblem>> {
        while !self.done {
            match self.reader.read_byte_record(&mut self.row) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    let line = self.reader.get_ref().rows.front().copied().unwrap_or(0);
                    let found = LineProblem::new(line, format!("the CSV reader failed: {e}"));
                    return Some(Err(self.stop(found)));
                }
            }
            // The scanner saw every row the reader hands out, in the same order.
            let line = self.reader.get_mut().rows.pop_front().unwrap_or(0);
            let fields: Vec<&str> = self
                .row
                .iter()
                .map(|f| std::str::from_utf8(f).unwrap_or_default())
                .collect();
            // Rows of nothing but spaces are what a hand-edited file has between sections.
            if fields.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            match &self.columns {
                None => match Columns::from_header(&fields, line) {
                    Ok(columns) => self.columns = Some(columns),
                    Err(problem) => return Some(Err(self.stop(problem))),
                },
                Some(columns) => return Some(Ok(columns.record(&fields, line))),
            }
        }
        None
    }

    /// The problem that stops the file: one in the text itself (it cannot be read) before a
    /// quote the reader would run on past, before `found`; the rest of the text is read for
    /// the first two, as a check of the whole file before any row would find them.
    fn stop(&mut self, found: LineProblem) -> LineProblem {
        self.done = true;
        let scanner = self.reader.get_mut();
        if scanner.problem.is_none() {
            let _ = io::copy(scanner, &mut io::sink());
        }
        let _ = io::copy(&mut scanner.text, &mut io::sink());
        if let Some(problem) = scanner.text.failure() {
            return problem.clone();
        }
        scanner.problem.clone().unwrap_or(found)
    }
}

/// Reads quotes as the CSV reader does (a `"` opens a field only at its start, `""` inside
/// is a quote, `#` at the start of a row makes the line a comment) as the text passes to
/// it: notes the line each row starts on, and stops at the first quoted field that is never
/// closed or is closed by a quote followed by text. A quote that never closes would make
/// the reader swallow the rest of the file into one field, then reported as a row with too
/// few fields: this says what it is.
struct RowScanner<T> {
    text: T,
    /// The line of the next byte.
    line: usize,
    scan: Scan,
    row_start: bool,
    field_start: bool,
    /// The first line of each row passed on and not yet handed out by the reader.
    rows: VecDeque<usize>,
    problem: Option<LineProblem>,
}

#[derive(Clone, Copy)]
enum Scan {
    Text,
    Comment,
    /// In a quoted field opened on line `open`; `quote`: the byte before was a `"`, which
    /// closes the field unless another follows.
    Quoted {
        open: usize,
        quote: bool,
    },
}

impl<T: Read> RowScanner<T> {
    fn new(text: T) -> RowScanner<T> {
        RowScanner {
            text,
            line: 1,
            scan: Scan::Text,
            row_start: true,
            field_start: true,
            rows: VecDeque::new(),
            problem: None,
        }
    }

    fn byte(&mut self, b: u8) {
        match self.scan {
            Scan::Comment => {
                if b == b'\n' {
                    self.line += 1;
                    self.scan = Scan::Text;
                    self.row_start = true;
                    self.field_start = true;
                }
                return;
            }
            Scan::Quoted { open, quote } => {
                if !quote {
                    match b {
                        b'"' => self.scan = Scan::Quoted { open, quote: true },
                        b'\n' => self.line += 1,
                        _ => {}
                    }
                    return;
                }
                if b == b'"' {
                    self.scan = Scan::Quoted { open, quote: false };
                    return;
                }
                if !matches!(b, b',' | b'\r' | b'\n') {
                    self.problem = Some(LineProblem::new(
                        open,
                        format!(
                            "a quoted field opens here and its closing quote seems missing: the next quote, on line {}, is followed by text instead of a comma or a line end",
                            self.line
                        ),
                    ));
                    return;
                }
                self.scan = Scan::Text;
                self.row_start = false;
                self.field_start = false;
            }
            Scan::Text => {}
        }
        match b {
            b'#' if self.row_start => self.scan = Scan::Comment,
            b'\n' | b'\r' => {
                if b == b'\n' {
                    self.line += 1;
                }
                self.row_start = true;
                self.field_start = true;
            }
            _ => {
                if self.row_start {
                    self.rows.push_back(self.line);
                }
                if b == b'"' && self.field_start {
                    self.scan = Scan::Quoted {
                        open: self.line,
                        quote: false,
                    };
                }
                self.row_start = false;
                self.field_start = b == b',';
            }
        }
    }

    fn stopped() -> io::Error {
        io::Error::other("a quoted field is not closed")
    }
}

impl<T: Read> Read for RowScanner<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.problem.is_some() {
            return Err(Self::stopped());
        }
        let n = self.text.read(buf)?;
        if n == 0 {
            if let Scan::Quoted { open, quote: false } = self.scan {
                self.problem = Some(LineProblem::new(
                    open,
                    "a quoted field opens here and is never closed (a \" is missing); nothing after it can be read",
                ));
                return Err(Self::stopped());
            }
        }
        for &b in &buf[..n] {
            self.byte(b);
            if self.problem.is_some() {
                return Err(Self::stopped());
            }
        }
        Ok(n)
    }
}

/// Where the columns schedplus reads are in each row.
struct Columns {
    width: usize,
    mail: usize,
    legacy_dn: usize,
    display_name: usize,
    mail_nickname: Option<usize>,
    proxy_addresses: Option<usize>,
    object_class: Option<usize>,
    dn: Option<usize>,
    member: Option<usize>,
}

impl Columns {
    fn from_header(names: &[&str], line: usize) -> Result<Columns, LineProblem> {
        let find = |wanted: &str| -> Result<Option<usize>, LineProblem> {
            let mut found = names
                .iter()
                .enumerate()
                .filter(|(_, n)| is_named(n, wanted));
            let first = found.next().map(|(i, _)| i);
            if found.next().is_some() {
                return Err(LineProblem::new(
                    line,
                    format!("the header names column '{wanted}' more than once"),
                ));
            }
            Ok(first)
        };
        let required: Vec<Option<usize>> =
            REQUIRED.iter().map(|n| find(n)).collect::<Result<_, _>>()?;
        let missing: Vec<&str> = REQUIRED
            .iter()
            .zip(&required)
            .filter(|(_, at)| at.is_none())
            .map(|(n, _)| *n)
            .collect();
        if !missing.is_empty() {
            let found: Vec<&str> = names.iter().map(|n| n.trim()).collect();
            return Err(LineProblem::new(
                line,
                format!(
                    "the header lacks the required column{} {}; it has: {}",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", "),
                    shown(&found.join(", "))
                ),
            ));
        }
        Ok(Columns {
            width: names.len(),
            mail: required[0].unwrap_or_default(),
            legacy_dn: required[1].unwrap_or_default(),
            display_name: required[2].unwrap_or_default(),
            mail_nickname: find("mailNickname")?,
            proxy_addresses: find("proxyAddresses")?,
            object_class: find("objectClass")?,
            dn: find("DN")?,
            member: find("member")?,
        })
    }

    fn record(&self, fields: &[&str], line: usize) -> RawRecord {
        let mut record = RawRecord {
            line,
            ..RawRecord::default()
        };
        if fields.len() != self.width {
            record.issues.push(LineProblem::new(
                line,
                format!(
                    "the row has {} fields but the header has {}",
                    fields.len(),
                    self.width
                ),
            ));
            return record;
        }
        let mut value = |at: usize, name: &str| -> String {
            let v = fields[at];
            if v.len() > MAX_VALUE_BYTES {
                record.issues.push(LineProblem::new(
                    line,
                    format!(
                        "the {name} value is longer than {} KiB",
                        MAX_VALUE_BYTES / 1024
                    ),
                ));
                return String::new();
            }
            v.trim().to_string()
        };
        let mail = value(self.mail, "mail");
        let legacy_dn = value(self.legacy_dn, "legacyExchangeDN");
        let display_name = value(self.display_name, "displayName");
        let mail_nickname = self.mail_nickname.map(|at| value(at, "mailNickname"));
        let proxies = self
            .proxy_addresses
            .map(|at| value(at, "proxyAddresses"))
            .unwrap_or_default();
        // objectClass is only looked at, never kept: no size limit needed.
        let classes = self.object_class.map(|at| fields[at]).unwrap_or_default();
        record.dn = self.dn.map(|at| fields[at].trim().to_string());
        // A big group's member list may be long: csvde writes it on one line.
        record.members = self
            .member
            .map(|at| super::groups::split_members(fields[at]))
            .unwrap_or_default();
        record.mail = Some(mail);
        record.legacy_dn = Some(legacy_dn);
        record.display_name = Some(display_name);
        record.mail_nickname = mail_nickname;
        record.proxy_addresses = split_proxy_addresses(&proxies);
        record.object_classes = classes
            .split(';')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        record
    }
}

/// csvde joins the values of a multi-valued attribute with `;`, but an X400 address is
/// itself `;`-separated and ends with one (`X400:c=US;a= ;p=First Organizati;o=Exchange;
/// s=Winship;g=Dan;`). A piece that does not start with an address type (`smtp:`, `X500:`…)
/// therefore belongs to the value before it, and the empty piece that follows such a value
/// is its final `;`. Other empty pieces are dropped.
fn split_proxy_addresses(joined: &str) -> Vec<String> {
    let starts_value = |piece: &str| {
        piece.split_once(':').is_some_and(|(kind, _)| {
            let kind = kind.trim();
            !kind.is_empty() && kind.len() <= 16 && kind.bytes().all(|b| b.is_ascii_alphanumeric())
        })
    };
    let mut values: Vec<String> = Vec::new();
    // Whether the last value took a continuation piece (is `;`-separated itself).
    let mut continued = false;
    for piece in joined.split(';') {
        let last = values.last_mut();
        if piece.trim().is_empty() {
            if let Some(last) = last.filter(|_| continued) {
                last.push(';');
            }
            continued = false;
            continue;
        }
        match last {
            Some(last) if !starts_value(piece) => {
                last.push(';');
                last.push_str(piece);
                continued = true;
            }
            _ => {
                values.push(piece.trim().to_string());
                continued = false;
            }
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x400_pieces_rejoin_their_value() {
        let got = split_proxy_addresses(
            "X400:c=US;a= ;p=First Organizati;o=Exchange;s=Winship;g=Dan;;SMTP:danw@xcs.example;smtp:dan@xcs.example",
        );
        assert_eq!(
            got,
            [
                "X400:c=US;a= ;p=First Organizati;o=Exchange;s=Winship;g=Dan;",
                "SMTP:danw@xcs.example",
                "smtp:dan@xcs.example"
            ]
        );
    }

    #[test]
    fn an_x400_value_last_in_the_list_keeps_its_final_semicolon() {
        assert_eq!(
            split_proxy_addresses("SMTP:a@x.example;X400:c=US;a= ;s=A;"),
            ["SMTP:a@x.example", "X400:c=US;a= ;s=A;"]
        );
        // Written without its final `;`, it stays without.
        assert_eq!(
            split_proxy_addresses("X400:c=US;s=A;smtp:a@x.example"),
            ["X400:c=US;s=A", "smtp:a@x.example"]
        );
    }

    #[test]
    fn empty_pieces_are_ignored() {
        assert_eq!(
            split_proxy_addresses(";;smtp:a@x.example;; ;"),
            ["smtp:a@x.example"]
        );
        assert!(split_proxy_addresses("").is_empty());
    }

    #[test]
    fn a_first_piece_without_type_is_kept_for_the_validator() {
        assert_eq!(
            split_proxy_addresses("a@x.example;smtp:b@x.example"),
            ["a@x.example", "smtp:b@x.example"]
        );
    }
}
