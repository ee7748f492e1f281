//! MKCOL: a folder in the ordinary area, or an admin-group folder under
//! `SCHEDULE+ FREE BUSY` (its name must read as `EX:/o=…`). MKCOL takes no body (RFC 4918
//! §9.3: an unsupported body is a 415).

use warp::http::{Method, StatusCode};

use super::{Found, Resource, locate};
use crate::transport::{AppState, HttpError, Request, Response};

pub async fn mkcol(
    state: &AppState,
    mut req: Request,
    target: &Resource,
) -> Result<Response, HttpError> {
    let body = req.body(state.limits().max_body).await?;
    if !body.is_empty() {
        return Err(HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "MKCOL with a body is not supported; send MKCOL without one",
        ));
    }
    let found = locate(state, target).await?;
    match found {
        Found::Missing(Resource::Ordinary(path)) => {
            let writer = state.auth().item_writer(&req.principal)?;
            state
                .blocking(move |st| st.store().pf_mkcol(&path, &writer, st.clock().now_us()))
                .await??;
        }
        Found::Missing(Resource::FbFolder(folder)) => {
            state.auth().fb_folder(&req.principal)?;
            state
                .blocking(move |st| st.store().fb_create_folder(&folder, st.clock().now_us()))
                .await??;
        }
        Found::Missing(Resource::FbInvalid(why)) => {
            return Err(HttpError::forbidden(format!(
                "only admin-group folders (EX:/o=Org/ou=AG) can be created here: {why}"
            )));
        }
        other => {
            return Err(super::not_allowed(
                &Method::from_bytes(b"MKCOL").expect("token"),
                &other,
            ));
        }
    }
    let mut r = Response::new(Default::default());
    *r.status_mut() = StatusCode::CREATED;
    Ok(r)
}
