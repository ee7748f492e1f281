//! Autodiscover, the Outlook POX form: `POST /autodiscover/autodiscover.xml` with
//! `<Autodiscover><Request><EMailAddress>…</EMailAddress><AcceptableResponseSchema>…`
//! answered with the user's display name, legacyDN and the EWS URL (`EwsUrl`, the
//! availability service's address, in an `EXCH` and an `EXPR` protocol block).

use quick_xml::escape::escape;

use super::tree;
use crate::protocol::dav_xml::XmlLimits;

pub const REQUEST_NS: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
pub const RESPONSE_NS: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
pub const OUTLOOK_NS: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";

/// Parse a POX request: the e-mail address asked about.
pub fn parse_request(body: &[u8], limits: &XmlLimits) -> Result<String, String> {
    let root = tree::parse(body, limits).map_err(|e| e.to_string())?;
    if root.local != "Autodiscover" {
        return Err(format!(
            "the request's root is {}; send <Autodiscover xmlns=\"{REQUEST_NS}\">",
            root.local
        ));
    }
    let req = root
        .child("Request")
        .ok_or("the Autodiscover request has no Request element")?;
    if let Some(schema) = req.child_text("AcceptableResponseSchema") {
        if schema != OUTLOOK_NS {
            return Err(format!(
                "AcceptableResponseSchema '{schema}' is not answered here; ask for {OUTLOOK_NS}"
            ));
        }
    }
    let email = req
        .child_text("EMailAddress")
        .filter(|e| !e.is_empty())
        .ok_or("the Autodiscover request has no EMailAddress")?;
    Ok(email.to_string())
}

/// Who the answer is about.
pub struct AutodiscoverUser<'a> {
    pub display_name: &'a str,
    pub legacy_dn: &'a str,
    pub email: &'a str,
}

/// The answer for a known user: `ews_url` is the absolute `…/EWS/Exchange.asmx`.
pub fn response(user: &AutodiscoverUser<'_>, server: &str, ews_url: &str) -> String {
    let protocol = |kind: &str| {
        format!(
            "<Protocol><Type>{kind}</Type><Server>{s}</Server><ASUrl>{u}</ASUrl><EwsUrl>{u}</EwsUrl><OOFUrl>{u}</OOFUrl></Protocol>",
            s = escape(server),
            u = escape(ews_url),
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Autodiscover xmlns=\"{RESPONSE_NS}\"><Response xmlns=\"{OUTLOOK_NS}\"><User><DisplayName>{}</DisplayName><LegacyDN>{}</LegacyDN><AutoDiscoverSMTPAddress>{}</AutoDiscoverSMTPAddress></User><Account><AccountType>email</AccountType><Action>settings</Action>{}{}</Account></Response></Autodiscover>",
        escape(user.display_name),
        escape(user.legacy_dn),
        escape(user.email),
        protocol("EXCH"),
        protocol("EXPR"),
    )
}

/// The answer for an address nobody has (error code 500, as Exchange's Autodiscover).
pub fn error_response(message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Autodiscover xmlns=\"{RESPONSE_NS}\"><Response><Error Time=\"00:00:00\" Id=\"0\"><ErrorCode>500</ErrorCode><Message>{}</Message><DebugData/></Error></Response></Autodiscover>",
        escape(message)
    )
}
