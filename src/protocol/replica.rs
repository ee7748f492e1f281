//! Replicas and replication on the wire: which admin-group folders a server holds
//! ([`ReplicaSet`]), the answer Exchange gave for a folder with no replica on the server
//! asked ([`no_replica_body`]), and the JSON documents schedplus servers exchange when
//! they replicate ([`ChangesRequest`], [`ChangesPage`], [`WireChange`], [`PushRequest`],
//! [`PushReport`]).
//!
//! Pure: no I/O. A message travels as its store record's bytes (base64), which only the
//! store's codec reads; this module carries them unread.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::legacy_dn::{AdminGroup, DnError};

/// The admin-group folders a server holds replicas of: all (the default, one server holding
/// everything) or the listed ones, matched case-insensitively as the store matches them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaSet {
    /// `None`: every folder.
    only: Option<BTreeSet<String>>,
    /// The names as written, for pages and answers.
    names: Vec<String>,
}

impl ReplicaSet {
    /// Every folder.
    pub fn all() -> ReplicaSet {
        ReplicaSet::default()
    }

    /// `EX:/o=Org/ou=AG1;EX:/o=Org/ou=AG2` (empty: every folder). A name that is not an
    /// admin-group folder name is an error naming it.
    pub fn parse(list: &str) -> Result<ReplicaSet, DnError> {
        let mut set = ReplicaSet::default();
        for name in list.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let ag = AdminGroup::parse(name)?;
            if set.only.get_or_insert_with(BTreeSet::new).insert(ag.key()) {
                set.names.push(ag.as_str().to_string());
            }
        }
        Ok(set)
    }

    /// From the names a peer reported (`None`: all).
    pub fn from_names(names: Option<&[String]>) -> ReplicaSet {
        let Some(names) = names else {
            return ReplicaSet::all();
        };
        let list = names.join(";");
        ReplicaSet::parse(&list).unwrap_or_default()
    }

    pub fn is_all(&self) -> bool {
        self.only.is_none()
    }

    /// Does this server hold a replica of `folder`?
    pub fn holds(&self, folder: &AdminGroup) -> bool {
        self.holds_key(&folder.key())
    }

    /// [`ReplicaSet::holds`] for a folder key (lower case), as the store keeps it.
    pub fn holds_key(&self, key: &str) -> bool {
        self.only.as_ref().is_none_or(|s| s.contains(key))
    }

    /// The folder names as written (`None`: all), for the wire.
    pub fn names(&self) -> Option<Vec<String>> {
        self.only.as_ref().map(|_| self.names.clone())
    }

    /// For pages and logs: `all folders` or the names joined by `; `.
    pub fn describe(&self) -> String {
        match &self.only {
            None => "all folders".to_string(),
            Some(_) if self.names.is_empty() => "no folders".to_string(),
            Some(_) => self.names.join("; "),
        }
    }
}

/// A server that holds a replica, as far as this one knows: its name and URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub name: String,
    pub url: String,
}

/// The body of the 503 answered for a folder this server holds no replica of.
///
/// Exchange failed such a request with `ecNoReplicaHere` (0x468) and told the client where
/// replicas are (MS-OXCSTOR 2.2.1.6 RopGetOwningServers; KB 813152, a referral to a server
/// of the site that holds one); over HTTP the public store answered 503. The body says the
/// same in words: which folder, which server was asked, which servers hold a replica if
/// known. Plain text, one fact a line, so a lab admin and a script can both read it.
pub fn no_replica_body(folder: &str, server: &str, holders: &[Holder]) -> String {
    let mut out = format!(
        "503 Service Unavailable: no replica of the public folder '{folder}' is on this server ({server}) (ecNoReplicaHere, 0x468).\n"
    );
    if holders.is_empty() {
        out.push_str("Servers holding a replica: none known to this server.\n");
    } else {
        out.push_str("Servers holding a replica:\n");
        for h in holders {
            out.push_str(&format!("  {} {}\n", h.name, h.url));
        }
    }
    out
}

/// The header that carries the shared replication secret.
pub const SECRET_HEADER: &str = "x-schedplus-replication-secret";

/// `POST /replication/changes`: what a peer asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangesRequest {
    /// The asking server's name (for the log).
    pub from: String,
    /// Changes after this change number of the server asked.
    pub since: u64,
    /// At most this many changes in the answer.
    pub limit: usize,
    /// The folders the asking server holds (`None`: all); changes of others are left out.
    pub folders: Option<Vec<String>>,
}

/// The newest version of one message (or folder): what a server's change log keeps of it,
/// and what travels with the message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// The change number of the server that logged it.
    pub cn: u64,
    /// The admin-group folder name, as written.
    pub folder: String,
    /// The message subject as written; empty for the folder itself.
    pub subject: String,
    /// When the change was made on its origin server (µs since 1970).
    pub stamp_us: i64,
    /// The server where the change was made (in a store's own log: empty for itself).
    pub origin: String,
    /// What every server had written of this message when the change was made: server
    /// name → that server's change number (a version vector).
    pub vv: Vec<(String, u64)>,
    pub deleted: bool,
}

/// One change on the wire: a version, and the message's store record (base64; absent for
/// a deletion or a folder).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireChange {
    #[serde(flatten)]
    pub version: Version,
    pub record: Option<String>,
}

/// The answer to a [`ChangesRequest`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangesPage {
    pub server: String,
    pub organization: String,
    /// The folders the answering server holds (`None`: all).
    pub replicas: Option<Vec<String>>,
    /// The change number to ask from next time (the last one looked at).
    pub next: u64,
    /// More changes wait after `next`.
    pub more: bool,
    /// The newest change number of the answering server (for the lag).
    pub latest: u64,
    pub changes: Vec<WireChange>,
}

/// `POST /replication/push`: an Exchsync session's changes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRequest {
    pub from: String,
    pub organization: String,
    pub session: String,
    pub changes: Vec<WireChange>,
}

/// What the destination did with a push: Exchsync's event-107 counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushReport {
    pub message_changes: u64,
    pub message_deletions: u64,
    pub message_ignores: u64,
    pub message_errors: u64,
    pub folder_changes: u64,
    pub folder_deletions: u64,
    pub folder_ignores: u64,
    pub folder_errors: u64,
}

impl PushReport {
    /// Add another page's counts.
    pub fn add(&mut self, o: &PushReport) {
        self.message_changes += o.message_changes;
        self.message_deletions += o.message_deletions;
        self.message_ignores += o.message_ignores;
        self.message_errors += o.message_errors;
        self.folder_changes += o.folder_changes;
        self.folder_deletions += o.folder_deletions;
        self.folder_ignores += o.folder_ignores;
        self.folder_errors += o.folder_errors;
    }

    /// The counts by Exchsync's names, in its order.
    pub fn counts(&self) -> [(&'static str, u64); 8] {
        [
            ("Message Changes", self.message_changes),
            ("Message Deletions", self.message_deletions),
            ("Message Ignores", self.message_ignores),
            ("Message Errors", self.message_errors),
            ("Folder Changes", self.folder_changes),
            ("Folder Deletions", self.folder_deletions),
            ("Folder Ignores", self.folder_ignores),
            ("Folder Errors", self.folder_errors),
        ]
    }

    /// Exchsync's event 107, as it logged it at the end of a session.
    pub fn event_107(&self, session: &str) -> String {
        let counts: Vec<String> = self
            .counts()
            .iter()
            .map(|(name, n)| format!("{n} {name}"))
            .collect();
        format!(
            "Statistics for Free/Busy replication session '{session}' [{}]",
            counts.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_sets_match_folders_in_any_case() {
        let s = ReplicaSet::parse("EX:/o=Org/ou=AG1; ex:/O=org/OU=ag1 ;EX:/o=Org/ou=AG2").unwrap();
        assert!(s.holds(&AdminGroup::parse("EX:/o=ORG/ou=ag2").unwrap()));
        assert!(!s.holds(&AdminGroup::parse("EX:/o=Org/ou=AG3").unwrap()));
        assert_eq!(s.describe(), "EX:/o=Org/ou=AG1; EX:/o=Org/ou=AG2");
        assert!(ReplicaSet::parse("").unwrap().is_all());
        assert!(ReplicaSet::parse("").unwrap().holds_key("anything"));
        let err = ReplicaSet::parse("EX:/o=Org/ou=AG1;nonsense").unwrap_err();
        assert!(err.to_string().contains("nonsense"), "{err}");
        assert_eq!(ReplicaSet::from_names(s.names().as_deref()), s);
    }

    #[test]
    fn the_no_replica_body_names_the_folder_and_the_holders() {
        let body = no_replica_body(
            "EX:/o=Org/ou=AG2",
            "FB01",
            &[Holder {
                name: "FB02".into(),
                url: "http://127.0.0.1:8082".into(),
            }],
        );
        assert!(body.contains("'EX:/o=Org/ou=AG2'") && body.contains("(FB01)"));
        assert!(body.contains("FB02 http://127.0.0.1:8082"));
        assert!(no_replica_body("EX:/o=O/ou=A", "FB01", &[]).contains("none known"));
    }

    #[test]
    fn event_107_reads_as_exchsync_wrote_it() {
        let r = PushReport {
            message_changes: 81,
            message_ignores: 690,
            ..Default::default()
        };
        assert_eq!(
            r.event_107("NAME"),
            "Statistics for Free/Busy replication session 'NAME' [81 Message Changes, 0 Message Deletions, 690 Message Ignores, 0 Message Errors, 0 Folder Changes, 0 Folder Deletions, 0 Folder Ignores, 0 Folder Errors]"
        );
    }
}
