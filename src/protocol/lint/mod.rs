//! Lint of free/busy messages: every way a stored message differs from what Outlook and
//! Exchange write (issue 16 item 1).
//!
//! Owns [`RULES`] (one [`Rule`] each: a name, a severity, the known publishers that write
//! that way, a sentence, and a predicate over the message's raw properties plus optional
//! [`Facts`] about its folder and the directory) and [`lint`], which runs them over one
//! [`LintMessage`] and returns [`Finding`]s. The properties are read as the writer stored
//! them (the store keeps every property as written, and PROPFIND returns it so), not as the
//! codec would normalise them, so every finding is about real bytes.
//! [`multistatus`] reads a PROPFIND answer of a remote store into the same messages.
//!
//! Pure: no I/O, no store. PROTOCOL.md §1–§2, docs/behaviour.md "Real publishers".

pub mod multistatus;
mod rules;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::legacy_dn::{LegacyDn, fold_key};
use super::mapi::{PropName, PropValue, tags};
use super::time::MonthKey;

pub use rules::RULES;

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A shape a known publisher writes that every reader copes with.
    Info,
    /// A shape some readers misread, or that says the message is stale or misplaced.
    Warning,
    /// A message readers refuse or read wrongly.
    Error,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One lint rule.
pub struct Rule {
    /// Kebab-case, stable: scripts filter on it.
    pub name: &'static str,
    pub severity: Severity,
    /// The known publishers whose messages have this shape (PROTOCOL.md §5–§6,
    /// docs/behaviour.md); empty when no known publisher writes it.
    pub publishers: &'static [&'static str],
    /// What the rule finds, as a sentence.
    pub about: &'static str,
    check: fn(&LintMessage<'_>, &Facts<'_>, &mut Vec<Hit>),
}

/// A free/busy message as stored: where it is and its properties as written.
pub struct LintMessage<'a> {
    /// The admin-group folder's name, decoded: `EX:/o=Org/ou=AG`.
    pub folder: &'a str,
    /// The URL leaf, decoded: `USER-/CN=RECIPIENTS/CN=DAN.EML`.
    pub leaf: &'a str,
    pub props: &'a BTreeMap<PropName, PropValue>,
    /// When the message (its blocks) was last written: the store's modification time, or
    /// `DAV:getlastmodified`.
    pub modified: Option<Timestamp>,
}

/// A directory lookup: the legacyDN of the user an `EX:` legacyDN names, `None` for nobody.
pub type Directory<'d> = dyn Fn(&str) -> Option<String> + 'd;

/// What is known around one message.
#[derive(Default)]
pub struct Facts<'a> {
    /// The directory, when one is at hand: the legacyDN of the user an address names
    /// (`EX:` legacyDN lookup), `None` for nobody.
    pub directory: Option<&'a Directory<'a>>,
    /// The URL leaf of an older message of the same subject in the same folder.
    pub older_duplicate: Option<String>,
}

/// What a rule's predicate found on a message: a sentence, and the status and the month it
/// is about when it is about one. A [`Finding`] adds the rule and the message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    /// `merged`, `tentative`, `busy` or `away`, when the finding is about one status.
    pub status: Option<String>,
    /// The month (`2008-02`, or the raw value when it is no month), when about one month.
    pub month: Option<String>,
    pub sentence: String,
}

impl Hit {
    fn new(sentence: impl Into<String>) -> Hit {
        Hit {
            status: None,
            month: None,
            sentence: sentence.into(),
        }
    }
}

/// One finding: a rule that fired on a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    /// The message's owner: its `0x6849001F`, else its folder and subject.
    pub user: String,
    /// The URL leaf of the message.
    pub leaf: String,
    /// On the wire as the finding's own `status`, `month` and `sentence`.
    #[serde(flatten)]
    pub hit: Hit,
    /// The known publishers that write this way.
    pub publishers: Vec<String>,
}

impl Finding {
    /// One line: rule, severity, user, status, month, sentence, publishers (tab-free,
    /// `-` for an empty column).
    pub fn line(&self) -> String {
        let publishers = if self.publishers.is_empty() {
            "no known publisher".to_string()
        } else {
            self.publishers.join(", ")
        };
        format!(
            "{} {} {} {} {} {} [written by: {}]",
            self.rule,
            self.severity,
            self.user,
            self.hit.status.as_deref().unwrap_or("-"),
            self.hit.month.as_deref().unwrap_or("-"),
            self.hit.sentence,
            publishers
        )
    }
}

/// Run every rule over `msg`.
pub fn lint(msg: &LintMessage<'_>, facts: &Facts<'_>) -> Vec<Finding> {
    let user = owner(msg);
    let mut out = Vec::new();
    let mut hits = Vec::new();
    for rule in RULES {
        hits.clear();
        (rule.check)(msg, facts, &mut hits);
        for h in hits.drain(..) {
            out.push(Finding {
                rule: rule.name.to_string(),
                severity: rule.severity,
                user: user.clone(),
                leaf: msg.leaf.to_string(),
                hit: h,
                publishers: rule.publishers.iter().map(|p| p.to_string()).collect(),
            });
        }
    }
    out
}

/// The worst severity among `findings`.
pub fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

fn month_text(v: i32) -> String {
    match MonthKey::from_wire(v) {
        Some(m) => format!("{:04}-{:02}", m.year(), m.month()),
        None => format!("value {v}"),
    }
}

/// The owner as the message names it: `0x6849001F`, else folder + subject.
fn owner(msg: &LintMessage<'_>) -> String {
    if let Some(dn) = string_prop(msg.props, tags::FREEBUSY_MESSAGE_EMAIL_ADDRESS) {
        return dn.to_string();
    }
    match subject_text(msg) {
        Some(s) => dn_of(msg.folder, s).unwrap_or_else(|| format!("{} {s}", msg.folder)),
        None => format!("{} {}", msg.folder, msg.leaf),
    }
}

fn string_prop(props: &BTreeMap<PropName, PropValue>, tag: super::mapi::PropTag) -> Option<&str> {
    props.get(&PropName::Mapi(tag)).and_then(PropValue::as_str)
}

/// The subject the message gives itself: normalized subject, subject, `mapi/subject`.
fn subject_text<'a>(msg: &LintMessage<'a>) -> Option<&'a str> {
    string_prop(msg.props, tags::NORMALIZED_SUBJECT)
        .or_else(|| string_prop(msg.props, tags::SUBJECT))
        .or_else(|| {
            msg.props
                .get(&PropName::mapi_subject())
                .and_then(PropValue::as_str)
        })
}

/// The legacyDN a folder and a `USER-…` subject stand for.
fn dn_of(folder: &str, subject: &str) -> Option<String> {
    folder.get(..3).filter(|p| p.eq_ignore_ascii_case("EX:"))?;
    let tail = subject
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("USER-"))
        .and_then(|_| subject.get(5..))?;
    LegacyDn::parse(&format!("{}{tail}", &folder[3..]))
        .ok()
        .map(|d| d.as_str().to_string())
}

/// Case-insensitive equality as the store compares names.
fn same(a: &str, b: &str) -> bool {
    fold_key(a.trim()) == fold_key(b.trim())
}
