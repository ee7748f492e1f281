//! What a URL names in the store: [`locate`] looks a [`Resource`] up once and gives a
//! [`Found`], which knows the methods it allows (`Allow`, [`not_allowed`]); and
//! [`authorize_item`], the owner rule asked early and read-only before a PUT reads its body.
//! Handlers call these on their way down to the store; nothing here calls back up.

use warp::http::Method;

use super::Resource;
use crate::auth::Principal;
use crate::store::{FolderRecord, MessageRecord, PfNode};
use crate::transport::{AppState, HttpError};

/// 405 with the methods the resource does allow.
pub fn not_allowed(method: &Method, found: &Found) -> HttpError {
    let allow = found.allow();
    HttpError::method_not_allowed(
        allow,
        format!("{method} is not allowed here; allowed: {allow}"),
    )
}

/// A resource as the store has it (or has not).
#[derive(Clone, Debug)]
pub enum Found {
    Root,
    NonIpm,
    FbRoot,
    FbFolder(FolderRecord),
    FbItem(crate::protocol::legacy_dn::AdminGroup, Box<MessageRecord>),
    Node(Box<PfNode>),
    /// Nothing there (yet).
    Missing(Resource),
}

impl Found {
    /// The methods this resource answers, for `Allow` (OPTIONS and 405).
    pub fn allow(&self) -> &'static str {
        match self {
            Found::Root | Found::NonIpm | Found::FbRoot => "OPTIONS, GET, HEAD, PROPFIND, SEARCH",
            Found::FbFolder(_) => "OPTIONS, GET, HEAD, PROPFIND, SEARCH, DELETE",
            Found::FbItem(..) => "OPTIONS, GET, HEAD, POST, PROPFIND, PROPPATCH, DELETE",
            Found::Node(n) if n.is_folder() => {
                "OPTIONS, GET, HEAD, PROPFIND, PROPPATCH, SEARCH, DELETE, COPY, MOVE"
            }
            Found::Node(_) => "OPTIONS, GET, HEAD, PROPFIND, PROPPATCH, PUT, DELETE, COPY, MOVE",
            Found::Missing(Resource::Ordinary(_)) => "OPTIONS, PUT, MKCOL",
            Found::Missing(Resource::FbFolder(_)) => "OPTIONS, MKCOL",
            Found::Missing(Resource::FbItem(..)) => "OPTIONS, POST, PROPPATCH",
            Found::Missing(_) => "OPTIONS",
        }
    }

    pub fn exists(&self) -> bool {
        !matches!(self, Found::Missing(_))
    }

    pub fn is_collection(&self) -> bool {
        match self {
            Found::Root | Found::NonIpm | Found::FbRoot | Found::FbFolder(_) => true,
            Found::Node(n) => n.is_folder(),
            _ => false,
        }
    }

    /// 404 for a resource that is not there.
    pub fn require(self) -> Result<Found, HttpError> {
        match self {
            Found::Missing(Resource::FbInvalid(why)) => Err(HttpError::not_found(why)),
            Found::Missing(_) => Err(HttpError::not_found("nothing exists at this URL")),
            f => Ok(f),
        }
    }
}

/// Look a resource up in the store (on the blocking pool).
pub async fn locate(state: &AppState, r: &Resource) -> Result<Found, HttpError> {
    let r = r.clone();
    state.blocking(move |st| locate_blocking(st, r)).await?
}

fn locate_blocking(st: &AppState, r: Resource) -> Result<Found, HttpError> {
    let store = st.store();
    Ok(match r {
        Resource::Root => Found::Root,
        Resource::NonIpm => Found::NonIpm,
        Resource::FbRoot => Found::FbRoot,
        Resource::FbFolder(ref f) => match store.folder(f)? {
            Some(rec) => Found::FbFolder(rec),
            None => Found::Missing(r),
        },
        Resource::FbItem(ref f, ref leaf) => match store.fb_message_at(f, leaf)? {
            Some(rec) => Found::FbItem(f.clone(), Box::new(rec)),
            None => Found::Missing(r),
        },
        Resource::FbInvalid(_) => Found::Missing(r),
        Resource::Ordinary(ref p) => match store.pf_get(p)? {
            Some(n) => Found::Node(Box::new(n)),
            None => Found::Missing(r),
        },
    })
}

/// The `item-owner-or-admin` rule for the existing ordinary node at `path`, answered
/// before a PUT reads its body: the store's own predicate, read-only; the store applies it
/// again under its lock when it writes.
pub async fn authorize_item(
    state: &AppState,
    principal: &Principal,
    path: &[String],
) -> Result<(), HttpError> {
    let writer = state.auth().item_writer(principal)?;
    let p = path.to_vec();
    state
        .blocking(move |st| st.store().pf_may_change(&p, &writer))
        .await??;
    Ok(())
}
