//! `schedplus directory import` (and the demo's directory): add or update users from a
//! csvde or ldifde export; with `dry_run`, only say what would change.

use std::collections::{BTreeSet, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Ctx, Operation};
use crate::app::Error;
use crate::protocol::address::UserAddress;
use crate::protocol::directory_file::{
    DirectoryFileError, DirectoryFormat, DirectoryStream, hash128,
};
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

    /// The export, read as a stream: its users one at a time.
    fn stream(
        &self,
        format: Option<DirectoryFormat>,
    ) -> Result<DirectoryStream<Box<dyn Read + '_>>, Error> {
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
        let bytes: Box<dyn Read + '_> = match (&self.data, &self.path) {
            (Some(data), _) => Box::new(&data[..]),
            (None, Some(path)) => {
                if !path.is_absolute() {
                    return Err(Error::BadInput(format!(
                        "the path of the export must be absolute, not '{}'",
                        path.display()
                    )));
                }
                let file = std::fs::File::open(path)
                    .map_err(|e| Error::BadInput(format!("cannot read {}: {e}", path.display())))?;
                Box::new(file)
            }
            (None, None) => {
                return Ok(DirectoryStream::from_text(
                    Box::new(self.text.as_bytes()),
                    format,
                ));
            }
        };
        Ok(DirectoryStream::new(bytes, format))
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
        let format = match self
            .format
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => None,
            Some("csv") => Some(DirectoryFormat::Csv),
            Some("ldif") => Some(DirectoryFormat::Ldif),
            Some(other) => {
                return Err(Error::BadInput(format!(
                    "unknown directory format '{other}': use csv or ldif"
                )));
            }
        };
        let mut stream = self.stream(format)?;
        let read;
        let refused = |e: DirectoryFileError| Error::BadInput(format!("{}: {e}", self.source));
        let (summary, preview, counts) = if self.dry_run {
            let mut preview = Preview::new(&ctx.store);
            while let Some(entry) = stream.next_user() {
                preview.add(UserRecord::from(entry))?;
            }
            read = (stream.format(), stream.encoding());
            let counts = stream.finish().map_err(refused)?;
            let (summary, preview) = preview.finish()?;
            (summary, Some(preview), counts)
        } else {
            // Users are written as they are read; a problem anywhere in the file, found
            // later, undoes them all (the import is all or nothing).
            let mut import = ctx.store.begin_import(ctx.clock.now_us())?;
            let mut failed = None;
            while let Some(entry) = stream.next_user() {
                if failed.is_none() {
                    failed = import.add(UserRecord::from(entry)).err();
                }
            }
            read = (stream.format(), stream.encoding());
            // The file's problems come first: a conflict in a file that has them is not
            // the news.
            let counts = match stream.finish() {
                Ok(counts) => counts,
                Err(e) => {
                    import.abandon();
                    return Err(refused(e));
                }
            };
            if let Some(e) = failed {
                import.abandon();
                return Err(e.into());
            }
            let (summary, _) = import.finish_with(&counts.groups)?;
            (summary, None, counts)
        };
        Ok(ImportReport {
            source: self.source.clone(),
            format: match read.0 {
                DirectoryFormat::Csv => "csv",
                DirectoryFormat::Ldif => "ldif",
            }
            .into(),
            encoding: read.1.name().into(),
            users: counts.users,
            skipped_non_users: counts.skipped,
            groups: counts.groups.groups.len(),
            summary,
            preview,
        })
    }
}

/// What `import_users` would do with a file's users, read from the store without
/// writing, a user at a time. (An address that belongs to another user is found only by
/// the import itself.)
struct Preview<'a> {
    store: &'a Store,
    p: ImportPreview,
    /// Hashes of the legacyDN keys the file names (16 bytes a user), to find the stored
    /// users it does not.
    named: Vec<u128>,
    known_groups: HashSet<String>,
    new_groups: BTreeSet<String>,
}

impl Preview<'_> {
    fn new(store: &Store) -> Preview<'_> {
        Preview {
            store,
            p: ImportPreview::default(),
            named: Vec::new(),
            known_groups: HashSet::new(),
            new_groups: BTreeSet::new(),
        }
    }

    fn add(&mut self, u: UserRecord) -> Result<(), Error> {
        let key = u.legacy_dn.key();
        match self.store.find_user(&UserAddress::Ex(key.clone()))? {
            None => self.p.added.push(|| who(&u)),
            Some(old) if old == u => self.p.unchanged.push(|| who(&u)),
            Some(old) => self
                .p
                .changed
                .push(|| format!("{}: {}", who(&u), differences(&old, &u))),
        }
        let group = u.legacy_dn.admin_group();
        if self.known_groups.insert(group.key()) && self.store.folder(&group)?.is_none() {
            self.new_groups.insert(group.as_str().to_string());
        }
        self.named.push(hash128(key.as_str()));
        Ok(())
    }

    fn finish(mut self) -> Result<(ImportSummary, ImportPreview), Error> {
        self.named.sort_unstable();
        // The stored users the file does not name, in legacyDN order: all counted, the
        // first few kept.
        let mut gone: Vec<UserRecord> = Vec::new();
        let mut count = 0;
        self.store.each_user(|u| {
            if self
                .named
                .binary_search(&hash128(u.legacy_dn.key().as_str()))
                .is_err()
            {
                count += 1;
                // Kept in legacyDN order (the store's is by folded key), the first few only.
                let at = gone.partition_point(|g| g.legacy_dn.as_str() <= u.legacy_dn.as_str());
                if at < DryRunList::SHOWN {
                    gone.insert(at, u);
                    gone.truncate(DryRunList::SHOWN);
                }
            }
        })?;
        for u in &gone {
            self.p.removed.push(|| who(u));
        }
        self.p.removed.count = count;
        let summary = ImportSummary {
            added: self.p.added.count,
            updated: self.p.changed.count,
            unchanged: self.p.unchanged.count,
            folders_created: self.new_groups.len(),
        };
        Ok((summary, self.p))
    }
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
