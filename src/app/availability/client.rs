//! The front end's requests to public-folder servers: one `GET …/public/?Cmd=freebusy` with
//! every user of an admin group, plain HTTP, within the configured timeout; anonymous, or
//! with the service account's Basic credentials when one is configured. A
//! connect error, a timeout, any status but 200, or an answer that is not the `WM`
//! document for exactly the users asked counts as a failure of that server.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::protocol::dav_xml::XmlLimits;
use crate::protocol::ews::legacy::{LegacyItem, parse_answer};

/// Why a server did not answer, by kind (the label of the failures metric) and in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// `connect`, `timeout`, `status`, `bad_answer`.
    pub kind: &'static str,
    pub reason: String,
}

/// Largest answer read: 100 users × 42 days of 5-minute digits is 1.2 MB.
const MAX_ANSWER: u64 = 16 * 1024 * 1024;

/// Ask `url` (a full `…/public/?Cmd=freebusy&…` URL) and read its user items, sending
/// `authorization` (the service account's `Basic …`) when given. Returns the time it took
/// too.
pub fn fetch(
    url: &str,
    timeout: Duration,
    authorization: Option<&str>,
) -> (Result<Vec<LegacyItem>, Failure>, Duration) {
    let started = Instant::now();
    let r = fetch_inner(url, timeout, authorization);
    (r, started.elapsed())
}

/// One agent per timeout, kept for the process: its pool keeps connections to the
/// public-folder servers open between requests. With a new connection per request the
/// front end answered one mailbox at 2,000 requests a second, with the pool at 4,400
/// (`cargo bench --bench ews`, 2 shared cores). Several servers in one process (the tests)
/// may use different timeouts, hence the list.
fn agent(timeout: Duration) -> ureq::Agent {
    static AGENTS: OnceLock<Mutex<Vec<(Duration, ureq::Agent)>>> = OnceLock::new();
    // A poisoned lock only means another request panicked while holding the list: the
    // list itself is still whole.
    let mut agents = AGENTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some((_, a)) = agents.iter().find(|(t, _)| *t == timeout) {
        return a.clone();
    }
    let a: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .user_agent("schedplus-availability (Exchange 2007 CAS fallback)")
        .build()
        .into();
    agents.push((timeout, a.clone()));
    a
}

fn fetch_inner(
    url: &str,
    timeout: Duration,
    authorization: Option<&str>,
) -> Result<Vec<LegacyItem>, Failure> {
    let mut request = agent(timeout).get(url);
    if let Some(a) = authorization {
        request = request.header("Authorization", a);
    }
    let mut resp = request.call().map_err(|e| {
        let kind = match &e {
            ureq::Error::Timeout(_) => "timeout",
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => "timeout",
            _ => "connect",
        };
        Failure {
            kind,
            reason: e.to_string(),
        }
    })?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER)
        .read_to_vec()
        .map_err(|e| Failure {
            kind: if matches!(e, ureq::Error::Timeout(_)) {
                "timeout"
            } else {
                "connect"
            },
            reason: format!("the answer broke off: {e}"),
        })?;
    if status != 200 {
        let hint = match (status, authorization) {
            (401, None) => {
                ": it wants a sign-in; configure the front end's service account (cas_service_user, cas_service_password)"
            }
            (401, Some(_)) => ": it refused the service account's credentials",
            _ => "",
        };
        return Err(Failure {
            kind: "status",
            reason: format!("the server answered {status}{hint}"),
        });
    }
    parse_answer(&body, &XmlLimits::default()).map_err(|reason| Failure {
        kind: "bad_answer",
        reason,
    })
}
