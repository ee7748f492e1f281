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

pub mod admin_api;
mod calendars;
mod error;
mod freebusy;
pub mod webdav;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use warp::Filter;
use warp::http::{HeaderMap, Method, StatusCode, header};

pub use error::HttpError;

use crate::protocol::query::QueryLimits;
use crate::protocol::time::Clock;
use crate::publisher::PublishSettings;
use crate::store::Store;

pub type Response = warp::reply::Response;

/// Bounds on what one request may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub query: QueryLimits,
    /// Request bodies of the public-folder protocol (XML), in bytes.
    pub max_body: usize,
    /// Bodies of the admin API (directory files), in bytes.
    pub max_admin_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            query: QueryLimits::default(),
            max_body: 1024 * 1024,
            max_admin_body: 64 * 1024 * 1024,
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
    body: Option<BodyStream>,
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
            body: Some(Box::pin(futures_util::stream::once(
                async move { Ok(body) },
            ))),
        }
    }

    /// Read the whole body, refusing more than `cap` bytes with 413. A declared
    /// Content-Length over the cap is refused before reading anything.
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
        let mut buf = BytesMut::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| HttpError::bad_request(format!("the request body broke off: {e}")))?;
            if buf.len() + chunk.len() > cap {
                return Err(HttpError::too_large(cap));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
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
        .and(warp::addr::remote())
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
                    body: Some(body),
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

/// Decide who answers, run it, log one line.
pub async fn dispatch(state: &AppState, req: Request) -> Response {
    let started = Instant::now();
    let method = req.method.clone();
    let path = req.path.clone();
    let remote = req.remote;
    let resp = route(state, req)
        .await
        .unwrap_or_else(HttpError::into_response);
    let status = resp.status();
    let secs = started.elapsed().as_secs_f64();
    crate::metrics::request_done(method.as_str(), status.as_u16(), secs);
    let ms = secs * 1000.0;
    if status.is_server_error() {
        tracing::error!(%method, %path, status = status.as_u16(), ms, ?remote, "request failed");
    } else {
        tracing::info!(%method, %path, status = status.as_u16(), ms, ?remote, "request");
    }
    resp
}

async fn route(state: &AppState, req: Request) -> Result<Response, HttpError> {
    let path = req.path.as_str();
    if path == "/healthz" {
        return Ok(text_response(StatusCode::OK, "ok\n"));
    }
    if path == "/metrics" {
        let body = state
            .blocking(|st| crate::metrics::render(st.store()))
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
    if path.starts_with("/calendars/") {
        return calendars::handle(state, req).await;
    }
    if is_public_root(path)
        && req
            .query
            .as_deref()
            .is_some_and(crate::protocol::query::is_freebusy_query)
    {
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

/// Serve until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    warp::serve(filter(state))
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}

/// Infallible helper for tests: one in-process request through the dispatcher.
pub async fn call(state: &AppState, req: Request) -> Result<Response, Infallible> {
    Ok(dispatch(state, req).await)
}
