//! GET and HEAD. A browser (`Accept: text/html`, no `Translate: f`) gets HTML: a folder
//! listing (streamed, so a folder of 100,000 messages is fine) or a free/busy message page.
//! Everyone else gets the stored body of an item (a free/busy message: a small
//! `message/rfc822` carrying its subject; its data lives in properties) and the HTML listing
//! for a folder, which has no body of its own. ETag and Last-Modified on everything;
//! `If-None-Match` answers 304.

use warp::http::{HeaderValue, StatusCode, header};

use super::handle_propfind::members_of;
use super::props::{Entry, rfc822_body};
use super::{DavError, Found, Resource, SinkError, header_str, locate, stream_response};
use crate::transport::{AppState, Request, Response, bytes_response};

/// Does the client want a page rather than the item itself?
fn wants_html(req: &Request) -> bool {
    let translate_off = header_str(req, "translate").is_some_and(|v| v.eq_ignore_ascii_case("f"));
    let html =
        header_str(req, "accept").is_some_and(|v| v.to_ascii_lowercase().contains("text/html"));
    html && !translate_off
}

pub async fn get(state: &AppState, req: Request, target: &Resource) -> Result<Response, DavError> {
    let found = locate(state, target).await?.require()?;
    let entry = Entry::from_found(&found)
        .ok_or_else(|| DavError::not_found("nothing exists at this URL"))?;
    if header_str(&req, "if-none-match")
        .is_some_and(|v| v == "*" || v.split(',').any(|t| t.trim() == entry.etag))
    {
        let mut r = Response::new(Default::default());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(with_validators(r, &entry));
    }
    let browser = wants_html(&req);
    let r = match &found {
        f if f.is_collection() => folder_page(state, found.clone(), &entry),
        Found::FbItem(_, rec) if browser => bytes_response(
            StatusCode::OK,
            "text/html; charset=utf-8",
            page::message(&entry, rec).into_bytes(),
        ),
        Found::FbItem(..) => bytes_response(
            StatusCode::OK,
            "message/rfc822",
            rfc822_body(entry.subject.as_deref().unwrap_or_default()).into_bytes(),
        ),
        Found::Node(n) => {
            let path = n.path.clone();
            let body = state
                .blocking(move |st| st.store().pf_body(&path))
                .await??
                .unwrap_or_default();
            let mut r = Response::new(body.into());
            let ct = entry
                .content_type
                .as_deref()
                .unwrap_or("application/octet-stream");
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(ct)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            );
            r
        }
        _ => return Err(DavError::not_found("nothing exists at this URL")),
    };
    Ok(with_validators(r, &entry))
}

fn with_validators(mut r: Response, e: &Entry) -> Response {
    if let Ok(v) = HeaderValue::from_str(&e.etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&e.last_modified()) {
        r.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    r
}

fn folder_page(state: &AppState, found: Found, entry: &Entry) -> Response {
    let entry = entry.clone();
    stream_response(
        state,
        StatusCode::OK,
        "text/html; charset=utf-8",
        move |st, sink| {
            sink.buf
                .extend_from_slice(page::folder_head(&entry).as_bytes());
            let mut count = 0;
            for e in members_of(st.store(), &found, None)? {
                sink.buf.extend_from_slice(page::folder_row(&e?).as_bytes());
                count += 1;
                sink.flush_if_full()?;
            }
            sink.buf
                .extend_from_slice(page::folder_tail(count).as_bytes());
            Ok::<_, SinkError>(())
        },
    )
}

/// Minimal pages until the browse-page module lands.
mod page {
    use super::Entry;
    use crate::store::MessageRecord;

    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }

    pub fn folder_head(e: &Entry) -> String {
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title></head><body><h1>{0}</h1><table>\n",
            esc(&e.name)
        )
    }

    pub fn folder_row(e: &Entry) -> String {
        format!(
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td></tr>\n",
            esc(&e.href),
            esc(&e.name),
            esc(&e.last_modified())
        )
    }

    pub fn folder_tail(count: usize) -> String {
        format!("</table><p>{count} entries</p></body></html>\n")
    }

    pub fn message(e: &Entry, rec: &MessageRecord) -> String {
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title></head><body><h1>{0}</h1><p>{1} busy blocks</p></body></html>\n",
            esc(&e.name),
            rec.fb.fb.busy.as_slice().len()
        )
    }
}
