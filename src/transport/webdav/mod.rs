//! WebDAV over the public-folder store: the dispatcher.
//!
//! [`handle`] resolves the URL ([`path::resolve`] → [`Resource`]) and matches on the method;
//! each method family has its own file (`handle_*.rs`). Handlers go on down from there, never
//! back into this file: they read their request through `request.rs`, look the resource up
//! once (`found.rs`: [`locate`] → [`Found`]), stream large answers through `answer.rs`, and
//! answer with [`Response`]s or fail with an [`HttpError`]; every
//! failure of another layer becomes a status in `transport/error.rs` (with `Allow` on a 405,
//! see [`not_allowed`], and an RFC 4918 `DAV:error` body where a precondition names one).
//! Live properties are computed in [`props`].
//!
//! Multistatus answers and folder pages are streamed ([`stream_listing`]): a folder of
//! 100,000 messages is read lazily from sled, a page of about 64 KiB at a time on the
//! blocking pool, and the next page is produced only when the client has taken the last, so
//! memory does not grow with folder size and no store thread ever waits on a client.
//!
//! Must not touch: the `?Cmd=freebusy` query (routed before this module) and the store's
//! byte formats.

mod answer;
mod found;
mod handle_copymove;
mod handle_delete;
mod handle_get;
mod handle_mkcol;
mod handle_options;
mod handle_propfind;
mod handle_proppatch;
mod handle_put;
mod handle_search;
pub mod path;
mod props;
mod request;

use warp::http::StatusCode;

use super::{AppState, HttpError, Request, Response};

pub use answer::{MULTISTATUS_TYPE, stream_listing};
pub use found::{Found, authorize_item, locate, not_allowed};
pub use path::Resource;
pub use request::{Depth, brief, depth, header_str, xml_body};

/// Answer a request under `/public` that is not the freebusy query.
pub async fn handle(state: &AppState, req: Request) -> Result<Response, HttpError> {
    let method = req.method.clone();
    let result = dispatch_method(state, req).await;
    // A write that was answered 2xx changed the store (a 207 PROPPATCH may still have
    // refused every property; it counts as a write request all the same).
    if let Ok(r) = &result {
        let write = matches!(
            method.as_str(),
            "PROPPATCH" | "PUT" | "DELETE" | "MKCOL" | "COPY" | "MOVE"
        );
        if write && r.status().is_success() {
            crate::app::metrics::write(method.as_str());
        }
    }
    result
}

async fn dispatch_method(state: &AppState, req: Request) -> Result<Response, HttpError> {
    let target = path::resolve(&req.path)?;
    // Who may: reads as `--read` says; writes need someone signed in (with `--auth basic`)
    // here; the owner rules are the store's, applied under its write lock to the writer
    // each handler names (`auth` builds it), except for admin-group folders (`fb_folder`).
    // Everything else (OPTIONS, and the 405s of POST and PATCH, whose Allow tells whether
    // a resource exists) counts as a read.
    match req.method.as_str() {
        "PROPPATCH" | "PUT" | "DELETE" | "MKCOL" | "COPY" | "MOVE" => {
            state.auth().writer(&req.principal)?;
        }
        _ => state.auth().read(&req.principal)?,
    }
    match req.method.as_str() {
        "OPTIONS" => handle_options::options(state, &target).await,
        "GET" | "HEAD" => handle_get::get(state, req, &target).await,
        "PROPFIND" => handle_propfind::propfind(state, req, &target).await,
        "PROPPATCH" => handle_proppatch::proppatch(state, req, locate(state, &target).await?).await,
        "SEARCH" => handle_search::search(state, req, &target).await,
        "PUT" => handle_put::put(state, req, locate(state, &target).await?).await,
        "DELETE" => handle_delete::delete(state, &req.principal, &target).await,
        "MKCOL" => handle_mkcol::mkcol(state, req, &target).await,
        "COPY" | "MOVE" => handle_copymove::copy_move(state, req, &target).await,
        "POST" if matches!(target, Resource::FbItem(..)) => {
            handle_proppatch::post(state, req, &target).await
        }
        // Methods HTTP defines that no resource here takes.
        "POST" | "PATCH" => {
            let found = locate(state, &target).await?;
            Err(not_allowed(&req.method, &found))
        }
        other => Err(HttpError::new(
            StatusCode::NOT_IMPLEMENTED,
            format!(
                "{other} is not implemented; this server speaks OPTIONS, GET, HEAD, PROPFIND, PROPPATCH, SEARCH, PUT, DELETE, MKCOL, COPY and MOVE (WebDAV class 1, no locking)"
            ),
        )),
    }
}
