//! Replication over HTTP: the endpoint peers and Exchsync links talk to, and the 503 for a
//! folder this server holds no replica of.
//!
//! `POST /replication/changes` (a peer's [`ChangesRequest`], answered with a
//! [`ChangesPage`](crate::protocol::replica::ChangesPage)) and `POST /replication/push` (an
//! Exchsync session's [`PushRequest`], answered with its counts once they are durable).
//! Both need the header `X-Schedplus-Replication-Secret` with `replication_secret`,
//! compared in constant time; without a configured secret both are refused, whoever asks.
//! Any other method is 405.
//!
//! [`no_replica`] answers a free/busy query for users of an admin group, or a WebDAV
//! request under an admin-group folder, that this server holds no replica of, as Exchange
//! did: 503, with a body naming the folder and the servers known to hold one.

use warp::http::{Method, StatusCode};

use super::webdav::Resource;
use super::{HttpError, Request, Response, bytes_response};
use crate::app::replication::Topology;
use crate::protocol::address::UserAddress;
use crate::protocol::legacy_dn::{AdminGroup, LegacyDn};
use crate::protocol::replica::{
    ChangesRequest, Holder, PushRequest, SECRET_HEADER, no_replica_body,
};
use crate::store::Store;

/// `/replication/…`
pub fn is_replication(path: &str) -> bool {
    path == "/replication" || path.starts_with("/replication/")
}

pub async fn handle(state: &super::AppState, mut req: Request) -> Result<Response, HttpError> {
    let path = req.path.clone();
    let push = match path.as_str() {
        "/replication/changes" => false,
        "/replication/push" => true,
        _ => {
            return Err(HttpError::not_found(format!(
                "nothing is served at {path}; replication uses POST /replication/changes and POST /replication/push"
            )));
        }
    };
    if req.method != Method::POST {
        return Err(HttpError::method_not_allowed(
            "POST",
            format!("{path} answers POST only"),
        ));
    }
    let topology = state.topology();
    if topology.settings.replication.configured_secret().is_none() {
        return Err(HttpError::forbidden(
            "replication is off on this server: it has no replication_secret",
        ));
    }
    let given = req.headers.get(SECRET_HEADER).map(|v| v.as_bytes());
    if !topology.secret_ok(given) {
        return Err(HttpError::forbidden(format!(
            "the {SECRET_HEADER} header is missing or is not this server's replication_secret"
        )));
    }
    let body = req.body(state.limits().max_admin_body).await?;
    if push {
        answer(state, &body, |t, store, push: PushRequest| {
            t.accept_push(store, &push)
        })
        .await
    } else {
        answer(state, &body, |t, store, ask: ChangesRequest| {
            t.changes_page(store, &ask)
        })
        .await
    }
}

/// Read the request's JSON, run `work` on the store threads, answer its JSON.
async fn answer<Q, A>(
    state: &super::AppState,
    body: &[u8],
    work: fn(&Topology, &Store, Q) -> Result<A, crate::store::StoreError>,
) -> Result<Response, HttpError>
where
    Q: serde::de::DeserializeOwned + Send + 'static,
    A: serde::Serialize + Send + 'static,
{
    let q: Q = serde_json::from_slice(body)
        .map_err(|e| HttpError::bad_request(format!("the body is not replication JSON: {e}")))?;
    let a = state
        .blocking(move |st| work(st.topology(), st.store(), q))
        .await??;
    let bytes = serde_json::to_vec(&a).expect("serialisable");
    Ok(bytes_response(StatusCode::OK, "application/json", bytes))
}

/// The 503 for `folder`, if this server holds no replica of it.
fn refuse(state: &super::AppState, folder: &AdminGroup) -> Result<(), HttpError> {
    let t = state.topology();
    if t.holds(folder) {
        return Ok(());
    }
    Err(no_replica_answer(
        state,
        folder.as_str(),
        &t.holders(folder),
    ))
}

/// The no-replica 503 for `folder` (as it is to be named), from this server, naming the
/// servers known to hold it; the injected 503 of a fault rule is the same answer.
pub(super) fn no_replica_answer(
    state: &super::AppState,
    folder: &str,
    holders: &[Holder],
) -> HttpError {
    let body = no_replica_body(folder, state.topology().name(), holders);
    HttpError::new(StatusCode::SERVICE_UNAVAILABLE, body.trim_end())
}

/// 503 when a WebDAV request at `path` is at or under an admin-group folder this server
/// holds no replica of. Nothing is looked at when the server holds every folder.
pub fn no_replica(state: &super::AppState, path: &str) -> Result<(), HttpError> {
    if state.topology().settings.replicas.is_all() {
        return Ok(());
    }
    match super::webdav::path::resolve(path) {
        Ok(Resource::FbFolder(folder) | Resource::FbItem(folder, _)) => refuse(state, &folder),
        // Not an admin-group folder, or not a path at all: the handler answers.
        _ => Ok(()),
    }
}

/// 503 when the free/busy query `q` names a user of an admin-group folder this server holds
/// no replica of (the first such user decides). Nothing is looked at when the server holds
/// every folder.
pub async fn no_replica_for_query(
    state: &super::AppState,
    q: &crate::protocol::query::FreeBusyQuery,
) -> Result<(), HttpError> {
    if state.topology().settings.replicas.is_all() {
        return Ok(());
    }
    let users = q.users.clone();
    // The users are looked up in order until one is of a folder not held here.
    let missing = state
        .blocking(move |st| {
            users.iter().find_map(|addr| {
                let folder = match addr {
                    UserAddress::Ex(dn) => LegacyDn::parse(dn).ok().map(|d| d.admin_group()),
                    other => st
                        .store()
                        .find_user(other)
                        .ok()
                        .flatten()
                        .map(|u| u.legacy_dn.admin_group()),
                };
                folder.filter(|f| !st.topology().holds(f))
            })
        })
        .await?;
    missing.map_or(Ok(()), |f| refuse(state, &f))
}
