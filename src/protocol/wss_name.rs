//! Web Storage System names in URLs: how Exchange writes an item or folder name as one
//! URL path segment, and back.
//!
//! `/`→`_xF8FF_`, `\`→`_xF8FE_`, `?`→`_x003F_`, `~`→`_x007E_`; control characters, space,
//! `"#%&<>[]^`{|}`, `+`, DEL and every byte of a non-ASCII character → `%XX`. Decoding takes
//! `%xx` and `_xHHHH_` in any case. A literal `_` that would read as an `_xHHHH_` escape is
//! itself written `_x005F_`, so that decoding an encoded name always gives it back.
//! A `+` in a path is a plus, never a space. PROTOCOL.md §1.

use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("bad percent escape in '{0}': '%' must be followed by two hex digits")]
    BadPercent(String),
    #[error("'{0}' does not decode to UTF-8 text")]
    NotUtf8(String),
    #[error("'{0}' contains a NUL character")]
    Nul(String),
}

fn needs_percent(b: u8) -> bool {
    !(0x20..0x7F).contains(&b)
        || matches!(
            b,
            b' ' | b'"'
                | b'#'
                | b'%'
                | b'&'
                | b'<'
                | b'>'
                | b'['
                | b']'
                | b'^'
                | b'`'
                | b'{'
                | b'|'
                | b'}'
                | b'+'
        )
}

/// Does `s` start with `_xHHHH_`? Returns the code unit.
fn hex_escape_at(s: &[u8]) -> Option<u16> {
    if s.len() < 7 || s[0] != b'_' || !(s[1] == b'x' || s[1] == b'X') || s[6] != b'_' {
        return None;
    }
    let hex = std::str::from_utf8(&s[2..6]).ok()?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(hex, 16).ok()
}

/// Would the `_` starting `s` read as the start of an `_xHHHH_` escape once the name is
/// written? It does when `_xHHHH` is followed by a `_`, or by a character whose own escape
/// starts with one (`/`, `\`, `?`, `~`): `_x0041~` is written `_x0041_x007E_`.
fn reads_as_escape(s: &[u8]) -> bool {
    let Some(head) = s.get(..7) else {
        return false;
    };
    let mut probe = [0u8; 7];
    probe.copy_from_slice(head);
    let next_escapes_with_underscore = matches!(probe[6], b'_' | b'/' | b'\\' | b'?' | b'~');
    probe[6] = b'_';
    next_escapes_with_underscore && hex_escape_at(&probe).is_some()
}

/// Write a name as one URL path segment, as Exchange does.
pub fn escape_segment(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = String::with_capacity(name.len() + 8);
    for (i, ch) in name.char_indices() {
        match ch {
            '/' => out.push_str("_xF8FF_"),
            '\\' => out.push_str("_xF8FE_"),
            '?' => out.push_str("_x003F_"),
            '~' => out.push_str("_x007E_"),
            '_' if reads_as_escape(&bytes[i..]) => out.push_str("_x005F_"),
            c if c.is_ascii() && !needs_percent(c as u8) => out.push(c),
            c => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "%{b:02X}");
                }
            }
        }
    }
    out
}

/// Decode one URL path segment: `%xx` first, then `_xHHHH_` in any case.
pub fn unescape_segment(segment: &str) -> Result<String, NameError> {
    let bytes = segment.as_bytes();
    let mut raw = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| NameError::BadPercent(segment.to_string()))?;
            raw.push(u8::from_str_radix(hex, 16).expect("checked hex digits"));
            i += 3;
        } else {
            raw.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(raw).map_err(|_| NameError::NotUtf8(segment.to_string()))?;
    let tb = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < tb.len() {
        if let Some(unit) = hex_escape_at(&tb[i..]) {
            let decoded = match unit {
                0xF8FF => Some('/'),
                0xF8FE => Some('\\'),
                u => char::from_u32(u as u32),
            };
            // A surrogate code unit alone is no character; keep the text as written.
            if let Some(c) = decoded {
                out.push(c);
                i += 7;
                continue;
            }
        }
        let ch = text[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    if out.contains('\0') {
        return Err(NameError::Nul(segment.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Found by the wss_name fuzz target: a literal `_xHHHH` followed by a character whose
    /// escape starts with `_` decoded as one character.
    #[test]
    fn an_escape_lookalike_before_an_escaped_character_round_trips() {
        for name in [
            "_x0041~",
            "_XbAbA/",
            "a_x0041?b",
            "_x0041\\",
            "_x0041_",
            "_x004~",
        ] {
            let escaped = escape_segment(name);
            assert_eq!(unescape_segment(&escaped).unwrap(), name, "via {escaped}");
        }
        assert_eq!(escape_segment("_x0041~"), "_x005F_x0041_x007E_");
        assert_eq!(escape_segment("_x004~"), "_x004_x007E_");
    }

    #[test]
    fn protocol_examples() {
        assert_eq!(
            escape_segment("SCHEDULE+ FREE BUSY"),
            "SCHEDULE%2B%20FREE%20BUSY"
        );
        assert_eq!(
            escape_segment("EX:/o=ORG/ou=AG"),
            "EX:_xF8FF_o=ORG_xF8FF_ou=AG"
        );
        assert_eq!(
            escape_segment("USER-/CN=RECIPIENTS/CN=ALIAS"),
            "USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=ALIAS"
        );
        assert_eq!(escape_segment("a?b~c\\d"), "a_x003F_b_x007E_c_xF8FE_d");
        assert_eq!(escape_segment("é"), "%C3%A9");
    }

    #[test]
    fn decodes_any_case_and_keeps_plus() {
        assert_eq!(
            unescape_segment("EX:_xf8ff_o=Org_XF8FF_ou=AG").unwrap(),
            "EX:/o=Org/ou=AG"
        );
        assert_eq!(
            unescape_segment("SCHEDULE%2b%20FREE%20BUSY").unwrap(),
            "SCHEDULE+ FREE BUSY"
        );
        assert_eq!(unescape_segment("a+b").unwrap(), "a+b");
        assert_eq!(unescape_segment("_x0041_").unwrap(), "A");
        assert_eq!(unescape_segment("_xD800_").unwrap(), "_xD800_");
    }

    #[test]
    fn rejects_bad_escapes() {
        assert!(matches!(
            unescape_segment("a%2"),
            Err(NameError::BadPercent(_))
        ));
        assert!(matches!(
            unescape_segment("a%zz"),
            Err(NameError::BadPercent(_))
        ));
        assert!(matches!(
            unescape_segment("%ff%fe"),
            Err(NameError::NotUtf8(_))
        ));
        assert!(matches!(unescape_segment("a%00b"), Err(NameError::Nul(_))));
    }

    #[test]
    fn literal_underscore_escape_survives() {
        let name = "odd_x0041_name";
        let esc = escape_segment(name);
        assert_eq!(esc, "odd_x005F_x0041_name");
        assert_eq!(unescape_segment(&esc).unwrap(), name);
    }

    proptest! {
        #[test]
        fn unescape_inverts_escape(s in "\\PC{0,40}") {
            prop_assume!(!s.contains('\0'));
            let e = escape_segment(&s);
            prop_assert!(!e.contains('/') && !e.contains('?') && !e.contains(' '));
            prop_assert_eq!(unescape_segment(&e).unwrap(), s);
        }

        #[test]
        fn unescape_inverts_escape_on_tricky_alphabet(s in "[_xX0-9a-fA-F/\\\\?~%+ ]{0,30}") {
            let e = escape_segment(&s);
            prop_assert_eq!(unescape_segment(&e).unwrap(), s);
        }

        #[test]
        fn unescape_never_panics(s in "\\PC{0,60}") {
            let _ = unescape_segment(&s);
        }
    }
}
