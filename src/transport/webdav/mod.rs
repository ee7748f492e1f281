//! WebDAV over the public-folder store: the dispatcher and the streaming of large answers.
//!
//! [`handle`] resolves the URL ([`path::resolve`] → [`Resource`]) and matches on the method;
//! each method family has its own file (`handle_*.rs`). Handlers look the resource up once
//! ([`locate`] → [`Found`]), answer with [`Response`]s or fail with an [`HttpError`]; every
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

use bytes::Bytes;
use warp::http::{Method, StatusCode};

use super::{AppState, HttpError, Request, Response};
use crate::auth::Principal;
use crate::store::{FolderRecord, MessageRecord, PfNode, StoreError};

pub use path::Resource;

/// 405 with the methods the resource does allow.
pub fn not_allowed(method: &Method, found: &Found) -> HttpError {
    let allow = found.allow();
    HttpError::method_not_allowed(
        allow,
        format!("{method} is not allowed here; allowed: {allow}"),
    )
}

/// A resource as the store has it (or has not).
#[derive(Clone, Debug)]
pub enum Found {
    Root,
    NonIpm,
    FbRoot,
    FbFolder(FolderRecord),
    FbItem(crate::protocol::legacy_dn::AdminGroup, Box<MessageRecord>),
    Node(Box<PfNode>),
    /// Nothing there (yet).
    Missing(Resource),
}

impl Found {
    /// The methods this resource answers, for `Allow` (OPTIONS and 405).
    pub fn allow(&self) -> &'static str {
        match self {
            Found::Root | Found::NonIpm | Found::FbRoot => "OPTIONS, GET, HEAD, PROPFIND, SEARCH",
            Found::FbFolder(_) => "OPTIONS, GET, HEAD, PROPFIND, SEARCH, DELETE",
            Found::FbItem(..) => "OPTIONS, GET, HEAD, POST, PROPFIND, PROPPATCH, DELETE",
            Found::Node(n) if n.is_folder() => {
                "OPTIONS, GET, HEAD, PROPFIND, PROPPATCH, SEARCH, DELETE, COPY, MOVE"
            }
            Found::Node(_) => "OPTIONS, GET, HEAD, PROPFIND, PROPPATCH, PUT, DELETE, COPY, MOVE",
            Found::Missing(Resource::Ordinary(_)) => "OPTIONS, PUT, MKCOL",
            Found::Missing(Resource::FbFolder(_)) => "OPTIONS, MKCOL",
            Found::Missing(Resource::FbItem(..)) => "OPTIONS, POST, PROPPATCH",
            Found::Missing(_) => "OPTIONS",
        }
    }

    pub fn exists(&self) -> bool {
        !matches!(self, Found::Missing(_))
    }

    pub fn is_collection(&self) -> bool {
        match self {
            Found::Root | Found::NonIpm | Found::FbRoot | Found::FbFolder(_) => true,
            Found::Node(n) => n.is_folder(),
            _ => false,
        }
    }

    /// 404 for a resource that is not there.
    pub fn require(self) -> Result<Found, HttpError> {
        match self {
            Found::Missing(Resource::FbInvalid(why)) => Err(HttpError::not_found(why)),
            Found::Missing(_) => Err(HttpError::not_found("nothing exists at this URL")),
            f => Ok(f),
        }
    }
}

/// Look a resource up in the store (on the blocking pool).
pub async fn locate(state: &AppState, r: &Resource) -> Result<Found, HttpError> {
    let r = r.clone();
    state.blocking(move |st| locate_blocking(st, r)).await?
}

fn locate_blocking(st: &AppState, r: Resource) -> Result<Found, HttpError> {
    let store = st.store();
    Ok(match r {
        Resource::Root => Found::Root,
        Resource::NonIpm => Found::NonIpm,
        Resource::FbRoot => Found::FbRoot,
        Resource::FbFolder(ref f) => match store.folder(f)? {
            Some(rec) => Found::FbFolder(rec),
            None => Found::Missing(r),
        },
        Resource::FbItem(ref f, ref leaf) => match store.fb_message_at(f, leaf)? {
            Some(rec) => Found::FbItem(f.clone(), Box::new(rec)),
            None => Found::Missing(r),
        },
        Resource::FbInvalid(_) => Found::Missing(r),
        Resource::Ordinary(ref p) => match store.pf_get(p)? {
            Some(n) => Found::Node(Box::new(n)),
            None => Found::Missing(r),
        },
    })
}

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
        "PROPPATCH" => handle_proppatch::proppatch(state, req, &target).await,
        "SEARCH" => handle_search::search(state, req, &target).await,
        "PUT" => handle_put::put(state, req, &target).await,
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

/// The `item-owner-or-admin` rule for the existing ordinary node at `path`, answered
/// before a PUT reads its body: the store's own predicate, read-only; the store applies it
/// again under its lock when it writes.
pub async fn authorize_item(
    state: &AppState,
    principal: &Principal,
    path: &[String],
) -> Result<(), HttpError> {
    let writer = state.auth().item_writer(principal)?;
    let p = path.to_vec();
    state
        .blocking(move |st| st.store().pf_may_change(&p, &writer))
        .await??;
    Ok(())
}

/// The value of a header as text, if present and readable.
pub fn header_str<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// `Depth` as sent: `None` when missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    Zero,
    One,
    Infinity,
}

pub fn depth(req: &Request) -> Result<Option<Depth>, HttpError> {
    match header_str(req, "depth") {
        None => Ok(None),
        Some("0") => Ok(Some(Depth::Zero)),
        Some("1") => Ok(Some(Depth::One)),
        Some(d) if d.eq_ignore_ascii_case("infinity") => Ok(Some(Depth::Infinity)),
        Some(d) => Err(HttpError::bad_request(format!(
            "Depth: {d} is not 0, 1 or infinity"
        ))),
    }
}

/// `Brief: t` (Exchange): leave out what the absence of an element already says.
pub fn brief(req: &Request) -> bool {
    header_str(req, "brief").is_some_and(|v| v.eq_ignore_ascii_case("t"))
}

/// Read an XML request body under the configured cap (413 beyond it).
pub async fn xml_body(state: &AppState, req: &mut Request) -> Result<Bytes, HttpError> {
    req.body(state.limits().max_body).await
}

/// A streamed listing (multistatus, folder page): a head, one piece per row of a lazy store
/// iterator, a tail; produced a page at a time (see `transport::outbound`).
pub fn stream_listing<I, T>(
    state: &AppState,
    status: StatusCode,
    content_type: &'static str,
    start: impl FnOnce(&AppState, &mut Vec<u8>) -> Result<I, StoreError> + Send + 'static,
    row: impl FnMut(&AppState, T, &mut Vec<u8>) + Send + 'static,
    end: impl FnOnce(usize, &mut Vec<u8>) + Send + 'static,
) -> Response
where
    I: Iterator<Item = Result<T, StoreError>> + Send + 'static,
    T: 'static,
{
    crate::transport::outbound::stream_pages(
        state,
        status,
        content_type,
        crate::transport::outbound::RowPages::new(start, row, end),
    )
}

/// The content type of multistatus answers, as Exchange sends it.
pub const MULTISTATUS_TYPE: &str = "text/xml; charset=\"utf-8\"";
