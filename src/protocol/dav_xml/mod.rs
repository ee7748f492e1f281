//! The WebDAV XML of Exchange 2000/2003: request bodies in, multistatus bodies out.
//!
//! Owns the parsing of PROPFIND ([`parse_propfind`] → [`PropfindRequest`]), PROPPATCH
//! ([`parse_proppatch`] → [`PropChange`]s in document order) and SEARCH ([`parse_search`] /
//! [`parse_sql`] → [`SearchRequest`]) bodies, the `b:dt` typed values of [`values`], and the
//! streaming multistatus writer ([`multistatus_head`], [`ResponseBuilder`],
//! [`multistatus_tail`], or [`multistatus`] for a short body whole; [`error_body`]).
//!
//! Every body goes through one hardened reader ([`reader`]): UTF-8 only, namespaces resolved
//! (an undeclared prefix or `xmlns:p=""` is an error), no DTD at all (so no entity expansion),
//! and depth, element and attribute caps ([`XmlLimits`]) checked while reading, so hostile
//! input fails early and cheaply. The parsers never panic.
//!
//! Must not know about storage, HTTP or URLs: hrefs arrive escaped, and statuses are numbers
//! the caller chose; which status an [`XmlError`] is answered with is decided by the
//! transport (`transport/error.rs`).

mod propfind;
mod proppatch;
pub(crate) mod reader;
mod search;
pub mod values;
mod writer;

use crate::protocol::mapi::PropName;

pub use crate::protocol::mapi::PropChange;
pub use propfind::{PropfindRequest, parse_propfind};
pub use proppatch::{is_propertyupdate, parse_proppatch};
pub use search::{SearchRequest, SqlError, parse_search, parse_sql};
pub use writer::{ResponseBuilder, error_body, multistatus, multistatus_head, multistatus_tail};

/// The WebDAV namespace.
pub const DAV_NS: &str = "DAV:";
/// The namespace of Exchange's `b:dt` type attribute.
pub const DT_NS: &str = "urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/";
/// The other spelling of the XML-Data type namespace, used by Exchange SDK samples
/// (`xmlns:dt="urn:schemas-microsoft-com:datatypes"`); accepted on input, never written.
pub const DT_NS_ALT: &str = "urn:schemas-microsoft-com:datatypes";
/// The namespace of the `<c:v>` elements holding multi-valued property values.
pub const MV_NS: &str = "xml:";

/// Caps enforced while reading a request body, before any of it is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// Element nesting depth (the root is depth 1).
    pub max_depth: usize,
    /// Elements in the whole document.
    pub max_elements: usize,
    /// Attributes on one element, namespace declarations included.
    pub max_attributes_per_element: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        XmlLimits {
            max_depth: 64,
            max_elements: 100_000,
            max_attributes_per_element: 64,
        }
    }
}

/// Why a request body was refused. Every variant is a client error (a [`XmlError::BadValue`]
/// in a well-formed body is the one the transport tells apart, as 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("the request body is not well-formed XML: {0} (at byte {1})")]
    Malformed(String, u64),
    #[error("DTDs and entity declarations are not accepted in request bodies")]
    Doctype,
    #[error("the request body uses the namespace prefix '{0}' without declaring it")]
    UndeclaredPrefix(String),
    #[error(
        "the request body declares xmlns:{0}=\"\", and undeclaring a prefix is not allowed in XML 1.0"
    )]
    EmptyPrefixBinding(String),
    #[error("the request body nests elements deeper than {0} levels")]
    TooDeep(usize),
    #[error("the request body has more than {0} elements")]
    TooManyElements(usize),
    #[error("an element in the request body has more than {0} attributes")]
    TooManyAttributes(usize),
    #[error("the request body's root element is {found}, expected {expected}")]
    UnexpectedRoot { expected: String, found: String },
    /// `prop` is the property itself so a PROPPATCH answer can name it in a propstat
    /// (RFC 4918 §9.2.1: 409 for it, 424 for the others).
    #[error("the value of property {prop} is not valid: {reason}")]
    BadValue { prop: PropName, reason: String },
    #[error("the request body is not valid UTF-8 (byte {0}); send it as UTF-8")]
    NotUtf8(u64),
    #[error("the request body declares encoding '{0}'; only UTF-8 is accepted")]
    UnsupportedEncoding(String),
    #[error("the request body is empty; a {0} element was expected")]
    Empty(String),
    #[error("the request body is not a valid WebDAV request: {0}")]
    Invalid(String),
    #[error("the SEARCH request's SQL is not supported: {0}")]
    Sql(#[from] SqlError),
}

#[cfg(test)]
mod tests;
