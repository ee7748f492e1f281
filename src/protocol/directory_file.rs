//! Directory exports: the mailbox users schedplus serves free/busy for, read from the files a
//! lab admin gets out of Active Directory with `csvde` (CSV) or `ldifde` (LDIF).
//!
//! Owns [`DirectoryEntry`] (one user: primary SMTP address, legacyExchangeDN, display name,
//! alias, proxy addresses), [`detect_format`], [`DirectoryStream`] (an export's bytes →
//! its users one at a time, as they are read, then the verdict on the whole file),
//! [`parse_directory`] (text → entries, all-or-nothing) and [`DirectoryFileError`] (every
//! problem with its one line).
//!
//! The two syntaxes live in [`csv`] and [`ldif`]. Each only turns text into `RawRecord`s
//! (the attributes schedplus reads, as strings, with the line the record starts on); one
//! validator here turns those into entries, so both formats obey the same rules:
//!
//! * a record with neither `mail` nor `legacyExchangeDN`, or whose `objectClass` names no
//!   kind of person (groups, public folders, system mailboxes, containers), is not a user and
//!   is skipped; one with only one of the two is a problem;
//! * `mail` must look like an SMTP address, `legacyExchangeDN` must parse as a [`LegacyDn`],
//!   `displayName` must be present; the alias is `mailNickname`, else the DN's last `cn=`;
//! * the same legacyExchangeDN or SMTP address on two records is a problem on the later one;
//! * any problem anywhere means no entries at all: an import is all-or-nothing.
//!
//! A file is read as a stream, so that a million users never sit in memory together: the
//! bytes are decoded a block at a time ([`TextReader`]), each record is checked as soon as
//! it is read, and [`DirectoryStream::next_user`] hands its users on one by one while the
//! file has no problem. Once one is found it reads on to the end, to report every problem,
//! and hands out nothing more: the caller undoes what it did with the users before. The
//! file-wide checks (the same name on two records) keep one compact hash per name.
//!
//! No I/O of its own: it reads from the `std::io::Read` the caller gives (a file, the bytes
//! of an upload), and the caller decides what to do with the entries.

mod csv;
mod encoding;
pub mod groups;
mod ldif;

pub use encoding::{TextEncoding, TextReader, decode_export};
pub use groups::{Group, GroupEntry, ParsedGroups};

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::{self, BufRead, Read};

use serde::{Deserialize, Serialize};

use super::legacy_dn::{LegacyDn, fold_key, truncate_for_message};

/// Longest value of an attribute schedplus reads (a longer one is a problem). Attributes it
/// ignores may be longer: csvde writes a big group's `member` list on one line.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Most proxy addresses one user may have.
pub const MAX_PROXY_ADDRESSES: usize = 1000;
const MAX_MAIL_CHARS: usize = 320;
/// `displayName`'s rangeUpper in the AD schema.
const MAX_DISPLAY_NAME_CHARS: usize = 256;
/// `mailNickname`'s rangeUpper in the Exchange schema.
const MAX_ALIAS_CHARS: usize = 64;
/// An X500 proxy holds a DN (≤ 1024) plus its prefix.
const MAX_PROXY_CHARS: usize = 2048;
/// How many problems the error message lists before summarising the rest.
const MAX_PROBLEMS_SHOWN: usize = 50;

/// Object classes that mark a record as a person. A record that lists object classes but
/// none of these (group, publicFolder, msExchSystemMailbox, organizationalUnit…) is skipped
/// even when it has `mail` and `legacyExchangeDN`, as mail-enabled groups and public folders
/// do: they have no calendar.
const PERSON_CLASSES: [&str; 5] = [
    "user",
    "person",
    "organizationalPerson",
    "inetOrgPerson",
    "contact",
];

/// One mailbox user from a directory export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEntry {
    /// Primary SMTP address, as given (trimmed).
    pub mail: String,
    pub legacy_dn: LegacyDn,
    pub display_name: String,
    /// `mailNickname`, or when absent the last `cn=` of the legacyExchangeDN.
    pub alias: String,
    /// Every `proxyAddresses` value as given (trimmed): `SMTP:a@x.example`,
    /// `smtp:alt@x.example`, `X500:/o=…`. May be empty.
    pub proxy_addresses: Vec<String>,
    /// 1-based line where the record starts in the source file.
    pub line: usize,
}

impl DirectoryEntry {
    /// `mail`, then every `smtp:`/`SMTP:` proxy address with its prefix removed, without
    /// repeats (compared without regard to case).
    pub fn smtp_addresses(&self) -> Vec<String> {
        smtp_addresses(&self.mail, &self.proxy_addresses)
    }
}

/// A user's SMTP addresses: `mail` first, then every `smtp:` proxy value, without
/// case-insensitive duplicates.
pub fn smtp_addresses(mail: &str, proxy_addresses: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    std::iter::once(mail)
        .chain(proxy_addresses.iter().filter_map(|p| smtp_proxy(p)))
        .filter(|a| seen.insert(fold_key(a)))
        .map(str::to_string)
        .collect()
}

/// The address of an `smtp:` proxy value (any case), or `None` for other address types.
fn smtp_proxy(value: &str) -> Option<&str> {
    let (kind, address) = value.split_once(':')?;
    kind.trim()
        .eq_ignore_ascii_case("smtp")
        .then_some(address.trim())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectoryFormat {
    Csv,
    Ldif,
}

/// LDIF if the first line that is neither blank nor a `#` comment starts with `dn:` or
/// `version:` (any case); CSV otherwise.
pub fn detect_format(text: &str) -> DirectoryFormat {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines()
        .find_map(format_of_line)
        .unwrap_or(DirectoryFormat::Csv)
}

/// The format a file's first meaningful line says, or `None` for a blank or comment line.
fn format_of_line(line: &str) -> Option<DirectoryFormat> {
    let first = line.trim();
    if first.is_empty() || first.starts_with('#') {
        return None;
    }
    let starts_with = |prefix: &str| {
        first
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    Some(if starts_with("dn:") || starts_with("version:") {
        DirectoryFormat::Ldif
    } else {
        DirectoryFormat::Csv
    })
}

/// One problem: the line it is on (a record's first line when the reason is about the
/// record as a whole) and every reason, joined by `; `; the reason itself names no other
/// line of the record. `line` 0 means the file as a whole ("no users found in the file").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineProblem {
    pub line: usize,
    pub reason: String,
}

impl LineProblem {
    fn new(line: usize, reason: impl Into<String>) -> LineProblem {
        // Reasons quote file contents; a control character there would break the one line
        // per problem layout of the error message (and of a log line).
        let reason = reason
            .into()
            .chars()
            .flat_map(|c| {
                let escaped: Vec<char> = if c.is_control() {
                    c.escape_default().collect()
                } else {
                    vec![c]
                };
                escaped
            })
            .collect();
        LineProblem { line, reason }
    }
}

impl fmt::Display for LineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.reason)
        } else {
            write!(f, "line {}: {}", self.line, self.reason)
        }
    }
}

/// Why a directory file was refused. Nothing from it may be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_problems(&self.problems))]
pub struct DirectoryFileError {
    /// Sorted by line; at least one.
    pub problems: Vec<LineProblem>,
}

fn render_problems(problems: &[LineProblem]) -> String {
    // Problems on a line; a record in LDIF may have more than one (on different lines).
    let on_lines = problems.iter().filter(|p| p.line > 0).count();
    if on_lines == 0 && problems.len() == 1 {
        return format!("nothing was imported: {}", problems[0]);
    }
    let mut out = match on_lines {
        0 => "nothing was imported:".to_string(),
        1 => "1 problem; nothing was imported:".to_string(),
        n => format!("{n} problems; nothing was imported:"),
    };
    for p in problems.iter().take(MAX_PROBLEMS_SHOWN) {
        out.push_str("\n  ");
        out.push_str(&p.to_string());
    }
    if problems.len() > MAX_PROBLEMS_SHOWN {
        out.push_str(&format!(
            "\n  … and {} more",
            problems.len() - MAX_PROBLEMS_SHOWN
        ));
    }
    out
}

/// The users of a directory file, and how many records were not users.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedDirectory {
    pub entries: Vec<DirectoryEntry>,
    /// Records skipped as not users (no mail and no legacyExchangeDN, or a non-person
    /// objectClass): groups, containers, computers, public folders.
    pub skipped: usize,
    /// The groups (also counted in `skipped`: they are not users), see [`groups`].
    pub groups: ParsedGroups,
}

/// Every user of a directory export, or every reason the file cannot be imported.
pub fn parse_directory(
    text: &str,
    format: DirectoryFormat,
) -> Result<Vec<DirectoryEntry>, DirectoryFileError> {
    parse_directory_detailed(text, format).map(|parsed| parsed.entries)
}

/// [`parse_directory`], also counting the records skipped as not users.
pub fn parse_directory_detailed(
    text: &str,
    format: DirectoryFormat,
) -> Result<ParsedDirectory, DirectoryFileError> {
    let mut stream = DirectoryStream::from_text(text.as_bytes(), Some(format));
    let mut entries = Vec::new();
    while let Some(entry) = stream.next_user() {
        entries.push(entry);
    }
    let mut counts = stream.finish()?;
    for entry in &entries {
        if !counts.groups.wants_users() {
            break;
        }
        counts.groups.resolve_user(&entry.legacy_dn.key());
    }
    Ok(ParsedDirectory {
        entries,
        skipped: counts.skipped,
        groups: counts.groups,
    })
}

/// What a whole file held, once [`DirectoryStream::finish`] found no problem in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectoryCounts {
    /// Users handed out.
    pub users: usize,
    /// Records skipped as not users (see [`ParsedDirectory::skipped`]).
    pub skipped: usize,
    /// The file's groups, checked against its users, with the DNs of the users they name.
    pub groups: ParsedGroups,
}

/// A directory export read as a stream: its users one at a time, then the verdict on the
/// whole file. Memory holds one record, the names seen (a compact hash each, for the
/// file-wide duplicate checks) and the problems found.
pub struct DirectoryStream<R: Read> {
    records: Records<R>,
    format: DirectoryFormat,
    check: Validator,
    /// A problem that makes the file unreadable (its text, a quote, the CSV header): the
    /// only one reported, whatever else was found.
    fatal: Option<LineProblem>,
}

enum Records<R: Read> {
    // Boxed: each carries its decoder and buffers inline.
    Csv(Box<csv::Records<Decoded<R>>>),
    Ldif(Box<ldif::Records<Decoded<R>>>),
}

impl<R: Read> DirectoryStream<R> {
    /// The bytes of an export, in any encoding Windows writes ([`TextReader`]); `format`
    /// `None` is told from the first meaningful line ([`detect_format`]).
    pub fn new(bytes: R, format: Option<DirectoryFormat>) -> DirectoryStream<R> {
        DirectoryStream::of(TextReader::new(bytes), format)
    }

    /// Text that is UTF-8 already (the bytes of a `&str`).
    pub fn from_text(text: R, format: Option<DirectoryFormat>) -> DirectoryStream<R> {
        DirectoryStream::of(TextReader::utf8(text), format)
    }

    fn of(text: TextReader<R>, format: Option<DirectoryFormat>) -> DirectoryStream<R> {
        let mut text = Decoded {
            ahead: io::Cursor::new(Vec::new()),
            rest: text,
        };
        let format = format.unwrap_or_else(|| text.detect());
        let records = match format {
            DirectoryFormat::Csv => Records::Csv(Box::new(csv::Records::new(text))),
            DirectoryFormat::Ldif => Records::Ldif(Box::new(ldif::Records::new(text))),
        };
        DirectoryStream {
            records,
            format,
            check: Validator::default(),
            fatal: None,
        }
    }

    pub fn format(&self) -> DirectoryFormat {
        self.format
    }

    /// The encoding of the text read so far (final at the end).
    pub fn encoding(&self) -> TextEncoding {
        self.text().rest.encoding()
    }

    fn text(&self) -> &Decoded<R> {
        match &self.records {
            Records::Csv(r) => r.text(),
            Records::Ldif(r) => r.text(),
        }
    }

    /// The next user of the file; `None` at its end, or as soon as the file has a problem
    /// (having read the rest of it, to find every problem): what was done with the users
    /// before must then be undone, as [`DirectoryStream::finish`] says.
    pub fn next_user(&mut self) -> Option<DirectoryEntry> {
        loop {
            let raw = match self.next_record()? {
                Ok(raw) => raw,
                Err(problem) => {
                    self.fatal = Some(problem);
                    return None;
                }
            };
            if let Some(entry) = self.check.push(raw) {
                if self.check.problems.is_empty() {
                    return Some(entry);
                }
            }
        }
    }

    fn next_record(&mut self) -> Option<Result<RawRecord, LineProblem>> {
        if self.fatal.is_some() {
            return None;
        }
        match &mut self.records {
            Records::Csv(r) => r.next_record(),
            Records::Ldif(r) => r.next_record(),
        }
    }

    /// The verdict on the whole file (read to its end): how many users it held, or every
    /// reason none of them may be kept.
    pub fn finish(mut self) -> Result<DirectoryCounts, DirectoryFileError> {
        // Read what the caller left unread: a problem there refuses the file too.
        while self.next_user().is_some() {}
        if let Some(problem) = self.fatal {
            return Err(DirectoryFileError {
                problems: vec![problem],
            });
        }
        self.check.finish()
    }
}

/// Decoded text a format reads from, and the problem that stopped it, if any.
trait Text: BufRead {
    fn failure(&self) -> Option<&LineProblem>;
}

/// The text: the lines read ahead to tell its format, then the rest as it is decoded.
struct Decoded<R> {
    ahead: io::Cursor<Vec<u8>>,
    rest: TextReader<R>,
}

impl Decoded<&[u8]> {
    /// Text given whole, for tests.
    #[cfg(test)]
    fn text(text: &str) -> Decoded<&[u8]> {
        Decoded {
            ahead: io::Cursor::new(Vec::new()),
            rest: TextReader::utf8(text.as_bytes()),
        }
    }
}

impl<R: Read> Decoded<R> {
    /// Read lines up to the first meaningful one and tell the format from it (CSV when
    /// there is none); the lines are read again by the format's reader.
    fn detect(&mut self) -> DirectoryFormat {
        let mut ahead = Vec::new();
        let format = loop {
            let from = ahead.len();
            match self.rest.read_until(b'\n', &mut ahead) {
                Ok(0) | Err(_) => break DirectoryFormat::Csv,
                Ok(_) => {}
            }
            if let Some(format) = format_of_line(&String::from_utf8_lossy(&ahead[from..])) {
                break format;
            }
        };
        self.ahead = io::Cursor::new(ahead);
        format
    }

    fn ahead_left(&self) -> bool {
        (self.ahead.position() as usize) < self.ahead.get_ref().len()
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        encoding::read_buffered(self, buf)
    }
}

impl<R: Read> BufRead for Decoded<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.ahead_left() {
            self.ahead.fill_buf()
        } else {
            self.rest.fill_buf()
        }
    }

    fn consume(&mut self, n: usize) {
        if self.ahead_left() {
            self.ahead.consume(n)
        } else {
            self.rest.consume(n)
        }
    }
}

impl<R: Read> Text for Decoded<R> {
    fn failure(&self) -> Option<&LineProblem> {
        self.rest.failure()
    }
}

/// One record as a format parser read it: the attributes schedplus reads, unvalidated.
/// `None` means the attribute (LDIF) is absent; a CSV column that is present but empty in
/// this row gives `Some("")`.
#[derive(Debug, Default)]
struct RawRecord {
    line: usize,
    mail: Option<String>,
    legacy_dn: Option<String>,
    display_name: Option<String>,
    mail_nickname: Option<String>,
    proxy_addresses: Vec<String>,
    object_classes: Vec<String>,
    /// The record's own distinguished name and its `member` values (groups).
    dn: Option<String>,
    members: Vec<String>,
    /// Syntax problems the format parser found (bad base64, a repeated attribute, a value
    /// over [`MAX_VALUE_BYTES`]…), each with the line it is on (in LDIF, not always the
    /// line the record starts on), so that a problem names one line. A record with any is
    /// reported with these alone: its fields cannot be trusted enough to say more.
    issues: Vec<LineProblem>,
}

enum Verdict {
    User(DirectoryEntry),
    Group(GroupEntry),
    NotAUser,
    /// The format parser's problems, each on its own line.
    Unreadable(Vec<LineProblem>),
    /// Reasons about the record as a whole, reported at the line it starts on.
    Bad(Vec<String>),
}

/// The checks of a whole file, record by record: every problem, the records skipped, and
/// the names seen so far (each legacyExchangeDN and SMTP address, as a 128-bit hash of its
/// folded form with the line of the record that used it first: two names that differ have
/// the same hash with a chance of about 2^-128 per pair, never seen in practice, and the
/// table stays about 24 bytes a name instead of the names themselves).
#[derive(Default)]
struct Validator {
    problems: Vec<LineProblem>,
    users: usize,
    skipped: usize,
    seen: HashMap<u128, u32>,
    groups: ParsedGroups,
}

/// What a name in [`Validator::seen`] is.
#[derive(Clone, Copy, Hash)]
enum NameKind {
    LegacyDn,
    Smtp,
}

fn seen_key(kind: NameKind, folded: &str) -> u128 {
    hash128(&(kind, folded))
}

/// A 128-bit hash of `value`, for sets that keep names as hashes (a million names in a few
/// megabytes): two values that differ share one with a chance of about 2^-128.
pub fn hash128<T: Hash + ?Sized>(value: &T) -> u128 {
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        salt.hash(&mut h);
        value.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

impl Validator {
    /// Check one record: the user it is, if it is one and has no problem.
    fn push(&mut self, raw: RawRecord) -> Option<DirectoryEntry> {
        let line = raw.line;
        let own_dn = raw.dn.clone();
        let entry = match check(raw) {
            Verdict::User(entry) => entry,
            Verdict::Group(group) => {
                self.skipped += 1;
                self.groups.groups.push(group);
                return None;
            }
            Verdict::NotAUser => {
                self.skipped += 1;
                return None;
            }
            Verdict::Unreadable(issues) => {
                self.problems.extend(issues);
                return None;
            }
            Verdict::Bad(reasons) => {
                self.problems
                    .push(LineProblem::new(line, reasons.join("; ")));
                return None;
            }
        };
        let mut reasons = Vec::new();
        let dn = seen_key(NameKind::LegacyDn, &entry.legacy_dn.key());
        if let Some(first) = self.seen.get(&dn) {
            reasons.push(format!(
                "legacyExchangeDN '{}' is already used by the record on line {first}",
                shown(entry.legacy_dn.as_str())
            ));
        }
        let addresses = entry.smtp_addresses();
        let keys: Vec<u128> = addresses
            .iter()
            .map(|a| seen_key(NameKind::Smtp, &fold_key(a)))
            .collect();
        for (address, key) in addresses.iter().zip(&keys) {
            if let Some(first) = self.seen.get(key) {
                let field = if address == &entry.mail {
                    "mail"
                } else {
                    "SMTP address (from proxyAddresses)"
                };
                reasons.push(format!(
                    "{field} '{}' is already used by the record on line {first}",
                    shown(address)
                ));
            }
        }
        if !reasons.is_empty() {
            self.problems
                .push(LineProblem::new(line, reasons.join("; ")));
            return None;
        }
        let line = u32::try_from(line).unwrap_or(u32::MAX);
        self.seen.insert(dn, line);
        for key in keys {
            self.seen.insert(key, line);
        }
        self.groups.user(own_dn, &entry);
        self.users += 1;
        Some(entry)
    }

    /// The verdict once every record was checked.
    fn finish(mut self) -> Result<DirectoryCounts, DirectoryFileError> {
        let skipped = self.skipped;
        let seen = &self.seen;
        let user_line = |name: &str| {
            let key = match name.split_once(':') {
                Some(("ex", dn)) => seen_key(NameKind::LegacyDn, dn),
                Some(("smtp", address)) => seen_key(NameKind::Smtp, address),
                _ => return None,
            };
            seen.get(&key).map(|line| *line as usize)
        };
        self.groups.finish(user_line, &mut self.problems);
        if self.problems.is_empty() && self.users == 0 && self.groups.groups.is_empty() {
            let mut reason = "no users found in the file".to_string();
            if skipped > 0 {
                reason.push_str(&format!(
                    " ({skipped} record{} without mail and legacyExchangeDN, or not a person, skipped)",
                    if skipped == 1 { "" } else { "s" }
                ));
            }
            self.problems.push(LineProblem::new(0, reason));
        }
        if self.problems.is_empty() {
            Ok(DirectoryCounts {
                users: self.users,
                skipped,
                groups: self.groups,
            })
        } else {
            self.problems.sort_by_key(|p| p.line);
            Err(DirectoryFileError {
                problems: self.problems,
            })
        }
    }
}

/// Is this record a user, not one, or a user with something wrong?
fn check(raw: RawRecord) -> Verdict {
    if !raw.issues.is_empty() {
        return Verdict::Unreadable(raw.issues);
    }
    if groups::is_group(&raw.object_classes) {
        return groups::check_group(raw);
    }
    let present = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
    let is_person = raw.object_classes.is_empty()
        || raw.object_classes.iter().any(|class| {
            PERSON_CLASSES
                .iter()
                .any(|p| p.eq_ignore_ascii_case(class.trim()))
        });
    if !is_person || (!present(&raw.mail) && !present(&raw.legacy_dn)) {
        return Verdict::NotAUser;
    }

    let mut reasons = Vec::new();
    let mail = required(&raw.mail, "mail", &mut reasons).and_then(|m| {
        check_smtp(m)
            .map_err(|why| {
                reasons.push(format!("mail '{}' is not an SMTP address: {why}", shown(m)))
            })
            .ok()
            .map(|()| m.to_string())
    });
    if present(&raw.mail) != present(&raw.legacy_dn) {
        reasons.push(
            "a user needs both mail and legacyExchangeDN (records with neither are skipped)"
                .to_string(),
        );
    }
    let legacy_dn = required(&raw.legacy_dn, "legacyExchangeDN", &mut reasons).and_then(|dn| {
        LegacyDn::parse(dn)
            .map_err(|e| reasons.push(format!("legacyExchangeDN {e}")))
            .ok()
    });
    let display_name = required(&raw.display_name, "displayName", &mut reasons)
        .and_then(|name| check_text(name, "displayName", MAX_DISPLAY_NAME_CHARS, &mut reasons));
    let nickname = raw
        .mail_nickname
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if let Some(n) = nickname {
        let ok = n.chars().count() <= MAX_ALIAS_CHARS
            && !n.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            reasons.push(format!(
                "mailNickname '{}' is not an alias: it must be at most {MAX_ALIAS_CHARS} \
                 characters without spaces or control characters",
                shown(n)
            ));
        }
    }
    let proxy_addresses: Vec<String> = raw
        .proxy_addresses
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    if proxy_addresses.len() > MAX_PROXY_ADDRESSES {
        reasons.push(format!(
            "proxyAddresses has {} values; at most {MAX_PROXY_ADDRESSES} are accepted",
            proxy_addresses.len()
        ));
    } else {
        for p in &proxy_addresses {
            if let Err(why) = check_proxy(p) {
                reasons.push(format!("proxyAddresses value '{}' {why}", shown(p)));
            }
        }
    }

    match (mail, legacy_dn, display_name) {
        (Some(mail), Some(legacy_dn), Some(display_name)) if reasons.is_empty() => {
            let alias = match nickname {
                Some(n) => n.to_string(),
                None => legacy_dn.last_cn().trim().to_string(),
            };
            Verdict::User(DirectoryEntry {
                mail,
                legacy_dn,
                display_name,
                alias,
                proxy_addresses,
                line: raw.line,
            })
        }
        _ => Verdict::Bad(reasons),
    }
}

/// The trimmed value, or a reason pushed when it is missing or empty.
fn required<'a>(
    value: &'a Option<String>,
    field: &str,
    reasons: &mut Vec<String>,
) -> Option<&'a str> {
    match value.as_deref().map(str::trim) {
        None => {
            reasons.push(format!("{field} is missing"));
            None
        }
        Some("") => {
            reasons.push(format!("{field} is empty"));
            None
        }
        Some(v) => Some(v),
    }
}

/// Free text shown to people (and written into XML): no control characters, bounded.
fn check_text(value: &str, field: &str, max: usize, reasons: &mut Vec<String>) -> Option<String> {
    if value.chars().any(char::is_control) {
        reasons.push(format!(
            "{field} '{}' contains control characters",
            shown(value)
        ));
        None
    } else if value.chars().count() > max {
        reasons.push(format!(
            "{field} '{}' is longer than {max} characters",
            shown(value)
        ));
        None
    } else {
        Some(value.to_string())
    }
}

/// An address as Exchange stores it: `local@domain`, one `@`, no spaces, no characters that
/// only make sense in a list or a display form. Quoted local parts are not accepted.
fn check_smtp(address: &str) -> Result<(), &'static str> {
    if address.is_empty() {
        return Err("it is empty");
    }
    if address.chars().count() > MAX_MAIL_CHARS {
        return Err("it is longer than 320 characters");
    }
    if address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it contains spaces or control characters");
    }
    if address.contains(['<', '>', '(', ')', ',', ';', ':', '"', '[', ']', '\\']) {
        return Err("it contains one of <>(),;:\"[]\\");
    }
    let Some((local, domain)) = address.split_once('@') else {
        return Err("it has no @");
    };
    if domain.contains('@') {
        return Err("it has more than one @");
    }
    if local.is_empty() {
        return Err("nothing comes before the @");
    }
    if domain.is_empty()
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return Err("its domain is malformed");
    }
    Ok(())
}

/// A proxy address is `type:address`; for `smtp` the address must be an SMTP address.
/// The error completes "proxyAddresses value '…' ".
fn check_proxy(value: &str) -> Result<(), String> {
    let kind_ok =
        |k: &str| !k.is_empty() && k.len() <= 16 && k.bytes().all(|b| b.is_ascii_alphanumeric());
    let Some((kind, address)) = value.split_once(':').filter(|(k, _)| kind_ok(k)) else {
        return Err("has no address type such as smtp: or X500:".to_string());
    };
    if value.chars().any(char::is_control) {
        return Err("contains control characters".to_string());
    }
    if value.chars().count() > MAX_PROXY_CHARS {
        return Err(format!("is longer than {MAX_PROXY_CHARS} characters"));
    }
    if address.trim().is_empty() {
        return Err("has an empty address".to_string());
    }
    if kind.eq_ignore_ascii_case("smtp") {
        check_smtp(address.trim()).map_err(|why| format!("is not an SMTP address: {why}"))?;
    }
    Ok(())
}

/// A value quoted in a reason: bounded (LineProblem::new escapes control characters).
fn shown(value: &str) -> String {
    truncate_for_message(value)
}

/// Does `name` (an attribute or column name from the file) match `wanted`, ignoring case and
/// surrounding spaces?
fn is_named(name: &str, wanted: &str) -> bool {
    name.trim().eq_ignore_ascii_case(wanted)
}

#[cfg(test)]
mod tests;
