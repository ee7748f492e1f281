//! The bodies of the fuzz targets, one function per parser that faces untrusted input.
//!
//! Each `fuzz_targets/NAME.rs` is a two-line `fuzz_target!` calling [`run`] with its name,
//! and `tests/hostile.rs` includes this file to replay every saved crash input
//! (`tests/data/fuzz-regressions/NAME/*`) through the same function, so a regression test
//! exercises exactly what the fuzzer found. A target fails by panicking: the parsers must
//! return errors, never panic, and the few properties checked here (round trips) must hold.
//!
//! Depends on nothing but `schedplus` (no libFuzzer), so the integration tests can use it.

use schedplus::protocol::dav_xml::{
    XmlLimits, parse_propfind, parse_proppatch, parse_search, parse_sql,
};
use schedplus::protocol::directory_file::{DirectoryFormat, detect_format, parse_directory};
use schedplus::protocol::freebusy::Interval;
use schedplus::protocol::legacy_dn::{AdminGroup, LegacyDn, Subject};
use schedplus::protocol::pffb::{self, PffbKind, PffbProps, StatusProps};
use schedplus::protocol::query::{QueryLimits, parse_query};
use schedplus::protocol::time::Minutes1601;
use schedplus::protocol::wss_name::{escape_segment, unescape_segment};
use schedplus::publishing::calendar::{self, ExpandOptions};
use schedplus::transport::webdav::path::{
    Resource, fb_folder_href, fb_item_href, ordinary_href, resolve, resolve_url, system_href,
};

/// A target's body: panics when it finds a bug.
pub type Target = fn(&[u8]);

/// Every target: its name (the `fuzz_targets/` file and the regression folder) and body.
pub const TARGETS: &[(&str, Target)] = &[
    ("legacy_dn", legacy_dn),
    ("wss_name", wss_name),
    ("propfind", propfind),
    ("proppatch", proppatch),
    ("search", search),
    ("sql", sql),
    ("freebusy_query", freebusy_query),
    ("pffb", pffb),
    ("icalendar", icalendar),
    ("directory", directory),
    ("dav_path", dav_path),
];

/// Run the target `name` on `data`. Panics on an unknown name.
pub fn run(name: &str, data: &[u8]) {
    let (_, f) = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"));
    f(data)
}

/// Text targets see the input as UTF-8 with invalid sequences replaced, as a request path
/// or a form field would after the transport decoded it.
fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// legacyDN, admin-group folder name and subject parsers; a parsed DN's parts parse again.
pub fn legacy_dn(data: &[u8]) {
    let s = text(data);
    if let Ok(dn) = LegacyDn::parse(&s) {
        let ag = dn.admin_group();
        let subject = dn.subject();
        let _ = (dn.key(), dn.last_cn());
        assert!(
            AdminGroup::parse(ag.as_str()).is_ok(),
            "the admin group of {s:?} does not parse back"
        );
        assert!(
            Subject::parse(subject.as_str()).is_ok(),
            "the subject of {s:?} does not parse back"
        );
    }
    let _ = AdminGroup::parse(&s).map(|a| a.key());
    let _ = Subject::parse(&s).map(|x| x.key());
}

/// WSS name unescaping never panics, and escaping then unescaping gives the name back
/// (for names without NUL, which unescaping refuses on purpose).
pub fn wss_name(data: &[u8]) {
    let s = text(data);
    let _ = unescape_segment(&s);
    if s.contains('\0') {
        return;
    }
    let escaped = escape_segment(&s);
    assert_eq!(
        unescape_segment(&escaped).as_deref(),
        Ok(&*s),
        "escape/unescape round trip of {s:?} via {escaped:?}"
    );
}

pub fn propfind(data: &[u8]) {
    let _ = parse_propfind(data, &XmlLimits::default());
}

pub fn proppatch(data: &[u8]) {
    let _ = parse_proppatch(data, &XmlLimits::default());
}

pub fn search(data: &[u8]) {
    let _ = parse_search(data, &XmlLimits::default());
}

pub fn sql(data: &[u8]) {
    let _ = parse_sql(&text(data));
}

pub fn freebusy_query(data: &[u8]) {
    let _ = parse_query(&text(data), &QueryLimits::default());
}

/// The MS-OXOPFFB decoder on arbitrary month/block properties. The input is read as a
/// little program: for each of the four statuses, a flag byte (bit 0: months set, bit 1:
/// blocks set), a count byte, then `count` months (i32 LE) and `count` blobs (a length byte
/// and that many bytes). Whatever runs out is left short, which is a case worth decoding too.
pub fn pffb(data: &[u8]) {
    let mut r = Bytes(data);
    let mut props = PffbProps::default();
    for kind in PffbKind::ALL {
        let flags = r.u8();
        let count = r.u8() as usize;
        let months: Vec<i32> = (0..count).map_while(|_| r.i32()).collect();
        let blocks: Vec<Vec<u8>> = (0..count)
            .map_while(|_| {
                let n = r.u8() as usize;
                r.take(n).map(<[u8]>::to_vec)
            })
            .collect();
        let st = StatusProps {
            months: (flags & 1 != 0).then_some(months),
            blocks: (flags & 2 != 0).then_some(blocks),
        };
        match kind {
            PffbKind::Merged => props.merged = st,
            PffbKind::Tentative => props.tentative = st,
            PffbKind::Busy => props.busy = st,
            PffbKind::Away => props.away = st,
        }
    }
    let _ = pffb::decode(&props);
}

/// iCalendar parse, then expansion over a bounded window (two months from 2026-03-01) with
/// a modest instance cap, as a publish would do it.
pub fn icalendar(data: &[u8]) {
    let Ok(cal) = calendar::parse(&text(data)) else {
        return;
    };
    // 2026-03-01T00:00:00Z and 61 days later.
    let start = Minutes1601::from_unix_seconds(1_772_323_200);
    let window = Interval::new(start, start.plus_minutes(61 * 24 * 60)).expect("non-empty");
    let opts = ExpandOptions {
        max_instances: 10_000,
        ..ExpandOptions::default()
    };
    let _ = cal.expand(window, &opts);
}

/// csvde CSV and ldifde LDIF exports, each parsed as itself and as the other format, and
/// decoded from their bytes first.
pub fn directory(data: &[u8]) {
    // The raw bytes as a Windows export: encoding detection and decoding never panic.
    if let Ok((decoded, _)) = schedplus::protocol::directory_file::decode_export(data) {
        let _ = parse_directory(&decoded, DirectoryFormat::Csv);
    }
    let s = text(data);
    let _ = detect_format(&s);
    let _ = parse_directory(&s, DirectoryFormat::Csv);
    let _ = parse_directory(&s, DirectoryFormat::Ldif);
}

/// The WebDAV path resolver on a raw request path and on a `Destination`-style URL. What
/// resolves never holds a `.` or `..` name, and the href written for it resolves back to
/// the same resource (names are compared case-insensitively, as the store does).
pub fn dav_path(data: &[u8]) {
    let s = text(data);
    let _ = resolve_url(&s);
    let raw = format!("/public/{s}");
    let Ok(r) = resolve(&raw) else {
        return;
    };
    let href = match &r {
        Resource::Root | Resource::NonIpm | Resource::FbRoot => {
            system_href(&r).expect("system folders have hrefs")
        }
        Resource::FbFolder(ag) => fb_folder_href(ag),
        Resource::FbItem(ag, leaf) => {
            assert!(
                leaf != "." && leaf != "..",
                "{raw:?} resolved to a dot leaf"
            );
            fb_item_href(ag, leaf)
        }
        Resource::Ordinary(names) => {
            assert!(
                names.iter().all(|n| n != "." && n != ".." && !n.is_empty()),
                "{raw:?} resolved to {names:?}"
            );
            ordinary_href(names, false)
        }
        Resource::FbInvalid(_) => return,
    };
    let back = resolve(&href).unwrap_or_else(|e| panic!("href {href:?} of {raw:?}: {e:?}"));
    let same = match (&r, &back) {
        (Resource::Ordinary(a), Resource::Ordinary(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
        }
        (Resource::FbItem(a, x), Resource::FbItem(b, y)) => {
            a.key() == b.key() && x.eq_ignore_ascii_case(y)
        }
        (Resource::FbFolder(a), Resource::FbFolder(b)) => a.key() == b.key(),
        (a, b) => a == b,
    };
    assert!(
        same,
        "{raw:?} resolved to {r:?}, its href {href:?} to {back:?}"
    );
}

/// A reader over the fuzzer's bytes that yields zeroes once they run out.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn u8(&mut self) -> u8 {
        self.take(1).map_or(0, |b| b[0])
    }

    fn i32(&mut self) -> Option<i32> {
        self.take(4)
            .map(|b| i32::from_le_bytes(b.try_into().expect("four bytes")))
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
}
