//! The state every request shares: [`AppState`] (the store, the clock, the limits, the
//! publish and auth settings, the admin token, the authenticator, the hash pool and the
//! answer budget) and [`Limits`], the bounds on what one request and one client may cost.

use std::sync::Arc;
use std::time::Duration;

use super::{AnswerBudget, HttpError, ReadLog};
use crate::app::Clock;
use crate::auth::{AuthSettings, Authenticator};
use crate::protocol::dav_xml::XmlLimits;
use crate::protocol::query::QueryLimits;
use crate::publishing::publisher::PublishSettings;
use crate::store::Store;

/// Bounds on what one request and one client may cost. Every limit has a default and a
/// setting (`config::SETTINGS`); `docs/limits.md` lists them with the answer a client gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub query: QueryLimits,
    /// Nesting depth, element and attribute caps of XML request bodies.
    pub xml: XmlLimits,
    /// Request bodies of the public-folder protocol (XML), in bytes.
    pub max_body: usize,
    /// Bodies of items PUT into the ordinary public-folder area, in bytes.
    pub max_put_body: usize,
    /// An iCalendar calendar (`PUT /calendars/…` and the admin API's calendar put), in bytes.
    pub max_calendar_bytes: usize,
    /// Bodies of the admin API (directory files), in bytes.
    pub max_admin_body: usize,
    /// The request line and headers together, in bytes (431 beyond).
    pub max_header_bytes: usize,
    /// Header fields in one request (431 beyond).
    pub max_headers: usize,
    /// Connections served at once; one more is answered 503 with `Retry-After` and closed.
    pub max_connections: usize,
    /// Time a client has to send a request's line and headers (and an idle keep-alive
    /// connection to start its next request); then the connection is closed.
    pub header_timeout: Duration,
    /// Time a client has to send a request's body, from its first byte (408 beyond).
    pub body_timeout: Duration,
    /// Time a request may take from its headers to its answer (503 beyond). A streamed
    /// answer counts until it starts.
    pub request_timeout: Duration,
    /// Bytes of answer pages handed to connections and not yet taken by their clients, in
    /// all (see [`outbound`](super::outbound)); a page waits for room before it is produced.
    pub answer_buffer: usize,
    /// Time a client may take nothing of its answer; then the connection is closed.
    pub send_timeout: Duration,
    /// Connections still sending their first request head, in all; one more closes the
    /// one that has been at it longest (see [`heads`](super::heads)).
    pub max_pending_heads: usize,
    /// Connections still sending their first request head from one address; one more from
    /// that address closes the address's oldest, if it has been at it for over
    /// [`heads::GRACE`](super::heads::GRACE).
    pub max_pending_heads_per_address: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            query: QueryLimits::default(),
            xml: XmlLimits::default(),
            max_body: 1024 * 1024,
            max_put_body: 16 * 1024 * 1024,
            max_calendar_bytes: 4 * 1024 * 1024,
            max_admin_body: 64 * 1024 * 1024,
            max_header_bytes: 32 * 1024,
            max_headers: 100,
            max_connections: 512,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(120),
            answer_buffer: 64 * 1024 * 1024,
            send_timeout: Duration::from_secs(60),
            max_pending_heads: 256,
            max_pending_heads_per_address: 32,
        }
    }
}

/// Everything a request handler may use. Cheap to clone.
///
/// Built whole, once, by [`AppState::new`] from [`StateParts`]; nothing in it changes
/// afterwards.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

/// What the composition root (`server.rs`) gives to build an [`AppState`]. Every field is
/// public and has no default, so a part left out is a compile error rather than a setting
/// silently at its default:
///
/// ```compile_fail,E0063
/// # use schedplus::transport::{AppState, Limits, StateParts};
/// # fn build(store: schedplus::store::Store, clock: schedplus::app::Clock) -> AppState {
/// AppState::new(StateParts {
///     store,
///     clock,
///     limits: Limits::default(),
///     admin_token: String::new(),
///     // `publish` and `auth` left out: error E0063, missing fields.
/// })
/// # }
/// ```
pub struct StateParts {
    pub store: Store,
    pub clock: Clock,
    pub limits: Limits,
    /// How the server publishes (`--publish-months`, `--publisher-style`, `--default-tz`).
    pub publish: PublishSettings,
    /// `--auth`, `--read`, `--permissions`, `--metrics`.
    pub auth: AuthSettings,
    /// Shared secret of the admin API; the server writes it into the data directory, so
    /// only someone who can read that directory can administer the store.
    pub admin_token: String,
    /// The Availability front end's role and free/busy servers (`transport::ews`).
    pub cas: crate::app::availability::CasSettings,
    /// The server's name, organization, replicas and peers (`transport::replication`).
    pub topology: Arc<crate::app::replication::Topology>,
    /// Fault rules (`faults`, `fault add`): what this server answers wrongly on purpose.
    pub faults: crate::app::ops::Faults,
}

struct StateInner {
    store: Store,
    clock: Clock,
    limits: Limits,
    publish: PublishSettings,
    admin_token: String,
    auth: AuthSettings,
    authenticator: Authenticator,
    /// Argon2 runs here, at most one per core at once (see `auth::HashPool`).
    hashing: crate::auth::HashPool,
    /// Bytes of streamed answers waiting for their clients (`Limits::answer_buffer`).
    answer_budget: AnswerBudget,
    /// Successful reads logged at INFO this second (see `request_log.rs`).
    read_log: ReadLog,
    cas: crate::app::availability::CasSettings,
    topology: Arc<crate::app::replication::Topology>,
    faults: crate::app::ops::Faults,
}

impl AppState {
    /// The state, whole: the parts given, plus what is derived from them (the
    /// authenticator's cache, the hash pool sized to the cores, the answer budget of
    /// `limits.answer_buffer`, the count of reads logged this second).
    pub fn new(parts: StateParts) -> Self {
        let StateParts {
            store,
            clock,
            limits,
            publish,
            auth,
            admin_token,
            cas,
            topology,
            faults,
        } = parts;
        AppState {
            inner: Arc::new(StateInner {
                store,
                clock,
                limits,
                publish,
                admin_token,
                auth,
                authenticator: Authenticator::new(),
                hashing: crate::auth::HashPool::new(
                    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8)),
                ),
                answer_budget: AnswerBudget::new(limits.answer_buffer),
                read_log: ReadLog::new(),
                cas,
                topology,
                faults,
            }),
        }
    }

    pub fn cas(&self) -> &crate::app::availability::CasSettings {
        &self.inner.cas
    }

    pub fn topology(&self) -> &crate::app::replication::Topology {
        &self.inner.topology
    }

    pub fn faults(&self) -> &crate::app::ops::Faults {
        &self.inner.faults
    }

    pub fn auth(&self) -> &AuthSettings {
        &self.inner.auth
    }

    pub fn publish_settings(&self) -> &PublishSettings {
        &self.inner.publish
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Bytes of streamed answers held for clients that have not taken them yet.
    pub fn answer_budget(&self) -> &AnswerBudget {
        &self.inner.answer_budget
    }

    /// Counts successful reads, so that at most `READS_LOGGED_PER_SECOND` a second are
    /// logged at INFO.
    pub fn read_log(&self) -> &ReadLog {
        &self.inner.read_log
    }

    pub fn admin_token(&self) -> &str {
        &self.inner.admin_token
    }

    pub(super) fn authenticator(&self) -> &Authenticator {
        &self.inner.authenticator
    }

    pub(super) fn hashing(&self) -> &crate::auth::HashPool {
        &self.inner.hashing
    }

    /// Run store work on the blocking pool.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, HttpError>
    where
        T: Send + 'static,
        F: FnOnce(&AppState) -> T + Send + 'static,
    {
        let st = self.clone();
        tokio::task::spawn_blocking(move || f(&st))
            .await
            .map_err(|e| HttpError::internal(format!("a request worker failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AuthMode, ReadAccess};
    use crate::store::testutil::temp_store;

    /// The state holds exactly the parts it was given: nothing is set later, nothing falls
    /// back to a default.
    #[test]
    fn a_state_holds_every_part_it_was_built_from() {
        let (_dir, store) = temp_store();
        let limits = Limits {
            max_body: 1234,
            answer_buffer: 4096,
            ..Limits::default()
        };
        let auth = AuthSettings {
            mode: AuthMode::None,
            read: ReadAccess::Authenticated,
            ..AuthSettings::default()
        };
        let publish = PublishSettings {
            months: PublishSettings::default().months + 1,
            ..PublishSettings::default()
        };
        let clock = Clock::Fixed("2026-03-02T00:00:00Z".parse().unwrap());
        let state = AppState::new(StateParts {
            store,
            clock,
            limits,
            publish: publish.clone(),
            auth,
            admin_token: "t0ken".into(),
            cas: Default::default(),
            topology: crate::app::replication::Topology::new(Default::default()),
            faults: Default::default(),
        });
        assert_eq!(*state.auth(), auth);
        assert_ne!(auth, AuthSettings::default());
        assert_eq!(state.publish_settings().months, publish.months);
        assert_eq!(*state.limits(), limits);
        assert_eq!(*state.clock(), clock);
        assert_eq!(state.admin_token(), "t0ken");
    }
}
