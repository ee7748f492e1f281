//! COPY and MOVE in the ordinary public-folder area (RFC 4918 §9.8, §9.9): `Destination`
//! as an absolute URL or path, `Overwrite` (default T: the destination is replaced in the
//! same transaction), `Depth` (COPY: 0 or infinity; MOVE: infinity only). Dead properties
//! travel. The free/busy tree is not a source or destination: its messages are keyed by
//! subject, not by URL, so they are published, not copied.

use warp::http::StatusCode;

use super::path::resolve_url;
use super::{Depth, Found, Resource, depth, header_str, locate};
use crate::store::{CopyDepth, PfWrite};
use crate::transport::{AppState, HttpError, Request, Response};

pub async fn copy_move(
    state: &AppState,
    req: Request,
    target: &Resource,
) -> Result<Response, HttpError> {
    let is_move = req.method.as_str() == "MOVE";
    let found = locate(state, target).await?.require()?;
    let Found::Node(node) = &found else {
        return Err(super::not_allowed(&req.method, &found));
    };
    let dest = header_str(&req, "destination").ok_or_else(|| {
        HttpError::bad_request(format!("{} needs a Destination header", req.method))
    })?;
    let to = match resolve_url(dest)? {
        Resource::Ordinary(p) => p,
        _ => {
            return Err(HttpError::forbidden(
                "the destination must be in the ordinary public-folder area (not /public/ itself, NON_IPM_SUBTREE or SCHEDULE+ FREE BUSY)",
            ));
        }
    };
    let overwrite = match header_str(&req, "overwrite") {
        None => true,
        Some(v) if v.eq_ignore_ascii_case("t") => true,
        Some(v) if v.eq_ignore_ascii_case("f") => false,
        Some(v) => {
            return Err(HttpError::bad_request(format!(
                "Overwrite: {v} is not T or F"
            )));
        }
    };
    let copy_depth = match (depth(&req)?, is_move) {
        (None | Some(Depth::Infinity), _) => CopyDepth::Infinity,
        (Some(Depth::Zero), false) => CopyDepth::Zero,
        (Some(d), _) => {
            return Err(HttpError::bad_request(format!(
                "Depth {d:?} is not valid for {}: COPY takes 0 or infinity, MOVE infinity",
                req.method
            )));
        }
    };
    // MOVE takes the source away: its owner's call. Whatever is replaced at the
    // destination must be the requester's to replace; the new nodes of a COPY are theirs.
    // The store checks every node it moves or replaces, under its write lock.
    let writer = state.auth().item_writer(&req.principal)?;
    let from = node.path.clone();
    let outcome = state
        .blocking(move |st| {
            st.store().pf_transfer(
                &from,
                &to,
                copy_depth,
                overwrite,
                !is_move,
                &writer,
                st.clock().now_us(),
            )
        })
        .await?;
    let outcome = outcome?;
    let mut r = Response::new(Default::default());
    *r.status_mut() = match outcome {
        PfWrite::Created => StatusCode::CREATED,
        PfWrite::Replaced => StatusCode::NO_CONTENT,
    };
    Ok(r)
}
