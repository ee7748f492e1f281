//! PROPFIND: Depth 0 and 1 (infinity refused as Exchange does, with RFC 4918's
//! `propfind-finite-depth`; a missing Depth means infinity, RFC 4918 §9.1), `allprop`,
//! `prop`, `propname`, empty body = `allprop`, `Brief: t`.
//!
//! Also owns [`multistatus`], the streamed answer SEARCH shares: the resource itself and/or
//! its members, read lazily from the store, each written as one `<a:response>` and sent in
//! chunks, so a Depth 1 listing of 100,000 messages holds one message at a time.

use warp::http::StatusCode;

use super::path::RequestSpelling;
use super::props::{Entry, matches_text, write_response};
use super::{
    Depth, Found, MULTISTATUS_TYPE, Resource, brief, depth, locate, stream_listing, xml_body,
};
use crate::protocol::dav_xml::{
    PropfindRequest, multistatus_head, multistatus_tail, parse_propfind,
};
use crate::protocol::legacy_dn::{AdminGroup, Subject};
use crate::protocol::mapi::PropName;
use crate::protocol::public_tree::NON_IPM_SUBTREE;
use crate::store::{Store, StoreError};
use crate::transport::{AppState, HttpError, Request, Response};

pub async fn propfind(
    state: &AppState,
    mut req: Request,
    target: &Resource,
) -> Result<Response, HttpError> {
    let members = match depth(&req)? {
        Some(Depth::Zero) => false,
        Some(Depth::One) => true,
        None | Some(Depth::Infinity) => {
            return Err(HttpError::precondition(
                StatusCode::FORBIDDEN,
                "propfind-finite-depth",
                "PROPFIND with Depth: infinity (or no Depth header) is refused, as Exchange does; send Depth: 0 or 1",
            ));
        }
    };
    let body = xml_body(state, &mut req).await?;
    let request = parse_propfind(&body, &state.limits().xml)?;
    let found = locate(state, target).await?.require()?;
    Ok(multistatus(
        state,
        found,
        Listing {
            include_self: true,
            members,
            request,
            brief: brief(&req),
            conditions: Vec::new(),
            request_url: Some(req.path.clone()),
        },
    ))
}

/// What a multistatus answer lists.
pub struct Listing {
    pub include_self: bool,
    pub members: bool,
    pub request: PropfindRequest,
    pub brief: bool,
    /// SEARCH's WHERE: every `(property, value)` must match.
    pub conditions: Vec<(PropName, String)>,
    /// How the client spelt the target (request path, SEARCH's FROM): echoed in hrefs.
    pub request_url: Option<String>,
}

impl Listing {
    fn accepts(&self, e: &Entry) -> bool {
        self.conditions
            .iter()
            .all(|(name, want)| e.value(name).is_some_and(|v| matches_text(&v, want)))
    }
}

/// Stream a 207 answer for `found` (already known to exist).
pub fn multistatus(state: &AppState, found: Found, listing: Listing) -> Response {
    let this = Entry::from_found(&found);
    // Hrefs echo the client's spelling of the target (cadaver compares them byte for byte).
    let spelling = match (&listing.request_url, &this) {
        (Some(url), Some(e)) => RequestSpelling::new(url, &e.href),
        _ => None,
    };
    let listing = std::sync::Arc::new((listing, spelling));
    let (head, rows) = (listing.clone(), listing.clone());
    stream_listing(
        state,
        StatusCode::MULTI_STATUS,
        MULTISTATUS_TYPE,
        move |st, buf| {
            let (listing, spelling) = &*head;
            buf.extend_from_slice(multistatus_head().as_bytes());
            if listing.include_self {
                if let Some(mut e) = this {
                    respell(spelling.as_ref(), &mut e);
                    if listing.accepts(&e) {
                        write_response(&e, &listing.request, listing.brief, buf);
                    }
                }
            }
            if !listing.members {
                return Ok(Box::new(std::iter::empty()) as Entries);
            }
            let hint = subject_condition(&listing.conditions);
            members_of(st.store(), &found, hint)
        },
        move |_, mut e, buf| {
            let (listing, spelling) = &*rows;
            respell(spelling.as_ref(), &mut e);
            if listing.accepts(&e) {
                write_response(&e, &listing.request, listing.brief, buf);
            }
        },
        |_, buf| buf.extend_from_slice(multistatus_tail().as_bytes()),
    )
}

fn respell(spelling: Option<&RequestSpelling>, e: &mut Entry) {
    if let Some(sp) = spelling {
        e.href = sp.apply(&e.href);
        e.parent = e.parent.as_deref().map(|p| sp.apply(p));
    }
}

/// A WHERE condition on the subject lets an admin-group folder be read through the
/// (folder, subject) index instead of in full.
fn subject_condition(conds: &[(PropName, String)]) -> Option<Subject> {
    use crate::protocol::mapi::tags;
    conds.iter().find_map(|(n, v)| {
        let on_subject = *n == PropName::mapi_subject()
            || *n == PropName::Mapi(tags::SUBJECT)
            || *n == PropName::Mapi(tags::NORMALIZED_SUBJECT);
        on_subject.then(|| Subject::parse(v).ok()).flatten()
    })
}

type Entries = Box<dyn Iterator<Item = Result<Entry, StoreError>> + Send>;

/// The members of a collection, lazily; nothing for an item.
pub fn members_of(
    store: &Store,
    found: &Found,
    subject: Option<Subject>,
) -> Result<Entries, StoreError> {
    Ok(match found {
        Found::Root => {
            let non_ipm = Entry::from_found(&Found::NonIpm).map(Ok);
            Box::new(
                non_ipm
                    .into_iter()
                    .chain(store.pf_children(&[]).map(|n| n.map(Entry::node))),
            )
        }
        Found::NonIpm => {
            let fb = Entry::from_found(&Found::FbRoot).map(Ok);
            let path = [NON_IPM_SUBTREE.to_string()];
            Box::new(
                fb.into_iter()
                    .chain(store.pf_children(&path).map(|n| n.map(Entry::node))),
            )
        }
        Found::FbRoot => Box::new(
            store
                .list_folders()?
                .into_iter()
                .map(|f| Ok(Entry::fb_folder(&f))),
        ),
        Found::FbFolder(rec) => {
            let Ok(folder) = AdminGroup::parse(&rec.name) else {
                return Ok(Box::new(std::iter::empty()));
            };
            match subject {
                Some(s) => {
                    let f = folder.clone();
                    Box::new(
                        store
                            .find_messages(&folder, &s)?
                            .into_iter()
                            .map(move |m| Ok(Entry::fb_item(&f, m))),
                    )
                }
                None => Box::new(
                    store
                        .fb_messages(&folder)
                        .map(move |m| m.map(|m| Entry::fb_item(&folder, m))),
                ),
            }
        }
        Found::Node(n) if n.is_folder() => {
            Box::new(store.pf_children(&n.path).map(|n| n.map(Entry::node)))
        }
        _ => Box::new(std::iter::empty()),
    })
}
