//! How a user is named in a request: `SMTP:addr`, a bare `addr`, or `EX:/o=…` (a
//! legacyExchangeDN). The `?Cmd=freebusy` query parses its `u=` values into a
//! [`UserAddress`], and the store's directory finds users by one.
//!
//! Must not know about storage or HTTP.

/// How a `u=` value names a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserAddress {
    /// `SMTP:addr` or a bare `addr`.
    Smtp(String),
    /// `EX:/o=…/cn=…`, a legacyExchangeDN.
    Ex(String),
}

impl UserAddress {
    /// The `type` attribute of the echoed `<a:email>`.
    pub fn kind(&self) -> &'static str {
        match self {
            UserAddress::Smtp(_) => "SMTP",
            UserAddress::Ex(_) => "EX",
        }
    }

    /// The address without its prefix.
    pub fn value(&self) -> &str {
        match self {
            UserAddress::Smtp(s) | UserAddress::Ex(s) => s,
        }
    }

    pub fn parse(raw: &str) -> UserAddress {
        let raw = raw.trim();
        let prefixed = |p: &str| {
            raw.get(..p.len())
                .filter(|h| h.eq_ignore_ascii_case(p))
                .map(|_| raw[p.len()..].trim().to_string())
        };
        if let Some(v) = prefixed("SMTP:") {
            UserAddress::Smtp(v)
        } else if let Some(v) = prefixed("EX:") {
            UserAddress::Ex(v)
        } else {
            UserAddress::Smtp(raw.to_string())
        }
    }
}
