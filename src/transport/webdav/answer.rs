//! How WebDAV answers that can be large go out: streamed listings, a page at a time
//! (`transport::outbound`), and the multistatus content type.

use warp::http::StatusCode;

use crate::store::StoreError;
use crate::transport::{AppState, Response};

/// A streamed listing (multistatus, folder page): a head, one piece per row of a lazy store
/// iterator, a tail; produced a page at a time (see `transport::outbound`).
pub fn stream_listing<I, T>(
    state: &AppState,
    status: StatusCode,
    content_type: &'static str,
    start: impl FnOnce(&AppState, &mut Vec<u8>) -> Result<I, StoreError> + Send + 'static,
    row: impl FnMut(&AppState, T, &mut Vec<u8>) + Send + 'static,
    end: impl FnOnce(usize, &mut Vec<u8>) + Send + 'static,
) -> Response
where
    I: Iterator<Item = Result<T, StoreError>> + Send + 'static,
    T: 'static,
{
    crate::transport::outbound::stream_pages(
        state,
        status,
        content_type,
        crate::transport::outbound::RowPages::new(start, row, end),
    )
}

/// The content type of multistatus answers, as Exchange sends it.
pub const MULTISTATUS_TYPE: &str = "text/xml; charset=\"utf-8\"";
