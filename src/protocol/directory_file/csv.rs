//! csvde's CSV: a header row naming attributes, then one row per directory object, with
//! multi-valued attributes joined by `;`. Columns are found by name (any case, trimmed);
//! columns schedplus does not read (`DN`, `objectGUID`, `member`…) are ignored, whatever
//! their size. Lines starting with `#` between rows are comments (csvde writes none, but
//! people who write these files by hand do, and [`super::detect_format`] skips them too).

use super::{LineProblem, MAX_VALUE_BYTES, RawRecord, is_named, shown};

const REQUIRED: [&str; 3] = ["mail", "legacyExchangeDN", "displayName"];

/// The records after the header, or the one problem that makes the header unusable.
pub(super) fn read(text: &str) -> Result<Vec<RawRecord>, LineProblem> {
    let lines = LineIndex::new(text);
    // A quote that never closes makes the reader swallow the rest of the file into one
    // field, which would then be reported as a row with too few fields: say what it is.
    match quote_problem(text) {
        None => {}
        Some(QuoteProblem::Unclosed { open }) => {
            return Err(LineProblem::new(
                lines.line_of(open),
                "a quoted field opens here and is never closed (a \" is missing); nothing after it can be read",
            ));
        }
        Some(QuoteProblem::TextAfterClose { open, close }) => {
            return Err(LineProblem::new(
                lines.line_of(open),
                format!(
                    "a quoted field opens here and its closing quote seems missing: the next quote, on line {}, is followed by text instead of a comma or a line end",
                    lines.line_of(close)
                ),
            ));
        }
    }
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        // A short or long row is reported as that row's problem, not as a reader error.
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    // Byte records: the input is a &str, so every field we keep is UTF-8 already (fields
    // split at ASCII delimiters), and no row can fail on encoding.
    let mut row = ::csv::ByteRecord::new();
    let mut columns: Option<Columns> = None;
    let mut records = Vec::new();
    loop {
        let start = reader.position().byte() as usize;
        match reader.read_byte_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // Reading from a byte slice with flexible rows cannot fail; if it ever does,
                // report it rather than loop.
                let line = lines.line_of(content_start(text, start));
                let mut record = RawRecord {
                    line,
                    ..RawRecord::default()
                };
                record.issues.push(LineProblem::new(
                    line,
                    format!("the CSV reader failed: {e}"),
                ));
                records.push(record);
                break;
            }
        }
        let line = lines.line_of(content_start(text, start));
        let fields: Vec<&str> = row
            .iter()
            .map(|f| std::str::from_utf8(f).unwrap_or_default())
            .collect();
        // Rows of nothing but spaces are what a hand-edited file has between sections.
        if fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        match &columns {
            None => columns = Some(Columns::from_header(&fields, line)?),
            Some(columns) => records.push(columns.record(&fields, line)),
        }
    }
    Ok(records)
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

/// The first byte of the row that starts at or after `at`: the reader's position is the end
/// of the previous row, which may be followed by line ends and `#` comment lines.
fn content_start(text: &str, mut at: usize) -> usize {
    let bytes = text.as_bytes();
    loop {
        while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
            at += 1;
        }
        if bytes.get(at) != Some(&b'#') {
            return at.min(bytes.len());
        }
        at = match text[at..].find('\n') {
            Some(end) => at + end + 1,
            None => bytes.len(),
        };
    }
}

/// A quoted field the CSV reader would silently run on past its row.
#[derive(Debug, PartialEq, Eq)]
enum QuoteProblem {
    /// A quote opens a field at `open` and nothing closes it.
    Unclosed { open: usize },
    /// The quote at `close` ends the field opened at `open` but text follows it: csvde never
    /// writes that, a quote went missing and the rows after it pair up wrongly.
    TextAfterClose { open: usize, close: usize },
}

/// Read quotes as the CSV reader does (a `"` opens a field only at its start, `""` inside is
/// a quote, `#` at the start of a row makes the line a comment) and report the first quoted
/// field that is never closed or is closed by a quote followed by text.
fn quote_problem(text: &str) -> Option<QuoteProblem> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut field_start = true;
    let mut row_start = true;
    while i < b.len() {
        match b[i] {
            b'#' if row_start => {
                i = text[i..].find('\n').map_or(b.len(), |n| i + n + 1);
                continue;
            }
            b'"' if field_start => {
                let open = i;
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Some(QuoteProblem::Unclosed { open }),
                        Some(b'"') if b.get(i + 1) == Some(&b'"') => i += 2,
                        Some(b'"') => break,
                        Some(_) => i += 1,
                    }
                }
                if !matches!(b.get(i + 1), None | Some(b',' | b'\r' | b'\n')) {
                    return Some(QuoteProblem::TextAfterClose { open, close: i });
                }
                field_start = false;
                row_start = false;
            }
            b',' => {
                field_start = true;
                row_start = false;
            }
            b'\n' | b'\r' => {
                field_start = true;
                row_start = true;
            }
            _ => {
                field_start = false;
                row_start = false;
            }
        }
        i += 1;
    }
    None
}

/// Byte offset → 1-based line number.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }
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

    #[test]
    fn an_unclosed_quote_is_found_where_it_opens() {
        use QuoteProblem::*;
        assert_eq!(quote_problem("a,b\n\"x,y\nz\n"), Some(Unclosed { open: 4 }));
        assert_eq!(quote_problem("a,\"b \"\" c\",d\n\"e\n f\"\n\"\",x"), None);
        // Quotes inside an unquoted field and in comments are text.
        assert_eq!(quote_problem("a,b\"c\n# it's \"x\nd\n"), None);
        assert_eq!(quote_problem("a,\"b\"\"\n"), Some(Unclosed { open: 2 }));
        // A lost quote: the next row's opening quote closes the field, and text follows.
        assert_eq!(
            quote_problem("h\n\"a,b,c\n\"d,e\",f\n"),
            Some(TextAfterClose { open: 2, close: 9 })
        );
    }

    #[test]
    fn line_index_and_content_start() {
        let text = "h\r\n\r\n# note\n#more\nrow\n";
        let lines = LineIndex::new(text);
        assert_eq!(lines.line_of(0), 1);
        let at = content_start(text, 1);
        assert_eq!(&text[at..at + 3], "row");
        assert_eq!(lines.line_of(at), 5);
        assert_eq!(
            content_start("x\n# only comment", 2),
            "x\n# only comment".len()
        );
    }
}
