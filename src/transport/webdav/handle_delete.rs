//! DELETE: ordinary items and folders (recursively, in one transaction), free/busy
//! messages by URL, and whole admin-group folders with their messages.

use warp::http::{Method, StatusCode};

use super::{DavError, Found, Resource, locate};
use crate::transport::{AppState, Response};

pub async fn delete(state: &AppState, target: &Resource) -> Result<Response, DavError> {
    let found = locate(state, target).await?.require()?;
    match found {
        Found::Node(n) => {
            let path = n.path.clone();
            state
                .blocking(move |st| st.store().pf_delete(&path))
                .await??;
        }
        Found::FbItem(folder, rec) => {
            let leaf = rec.leaf.clone();
            let gone = state
                .blocking(move |st| st.store().fb_delete_at(&folder, &leaf))
                .await??;
            if !gone {
                return Err(DavError::not_found("the message was deleted meanwhile"));
            }
        }
        Found::FbFolder(_) => {
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
