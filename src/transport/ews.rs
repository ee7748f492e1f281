//! `POST /EWS/Exchange.asmx` (the Availability service: `GetUserAvailability`,
//! `GetServerTimeZones`) and `POST /autodiscover/autodiscover.xml` (Outlook's POX form), as
//! an Exchange 2007 Client Access server answered them for legacy mailboxes.
//!
//! Both need Basic credentials of a directory user (unless `--auth none`), as a CAS asked
//! for a domain account. A request that cannot be answered at all is a SOAP fault carrying
//! Exchange's response code, with status 400: Exchange sent 500, but a 5xx here means a
//! bug (docs/behaviour.md). The work is `app::availability`, on the store threads.

use warp::http::{HeaderMap, Method, StatusCode, header};

use super::{AppState, HttpError, Request, Response, bytes_response};
use crate::app::availability::{self, Role, metrics};
use crate::auth::{AuthMode, Principal, Refusal, RefusalKind};
use crate::protocol::ews::{self, EwsFault, EwsRequest, autodiscover, timezone};
use crate::protocol::query::UserAddress;

pub const EWS_PATH: &str = "/EWS/Exchange.asmx";
pub const AUTODISCOVER_PATH: &str = "/autodiscover/autodiscover.xml";

const XML: &str = "text/xml; charset=utf-8";

/// Is `path` one of this front end's (any case, as IIS matched them)?
pub fn is_front_end(path: &str) -> bool {
    path.eq_ignore_ascii_case(EWS_PATH) || path.eq_ignore_ascii_case(AUTODISCOVER_PATH)
}

/// Rule `ews-authenticated`: a directory user, unless nobody signs in.
fn signed_in(state: &AppState, p: &Principal) -> Result<(), HttpError> {
    if state.auth().mode == AuthMode::None || matches!(p, Principal::User(_)) {
        return Ok(());
    }
    Err(Refusal {
        kind: RefusalKind::SignIn,
        rule: "ews-authenticated",
        message: "the Availability service and Autodiscover need Basic credentials of a directory user (a password set by `schedplus directory passwd`)".into(),
    }
    .into())
}

/// The 404 of a path this process's `--role` does not serve.
pub fn not_this_role(path: &str, role: &str) -> HttpError {
    HttpError::not_found(format!(
        "{path} is not served here: this server runs --role {role} (--role both serves the free/busy store and the EWS front end)"
    ))
}

pub async fn handle(state: &AppState, mut req: Request) -> Result<Response, HttpError> {
    if state.cas().role == Role::Store {
        return Err(not_this_role(&req.path, "store"));
    }
    if req.method != Method::POST {
        return Err(HttpError::method_not_allowed(
            "POST",
            "the Availability service and Autodiscover answer POST with an XML body",
        ));
    }
    signed_in(state, &req.principal)?;
    let body = req.body(state.limits().max_body).await?;
    if req.path.eq_ignore_ascii_case(AUTODISCOVER_PATH) {
        return autodiscover_answer(state, &req.headers, body).await;
    }
    let envelope = match ews::parse_envelope(&body, &state.limits().xml) {
        Ok(e) => e,
        Err(f) => return Ok(fault(f)),
    };
    let version = envelope.version;
    match envelope.request {
        EwsRequest::Availability(a) => {
            metrics::request("GetUserAvailability");
            let answers = state
                .blocking(move |st| availability::availability(st.store(), st.cas(), &a))
                .await?;
            Ok(xml(ews::availability_response(&version, &answers)))
        }
        EwsRequest::ServerTimeZones(q) => {
            metrics::request("GetServerTimeZones");
            let (mut found, mut unknown) = (Vec::new(), Vec::new());
            if q.ids.is_empty() {
                found.extend(timezone::ZONES.iter());
            }
            for id in &q.ids {
                match timezone::zone(id) {
                    Some(z) => found.push(z),
                    None => unknown.push(id.clone()),
                }
            }
            Ok(xml(ews::time_zones_response(
                &version, &found, q.full, &unknown,
            )))
        }
    }
}

fn xml(body: String) -> Response {
    bytes_response(StatusCode::OK, XML, body.into_bytes())
}

fn fault(f: EwsFault) -> Response {
    metrics::dropped(f.code);
    tracing::info!(code = f.code, reason = %f.message, "EWS request refused with a SOAP fault");
    bytes_response(StatusCode::BAD_REQUEST, XML, ews::fault(&f).into_bytes())
}

async fn autodiscover_answer(
    state: &AppState,
    headers: &HeaderMap,
    body: bytes::Bytes,
) -> Result<Response, HttpError> {
    metrics::request("Autodiscover");
    let email = autodiscover::parse_request(&body, &state.limits().xml)
        .map_err(|e| HttpError::bad_request(format!("the Autodiscover request: {e}")))?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let ews_url = format!("http://{host}{EWS_PATH}");
    let server = host
        .rsplit_once(':')
        .map_or(host.as_str(), |(h, _)| h)
        .to_string();
    let addr = UserAddress::parse(&email);
    let user = state
        .blocking(move |st| st.store().find_user(&addr))
        .await??;
    let answer = match user {
        Some(u) => autodiscover::response(
            &autodiscover::AutodiscoverUser {
                display_name: &u.display_name,
                legacy_dn: u.legacy_dn.as_str(),
                email: if u.mail.is_empty() { &email } else { &u.mail },
            },
            &server,
            &ews_url,
        ),
        None => autodiscover::error_response(&format!("no directory user has the address {email}")),
    };
    Ok(xml(answer))
}
