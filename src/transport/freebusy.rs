//! `GET /public/?Cmd=freebusy`: always XML, whatever the User-Agent (PROTOCOL.md §3).

use warp::http::{Method, StatusCode, header};

use super::{AppState, HttpError, Request, Response, bytes_response};
use crate::fbquery;
use crate::protocol::query::parse_query;

pub async fn handle(state: &AppState, req: Request) -> Result<Response, HttpError> {
    if req.method != Method::GET && req.method != Method::HEAD {
        let mut r = HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "the freebusy query is answered to GET and HEAD",
        )
        .into_response();
        r.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return Ok(r);
    }
    let raw = req.query.unwrap_or_default();
    let q = parse_query(&raw, &state.limits().query).map_err(|e| {
        tracing::warn!(
            event_id = 4003,
            url = %format!("{}?{raw}", req.path),
            reason = %e,
            "refused a free/busy query; an Exchange CAS logs event 4003 for this and tries another public-folder server"
        );
        HttpError::bad_request(e.to_string())
    })?;
    let (body, stats) = state
        .blocking(move |st| fbquery::answer(st.store(), &q))
        .await?;
    crate::metrics::freebusy_answered(stats.users, stats.unknown + stats.no_message);
    tracing::debug!(
        users = stats.users,
        unknown = stats.unknown,
        no_message = stats.no_message,
        "freebusy answered"
    );
    let mut resp = bytes_response(StatusCode::OK, "text/xml; charset=utf-8", body);
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    // For HEAD, hyper sends the headers (with this body's length) and no body.
    Ok(resp)
}
