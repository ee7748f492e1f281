//! Which text encoding a directory export is in, and its text.
//!
//! Windows writes these files in four ways: `csvde` in the ANSI code page by default
//! (windows-1252 on Western systems), `csvde -u` and `ldifde -u` in UTF-16LE with a
//! byte-order mark, editors in UTF-8 with or without one. [`decode_export`] tells them
//! apart: a byte-order mark decides; without one, UTF-16LE is recognised by its zero high
//! bytes, valid UTF-8 is UTF-8, and anything else is the ANSI code page. Decoding is
//! `encoding_rs`'s. What no Windows tool writes is refused with the line it is on: a NUL in
//! a text file, UTF-8 broken after it was clearly UTF-8, a byte windows-1252 does not define,
//! an unpaired UTF-16 surrogate or a half character at the end.

use encoding_rs::{DecoderResult, Encoding, UTF_8, UTF_16LE, WINDOWS_1252};
use serde::{Deserialize, Serialize};

use super::LineProblem;

/// The encoding a directory export was read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextEncoding {
    Utf8,
    Utf8Bom,
    Utf16LeBom,
    Utf16BeBom,
    Utf16Le,
    Windows1252,
}

impl TextEncoding {
    /// As the import report names it.
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf8Bom => "UTF-8 with byte-order mark",
            TextEncoding::Utf16LeBom => "UTF-16LE with byte-order mark",
            TextEncoding::Utf16BeBom => "UTF-16BE with byte-order mark",
            TextEncoding::Utf16Le => "UTF-16LE without byte-order mark",
            TextEncoding::Windows1252 => "windows-1252",
        }
    }
}

/// The text of an export, and the encoding it was in; or the line that cannot be text.
pub fn decode_export(bytes: &[u8]) -> Result<(String, TextEncoding), LineProblem> {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let which = if enc == UTF_8 {
            TextEncoding::Utf8Bom
        } else if enc == UTF_16LE {
            TextEncoding::Utf16LeBom
        } else {
            TextEncoding::Utf16BeBom
        };
        return Ok((strict(enc, &bytes[bom_len..], which)?, which));
    }
    if looks_like_utf16le(bytes) {
        let which = TextEncoding::Utf16Le;
        return Ok((strict(UTF_16LE, bytes, which)?, which));
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(LineProblem::new(
            line_at(bytes, at),
            "holds a NUL byte: this is not a text export (csvde and ldifde write text)",
        ));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok((text.to_string(), TextEncoding::Utf8)),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            if !good.is_ascii() {
                // Characters before this one were UTF-8: a broken file, not another code page.
                return Err(LineProblem::new(
                    line_at(bytes, e.valid_up_to()),
                    format!(
                        "byte 0x{:02X} is not valid UTF-8, though the text before it is UTF-8",
                        bytes[e.valid_up_to()]
                    ),
                ));
            }
            let which = TextEncoding::Windows1252;
            Ok((strict(WINDOWS_1252, bytes, which)?, which))
        }
    }
}

/// UTF-16LE without a mark: the first characters are ASCII, so every second byte is zero.
fn looks_like_utf16le(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(64) & !1];
    head.len() >= 4
        && head.chunks(2).all(|c| c[1] == 0)
        && head.chunks(2).filter(|c| c[0] != 0).count() >= head.len() / 4
}

/// Decode without replacement; a malformed sequence is an error on its line.
fn strict(
    enc: &'static Encoding,
    bytes: &[u8],
    which: TextEncoding,
) -> Result<String, LineProblem> {
    let mut decoder = enc.new_decoder_without_bom_handling();
    let cap = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len().saturating_mul(3));
    let mut text = String::with_capacity(cap);
    let (result, _read) = decoder.decode_to_string_without_replacement(bytes, &mut text, true);
    let line = || text.matches('\n').count() + 1;
    match result {
        DecoderResult::InputEmpty => {}
        DecoderResult::Malformed(_, _) => {
            return Err(LineProblem::new(
                line(),
                format!("is not valid {} text", which.name()),
            ));
        }
        DecoderResult::OutputFull => {
            return Err(LineProblem::new(0, "the file could not be decoded whole"));
        }
    }
    // windows-1252 leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D); the decoder
    // passes them through as C1 controls, which no export holds.
    if which == TextEncoding::Windows1252 {
        if let Some(at) = text.find(|c: char| ('\u{80}'..='\u{9f}').contains(&c)) {
            let line = text[..at].matches('\n').count() + 1;
            let byte = text[at..].chars().next().map_or(0, |c| c as u32);
            return Err(LineProblem::new(
                line,
                format!(
                    "byte 0x{byte:02X} is neither UTF-8 nor windows-1252 (csvde's ANSI code page); save the export as Unicode (csvde -u)"
                ),
            ));
        }
    }
    Ok(text)
}

/// The 1-based line of a byte offset in undecoded bytes (any ASCII-compatible encoding).
fn line_at(bytes: &[u8], at: usize) -> usize {
    bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        for u in s.encode_utf16() {
            out.extend_from_slice(&u.to_le_bytes());
        }
        out
    }

    #[test]
    fn each_windows_encoding_is_recognised() {
        let text = "displayName\nAmélie Müller\n";
        let cases: [(Vec<u8>, TextEncoding); 6] = [
            (text.as_bytes().to_vec(), TextEncoding::Utf8),
            (
                [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
                TextEncoding::Utf8Bom,
            ),
            (utf16le(text, true), TextEncoding::Utf16LeBom),
            (utf16le(text, false), TextEncoding::Utf16Le),
            (
                [
                    &[0xFE, 0xFF][..],
                    &text
                        .encode_utf16()
                        .flat_map(u16::to_be_bytes)
                        .collect::<Vec<_>>(),
                ]
                .concat(),
                TextEncoding::Utf16BeBom,
            ),
            (
                b"displayName\nAm\xe9lie M\xfcller\n".to_vec(),
                TextEncoding::Windows1252,
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                decode_export(&bytes).unwrap(),
                (text.to_string(), want),
                "{want:?}"
            );
        }
        // The euro sign and curly quotes are windows-1252's own, not Latin-1's.
        assert_eq!(decode_export(b"\x80 \x93x\x94").unwrap().0, "€ “x”");
    }

    #[test]
    fn broken_files_are_refused_on_their_line() {
        let p = |b: &[u8]| decode_export(b).unwrap_err();
        let e = p(b"a\nb\n\x00c");
        assert_eq!(e.line, 3);
        assert!(e.reason.contains("NUL"), "{}", e.reason);
        let e = p(&[b"a\n\xc3\xa9\nb\xff\n".as_slice()].concat());
        assert_eq!(
            (e.line, e.reason.contains("0xFF")),
            (3, true),
            "{}",
            e.reason
        );
        let e = p(b"a\nb\n\x81\n");
        assert_eq!(e.line, 3);
        assert!(e.reason.contains("0x81"), "{}", e.reason);
        // An unpaired surrogate, and half a character at the end.
        let mut bad = utf16le("a\nb\n", true);
        bad.extend_from_slice(&0xD800u16.to_le_bytes());
        bad.extend_from_slice(&utf16le("x", false));
        let e = p(&bad);
        assert_eq!(e.line, 3);
        assert!(e.reason.contains("UTF-16LE"), "{}", e.reason);
        let mut odd = utf16le("a\nb", true);
        odd.push(b'c');
        assert_eq!(p(&odd).line, 2);
        let e = p(&[&[0xEF, 0xBB, 0xBF][..], b"ok\n\xe9\n"].concat());
        assert_eq!(e.line, 2);
    }
}
