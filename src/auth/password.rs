//! Passwords: what a new one may be ([`check_new_password`]), Argon2id PHC strings
//! ([`hash_password`], [`check_hash`]) and checking a password against one
//! ([`verify_password`]). The store keeps only the PHC strings.
//!
//! Must not touch: the store, HTTP.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use rand_core::OsRng;

use super::constant_time_eq;

/// Longest password accepted, in bytes (Argon2 takes any length; this bounds the work a
/// request can ask for and matches what people type).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest user name in Basic credentials, in bytes.
pub const MAX_USER_BYTES: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is empty")]
    Empty,
    #[error("the password is longer than {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    #[error("the password contains a control character (a stray newline?)")]
    Control,
    #[error("the stored password hash is not an Argon2 PHC string: {0}")]
    BadHash(String),
}

/// Check a new password: not empty, not absurdly long, no control characters.
pub fn check_new_password(pw: &str) -> Result<(), PasswordError> {
    if pw.is_empty() {
        return Err(PasswordError::Empty);
    }
    if pw.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    if pw.chars().any(char::is_control) {
        return Err(PasswordError::Control);
    }
    Ok(())
}

/// Argon2id with the library's defaults (19 MiB, 2 passes, 1 lane: OWASP's minimum), a
/// random salt, as a PHC string. The parameters travel in the string, so verification
/// keeps working if the defaults change.
pub fn hash_password(pw: &str) -> Result<String, PasswordError> {
    check_new_password(pw)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pw.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::BadHash(e.to_string()))
}

/// Most Argon2 memory a stored hash may ask for, in 1 KiB blocks (256 MiB; ours use 19).
const MAX_HASH_BLOCKS: usize = 256 * 1024;
/// Check a PHC string as the admin API receives it: Argon2, with parameters the server
/// will agree to compute.
pub fn check_hash(phc: &str) -> Result<(), PasswordError> {
    let h = PasswordHash::new(phc).map_err(|e| PasswordError::BadHash(e.to_string()))?;
    if !h.algorithm.as_str().starts_with("argon2") {
        return Err(PasswordError::BadHash(format!(
            "algorithm {} is not argon2",
            h.algorithm
        )));
    }
    let params = argon2::Params::try_from(&h).map_err(|e| PasswordError::BadHash(e.to_string()))?;
    if params.block_count() > MAX_HASH_BLOCKS {
        return Err(PasswordError::BadHash(format!(
            "it asks for {} KiB of memory; at most {MAX_HASH_BLOCKS} KiB",
            params.block_count()
        )));
    }
    Ok(())
}

/// Does `pw` match the PHC string? (The comparison inside is constant-time.)
pub fn verify_password(phc: &str, pw: &str) -> bool {
    verify_password_with(phc, pw, &mut Vec::new())
}

/// [`verify_password`] with Argon2's working memory supplied by the caller, so a thread
/// that verifies many passwords reuses one buffer instead of allocating 19 MiB each time
/// (which glibc keeps per thread: the load test saw 400 MB of RSS before this).
pub fn verify_password_with(phc: &str, pw: &str, memory: &mut Vec<argon2::Block>) -> bool {
    let Ok(h) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (h.salt, h.hash) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(h.algorithm) else {
        return false;
    };
    let version = match h.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = argon2::Params::try_from(&h) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    // A stored hash asking for more than that is not ours; refuse rather than allocate.
    if params.block_count() > MAX_HASH_BLOCKS {
        return false;
    }
    memory.resize(params.block_count(), argon2::Block::default());
    let mut out = vec![0u8; expected.len()];
    let ok = Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(pw.as_bytes(), salt, &mut out, &mut memory[..])
        .is_ok();
    ok && constant_time_eq(&out, expected.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash_password("s3cret").unwrap();
        let b = hash_password("s3cret").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password(&a, "s3cret"));
        assert!(!verify_password(&a, "s3creT"));
        assert!(!verify_password("not a hash", "s3cret"));
        let mut memory = Vec::new();
        assert!(verify_password_with(&a, "s3cret", &mut memory));
        assert!(!verify_password_with(&a, "s3creT", &mut memory));
        assert!(
            verify_password_with(&b, "s3cret", &mut memory),
            "the buffer is reused"
        );
        assert!(!verify_password_with(
            "$argon2id$v=19$m=999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "x",
            &mut memory
        ));
        assert!(check_hash(&a).is_ok());
        assert!(check_hash("$md5$x").is_err());
        assert!(
            check_hash("$argon2id$v=19$m=999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
                .is_err(),
            "a hash the server would not compute is refused when set"
        );
        assert_eq!(hash_password(""), Err(PasswordError::Empty));
        assert_eq!(hash_password("a\nb"), Err(PasswordError::Control));
        assert_eq!(
            hash_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)),
            Err(PasswordError::TooLong)
        );
    }
}
