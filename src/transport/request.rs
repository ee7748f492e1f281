//! A request as handlers see it ([`Request`]: the body read under a cap and a time limit)
//! and the plain answers handlers build ([`text_response`], [`bytes_response`]).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use warp::http::{HeaderMap, Method, StatusCode, header};

use super::{HttpError, Limits, Response};
use crate::auth::Principal;

/// A request as handlers see it. The body is not read yet: handlers read it with the cap
/// that fits them.
pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub remote: Option<SocketAddr>,
    /// Who sent it (set by [`dispatch`](super::dispatch) from `Authorization`).
    pub principal: Principal,
    pub(super) body: Option<BodyStream>,
    pub(super) body_timeout: Duration,
    /// The connection it came on (none for a request built in-process).
    pub(super) connection: Option<super::accept::Connection>,
}

pub(super) type BodyStream =
    std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, warp::Error>> + Send>>;

impl Request {
    /// A request with a complete body, for tests and in-process callers.
    pub fn new(method: Method, path_and_query: &str, headers: HeaderMap, body: Bytes) -> Self {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (path_and_query.to_string(), None),
        };
        Request {
            method,
            path,
            query,
            headers,
            remote: None,
            principal: Principal::Anonymous,
            body: Some(Box::pin(futures_util::stream::once(
                async move { Ok(body) },
            ))),
            body_timeout: Limits::default().body_timeout,
            connection: None,
        }
    }

    /// Read the whole body, refusing more than `cap` bytes with 413. A declared
    /// Content-Length over the cap is refused before reading anything. A body that has not
    /// arrived [`Limits::body_timeout`] after the first read is refused with 408, so a client
    /// trickling a byte at a time cannot hold a request open.
    pub async fn body(&mut self, cap: usize) -> Result<Bytes, HttpError> {
        let declared = self
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > cap as u64) {
            return Err(HttpError::too_large(cap));
        }
        let Some(mut stream) = self.body.take() else {
            return Ok(Bytes::new());
        };
        let read = async move {
            let mut buf = BytesMut::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| {
                    HttpError::bad_request(format!("the request body broke off: {e}"))
                })?;
                if buf.len() + chunk.len() > cap {
                    return Err(HttpError::too_large(cap));
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(buf.freeze())
        };
        let timeout = self.body_timeout;
        tokio::time::timeout(timeout, read).await.map_err(|_| {
            HttpError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} s; send it without pausing",
                    timeout.as_secs_f64()
                ),
            )
        })?
    }
}

pub fn text_response(status: StatusCode, body: impl Into<String>) -> Response {
    let mut r = Response::new(body.into().into());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

pub fn bytes_response(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    r
}
