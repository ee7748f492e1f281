//! What a WebDAV handler reads from its request: headers (`Depth`, `Brief`) and the XML
//! body under the configured cap.

use bytes::Bytes;

use crate::transport::{AppState, HttpError, Request};

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
