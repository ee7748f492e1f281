//! The HTTP transport: the router, and one file per step a request takes before it.
//!
//! A request goes [`serve`] (`accept.rs`: the accept loop, where the connection-level
//! [`Limits`] apply, and warp's catch-all [`filter`], which never rejects) → [`dispatch`]
//! (here: the per-request timeout, the sign-in of `sign_in.rs`, the headers every answer
//! carries for browsers, metrics and one log line of `request_log.rs`) → `route` (here: the
//! one place that decides which handler answers: `/healthz`, `/metrics`, the admin API
//! under `/_schedplus/`, users' calendars under `/calendars/`, replication between servers
//! under `/replication/` (`replication.rs`, which also answers 503 for a folder this server
//! holds no replica of), the landing page, the `?Cmd=freebusy` query under `/public/`, and
//! WebDAV for everything else under `/public/` ([`webdav`])).
//!
//! Handlers see [`AppState`] (`state.rs`: the store, the clock, the settings, shared by
//! every request) and a [`Request`] (`request.rs`: method, raw path and query, headers, the
//! body read under a size cap), and return [`Response`]s or [`HttpError`]s (`error.rs`, the
//! one mapping from failures to statuses). Store work runs on the blocking pool so that a
//! flush never stalls the reactor. Heads still in progress are bounded in `heads.rs`,
//! clients that stop reading in [`outbound`], where large answers are produced a page at a
//! time within a global budget.

mod accept;
pub mod admin_api;
mod calendars;
mod error;
mod ews;
pub mod faults;
mod freebusy;
mod heads;
mod landing;
pub mod outbound;
mod replication;
mod request;
mod request_log;
mod sign_in;
mod state;
pub mod webdav;

use std::time::Instant;

use warp::http::{Method, StatusCode, header};

pub use accept::{filter, serve};
pub use error::HttpError;
pub use outbound::AnswerBudget;
pub use request::{Request, bytes_response, text_response};
pub use request_log::{READS_LOGGED_PER_SECOND, ReadLog, RequestLine};
pub use state::{AppState, Limits, StateParts};

use sign_in::sign_in;

pub type Response = warp::reply::Response;

/// Decide who asks and who answers, run it, log one line.
pub async fn dispatch(state: &AppState, req: Request) -> Response {
    let started = Instant::now();
    let method = req.method.clone();
    let path = req.path.clone();
    let remote = req.remote;
    let limit = state.limits().request_timeout;
    // A fault rule may answer first (or wait, hang, reset), before the sign-in and the
    // request's time limit, as a broken server in front of the store would.
    let injected = match faults::probe(state, &req) {
        Some(probe) => probe.answer(state).await,
        None => None,
    };
    // Who asked, for the log line, even when the request then runs out of time.
    let user = std::sync::OnceLock::new();
    let work = async {
        if let Some(answer) = injected {
            return Ok(answer);
        }
        let mut req = req;
        let credentials = req.headers.get(header::AUTHORIZATION).cloned();
        req.principal = sign_in(state, credentials, remote).await?;
        // Anonymous is `-`, which needs no copy.
        if req.principal.user().is_some() {
            let _ = user.set(req.principal.log_name().to_string());
        }
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
    let elapsed = started.elapsed();
    let secs = elapsed.as_secs_f64();
    crate::app::metrics::request_done(method.as_str(), status.as_u16(), secs);
    RequestLine {
        method: &method,
        path: &path,
        status,
        secs,
        remote,
        user,
        failure: status
            .is_server_error()
            .then(|| error::failure_message(&resp).unwrap_or("-")),
    }
    .log(state.read_log(), started + elapsed);
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
    if replication::is_replication(path) {
        return replication::handle(state, req).await;
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
    if let Some(raw) = req.query.as_deref().filter(|_| is_public_root(path)) {
        // An answer kept whole is looked up first: its query string was a free/busy query.
        let kept = freebusy::kept(state, raw);
        if kept.is_some() || crate::protocol::query::is_freebusy_query(raw) {
            state.auth().read(&req.principal)?;
            return freebusy::handle(state, req, kept).await;
        }
    }
    if is_under_public(path) {
        replication::no_replica(state, path)?;
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
