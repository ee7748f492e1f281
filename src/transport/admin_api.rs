//! The admin API under `/_schedplus/`, used by the CLI while a server holds the store.
//!
//! JSON in, JSON out; every route calls the same `admin` function the CLI calls when it
//! opens the store itself. Requests must carry the token the server wrote into the data
//! directory (`X-Schedplus-Token`), so reaching the port is not enough to administer, or
//! the Basic credentials of an admin (`schedplus directory admin USER`; rule `admin-only`)
//! together with `X-Schedplus-Admin: 1`, a header no web page can send without a CORS
//! preflight (rule `admin-header`).
//! Errors are `{"error": sentence, "kind": …}` with the status `error::admin_status` gives.

use serde::Serialize;
use serde::de::DeserializeOwned;
use warp::http::{Method, StatusCode};

use super::{AppState, HttpError, Request, Response, bytes_response};
use crate::app::admin::{self, AdminError};
use crate::auth::constant_time_eq;

pub const TOKEN_HEADER: &str = "x-schedplus-token";
/// Required with an admin's Basic credentials (any value; programs send `1`).
pub const ADMIN_HEADER: &str = "x-schedplus-admin";
/// [`ADMIN_HEADER`] as messages and docs spell it.
pub const ADMIN_HEADER_NAME: &str = "X-Schedplus-Admin";

pub async fn handle(state: &AppState, mut req: Request) -> Result<Response, HttpError> {
    let token = req.headers.get(TOKEN_HEADER);
    let token_ok = token
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| constant_time_eq(t.as_bytes(), state.admin_token().as_bytes()));
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
            let mut r = json_error(
                &AdminError::Transport(format!(
                    "the admin API takes Basic credentials only from a program: send the header {ADMIN_HEADER_NAME}: 1 (a web page cannot), or use the token in server.json"
                )),
                StatusCode::FORBIDDEN,
            );
            super::error::mark_refusal(&mut r, Some("admin-header"));
            return Ok(r);
        }
        if req.method != Method::GET && !json && by_credentials.is_ok() {
            return Ok(json_error(
                &AdminError::BadInput(
                    "the admin API takes JSON: send Content-Type: application/json".into(),
                ),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ));
        }
        if let Err(refusal) = by_credentials {
            let (status, message) = if token.is_some() {
                (StatusCode::FORBIDDEN, "the admin API token does not match the data directory's server.json (a restarted server writes a new one)".to_string())
            } else {
                (
                    super::error::refusal_status(refusal.kind),
                    refusal.to_string(),
                )
            };
            let mut r = json_error(&AdminError::Transport(message), status);
            super::error::mark_refusal(&mut r, Some(refusal.rule));
            return Ok(r);
        }
    }
    let route = req.path.trim_start_matches("/_schedplus").to_string();
    let cap = state.limits().max_admin_body;
    let result = match (req.method.clone(), route.as_str()) {
        (Method::GET, "/directory") => run(state, |st| admin::list_users(st.store())).await,
        (Method::POST, "/directory/passwd") => {
            let body: admin::PasswdRequest = json_body(&mut req, cap).await?;
            run(state, move |st| admin::set_password(st.store(), &body)).await
        }
        (Method::POST, "/directory/admin") => {
            let body: admin::AdminMarkRequest = json_body(&mut req, cap).await?;
            run(state, move |st| admin::set_admin(st.store(), &body)).await
        }
        (Method::POST, "/directory/import") => {
            let body: admin::ImportRequest = json_body(&mut req, cap).await?;
            run(state, move |st| {
                admin::import_directory(st.store(), st.clock(), &body)
            })
            .await
        }
        (Method::POST, "/fb/set") => {
            let body: admin::FbSetRequest = json_body(&mut req, cap).await?;
            run(state, move |st| {
                admin::fb_set(st.store(), st.clock(), &body)
            })
            .await
        }
        (Method::POST, "/fb/show") => {
            let body: admin::FbShowRequest = json_body(&mut req, cap).await?;
            run(state, move |st| {
                admin::fb_show(st.store(), st.clock(), &body)
            })
            .await
        }
        (Method::POST, "/fb/delete") => {
            let body: admin::FbDeleteRequest = json_body(&mut req, cap).await?;
            run(state, move |st| admin::fb_delete(st.store(), &body)).await
        }
        (Method::POST, "/calendar/put") => {
            let body: admin::CalendarPutRequest = json_body(&mut req, cap).await?;
            let max = state.limits().max_calendar_bytes;
            if body.text.len() > max {
                return Err(HttpError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the calendar is larger than the {max}-byte limit"),
                ));
            }
            run(state, move |st| {
                admin::calendar_put(st.store(), st.clock(), st.publish_settings(), &body)
            })
            .await
        }
        (Method::POST, "/calendar/delete") => {
            let body: admin::CalendarDeleteRequest = json_body(&mut req, cap).await?;
            run(state, move |st| admin::calendar_delete(st.store(), &body)).await
        }
        (Method::POST, "/republish") => {
            let body: admin::RepublishRequest = json_body(&mut req, cap).await?;
            run(state, move |st| {
                admin::republish(st.store(), st.clock(), st.publish_settings(), &body)
            })
            .await
        }
        (Method::POST, "/cleanup") => run(state, |st| admin::cleanup(st.store())).await,
        _ => {
            return Err(HttpError::not_found(format!(
                "no admin route {} {}",
                req.method, req.path
            )));
        }
    };
    Ok(result)
}

async fn run<T, F>(state: &AppState, f: F) -> Response
where
    T: Serialize + Send + 'static,
    F: FnOnce(&AppState) -> Result<T, AdminError> + Send + 'static,
{
    match state.blocking(f).await {
        Ok(Ok(v)) => bytes_response(
            StatusCode::OK,
            "application/json",
            serde_json::to_vec(&v).expect("reports serialise"),
        ),
        Ok(Err(e)) => json_error(&e, super::error::admin_status(&e)),
        Err(e) => e.into_response(),
    }
}

async fn json_body<T: DeserializeOwned>(req: &mut Request, cap: usize) -> Result<T, HttpError> {
    let body = req.body(cap).await?;
    serde_json::from_slice(&body).map_err(|e| {
        HttpError::bad_request(format!("the admin request is not the expected JSON: {e}"))
    })
}

fn json_error(e: &AdminError, status: StatusCode) -> Response {
    let body = serde_json::json!({ "error": e.to_string(), "kind": e.kind() });
    bytes_response(status, "application/json", body.to_string().into_bytes())
}
