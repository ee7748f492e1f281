//! `schedplus directory import` (and the demo's directory): add or update users from a
//! csvde or ldifde export; with `dry_run`, only say what would change.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Ctx, Operation};
use crate::app::Error;
use crate::protocol::directory_file::{self, DirectoryFormat, TextEncoding};
use crate::store::{ImportSummary, Store, UserRecord};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ImportRequest {
    /// The export as text (JSON strings are Unicode); empty when `data_base64` or `path`
    /// is given.
    #[serde(default)]
    pub text: String,
    /// The export's bytes as the file holds them (base64 in JSON, as `data_base64`): its
    /// encoding (windows-1252, UTF-16LE, UTF-8 with or without a byte-order mark) is
    /// detected here.
    #[serde(
        default,
        rename = "data_base64",
        with = "base64_bytes",
        skip_serializing_if = "Option::is_none"
    )]
    pub data: Option<Vec<u8>>,
    /// A file on the machine that runs the import, read there: what the CLI sends, so
    /// that a file larger than the admin API's body limit (`max_admin_body`) imports
    /// through a running server (the CLI finds that server in the data directory, so they
    /// share the machine). Absolute: the server's working directory is not the CLI's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// `csv` or `ldif`; detected from the text when absent.
    pub format: Option<String>,
    /// Where the text came from, for messages.
    pub source: String,
    /// Compare with the store and write nothing (`--dry-run`): the report's `preview` says
    /// what an import would change.
    #[serde(default)]
    pub dry_run: bool,
}

/// `data_base64`: bytes as a base64 string in JSON, decoded once where they arrive.
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(bytes) => s.serialize_str(&STANDARD.encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        STANDARD
            .decode(text.trim())
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("data_base64 is not base64: {e}")))
    }
}

impl ImportRequest {
    /// A request carrying a file's bytes, to be decoded where it is imported.
    pub fn from_bytes(bytes: &[u8], format: Option<String>, source: String) -> ImportRequest {
        ImportRequest {
            data: Some(bytes.to_vec()),
            format,
            source,
            ..ImportRequest::default()
        }
    }

    /// A request naming a file, read where the import runs (this process, or the server
    /// that holds the store on this machine): no copy of the file travels in the request.
    pub fn from_file(file: &Path, format: Option<String>) -> Result<ImportRequest, Error> {
        let path = std::path::absolute(file)
            .map_err(|e| Error::BadInput(format!("cannot read {}: {e}", file.display())))?;
        Ok(ImportRequest {
            path: Some(path),
            format,
            source: file.display().to_string(),
            ..ImportRequest::default()
        })
    }

    /// The export's text and the encoding it was read in.
    fn decoded(&self) -> Result<(std::borrow::Cow<'_, str>, TextEncoding), Error> {
        let given = [
            !self.text.is_empty(),
            self.data.is_some(),
            self.path.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(Error::BadInput(
                "send the export as text, as data_base64 or as a path, not more than one".into(),
            ));
        }
        let read;
        let bytes: &[u8] = match (&self.data, &self.path) {
            (Some(data), _) => data,
            (None, Some(path)) => {
                if !path.is_absolute() {
                    return Err(Error::BadInput(format!(
                        "the path of the export must be absolute, not '{}'",
                        path.display()
                    )));
                }
                read = std::fs::read(path)
                    .map_err(|e| Error::BadInput(format!("cannot read {}: {e}", path.display())))?;
                &read
            }
            (None, None) => return Ok((self.text.as_str().into(), TextEncoding::Utf8)),
        };
        let (text, encoding) = directory_file::decode_export(bytes).map_err(|problem| {
            Error::BadInput(format!(
                "{}: {}",
                self.source,
                directory_file::DirectoryFileError {
                    problems: vec![problem]
                }
            ))
        })?;
        Ok((text.into(), encoding))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub source: String,
    pub format: String,
    /// The text encoding the export was read in (`windows-1252`, `UTF-16LE with
    /// byte-order mark`…); `UTF-8` for text sent as a JSON string.
    pub encoding: String,
    pub users: usize,
    pub skipped_non_users: usize,
    /// Distribution groups written (on a dry run: in the file); also counted in
    /// `skipped_non_users`.
    #[serde(default)]
    pub groups: usize,
    /// What was written; on a dry run, what would be.
    pub summary: ImportSummary,
    /// On a dry run only: the users the import would add, change or leave, and those in
    /// the store the file does not name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<ImportPreview>,
}

/// What an import would do, user by user (the first [`DryRunList::SHOWN`] of each kind).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPreview {
    pub added: DryRunList,
    /// Each line names the fields that differ.
    pub changed: DryRunList,
    pub unchanged: DryRunList,
    /// In the store and not in the file: an import never removes users, so they stay.
    pub removed: DryRunList,
}

/// A count and its first lines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryRunList {
    pub count: usize,
    pub first: Vec<String>,
}

impl DryRunList {
    /// How many lines of each kind a preview carries.
    pub const SHOWN: usize = 10;

    fn push(&mut self, line: impl FnOnce() -> String) {
        self.count += 1;
        if self.first.len() < Self::SHOWN {
            self.first.push(line());
        }
    }
}

impl Operation for ImportRequest {
    const ROUTE: &'static str = "/directory/import";
    type Report = ImportReport;

    fn server_file(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn run(self, ctx: &Ctx) -> Result<ImportReport, Error> {
        let (text, encoding) = self.decoded()?;
        let format = match self
            .format
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => directory_file::detect_format(&text),
            Some("csv") => DirectoryFormat::Csv,
            Some("ldif") => DirectoryFormat::Ldif,
            Some(other) => {
                return Err(Error::BadInput(format!(
                    "unknown directory format '{other}': use csv or ldif"
                )));
            }
        };
        let parsed = directory_file::parse_directory_detailed(&text, format)
            .map_err(|e| Error::BadInput(format!("{}: {e}", self.source)))?;
        // The text is not needed past here; a million users' is 80 MB.
        drop(text);
        let users: Vec<UserRecord> = parsed.entries.into_iter().map(UserRecord::from).collect();
        let groups = parsed.groups.groups.len();
        let (summary, preview) = if self.dry_run {
            let (summary, preview) = preview(&ctx.store, &users)?;
            (summary, Some(preview))
        } else {
            let now = ctx.clock.now_us();
            let (summary, _) = ctx.store.import_directory(&users, &parsed.groups, now)?;
            (summary, None)
        };
        Ok(ImportReport {
            source: self.source.clone(),
            format: match format {
                DirectoryFormat::Csv => "csv",
                DirectoryFormat::Ldif => "ldif",
            }
            .into(),
            encoding: encoding.name().into(),
            users: users.len(),
            skipped_non_users: parsed.skipped,
            groups,
            summary,
            preview,
        })
    }
}

/// What `import_users` would do with `users`, read from the store without writing. (An
/// address that belongs to another user is found only by the import itself.)
fn preview(store: &Store, users: &[UserRecord]) -> Result<(ImportSummary, ImportPreview), Error> {
    let stored: HashMap<String, UserRecord> = store
        .list_users()?
        .into_iter()
        .map(|u| (u.legacy_dn.key(), u))
        .collect();
    let mut p = ImportPreview::default();
    let mut named = BTreeSet::new();
    let mut new_groups = BTreeSet::new();
    for u in users {
        let key = u.legacy_dn.key();
        match stored.get(&key) {
            None => p.added.push(|| who(u)),
            Some(old) if old == u => p.unchanged.push(|| who(u)),
            Some(old) => p
                .changed
                .push(|| format!("{}: {}", who(u), differences(old, u))),
        }
        let group = u.legacy_dn.admin_group();
        if store.folder(&group)?.is_none() {
            new_groups.insert(group.as_str().to_string());
        }
        named.insert(key);
    }
    let mut gone: Vec<&UserRecord> = stored
        .iter()
        .filter(|(k, _)| !named.contains(*k))
        .map(|(_, u)| u)
        .collect();
    gone.sort_by(|a, b| a.legacy_dn.as_str().cmp(b.legacy_dn.as_str()));
    for u in gone {
        p.removed.push(|| who(u));
    }
    let summary = ImportSummary {
        added: p.added.count,
        updated: p.changed.count,
        unchanged: p.unchanged.count,
        folders_created: new_groups.len(),
    };
    Ok((summary, p))
}

fn who(u: &UserRecord) -> String {
    format!("{} <{}> ({})", u.display_name, u.mail, u.legacy_dn)
}

/// `mail a → b, display name …`: the fields of a user record that differ.
fn differences(old: &UserRecord, new: &UserRecord) -> String {
    let mut out = Vec::new();
    for (name, a, b) in [
        ("mail", &old.mail, &new.mail),
        ("display name", &old.display_name, &new.display_name),
        ("alias", &old.alias, &new.alias),
        (
            "legacyExchangeDN",
            &old.legacy_dn.as_str().to_string(),
            &new.legacy_dn.as_str().to_string(),
        ),
    ] {
        if a != b {
            out.push(format!("{name} '{a}' → '{b}'"));
        }
    }
    if old.proxy_addresses != new.proxy_addresses {
        out.push(format!(
            "proxy addresses '{}' → '{}'",
            old.proxy_addresses.join(";"),
            new.proxy_addresses.join(";")
        ));
    }
    out.join(", ")
}
