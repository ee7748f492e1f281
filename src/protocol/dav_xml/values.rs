//! Exchange's typed property values (`b:dt`), both ways.
//!
//! Owns the text form of every [`PropValue`] variant: [`parse_typed`] reads a value from its
//! `b:dt` type name, its text and its `<c:v>` items (PROPPATCH), [`write_content`] writes
//! what goes between a property's tags (multistatus). Keeping both directions here is what
//! makes `read(write(v)) == v` checkable in one place.
//!
//! Output follows Exchange exactly: booleans as `0`/`1`, `dateTime.tz` always with three
//! fractional digits and `Z`, base64 without line breaks, empty multi-value items as `<c:v/>`.
//! Input is lenient where clients differ: `int` may carry a sign and surrounding whitespace
//! or be hex (`0x0d59d8c0`, Zimbra's publish range),
//! booleans may be `true`/`false`, times may lack a fraction or a zone (UTC then), base64 may
//! be wrapped, and type names match case-insensitively.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::protocol::mapi::{PropName, PropValue};
use crate::protocol::time::{FileTime, civil_from_days, parse_time};

use super::reader::{is_xml_char, is_xml_space};

/// Standard alphabet; padding optional on input and always written on output.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// What [`parse_typed`] accepts, for error messages.
const SUPPORTED: &str =
    "int, boolean, i8, dateTime.tz, bin.base64, string, mv.int, mv.bin.base64, mv.string";

/// FILETIME ticks per millisecond, and days from 1601-01-01 to 1970-01-01.
const TICKS_PER_MS: i64 = 10_000;
const MS_PER_DAY: i64 = 86_400_000;
const DAYS_1601_TO_1970: i64 = 134_774;

/// Read a typed value. `text` is the element's own character data, `items` the text of
/// its `<c:v>` children in order (only multi-valued types look at them). The error is a
/// reason, to be put in [`super::XmlError::BadValue`] with the property's name.
pub fn parse_typed(dt: &str, text: &str, items: &[String]) -> Result<PropValue, String> {
    let dt = dt.trim();
    let is = |name: &str| dt.eq_ignore_ascii_case(name);
    if is("int") || is("i4") {
        parse_int(text).map(PropValue::Int)
    } else if is("boolean") {
        parse_bool(text).map(PropValue::Bool)
    } else if is("i8") {
        parse_i8(text).map(PropValue::I8)
    } else if is("dateTime.tz") || is("dateTime") {
        parse_systime(text).map(PropValue::SysTime)
    } else if is("bin.base64") {
        parse_base64(text).map(PropValue::Binary)
    } else if is("string") {
        Ok(PropValue::String(text.to_string()))
    } else if is("mv.int") || is("mv.i4") {
        parse_each(items, parse_int).map(PropValue::MvInt)
    } else if is("mv.bin.base64") {
        parse_each(items, parse_base64).map(PropValue::MvBinary)
    } else if is("mv.string") {
        Ok(PropValue::MvString(items.to_vec()))
    } else {
        Err(format!(
            "the type '{dt}' is not supported (supported: {SUPPORTED})"
        ))
    }
}

/// Every item of a multi-value read as one value; the first that does not read is the error.
fn parse_each<T>(items: &[String], parse: fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    items.iter().map(|s| parse(s)).collect()
}

fn trim_xml(s: &str) -> &str {
    s.trim_matches(is_xml_space)
}

/// `0x`/`0X` and 1..=`max_digits` hex digits: the bits of the value (Zimbra writes its
/// publish range as `0x0d59d8c0`), so `0xFFFFFFFF` is -1 as an `int`.
fn parse_hex(t: &str, max_digits: usize) -> Option<u64> {
    let hex = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"))?;
    if hex.is_empty() || hex.len() > max_digits || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

fn parse_int(s: &str) -> Result<i32, String> {
    let t = trim_xml(s);
    if let Some(bits) = parse_hex(t, 8) {
        return Ok(bits as u32 as i32);
    }
    t.parse::<i32>()
        .map_err(|_| format!("'{t}' is not a 32-bit integer"))
}

fn parse_i8(s: &str) -> Result<i64, String> {
    let t = trim_xml(s);
    if let Some(bits) = parse_hex(t, 16) {
        return Ok(bits as i64);
    }
    t.parse::<i64>()
        .map_err(|_| format!("'{t}' is not a 64-bit integer"))
}

fn parse_bool(s: &str) -> Result<bool, String> {
    let t = trim_xml(s);
    if t == "1" || t.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if t == "0" || t.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(format!("'{t}' is not a boolean (write 0 or 1)"))
    }
}

fn parse_systime(s: &str) -> Result<i64, String> {
    let t = trim_xml(s);
    parse_time(t)
        .map(|ts| FileTime::from_timestamp(ts).0)
        .map_err(|e| format!("'{t}' is not a dateTime.tz ({})", e.reason))
}

fn parse_base64(s: &str) -> Result<Vec<u8>, String> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64
        .decode(compact.as_bytes())
        .map_err(|e| format!("not valid base64: {e}"))
}

/// `2007-12-30T05:19:07.423Z`: always three fractional digits, always UTC, truncated (not
/// rounded) to the millisecond as Exchange writes it.
pub fn format_systime(ticks: i64) -> String {
    let ms = ticks.div_euclid(TICKS_PER_MS);
    let days = ms.div_euclid(MS_PER_DAY);
    let ms_of_day = ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days - DAYS_1601_TO_1970);
    let secs = ms_of_day / 1000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ms_of_day % 1000
    )
}

pub fn format_base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// The `b:dt` name Exchange implied for an untyped value of a MAPI property of type `t`
/// (PT_SHORT is read as `int`; the store has no 16-bit type). `None`: a type schedplus does
/// not read, kept as sent.
pub fn implied_type(t: u16) -> Option<&'static str> {
    use crate::protocol::mapi::ptype::*;
    Some(match t {
        PT_SHORT | PT_LONG => "int",
        PT_BOOLEAN => "boolean",
        PT_I8 => "i8",
        PT_SYSTIME => "dateTime.tz",
        PT_STRING8 | PT_UNICODE => "string",
        PT_BINARY => "bin.base64",
        PT_MV_LONG => "mv.int",
        PT_MV_BINARY => "mv.bin.base64",
        PT_MV_STRING8 | PT_MV_UNICODE => "mv.string",
        _ => return None,
    })
}

/// The `b:dt` to write for `value` under `name`: its own type, and for a string `string`
/// where the name is a MAPI tag whose suffix implies another type. A reader that types an
/// untyped value by its tag (as Exchange and [`parse_typed`]'s callers do) would otherwise
/// read an empty string under a PT_I8 tag as a bad `i8`; strict in what we write.
pub fn written_type(name: &PropName, value: &PropValue) -> Option<&'static str> {
    match (value, name) {
        (PropValue::String(_), PropName::Mapi(tag)) => implied_type(tag.prop_type())
            .filter(|dt| *dt != "string")
            .map(|_| "string"),
        _ => value.dav_type(),
    }
}

/// Write what goes between a property's tags: escaped text for scalars, `<c:v>` items for
/// multi-values, the markup itself for [`PropValue::Xml`]. The `c` prefix must be bound to
/// `xml:` where this lands (the multistatus root binds it).
pub fn write_content(out: &mut Vec<u8>, value: &PropValue) {
    match value {
        PropValue::Int(v) => out.extend_from_slice(v.to_string().as_bytes()),
        PropValue::Bool(b) => out.push(if *b { b'1' } else { b'0' }),
        PropValue::I8(v) => out.extend_from_slice(v.to_string().as_bytes()),
        PropValue::SysTime(t) => out.extend_from_slice(format_systime(*t).as_bytes()),
        PropValue::String(s) => escape_text(out, s),
        PropValue::Binary(b) => out.extend_from_slice(format_base64(b).as_bytes()),
        PropValue::MvInt(vs) => {
            for v in vs {
                write_item(out, &v.to_string());
            }
        }
        PropValue::MvBinary(vs) => {
            for v in vs {
                write_item(out, &format_base64(v));
            }
        }
        PropValue::MvString(vs) => {
            for v in vs {
                let mut escaped = Vec::with_capacity(v.len());
                escape_text(&mut escaped, v);
                write_item_raw(out, &escaped);
            }
        }
        // Kept by the PROPPATCH reader as well-formed markup that declares the namespaces it
        // uses, so it can go out verbatim.
        PropValue::Xml(inner) => out.extend_from_slice(inner.as_bytes()),
    }
}

fn write_item(out: &mut Vec<u8>, text: &str) {
    write_item_raw(out, text.as_bytes());
}

fn write_item_raw(out: &mut Vec<u8>, escaped: &[u8]) {
    if escaped.is_empty() {
        out.extend_from_slice(b"<c:v/>");
    } else {
        out.extend_from_slice(b"<c:v>");
        out.extend_from_slice(escaped);
        out.extend_from_slice(b"</c:v>");
    }
}

/// Escape character data. `\r` is written as a reference so it survives end-of-line
/// normalisation; characters XML 1.0 cannot carry at all become U+FFFD so the document
/// stays well-formed.
pub fn escape_text(out: &mut Vec<u8>, s: &str) {
    escape(out, s, false);
}

/// Escape an attribute value written between double quotes.
pub fn escape_attr(out: &mut Vec<u8>, s: &str) {
    escape(out, s, true);
}

fn escape(out: &mut Vec<u8>, s: &str, attr: bool) {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let rep: &str = match c {
            '<' => "&lt;",
            '>' => "&gt;",
            '&' => "&amp;",
            '\r' => "&#13;",
            '"' if attr => "&quot;",
            '\n' if attr => "&#10;",
            '\t' if attr => "&#9;",
            c if !is_xml_char(c) => "\u{FFFD}",
            _ => continue,
        };
        out.extend_from_slice(&s.as_bytes()[start..i]);
        out.extend_from_slice(rep.as_bytes());
        start = i + c.len_utf8();
    }
    out.extend_from_slice(&s.as_bytes()[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systime_is_written_with_three_fraction_digits() {
        let ts = parse_time("2007-12-30T05:19:07.423Z").unwrap();
        let ticks = FileTime::from_timestamp(ts).0;
        assert_eq!(format_systime(ticks), "2007-12-30T05:19:07.423Z");
        let ts = parse_time("2008-02-01T00:00:00Z").unwrap();
        assert_eq!(
            format_systime(FileTime::from_timestamp(ts).0),
            "2008-02-01T00:00:00.000Z"
        );
        assert_eq!(format_systime(0), "1601-01-01T00:00:00.000Z");
        // Sub-millisecond ticks are truncated, also before 1601.
        assert_eq!(format_systime(9_999), "1601-01-01T00:00:00.000Z");
        assert_eq!(format_systime(-1), "1600-12-31T23:59:59.999Z");
        // Extreme values format without panicking.
        let _ = format_systime(i64::MAX);
        let _ = format_systime(i64::MIN);
    }

    #[test]
    fn typed_values_are_read_leniently() {
        assert_eq!(parse_typed("int", " +42\n", &[]), Ok(PropValue::Int(42)));
        assert_eq!(parse_typed("INT", "-7", &[]), Ok(PropValue::Int(-7)));
        assert!(parse_typed("int", "2147483648", &[]).is_err());
        // Zimbra's hex publish range; hex is the value's bits.
        assert_eq!(
            parse_typed("int", "0x0d59d8c0", &[]),
            Ok(PropValue::Int(0x0d59_d8c0))
        );
        assert_eq!(
            parse_typed("int", "0XFFFFFFFF", &[]),
            Ok(PropValue::Int(-1))
        );
        assert!(parse_typed("int", "0x123456789", &[]).is_err());
        assert!(parse_typed("int", "0x", &[]).is_err());
        assert_eq!(parse_typed("i8", " 0x10 ", &[]), Ok(PropValue::I8(16)));
        assert_eq!(
            parse_typed("mv.int", "", &["0x7d82".into(), "32131".into()]),
            Ok(PropValue::MvInt(vec![32130, 32131]))
        );
        assert!(parse_typed("int", "", &[]).is_err());
        assert_eq!(
            parse_typed("boolean", "true", &[]),
            Ok(PropValue::Bool(true))
        );
        assert_eq!(
            parse_typed("boolean", " 0 ", &[]),
            Ok(PropValue::Bool(false))
        );
        assert!(parse_typed("boolean", "yes", &[]).is_err());
        assert_eq!(
            parse_typed("i8", "-9223372036854775808", &[]),
            Ok(PropValue::I8(i64::MIN))
        );
        assert_eq!(
            parse_typed("bin.base64", "UAqM\r\n Cg==", &[]),
            Ok(PropValue::Binary(vec![0x50, 0x0A, 0x8C, 0x0A]))
        );
        assert_eq!(
            parse_typed("bin.base64", "UAqMCg", &[]),
            Ok(PropValue::Binary(vec![0x50, 0x0A, 0x8C, 0x0A]))
        );
        assert!(parse_typed("bin.base64", "U*qMCg==", &[]).is_err());
        let no_zone = parse_typed("dateTime.tz", "2008-02-01T00:00:00", &[]).unwrap();
        let zulu = parse_typed("dateTime.tz", "2008-02-01T00:00:00.000Z", &[]).unwrap();
        assert_eq!(no_zone, zulu);
        let offset = parse_typed("dateTime.tz", "2008-01-31T16:00:00-08:00", &[]).unwrap();
        assert_eq!(offset, zulu);
        assert!(parse_typed("dateTime.tz", "yesterday", &[]).is_err());
        let err = parse_typed("float", "1.5", &[]).unwrap_err();
        assert!(err.contains("mv.bin.base64"), "{err}");
        assert_eq!(
            parse_typed("mv.int", "ignored", &["1".into(), " 2 ".into()]),
            Ok(PropValue::MvInt(vec![1, 2]))
        );
        assert_eq!(
            parse_typed("mv.bin.base64", "", &["".into(), "AA==".into()]),
            Ok(PropValue::MvBinary(vec![vec![], vec![0]]))
        );
    }

    #[test]
    fn escaping_keeps_documents_well_formed() {
        let mut out = Vec::new();
        escape_text(&mut out, "a<b>&c\r\"\u{1}\u{10000}");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a&lt;b&gt;&amp;c&#13;\"\u{FFFD}\u{10000}"
        );
        let mut out = Vec::new();
        escape_attr(&mut out, "x\"y\n");
        assert_eq!(String::from_utf8(out).unwrap(), "x&quot;y&#10;");
    }
}
