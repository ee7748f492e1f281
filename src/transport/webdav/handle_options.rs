//! OPTIONS: what the server speaks (`DAV: 1`, no locking) and what this resource allows.

use warp::http::{HeaderValue, StatusCode, header};

use super::{Resource, locate};
use crate::transport::{AppState, HttpError, Response};

pub async fn options(state: &AppState, target: &Resource) -> Result<Response, HttpError> {
    let found = locate(state, target).await?;
    let mut r = Response::new(Default::default());
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert("dav", HeaderValue::from_static("1"));
    h.insert("ms-author-via", HeaderValue::from_static("DAV"));
    h.insert(header::ALLOW, HeaderValue::from_static(found.allow()));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    Ok(r)
}
