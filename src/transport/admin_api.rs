//! The admin API under `/_schedplus/`, used by the CLI while a server holds the store.
//!
//! JSON in, JSON out: one table of routes ([`routes`]), each an operation of `app::ops`
//! served by one generic handler, the very operation the CLI runs when it opens the store
//! itself. Requests must carry the token the server wrote into the data
//! directory (`X-Schedplus-Token`), so reaching the port is not enough to administer, or
//! the Basic credentials of an admin (`schedplus directory admin USER`; rule `admin-only`)
//! together with `X-Schedplus-Admin: 1`, a header no web page can send without a CORS
//! preflight (rule `admin-header`).
//! Errors are `{"error": sentence, "kind": …}` with the status `error::app_status` gives.

use warp::http::{Method, StatusCode};

use super::{AppState, HttpError, Request, Response, bytes_response};
use crate::app::ops::{Ctx, Operation};
use crate::app::{self, ops};
use crate::auth::{Refusal, RefusalKind, constant_time_eq};

pub const TOKEN_HEADER: &str = "x-schedplus-token";
/// Required with an admin's Basic credentials (any value; programs send `1`).
pub const ADMIN_HEADER: &str = "x-schedplus-admin";
/// [`ADMIN_HEADER`] as messages and docs spell it.
pub const ADMIN_HEADER_NAME: &str = "X-Schedplus-Admin";

/// Whether the request carries the token the server wrote into `server.json`.
fn has_token(state: &AppState, req: &Request) -> bool {
    req.headers
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| constant_time_eq(t.as_bytes(), state.admin_token().as_bytes()))
}

pub async fn handle(state: &AppState, req: Request) -> Result<Response, HttpError> {
    let token = req.headers.get(TOKEN_HEADER);
    let token_ok = has_token(state, &req);
    if !token_ok {
        // Without the token, an admin's Basic credentials will do, for JSON requests only:
        // a browser holding an admin's credentials can be made to POST a form across sites,
        // but not with `Content-Type: application/json` (that needs a CORS preflight, which
        // this API never grants).
        let json = req
            .headers
            .get(warp::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        let by_credentials = state.auth().admin(&req.principal);
        // And only with `X-Schedplus-Admin`: a page cannot add a custom header to a request
        // without a CORS preflight, which this API never grants, so a page an admin opens
        // (user content from `/public/` included) cannot act with the admin's credentials.
        let marked = req.headers.contains_key(ADMIN_HEADER);
        if by_credentials.is_ok() && !marked {
            return Ok(json_error(&app::Error::Refused {
                rule: "admin-header",
                kind: RefusalKind::Forbidden,
                message: format!(
                    "the admin API takes Basic credentials only from a program: send the header {ADMIN_HEADER_NAME}: 1 (a web page cannot), or use the token in server.json"
                ),
            }));
        }
        if req.method != Method::GET && !json && by_credentials.is_ok() {
            let e = HttpError::unsupported_media_type(
                "the admin API takes JSON: send Content-Type: application/json",
            );
            return Ok(json_answer(e.status, &e.message, "bad_input"));
        }
        if let Err(refusal) = by_credentials {
            let refusal = if token.is_some() {
                Refusal {
                    kind: RefusalKind::Forbidden,
                    message: "the admin API token does not match the data directory's server.json (a restarted server writes a new one)".to_string(),
                    ..refusal
                }
            } else {
                refusal
            };
            return Ok(json_error(&refusal.into()));
        }
    }
    let route = req.path.trim_start_matches("/_schedplus");
    match routes().iter().find(|(r, _)| *r == route) {
        Some((_, serve)) => serve(state, req).await,
        None => Err(no_route(&req)),
    }
}

/// How one route is served: [`serve`] for its operation.
type Serve = for<'a> fn(&'a AppState, Request) -> BoxFuture<'a, Result<Response, HttpError>>;
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Every admin route: the operation's own `ROUTE`, served by the one generic handler.
fn routes() -> [(&'static str, Serve); 18] {
    fn entry<O: Operation>() -> (&'static str, Serve) {
        (O::ROUTE, |state, req| Box::pin(serve::<O>(state, req)))
    }
    macro_rules! table {
        ($($op:ident),*) => { [$(entry::<ops::$op>()),*] };
    }
    table!(
        ListUsers,
        ListGroups,
        ImportRequest,
        PasswdRequest,
        AdminMarkRequest,
        FbSetRequest,
        FbShowRequest,
        FbDeleteRequest,
        CalendarPutRequest,
        CalendarGetRequest,
        CalendarDeleteRequest,
        RepublishRequest,
        Cleanup,
        LintRequest,
        CheckRequest,
        FaultAddRequest,
        FaultList,
        FaultClearRequest
    )
}

fn no_route(req: &Request) -> HttpError {
    HttpError::not_found(format!("no admin route {} {}", req.method, req.path))
}

/// `POST` (or, for a read-only operation, `GET`) of an operation's JSON; its report as
/// JSON, or its error as `{"error", "kind"}`. An empty body stands for `null`, the JSON of
/// an operation without fields.
async fn serve<O: Operation>(state: &AppState, mut req: Request) -> Result<Response, HttpError> {
    if req.method != Method::POST && !(O::READ_ONLY && req.method == Method::GET) {
        return Err(no_route(&req));
    }
    let body = req.body(state.limits().max_admin_body).await?;
    let body: &[u8] = if body.is_empty() { b"null" } else { &body };
    let op: O = serde_json::from_slice(body).map_err(|e| {
        HttpError::bad_request(format!("the admin request is not the expected JSON: {e}"))
    })?;
    if let Some(file) = op.server_file()
        && !has_token(state, &req)
    {
        return Ok(json_error(&app::Error::Refused {
            rule: "admin-token-for-files",
            kind: RefusalKind::Forbidden,
            message: format!(
                "reading {} on the server's machine needs the token in server.json; an admin signed in over HTTP sends the file's content (text or data_base64) instead",
                file.display()
            ),
        }));
    }
    Ok(match run(state, op).await? {
        Ok(report) => bytes_response(
            StatusCode::OK,
            "application/json",
            serde_json::to_vec(&report).expect("reports serialise"),
        ),
        Err(e) => json_error(&e),
    })
}

/// Run an operation on the store threads, against the server's store, clock, publish
/// settings and calendar limit. Also how `/calendars/` runs its operations.
pub(super) async fn run<O: Operation>(
    state: &AppState,
    op: O,
) -> Result<Result<O::Report, app::Error>, HttpError> {
    run_as(state, op, crate::store::Writer::ANYONE).await
}

/// [`run`] for `writer` (the store authorizes the operation's writes against it).
pub(super) async fn run_as<O: Operation>(
    state: &AppState,
    op: O,
    writer: crate::store::Writer,
) -> Result<Result<O::Report, app::Error>, HttpError> {
    state
        .blocking(move |st| {
            let ctx = Ctx::new(st.store())
                .with_clock(*st.clock())
                .with_publish(st.publish_settings().clone())
                .with_max_calendar_bytes(st.limits().max_calendar_bytes)
                .with_writer(writer)
                .with_faults(st.faults().clone());
            op.run(&ctx)
        })
        .await
}

/// An application error as the admin API's JSON, with the status and the refusal headers
/// `transport/error.rs` gives it.
fn json_error(e: &app::Error) -> Response {
    let mut r = json_answer(super::error::app_status(e), &e.to_string(), e.kind());
    if let app::Error::Refused { rule, .. } = e {
        super::error::mark_refusal(&mut r, Some(rule));
    }
    r
}

fn json_answer(status: StatusCode, error: &str, kind: &str) -> Response {
    let body = serde_json::json!({ "error": error, "kind": kind });
    bytes_response(status, "application/json", body.to_string().into_bytes())
}
