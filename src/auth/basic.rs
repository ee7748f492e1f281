//! HTTP Basic (RFC 7617): reading the credentials of an `Authorization` header
//! ([`parse_basic`]) and the challenge a 401 carries ([`CHALLENGE`]).
//!
//! Must not touch: the store, passwords' hashes.

use super::{MAX_PASSWORD_BYTES, MAX_USER_BYTES};

/// The realm of the `WWW-Authenticate` challenge.
pub const REALM: &str = "schedplus";

/// The challenge a 401 carries (RFC 7617).
pub const CHALLENGE: &str = "Basic realm=\"schedplus\", charset=\"UTF-8\"";

/// `Authorization: Basic …` → (user, password). The error says what is wrong, never the
/// password.
pub fn parse_basic(value: &[u8]) -> Result<(String, String), &'static str> {
    use base64::Engine;
    let value = std::str::from_utf8(value).map_err(|_| "the Authorization header is not text")?;
    let (scheme, rest) = value
        .trim()
        .split_once(' ')
        .ok_or("the Authorization header is not \"Basic <base64>\"")?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err("only Basic authentication is supported");
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| "the Basic credentials are not base64")?;
    let text = String::from_utf8(decoded).map_err(|_| "the Basic credentials are not UTF-8")?;
    let (user, pw) = text
        .split_once(':')
        .ok_or("the Basic credentials hold no ':' between user and password")?;
    if user.is_empty() || user.len() > MAX_USER_BYTES || pw.len() > MAX_PASSWORD_BYTES {
        return Err("the Basic user name or password is empty or too long");
    }
    if user.chars().any(char::is_control) {
        return Err("the Basic user name contains control characters");
    }
    Ok((user.to_string(), pw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_parse() {
        // "dan:pa:ss" — the password may hold ':'.
        assert_eq!(
            parse_basic(b"Basic ZGFuOnBhOnNz").unwrap(),
            ("dan".to_string(), "pa:ss".to_string())
        );
        assert_eq!(parse_basic(b"basic   ZGFuOnBhOnNz ").unwrap().0, "dan");
        assert!(parse_basic(b"Bearer abc").is_err());
        assert!(parse_basic(b"Basic !!!").is_err());
        assert!(parse_basic(b"Basic ZGFu").is_err(), "no colon");
        assert!(parse_basic(b"Basic /w==").is_err(), "not UTF-8");
        assert!(parse_basic(b"Basic").is_err());
        assert!(parse_basic(&[0xff, 0xfe]).is_err());
        // "a\nb:x": a user name that would forge a log line.
        assert!(parse_basic(b"Basic YQpiOng=").is_err());
    }
}
