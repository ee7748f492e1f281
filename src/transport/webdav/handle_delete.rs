//! DELETE: ordinary items and folders (recursively, in one transaction), free/busy
//! messages by URL, and whole admin-group folders with their messages.

use warp::http::{Method, StatusCode};

use super::{DavError, Found, Resource, authorize_item, locate};
use crate::auth::Principal;
use crate::transport::{AppState, Response};

pub async fn delete(
    state: &AppState,
    principal: &Principal,
    target: &Resource,
) -> Result<Response, DavError> {
    let found = locate(state, target).await?.require()?;
    match found {
        Found::Node(n) => {
            // A folder's owner may delete it with whatever others put inside.
            authorize_item(state, principal, &n.path).await?;
            let path = n.path.clone();
            state
                .blocking(move |st| st.store().pf_delete(&path))
                .await??;
        }
        Found::FbItem(folder, rec) => {
            state
                .auth()
                .fb_message(principal, &folder, Some(&rec.subject))?;
            let leaf = rec.leaf.clone();
            let gone = state
                .blocking(move |st| st.store().fb_delete_at(&folder, &leaf))
                .await??;
            if !gone {
                return Err(DavError::not_found("the message was deleted meanwhile"));
            }
        }
        Found::FbFolder(_) => {
            state.auth().fb_folder(principal)?;
            let Resource::FbFolder(folder) = target.clone() else {
                return Err(DavError::not_found("no such admin-group folder"));
            };
            state
                .blocking(move |st| st.store().fb_delete_folder(&folder))
                .await??
                .ok_or_else(|| DavError::not_found("the folder was deleted meanwhile"))?;
        }
        other => return Err(DavError::not_allowed(&Method::DELETE, &other)),
    }
    let mut r = Response::new(Default::default());
    *r.status_mut() = StatusCode::NO_CONTENT;
    Ok(r)
}
