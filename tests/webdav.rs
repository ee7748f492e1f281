//! WebDAV against a real server on 127.0.0.1:0, spoken as raw HTTP/1.1 so every method and
//! header goes out exactly as written. Golden bodies live in `tests/data/dav/`; set
//! `SCHEDPLUS_BLESS=1` to rewrite them after a deliberate format change (and review the diff).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;

use schedplus::server::{ServeOptions, Server};

/// A server on a fresh data directory, stopped on drop.
struct Srv {
    rt: tokio::runtime::Runtime,
    server: Option<Server>,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Srv {
    fn start() -> Srv {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut opts = ServeOptions::new(dir.path(), "127.0.0.1:0".parse().unwrap());
        // The protocol, not who may use it (tests/auth.rs has the rules).
        opts.auth = schedplus::auth::AuthSettings::open();
        let server = rt.block_on(Server::start(opts)).unwrap();
        Srv {
            addr: server.addr,
            server: Some(server),
            rt,
            _dir: dir,
        }
    }

    fn store(&self) -> &schedplus::store::Store {
        self.server.as_ref().unwrap().state.store()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        let mut s = TcpStream::connect(self.addr).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        // A server may answer (413) and close before reading the whole body.
        let _ = s.write_all(body);
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        Resp::parse(&raw, method == "HEAD")
    }
}

impl Drop for Srv {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn parse(raw: &[u8], head_only: bool) -> Resp {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete response head");
        let head = std::str::from_utf8(&raw[..split]).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let rest = &raw[split + 4..];
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
        let body = if head_only {
            Vec::new()
        } else if chunked {
            dechunk(rest)
        } else {
            rest.to_vec()
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16)
            .expect("hex chunk size");
        b = &b[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

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

fn import_directory(srv: &Srv) {
    schedplus::admin::import_directory(
        srv.store(),
        &schedplus::admin::ImportRequest {
            text: DIRECTORY.into(),
            data_base64: None,
            format: Some("csv".into()),
            source: "test".into(),
        },
    )
    .unwrap();
}

fn gcc_create(srv: &Srv) -> Resp {
    let body = std::fs::read(data("gcc_create_freebusy.xml")).unwrap();
    srv.req("PROPPATCH", ITEM, &[("Content-Type", "text/xml")], &body)
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
    let srv = Srv::start();
    let r = srv.req("OPTIONS", "/public/", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("dav"), Some("1"));
    assert_eq!(r.header("ms-author-via"), Some("DAV"));
    assert!(r.header("allow").unwrap().contains("PROPFIND"));
    let r = srv.req("OPTIONS", "/public/litmus/new", &[], b"");
    assert_eq!(r.header("allow"), Some("OPTIONS, PUT, MKCOL"));
    let r = srv.req("BREW", "/public/", &[], b"");
    assert_eq!(r.status, 501);
    let r = srv.req("POST", "/public/", &[], b"");
    assert_eq!(r.status, 405);
    assert!(r.header("allow").unwrap().starts_with("OPTIONS"));
    let r = srv.req("PUT", FB_ROOT, &[], b"x");
    assert_eq!(r.status, 405);
}

/// The done-when of issue 3: one PROPPATCH creates a message that PROPFIND and SEARCH
/// return unchanged and that drives the `?Cmd=freebusy` answer.
#[test]
fn gcc_one_request_create_round_trips_through_propfind_search_and_freebusy() {
    let srv = Srv::start();
    import_directory(&srv);
    let r = gcc_create(&srv);
    assert_eq!(r.status, 207, "{}", r.text());
    golden("gcc_create_freebusy.response.xml", &r.text());

    let r = srv.req("PROPFIND", ITEM, &[("Depth", "0")], MAPI_PROPS.as_bytes());
    assert_eq!(r.status, 207);
    golden("propfind_gcc_message.response.xml", &r.text());

    let r = srv.req(
        "SEARCH",
        AG,
        &[("Content-Type", "text/xml")],
        &std::fs::read(data("exchange_search_subject.xml")).unwrap(),
    );
    assert_eq!(r.status, 207, "{}", r.text());
    golden("exchange_search_subject.response.xml", &r.text());

    let r = srv.req(
        "GET",
        "/public/?Cmd=freebusy&start=2008-02-02T19:00:00Z&end=2008-02-02T22:00:00Z&interval=60&u=SMTP:alias@org.example",
        &[],
        b"",
    );
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("<a:fbdata>020</a:fbdata>"),
        "{}",
        r.text()
    );

    // A browser sees who the message belongs to, its range and the timeline.
    let r = srv.req("GET", ITEM, &[("Accept", "text/html")], b"");
    assert_eq!(r.status, 200);
    let page = r.text();
    for want in ["Al Ias", "Timeline", "Cmd=freebusy", "2008-02-01"] {
        assert!(page.contains(want), "{want} missing from the message page");
    }
    let r = srv.req(
        "GET",
        &format!("{AG}nobody.EML"),
        &[("Accept", "text/html")],
        b"",
    );
    assert_eq!(r.status, 404);
    assert!(r.text().starts_with("<!DOCTYPE html>"));

    // Writing new blocks shows at once in the answer.
    let later = r#"<?xml version="1.0"?>
<a:propertyupdate xmlns:a="DAV:" xmlns:b="urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/" xmlns:c="xml:" xmlns:d="http://schemas.microsoft.com/mapi/proptag/">
<a:set><a:prop>
<d:x68541102 b:dt="mv.bin.base64"><c:v>jApMCw==</c:v></d:x68541102>
<d:x68501102 b:dt="mv.bin.base64"><c:v>jApMCw==</c:v></d:x68501102>
</a:prop></a:set></a:propertyupdate>"#;
    let r = srv.req("PROPPATCH", ITEM, &[("Brief", "t")], later.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    let r = srv.req(
        "GET",
        "/public/?Cmd=freebusy&start=2008-02-02T19:00:00Z&end=2008-02-02T22:00:00Z&interval=60&u=SMTP:alias@org.example",
        &[],
        b"",
    );
    assert!(
        r.text().contains("<a:fbdata>002</a:fbdata>"),
        "{}",
        r.text()
    );
}

#[test]
fn an_undecodable_proppatch_is_refused_and_creates_nothing() {
    let srv = Srv::start();
    let bad = r#"<?xml version="1.0"?>
<a:propertyupdate xmlns:a="DAV:" xmlns:b="urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/" xmlns:c="xml:" xmlns:d="http://schemas.microsoft.com/mapi/proptag/">
<a:set><a:prop>
<d:x0E1D001F>USER-/CN=RECIPIENTS/CN=ALIAS</d:x0E1D001F>
<d:x68531003 b:dt="mv.int"><c:v>32130</c:v><c:v>32131</c:v></d:x68531003>
<d:x68541102 b:dt="mv.bin.base64"><c:v>UAqMCg==</c:v></d:x68541102>
</a:prop></a:set></a:propertyupdate>"#;
    // Not a 207: publishers count any 207 as success, so the refusal is the request's.
    let r = srv.req("PROPPATCH", ITEM, &[], bad.as_bytes());
    assert_eq!(r.status, 409, "{}", r.text());
    let t = r.text();
    assert!(t.contains("nothing was stored"), "{t}");
    assert!(t.contains("must be the same length"), "{t}");
    assert!(
        t.contains("x68531003") && t.contains("x68541102") && !t.contains("x0e1d001f"),
        "the sentence names the properties to blame: {t}"
    );
    let r = srv.req("PROPFIND", ITEM, &[("Depth", "0")], b"");
    assert_eq!(r.status, 404);
    // A bad typed value is a 422 for the whole request.
    let r = srv.req(
        "PROPPATCH",
        ITEM,
        &[],
        br#"<a:propertyupdate xmlns:a="DAV:" xmlns:b="urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/"><a:set><a:prop><x:n xmlns:x="urn:x:" b:dt="int">abc</x:n></a:prop></a:set></a:propertyupdate>"#,
    );
    assert_eq!(r.status, 422);
}

#[test]
fn propfind_refuses_infinite_depth_with_the_rfc_precondition() {
    let srv = Srv::start();
    for depth in [Some("infinity"), None] {
        let h: Vec<(&str, &str)> = depth.iter().map(|d| ("Depth", *d)).collect();
        let r = srv.req("PROPFIND", "/public/", &h, b"");
        assert_eq!(r.status, 403);
        assert!(r.text().contains("propfind-finite-depth"), "{}", r.text());
    }
    let r = srv.req(
        "PROPFIND",
        "/public/",
        &[("Depth", "0")],
        b"<!DOCTYPE x><x/>",
    );
    assert_eq!(r.status, 400);
    let big = vec![b' '; 1024 * 1024 + 1];
    let r = srv.req("PROPFIND", "/public/", &[("Depth", "0")], &big);
    assert_eq!(r.status, 413);
    let r = srv.req("PROPFIND", "/public/a/%2e%2e/b", &[("Depth", "0")], b"");
    assert_eq!(r.status, 400);
}

#[test]
fn the_free_busy_tree_lists_admin_groups_and_messages_in_any_case() {
    let srv = Srv::start();
    assert_eq!(gcc_create(&srv).status, 207);
    let r = srv.req(
        "PROPFIND",
        "/Public/Non_IPM_Subtree/",
        &[("Depth", "1")],
        b"",
    );
    assert_eq!(r.status, 207);
    assert!(
        r.text().contains(&format!("<a:href>{FB_ROOT}</a:href>")),
        "{}",
        r.text()
    );
    let r = srv.req(
        "PROPFIND",
        "/Public/Non_IPM_Subtree/SCHEDULE%2b%20free%20busy",
        &[("Depth", "1")],
        b"",
    );
    assert!(
        r.text().contains(&format!("<a:href>{AG}</a:href>")),
        "{}",
        r.text()
    );
    let r = srv.req("PROPFIND", &AG.to_lowercase(), &[("Depth", "1")], b"");
    assert_eq!(r.text().matches("<a:response>").count(), 2);
    assert!(r.text().contains(&format!("<a:href>{ITEM}</a:href>")));
    // Brief: t drops the 404 propstat.
    let r = srv.req(
        "PROPFIND",
        ITEM,
        &[("Depth", "0"), ("Brief", "t")],
        MAPI_PROPS.as_bytes(),
    );
    assert!(!r.text().contains("404"), "{}", r.text());
}

#[test]
fn a_large_folder_streams_every_message() {
    let srv = Srv::start();
    let msgs = schedplus_bench_messages(2_000);
    assert_eq!(srv.store().fb_create_many(&msgs).unwrap(), 2_000);
    let r = srv.req("PROPFIND", AG, &[("Depth", "1")], b"");
    assert_eq!(r.status, 207);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    let t = r.text();
    assert_eq!(t.matches("<a:response>").count(), 2_001);
    assert!(t.ends_with("</a:multistatus>"));
    let r = srv.req("GET", AG, &[("Accept", "text/html")], b"");
    assert_eq!(r.status, 200);
    assert!(r.text().matches("USER-").count() >= 2_000);
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
    let srv = Srv::start();
    assert_eq!(srv.req("MKCOL", AG, &[], b"").status, 201);
    assert_eq!(srv.req("MKCOL", AG, &[], b"").status, 405);
    let r = srv.req("MKCOL", &format!("{FB_ROOT}notes/"), &[], b"");
    assert_eq!(r.status, 403);
    assert_eq!(gcc_create(&srv).status, 207);
    let r = srv.req("GET", ITEM, &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("message/rfc822"));
    assert!(r.text().contains("Subject: USER-/CN=RECIPIENTS/CN=ALIAS"));
    assert!(r.header("etag").is_some() && r.header("last-modified").is_some());
    let r = srv.req("GET", ITEM, &[("Accept", "text/html")], b"");
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(srv.req("DELETE", ITEM, &[], b"").status, 204);
    assert_eq!(srv.req("DELETE", ITEM, &[], b"").status, 404);
    assert_eq!(srv.req("DELETE", AG, &[], b"").status, 204);
    assert_eq!(srv.req("PROPFIND", AG, &[("Depth", "0")], b"").status, 404);
    assert_eq!(srv.req("DELETE", FB_ROOT, &[], b"").status, 405);
}

#[test]
fn the_ordinary_area_behaves_like_a_webdav_file_tree() {
    let srv = Srv::start();
    assert_eq!(srv.req("MKCOL", "/public/lab/", &[], b"").status, 201);
    assert_eq!(srv.req("MKCOL", "/public/lab/x/y/", &[], b"").status, 409);
    assert_eq!(srv.req("MKCOL", "/public/lab/z/", &[], b"body").status, 415);
    let r = srv.req(
        "PUT",
        "/public/Lab/note.txt",
        &[("Content-Type", "text/plain")],
        b"hello",
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        srv.req("PUT", "/public/lab/note.txt", &[], b"hello2")
            .status,
        204
    );
    let r = srv.req("GET", "/public/LAB/NOTE.TXT", &[], b"");
    assert_eq!((r.status, r.text().as_str()), (200, "hello2"));
    let etag = r.header("etag").unwrap().to_string();
    let r = srv.req(
        "GET",
        "/public/lab/note.txt",
        &[("If-None-Match", &etag)],
        b"",
    );
    assert_eq!(r.status, 304);
    let r = srv.req("HEAD", "/public/lab/note.txt", &[], b"");
    assert_eq!(r.status, 200);
    let set = br#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><z:colour xmlns:z="urn:z:">red</z:colour></D:prop></D:set></D:propertyupdate>"#;
    assert_eq!(
        srv.req("PROPPATCH", "/public/lab/note.txt", &[], set)
            .status,
        207
    );
    let protected = br#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getetag>x</D:getetag><z:a xmlns:z="urn:z:">1</z:a></D:prop></D:set></D:propertyupdate>"#;
    let r = srv.req("PROPPATCH", "/public/lab/note.txt", &[], protected);
    assert!(r.text().contains("403 Forbidden") && r.text().contains("424 Failed Dependency"));
    let dest = srv.url("/public/lab/copy.txt");
    assert_eq!(
        srv.req(
            "COPY",
            "/public/lab/note.txt",
            &[("Destination", &dest)],
            b""
        )
        .status,
        201
    );
    let r = srv.req(
        "COPY",
        "/public/lab/note.txt",
        &[("Destination", &dest), ("Overwrite", "F")],
        b"",
    );
    assert_eq!(r.status, 412);
    assert_eq!(srv.req("MKCOL", "/public/lab2/", &[], b"").status, 201);
    let r = srv.req(
        "MOVE",
        "/public/lab/",
        &[("Destination", "/public/lab2/")],
        b"",
    );
    assert_eq!(r.status, 204);
    let r = srv.req(
        "PROPFIND",
        "/public/lab2/copy.txt",
        &[("Depth", "0")],
        br#"<D:propfind xmlns:D="DAV:"><D:prop><z:colour xmlns:z="urn:z:"/></D:prop></D:propfind>"#,
    );
    assert!(
        r.text().contains(">red</"),
        "dead properties travel: {}",
        r.text()
    );
    let r = srv.req(
        "COPY",
        "/public/lab2/",
        &[("Destination", &srv.url(FB_ROOT))],
        b"",
    );
    assert_eq!(r.status, 403);
    assert_eq!(srv.req("DELETE", "/public/lab2/", &[], b"").status, 204);
    assert_eq!(
        srv.req("GET", "/public/lab2/copy.txt", &[], b"").status,
        404
    );
    let r = srv.req("GET", "/public/", &[("Accept", "text/html")], b"");
    assert!(r.text().contains("NON_IPM_SUBTREE"));
}

#[test]
fn search_outside_the_subset_says_what_is_supported() {
    let srv = Srv::start();
    let body = format!(
        r#"<D:searchrequest xmlns:D="DAV:"><D:sql>SELECT "DAV:displayname" FROM "{AG}" WHERE "DAV:displayname" = 'a' OR "DAV:displayname" = 'b'</D:sql></D:searchrequest>"#
    );
    let r = srv.req("SEARCH", "/public/", &[], body.as_bytes());
    assert_eq!(r.status, 400);
    assert!(r.text().contains("supported: SELECT"), "{}", r.text());
    let body = format!(
        r#"<D:searchrequest xmlns:D="DAV:"><D:sql>SELECT "DAV:displayname" FROM "{AG}"</D:sql></D:searchrequest>"#
    );
    assert_eq!(
        srv.req("SEARCH", "/public/", &[], body.as_bytes()).status,
        404
    );
}

/// Skips outside CI when `name` is missing (saying so); fails under CI=true.
fn tool(name: &str) -> bool {
    crate::clients::client_installed(name)
}

#[test]
fn cadaver_lists_the_free_busy_tree() {
    if !tool("cadaver") {
        return;
    }
    let srv = Srv::start();
    assert_eq!(gcc_create(&srv).status, 207);
    let run = |url: String| {
        let mut child = Command::new("cadaver")
            .arg(url)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"ls\nquit\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
    };
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
    if !tool("rclone") {
        return;
    }
    let srv = Srv::start();
    assert_eq!(gcc_create(&srv).status, 207);
    let cfg = tempfile::tempdir().unwrap();
    let ls = |path: &str| {
        let out = Command::new("rclone")
            .args([
                "--config",
                &cfg.path().join("rclone.conf").to_string_lossy(),
            ])
            .arg("lsf")
            .arg(format!(":webdav,url='{}':{path}", srv.url("/public/")))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
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
