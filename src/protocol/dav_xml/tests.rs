//! Golden bodies (litmus `props`, a Google Calendar Connector-style free/busy PROPPATCH, the
//! publishers' SEARCH), hostile input, and the write→read round trip.

use proptest::prelude::*;
use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

use super::proppatch::read_value;
use super::reader::{Node, SafeReader, is_xml_char};
use super::*;
use crate::protocol::mapi::{PROPTAG_NS, PropName, PropTag, PropValue, tags};

const LITMUS_NS: &str = "http://example.com/neon/litmus/";

macro_rules! golden {
    ($name:literal) => {
        include_bytes!(concat!("../../../tests/data/dav/", $name)).as_slice()
    };
}

fn lim() -> XmlLimits {
    XmlLimits::default()
}

fn litmus(local: &str) -> PropName {
    PropName::new(LITMUS_NS, local)
}

fn dav(local: &str) -> PropName {
    PropName::new(DAV_NS, local)
}

// ---------------------------------------------------------------- PROPFIND

#[test]
fn propfind_empty_body_is_allprop() {
    for body in [&b""[..], b"  \r\n\t", b"\xEF\xBB\xBF"] {
        assert_eq!(
            parse_propfind(body, &lim()),
            Ok(PropfindRequest::AllProp { include: vec![] })
        );
    }
}

#[test]
fn litmus_propfind_allprop_propname_prop() {
    assert_eq!(
        parse_propfind(golden!("litmus_propfind_allprop.xml"), &lim()),
        Ok(PropfindRequest::AllProp { include: vec![] })
    );
    assert_eq!(
        parse_propfind(golden!("litmus_propfind_propname.xml"), &lim()),
        Ok(PropfindRequest::PropName)
    );
    assert_eq!(
        parse_propfind(golden!("litmus_propfind_prop.xml"), &lim()),
        Ok(PropfindRequest::Prop(vec![
            dav("getcontentlength"),
            dav("getlastmodified"),
            dav("displayname"),
            dav("resourcetype"),
            litmus("foo"),
            litmus("bar"),
        ]))
    );
}

#[test]
fn litmus_propextended_ignores_unknown_elements() {
    assert_eq!(
        parse_propfind(golden!("litmus_propextended.xml"), &lim()),
        Ok(PropfindRequest::AllProp { include: vec![] })
    );
}

#[test]
fn litmus_propfind_invalid_bodies_are_refused() {
    assert_eq!(
        parse_propfind(golden!("litmus_propfind_invalid2.xml"), &lim()),
        Err(XmlError::EmptyPrefixBinding("bar".into()))
    );
    // The root is judged before the end of the document is reached: still a 400.
    let e = parse_propfind(b"<foo>", &lim()).unwrap_err();
    assert!(matches!(e, XmlError::UnexpectedRoot { .. }), "{e:?}");
    let e = parse_propfind(br#"<propfind xmlns="DAV:">"#, &lim()).unwrap_err();
    assert!(matches!(e, XmlError::Malformed(..)), "{e:?}");
}

#[test]
fn propfind_include_mapi_names_and_duplicates() {
    let body = br#"<D:propfind xmlns:D="DAV:" xmlns:m="http://schemas.microsoft.com/mapi/proptag/">
        <D:allprop/><D:include><m:x68470003/><m:X68470003/><D:getetag/></D:include></D:propfind>"#;
    assert_eq!(
        parse_propfind(body, &lim()),
        Ok(PropfindRequest::AllProp {
            include: vec![PropName::Mapi(tags::FREEBUSY_PUBLISH_START), dav("getetag")]
        })
    );
    let body = br#"<propfind xmlns="DAV:"><prop><x xmlns="urn:a"/><x xmlns="urn:a"/><x xmlns="urn:b"/></prop></propfind>"#;
    assert_eq!(
        parse_propfind(body, &lim()),
        Ok(PropfindRequest::Prop(vec![
            PropName::new("urn:a", "x"),
            PropName::new("urn:b", "x")
        ]))
    );
}

#[test]
fn propfind_with_two_modes_is_refused_and_empty_propfind_is_allprop() {
    let body = br#"<propfind xmlns="DAV:"><prop><displayname/></prop><allprop/></propfind>"#;
    assert!(matches!(
        parse_propfind(body, &lim()),
        Err(XmlError::Invalid(_))
    ));
    assert_eq!(
        parse_propfind(br#"<propfind xmlns="DAV:"/>"#, &lim()),
        Ok(PropfindRequest::AllProp { include: vec![] })
    );
}

#[test]
fn propfind_root_must_be_dav_propfind() {
    assert_eq!(
        parse_propfind(br#"<propfind><allprop/></propfind>"#, &lim()),
        Err(XmlError::UnexpectedRoot {
            expected: "{DAV:}propfind".into(),
            found: "{}propfind".into()
        })
    );
    assert!(matches!(
        parse_propfind(br#"<D:propertyupdate xmlns:D="DAV:"/>"#, &lim()),
        Err(XmlError::UnexpectedRoot { .. })
    ));
}

// ---------------------------------------------------------------- PROPPATCH

#[test]
fn litmus_proppatch_keeps_document_order_across_set_and_remove() {
    assert_eq!(
        parse_proppatch(golden!("litmus_proppatch_set_remove.xml"), &lim()),
        Ok(vec![
            PropChange::Set(litmus("prop5"), PropValue::String("newvalue5".into())),
            PropChange::Remove(litmus("prop0")),
            PropChange::Set(litmus("prop6"), PropValue::String("newvalue6".into())),
            PropChange::Remove(litmus("prop1")),
        ])
    );
    assert_eq!(
        parse_proppatch(golden!("litmus_propremoveset.xml"), &lim()),
        Ok(vec![
            PropChange::Remove(litmus("removeset")),
            PropChange::Set(litmus("removeset"), PropValue::String("x".into())),
            PropChange::Set(litmus("removeset"), PropValue::String("y".into())),
        ])
    );
}

#[test]
fn litmus_propvalnspace_keeps_the_value_namespace() {
    let ops = parse_proppatch(golden!("litmus_propvalnspace.xml"), &lim()).unwrap();
    assert_eq!(
        ops,
        vec![PropChange::Set(
            litmus("valnspace"),
            PropValue::Xml("<foo xmlns='http://bar'/>".into())
        )]
    );
}

#[test]
fn litmus_prophighunicode_and_propnullns() {
    assert_eq!(
        parse_proppatch(golden!("litmus_prophighunicode.xml"), &lim()),
        Ok(vec![PropChange::Set(
            litmus("high-unicode"),
            PropValue::String("\u{10000}".into())
        )])
    );
    assert_eq!(
        parse_proppatch(golden!("litmus_propnullns.xml"), &lim()),
        Ok(vec![PropChange::Set(
            PropName::new("", "nonamespace"),
            PropValue::String("randomvalue".into())
        )])
    );
}

#[test]
fn xml_values_get_the_outer_namespace_declarations_they_use() {
    let body = br#"<propertyupdate xmlns="DAV:" xmlns:z="urn:z"><set><prop>
        <t:v xmlns:t="urn:t"> <z:a t:attr="1&amp;2"><b/><z:c xmlns:z="urn:inner"/></z:a>tail<q:d xmlns:q="urn:q"/></t:v>
        </prop></set></propertyupdate>"#;
    let ops = parse_proppatch(body, &lim()).unwrap();
    assert_eq!(
        ops,
        vec![PropChange::Set(
            PropName::new("urn:t", "v"),
            PropValue::Xml(
                r#" <z:a xmlns:z="urn:z" xmlns:t="urn:t" xmlns="DAV:" t:attr="1&amp;2"><b/><z:c xmlns:z="urn:inner"/></z:a>tail<q:d xmlns:q="urn:q"/>"#
                    .into()
            )
        )]
    );
    // The kept markup parses on its own, every prefix bound.
    if let [PropChange::Set(_, PropValue::Xml(inner))] = &ops[..] {
        assert_namespace_well_formed(format!("<w>{inner}</w>").as_bytes());
    }
}

#[test]
fn text_values_decode_references_and_keep_whitespace() {
    let body = "<propertyupdate xmlns=\"DAV:\"><set><prop><x xmlns=\"urn:x\">  a&lt;b&#x263A;\u{1F600}<![CDATA[<c>]]><!-- no -->\n</x></prop></set></propertyupdate>";
    assert_eq!(
        parse_proppatch(body.as_bytes(), &lim()),
        Ok(vec![PropChange::Set(
            PropName::new("urn:x", "x"),
            PropValue::String("  a<b\u{263A}\u{1F600}<c>\n".into())
        )])
    );
}

/// Google Calendar Connector creates the whole free/busy message in one PROPPATCH.
#[test]
fn gcc_style_freebusy_proppatch() {
    let ops = parse_proppatch(golden!("gcc_create_freebusy.xml"), &lim()).unwrap();
    let block = vec![0x50, 0x0A, 0x8C, 0x0A];
    let subject = PropValue::String("USER-/CN=RECIPIENTS/CN=ALIAS".into());
    let set = |tag: PropTag, v: PropValue| PropChange::Set(PropName::Mapi(tag), v);
    assert_eq!(
        ops,
        vec![
            set(tags::SCHEDULE_INFO_RESOURCE_TYPE, PropValue::Int(0)),
            set(tags::GATEWAY_NEEDS_TO_REFRESH, PropValue::Bool(true)),
            set(tags::FREEBUSY_PUBLISH_START, PropValue::Int(214_104_960)),
            set(tags::FREEBUSY_PUBLISH_END, PropValue::Int(214_191_360)),
            set(
                tags::FREEBUSY_MESSAGE_EMAIL_ADDRESS,
                PropValue::String("/o=Org/ou=AG/cn=Recipients/cn=alias".into())
            ),
            set(
                tags::SCHEDULE_INFO_MONTHS_MERGED,
                PropValue::MvInt(vec![32130])
            ),
            set(
                tags::SCHEDULE_INFO_FREEBUSY_MERGED,
                PropValue::MvBinary(vec![block.clone()])
            ),
            set(
                tags::SCHEDULE_INFO_MONTHS_TENTATIVE,
                PropValue::MvInt(vec![32130])
            ),
            set(
                tags::SCHEDULE_INFO_FREEBUSY_TENTATIVE,
                PropValue::MvBinary(vec![vec![]])
            ),
            set(
                tags::SCHEDULE_INFO_MONTHS_BUSY,
                PropValue::MvInt(vec![32130])
            ),
            set(
                tags::SCHEDULE_INFO_FREEBUSY_BUSY,
                PropValue::MvBinary(vec![block])
            ),
            set(tags::SCHEDULE_INFO_MONTHS_AWAY, PropValue::MvInt(vec![])),
            set(
                tags::SCHEDULE_INFO_FREEBUSY_AWAY,
                PropValue::MvBinary(vec![])
            ),
            set(tags::NORMALIZED_SUBJECT, subject.clone()),
            set(tags::SUBJECT, subject),
            PropChange::Set(
                PropName::message_class(),
                PropValue::String("IPM.Post".into())
            ),
            // 2007-12-30T05:19:07.423Z in FILETIME ticks.
            set(
                tags::FREEBUSY_RANGE_TIMESTAMP,
                PropValue::SysTime(128_434_655_474_230_000)
            ),
        ]
    );
}

#[test]
fn dt_is_found_by_namespace_not_prefix() {
    let body = br#"<x:propertyupdate xmlns:x="DAV:" xmlns:T="urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/" xmlns:dt="urn:schemas-microsoft-com:datatypes" xmlns:V="xml:" xmlns:p="http://schemas.microsoft.com/mapi/proptag/">
        <x:set><x:prop>
        <p:X68470003 T:dt="int"> -5 </p:X68470003>
        <p:x68471003 dt:dt="mv.int"><V:v>1</V:v> <V:v>+2</V:v><other>9</other></p:x68471003>
        <p:x6847001f b:dt="int" xmlns:b="urn:not-the-dt-namespace">7</p:x6847001f>
        </x:prop></x:set></x:propertyupdate>"#;
    assert_eq!(
        parse_proppatch(body, &lim()),
        Ok(vec![
            PropChange::Set(PropName::Mapi(PropTag(0x6847_0003)), PropValue::Int(-5)),
            PropChange::Set(
                PropName::Mapi(PropTag(0x6847_1003)),
                PropValue::MvInt(vec![1, 2])
            ),
            PropChange::Set(
                PropName::Mapi(PropTag(0x6847_001F)),
                PropValue::String("7".into())
            ),
        ])
    );
}

#[test]
fn bad_typed_values_name_the_property_and_are_unprocessable() {
    let body = br#"<propertyupdate xmlns="DAV:" xmlns:b="urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/"><set><prop>
        <x68470003 xmlns="http://schemas.microsoft.com/mapi/proptag/" b:dt="int">soon</x68470003>
        </prop></set></propertyupdate>"#;
    let e = parse_proppatch(body, &lim()).unwrap_err();
    assert_eq!(
        e,
        XmlError::BadValue {
            prop: PropName::Mapi(tags::FREEBUSY_PUBLISH_START),
            reason: "'soon' is not a 32-bit integer".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "the value of property http://schemas.microsoft.com/mapi/proptag/x68470003 is not valid: \
         'soon' is not a 32-bit integer"
    );
}

#[test]
fn proppatch_without_properties_is_refused() {
    for body in [
        &br#"<propertyupdate xmlns="DAV:"/>"#[..],
        br#"<propertyupdate xmlns="DAV:"><set><prop/></set><foo/></propertyupdate>"#,
    ] {
        assert!(matches!(
            parse_proppatch(body, &lim()),
            Err(XmlError::Invalid(_))
        ));
    }
    assert!(matches!(
        parse_proppatch(b" ", &lim()),
        Err(XmlError::Empty(_))
    ));
}

// ---------------------------------------------------------------- SEARCH

#[test]
fn exchange_search_body() {
    assert_eq!(
        parse_search(golden!("exchange_search_subject.xml"), &lim()),
        Ok(SearchRequest {
            select: vec![
                PropName::mapi_subject(),
                PropName::Mapi(tags::SCHEDULE_INFO_FREEBUSY_MERGED),
                PropName::Mapi(tags::SCHEDULE_INFO_MONTHS_MERGED),
            ],
            from: "http://host/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=Org_xF8FF_ou=AG/".into(),
            scope_deep: false,
            conditions: vec![(
                PropName::mapi_subject(),
                "USER-/CN=RECIPIENTS/CN=ALIAS".into()
            )],
        })
    );
}

#[test]
fn sql_scopes_quotes_and_order_by() {
    let q = parse_sql(
        r#"select * from Scope('SHALLOW traversal of "/public/f/" ') where ("DAV:ishidden" = false and "urn:x:a" = 'it''s') ORDER BY "DAV:displayname" DESC;"#,
    )
    .unwrap();
    assert_eq!(q.select, vec![]);
    assert_eq!(q.from, "/public/f/");
    assert!(!q.scope_deep);
    assert_eq!(
        q.conditions,
        vec![
            (dav("ishidden"), "false".into()),
            (PropName::new("urn:x:", "a"), "it's".into())
        ]
    );
    let q =
        parse_sql(r#"SELECT "DAV:href" FROM SCOPE('deep traversal of "http://h/p/"')"#).unwrap();
    assert!(q.scope_deep);
    let q = parse_sql(r#"SELECT "DAV:href" FROM SCOPE('"http://h/p/"')"#).unwrap();
    assert!(q.scope_deep);
    assert_eq!(q.from, "http://h/p/");
}

#[test]
fn unsupported_sql_says_what_is_supported() {
    for (sql, problem) in [
        (
            r#"SELECT "DAV:href" FROM "/p" WHERE "DAV:a" = '1' OR "DAV:b" = '2'"#,
            "OR",
        ),
        (r#"SELECT "DAV:href" FROM "/p" WHERE "DAV:a" <> '1'"#, "<>"),
        (
            r#"SELECT "DAV:href" FROM SCOPE('hierarchical traversal of "/p"')"#,
            "hierarchical",
        ),
        (
            r#"SELECT "DAV:href" FROM SCOPE('deep traversal of "/p"', 'deep traversal of "/q"')"#,
            "one scope",
        ),
        (
            r#"SELECT "DAV:href" FROM "/p" WHERE "DAV:a" = 'x"#,
            "never closed",
        ),
        (r#"UPDATE "/p""#, "SELECT"),
        (r#"SELECT "http://x/a b" FROM "/p""#, "not a property name"),
        (
            r#"SELECT "DAV:href" FROM "/p" GROUP BY "DAV:a""#,
            "unexpected",
        ),
    ] {
        let e = parse_sql(sql).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(problem), "{sql}: {msg}");
        assert!(msg.contains("supported: SELECT"), "{msg}");
    }
    let deep = format!(
        r#"SELECT * FROM "/p" WHERE {}"DAV:a" = 'x'{}"#,
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    assert!(parse_sql(&deep).is_err());
}

#[test]
fn search_needs_sql() {
    let e = parse_search(
        br#"<D:searchrequest xmlns:D="DAV:"><D:basicsearch/></D:searchrequest>"#,
        &lim(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("D:sql"), "{e}");
    let e = parse_search(
        br#"<D:searchrequest xmlns:D="DAV:"><D:sql>SELECT * FROM "/p" WHERE</D:sql></D:searchrequest>"#,
        &lim(),
    )
    .unwrap_err();
    assert!(matches!(e, XmlError::Sql(_)), "{e:?}");
}

// ---------------------------------------------------------------- hostile input

#[test]
fn billion_laughs_fails_fast_on_the_doctype() {
    let mut body =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        body.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    body.push_str("]>\n<propfind xmlns=\"DAV:\"><prop><x>&lol9;</x></prop></propfind>");
    // Refused at the DOCTYPE, before any entity could be expanded.
    assert_eq!(
        parse_propfind(body.as_bytes(), &lim()),
        Err(XmlError::Doctype)
    );
    assert_eq!(
        parse_proppatch(body.as_bytes(), &lim()),
        Err(XmlError::Doctype)
    );
    // Without a DTD an entity is simply undefined.
    let e = parse_proppatch(
        br#"<propertyupdate xmlns="DAV:"><set><prop><x xmlns="u">&lol9;</x></prop></set></propertyupdate>"#,
        &lim(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("&lol9;"), "{e}");
}

#[test]
fn limits_are_enforced() {
    let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
    let body = format!(r#"<propfind xmlns="DAV:"><prop>{deep}</prop></propfind>"#);
    assert_eq!(
        parse_propfind(body.as_bytes(), &lim()),
        Err(XmlError::TooDeep(64))
    );

    let many = "<a/>".repeat(200);
    let body = format!(r#"<propfind xmlns="DAV:"><prop>{many}</prop></propfind>"#);
    let small = XmlLimits {
        max_elements: 100,
        ..lim()
    };
    assert_eq!(
        parse_propfind(body.as_bytes(), &small),
        Err(XmlError::TooManyElements(100))
    );

    let attrs: String = (0..65).map(|i| format!(" a{i}=\"x\"")).collect();
    let body = format!(r#"<propfind xmlns="DAV:"><prop><a{attrs}/></prop></propfind>"#);
    assert_eq!(
        parse_propfind(body.as_bytes(), &lim()),
        Err(XmlError::TooManyAttributes(64))
    );
}

#[test]
fn namespace_errors() {
    assert_eq!(
        parse_propfind(
            br#"<D:propfind xmlns:D="DAV:"><D:prop><z:x/></D:prop></D:propfind>"#,
            &lim()
        ),
        Err(XmlError::UndeclaredPrefix("z".into()))
    );
    assert_eq!(
        parse_propfind(
            br#"<D:propfind xmlns:D="DAV:"><D:prop><x z:a="1"/></D:prop></D:propfind>"#,
            &lim()
        ),
        Err(XmlError::UndeclaredPrefix("z".into()))
    );
    assert_eq!(
        parse_propfind(br#"<propfind><allprop/></propfind>"#, &lim()).map(|_| ()),
        Err(XmlError::UnexpectedRoot {
            expected: "{DAV:}propfind".into(),
            found: "{}propfind".into()
        })
    );
}

#[test]
fn malformed_documents() {
    let cases: &[&[u8]] = &[
        br#"<propfind xmlns="DAV:"><allprop/>"#, // truncated
        br#"<propfind xmlns="DAV:"><allprop></propfind>"#, // mismatched
        br#"<propfind xmlns="DAV:"/><propfind xmlns="DAV:"/>"#, // two roots
        br#"<propfind xmlns="DAV:"/>trailing"#,  // text after root
        br#"text<propfind xmlns="DAV:"/>"#,      // text before root
        br#"<propfind xmlns="DAV:"><prop><x>&#0;</x></prop></propfind>"#, // bad char ref
        b"<propfind xmlns=\"DAV:\"><prop><x>\x01</x></prop></propfind>", // bad char
        br#"<propfind xmlns="DAV:" a="1" a="2"/>"#, // duplicate attribute
        br#"<propfind xmlns="DAV:"><1x/></propfind>"#, // bad name
        br#"<!-- only a comment -->"#,
    ];
    for body in cases {
        let e = parse_propfind(body, &lim()).unwrap_err();
        assert!(
            matches!(e, XmlError::Malformed(..)),
            "{}: {e:?}",
            String::from_utf8_lossy(body)
        );
    }
    assert_eq!(
        parse_propfind(b"<propfind xmlns=\"DAV:\">\xff</propfind>", &lim()),
        Err(XmlError::NotUtf8(23))
    );
    assert_eq!(
        parse_propfind(b"\xff\xfe<\x00", &lim()),
        Err(XmlError::NotUtf8(0))
    );
    assert_eq!(
        parse_propfind(
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><propfind xmlns=\"DAV:\"><prop><caf\u{e9}/></prop></propfind>".as_bytes(),
            &lim()
        ),
        Err(XmlError::UnsupportedEncoding("ISO-8859-1".into()))
    );
    // Declared Latin-1 but pure ASCII reads the same.
    assert!(parse_propfind(
        br#"<?xml version="1.0" encoding="ISO-8859-1"?><propfind xmlns="DAV:"><allprop/></propfind>"#,
        &lim()
    )
    .is_ok());
}

#[test]
fn large_bodies_up_to_the_element_cap_parse() {
    let names: String = (0..99_990)
        .map(|i| format!("<p{i} xmlns=\"urn:n\"/>"))
        .collect();
    let body = format!(r#"<propfind xmlns="DAV:"><prop>{names}</prop></propfind>"#);
    match parse_propfind(body.as_bytes(), &lim()) {
        Ok(PropfindRequest::Prop(v)) => assert_eq!(v.len(), 99_990),
        other => panic!("{other:?}"),
    }
    let sets: String = (0..49_990)
        .map(|i| format!("<p{i} xmlns=\"urn:n\"><v/></p{i}>"))
        .collect();
    let body =
        format!(r#"<propertyupdate xmlns="DAV:"><set><prop>{sets}</prop></set></propertyupdate>"#);
    assert_eq!(
        parse_proppatch(body.as_bytes(), &lim()).map(|v| v.len()),
        Ok(49_990)
    );
}

// ---------------------------------------------------------------- writer

/// Parse a document with quick-xml's own namespace reader and check every element and
/// attribute prefix resolves and tags balance.
fn assert_namespace_well_formed(doc: &[u8]) {
    let text = std::str::from_utf8(doc).expect("UTF-8");
    let mut r = NsReader::from_str(text);
    let mut depth = 0i32;
    loop {
        let (res, ev) = r
            .read_resolved_event()
            .unwrap_or_else(|e| panic!("{e}: {text}"));
        assert!(
            !matches!(res, ResolveResult::Unknown(_)),
            "{res:?} in {text}"
        );
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let empty = text.as_bytes()[r.buffer_position() as usize - 2] == b'/';
                for a in e.attributes() {
                    let a = a.unwrap_or_else(|e| panic!("{e}: {text}"));
                    let (res, _) = r.resolver().resolve_attribute(a.key);
                    assert!(!matches!(res, ResolveResult::Unknown(_)), "{text}");
                }
                if !empty {
                    depth += 1;
                }
            }
            Event::End(_) => depth -= 1,
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "{text}");
}

/// Read back every property of every `a:prop` in a multistatus with the PROPPATCH value
/// reader.
fn reparse_props(doc: &[u8]) -> Vec<(PropName, PropValue)> {
    let mut r = SafeReader::new(doc, &lim()).unwrap();
    r.expect_root(DAV_NS, "multistatus").unwrap();
    let mut out = Vec::new();
    loop {
        match r.next_node().unwrap() {
            Node::Start(e) if e.is(DAV_NS, "prop") => loop {
                match r.next_node().unwrap() {
                    Node::Start(p) => {
                        let name = PropName::new(&p.ns, &p.local);
                        let v = read_value(&mut r, &p, &name).unwrap();
                        out.push((name, v));
                    }
                    Node::End { .. } => break,
                    _ => {}
                }
            },
            Node::Eof => return out,
            _ => {}
        }
    }
}

#[test]
fn multistatus_is_written_exchange_style() {
    let mut r = ResponseBuilder::new("http://h/public/a&b.EML");
    r.prop_ok(
        &PropName::Mapi(tags::FREEBUSY_PUBLISH_START),
        &PropValue::Int(214_104_960),
    );
    r.prop_ok(
        &PropName::Mapi(tags::GATEWAY_NEEDS_TO_REFRESH),
        &PropValue::Bool(true),
    );
    r.prop_ok(
        &PropName::Mapi(tags::SCHEDULE_INFO_FREEBUSY_MERGED),
        &PropValue::MvBinary(vec![vec![0x50, 0x0A, 0x8C, 0x0A], vec![]]),
    );
    r.prop_ok(
        &PropName::Mapi(tags::FREEBUSY_RANGE_TIMESTAMP),
        &PropValue::SysTime(128_434_655_474_230_000),
    );
    r.prop_ok(
        &PropName::mapi_subject(),
        &PropValue::String("USER-/CN=<X>".into()),
    );
    r.prop_status(&litmus("foo"), 404);
    r.prop_ok(
        &PropName::new("", "nonamespace"),
        &PropValue::String("v".into()),
    );
    r.prop_ok(
        &litmus("valnspace"),
        &PropValue::Xml("<foo xmlns='http://bar'/>".into()),
    );
    let mut gone = ResponseBuilder::new("/public/gone");
    gone.status(404);
    let empty = ResponseBuilder::new("/public/empty");
    let doc = multistatus(&[r, gone, empty]);
    let text = String::from_utf8(doc.clone()).unwrap();
    let expected = concat!(
        "<a:response><a:href>http://h/public/a&amp;b.EML</a:href><a:propstat>",
        "<a:status>HTTP/1.1 200 OK</a:status><a:prop>",
        "<d:x68470003 b:dt=\"int\">214104960</d:x68470003>",
        "<d:x6846000b b:dt=\"boolean\">1</d:x6846000b>",
        "<d:x68501102 b:dt=\"mv.bin.base64\"><c:v>UAqMCg==</c:v><c:v/></d:x68501102>",
        "<d:x68680040 b:dt=\"dateTime.tz\">2007-12-30T05:19:07.423Z</d:x68680040>",
        "<e:subject>USER-/CN=&lt;X&gt;</e:subject>",
        "<nonamespace xmlns=\"\">v</nonamespace>",
        "<g:valnspace xmlns:g=\"http://example.com/neon/litmus/\"><foo xmlns='http://bar'/></g:valnspace>",
        "</a:prop></a:propstat>",
        "<a:propstat><a:status>HTTP/1.1 404 Not Found</a:status>",
        "<a:prop><g:foo xmlns:g=\"http://example.com/neon/litmus/\"/></a:prop></a:propstat></a:response>",
        "<a:response><a:href>/public/gone</a:href><a:status>HTTP/1.1 404 Not Found</a:status></a:response>",
        "<a:response><a:href>/public/empty</a:href><a:propstat><a:status>HTTP/1.1 200 OK</a:status><a:prop/></a:propstat></a:response>",
    );
    assert!(text.contains(expected), "{text}");
    assert!(text.starts_with(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<a:multistatus xmlns:a=\"DAV:\""
    ));
    assert!(text.ends_with("</a:multistatus>"));
    assert_namespace_well_formed(&doc);
}

#[test]
fn error_body_names_the_precondition() {
    assert_eq!(
        error_body("propfind-finite-depth"),
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error xmlns:D=\"DAV:\"><D:propfind-finite-depth/></D:error>"
    );
    assert_namespace_well_formed(error_body("propfind-finite-depth").as_bytes());
    assert_namespace_well_formed(error_body("<bad>").as_bytes());
}

#[test]
fn propnames_and_statuses_without_values() {
    let mut r = ResponseBuilder::new("/x");
    r.prop_name_only(&dav("displayname"));
    r.prop_status(&PropName::Mapi(tags::SUBJECT), 403);
    r.prop_status(&dav("getetag"), 424);
    r.prop_name_only(&PropName::new("urn:q\"&<", "n"));
    r.prop_name_only(&PropName::new("urn:q", "not a name"));
    let doc = multistatus(&[r]);
    assert_namespace_well_formed(&doc);
    let text = String::from_utf8(doc).unwrap();
    assert!(text.contains("<a:status>HTTP/1.1 200 OK</a:status><a:prop><a:displayname/><g:n xmlns:g=\"urn:q&quot;&amp;&lt;\"/></a:prop>"), "{text}");
    assert!(
        text.contains("<a:status>HTTP/1.1 403 Forbidden</a:status><a:prop><d:x0037001f/></a:prop>"),
        "{text}"
    );
    assert!(text.contains("HTTP/1.1 424 Failed Dependency"), "{text}");
    assert!(!text.contains("not a name"), "{text}");
}

// ---------------------------------------------------------------- properties

fn xml_string() -> impl Strategy<Value = String> {
    prop::collection::vec(
        any::<char>().prop_filter("XML char", |c| is_xml_char(*c)),
        0..12,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn ticks() -> impl Strategy<Value = i64> {
    // Whole milliseconds from 1601 to the end of 9999: what dateTime.tz can carry.
    (0i64..=265_046_774_399_999).prop_map(|ms| ms * 10_000)
}

fn xml_fragment() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["", "lead ", "  \n"]),
        prop::sample::select(vec!["foo", "t:bar", "x-y.z"]),
        prop::sample::select(vec!["http://bar", "urn:a&b", "DAV:"]),
        xml_string(),
    )
        .prop_map(|(lead, name, ns, text)| {
            let mut esc_ns = Vec::new();
            values::escape_attr(&mut esc_ns, ns);
            let esc_ns = String::from_utf8(esc_ns).unwrap_or_default();
            let mut esc_text = Vec::new();
            values::escape_text(&mut esc_text, &text);
            let esc_text = String::from_utf8(esc_text).unwrap_or_default();
            let decl = match name.split_once(':') {
                Some((p, _)) => format!("xmlns:{p}=\"{esc_ns}\""),
                None => format!("xmlns=\"{esc_ns}\""),
            };
            format!("{lead}<{name} {decl}>{esc_text}<inner/></{name}>")
        })
}

fn prop_value() -> impl Strategy<Value = PropValue> {
    prop_oneof![
        any::<i32>().prop_map(PropValue::Int),
        any::<bool>().prop_map(PropValue::Bool),
        any::<i64>().prop_map(PropValue::I8),
        ticks().prop_map(PropValue::SysTime),
        xml_string().prop_map(PropValue::String),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(PropValue::Binary),
        prop::collection::vec(any::<i32>(), 0..5).prop_map(PropValue::MvInt),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 0..5)
            .prop_map(PropValue::MvBinary),
        prop::collection::vec(xml_string(), 0..5).prop_map(PropValue::MvString),
        xml_fragment().prop_map(PropValue::Xml),
    ]
}

fn prop_name() -> impl Strategy<Value = PropName> {
    prop_oneof![
        any::<u32>().prop_map(|t| PropName::Mapi(PropTag(t))),
        (
            prop::sample::select(vec![
                "",
                "DAV:",
                LITMUS_NS,
                "http://schemas.microsoft.com/mapi/",
                "http://schemas.microsoft.com/exchange/",
                "xml:",
                PROPTAG_NS,
                "urn:odd\"&<'ns",
            ]),
            "[a-zA-Z_][a-zA-Z0-9_.-]{0,8}",
        )
            .prop_map(|(ns, local)| PropName::new(ns, &local)),
    ]
}

fn mutate(body: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut b = body.to_vec();
    for &(pos, byte, kind) in edits {
        let i = if b.is_empty() { 0 } else { pos % (b.len() + 1) };
        match kind % 3 {
            0 if i < b.len() => b[i] = byte,
            1 => b.insert(i, byte),
            _ if i < b.len() => {
                b.remove(i);
            }
            _ => {}
        }
    }
    b
}

const GOLDEN: &[&[u8]] = &[
    golden!("litmus_propfind_allprop.xml"),
    golden!("litmus_propfind_prop.xml"),
    golden!("litmus_propextended.xml"),
    golden!("litmus_proppatch_set_remove.xml"),
    golden!("litmus_propvalnspace.xml"),
    golden!("litmus_prophighunicode.xml"),
    golden!("gcc_create_freebusy.xml"),
    golden!("exchange_search_subject.xml"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn written_values_read_back_the_same(
        props in prop::collection::vec((prop_name(), prop_value()), 1..6)
    ) {
        let mut r = ResponseBuilder::new("/public/x.EML");
        for (n, v) in &props {
            r.prop_ok(n, v);
        }
        let doc = multistatus(&[r]);
        assert_namespace_well_formed(&doc);
        prop_assert_eq!(reparse_props(&doc), props);
    }

    #[test]
    fn parsers_never_panic_on_bytes(body in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_propfind(&body, &lim());
        let _ = parse_proppatch(&body, &lim());
        let _ = parse_search(&body, &lim());
    }

    #[test]
    fn parsers_never_panic_on_mutated_bodies(
        which in 0..GOLDEN.len(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8)
    ) {
        let body = mutate(GOLDEN[which], &edits);
        let _ = parse_propfind(&body, &lim());
        let _ = parse_proppatch(&body, &lim());
        let _ = parse_search(&body, &lim());
    }

    #[test]
    fn sql_parser_never_panics(sql in "\\PC{0,80}") {
        let _ = parse_sql(&sql);
    }

    #[test]
    fn sql_parser_never_panics_on_mutated_queries(
        edits in prop::collection::vec((any::<usize>(), 32u8..127, any::<u8>()), 1..6)
    ) {
        let base = br#"SELECT "DAV:href", * FROM SCOPE('deep traversal of "/p"') WHERE ("a:b" = 'it''s' AND "c:d" = 1) ORDER BY "DAV:x" ASC"#;
        let sql = String::from_utf8(mutate(base, &edits)).unwrap_or_default();
        let _ = parse_sql(&sql);
    }
}

// ---------------------------------------------------------------- real publishers (issue 10)

/// Pre-2020 Zimbra names every property `0xHHHHTTTT`, not an XML name; any case, any prefix
/// bound to the proptag namespace, in PROPPATCH, PROPFIND and SEARCH bodies.
#[test]
fn zero_x_proptag_names_are_read_as_x_names() {
    let body = br#"<?xml version="1.0"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:b="http://schemas.microsoft.com/mapi/proptag/">
<D:set><D:prop><b:0x68470003>0x0d59d8c0</b:0x68470003><b:0X6849001f>/o=Z/ou=AG/cn=Recipients/cn=u</b:0X6849001f>
<x68480003 xmlns="http://schemas.microsoft.com/mapi/proptag/">0x0d5a2d20</x68480003></D:prop></D:set>
<D:remove><D:prop><b:0x684F1003/></D:prop></D:remove></D:propertyupdate>"#;
    assert_eq!(
        parse_proppatch(body, &lim()).unwrap(),
        vec![
            PropChange::Set(
                PropName::Mapi(tags::FREEBUSY_PUBLISH_START),
                PropValue::Int(0x0d59_d8c0)
            ),
            PropChange::Set(
                PropName::Mapi(tags::FREEBUSY_MESSAGE_EMAIL_ADDRESS),
                PropValue::String("/o=Z/ou=AG/cn=Recipients/cn=u".into())
            ),
            PropChange::Set(
                PropName::Mapi(tags::FREEBUSY_PUBLISH_END),
                PropValue::Int(0x0d5a_2d20)
            ),
            PropChange::Remove(PropName::Mapi(tags::SCHEDULE_INFO_MONTHS_MERGED)),
        ]
    );
    let propfind = br#"<D:propfind xmlns:D="DAV:" xmlns:m="http://schemas.microsoft.com/mapi/proptag/"><D:prop><m:0x68501102/><m:0x6849001F></m:0x6849001F></D:prop></D:propfind>"#;
    assert_eq!(
        parse_propfind(propfind, &lim()).unwrap(),
        PropfindRequest::Prop(vec![
            PropName::Mapi(tags::SCHEDULE_INFO_FREEBUSY_MERGED),
            PropName::Mapi(tags::FREEBUSY_MESSAGE_EMAIL_ADDRESS),
        ])
    );
    let search = br#"<D:searchrequest xmlns:D="DAV:" xmlns:m="http://schemas.microsoft.com/mapi/proptag/"><m:0x68470003/><D:sql>SELECT "http://schemas.microsoft.com/mapi/proptag/0x68501102" FROM "/public/x/" WHERE "http://schemas.microsoft.com/mapi/proptag/0x6849001F" = '/o=Z'</D:sql></D:searchrequest>"#;
    let s = parse_search(search, &lim()).unwrap();
    assert_eq!(
        s.select,
        vec![PropName::Mapi(tags::SCHEDULE_INFO_FREEBUSY_MERGED)]
    );
    assert_eq!(
        s.conditions,
        vec![(
            PropName::Mapi(tags::FREEBUSY_MESSAGE_EMAIL_ADDRESS),
            "/o=Z".into()
        )]
    );
}

/// Outside the proptag namespace (or not 8 hex digits) a name starting with a digit is
/// still not XML, and says so.
#[test]
fn zero_x_names_elsewhere_are_still_malformed() {
    for body in [
        &br#"<D:propertyupdate xmlns:D="DAV:" xmlns:o="urn:other:"><D:set><D:prop><o:0x68470003>1</o:0x68470003></D:prop></D:set></D:propertyupdate>"#[..],
        br#"<D:propertyupdate xmlns:D="DAV:" xmlns:b="http://schemas.microsoft.com/mapi/proptag/"><D:set><D:prop><b:0x6847000>1</b:0x6847000></D:prop></D:set></D:propertyupdate>"#,
        br#"<D:propertyupdate xmlns:D="DAV:" xmlns:b="http://schemas.microsoft.com/mapi/proptag/"><D:set><D:prop><b:0x6847000z>1</b:0x6847000z></D:prop></D:set></D:propertyupdate>"#,
    ] {
        let e = parse_proppatch(body, &lim()).unwrap_err();
        assert!(
            matches!(&e, XmlError::Malformed(m, _) if m.contains("not a valid XML name")),
            "{e}"
        );
    }
}

/// Values without `b:dt` take their type from the tag's suffix, as Exchange did;
/// multi-value items under any prefix bound to `xml:`.
#[test]
fn untyped_values_are_typed_by_the_tag_suffix() {
    let body = br#"<D:propertyupdate xmlns:D="DAV:" xmlns:X="xml:" xmlns:m="http://schemas.microsoft.com/mapi/proptag/"><D:set><D:prop>
<m:x68410002>7</m:x68410002>
<m:x68410003>0</m:x68410003>
<m:x6846000B>1</m:x6846000B>
<m:x10f20014>0x10</m:x10f20014>
<m:x68680040>2008-11-05T10:00:00.000Z</m:x68680040>
<m:x0070001E>ascii</m:x0070001E>
<m:x0037001F>USER-/CN=RECIPIENTS/CN=U</m:x0037001F>
<m:x0ff90102>UAqMCg==</m:x0ff90102>
<m:x68531003><X:v>32130</X:v><X:v>0x7d83</X:v></m:x68531003>
<m:x68541102><X:v>UAqMCg==</X:v><X:v></X:v></m:x68541102>
<m:x6855101E><X:v>a</X:v><X:v>b</X:v></m:x6855101E>
<m:x6856101F><c:v xmlns:c="xml:">c</c:v></m:x6856101F>
<m:x66a1abcd>kept</m:x66a1abcd>
</D:prop></D:set></D:propertyupdate>"#;
    let ops = parse_proppatch(body, &lim()).unwrap();
    let values: Vec<PropValue> = ops
        .into_iter()
        .map(|op| match op {
            PropChange::Set(_, v) => v,
            PropChange::Remove(n) => panic!("unexpected remove of {n}"),
        })
        .collect();
    let time = parse_typed_for_test("dateTime.tz", "2008-11-05T10:00:00Z");
    assert_eq!(
        values,
        vec![
            PropValue::Int(7),
            PropValue::Int(0),
            PropValue::Bool(true),
            PropValue::I8(16),
            time,
            PropValue::String("ascii".into()),
            PropValue::String("USER-/CN=RECIPIENTS/CN=U".into()),
            PropValue::Binary(vec![0x50, 0x0A, 0x8C, 0x0A]),
            PropValue::MvInt(vec![32130, 32131]),
            PropValue::MvBinary(vec![vec![0x50, 0x0A, 0x8C, 0x0A], vec![]]),
            PropValue::MvString(vec!["a".into(), "b".into()]),
            PropValue::MvString(vec!["c".into()]),
            PropValue::String("kept".into()),
        ]
    );
    // An untyped value that does not fit its tag's type is refused, naming the property.
    let bad = br#"<D:propertyupdate xmlns:D="DAV:" xmlns:m="http://schemas.microsoft.com/mapi/proptag/"><D:set><D:prop><m:0x68470003>next week</m:0x68470003></D:prop></D:set></D:propertyupdate>"#;
    let e = parse_proppatch(bad, &lim()).unwrap_err();
    assert!(matches!(e, XmlError::BadValue { .. }), "{e:?}");
    assert!(e.to_string().contains("x68470003"), "{e}");
    // Markup that is not `v` items under a multi-value tag stays markup: nothing of it is
    // dropped for the tag's type (found by written_values_read_back_the_same).
    let markup = br#"<D:propertyupdate xmlns:D="DAV:" xmlns:m="http://schemas.microsoft.com/mapi/proptag/"><D:set><D:prop><m:x8ab3101e><foo xmlns="http://bar"><inner/></foo></m:x8ab3101e></D:prop></D:set></D:propertyupdate>"#;
    match &parse_proppatch(markup, &lim()).unwrap()[..] {
        [PropChange::Set(_, PropValue::Xml(x))] => assert!(x.contains("<inner/>"), "{x}"),
        other => panic!("kept as markup, not {other:?}"),
    }
}

fn parse_typed_for_test(dt: &str, text: &str) -> PropValue {
    values::parse_typed(dt, text, &[]).unwrap()
}

/// A string stored under a MAPI tag whose suffix names another type (a client may set one
/// with `b:dt="string"`) is written with `b:dt="string"`, or a reader typing it by the tag
/// would misread it: `''` under PT_I8 is "not a 64-bit integer" (found by
/// written_values_read_back_the_same). Under a string tag it stays untyped, as Exchange wrote it.
#[test]
fn strings_under_other_typed_tags_are_written_typed() {
    let typed = [
        (PropTag(0xE4E7_0014), ""),
        (PropTag(0x6847_0003), "12"),
        (PropTag(0x6846_000B), "1"),
        (PropTag(0x6855_101E), "a"),
    ];
    for (tag, text) in typed {
        let name = PropName::Mapi(tag);
        let value = PropValue::String(text.into());
        let mut r = ResponseBuilder::new("/public/x.EML");
        r.prop_ok(&name, &value);
        let doc = multistatus(&[r]);
        let s = String::from_utf8_lossy(&doc);
        assert!(s.contains(r#"b:dt="string""#), "{tag:?}: {s}");
        assert_eq!(reparse_props(&doc), vec![(name, value)], "{s}");
    }
    let mut r = ResponseBuilder::new("/public/x.EML");
    r.prop_ok(
        &PropName::Mapi(tags::FREEBUSY_MESSAGE_EMAIL_ADDRESS),
        &PropValue::String("/o=Z".into()),
    );
    let s = String::from_utf8(multistatus(&[r])).unwrap();
    assert!(!s.contains("b:dt"), "{s}");
}
