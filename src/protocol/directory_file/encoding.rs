//! Which text encoding a directory export is in, and its text, decoded as it is read.
//!
//! Windows writes these files in four ways: `csvde` in the ANSI code page by default
//! (windows-1252 on Western systems), `csvde -u` and `ldifde -u` in UTF-16LE with a
//! byte-order mark, editors in UTF-8 with or without one. [`TextReader`] tells them apart
//! from the first bytes and decodes the rest a block at a time (a million-user export is
//! never held whole): a byte-order mark decides; without one, UTF-16LE is recognised by the
//! zero high bytes of its first characters, and an ASCII-compatible file is UTF-8 if its
//! first non-ASCII character is, the ANSI code page otherwise. Decoding is `encoding_rs`'s.
//! What no Windows tool writes is refused with the line it is on: a NUL in a text file
//! (named first, wherever it is, for a file without a byte-order mark), UTF-8 broken after
//! it was clearly UTF-8, a byte windows-1252 does not define, an unpaired UTF-16 surrogate
//! or a half character at the end.

use std::io::{self, BufRead, Read};

use encoding_rs::{Decoder, DecoderResult, Encoding, UTF_8, UTF_16LE, WINDOWS_1252};
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

/// The text of a whole export held in memory, and the encoding it was in; or the line that
/// cannot be text. [`TextReader`] over the bytes, read to the end.
pub fn decode_export(bytes: &[u8]) -> Result<(String, TextEncoding), LineProblem> {
    let mut reader = TextReader::new(bytes);
    let mut text = Vec::new();
    let _ = reader.read_to_end(&mut text);
    if let Some(problem) = reader.failure() {
        return Err(problem.clone());
    }
    let encoding = reader.encoding();
    // The reader hands out UTF-8 only; without the U+FEFF it leaves off at the start.
    let text = String::from_utf8(text)
        .map_err(|_| LineProblem::new(0, "the file could not be decoded whole"))?;
    Ok((text, encoding))
}

/// How many bytes are read from the file at a time.
const BLOCK: usize = 64 * 1024;
/// How many bytes decide between UTF-16LE without a mark and an ASCII-compatible encoding.
const HEAD: usize = 64;
const NUL_REASON: &str =
    "holds a NUL byte: this is not a text export (csvde and ldifde write text)";

/// How the bytes read so far are being decoded.
enum Mode {
    /// Text that is UTF-8 already (a JSON string): passed through.
    Trusted,
    /// No byte-order mark and only ASCII so far: UTF-8 or windows-1252, decided at the
    /// first byte that is not ASCII.
    Undecided,
    /// UTF-8 without a byte-order mark (checked here, to name the bad byte).
    Utf8,
    /// The rest: UTF-8 with a mark, UTF-16, windows-1252.
    Decoding(Decoder),
}

/// An export's bytes as UTF-8 text, decoded a block at a time ([`BufRead`]); a leading
/// U+FEFF is left off. A problem stops it: reads then fail, and [`TextReader::failure`]
/// says on which line, as the file holds it (a read error of the file itself is a problem
/// on no line).
pub struct TextReader<R> {
    inner: R,
    /// Bytes read and not yet decoded: `raw[raw_at..]`.
    raw: Vec<u8>,
    raw_at: usize,
    eof: bool,
    /// The decoder has seen the end (its last call made).
    finished: bool,
    /// Text decoded and not yet handed out: `out[out_at..]`.
    out: Vec<u8>,
    out_at: usize,
    mode: Mode,
    encoding: TextEncoding,
    /// A file without a mark in an ASCII-compatible encoding: a NUL anywhere is its problem.
    check_nul: bool,
    /// Line ends in the bytes decoded so far (ASCII-compatible encodings).
    raw_lines: usize,
    /// Line ends in the text produced so far.
    text_lines: usize,
    /// Whether any text was produced yet (a U+FEFF that starts it is left off).
    started: bool,
    failure: Option<LineProblem>,
}

impl<R: Read> TextReader<R> {
    /// The bytes of an export in any of the encodings Windows writes: the encoding is told
    /// from the first bytes (read here).
    pub fn new(inner: R) -> TextReader<R> {
        let mut reader = TextReader::with_mode(inner, Mode::Undecided, TextEncoding::Utf8);
        while reader.raw.len() < HEAD && !reader.eof && reader.failure.is_none() {
            reader.read_raw();
        }
        let head = &reader.raw[..];
        if let Some((enc, bom_len)) = Encoding::for_bom(head) {
            reader.encoding = if enc == UTF_8 {
                TextEncoding::Utf8Bom
            } else if enc == UTF_16LE {
                TextEncoding::Utf16LeBom
            } else {
                TextEncoding::Utf16BeBom
            };
            reader.raw_at = bom_len;
            reader.mode = Mode::Decoding(enc.new_decoder_without_bom_handling());
        } else if looks_like_utf16le(head) {
            reader.encoding = TextEncoding::Utf16Le;
            reader.mode = Mode::Decoding(UTF_16LE.new_decoder_without_bom_handling());
        } else {
            reader.check_nul = true;
        }
        reader
    }

    /// Text that is UTF-8 already (the bytes of a `&str`), passed through.
    pub fn utf8(inner: R) -> TextReader<R> {
        TextReader::with_mode(inner, Mode::Trusted, TextEncoding::Utf8)
    }

    fn with_mode(inner: R, mode: Mode, encoding: TextEncoding) -> TextReader<R> {
        TextReader {
            inner,
            raw: Vec::with_capacity(BLOCK),
            raw_at: 0,
            eof: false,
            finished: false,
            out: Vec::new(),
            out_at: 0,
            mode,
            encoding,
            check_nul: false,
            raw_lines: 0,
            text_lines: 0,
            started: false,
            failure: None,
        }
    }

    /// The encoding the text is in (final once the text is read: an ASCII-compatible file
    /// is UTF-8 until a byte says otherwise).
    pub fn encoding(&self) -> TextEncoding {
        self.encoding
    }

    /// Why the text stopped, if it did.
    pub fn failure(&self) -> Option<&LineProblem> {
        self.failure.as_ref()
    }

    /// Read up to a block more (keeping what is not decoded yet).
    fn read_raw(&mut self) {
        if self.raw_at > 0 {
            self.raw.drain(..self.raw_at);
            self.raw_at = 0;
        }
        let len = self.raw.len();
        self.raw.resize(len + BLOCK, 0);
        loop {
            match self.inner.read(&mut self.raw[len..]) {
                Ok(n) => {
                    self.raw.truncate(len + n);
                    self.eof = n == 0;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.raw.truncate(len);
                    self.failure =
                        Some(LineProblem::new(0, format!("reading the file failed: {e}")));
                    return;
                }
            }
        }
    }

    /// Decode what was read into `out`; false when nothing could be (more must be read).
    fn step(&mut self) -> bool {
        let avail = &self.raw[self.raw_at..];
        if avail.is_empty() && !self.eof {
            return false;
        }
        if self.check_nul {
            if let Some(at) = avail.iter().position(|&b| b == 0) {
                let line = self.raw_lines + newlines(&avail[..at]) + 1;
                self.failure = Some(LineProblem::new(line, NUL_REASON));
                return true;
            }
        }
        match &mut self.mode {
            Mode::Trusted => {
                self.out.extend_from_slice(avail);
                self.raw_at = self.raw.len();
                self.finished = self.eof;
                true
            }
            Mode::Undecided => self.step_undecided(),
            Mode::Utf8 => self.step_utf8(),
            Mode::Decoding(_) => self.step_decoder(),
        }
    }

    /// Pass ASCII through; at the first other byte, choose UTF-8 if a UTF-8 character
    /// starts there, windows-1252 otherwise (csvde's ANSI code page).
    fn step_undecided(&mut self) -> bool {
        let avail = &self.raw[self.raw_at..];
        let ascii = avail
            .iter()
            .position(|b| !b.is_ascii())
            .unwrap_or(avail.len());
        self.pass(ascii);
        let rest = &self.raw[self.raw_at..];
        if rest.is_empty() {
            self.finished = self.eof;
            return ascii > 0 || self.finished;
        }
        let first = &rest[..rest.len().min(4)];
        let utf8 = match std::str::from_utf8(first) {
            Ok(_) => true,
            Err(e) if e.valid_up_to() > 0 => true,
            // Cut short by the end of what was read: read more, unless the file ends.
            Err(e) if e.error_len().is_none() && !self.eof => return ascii > 0,
            Err(_) => false,
        };
        if utf8 {
            self.mode = Mode::Utf8;
        } else {
            self.encoding = TextEncoding::Windows1252;
            self.mode = Mode::Decoding(WINDOWS_1252.new_decoder_without_bom_handling());
        }
        true
    }

    /// UTF-8 without a mark: valid text passes; a bad byte is named.
    fn step_utf8(&mut self) -> bool {
        let avail = &self.raw[self.raw_at..];
        let (good, bad) = match std::str::from_utf8(avail) {
            Ok(_) => (avail.len(), false),
            Err(e) => (e.valid_up_to(), e.error_len().is_some() || self.eof),
        };
        self.pass(good);
        if bad {
            let byte = self.raw[self.raw_at];
            let line = self.raw_lines + 1;
            self.fail(LineProblem::new(
                line,
                format!("byte 0x{byte:02X} is not valid UTF-8, though the text before it is UTF-8"),
            ));
            return true;
        }
        if self.raw_at == self.raw.len() {
            self.finished = self.eof;
        }
        good > 0 || self.finished
    }

    /// Hand `n` undecoded bytes on as they are (ASCII, or checked UTF-8).
    fn pass(&mut self, n: usize) {
        let bytes = &self.raw[self.raw_at..self.raw_at + n];
        let lines = newlines(bytes);
        self.out.extend_from_slice(bytes);
        self.raw_lines += lines;
        self.text_lines += lines;
        self.raw_at += n;
    }

    fn step_decoder(&mut self) -> bool {
        let Mode::Decoding(decoder) = &mut self.mode else {
            return false;
        };
        let avail = &self.raw[self.raw_at..];
        let last = self.eof;
        let from = self.out.len();
        let cap = decoder
            .max_utf8_buffer_length_without_replacement(avail.len())
            .unwrap_or(avail.len().saturating_mul(3))
            .max(16);
        self.out.resize(from + cap, 0);
        let (result, read, written) =
            decoder.decode_to_utf8_without_replacement(avail, &mut self.out[from..], last);
        self.out.truncate(from + written);
        let consumed = &self.raw[self.raw_at..self.raw_at + read];
        self.raw_lines += newlines(consumed);
        self.raw_at += read;
        let decoded_lines = newlines(&self.out[from..]);
        match result {
            DecoderResult::InputEmpty => {
                self.finished = last;
            }
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(_, _) => {
                let line = self.text_lines + decoded_lines + 1;
                let reason = format!("is not valid {} text", self.encoding.name());
                self.fail(LineProblem::new(line, reason));
                return true;
            }
        }
        // windows-1252 leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D); the
        // decoder passes them through as C1 controls, which no export holds.
        if self.encoding == TextEncoding::Windows1252 {
            let text = &self.out[from..];
            if let Some(at) = text
                .windows(2)
                .position(|w| w[0] == 0xC2 && (0x80..=0x9F).contains(&w[1]))
            {
                let line = self.text_lines + newlines(&text[..at]) + 1;
                let byte = text[at + 1];
                self.fail(LineProblem::new(
                    line,
                    format!(
                        "byte 0x{byte:02X} is neither UTF-8 nor windows-1252 (csvde's ANSI code page); save the export as Unicode (csvde -u)"
                    ),
                ));
                return true;
            }
        }
        self.text_lines += decoded_lines;
        read > 0 || written > 0 || self.finished
    }

    /// Stop on `problem`; in a file where a NUL is the problem wherever it is, look for one
    /// in the rest first.
    fn fail(&mut self, problem: LineProblem) {
        let mut problem = problem;
        if self.check_nul {
            // Lines from the start of what is left, in raw bytes.
            let mut lines = self.raw_lines;
            let mut at = self.raw_at;
            loop {
                let avail = &self.raw[at..];
                if let Some(i) = avail.iter().position(|&b| b == 0) {
                    problem = LineProblem::new(lines + newlines(&avail[..i]) + 1, NUL_REASON);
                    break;
                }
                lines += newlines(avail);
                if self.eof || self.failure.is_some() {
                    break;
                }
                self.raw_at = self.raw.len();
                self.read_raw();
                at = 0;
            }
        }
        self.failure = Some(problem);
    }

    /// Decode until there is text to hand out; false at the end of the text.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.out_at = 0;
        loop {
            if self.failure.is_some() {
                return Err(io::Error::other(
                    "the export is not text schedplus can read",
                ));
            }
            if self.finished {
                return Ok(false);
            }
            let progressed = self.step();
            if self.failure.is_some() {
                continue;
            }
            if !self.out.is_empty() {
                // The decoders hand out whole characters, so a leading U+FEFF is whole here.
                if !std::mem::replace(&mut self.started, true)
                    && self.out.starts_with("\u{feff}".as_bytes())
                {
                    self.out_at = 3;
                    if self.out_at == self.out.len() {
                        self.out.clear();
                        self.out_at = 0;
                        continue;
                    }
                }
                return Ok(true);
            }
            if !progressed && !self.eof {
                self.read_raw();
            }
        }
    }
}

impl<R: Read> Read for TextReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_buffered(self, buf)
    }
}

/// `Read::read` of a reader whose buffer is its own `BufRead`.
pub(super) fn read_buffered(r: &mut impl BufRead, buf: &mut [u8]) -> io::Result<usize> {
    let text = r.fill_buf()?;
    let n = text.len().min(buf.len());
    buf[..n].copy_from_slice(&text[..n]);
    r.consume(n);
    Ok(n)
}

impl<R: Read> BufRead for TextReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.out_at == self.out.len() {
            self.refill()?;
        }
        Ok(&self.out[self.out_at..])
    }

    fn consume(&mut self, n: usize) {
        self.out_at = (self.out_at + n).min(self.out.len());
    }
}

/// UTF-16LE without a mark: the first characters are ASCII, so every second byte is zero.
fn looks_like_utf16le(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(HEAD) & !1];
    head.len() >= 4
        && head.chunks(2).all(|c| c[1] == 0)
        && head.chunks(2).filter(|c| c[0] != 0).count() >= head.len() / 4
}

fn newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
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
