//! The Availability service's wire format (Exchange 2007 CAS, [MS-OXWAVLS]): SOAP 1.1
//! requests parsed into types, answers and faults written, the request's time zone
//! applied, the legacy `?Cmd=freebusy` answer read back, and Autodiscover's POX form.
//!
//! Pure: no I/O. The procedure (who the mailboxes are, which server to ask) is in
//! `app::availability`; the route in `transport::ews`.

pub mod autodiscover;
pub mod legacy;
pub mod request;
pub mod response;
pub mod timezone;
mod tree;

#[cfg(test)]
mod tests;

pub use request::{
    AvailabilityRequest, EwsRequest, MAX_MAILBOXES, MAX_WINDOW_DAYS, MailboxData, RequestedView,
    TimeZonesRequest, parse_envelope,
};
pub use response::{MailboxAnswer, availability_response, fault, time_zones_response};

pub const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const M_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
pub const T_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
pub const E_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/errors";

/// A request that cannot be answered at all: Exchange's response code (`ErrorSchemaValidation`,
/// `ErrorMailboxDataArrayTooBig`, …) and a sentence naming the bad input. Written as a SOAP
/// fault ([`fault`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct EwsFault {
    pub code: &'static str,
    pub message: String,
    /// `soap:Client` (the request) or `soap:Server`.
    pub client: bool,
}

impl EwsFault {
    pub fn client(code: &'static str, message: impl Into<String>) -> Self {
        EwsFault {
            code,
            message: message.into(),
            client: true,
        }
    }
}
