//! The one mapping from a failure to an HTTP answer.
//!
//! Every failure of the transport is an [`HttpError`]; the `From` impls here are the only
//! places a failure of another layer (a rule's [`Refusal`], a [`StoreError`], an
//! [`XmlError`], an [`app::Error`]) becomes a status.
//!
//! A 4xx carries one sentence a lab admin can act on; a 5xx is a bug or a broken store and
//! is logged, with its sentence, by the dispatcher.

use warp::http::{HeaderValue, StatusCode, header};

use super::{Response, bytes_response, text_response};
use crate::app;
use crate::auth::{Refusal, RefusalKind};
use crate::protocol::dav_xml::{XmlError, error_body};
use crate::protocol::wss_name::NameError;
use crate::store::{PfError, StoreError};

/// `name => STATUS`: a constructor `HttpError::name(message)` answering `StatusCode::STATUS`.
macro_rules! statuses {
    ($($(#[$doc:meta])* $name:ident => $status:ident,)*) => {
        $(
            $(#[$doc])*
            pub fn $name(m: impl Into<String>) -> Self {
                Self::new(StatusCode::$status, m)
            }
        )*
    };
}

/// A failed request, on its way to becoming one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    pub status: StatusCode,
    pub message: String,
    /// The `auth` rule that refused the request, for 401 and 403.
    pub rule: Option<&'static str>,
    /// For a 405: the methods the resource does answer (`Allow`).
    pub allow: Option<&'static str>,
    /// An RFC 4918 precondition element (`propfind-finite-depth`, …): the body is then a
    /// `DAV:error` document naming it rather than the sentence.
    pub condition: Option<&'static str>,
}

impl HttpError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        HttpError {
            status,
            message: message.into(),
            rule: None,
            allow: None,
            condition: None,
        }
    }

    statuses! {
        bad_request => BAD_REQUEST,
        not_found => NOT_FOUND,
        conflict => CONFLICT,
        forbidden => FORBIDDEN,
        internal => INTERNAL_SERVER_ERROR,
        /// 503: the server cannot take this on now (too many connections, a request that ran
        /// out of time, a stuck disk). Answered with `Retry-After`.
        busy => SERVICE_UNAVAILABLE,
        /// 415: a body of a type this route does not take.
        unsupported_media_type => UNSUPPORTED_MEDIA_TYPE,
    }

    pub fn too_large(cap: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than the {cap}-byte limit"),
        )
    }

    /// 405 with the methods that are answered here (`Allow`).
    pub fn method_not_allowed(allow: &'static str, m: impl Into<String>) -> Self {
        HttpError {
            allow: Some(allow),
            ..Self::new(StatusCode::METHOD_NOT_ALLOWED, m)
        }
    }

    /// A refusal with an RFC 4918 precondition body (`propfind-finite-depth`, …).
    pub fn precondition(status: StatusCode, condition: &'static str, m: impl Into<String>) -> Self {
        HttpError {
            condition: Some(condition),
            ..Self::new(status, m)
        }
    }

    /// The answer: the sentence as text (or the `DAV:error` body of a precondition), with
    /// `WWW-Authenticate` and `X-Schedplus-Rule` for a refusal, `Allow` for a 405 and
    /// `Retry-After` for a 503. A 5xx keeps its sentence in the response's extensions for
    /// the dispatcher's log line ([`failure_message`]).
    pub fn into_response(self) -> Response {
        let mut r = match self.condition {
            Some(c) => bytes_response(
                self.status,
                "application/xml; charset=utf-8",
                error_body(c).into_bytes(),
            ),
            None => text_response(self.status, format!("{}\n", self.message)),
        };
        mark_refusal(&mut r, self.rule);
        if let Some(allow) = self.allow {
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.status.is_server_error() {
            r.extensions_mut().insert(Failure(self.message));
        }
        r
    }
}

/// The sentence of a 5xx answer, carried to the log line.
#[derive(Clone, Debug)]
struct Failure(String);

/// Why a 5xx answer failed, as its [`HttpError`] said (for the dispatcher's log line).
pub fn failure_message(r: &Response) -> Option<&str> {
    r.extensions().get::<Failure>().map(|f| f.0.as_str())
}

/// A refusal by an `auth` rule: 401 carries the Basic challenge, and both 401 and 403 name
/// the rule in `X-Schedplus-Rule` (the body says it in words).
pub fn mark_refusal(r: &mut Response, rule: Option<&'static str>) {
    if r.status() == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
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
            rule: Some(r.rule),
            ..HttpError::new(refusal_status(r.kind), r.to_string())
        }
    }
}

/// A store failure becomes an application failure first (`app::Error`'s `From<StoreError>`,
/// the one place that reads a store failure), then its status as any other: a conflict
/// 409, a name that is not there 404, someone else's data 403 (by the owner rule that
/// refused it), a full disk 507, a stuck disk 503, a broken store 500.
impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        app::Error::from(e).into()
    }
}

/// A refused change of the ordinary public-folder area (a node that belongs to someone else
/// comes as the store's refusal, [`StoreError::Refused`]).
impl From<PfError> for HttpError {
    fn from(e: PfError) -> Self {
        let status = match e {
            PfError::Store(s) => return s.into(),
            PfError::NoParent | PfError::ParentNotFolder => StatusCode::CONFLICT,
            PfError::Exists | PfError::IsFolder => StatusCode::METHOD_NOT_ALLOWED,
            PfError::NotFound => StatusCode::NOT_FOUND,
            PfError::TooDeep => StatusCode::BAD_REQUEST,
            PfError::TooLarge(_) => StatusCode::INSUFFICIENT_STORAGE,
            PfError::DestinationExists => StatusCode::PRECONDITION_FAILED,
            PfError::IntoItself => StatusCode::FORBIDDEN,
        };
        HttpError::new(status, e.to_string())
    }
}

/// A path segment that is not a valid name (a free/busy leaf, a legacyDN).
impl From<NameError> for HttpError {
    fn from(e: NameError) -> Self {
        HttpError::bad_request(e.to_string())
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

/// The status of an application failure, for the admin API's JSON errors and for
/// `/calendars/`: bad input 400, an unknown name 404, a conflict 409, a refusal 401 or 403
/// as for a [`Refusal`], too large 413, a full disk 507, a stuck disk (or anything else
/// that cannot be done now) 503, anything else 500.
pub fn app_status(e: &app::Error) -> StatusCode {
    match e {
        app::Error::BadInput(_) => StatusCode::BAD_REQUEST,
        app::Error::NotFound(_) => StatusCode::NOT_FOUND,
        app::Error::Conflict(_) => StatusCode::CONFLICT,
        app::Error::Refused { kind, .. } => refusal_status(*kind),
        app::Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        app::Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        app::Error::OutOfSpace(_) => StatusCode::INSUFFICIENT_STORAGE,
        app::Error::Internal(_) | app::Error::Partial(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<app::Error> for HttpError {
    fn from(e: app::Error) -> Self {
        let rule = match &e {
            app::Error::Refused { rule, .. } => Some(*rule),
            _ => None,
        };
        HttpError {
            rule,
            ..HttpError::new(app_status(&e), e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full disk is 507 and a stuck one 503, however the store error reaches the transport
    /// (WebDAV handlers take it directly, the admin API and `/calendars/` through
    /// `app::Error`); each keeps the store's sentence.
    #[test]
    fn a_full_disk_is_507_and_a_stuck_one_503() {
        let full = || StoreError::NoSpace {
            path: "/data".into(),
            free: 10,
            reserve: 20,
        };
        for e in [
            HttpError::from(full()),
            HttpError::from(app::Error::from(full())),
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
            HttpError::from(app::Error::from(stuck())).status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        let broken = StoreError::Conflict("x".into());
        assert_eq!(
            HttpError::from(app::Error::from(broken)).status,
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

    /// What each kind of failure adds to its answer: `Allow` for a 405, a `DAV:error` body
    /// for a precondition, `Retry-After` for a 503; a 5xx's sentence is kept for the log.
    #[test]
    fn each_failure_answers_with_its_headers() {
        // The bodies here are whole bytes, ready at the first poll.
        let body = |r: Response| {
            use hyper::body::Body as _;
            let mut b = std::pin::pin!(r.into_body());
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            let mut out = Vec::new();
            while let std::task::Poll::Ready(Some(frame)) = b.as_mut().poll_frame(&mut cx) {
                if let Ok(data) = frame.unwrap().into_data() {
                    out.extend_from_slice(&data);
                }
            }
            String::from_utf8(out).unwrap()
        };
        let r = HttpError::method_not_allowed("GET, HEAD", "only reads here").into_response();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()[header::ALLOW], "GET, HEAD");
        assert_eq!(failure_message(&r), None);
        assert_eq!(body(r), "only reads here\n");

        let r = HttpError::precondition(StatusCode::FORBIDDEN, "propfind-finite-depth", "no")
            .into_response();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/xml; charset=utf-8"
        );
        assert!(!r.headers().contains_key(header::ALLOW));
        assert!(body(r).contains("<D:propfind-finite-depth/>"));

        let r = HttpError::busy("the disk is stuck").into_response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        assert_eq!(failure_message(&r), Some("the disk is stuck"));
        let r = HttpError::internal("a bug").into_response();
        assert!(!r.headers().contains_key(header::RETRY_AFTER));
        assert_eq!(failure_message(&r), Some("a bug"));
    }

    /// The store's refusals of the request itself keep their own statuses, and someone
    /// else's data is refused by the rule that protects it.
    #[test]
    fn store_refusals_map_to_their_statuses_and_rules() {
        let refused = |rule, what: &str| {
            StoreError::Refused(crate::store::WriteRefused {
                what: what.into(),
                rule,
                writer: "dan".into(),
            })
        };
        let e = HttpError::from(refused(
            crate::store::OwnerRule::FreeBusy,
            "dan's free/busy",
        ));
        assert_eq!(
            (e.status, e.rule),
            (StatusCode::FORBIDDEN, Some("owner-or-admin"))
        );
        assert_eq!(
            HttpError::from(StoreError::Conflict("x".into())).status,
            StatusCode::CONFLICT
        );
        assert_eq!(
            HttpError::from(StoreError::NotFound("x".into())).status,
            StatusCode::NOT_FOUND
        );
        let e = HttpError::from(PfError::Store(refused(
            crate::store::OwnerRule::Item,
            "/public/a/b",
        )));
        assert_eq!(
            (e.status, e.rule),
            (StatusCode::FORBIDDEN, Some("item-owner-or-admin"))
        );
        assert!(e.message.contains("/public/a/b"), "{}", e.message);
        for (pf, status) in [
            (PfError::NoParent, StatusCode::CONFLICT),
            (PfError::Exists, StatusCode::METHOD_NOT_ALLOWED),
            (PfError::TooLarge(10), StatusCode::INSUFFICIENT_STORAGE),
            (PfError::DestinationExists, StatusCode::PRECONDITION_FAILED),
            (PfError::IntoItself, StatusCode::FORBIDDEN),
            (
                PfError::Store(StoreError::NotFound("x".into())),
                StatusCode::NOT_FOUND,
            ),
        ] {
            assert_eq!(HttpError::from(pf).status, status);
        }
    }
}
