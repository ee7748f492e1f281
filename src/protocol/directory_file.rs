//! Directory exports: the mailbox users schedplus serves free/busy for, read from the files a
//! lab admin gets out of Active Directory with `csvde` (CSV) or `ldifde` (LDIF).
//!
//! Owns [`DirectoryEntry`] (one user: primary SMTP address, legacyExchangeDN, display name,
//! alias, proxy addresses), [`detect_format`], [`parse_directory`] (text → entries,
//! all-or-nothing) and [`DirectoryFileError`] (every problem with its one line).
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
//! Pure: no I/O. The caller reads the file and decides what to do with the entries.

mod csv;
mod encoding;
pub mod groups;
mod ldif;

pub use encoding::{TextEncoding, decode_export};
pub use groups::{Group, GroupEntry, ParsedGroups};

use std::collections::{HashMap, HashSet};
use std::fmt;

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
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or_default();
    let starts_with = |prefix: &str| {
        first
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    if starts_with("dn:") || starts_with("version:") {
        DirectoryFormat::Ldif
    } else {
        DirectoryFormat::Csv
    }
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
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let records = match format {
        DirectoryFormat::Csv => csv::read(text),
        DirectoryFormat::Ldif => Ok(ldif::read(text)),
    };
    match records {
        Ok(records) => build(records),
        Err(problem) => Err(DirectoryFileError {
            problems: vec![problem],
        }),
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

fn build(records: Vec<RawRecord>) -> Result<ParsedDirectory, DirectoryFileError> {
    let mut problems = Vec::new();
    let mut entries: Vec<DirectoryEntry> = Vec::new();
    let mut skipped = 0;
    // Lower-cased key → line of the first record that used it.
    let mut dn_lines: HashMap<String, usize> = HashMap::new();
    let mut address_lines: HashMap<String, usize> = HashMap::new();
    let mut groups = ParsedGroups::default();
    for raw in records {
        let line = raw.line;
        let dn = raw.dn.clone();
        let entry = match check(raw) {
            Verdict::User(entry) => entry,
            Verdict::Group(group) => {
                skipped += 1;
                groups.groups.push(group);
                continue;
            }
            Verdict::NotAUser => {
                skipped += 1;
                continue;
            }
            Verdict::Unreadable(issues) => {
                problems.extend(issues);
                continue;
            }
            Verdict::Bad(reasons) => {
                problems.push(LineProblem::new(line, reasons.join("; ")));
                continue;
            }
        };
        let mut reasons = Vec::new();
        if let Some(first) = dn_lines.get(&entry.legacy_dn.key()) {
            reasons.push(format!(
                "legacyExchangeDN '{}' is already used by the record on line {first}",
                shown(entry.legacy_dn.as_str())
            ));
        }
        let addresses = entry.smtp_addresses();
        for address in &addresses {
            if let Some(first) = address_lines.get(&fold_key(address)) {
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
            problems.push(LineProblem::new(line, reasons.join("; ")));
            continue;
        }
        dn_lines.insert(entry.legacy_dn.key(), line);
        for address in addresses {
            address_lines.insert(fold_key(&address), line);
        }
        groups.user(dn, &entry);
        entries.push(entry);
    }
    groups.finish(&entries, &mut problems);
    if problems.is_empty() && entries.is_empty() && groups.groups.is_empty() {
        let mut reason = "no users found in the file".to_string();
        if skipped > 0 {
            reason.push_str(&format!(
                " ({skipped} record{} without mail and legacyExchangeDN, or not a person, skipped)",
                if skipped == 1 { "" } else { "s" }
            ));
        }
        problems.push(LineProblem::new(0, reason));
    }
    if problems.is_empty() {
        Ok(ParsedDirectory {
            entries,
            skipped,
            groups,
        })
    } else {
        problems.sort_by_key(|p| p.line);
        Err(DirectoryFileError { problems })
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
