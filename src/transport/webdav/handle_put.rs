//! PUT: the body of an item in the ordinary area (created or replaced, dead properties
//! kept). Free/busy messages are written with PROPPATCH, as Exchange clients do.

use warp::http::{HeaderValue, Method, StatusCode, header};

use super::props::Entry;
use super::{Found, Resource, authorize_item, header_str};
use crate::store::PfWrite;
use crate::transport::{AppState, HttpError, Request, Response};

/// PUT on `found`, the resource the dispatcher located before the body is read.
pub async fn put(state: &AppState, mut req: Request, found: Found) -> Result<Response, HttpError> {
    let path = match &found {
        Found::Missing(Resource::Ordinary(p)) => p.clone(),
        Found::Node(n) if !n.is_folder() => {
            // Early, before a large body is read; the store checks again under its lock
            // (the node may appear or change hands while the body arrives).
            authorize_item(state, &req.principal, &n.path).await?;
            n.path.clone()
        }
        other => return Err(super::not_allowed(&Method::PUT, other)),
    };
    let writer = state.auth().item_writer(&req.principal)?;
    let content_type = header_str(&req, "content-type")
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    // Item bodies are documents, not XML requests: they have their own, larger cap.
    let body = req.body(state.limits().max_put_body).await?;
    let (outcome, node) = state
        .blocking(move |st| {
            let outcome =
                st.store()
                    .pf_put(&path, &body, content_type, &writer, st.clock().now_us())?;
            Ok::<_, HttpError>((outcome, st.store().pf_get(&path)?))
        })
        .await??;
    let mut r = Response::new(Default::default());
    *r.status_mut() = match outcome {
        PfWrite::Created => StatusCode::CREATED,
        PfWrite::Replaced => StatusCode::NO_CONTENT,
    };
    if let Some(n) = node {
        let e = Entry::node(n);
        if let Ok(v) = HeaderValue::from_str(&e.etag) {
            r.headers_mut().insert(header::ETAG, v);
        }
    }
    Ok(r)
}
