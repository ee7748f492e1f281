//! The one mapping from a failure to an HTTP answer.
//!
//! A 4xx carries one sentence a lab admin can act on; a 5xx is a bug or a broken store and
//! is logged by the dispatcher.

use warp::http::StatusCode;

use super::{Response, text_response};
use crate::admin::AdminError;
use crate::auth::{Refusal, RefusalKind};
use crate::protocol::dav_xml::XmlError;
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    pub status: StatusCode,
    pub message: String,
    /// The `auth` rule that refused the request, for 401 and 403.
    pub rule: Option<&'static str>,
}

impl HttpError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        HttpError {
            status,
            message: message.into(),
            rule: None,
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
        mark_refusal(&mut r, self.rule);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(
                warp::http::header::RETRY_AFTER,
                warp::http::HeaderValue::from_static("1"),
            );
        }
        r
    }
}

/// A refusal by an `auth` rule: 401 carries the Basic challenge, and both 401 and 403 name
/// the rule in `X-Schedplus-Rule` (the body says it in words).
pub fn mark_refusal(r: &mut Response, rule: Option<&'static str>) {
    use warp::http::HeaderValue;
    if r.status() == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            warp::http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static(crate::auth::CHALLENGE),
        );
    }
    if let Some(rule) = rule {
        r.headers_mut()
            .insert(RULE_HEADER, HeaderValue::from_static(rule));
    }
}

/// The header naming the rule that refused a request.
pub const RULE_HEADER: &str = "x-schedplus-rule";

/// 401 when credentials would help (the answer carries the Basic challenge), else 403.
pub fn refusal_status(kind: RefusalKind) -> StatusCode {
    match kind {
        RefusalKind::SignIn => StatusCode::UNAUTHORIZED,
        RefusalKind::Forbidden => StatusCode::FORBIDDEN,
    }
}

impl From<Refusal> for HttpError {
    fn from(r: Refusal) -> Self {
        HttpError {
            status: refusal_status(r.kind),
            message: r.to_string(),
            rule: Some(r.rule),
        }
    }
}

/// The status of a store failure that is not a refusal of the request itself: a full disk
/// is 507 and a stuck disk 503 (both with the store's sentence); anything else is a broken
/// store, 500.
impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        match store_status(&e) {
            StatusCode::INTERNAL_SERVER_ERROR => {
                HttpError::internal(format!("the store failed: {e}"))
            }
            status => HttpError::new(status, e.to_string()),
        }
    }
}

/// 507 for a full disk, 503 for a stuck one, 500 for any other store failure.
fn store_status(e: &StoreError) -> StatusCode {
    if e.is_out_of_space() {
        StatusCode::INSUFFICIENT_STORAGE
    } else if matches!(e, StoreError::Stalled(_)) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// A request body that is not the XML asked for: 422 (Unprocessable Entity) for a well-formed
/// body carrying a typed value that cannot be read (`b:dt="int"` with `abc`), 400 for
/// everything else.
impl From<XmlError> for HttpError {
    fn from(e: XmlError) -> Self {
        let status = match e {
            XmlError::BadValue { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_REQUEST,
        };
        HttpError::new(status, e.to_string())
    }
}

/// The status of an admin operation's failure, for the admin API's JSON errors and for
/// `/calendars/`: bad input 400, an unknown name 404, a conflict 409, a store failure as for
/// a [`StoreError`] (507, 503 or 500), anything else 500.
pub fn admin_status(e: &AdminError) -> StatusCode {
    match e {
        AdminError::BadInput(_) => StatusCode::BAD_REQUEST,
        AdminError::NotFound(_) => StatusCode::NOT_FOUND,
        AdminError::Conflict(_) => StatusCode::CONFLICT,
        AdminError::Store(s) => store_status(s),
        AdminError::Transport(_) | AdminError::Partial(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<AdminError> for HttpError {
    fn from(e: AdminError) -> Self {
        HttpError::new(admin_status(&e), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full disk is 507 and a stuck one 503, however the store error reaches the transport
    /// (WebDAV handlers take it directly, the admin API and `/calendars/` through
    /// `AdminError`); each keeps the store's sentence.
    #[test]
    fn a_full_disk_is_507_and_a_stuck_one_503() {
        let full = || StoreError::NoSpace {
            path: "/data".into(),
            free: 10,
            reserve: 20,
        };
        for e in [
            HttpError::from(full()),
            HttpError::from(AdminError::from(full())),
        ] {
            assert_eq!(e.status, StatusCode::INSUFFICIENT_STORAGE);
            assert!(e.message.contains("10 bytes free"), "{}", e.message);
        }
        let sled_full = StoreError::Sled(sled::Error::Io(std::io::Error::from_raw_os_error(28)));
        assert_eq!(
            HttpError::from(sled_full).status,
            StatusCode::INSUFFICIENT_STORAGE
        );
        let stuck = || StoreError::Stalled("the disk is stuck".into());
        assert_eq!(
            HttpError::from(stuck()).status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            HttpError::from(AdminError::from(stuck())).status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        let broken = StoreError::Conflict("x".into());
        assert_eq!(
            HttpError::from(AdminError::from(broken)).status,
            StatusCode::CONFLICT
        );
    }

    /// A typed value that cannot be read is 422; any other body fault 400 (litmus's
    /// `propfind_invalid2` expects the 400).
    #[test]
    fn a_bad_value_is_422_and_other_xml_faults_400() {
        use crate::protocol::dav_xml::{XmlLimits, parse_propfind, parse_proppatch};
        let lim = XmlLimits::default();
        let bad_value = br#"<D:propertyupdate xmlns:D="DAV:" xmlns:m="http://schemas.microsoft.com/mapi/proptag/"><D:set><D:prop><m:0x68470003>next week</m:0x68470003></D:prop></D:set></D:propertyupdate>"#;
        let e = HttpError::from(parse_proppatch(bad_value, &lim).unwrap_err());
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(e.message.contains("x68470003"), "{}", e.message);
        for body in [
            &b"<foo>"[..],
            br#"<propfind xmlns="DAV:">"#,
            b"<!DOCTYPE x><x/>",
        ] {
            let e = HttpError::from(parse_propfind(body, &lim).unwrap_err());
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{}", e.message);
        }
    }

    /// A refusal that credentials would lift is a 401 with the Basic challenge; any other a
    /// 403 without one; both name the rule.
    #[test]
    fn a_refusal_is_401_with_a_challenge_or_403() {
        let refusal = |kind| Refusal {
            kind,
            rule: "write-authenticated",
            message: "sign in".into(),
        };
        let r = HttpError::from(refusal(RefusalKind::SignIn)).into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.headers()[warp::http::header::WWW_AUTHENTICATE],
            crate::auth::CHALLENGE
        );
        assert_eq!(r.headers()[RULE_HEADER], "write-authenticated");
        let r = HttpError::from(refusal(RefusalKind::Forbidden)).into_response();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(
            !r.headers()
                .contains_key(warp::http::header::WWW_AUTHENTICATE)
        );
        assert_eq!(r.headers()[RULE_HEADER], "write-authenticated");
    }
}
