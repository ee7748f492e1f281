//! The HTTP transport: a warp adapter that never rejects, and the dispatcher.
//!
//! Owns [`AppState`] (the store, the clock and the limits, shared by every request),
//! [`Request`] (method, raw path and query, headers, the body read under a size cap) and
//! [`dispatch`], the one place that decides which handler answers: `/healthz`, the admin
//! API under `/_schedplus/`, users' calendars under `/calendars/`, the `?Cmd=freebusy`
//! query under `/public/`, and WebDAV for everything else under `/public/` ([`webdav`]).
//! Handlers return
//! [`Response`]s or [`HttpError`]s; `HttpError` is the one mapping from failures to statuses.
//! Store work runs on the blocking pool so that a flush never stalls the reactor.
//!
//! [`serve`] is the accept loop (hyper's HTTP/1 server under warp's filter), where the
//! connection-level [`Limits`] apply: concurrent connections, request head size, header and
//! body timeouts, heads still in progress ([`heads`]), clients that stop reading
//! ([`outbound::WriteTimeout`]); [`dispatch`] applies the per-request timeout and the
//! headers every answer carries for browsers. Large answers are produced a page at a time
//! within a global budget ([`outbound`]).

pub mod admin_api;
mod calendars;
mod error;
mod ews;
mod freebusy;
mod heads;
mod landing;
pub mod outbound;
pub mod webdav;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use warp::Filter;
use warp::http::{HeaderMap, Method, StatusCode, header};

pub use error::HttpError;
pub use outbound::AnswerBudget;

use crate::app::Clock;
use crate::auth::{AuthMode, AuthSettings, Authenticator, Lookup, Principal};
use crate::protocol::dav_xml::XmlLimits;
use crate::protocol::query::QueryLimits;
use crate::publishing::publisher::PublishSettings;
use crate::store::Store;

pub type Response = warp::reply::Response;

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
    /// all (see [`outbound`]); a page waits for room before it is produced.
    pub answer_buffer: usize,
    /// Time a client may take nothing of its answer; then the connection is closed.
    pub send_timeout: Duration,
    /// Connections still sending their first request head, in all; one more closes the
    /// one that has been at it longest (see [`heads`]).
    pub max_pending_heads: usize,
    /// Connections still sending their first request head from one address; one more from
    /// that address closes the address's oldest, if it has been at it for over
    /// [`heads::GRACE`].
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
#[derive(Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

struct StateInner {
    store: Store,
    clock: Clock,
    limits: Limits,
    /// How the server publishes (`--publish-months`, `--publisher-style`, `--default-tz`).
    publish: PublishSettings,
    /// Shared secret of the admin API; the server writes it into the data directory, so
    /// only someone who can read that directory can administer the store.
    admin_token: String,
    /// `--auth`, `--read`, `--permissions`.
    auth: AuthSettings,
    authenticator: Authenticator,
    /// Argon2 runs here, at most one per core at once (see `auth::HashPool`).
    hashing: crate::auth::HashPool,
    /// Bytes of streamed answers waiting for their clients (`Limits::answer_buffer`).
    answer_budget: AnswerBudget,
    /// The Availability front end's free/busy servers (`transport::ews`).
    cas: crate::app::availability::CasSettings,
}

impl AppState {
    pub fn new(store: Store, clock: Clock, limits: Limits, admin_token: String) -> Self {
        AppState {
            inner: Arc::new(StateInner {
                store,
                clock,
                limits,
                publish: PublishSettings::default(),
                admin_token,
                auth: AuthSettings::default(),
                authenticator: Authenticator::new(),
                hashing: crate::auth::HashPool::new(
                    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8)),
                ),
                answer_budget: AnswerBudget::new(limits.answer_buffer),
                cas: Default::default(),
            }),
        }
    }

    /// Set the publish settings; only before the state is shared (at start-up).
    pub fn with_publish_settings(mut self, settings: PublishSettings) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("publish settings are set before the state is shared")
            .publish = settings;
        self
    }

    /// Set the authentication settings; only before the state is shared (at start-up).
    pub fn with_auth(mut self, auth: AuthSettings) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("auth settings are set before the state is shared")
            .auth = auth;
        self
    }

    /// Set the Availability front end's servers; only before the state is shared.
    pub fn with_cas(mut self, cas: crate::app::availability::CasSettings) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("cas settings are set before the state is shared")
            .cas = cas;
        self
    }

    pub fn cas(&self) -> &crate::app::availability::CasSettings {
        &self.inner.cas
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

    pub fn admin_token(&self) -> &str {
        &self.inner.admin_token
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

/// A request as handlers see it. The body is not read yet: handlers read it with the cap
/// that fits them.
pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub remote: Option<SocketAddr>,
    /// Who sent it (set by [`dispatch`] from `Authorization`).
    pub principal: Principal,
    body: Option<BodyStream>,
    body_timeout: Duration,
}

type BodyStream = std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, warp::Error>> + Send>>;

impl Request {
    /// A request with a complete body, for tests and in-process callers.
    pub fn new(method: Method, path_and_query: &str, headers: HeaderMap, body: Bytes) -> Self {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (path_and_query.to_string(), None),
        };
        Request {
            method,
            path,
            query,
            headers,
            remote: None,
            principal: Principal::Anonymous,
            body: Some(Box::pin(futures_util::stream::once(
                async move { Ok(body) },
            ))),
            body_timeout: Limits::default().body_timeout,
        }
    }

    /// Read the whole body, refusing more than `cap` bytes with 413. A declared
    /// Content-Length over the cap is refused before reading anything. A body that has not
    /// arrived [`Limits::body_timeout`] after the first read is refused with 408, so a client
    /// trickling a byte at a time cannot hold a request open.
    pub async fn body(&mut self, cap: usize) -> Result<Bytes, HttpError> {
        let declared = self
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > cap as u64) {
            return Err(HttpError::too_large(cap));
        }
        let Some(mut stream) = self.body.take() else {
            return Ok(Bytes::new());
        };
        let read = async move {
            let mut buf = BytesMut::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| {
                    HttpError::bad_request(format!("the request body broke off: {e}"))
                })?;
                if buf.len() + chunk.len() > cap {
                    return Err(HttpError::too_large(cap));
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(buf.freeze())
        };
        let timeout = self.body_timeout;
        tokio::time::timeout(timeout, read).await.map_err(|_| {
            HttpError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} s; send it without pausing",
                    timeout.as_secs_f64()
                ),
            )
        })?
    }
}

/// The warp side: every request, whatever its method or path, reaches [`dispatch`].
pub fn filter(
    state: AppState,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone + Send + Sync + 'static {
    let raw_query = warp::query::raw()
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    warp::method()
        .and(warp::path::full())
        .and(raw_query)
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<Peer>().map(|p: Option<Peer>| p.map(|Peer(a)| a)))
        .and(warp::body::stream().map(box_body))
        .then(
            move |method: Method,
                  path: warp::path::FullPath,
                  query: Option<String>,
                  headers: HeaderMap,
                  remote: Option<SocketAddr>,
                  body: BodyStream| {
                let state = state.clone();
                let req = Request {
                    method,
                    path: path.as_str().to_string(),
                    query,
                    headers,
                    remote,
                    principal: Principal::Anonymous,
                    body: Some(body),
                    body_timeout: state.limits().body_timeout,
                };
                async move { dispatch(&state, req).await }
            },
        )
}

fn box_body<S, B>(s: S) -> BodyStream
where
    S: Stream<Item = Result<B, warp::Error>> + Send + 'static,
    B: bytes::Buf,
{
    Box::pin(s.map(|r| r.map(|mut b| b.copy_to_bytes(b.remaining()))))
}

/// A client's address in a log line: `127.0.0.1:50412`, or `-` when unknown (in-process
/// tests), never `Some(…)`.
struct RemoteAddr(Option<SocketAddr>);

impl std::fmt::Display for RemoteAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(a) => write!(f, "{a}"),
            None => f.write_str("-"),
        }
    }
}

/// Decide who asks and who answers, run it, log one line.
pub async fn dispatch(state: &AppState, req: Request) -> Response {
    let started = Instant::now();
    let method = req.method.clone();
    let path = req.path.clone();
    let remote = req.remote;
    let limit = state.limits().request_timeout;
    // Who asked, for the log line, even when the request then runs out of time.
    let user = std::sync::OnceLock::new();
    let work = async {
        let mut req = req;
        let credentials = req.headers.get(header::AUTHORIZATION).cloned();
        req.principal = sign_in(state, credentials, remote).await?;
        let _ = user.set(req.principal.log_name().to_string());
        route(state, req).await
    };
    let answer = tokio::time::timeout(limit, work).await;
    let user = user.get().map_or("-", String::as_str);
    let mut resp = match answer {
        Ok(answer) => answer.unwrap_or_else(HttpError::into_response),
        // Work already handed to the blocking pool runs to its end (a store write stays
        // all-or-nothing); only the answer is given up.
        Err(_) => HttpError::busy(format!(
            "the request took longer than {} s; try again later",
            limit.as_secs_f64()
        ))
        .into_response(),
    };
    browser_guards(&mut resp);
    let status = resp.status();
    let secs = started.elapsed().as_secs_f64();
    crate::app::metrics::request_done(method.as_str(), status.as_u16(), secs);
    // Tenths of a millisecond: `ms=9.4`, not `ms=9.404000000000001`.
    let ms = (secs * 10_000.0).round() / 10.0;
    let remote = RemoteAddr(remote);
    if status.is_server_error() {
        let message = error::failure_message(&resp).unwrap_or("-");
        tracing::error!(%method, %path, status = status.as_u16(), ms, %remote, %user, message, "request failed");
    } else {
        tracing::info!(%method, %path, status = status.as_u16(), ms, %remote, %user, "request");
    }
    resp
}

/// The policy of schedplus's own answers (browse pages, error pages, XML, JSON): no script
/// at all, only the pages' inline styles, no framing (clickjacking), no `<base>` or form
/// posts an injected fragment could use.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Headers every answer carries for the sake of browsers: never sniff a more active type
/// than the one declared, never be framed, and [`PAGE_CSP`] unless the handler chose a
/// policy (user content in the ordinary area gets a sandbox; see `webdav::handle_get`).
fn browser_guards(r: &mut Response) {
    let h = r.headers_mut();
    h.entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(header::HeaderValue::from_static("nosniff"));
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(header::HeaderValue::from_static("DENY"));
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(header::HeaderValue::from_static(PAGE_CSP));
}

/// Who sent `req`: anonymous without `Authorization` (or with `--auth none`, which ignores
/// it), else the directory user whose password it carries. Wrong credentials are a 401
/// whatever the request, so a client learns at once that its password is wrong; the log
/// says why (never the password), the client only that it failed.
async fn sign_in(
    state: &AppState,
    credentials: Option<header::HeaderValue>,
    remote: Option<SocketAddr>,
) -> Result<Principal, HttpError> {
    if state.auth().mode == AuthMode::None {
        return Ok(Principal::Anonymous);
    }
    let Some(value) = credentials else {
        return Ok(Principal::Anonymous);
    };
    let refuse = |why: &str| {
        HttpError::from(crate::auth::Refusal {
            kind: crate::auth::RefusalKind::SignIn,
            rule: "sign-in",
            message: format!("{why}; send Basic credentials of a directory user with a password"),
        })
    };
    let (name, pw) = match crate::auth::parse_basic(value.as_bytes()) {
        Ok(c) => c,
        Err(why) => {
            tracing::warn!(remote = %RemoteAddr(remote), reason = why, "sign-in failed");
            crate::app::metrics::sign_in_failed("malformed");
            return Err(refuse(why));
        }
    };
    let (n, p) = (name.clone(), pw.clone());
    let lookup = state
        .blocking(move |st| st.inner.authenticator.lookup(st.store(), &n, &p))
        .await?
        .map_err(|e| HttpError::internal(format!("the store failed while signing in: {e}")))?;
    let result = match lookup {
        Lookup::Known(u) => Ok(u),
        Lookup::Verify { user, phc } => {
            let matched = state
                .inner
                .hashing
                .verify(phc.clone(), pw.clone())
                .await
                .map_err(|_| {
                    HttpError::busy(format!(
                        "{} sign-ins are already waiting for a password check; try again in a moment",
                        crate::auth::HASH_QUEUE
                    ))
                })?;
            state.inner.authenticator.settle(user, &phc, &pw, matched)
        }
    };
    match result {
        Ok(u) => Ok(Principal::User(u)),
        Err(failure) => {
            tracing::warn!(user = %name, remote = %RemoteAddr(remote), reason = failure.as_str(), "sign-in failed");
            crate::app::metrics::sign_in_failed(failure.label());
            Err(refuse("wrong user name or password"))
        }
    }
}

async fn route(state: &AppState, req: Request) -> Result<Response, HttpError> {
    let path = req.path.as_str();
    if path == "/healthz" {
        return Ok(text_response(StatusCode::OK, "ok\n"));
    }
    if path == "/metrics" {
        // Counts and store sizes are not for anyone who can reach the port when reads need
        // credentials (`--metrics anonymous` opens it for a scraper without them).
        state.auth().metrics(&req.principal)?;
        let body = state
            .blocking(|st| crate::app::metrics::render(st.store()))
            .await?;
        let mut r = text_response(StatusCode::OK, body);
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        );
        return Ok(r);
    }
    if path == "/_schedplus" || path.starts_with("/_schedplus/") {
        return admin_api::handle(state, req).await;
    }
    if ews::is_front_end(path) {
        return ews::handle(state, req).await;
    }
    if path.starts_with("/calendars/") {
        return calendars::handle(state, req).await;
    }
    // The landing page and the query form's timeline (issue 17.3); other methods on these
    // paths keep the 404 below.
    if matches!(req.method, Method::GET | Method::HEAD) {
        match path {
            "/" => return landing::landing(state, req).await,
            "/query" => return landing::query(state, req).await,
            _ => {}
        }
    }
    if state.cas().role == crate::app::availability::Role::Cas && is_under_public(path) {
        return Err(ews::not_this_role(path, "cas"));
    }
    if is_public_root(path)
        && req
            .query
            .as_deref()
            .is_some_and(crate::protocol::query::is_freebusy_query)
    {
        state.auth().read(&req.principal)?;
        return freebusy::handle(state, req).await;
    }
    if is_under_public(path) {
        return webdav::handle(state, req).await;
    }
    Err(HttpError::not_found(format!(
        "nothing is served at {path}; try GET /public/?Cmd=freebusy&start=…&end=…&u=SMTP:address"
    )))
}

/// `/public` and everything below it, any case: the WebDAV store.
fn is_under_public(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    first.eq_ignore_ascii_case("public")
}

/// `/public` or `/public/`, any case.
fn is_public_root(path: &str) -> bool {
    let p = path.strip_suffix('/').unwrap_or(path);
    p.eq_ignore_ascii_case("/public")
}

pub fn text_response(status: StatusCode, body: impl Into<String>) -> Response {
    let mut r = Response::new(body.into().into());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

pub fn bytes_response(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    r
}

/// The client's address, put on each request by [`serve`] for [`filter`] to read.
#[derive(Clone, Copy, Debug)]
struct Peer(SocketAddr);

/// Serve until `shutdown` resolves; in-flight requests finish first.
///
/// The accept loop is ours rather than warp's so that the connection-level limits apply:
/// at most [`Limits::max_connections`] connections are served at once (one more is answered
/// 503 with `Retry-After` and closed, a few at a time; beyond that it is closed unanswered),
/// request heads are capped in size and field count (431) and must arrive within
/// [`Limits::header_timeout`] (then the connection is closed, which also ends idle
/// keep-alive connections), connections still sending their first head are bounded in all
/// and per address ([`heads`]), and a client that takes nothing of its answer for
/// [`Limits::send_timeout`] is let go ([`outbound::WriteTimeout`]). hyper's write buffer is
/// kept near one page ([`outbound::CHUNK`]), so a client that does not read holds about one
/// page of its answer in this process. HTTP/1.x only: no Exchange or WebDAV client speaks
/// HTTP/2 in clear text, and every limit here is HTTP/1's.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use tokio::sync::Semaphore;

    let limits = *state.limits();
    let service = hyper_util::service::TowerToHyperService::new(warp::service(filter(state)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_headers(limits.max_headers)
        .max_header_size(limits.max_header_bytes)
        // Also the read buffer, which must hold a whole request head.
        .max_buf_size(outbound::CHUNK.max(limits.max_header_bytes + 8192));
    let mut refuse = http.clone();
    refuse
        .keep_alive(false)
        .header_read_timeout(limits.header_timeout.min(REFUSAL_HEAD_TIMEOUT));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT));
    let pending = heads::PendingHeads::new(
        limits.max_pending_heads,
        limits.max_pending_heads_per_address,
    );
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers are written in pieces (a streamed answer's head, its pages, its last
        // chunk): without this, Nagle's algorithm holds each small piece back until the
        // client's delayed ACK, 40 ms per keep-alive request.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, %peer, "TCP_NODELAY could not be set");
        }
        // Before a slot is taken: a trickler closed to make room gives its slot back.
        let (ticket, evicted) = pending.admit(peer.ip());
        let io = TokioIo::new(outbound::WriteTimeout::new(stream, limits.send_timeout));
        match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                let svc = service.clone();
                let ticket = Arc::new(ticket);
                let headed = ticket.clone();
                let svc = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
                    headed.headed();
                    req.extensions_mut().insert(Peer(peer));
                    hyper::service::Service::call(&svc, req)
                });
                let conn = graceful.watch(http.serve_connection(io, svc));
                tokio::spawn(async move {
                    tokio::select! {
                        ended = conn => if let Err(e) = ended {
                            tracing::debug!(error = %e, %peer, "connection ended");
                        },
                        Ok(()) = evicted => {
                            tracing::info!(%peer, "closed a connection still sending its request head to make room for a newer one");
                        }
                    }
                    drop(ticket);
                    drop(slot);
                });
            }
            Err(_) => {
                drop(ticket);
                let Ok(permit) = refusals.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, "too many connections; closed one unanswered");
                    crate::app::metrics::connection_refused(false);
                    continue;
                };
                crate::app::metrics::connection_refused(true);
                tracing::warn!(%peer, max = limits.max_connections, "too many connections; answered 503");
                let conn = graceful.watch(refuse.serve_connection(
                    io,
                    hyper::service::service_fn(move |_req| async move {
                        Ok::<_, Infallible>(too_many_connections(limits.max_connections))
                    }),
                ));
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop(permit);
                });
            }
        }
    }
    // New clients are turned away at once rather than queued while in-flight ones finish.
    drop(listener);
    graceful.shutdown().await;
}

/// How long a connection refused for being one too many may take to send its request head.
const REFUSAL_HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Refused connections answered at once; more are closed without an answer.
const MAX_REFUSALS_IN_FLIGHT: usize = 64;

fn too_many_connections(max: usize) -> Response {
    let mut r = HttpError::busy(format!(
        "the server already serves {max} connections; try again in a moment"
    ))
    .into_response();
    r.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    r
}
