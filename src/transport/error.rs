//! The one mapping from a failure to an HTTP answer.
//!
//! A 4xx carries one sentence a lab admin can act on; a 5xx is a bug or a broken store and
//! is logged by the dispatcher.

use warp::http::StatusCode;

use super::{Response, text_response};
use crate::admin::AdminError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    pub status: StatusCode,
    pub message: String,
}

impl HttpError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        HttpError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(m: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, m)
    }

    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, m)
    }

    pub fn internal(m: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, m)
    }

    /// 503: the server cannot take this on now (too many connections, a request that ran
    /// out of time). Answered with `Retry-After`.
    pub fn busy(m: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, m)
    }

    pub fn too_large(cap: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than the {cap}-byte limit"),
        )
    }

    pub fn into_response(self) -> Response {
        let mut body = self.message;
        body.push('\n');
        let mut r = text_response(self.status, body);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(
                warp::http::header::RETRY_AFTER,
                warp::http::HeaderValue::from_static("1"),
            );
        }
        r
    }
}

impl From<AdminError> for HttpError {
    fn from(e: AdminError) -> Self {
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpError::new(status, e.to_string())
    }
}
