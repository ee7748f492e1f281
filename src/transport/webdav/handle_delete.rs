//! DELETE: ordinary items and folders (recursively, in one transaction), free/busy
//! messages by URL, and whole admin-group folders with their messages.

use warp::http::{Method, StatusCode};

use super::{Found, Resource, locate};
use crate::auth::Principal;
use crate::transport::{AppState, HttpError, Response};

pub async fn delete(
    state: &AppState,
    principal: &Principal,
    target: &Resource,
) -> Result<Response, HttpError> {
    let found = locate(state, target).await?.require()?;
    match found {
        Found::Node(n) => {
            // The store checks every node of the subtree is the writer's, under its lock.
            let writer = state.auth().item_writer(principal)?;
            let path = n.path.clone();
            state
                .blocking(move |st| st.store().pf_delete(&path, &writer))
                .await??;
        }
        Found::FbItem(folder, rec) => {
            // The store applies the owner rule under its lock.
            let writer = state.auth().fb_writer(principal)?;
            let leaf = rec.leaf.clone();
            let gone = state
                .blocking(move |st| st.store().fb_delete_at(&folder, &leaf, &writer))
                .await??;
            if !gone {
                return Err(HttpError::not_found("the message was deleted meanwhile"));
            }
        }
        Found::FbFolder(_) => {
            state.auth().fb_folder(principal)?;
            let Resource::FbFolder(folder) = target.clone() else {
                return Err(HttpError::not_found("no such admin-group folder"));
            };
            state
                .blocking(move |st| st.store().fb_delete_folder(&folder))
                .await??
                .ok_or_else(|| HttpError::not_found("the folder was deleted meanwhile"))?;
        }
        other => return Err(super::not_allowed(&Method::DELETE, &other)),
    }
    let mut r = Response::new(Default::default());
    *r.status_mut() = StatusCode::NO_CONTENT;
    Ok(r)
}
