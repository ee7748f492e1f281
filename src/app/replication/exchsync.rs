//! Exchsync: the Inter-Organization Replication tool's free/busy sessions, one way.
//!
//! A link runs on the source server. Every `exchsync_interval` a session pushes the
//! changes of the link's folders made since the link's high-water mark (a mark of this
//! store's change numbers, `xsync:NAME`) to the destination, a server of another
//! organization, page by page (`POST /replication/push` with the destination's replication
//! secret). The destination applies them as it applies a replication peer's, under the
//! same folder and message names (the source organization's legacyDNs: its users appear
//! there as contacts with the source's legacyDN), makes them durable, and answers with the
//! counts; only then does the source store its mark. At the end of a session the source
//! logs Exchsync's event 107 with the counts and adds them to the metrics. Two-way
//! replication takes two links, one on each side, as in Exchange.

use super::{PAGE, Topology, post_json, to_wire};
use crate::protocol::replica::{PushReport, PushRequest, ReplicaSet};
use crate::store::Store;

/// The mark of the changes a link has pushed.
pub fn link_mark(link: &str) -> String {
    format!("xsync:{link}")
}

/// Push one link's changes since its mark; the session's counts.
pub fn session(
    topology: &Topology,
    store: &Store,
    link: &super::Link,
) -> Result<PushReport, String> {
    let s = &topology.settings;
    let secret = s.link_secret();
    let mark_name = link_mark(&link.name);
    let mut mark = store.mark(&mark_name).map_err(|e| e.to_string())?;
    let ours: &ReplicaSet = &s.replicas;
    let mut total = PushReport::default();
    loop {
        let scan = store
            .changes_since(mark, PAGE, |key| {
                ours.holds_key(key) && link.folders.holds_key(key)
            })
            .map_err(|e| e.to_string())?;
        if !scan.changes.is_empty() {
            let req = PushRequest {
                from: s.server_name.clone(),
                organization: s.organization.clone(),
                session: link.name.clone(),
                changes: scan
                    .changes
                    .iter()
                    .map(|c| to_wire(&s.server_name, c))
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())?,
            };
            let report: PushReport =
                post_json(&format!("{}/replication/push", link.url), secret, &req)?;
            total.add(&report);
        }
        // The destination answered after its writes were durable: now the mark.
        store
            .set_mark(&mark_name, scan.next)
            .map_err(|e| e.to_string())?;
        mark = scan.next;
        if !scan.more {
            break;
        }
    }
    Ok(total)
}

/// One session of every link; each ends with event 107 (or a warning when it failed).
pub fn sessions(topology: &Topology, store: &Store) {
    for link in &topology.settings.exchsync.links {
        match session(topology, store, link) {
            Ok(report) => {
                let line = report.event_107(&link.name);
                tracing::info!(event = 107, link = %link.name, destination = %link.url, "{line}");
                let counts: Vec<(String, u64)> = report
                    .counts()
                    .iter()
                    .map(|(name, n)| (name.to_lowercase().replace(' ', "_"), *n))
                    .collect();
                crate::app::metrics::exchsync_session(&link.name, &counts);
            }
            Err(e) => {
                crate::app::metrics::exchsync_failed(&link.name);
                tracing::warn!(link = %link.name, destination = %link.url, error = %e, "Exchsync session failed; the next session resumes from the last page the destination stored");
            }
        }
    }
}
