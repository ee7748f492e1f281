//! Who sent a request: Basic credentials checked against the directory (the hash pool
//! runs Argon2), or anonymous.

use std::net::SocketAddr;

use warp::http::header;

use super::request_log::RemoteAddr;
use super::{AppState, HttpError};
use crate::auth::{AuthMode, Lookup, Principal};

/// Who sent `req`: anonymous without `Authorization` (or with `--auth none`, which ignores
/// it), else the directory user whose password it carries. Wrong credentials are a 401
/// whatever the request, so a client learns at once that its password is wrong; the log
/// says why (never the password), the client only that it failed.
pub(super) async fn sign_in(
    state: &AppState,
    credentials: Option<header::HeaderValue>,
    remote: Option<SocketAddr>,
) -> Result<Principal, HttpError> {
    if state.auth().mode == AuthMode::None {
        return Ok(Principal::Anonymous);
    }
    let Some(value) = credentials else {
        return Ok(Principal::Anonymous);
    };
    let refuse = |why: &str| {
        HttpError::from(crate::auth::Refusal {
            kind: crate::auth::RefusalKind::SignIn,
            rule: "sign-in",
            message: format!("{why}; send Basic credentials of a directory user with a password"),
        })
    };
    let (name, pw) = match crate::auth::parse_basic(value.as_bytes()) {
        Ok(c) => c,
        Err(why) => {
            tracing::warn!(remote = %RemoteAddr(remote), reason = why, "sign-in failed");
            crate::app::metrics::sign_in_failed("malformed");
            return Err(refuse(why));
        }
    };
    let (n, p) = (name.clone(), pw.clone());
    let lookup = state
        .blocking(move |st| st.authenticator().lookup(st.store(), &n, &p))
        .await?
        .map_err(|e| HttpError::internal(format!("the store failed while signing in: {e}")))?;
    let result = match lookup {
        Lookup::Known(u) => Ok(u),
        Lookup::Verify { user, phc } => {
            let matched = state
                .hashing()
                .verify(phc.clone(), pw.clone())
                .await
                .map_err(|_| {
                    HttpError::busy(format!(
                        "{} sign-ins are already waiting for a password check; try again in a moment",
                        crate::auth::HASH_QUEUE
                    ))
                })?;
            state.authenticator().settle(user, &phc, &pw, matched)
        }
    };
    match result {
        Ok(u) => Ok(Principal::User(u)),
        Err(failure) => {
            tracing::warn!(user = %name, remote = %RemoteAddr(remote), reason = failure.as_str(), "sign-in failed");
            crate::app::metrics::sign_in_failed(failure.label());
            Err(refuse("wrong user name or password"))
        }
    }
}
