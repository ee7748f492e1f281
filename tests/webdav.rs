//! WebDAV against a real server on 127.0.0.1:0, spoken as raw HTTP/1.1 so every method and
//! header goes out exactly as written. Golden bodies live in `tests/data/dav/`; set
//! `SCHEDPLUS_BLESS=1` to rewrite them after a deliberate format change (and review the diff).

use std::path::PathBuf;
use std::process::Command;

use crate::common::{Reply, TestServer, require_tool, stdout_of};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/dav")
        .join(name)
}

/// Compare with a golden file byte for byte (`SCHEDPLUS_BLESS=1` rewrites it).
fn golden(name: &str, actual: &str) {
    let path = data(name);
    if std::env::var_os("SCHEDPLUS_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with SCHEDPLUS_BLESS=1 to create it)",
            path.display()
        )
    });
    assert_eq!(actual, want, "differs from {}", path.display());
}

const FB_ROOT: &str = "/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/";
const AG: &str = "/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=Org_xF8FF_ou=AG/";
const ITEM: &str = "/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=Org_xF8FF_ou=AG/USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=ALIAS.EML";

const DIRECTORY: &str = "DN,objectClass,sAMAccountName,displayName,mail,mailNickname,legacyExchangeDN,proxyAddresses\n\
\"CN=Alias,CN=Users,DC=org,DC=example\",user,alias,Al Ias,alias@org.example,alias,/o=Org/ou=AG/cn=Recipients/cn=alias,SMTP:alias@org.example\n";

fn import_directory(srv: &TestServer) {
    use schedplus::app::ops::{Ctx, ImportRequest, Operation};
    ImportRequest {
        text: DIRECTORY.into(),
        format: Some("csv".into()),
        source: "test".into(),
        ..Default::default()
    }
    .run(&Ctx::new(srv.store()))
    .unwrap();
}

fn gcc_create(srv: &TestServer) -> Reply {
    let body = std::fs::read(data("gcc_create_freebusy.xml")).unwrap();
    srv.raw("PROPPATCH", ITEM, &[("Content-Type", "text/xml")], &body)
}

const MAPI_PROPS: &str = r#"<?xml version="1.0"?>
<D:propfind xmlns:D="DAV:" xmlns:p="http://schemas.microsoft.com/mapi/proptag/" xmlns:e="http://schemas.microsoft.com/exchange/"><D:prop>
<p:x68410003/><p:x6846000b/><p:x68470003/><p:x68480003/><p:x6849001f/>
<p:x684f1003/><p:x68501102/><p:x68511003/><p:x68521102/><p:x68531003/><p:x68541102/>
<p:x68551003/><p:x68561102/><p:x0e1d001f/><p:x0037001f/><e:outlookmessageclass/><p:x68680040/>
<D:displayname/><D:iscollection/><D:contentclass/><D:nosuchprop/>
</D:prop></D:propfind>"#;

#[test]
fn options_advertises_class_1_and_what_the_resource_allows() {
    let srv = TestServer::start();
    let r = srv.raw("OPTIONS", "/public/", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("dav"), Some("1"));
    assert_eq!(r.header("ms-author-via"), Some("DAV"));
    assert!(r.header("allow").unwrap().contains("PROPFIND"));
    let r = srv.raw("OPTIONS", "/public/litmus/new", &[], b"");
    assert_eq!(r.header("allow"), Some("OPTIONS, PUT, MKCOL"));
    let r = srv.raw("BREW", "/public/", &[], b"");
    assert_eq!(r.status, 501);
    let r = srv.raw("POST", "/public/", &[], b"");
    assert_eq!(r.status, 405);
    assert!(r.header("allow").unwrap().starts_with("OPTIONS"));
    let r = srv.raw("PUT", FB_ROOT, &[], b"x");
    assert_eq!(r.status, 405);
}

/// The done-when of issue 3: one PROPPATCH creates a message that PROPFIND and SEARCH
/// return unchanged and that drives the `?Cmd=freebusy` answer.
#[test]
fn gcc_one_request_create_round_trips_through_propfind_search_and_freebusy() {
    let srv = TestServer::start();
    import_directory(&srv);
    let r = gcc_create(&srv);
    assert_eq!(r.status, 207, "{}", r.utf8());
    golden("gcc_create_freebusy.response.xml", &r.utf8());

    let r = srv.raw("PROPFIND", ITEM, &[("Depth", "0")], MAPI_PROPS.as_bytes());
    assert_eq!(r.status, 207);
    golden("propfind_gcc_message.response.xml", &r.utf8());

    let r = srv.raw(
        "SEARCH",
        AG,
        &[("Content-Type", "text/xml")],
        &std::fs::read(data("exchange_search_subject.xml")).unwrap(),
    );
    assert_eq!(r.status, 207, "{}", r.utf8());
    golden("exchange_search_subject.response.xml", &r.utf8());

    let r = srv.raw(
        "GET",
        "/public/?Cmd=freebusy&start=2008-02-02T19:00:00Z&end=2008-02-02T22:00:00Z&interval=60&u=SMTP:alias@org.example",
        &[],
        b"",
    );
    assert_eq!(r.status, 200);
    assert!(
        r.utf8().contains("<a:fbdata>020</a:fbdata>"),
        "{}",
        r.utf8()
    );

    // A browser sees who the message belongs to, its range and the timeline.
    let r = srv.raw("GET", ITEM, &[("Accept", "text/html")], b"");
    assert_eq!(r.status, 200);
    let page = r.utf8();
    for want in ["Al Ias", "Timeline", "Cmd=freebusy", "2008-02-01"] {
        assert!(page.contains(want), "{want} missing from the message page");
    }
    let r = srv.raw(
        "GET",
        &format!("{AG}nobody.EML"),
        &[("Accept", "text/html")],
        b"",
    );
    assert_eq!(r.status, 404);
    assert!(r.utf8().starts_with("<!DOCTYPE html>"));

    // Writing new blocks shows at once in the answer.
    let later = r#"<?xml version="1.0"?>
<a:propertyupdate xmlns:a="DAV:" xmlns:b="urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/" xmlns:c="xml:" xmlns:d="http://schemas.microsoft.com/mapi/proptag/">
<a:set><a:prop>
<d:x68541102 b:dt="mv.bin.base64"><c:v>jApMCw==</c:v></d:x68541102>
<d:x68501102 b:dt="mv.bin.base64"><c:v>jApMCw==</c:v></d:x68501102>
</a:prop></a:set></a:propertyupdate>"#;
    let r = srv.raw("PROPPATCH", ITEM, &[("Brief", "t")], later.as_bytes());
    assert_eq!(r.status, 200, "{}", r.utf8());
    let r = srv.raw(
        "GET",
        "/public/?Cmd=freebusy&start=2008-02-02T19:00:00Z&end=2008-02-02T22:00:00Z&interval=60&u=SMTP:alias@org.example",
        &[],
        b"",
    );
    assert!(
        r.utf8().contains("<a:fbdata>002</a:fbdata>"),
        "{}",
        r.utf8()
    );
}

#[test]
fn an_undecodable_proppatch_is_refused_and_creates_nothing() {
    let srv = TestServer::start();
    let bad = r#"<?xml version="1.0"?>
<a:propertyupdate xmlns:a="DAV:" xmlns:b="urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/" xmlns:c="xml:" xmlns:d="http://schemas.microsoft.com/mapi/proptag/">
<a:set><a:prop>
<d:x0E1D001F>USER-/CN=RECIPIENTS/CN=ALIAS</d:x0E1D001F>
<d:x68531003 b:dt="mv.int"><c:v>32130</c:v><c:v>32131</c:v></d:x68531003>
<d:x68541102 b:dt="mv.bin.base64"><c:v>UAqMCg==</c:v></d:x68541102>
</a:prop></a:set></a:propertyupdate>"#;
    // Not a 207: publishers count any 207 as success, so the refusal is the request's.
    let r = srv.raw("PROPPATCH", ITEM, &[], bad.as_bytes());
    assert_eq!(r.status, 409, "{}", r.utf8());
    let t = r.utf8();
    assert!(t.contains("nothing was stored"), "{t}");
    assert!(t.contains("must be the same length"), "{t}");
    assert!(
        t.contains("x68531003") && t.contains("x68541102") && !t.contains("x0e1d001f"),
        "the sentence names the properties to blame: {t}"
    );
    let r = srv.raw("PROPFIND", ITEM, &[("Depth", "0")], b"");
    assert_eq!(r.status, 404);
    // A bad typed value is a 422 for the whole request.
    let r = srv.raw(
        "PROPPATCH",
        ITEM,
        &[],
        br#"<a:propertyupdate xmlns:a="DAV:" xmlns:b="urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/"><a:set><a:prop><x:n xmlns:x="urn:x:" b:dt="int">abc</x:n></a:prop></a:set></a:propertyupdate>"#,
    );
    assert_eq!(r.status, 422);
}

#[test]
fn propfind_refuses_infinite_depth_with_the_rfc_precondition() {
    let srv = TestServer::start();
    for depth in [Some("infinity"), None] {
        let h: Vec<(&str, &str)> = depth.iter().map(|d| ("Depth", *d)).collect();
        let r = srv.raw("PROPFIND", "/public/", &h, b"");
        assert_eq!(r.status, 403);
        assert!(r.utf8().contains("propfind-finite-depth"), "{}", r.utf8());
    }
    let r = srv.raw(
        "PROPFIND",
        "/public/",
        &[("Depth", "0")],
        b"<!DOCTYPE x><x/>",
    );
    assert_eq!(r.status, 400);
    let big = vec![b' '; 1024 * 1024 + 1];
    let r = srv.raw("PROPFIND", "/public/", &[("Depth", "0")], &big);
    assert_eq!(r.status, 413);
    let r = srv.raw("PROPFIND", "/public/a/%2e%2e/b", &[("Depth", "0")], b"");
    assert_eq!(r.status, 400);
}

#[test]
fn the_free_busy_tree_lists_admin_groups_and_messages_in_any_case() {
    let srv = TestServer::start();
    assert_eq!(gcc_create(&srv).status, 207);
    let r = srv.raw(
        "PROPFIND",
        "/Public/Non_IPM_Subtree/",
        &[("Depth", "1")],
        b"",
    );
    assert_eq!(r.status, 207);
    assert!(
        r.utf8().contains(&format!("<a:href>{FB_ROOT}</a:href>")),
        "{}",
        r.utf8()
    );
    let r = srv.raw(
        "PROPFIND",
        "/Public/Non_IPM_Subtree/SCHEDULE%2b%20free%20busy",
        &[("Depth", "1")],
        b"",
    );
    assert!(
        r.utf8().contains(&format!("<a:href>{AG}</a:href>")),
        "{}",
        r.utf8()
    );
    let r = srv.raw("PROPFIND", &AG.to_lowercase(), &[("Depth", "1")], b"");
    assert_eq!(r.utf8().matches("<a:response>").count(), 2);
    assert!(r.utf8().contains(&format!("<a:href>{ITEM}</a:href>")));
    // Brief: t drops the 404 propstat.
    let r = srv.raw(
        "PROPFIND",
        ITEM,
        &[("Depth", "0"), ("Brief", "t")],
        MAPI_PROPS.as_bytes(),
    );
    assert!(!r.utf8().contains("404"), "{}", r.utf8());
}

#[test]
fn a_large_folder_streams_every_message() {
    let srv = TestServer::start();
    let msgs = schedplus_bench_messages(2_000);
    assert_eq!(
        srv.store()
            .fb_create_many(&msgs, schedplus::app::clock::wall_us())
            .unwrap(),
        2_000
    );
    let r = srv.raw("PROPFIND", AG, &[("Depth", "1")], b"");
    assert_eq!(r.status, 207);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    let t = r.utf8();
    assert_eq!(t.matches("<a:response>").count(), 2_001);
    assert!(t.ends_with("</a:multistatus>"));
    let r = srv.raw("GET", AG, &[("Accept", "text/html")], b"");
    assert_eq!(r.status, 200);
    assert!(r.utf8().matches("USER-").count() >= 2_000);
}

fn schedplus_bench_messages(n: usize) -> Vec<schedplus::store::PublishedMessage> {
    use schedplus::protocol::fb_message::build_props;
    use schedplus::protocol::freebusy::{FbStatus, FreeBusy, Interval, PublishRange};
    use schedplus::protocol::legacy_dn::LegacyDn;
    use schedplus::protocol::pffb::PublisherStyle;
    use schedplus::protocol::time::Minutes1601;
    let range = PublishRange {
        start: Minutes1601::from_civil(2008, 2, 1),
        end: Minutes1601::from_civil(2008, 4, 1),
    };
    (0..n)
        .map(|i| {
            let dn = LegacyDn::parse(&format!("/o=Org/ou=AG/cn=Recipients/cn=user{i:06}")).unwrap();
            let mut fb = FreeBusy::default();
            let s = range.start.plus_minutes(60 * (i as i64 % 500));
            fb.add(
                FbStatus::Busy,
                Interval::new(s, s.plus_minutes(60)).unwrap(),
            );
            schedplus::store::PublishedMessage {
                folder: dn.admin_group(),
                subject: dn.subject(),
                props: build_props(
                    &dn,
                    &fb,
                    range,
                    PublisherStyle::Outlook,
                    jiff::Timestamp::UNIX_EPOCH,
                ),
            }
        })
        .collect()
}

#[test]
fn admin_groups_are_made_with_mkcol_and_messages_deleted() {
    let srv = TestServer::start();
    assert_eq!(srv.raw("MKCOL", AG, &[], b"").status, 201);
    assert_eq!(srv.raw("MKCOL", AG, &[], b"").status, 405);
    let r = srv.raw("MKCOL", &format!("{FB_ROOT}notes/"), &[], b"");
    assert_eq!(r.status, 403);
    assert_eq!(gcc_create(&srv).status, 207);
    let r = srv.raw("GET", ITEM, &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("message/rfc822"));
    assert!(r.utf8().contains("Subject: USER-/CN=RECIPIENTS/CN=ALIAS"));
    assert!(r.header("etag").is_some() && r.header("last-modified").is_some());
    let r = srv.raw("GET", ITEM, &[("Accept", "text/html")], b"");
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(srv.raw("DELETE", ITEM, &[], b"").status, 204);
    assert_eq!(srv.raw("DELETE", ITEM, &[], b"").status, 404);
    assert_eq!(srv.raw("DELETE", AG, &[], b"").status, 204);
    assert_eq!(srv.raw("PROPFIND", AG, &[("Depth", "0")], b"").status, 404);
    assert_eq!(srv.raw("DELETE", FB_ROOT, &[], b"").status, 405);
}

#[test]
fn the_ordinary_area_behaves_like_a_webdav_file_tree() {
    let srv = TestServer::start();
    assert_eq!(srv.raw("MKCOL", "/public/lab/", &[], b"").status, 201);
    assert_eq!(srv.raw("MKCOL", "/public/lab/x/y/", &[], b"").status, 409);
    assert_eq!(srv.raw("MKCOL", "/public/lab/z/", &[], b"body").status, 415);
    let r = srv.raw(
        "PUT",
        "/public/Lab/note.txt",
        &[("Content-Type", "text/plain")],
        b"hello",
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        srv.raw("PUT", "/public/lab/note.txt", &[], b"hello2")
            .status,
        204
    );
    let r = srv.raw("GET", "/public/LAB/NOTE.TXT", &[], b"");
    assert_eq!((r.status, r.utf8().as_str()), (200, "hello2"));
    let etag = r.header("etag").unwrap().to_string();
    let r = srv.raw(
        "GET",
        "/public/lab/note.txt",
        &[("If-None-Match", &etag)],
        b"",
    );
    assert_eq!(r.status, 304);
    let r = srv.raw("HEAD", "/public/lab/note.txt", &[], b"");
    assert_eq!(r.status, 200);
    let set = br#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><z:colour xmlns:z="urn:z:">red</z:colour></D:prop></D:set></D:propertyupdate>"#;
    assert_eq!(
        srv.raw("PROPPATCH", "/public/lab/note.txt", &[], set)
            .status,
        207
    );
    let protected = br#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getetag>x</D:getetag><z:a xmlns:z="urn:z:">1</z:a></D:prop></D:set></D:propertyupdate>"#;
    let r = srv.raw("PROPPATCH", "/public/lab/note.txt", &[], protected);
    assert!(r.utf8().contains("403 Forbidden") && r.utf8().contains("424 Failed Dependency"));
    let dest = srv.url("/public/lab/copy.txt");
    assert_eq!(
        srv.raw(
            "COPY",
            "/public/lab/note.txt",
            &[("Destination", &dest)],
            b""
        )
        .status,
        201
    );
    let r = srv.raw(
        "COPY",
        "/public/lab/note.txt",
        &[("Destination", &dest), ("Overwrite", "F")],
        b"",
    );
    assert_eq!(r.status, 412);
    assert_eq!(srv.raw("MKCOL", "/public/lab2/", &[], b"").status, 201);
    let r = srv.raw(
        "MOVE",
        "/public/lab/",
        &[("Destination", "/public/lab2/")],
        b"",
    );
    assert_eq!(r.status, 204);
    let r = srv.raw(
        "PROPFIND",
        "/public/lab2/copy.txt",
        &[("Depth", "0")],
        br#"<D:propfind xmlns:D="DAV:"><D:prop><z:colour xmlns:z="urn:z:"/></D:prop></D:propfind>"#,
    );
    assert!(
        r.utf8().contains(">red</"),
        "dead properties travel: {}",
        r.utf8()
    );
    let r = srv.raw(
        "COPY",
        "/public/lab2/",
        &[("Destination", &srv.url(FB_ROOT))],
        b"",
    );
    assert_eq!(r.status, 403);
    assert_eq!(srv.raw("DELETE", "/public/lab2/", &[], b"").status, 204);
    assert_eq!(
        srv.raw("GET", "/public/lab2/copy.txt", &[], b"").status,
        404
    );
    let r = srv.raw("GET", "/public/", &[("Accept", "text/html")], b"");
    assert!(r.utf8().contains("NON_IPM_SUBTREE"));
}

#[test]
fn search_outside_the_subset_says_what_is_supported() {
    let srv = TestServer::start();
    let body = format!(
        r#"<D:searchrequest xmlns:D="DAV:"><D:sql>SELECT "DAV:displayname" FROM "{AG}" WHERE "DAV:displayname" = 'a' OR "DAV:displayname" = 'b'</D:sql></D:searchrequest>"#
    );
    let r = srv.raw("SEARCH", "/public/", &[], body.as_bytes());
    assert_eq!(r.status, 400);
    assert!(r.utf8().contains("supported: SELECT"), "{}", r.utf8());
    let body = format!(
        r#"<D:searchrequest xmlns:D="DAV:"><D:sql>SELECT "DAV:displayname" FROM "{AG}"</D:sql></D:searchrequest>"#
    );
    assert_eq!(
        srv.raw("SEARCH", "/public/", &[], body.as_bytes()).status,
        404
    );
}

#[test]
fn cadaver_lists_the_free_busy_tree() {
    if !require_tool("cadaver") {
        return;
    }
    let srv = TestServer::start();
    assert_eq!(gcc_create(&srv).status, 207);
    let run = |url: String| crate::clients::cadaver(&url, "ls\nquit\n");
    let out = run(srv.url(FB_ROOT));
    assert!(out.contains("EX:_xF8FF_o=Org_xF8FF_ou=AG"), "{out}");
    let out = run(srv.url(AG));
    assert!(
        out.contains("USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=ALIAS.EML"),
        "{out}"
    );
}

#[test]
fn rclone_lists_the_free_busy_tree() {
    if !require_tool("rclone") {
        return;
    }
    let srv = TestServer::start();
    assert_eq!(gcc_create(&srv).status, 207);
    let cfg = tempfile::tempdir().unwrap();
    let ls = |path: &str| {
        stdout_of(
            Command::new("rclone")
                .args([
                    "--config",
                    &cfg.path().join("rclone.conf").to_string_lossy(),
                ])
                .arg("lsf")
                .arg(format!(":webdav,url='{}':{path}", srv.url("/public/"))),
        )
    };
    assert!(ls("NON_IPM_SUBTREE").contains("SCHEDULE+ FREE BUSY/"));
    let out = ls("NON_IPM_SUBTREE/SCHEDULE+ FREE BUSY");
    assert!(out.contains("EX:_xF8FF_o=Org_xF8FF_ou=AG/"), "{out}");
    let out = ls("NON_IPM_SUBTREE/SCHEDULE+ FREE BUSY/EX:_xF8FF_o=Org_xF8FF_ou=AG");
    assert!(
        out.contains("USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=ALIAS.EML"),
        "{out}"
    );
}
