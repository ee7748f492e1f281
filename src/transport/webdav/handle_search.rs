//! SEARCH: the Web Storage System SQL subset publishers use to read a free/busy message
//! (PROTOCOL.md §4), answered as a 207 like PROPFIND's, streamed.
//!
//! `FROM` must name a folder; the scope is shallow (its members). `deep traversal` is
//! accepted on an admin-group folder, which has no subfolders, so it means the same there;
//! elsewhere it is refused. WHERE compares case-insensitively; a condition on the subject
//! reads the folder through the (folder, subject) index instead of in full. SQL outside the
//! subset is a 400 whose text lists what is supported.

use super::handle_propfind::{Listing, multistatus};
use super::path::resolve_url;
use super::{Found, Resource, brief, locate, xml_body};
use crate::protocol::dav_xml::{PropfindRequest, parse_search};
use crate::transport::{AppState, HttpError, Request, Response};

pub async fn search(
    state: &AppState,
    mut req: Request,
    _target: &Resource,
) -> Result<Response, HttpError> {
    let body = xml_body(state, &mut req).await?;
    let sr = parse_search(&body, &state.limits().xml)?;
    let from = resolve_url(&sr.from).map_err(|e| {
        HttpError::bad_request(format!(
            "FROM \"{}\" does not name a folder here: {}",
            sr.from, e.message
        ))
    })?;
    let found = locate(state, &from).await?.require()?;
    if !found.is_collection() {
        return Err(HttpError::bad_request(format!(
            "FROM \"{}\" names an item; SEARCH looks inside a folder",
            sr.from
        )));
    }
    if sr.scope_deep && !matches!(found, Found::FbFolder(_)) {
        return Err(HttpError::bad_request(
            "only shallow traversal is supported here (deep traversal only on admin-group folders, which hold no subfolders); use FROM \"url\" or SCOPE('shallow traversal of \"url\"')",
        ));
    }
    let request = if sr.select.is_empty() {
        PropfindRequest::AllProp {
            include: Vec::new(),
        }
    } else {
        PropfindRequest::Prop(sr.select)
    };
    Ok(multistatus(
        state,
        found,
        Listing {
            include_self: false,
            members: true,
            request,
            brief: brief(&req),
            conditions: sr.conditions,
            request_url: Some(sr.from),
        },
    ))
}
