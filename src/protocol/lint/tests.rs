//! Each rule: a message that triggers it, and the clean messages that trigger nothing.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::*;
use crate::protocol::fb_message::build_props;
use crate::protocol::freebusy::{FbStatus, FreeBusy, Interval, PublishRange};
use crate::protocol::mapi::PropTag;
use crate::protocol::pffb::{self, PublisherStyle};
use crate::protocol::time::{FileTime, Minutes1601, parse_time};

const DN: &str = "/o=Org/ou=AG/cn=Recipients/cn=dan";
const FOLDER: &str = "EX:/o=Org/ou=AG";
const LEAF: &str = "USER-/CN=RECIPIENTS/CN=DAN.EML";
// 2008-02: Feb has 29 days (41760 minutes); January 44640.
const FEB: i32 = 2008 * 16 + 2;
const JAN: i32 = 2008 * 16 + 1;

fn at(s: &str) -> Minutes1601 {
    Minutes1601::from_timestamp(parse_time(s).unwrap())
}

fn now() -> Timestamp {
    parse_time("2008-02-02T08:00:00Z").unwrap()
}

/// A message as schedplus publishes it: busy Feb 4 09-10, tentative Feb 5 09-10, OOF Feb 6.
fn clean(style: PublisherStyle) -> BTreeMap<PropName, PropValue> {
    let dn = LegacyDn::parse(DN).unwrap();
    let range = PublishRange::at(Minutes1601::from_timestamp(now()), 2);
    let iv = |a, b| Interval::new(at(a), at(b)).unwrap();
    let fb = FreeBusy::from_spans([
        (
            FbStatus::Busy,
            iv("2008-02-04T09:00:00Z", "2008-02-04T10:00:00Z"),
        ),
        (
            FbStatus::Tentative,
            iv("2008-02-05T09:00:00Z", "2008-02-05T10:00:00Z"),
        ),
        (
            FbStatus::Oof,
            iv("2008-02-06T00:00:00Z", "2008-02-07T00:00:00Z"),
        ),
    ]);
    build_props(&dn, &fb, range, style, now())
}

fn directory(dn: &str) -> Option<String> {
    same(dn, DN).then(|| DN.to_string())
}

fn run_with(
    props: &BTreeMap<PropName, PropValue>,
    leaf: &str,
    older: Option<&str>,
) -> Vec<Finding> {
    let msg = LintMessage {
        folder: FOLDER,
        leaf,
        props,
        modified: Some(now()),
    };
    let dir: &dyn Fn(&str) -> Option<String> = &directory;
    let facts = Facts {
        directory: Some(dir),
        older_duplicate: older.map(str::to_string),
    };
    lint(&msg, &facts)
}

fn run(props: &BTreeMap<PropName, PropValue>) -> Vec<Finding> {
    run_with(props, LEAF, None)
}

fn names(f: &[Finding]) -> Vec<&str> {
    f.iter().map(|f| f.rule.as_str()).collect()
}

fn set(p: &mut BTreeMap<PropName, PropValue>, tag: u32, v: PropValue) {
    p.insert(PropName::Mapi(PropTag(tag)), v);
}

fn blk(pairs: &[(u16, u16)]) -> Vec<u8> {
    pairs
        .iter()
        .flat_map(|(s, e)| [s.to_le_bytes(), e.to_le_bytes()].concat())
        .collect()
}

/// Busy (and merged, to keep merged = busy ∪ OOF) set to these months and values; OOF and
/// tentative removed.
fn busy_only(months: Vec<i32>, values: Vec<Vec<u8>>) -> BTreeMap<PropName, PropValue> {
    let mut p = clean(PublisherStyle::Outlook);
    for t in [0x6851_1003, 0x6852_1102, 0x6855_1003, 0x6856_1102] {
        p.remove(&PropName::Mapi(PropTag(t)));
    }
    set(&mut p, 0x684F_1003, PropValue::MvInt(months.clone()));
    set(&mut p, 0x6850_1102, PropValue::MvBinary(values.clone()));
    set(&mut p, 0x6853_1003, PropValue::MvInt(months));
    set(&mut p, 0x6854_1102, PropValue::MvBinary(values));
    p
}

#[test]
fn messages_as_outlook_and_exchange_publish_them_have_no_findings() {
    for style in [PublisherStyle::Outlook, PublisherStyle::Exchange] {
        let f = run(&clean(style));
        assert!(f.is_empty(), "{style:?}: {f:#?}");
    }
}

/// Every rule with a message that triggers it. The clean messages above trigger none.
/// (rule, props, URL leaf, older duplicate's leaf).
type Case = (
    &'static str,
    BTreeMap<PropName, PropValue>,
    &'static str,
    Option<&'static str>,
);

fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    let mut c = |rule, p, leaf, older| v.push((rule, p, leaf, older));
    // A clean message with one property set to another value.
    let minutes = |s| PropValue::Int(at(s).0 as i32);
    let stale = FileTime::from_timestamp(parse_time("2008-01-20T00:00:00Z").unwrap()).0;
    let ann = "USER-/CN=RECIPIENTS/CN=ANN";
    for (rule, tag, value) in [
        ("wrong-type", 0x6853_1003, PropValue::String("32130".into())),
        (
            "length-mismatch",
            0x6853_1003,
            PropValue::MvInt(vec![FEB, FEB + 1]),
        ),
        (
            "range-inverted",
            0x6848_0003,
            minutes("2008-01-01T00:00:00Z"),
        ),
        // Local midnight in Los Angeles: 08:00 UTC.
        (
            "range-start-not-month-or-week",
            0x6847_0003,
            minutes("2008-01-27T08:00:00Z"),
        ),
        (
            "range-end-not-n-months",
            0x6848_0003,
            minutes("2008-03-20T00:00:00Z"),
        ),
        ("timestamp-stale", 0x6868_0040, PropValue::SysTime(stale)),
        ("names-disagree", 0x0037_001F, PropValue::String(ann.into())),
    ] {
        let mut p = clean(PublisherStyle::Outlook);
        set(&mut p, tag, value);
        c(rule, p, LEAF, None);
    }
    let mut p = clean(PublisherStyle::Outlook);
    p.remove(&PropName::Mapi(PropTag(0x6854_1102)));
    c("half-set", p, LEAF, None);
    // Busy months and their blocks only.
    let one_hour = || blk(&[(0, 60)]);
    for (rule, months, blocks) in [
        (
            "month-invalid",
            vec![FEB, 2008 * 16 + 13],
            vec![one_hour(), vec![]],
        ),
        (
            "month-invalid-with-blocks",
            vec![2008 * 16 + 13],
            vec![one_hour()],
        ),
        (
            "months-unsorted",
            vec![FEB, JAN],
            vec![one_hour(), one_hour()],
        ),
        ("block-malformed", vec![FEB], vec![vec![1, 2, 3]]),
        (
            "blocks-unsorted",
            vec![FEB],
            vec![blk(&[(600, 660), (0, 60)])],
        ),
        ("blocks-overlap", vec![FEB], vec![blk(&[(0, 60), (30, 90)])]),
        (
            "blocks-adjacent",
            vec![FEB],
            vec![blk(&[(0, 60), (60, 90)])],
        ),
        (
            "block-zero-length",
            vec![FEB],
            vec![blk(&[(0, 60), (120, 120)])],
        ),
        // Feb 29 23:00 to Mar 1 01:00, all in February (Zimbra).
        (
            "block-past-month-end",
            vec![FEB],
            vec![blk(&[(41700, 41820)])],
        ),
        (
            "month-end-one-minute-short",
            vec![JAN, FEB],
            vec![blk(&[(44580, 44639)]), one_hour()],
        ),
    ] {
        c(rule, busy_only(months, blocks), LEAF, None);
    }
    // Tentative listed with an empty month, OOF unset (after busy_only).
    let mut p = busy_only(vec![FEB], vec![blk(&[(0, 60)])]);
    set(&mut p, 0x6851_1003, PropValue::MvInt(vec![FEB]));
    set(&mut p, 0x6852_1102, PropValue::MvBinary(vec![vec![]]));
    c("unset-and-empty-mixed", p, LEAF, None);
    let mut p = busy_only(vec![FEB], vec![blk(&[(0, 60)])]);
    for t in [0x6853_1003, 0x6854_1102] {
        p.remove(&PropName::Mapi(PropTag(t)));
    }
    c("merged-only", p, LEAF, None);
    // evolution-exchange removes merged.
    let mut p = clean(PublisherStyle::Outlook);
    for t in [0x684F_1003, 0x6850_1102] {
        p.remove(&PropName::Mapi(PropTag(t)));
    }
    c("merged-not-busy-or-oof", p, LEAF, None);
    // Merged = busy ∪ OOF ∪ tentative.
    let mut p = clean(PublisherStyle::Outlook);
    let fb = pffb::decode(&pffb::PffbProps::from_lookup(|t| p.get(&PropName::Mapi(t))).unwrap())
        .unwrap();
    let range = PublishRange::at(Minutes1601::from_timestamp(now()), 2);
    let with_tent = pffb::encode_status(
        &fb.merged().union(&fb.tentative),
        range,
        PublisherStyle::Outlook,
    );
    set(
        &mut p,
        0x684F_1003,
        PropValue::MvInt(with_tent.months.unwrap()),
    );
    set(
        &mut p,
        0x6850_1102,
        PropValue::MvBinary(with_tent.blocks.unwrap()),
    );
    c("tentative-in-merged", p, LEAF, None);
    let mut p = clean(PublisherStyle::Outlook);
    p.remove(&PropName::Mapi(PropTag(0x6847_0003)));
    c("range-missing", p, LEAF, None);
    let mut p = clean(PublisherStyle::Outlook);
    set(&mut p, 0x6847_0003, PropValue::Int(1_201_478_400));
    set(&mut p, 0x6848_0003, PropValue::Int(1_206_576_000));
    c("range-unix-seconds", p, LEAF, None);
    let mut p = busy_only(vec![JAN], vec![blk(&[(0, 60)])]);
    c(
        "blocks-outside-range",
        {
            p.remove(&PropName::Mapi(PropTag(0x6847_0003)));
            set(
                &mut p,
                0x6847_0003,
                PropValue::Int(at("2008-01-27T00:00:00Z").0 as i32),
            );
            p
        },
        LEAF,
        None,
    );
    c(
        "duplicate",
        clean(PublisherStyle::Outlook),
        "USER-/CN=RECIPIENTS/CN=DAN-1.EML",
        Some(LEAF),
    );
    c(
        "non-canonical-url",
        clean(PublisherStyle::Outlook),
        "dan.EML",
        None,
    );
    let mut p = clean(PublisherStyle::Outlook);
    let ann = "/o=Org/ou=AG/cn=Recipients/cn=ann";
    set(&mut p, 0x6849_001F, PropValue::String(ann.into()));
    for t in [0x0037_001F, 0x0E1D_001F] {
        set(
            &mut p,
            t,
            PropValue::String("USER-/CN=RECIPIENTS/CN=ANN".into()),
        );
    }
    c(
        "owner-not-in-directory",
        p,
        "USER-/CN=RECIPIENTS/CN=ANN.EML",
        None,
    );
    v
}

/// The case of `rule`.
fn case(rule: &str) -> Case {
    let found = cases().into_iter().find(|c| c.0 == rule);
    found.unwrap_or_else(|| panic!("rule {rule} has no triggering case"))
}

#[test]
fn every_rule_has_a_message_that_triggers_it() {
    for rule in RULES {
        let (_, props, leaf, older) = case(rule.name);
        let f = run_with(&props, leaf, older);
        assert!(names(&f).contains(&rule.name), "{}: {:#?}", rule.name, f);
        for finding in f.iter().filter(|f| f.rule == rule.name) {
            assert_eq!(finding.severity, rule.severity);
            assert!(!finding.user.is_empty());
            assert!(!finding.hit.sentence.is_empty());
        }
    }
}

#[test]
fn rule_names_are_unique_and_kebab_case() {
    let mut names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        panic!("{} twice", w[0]);
    }
    for name in names {
        let kebab = name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
        assert!(kebab, "{name}");
    }
}

#[test]
fn findings_name_the_status_month_and_publishers() {
    let (_, p, leaf, _) = case("block-past-month-end");
    let f = run_with(&p, leaf, None);
    let f = f
        .iter()
        .find(|f| f.rule == "block-past-month-end" && f.hit.status.as_deref() == Some("busy"))
        .unwrap();
    assert_eq!(f.hit.status.as_deref(), Some("busy"));
    assert_eq!(f.hit.month.as_deref(), Some("2008-02"));
    assert_eq!(f.publishers, vec!["Zimbra".to_string()]);
    assert_eq!(f.user, DN);
    let line = f.line();
    assert!(
        line.starts_with(
            "block-past-month-end warning /o=Org/ou=AG/cn=Recipients/cn=dan busy 2008-02 "
        ),
        "{line}"
    );
    assert!(line.ends_with("[written by: Zimbra]"), "{line}");
}

#[test]
fn no_directory_means_no_directory_findings() {
    let (_, p, leaf, _) = case("owner-not-in-directory");
    let msg = LintMessage {
        folder: FOLDER,
        leaf,
        props: &p,
        modified: None,
    };
    assert!(lint(&msg, &Facts::default()).is_empty());
}

#[test]
fn severity_orders_and_parses() {
    assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Error);
    assert_eq!(Severity::parse("Warning"), Some(Severity::Warning));
    assert_eq!(Severity::parse("fatal"), None);
}

#[test]
fn a_propfind_answer_reads_back_the_typed_properties() {
    let body = br#"<?xml version="1.0"?>
<a:multistatus xmlns:a="DAV:" xmlns:b="urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/" xmlns:c="xml:" xmlns:d="http://schemas.microsoft.com/mapi/proptag/">
 <a:response><a:href>http://h/public/x/USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=DAN.EML</a:href>
  <a:propstat><a:status>HTTP/1.1 200 OK</a:status><a:prop>
   <a:displayname>USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=DAN.EML</a:displayname>
   <d:x68531003 b:dt="mv.int"><c:v>32130</c:v></d:x68531003>
   <d:x68541102 b:dt="mv.bin.base64"><c:v>UApcCg==</c:v></d:x68541102>
   <d:x68470003 b:dt="int">213000000</d:x68470003>
  </a:prop></a:propstat>
  <a:propstat><a:prop><d:x68550003/></a:prop><a:status>HTTP/1.1 404 Resource Not Found</a:status></a:propstat>
 </a:response>
</a:multistatus>"#;
    let r = multistatus::parse_multistatus(body).unwrap();
    assert_eq!(r.len(), 1);
    assert!(r[0].href.ends_with("DAN.EML"));
    assert_eq!(
        r[0].props.get(&PropName::Mapi(PropTag(0x6853_1003))),
        Some(&PropValue::MvInt(vec![32130]))
    );
    assert_eq!(
        r[0].props.get(&PropName::Mapi(PropTag(0x6854_1102))),
        Some(&PropValue::MvBinary(vec![vec![0x50, 0x0A, 0x5C, 0x0A]]))
    );
    assert_eq!(
        r[0].props.get(&PropName::Mapi(PropTag(0x6847_0003))),
        Some(&PropValue::Int(213_000_000))
    );
    assert!(
        !r[0]
            .props
            .contains_key(&PropName::Mapi(PropTag(0x6855_0003)))
    );
    assert!(!r[0].is_collection());
    assert!(multistatus::parse_multistatus(b"<a:multistatus xmlns:a='DAV:'><a:response>").is_err());
}

/// A publisher's PROPPATCH fixture (tests/data/dav/) applied to an empty message.
fn written_by(fixture: &[u8]) -> BTreeMap<PropName, PropValue> {
    use crate::protocol::dav_xml::{PropChange as PatchOp, XmlLimits, parse_proppatch};
    let mut p = BTreeMap::new();
    for op in parse_proppatch(fixture, &XmlLimits::default()).unwrap() {
        match op {
            PatchOp::Set(n, v) => {
                p.insert(n, v);
            }
            PatchOp::Remove(n) => {
                p.remove(&n);
            }
        }
    }
    p
}

fn lint_fixture(fixture: &[u8], folder: &str, leaf: &str) -> Vec<Finding> {
    let props = written_by(fixture);
    let msg = LintMessage {
        folder,
        leaf,
        props: &props,
        modified: None,
    };
    lint(&msg, &Facts::default())
}

/// The fingerprints the real-clients work documents, found in the fixtures of what each
/// publisher sends, and each finding names that publisher.
#[test]
fn real_publishers_fixtures_show_their_fingerprints() {
    let [z, e, g] = [
        (
            &include_bytes!("../../../tests/data/dav/zimbra_pre2020_proppatch.xml")[..],
            "EX:/o=First Organization/ou=First Administrative Group",
            "USER-/CN=RECIPIENTS/CN=KBAKER.EML",
        ),
        (
            include_bytes!("../../../tests/data/dav/evolution_untyped_remove_merged.xml"),
            "EX:/o=Org/ou=AG",
            "USER-/CN=RECIPIENTS/CN=DAN.EML",
        ),
        (
            include_bytes!("../../../tests/data/dav/gcc_create_freebusy.xml"),
            "EX:/o=Org/ou=AG",
            "USER-/CN=RECIPIENTS/CN=ALIAS.EML",
        ),
    ]
    .map(|(xml, group, leaf)| lint_fixture(xml, group, leaf));
    let found = |findings: &[Finding], rule: &str| -> Finding {
        let f = findings.iter().find(|f| f.rule == rule);
        f.cloned()
            .unwrap_or_else(|| panic!("{rule}: {findings:#?}"))
    };
    for rule in ["block-past-month-end", "month-invalid"] {
        let f = found(&z, rule);
        assert!(f.publishers.contains(&"Zimbra".to_string()), "{f:?}");
    }
    let f = found(&e, "merged-not-busy-or-oof");
    assert_eq!(f.publishers, vec!["evolution-exchange".to_string()]);
    let f = found(&g, "unset-and-empty-mixed");
    assert_eq!(
        f.publishers,
        vec!["GCC".to_string(), "evolution-exchange".to_string()]
    );
    assert!(
        f.hit
            .sentence
            .starts_with("away without months but tentative listing"),
        "{}",
        f.hit.sentence
    );
    assert!(g.iter().all(|f| f.severity < Severity::Error), "{g:#?}");
}

/// The streamed reader gives what the whole-body reader gives, whatever the chunk size.
#[test]
fn a_propfind_answer_streams_in_any_chunks() {
    let body = br#"<?xml version="1.0"?>
<a:multistatus xmlns:a="DAV:" xmlns:b="urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/" xmlns:c="xml:" xmlns:d="http://schemas.microsoft.com/mapi/proptag/">
 <a:response><a:href>/public/f/</a:href><a:propstat><a:status>HTTP/1.1 200 OK</a:status><a:prop><a:iscollection b:dt="boolean">1</a:iscollection></a:prop></a:propstat></a:response>
 <a:response><a:href>/public/f/USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=DAN.EML</a:href>
  <a:propstat><a:status>HTTP/1.1 200 OK</a:status><a:prop>
   <d:x68531003 b:dt="mv.int"><c:v>32130</c:v></d:x68531003>
   <d:x0e1d001f>USER-/CN=RECIPIENTS/CN=DAN &lt;/a:response&gt;</d:x0e1d001f>
  </a:prop></a:propstat>
 </a:response>
 <a:responsedescription>two</a:responsedescription>
</a:multistatus>"#;
    let whole = multistatus::parse_multistatus(body).unwrap();
    assert_eq!(whole.len(), 2);
    assert!(whole[0].is_collection());
    for size in [1, 2, 7, 64, 4096] {
        let mut s = multistatus::MultistatusStream::new();
        let mut got = Vec::new();
        for chunk in body.chunks(size) {
            got.extend(s.feed(chunk).unwrap());
        }
        assert_eq!(s.finish().unwrap(), 2, "chunks of {size}");
        assert_eq!(got, whole, "chunks of {size}");
    }
    assert!(multistatus::MultistatusStream::new().finish().is_err());
}

/// `lint --json` and the remote client read the hit's fields on the finding itself.
#[test]
fn a_finding_keeps_its_wire_shape() {
    let wire = serde_json::json!({
        "rule": "block-past-month-end",
        "severity": "warning",
        "user": "/o=Org/ou=AG/cn=Recipients/cn=kbaker",
        "leaf": "USER-/CN=RECIPIENTS/CN=KBAKER.EML",
        "status": "busy",
        "month": "2008-11",
        "sentence": "block 43140..43260 ends past the month",
        "publishers": ["Zimbra"],
    });
    let f: Finding = serde_json::from_value(wire.clone()).unwrap();
    assert_eq!(f.hit.status.as_deref(), Some("busy"));
    assert_eq!(f.hit.month.as_deref(), Some("2008-11"));
    assert_eq!(serde_json::to_value(&f).unwrap(), wire);
}
