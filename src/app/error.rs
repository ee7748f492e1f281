//! The one application error: why an operation (`app::ops`), a publish or a command failed.
//!
//! Owns [`Error`] and the conversions into it from the floors below (a [`StoreError`], a
//! [`PublishError`], an `auth` [`Refusal`]); each of those becomes an `Error` here and
//! nowhere else. It says *what kind* of failure happened, not how to answer it: the HTTP
//! status is chosen in `transport/error.rs` (`From<Error> for HttpError`) and the exit code
//! in `cli` (`exit_code`). [`Error::kind`] is the `kind` field of the admin API's JSON
//! errors, read back by the remote client with [`Error::from_kind`].

use crate::auth::{Refusal, RefusalKind};
use crate::publishing::publisher::PublishError;
use crate::store::StoreError;

/// Why an operation failed. Every variant carries the sentence a lab admin reads.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input the user can fix: a bad span, an unknown format, a calendar that cannot be
    /// published.
    #[error("{0}")]
    BadInput(String),
    /// A name (user, calendar, route) that is not there.
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts what is stored (an address used by another user).
    #[error("{0}")]
    Conflict(String),
    /// An `auth` rule refused; `kind` says whether credentials would help.
    #[error("refused by rule {rule}: {message}")]
    Refused {
        rule: &'static str,
        kind: RefusalKind,
        message: String,
    },
    /// Over a size limit; nothing changed.
    #[error("{0}")]
    TooLarge(String),
    /// Cannot be done now: the disk is stuck, the store is held, the server does not answer.
    #[error("{0}")]
    Unavailable(String),
    /// The disk is too full to write safely; nothing was written.
    #[error("{0}")]
    OutOfSpace(String),
    /// A broken store, an unexpected answer, a bug.
    #[error("{0}")]
    Internal(String),
    /// Some items of a batch (`cleanfreebusy`, `updatefb`) failed; each was reported.
    #[error("{0}")]
    Partial(String),
}

/// The one place a store failure becomes an application error: a name that is not there,
/// a conflict (someone else's data included: the admin operations act for an admin), a full
/// disk, a stuck disk, or a broken store.
impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => Error::NotFound(m),
            StoreError::Conflict(m) => Error::Conflict(m),
            StoreError::Refused(r) => crate::auth::refused_write(&r).into(),
            e if e.is_out_of_space() => Error::OutOfSpace(e.to_string()),
            StoreError::Stalled(m) => Error::Unavailable(m),
            other => Error::Internal(format!("the store failed: {other}")),
        }
    }
}

/// A publish that failed at the edge of `app`: its store failure as above, a user without
/// a calendar, a stored calendar that cannot be published.
impl From<PublishError> for Error {
    fn from(e: PublishError) -> Self {
        match e {
            PublishError::Store(s) => s.into(),
            PublishError::NoCalendar(_) => Error::NotFound(e.to_string()),
            PublishError::Calendar(c) => {
                Error::BadInput(format!("the stored calendar cannot be published: {c}"))
            }
        }
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        Error::Refused {
            rule: r.rule,
            kind: r.kind,
            message: r.message,
        }
    }
}

impl Error {
    /// The `kind` field of the admin API's error JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::BadInput(_) => "bad_input",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::Refused { .. } => "refused",
            Error::TooLarge(_) => "too_large",
            Error::Unavailable(_) => "unavailable",
            Error::OutOfSpace(_) => "out_of_space",
            Error::Internal(_) => "internal",
            Error::Partial(_) => "partial",
        }
    }

    /// The error a remote client reports for the admin API's `{"error", "kind"}`. A refusal
    /// comes back as [`Error::Internal`]: its rule is named in the sentence and the header,
    /// and the client's caller cannot lift it.
    pub fn from_kind(kind: &str, message: String) -> Error {
        match kind {
            "bad_input" => Error::BadInput(message),
            "not_found" => Error::NotFound(message),
            "conflict" => Error::Conflict(message),
            "too_large" => Error::TooLarge(message),
            "unavailable" => Error::Unavailable(message),
            "out_of_space" => Error::OutOfSpace(message),
            "partial" => Error::Partial(message),
            _ => Error::Internal(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind the admin API sends is read back as the same variant (a refusal aside).
    #[test]
    fn kinds_read_back() {
        for e in [
            Error::BadInput("x".into()),
            Error::NotFound("x".into()),
            Error::Conflict("x".into()),
            Error::TooLarge("x".into()),
            Error::Unavailable("x".into()),
            Error::OutOfSpace("x".into()),
            Error::Internal("x".into()),
            Error::Partial("x".into()),
        ] {
            assert_eq!(Error::from_kind(e.kind(), "x".into()).kind(), e.kind());
        }
    }

    #[test]
    fn store_failures_keep_their_kind_and_sentence() {
        let full = StoreError::NoSpace {
            path: "/data".into(),
            free: 10,
            reserve: 20,
        };
        match Error::from(full) {
            Error::OutOfSpace(m) => assert!(m.contains("10 bytes free"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Error::from(StoreError::Stalled("stuck".into())),
            Error::Unavailable(_)
        ));
        let refused = StoreError::Refused(crate::store::WriteRefused {
            what: "dan's free/busy".into(),
            rule: crate::store::OwnerRule::FreeBusy,
            writer: "jose".into(),
        });
        assert!(matches!(
            Error::from(refused),
            Error::Refused {
                rule: "owner-or-admin",
                ..
            }
        ));
    }
}
