//! PROPPATCH: `set` and `remove` in document order, all or nothing, answered with RFC
//! 4918's per-property 207 (a failing property gets its status, every other one 424 Failed
//! Dependency) or, with `Brief: t` and full success, a bare 200 as Exchange gives.
//!
//! On a free/busy message URL that does not exist yet, PROPPATCH creates the message, the
//! way Google Calendar Connector publishes (one request per user). The store decodes the
//! result before writing it, so the `?Cmd=freebusy` answer reflects it at once. A free/busy
//! write that cannot be taken (undecodable, a changed or bad subject, a protected property)
//! is answered with its own status, 409 or 403, and a sentence naming the properties, not
//! inside a 207: Zimbra and other publishers count any 207 as success and never retry.
//! The ordinary area keeps RFC 4918's per-property 207 (litmus checks it).
//!
//! `POST` with a `propertyupdate` body to a free/busy item URL is the same request ([`post`]:
//! Zimbra builds since 2019 send it). A stored message whose owner is nobody in the
//! directory is kept, as Exchange kept it, and counted and logged once per legacyDN.

use std::collections::HashSet;

use warp::http::{Method, StatusCode};

use super::path::{fb_item_href, ordinary_href};
use super::props::is_protected;
use super::{Found, MULTISTATUS_TYPE, Resource, brief, locate, xml_body};
use crate::protocol::dav_xml::{ResponseBuilder, is_propertyupdate, multistatus, parse_proppatch};
use crate::protocol::mapi::{PropChange, PropName, tags};
use crate::protocol::pffb::PffbKind;
use crate::store::{FbPatchOutcome, FbRefusal};
use crate::transport::{AppState, HttpError, Request, Response, bytes_response};

fn op_name(op: &PropChange) -> &PropName {
    match op {
        PropChange::Set(n, _) | PropChange::Remove(n) => n,
    }
}

/// PROPPATCH on `found`, the resource the dispatcher located before the body is read.
pub async fn proppatch(
    state: &AppState,
    mut req: Request,
    found: Found,
) -> Result<Response, HttpError> {
    let body = xml_body(state, &mut req).await?;
    apply(state, req, found, body).await
}

/// `POST` with a `propertyupdate` body to a free/busy item URL: a PROPPATCH, as Zimbra's
/// builds since 2019 send it. Any other POST body is the 405 it always was.
pub async fn post(
    state: &AppState,
    mut req: Request,
    target: &Resource,
) -> Result<Response, HttpError> {
    state.auth().writer(&req.principal)?;
    let found = locate(state, target).await?;
    let fb_item = matches!(
        found,
        Found::FbItem(..) | Found::Missing(Resource::FbItem(..))
    );
    if !fb_item {
        return Err(super::not_allowed(&req.method, &found));
    }
    let body = xml_body(state, &mut req).await?;
    if !is_propertyupdate(&body, &state.limits().xml) {
        return Err(super::not_allowed(&req.method, &found));
    }
    let r = apply(state, req, found, body).await;
    // The dispatcher counts PROPPATCH writes; this one came as POST.
    if r.as_ref().is_ok_and(|r| r.status().is_success()) {
        crate::app::metrics::write("PROPPATCH");
    }
    r
}

async fn apply(
    state: &AppState,
    req: Request,
    found: Found,
    body: bytes::Bytes,
) -> Result<Response, HttpError> {
    let href = match &found {
        Found::Node(n) => ordinary_href(&n.path, n.is_folder()),
        Found::FbItem(folder, rec) => fb_item_href(folder, &rec.leaf),
        Found::Missing(Resource::FbItem(folder, leaf)) => fb_item_href(folder, leaf),
        Found::Missing(_) => return Err(HttpError::not_found("nothing exists at this URL")),
        other => {
            return Err(super::not_allowed(
                &Method::from_bytes(b"PROPPATCH").expect("token"),
                other,
            ));
        }
    };
    let ops = parse_proppatch(&body, &state.limits().xml)?;
    let brief = brief(&req);

    let fb_item = !matches!(found, Found::Node(_));
    if ops.iter().any(|op| is_protected(op_name(op))) {
        if fb_item {
            return Err(HttpError::forbidden(format!(
                "nothing was stored: {} cannot be set or removed (the server computes it)",
                names(&ops, is_protected)
            )));
        }
        return Ok(failed(&href, &ops, is_protected, 403));
    }
    match found {
        Found::Node(n) => {
            let writer = state.auth().item_writer(&req.principal)?;
            let path = n.path.clone();
            let patch = ops.clone();
            state
                .blocking(move |st| st.store().pf_patch(&path, &patch, &writer))
                .await??;
        }
        Found::FbItem(folder, rec) => {
            let writer = state.auth().fb_writer(&req.principal)?;
            fb_patch(state, writer, folder, rec.leaf.clone(), &href, &ops).await?;
        }
        Found::Missing(Resource::FbItem(folder, leaf)) => {
            let writer = state.auth().fb_writer(&req.principal)?;
            fb_patch(state, writer, folder, leaf, &href, &ops).await?;
        }
        _ => unreachable!("filtered above"),
    }
    if brief {
        let mut r = Response::new(Default::default());
        *r.status_mut() = StatusCode::OK;
        return Ok(r);
    }
    let mut rb = ResponseBuilder::new(&href);
    let mut seen = HashSet::new();
    for op in &ops {
        if seen.insert(op_name(op)) {
            rb.prop_name_only(op_name(op));
        }
    }
    Ok(answer(&rb))
}

/// Run the free/busy PROPPATCH; the store applies the owner rule to `writer` under its
/// lock. A refusal is the request's own status (409, 403), never a 207: publishers such as
/// Zimbra count any 207 as success and never retry, so a refusal inside one would lose the
/// user's free/busy without anyone seeing it.
async fn fb_patch(
    state: &AppState,
    writer: crate::store::Writer,
    folder: crate::protocol::legacy_dn::AdminGroup,
    leaf: String,
    href: &str,
    ops: &[PropChange],
) -> Result<(), HttpError> {
    let patch = ops.to_vec();
    let (outcome, unknown_owner) = state
        .blocking(move |st| {
            let outcome =
                st.store()
                    .fb_patch(&folder, &leaf, &patch, &writer, st.clock().now_us())?;
            let unknown = match &outcome {
                FbPatchOutcome::Created(rec) | FbPatchOutcome::Updated(rec) => {
                    st.store().fb_owner_not_in_directory(&folder, rec)?
                }
                FbPatchOutcome::Refused(_) => None,
            };
            Ok::<_, crate::store::StoreError>((outcome, unknown))
        })
        .await??;
    if let Some(dn) = unknown_owner {
        note_unknown_owner(&dn, href);
    }
    let refusal = match outcome {
        FbPatchOutcome::Created(_) | FbPatchOutcome::Updated(_) => return Ok(()),
        FbPatchOutcome::Refused(r) => r,
    };
    let blamed: fn(&PropName) -> bool = match refusal {
        FbRefusal::Undecodable(_) => |n| matches!(n, PropName::Mapi(t) if PffbKind::owns(*t)),
        FbRefusal::BadSubject(_) | FbRefusal::SubjectChanged { .. } => |n| {
            *n == PropName::Mapi(tags::SUBJECT)
                || *n == PropName::Mapi(tags::NORMALIZED_SUBJECT)
                || *n == PropName::mapi_subject()
        },
    };
    // When no property of the request is to blame (the URL's leaf gave the bad subject),
    // the sentence names none.
    let blamed = names(ops, blamed);
    let by = if blamed.is_empty() {
        String::new()
    } else {
        format!(" (refused: {blamed})")
    };
    Err(HttpError::conflict(format!(
        "nothing was stored at {href}: {refusal}{by}"
    )))
}

/// The request's properties that `pick` selects, once each, for a sentence.
fn names(ops: &[PropChange], pick: impl Fn(&PropName) -> bool) -> String {
    let mut seen = HashSet::new();
    ops.iter()
        .map(op_name)
        .filter(|n| pick(n) && seen.insert(*n))
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// legacyDNs already warned about, so a publisher that rewrites its message every few
/// minutes logs one warning, not one per write.
static WARNED: crate::app::metrics::FirstSeen = crate::app::metrics::FirstSeen::new(4096);

/// A message stored whose owner is nobody in the directory (Exchange stored these too):
/// counted every time, logged once per legacyDN.
fn note_unknown_owner(dn: &str, href: &str) {
    crate::app::metrics::unknown_owner_stored();
    let first = WARNED.first(dn);
    if first {
        tracing::warn!(
            legacy_dn = %dn,
            href = %href,
            "stored a free/busy message whose legacyDN {dn} names nobody in the directory; the query answers no data for it until the directory lists that user"
        );
    }
}

/// The 207 of a failed PROPPATCH in the ordinary area: `status` for the blamed
/// properties, 424 for the rest (RFC 4918 §9.2.1).
fn failed(
    href: &str,
    ops: &[PropChange],
    blamed: impl Fn(&PropName) -> bool,
    status: u16,
) -> Response {
    let mut rb = ResponseBuilder::new(href);
    let mut seen = HashSet::new();
    for op in ops {
        let n = op_name(op);
        if seen.insert(n) {
            rb.prop_status(n, if blamed(n) { status } else { 424 });
        }
    }
    answer(&rb)
}

fn answer(rb: &ResponseBuilder) -> Response {
    bytes_response(
        StatusCode::MULTI_STATUS,
        MULTISTATUS_TYPE,
        multistatus(std::slice::from_ref(rb)),
    )
}
