//! Replication: this server in a topology of free/busy servers.
//!
//! Owns [`TopologySettings`] (the server's name, organization and replicas, its peers and
//! Exchsync links, as configured), [`Topology`] (those settings and what the peers last said
//! they hold), the serving side of the replication endpoint ([`Topology::changes_page`],
//! [`Topology::accept_push`]: the store's change log put on the wire and back), and the
//! rounds: every `replication_interval` this server asks each peer for the changes made
//! since the peer's high-water mark ([`pull_from`]), applies them, and only then stores
//! the new mark, so that a crash of either side resumes where the last durable page ended
//! and nothing unstored is ever counted as done. [`exchsync`] is the one-way push between
//! organizations.
//!
//! Outbound HTTP is ureq (as `availability::client`), one JSON document each way. Must not
//! touch HTTP types of the transport or sled.

pub mod exchsync;

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use tokio::sync::watch;

use crate::protocol::legacy_dn::{AdminGroup, Subject};
use crate::protocol::replica::{
    ChangesPage, ChangesRequest, Holder, PushReport, PushRequest, ReplicaSet, SECRET_HEADER,
    WireChange,
};
use crate::store::{Applied, LoggedChange, RemoteChange, Store, StoreError, codec};

/// `replication_interval`'s default: Exchange's public-folder replication schedule.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// `exchsync_interval`'s default: the Inter-Organization Replication tool's.
pub const DEFAULT_EXCHSYNC_INTERVAL: Duration = Duration::from_secs(30 * 60);
/// `organization`'s default: Exchange 2003's first organization.
pub const DEFAULT_ORGANIZATION: &str = "First Organization";
/// The server name when the host's is unknown.
pub const FALLBACK_SERVER_NAME: &str = "SCHEDPLUS";

/// Changes per page, each way.
pub const PAGE: usize = 500;
/// Time one request to a peer may take.
const PEER_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest answer read from a peer.
const MAX_ANSWER: u64 = 64 * 1024 * 1024;

/// A server of this organization that replicates with this one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub name: String,
    /// `http://host:port`
    pub url: String,
}

/// An Exchsync link: this server pushes the link's folders to a server of another
/// organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub name: String,
    pub url: String,
    pub folders: ReplicaSet,
}

/// The topology settings, as configured: who this server is, what it holds, and its two
/// ways of exchanging changes.
#[derive(Clone, Debug)]
pub struct TopologySettings {
    pub server_name: String,
    pub organization: String,
    pub replicas: ReplicaSet,
    /// Within the organization: `replication_*`.
    pub replication: ReplicationSettings,
    /// To other organizations: `exchsync_*`.
    pub exchsync: ExchsyncSettings,
}

/// Replication with peers of the same organization (`replication_peers`,
/// `replication_interval`, `replication_secret`).
#[derive(Clone, Debug)]
pub struct ReplicationSettings {
    pub peers: Vec<Peer>,
    pub interval: Duration,
    /// Without it the replication endpoint refuses everything and no peer is asked.
    pub secret: Option<String>,
}

/// Exchsync links to servers of other organizations (`exchsync_links`,
/// `exchsync_interval`, `exchsync_secret`).
#[derive(Clone, Debug)]
pub struct ExchsyncSettings {
    pub links: Vec<Link>,
    pub interval: Duration,
    /// The destinations' replication secret (default: the replication secret).
    pub secret: Option<String>,
}

impl Default for TopologySettings {
    fn default() -> Self {
        TopologySettings {
            server_name: default_server_name(),
            organization: DEFAULT_ORGANIZATION.to_string(),
            replicas: ReplicaSet::all(),
            replication: ReplicationSettings::default(),
            exchsync: ExchsyncSettings::default(),
        }
    }
}

impl Default for ReplicationSettings {
    fn default() -> Self {
        ReplicationSettings {
            peers: Vec::new(),
            interval: DEFAULT_INTERVAL,
            secret: None,
        }
    }
}

impl Default for ExchsyncSettings {
    fn default() -> Self {
        ExchsyncSettings {
            links: Vec::new(),
            interval: DEFAULT_EXCHSYNC_INTERVAL,
            secret: None,
        }
    }
}

impl ReplicationSettings {
    /// The replication secret, if one is set and not empty: without one, replication is
    /// off (the endpoint refuses every request, and no peer is asked).
    pub fn configured_secret(&self) -> Option<&str> {
        self.secret.as_deref().filter(|s| !s.is_empty())
    }
}

impl TopologySettings {
    /// The secret Exchsync sessions send their destinations: `exchsync_secret`, else
    /// `replication_secret`; empty when neither is set.
    pub fn link_secret(&self) -> &str {
        self.exchsync
            .secret
            .as_deref()
            .or(self.replication.configured_secret())
            .unwrap_or_default()
    }
}

/// The machine's host name in capitals, as Exchange named its servers; `SCHEDPLUS` when it
/// cannot be read.
pub fn default_server_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().split('.').next().unwrap_or("").to_uppercase())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| FALLBACK_SERVER_NAME.to_string())
}

fn check_url(url: &str, what: &str) -> Result<String, String> {
    let u = url.trim().trim_end_matches('/');
    if !u.starts_with("http://") || u.len() <= "http://".len() {
        return Err(format!(
            "{what} has the URL '{u}': write it http://host:port"
        ));
    }
    Ok(u.to_string())
}

fn check_name(name: &str, entry: &str) -> Result<String, String> {
    let n = name.trim();
    if n.is_empty() || n.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "'{entry}' has no name, or one with spaces, before its URL"
        ));
    }
    Ok(n.to_string())
}

/// `replication_peers`: `NAME=http://host:port;…`.
pub fn parse_peers(list: &str) -> Result<Vec<Peer>, String> {
    let mut peers = Vec::new();
    for entry in list.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, url) = entry
            .split_once('=')
            .ok_or_else(|| format!("'{entry}' is not NAME=http://host:port"))?;
        let name = check_name(name, entry)?;
        if peers
            .iter()
            .any(|p: &Peer| p.name.eq_ignore_ascii_case(&name))
        {
            return Err(format!("the peer {name} is listed twice"));
        }
        peers.push(Peer {
            url: check_url(url, &format!("the peer {name}"))?,
            name,
        });
    }
    Ok(peers)
}

/// `exchsync_links`: `NAME|http://host:port|FOLDERS;…`, FOLDERS `*` or a `,`-list of
/// admin-group folder names.
pub fn parse_links(list: &str) -> Result<Vec<Link>, String> {
    let mut links = Vec::new();
    for entry in list.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let parts: Vec<&str> = entry.split('|').collect();
        let [name, url, folders] = parts[..] else {
            return Err(format!(
                "'{entry}' is not NAME|http://host:port|FOLDERS (FOLDERS: * or EX:/o=…/ou=…,…)"
            ));
        };
        let name = check_name(name, entry)?;
        let folders = match folders.trim() {
            "*" => ReplicaSet::all(),
            list => {
                let set = ReplicaSet::parse(&list.replace(',', ";"))
                    .map_err(|e| format!("the link {name}: {e}"))?;
                if set.is_all() {
                    return Err(format!("the link {name} lists no folders: write * for all"));
                }
                set
            }
        };
        links.push(Link {
            url: check_url(url, &format!("the link {name}"))?,
            name,
            folders,
        });
    }
    Ok(links)
}

/// This server in its topology: the settings, and the replicas each peer last reported.
pub struct Topology {
    pub settings: TopologySettings,
    /// Peer name → the folders it said it holds (its answer to our last request).
    known: Mutex<BTreeMap<String, ReplicaSet>>,
}

impl Topology {
    pub fn new(settings: TopologySettings) -> Arc<Topology> {
        Arc::new(Topology {
            settings,
            known: Mutex::new(BTreeMap::new()),
        })
    }

    pub fn name(&self) -> &str {
        &self.settings.server_name
    }

    pub fn holds(&self, folder: &AdminGroup) -> bool {
        self.settings.replicas.holds(folder)
    }

    /// The peers known to hold a replica of `folder`, in the configured order.
    pub fn holders(&self, folder: &AdminGroup) -> Vec<Holder> {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        self.settings
            .replication
            .peers
            .iter()
            .filter(|p| known.get(&p.name).is_some_and(|r| r.holds(folder)))
            .map(|p| Holder {
                name: p.name.clone(),
                url: p.url.clone(),
            })
            .collect()
    }

    fn note_peer(&self, name: &str, replicas: ReplicaSet) {
        self.known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), replicas);
    }

    /// Is `given` the replication secret? Always false without one configured.
    pub fn secret_ok(&self, given: Option<&[u8]>) -> bool {
        match (self.settings.replication.configured_secret(), given) {
            (Some(s), Some(g)) => crate::auth::constant_time_eq(g, s.as_bytes()),
            _ => false,
        }
    }

    /// The answer to a peer's [`ChangesRequest`]: this store's changes after `since`, of
    /// folders both servers hold.
    pub fn changes_page(
        &self,
        store: &Store,
        req: &ChangesRequest,
    ) -> Result<ChangesPage, StoreError> {
        let theirs = ReplicaSet::from_names(req.folders.as_deref());
        let ours = &self.settings.replicas;
        let scan = store.changes_since(req.since, req.limit.clamp(1, PAGE), |key| {
            ours.holds_key(key) && theirs.holds_key(key)
        })?;
        let changes = scan
            .changes
            .iter()
            .map(|c| to_wire(self.name(), c))
            .collect::<Result<_, _>>()?;
        Ok(ChangesPage {
            server: self.settings.server_name.clone(),
            organization: self.settings.organization.clone(),
            replicas: ours.names(),
            next: scan.next,
            more: scan.more,
            latest: scan.latest,
            changes,
        })
    }

    /// Apply an Exchsync session's page, as changes from a replication peer, and count
    /// them as Exchsync did. Changes are written, then made durable before the answer.
    pub fn accept_push(&self, store: &Store, req: &PushRequest) -> Result<PushReport, StoreError> {
        let mut report = PushReport::default();
        // Changes that do not read are errors; the others apply as one page.
        let decoded: Vec<_> = req.changes.iter().map(from_wire).collect();
        let valid: Vec<RemoteChange> = decoded.iter().flatten().cloned().collect();
        let mut applied = store.apply_remote_page(self.name(), &valid)?.into_iter();
        for (w, d) in req.changes.iter().zip(&decoded) {
            let outcome = match d {
                Ok(_) => applied.next().expect("one outcome per change"),
                Err(e) => Err(StoreError::Conflict(e.clone())),
            };
            let counts = if w.version.subject.is_empty() {
                [
                    &mut report.folder_changes,
                    &mut report.folder_deletions,
                    &mut report.folder_ignores,
                    &mut report.folder_errors,
                ]
            } else {
                [
                    &mut report.message_changes,
                    &mut report.message_deletions,
                    &mut report.message_ignores,
                    &mut report.message_errors,
                ]
            };
            let which = match outcome {
                Ok(Applied::Deleted) => 1,
                Ok(Applied::Ignored | Applied::Conflict { stored: false, .. }) => 2,
                Ok(_) => 0,
                Err(e) => {
                    tracing::warn!(session = %req.session, from = %req.from, folder = %w.version.folder, subject = %w.version.subject, error = %e, "Exchsync change not applied");
                    3
                }
            };
            *counts[which] += 1;
        }
        store.sync()?;
        Ok(report)
    }
}

/// A logged change as it goes on the wire: this store's own vector entry and origin under
/// `server`, the message record as the store's bytes in base64.
pub fn to_wire(server: &str, c: &LoggedChange) -> Result<WireChange, StoreError> {
    let name = |n: &str| {
        if n.is_empty() {
            server.to_string()
        } else {
            n.to_string()
        }
    };
    let v = &c.version;
    let record = match &c.record {
        Some(r) => {
            Some(base64::engine::general_purpose::STANDARD.encode(codec::encode_message(r)?))
        }
        None => None,
    };
    Ok(WireChange {
        version: crate::protocol::replica::Version {
            origin: name(&v.origin),
            vv: v.vv.iter().map(|(k, n)| (name(k), *n)).collect(),
            ..v.clone()
        },
        record,
    })
}

/// A change from the wire, checked: its names parse and its record decodes.
pub fn from_wire(w: &WireChange) -> Result<RemoteChange, String> {
    let v = &w.version;
    let folder = AdminGroup::parse(&v.folder).map_err(|e| e.to_string())?;
    let subject = if v.subject.is_empty() {
        None
    } else {
        Some(Subject::parse(&v.subject).map_err(|e| e.to_string())?)
    };
    let record = match &w.record {
        Some(b64) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("the record of {} is not base64: {e}", v.subject))?;
            Some(
                codec::decode_message(&bytes)
                    .map_err(|e| format!("the record of {}: {e}", v.subject))?,
            )
        }
        None => None,
    };
    if subject.is_some() && !v.deleted && record.is_none() {
        return Err(format!("the change of {} carries no message", v.subject));
    }
    Ok(RemoteChange {
        folder,
        subject,
        stamp_us: v.stamp_us,
        origin: v.origin.clone(),
        vv: v.vv.clone(),
        deleted: v.deleted,
        record,
    })
}

/// One agent for every peer request of this process (its pool keeps connections).
fn agent() -> ureq::Agent {
    static AGENT: std::sync::OnceLock<ureq::Agent> = std::sync::OnceLock::new();
    AGENT
        .get_or_init(|| {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(PEER_TIMEOUT))
                .max_redirects(0)
                .user_agent("schedplus-replication")
                .build()
                .into()
        })
        .clone()
}

/// POST `body` as JSON to `url` with the secret; the answer's JSON, or why not.
pub fn post_json<T: serde::Serialize, R: serde::de::DeserializeOwned>(
    url: &str,
    secret: &str,
    body: &T,
) -> Result<R, String> {
    let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let resp = agent()
        .post(url)
        .header(SECRET_HEADER, secret)
        .content_type("application/json")
        .send(&bytes[..])
        .map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    resp.into_body()
        .into_with_config()
        .limit(MAX_ANSWER)
        .reader()
        .read_to_end(&mut body)
        .map_err(|e| format!("{url}: {e}"))?;
    if status != 200 {
        let text = String::from_utf8_lossy(&body);
        return Err(format!(
            "{url} answered {status}: {}",
            text.lines().next().unwrap_or("")
        ));
    }
    serde_json::from_slice(&body).map_err(|e| format!("{url} answered what is not its JSON: {e}"))
}

/// What a round with one peer did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RoundReport {
    pub stored: u64,
    pub deleted: u64,
    pub folders: u64,
    pub ignored: u64,
    pub conflicts: u64,
    /// Pages fetched.
    pub pages: u64,
    /// Age of the oldest change applied (s; 0 when none).
    pub lag_seconds: f64,
    /// The peer's change number reached.
    pub mark: u64,
}

impl RoundReport {
    pub fn applied(&self) -> u64 {
        self.stored + self.deleted + self.folders
    }
}

/// The mark under which the changes of `peer` applied here are remembered.
pub fn peer_mark(peer: &str) -> String {
    format!("repl:{peer}")
}

/// Pull from `peer` everything changed since its mark, page by page: each page is applied,
/// then the mark set (durably, after the page's writes). A failure ends the round with the
/// mark of the last whole page, so the next round resumes there.
pub fn pull_from(
    topology: &Topology,
    store: &Store,
    peer: &Peer,
    now_us: i64,
) -> Result<RoundReport, String> {
    let secret = topology
        .settings
        .replication
        .configured_secret()
        .unwrap_or_default();
    let mark_name = peer_mark(&peer.name);
    let mut report = RoundReport {
        mark: store.mark(&mark_name).map_err(|e| e.to_string())?,
        ..Default::default()
    };
    let mut oldest: Option<i64> = None;
    loop {
        let req = ChangesRequest {
            from: topology.settings.server_name.clone(),
            since: report.mark,
            limit: PAGE,
            folders: topology.settings.replicas.names(),
        };
        let page: ChangesPage =
            post_json(&format!("{}/replication/changes", peer.url), secret, &req)?;
        report.pages += 1;
        topology.note_peer(&peer.name, ReplicaSet::from_names(page.replicas.as_deref()));
        if page.latest < report.mark {
            // The peer's log is behind what we applied of it: its store was replaced (a
            // new data directory, a restore). Its change numbers start again: so do we.
            tracing::warn!(
                peer = %peer.name, mark = report.mark, latest = page.latest,
                "the peer's change numbers went back (its store was replaced?): replicating it again from the start"
            );
            report.mark = 0;
            continue;
        }
        let changes = page
            .changes
            .iter()
            .map(|w| from_wire(w).map_err(|e| format!("{}: {e}", peer.name)))
            .collect::<Result<Vec<_>, _>>()?;
        let applied = store
            .apply_remote_page(topology.name(), &changes)
            .map_err(|e| e.to_string())?;
        for (w, outcome) in page.changes.iter().zip(applied) {
            let v = &w.version;
            match outcome.map_err(|e| format!("{} {}: {e}", v.folder, v.subject))? {
                Applied::Stored => report.stored += 1,
                Applied::Deleted => report.deleted += 1,
                Applied::FolderCreated => report.folders += 1,
                Applied::Ignored => {
                    report.ignored += 1;
                    continue;
                }
                Applied::Conflict {
                    winner,
                    loser,
                    stored,
                } => {
                    report.conflicts += 1;
                    if stored {
                        report.stored += 1;
                    }
                    tracing::warn!(
                        peer = %peer.name, folder = %v.folder, subject = %v.subject,
                        %winner, %loser,
                        "replication conflict: the message was changed on both servers since they last agreed; the later write (then the greater server name) wins, the loser's change is dropped"
                    );
                }
            }
            oldest = Some(oldest.map_or(v.stamp_us, |o| o.min(v.stamp_us)));
        }
        // Only now, after the page's writes, the mark: written after them, made durable
        // with them.
        store
            .set_mark(&mark_name, page.next)
            .map_err(|e| e.to_string())?;
        report.mark = page.next;
        if !page.more {
            break;
        }
    }
    report.lag_seconds = oldest.map_or(0.0, |o| ((now_us - o).max(0) as f64) / 1e6);
    Ok(report)
}

/// One replication round: every peer, one after the other; each logged and counted.
pub fn round(topology: &Topology, store: &Store, now_us: i64) {
    for peer in &topology.settings.replication.peers {
        let started = Instant::now();
        match pull_from(topology, store, peer, now_us) {
            Ok(r) => {
                crate::app::metrics::replication_round(
                    &peer.name,
                    r.applied(),
                    r.ignored,
                    r.conflicts,
                    r.lag_seconds,
                );
                let log = r.applied() + r.conflicts > 0;
                let fields = (r.stored, r.deleted, r.folders, r.ignored, r.conflicts);
                let ms = started.elapsed().as_millis() as u64;
                if log {
                    tracing::info!(
                        peer = %peer.name, stored = fields.0, deleted = fields.1,
                        folders = fields.2, ignored = fields.3, conflicts = fields.4,
                        lag_s = r.lag_seconds, mark = r.mark, pages = r.pages, ms,
                        "replication round"
                    );
                } else {
                    tracing::debug!(peer = %peer.name, ignored = fields.3, mark = r.mark, ms, "replication round: nothing new");
                }
            }
            Err(e) => {
                crate::app::metrics::replication_failed(&peer.name);
                tracing::warn!(peer = %peer.name, url = %peer.url, error = %e, "replication round failed; the next round resumes from the last page stored");
            }
        }
    }
}

/// Run `work` every `interval` on the store threads until `stop`; the first run at once.
pub(crate) fn every(
    interval: Duration,
    mut stop: watch::Receiver<bool>,
    work: impl Fn() + Send + Sync + 'static,
) -> tokio::task::JoinHandle<()> {
    let work = Arc::new(work);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
            let w = work.clone();
            if tokio::task::spawn_blocking(move || w()).await.is_err() {
                tracing::error!("a replication round panicked; the next one runs at its time");
            }
        }
    })
}

/// Start the replication rounds and the Exchsync sessions, as configured (none without
/// peers or links, or without a secret); `now_us` is the clock.
pub fn spawn(
    topology: Arc<Topology>,
    store: Store,
    now_us: impl Fn() -> i64 + Send + Sync + Clone + 'static,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let s = &topology.settings;
    crate::app::metrics::server_identity(
        &s.server_name,
        &s.organization,
        s.replicas.names().as_deref(),
    );
    let mut tasks = Vec::new();
    if !s.replication.peers.is_empty() {
        if s.replication.configured_secret().is_none() {
            tracing::warn!(
                "replication_peers is set but replication_secret is not: no peer is asked"
            );
        } else {
            let (t, st, now) = (topology.clone(), store.clone(), now_us.clone());
            tasks.push(every(s.replication.interval, stop.clone(), move || {
                round(&t, &st, now())
            }));
        }
    }
    if !s.exchsync.links.is_empty() {
        if s.link_secret().is_empty() {
            tracing::warn!(
                "exchsync_links is set but neither exchsync_secret nor replication_secret is: each link's destination will refuse its sessions (403); set the secret the destination has as its replication_secret"
            );
        }
        let (t, st) = (topology.clone(), store);
        tasks.push(every(s.exchsync.interval, stop, move || {
            exchsync::sessions(&t, &st)
        }));
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_and_links_parse_and_name_what_is_wrong() {
        let p = parse_peers(" FB02=http://127.0.0.1:8082/ ; FB03=http://h:1").unwrap();
        assert_eq!(p[0].name, "FB02");
        assert_eq!(p[0].url, "http://127.0.0.1:8082");
        assert_eq!(p.len(), 2);
        assert!(parse_peers("").unwrap().is_empty());
        assert!(parse_peers("FB02").unwrap_err().contains("'FB02'"));
        assert!(parse_peers("FB02=ftp://x").unwrap_err().contains("ftp://x"));
        assert!(
            parse_peers("A=http://x;a=http://y")
                .unwrap_err()
                .contains("twice")
        );
        let l = parse_links("TOB|http://127.0.0.1:9000|EX:/o=A/ou=B,EX:/o=A/ou=C;ALL|http://h:1|*")
            .unwrap();
        assert!(
            l[0].folders
                .holds(&AdminGroup::parse("EX:/o=A/ou=C").unwrap())
        );
        assert!(
            !l[0]
                .folders
                .holds(&AdminGroup::parse("EX:/o=A/ou=D").unwrap())
        );
        assert!(l[1].folders.is_all());
        assert!(parse_links("TOB|http://h:1").unwrap_err().contains("NAME|"));
        assert!(
            parse_links("TOB|http://h:1|junk")
                .unwrap_err()
                .contains("junk")
        );
    }

    /// Exchsync's counts at the destination: a first push is changes, the same push again
    /// is ignores, a change that does not parse is an error (and the rest still applies).
    #[test]
    fn a_push_counts_changes_ignores_and_errors_as_exchsync_did() {
        use crate::store::testutil::{message, stamp, temp_store};
        let (_d1, src) = temp_store();
        let (_d2, dst) = temp_store();
        for alias in ["a", "b"] {
            src.publish(&message(alias, 60), stamp()).unwrap();
        }
        let scan = src.changes_since(0, PAGE, |_| true).unwrap();
        let mut push = PushRequest {
            from: "SRC".into(),
            session: "TOB".into(),
            changes: scan
                .changes
                .iter()
                .map(|c| to_wire("SRC", c).unwrap())
                .collect(),
            ..Default::default()
        };
        let t = Topology::new(TopologySettings {
            server_name: "DST".into(),
            ..Default::default()
        });
        let first = t.accept_push(&dst, &push).unwrap();
        assert_eq!((first.message_changes, first.folder_changes), (2, 1));
        let mut broken = push.changes[1].clone();
        broken.record = Some("not base64!".into());
        push.changes.push(broken);
        let again = t.accept_push(&dst, &push).unwrap();
        assert_eq!(
            (
                again.message_ignores,
                again.folder_ignores,
                again.message_errors
            ),
            (2, 1, 1)
        );
        assert_eq!(again.message_changes + again.folder_changes, 0);
        assert_eq!(dst.stats().messages, 2);
    }

    #[test]
    fn the_secret_is_required_and_compared_whole() {
        let open = Topology::new(TopologySettings::default());
        assert!(!open.secret_ok(Some(b"")));
        assert!(!open.secret_ok(None));
        let t = Topology::new(TopologySettings {
            replication: ReplicationSettings {
                secret: Some("s3cret".into()),
                ..Default::default()
            },
            ..Default::default()
        });
        assert!(t.secret_ok(Some(b"s3cret")));
        assert!(!t.secret_ok(Some(b"s3cre")));
        assert!(!t.secret_ok(None));
    }
}
