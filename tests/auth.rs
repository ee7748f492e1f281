//! Who may read and write (issue 5): `--auth basic` with the rules `owner-or-admin`,
//! `item-owner-or-admin`, `admin-only`, `write-authenticated` and `read-authenticated`,
//! `--permissions legacy` and `--read authenticated`, against a real server with the demo
//! directory. Each refusal is checked for its status, its `WWW-Authenticate` challenge or
//! `X-Schedplus-Rule`, and for leaving the store exactly as it was.

use schedplus::auth::{AuthMode, AuthSettings, Permissions, ReadAccess, hash_password};
use schedplus::protocol::legacy_dn::LegacyDn;
use schedplus::transport::webdav::path::fb_folder_href;

use crate::common::{TestServer, basic, run_cli, stderr, stderr_says, stdout};

const DAN: &str = "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=dwinship";
const KAREN: &str = "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=kbaker";

/// A server with the demo directory: dwinship and kbaker are users, bwright an admin;
/// each one's password is `pw-ALIAS`.
fn lab(auth: AuthSettings) -> TestServer {
    let srv = TestServer::start_with(|o| o.auth = auth);
    srv.import_demo_directory();
    for (alias, admin) in [("dwinship", false), ("kbaker", false), ("bwright", true)] {
        let u = srv.store().resolve_user(alias).unwrap();
        let hash = hash_password(&format!("pw-{alias}")).unwrap();
        srv.store()
            .update_credential(&u.legacy_dn, |c| {
                c.password_hash = Some(hash);
                c.admin = admin;
            })
            .unwrap();
    }
    srv
}

fn as_user(alias: &str) -> String {
    basic(alias, &format!("pw-{alias}"))
}

const NOTE: &[u8] = br#"<?xml version="1.0"?><a:propertyupdate xmlns:a="DAV:"><a:set><a:prop><x:note xmlns:x="urn:lab:">hello</x:note></a:prop></a:set></a:propertyupdate>"#;

/// A `PROPPATCH` (`Brief: t`) as `who` (signed in with the lab password), or anonymous.
fn patch(srv: &TestServer, url: &str, who: Option<&str>, body: &[u8]) -> crate::common::Reply {
    srv.proppatch_as(url, who.map(as_user).as_deref(), body)
}

fn digest(srv: &TestServer) -> u64 {
    srv.store().dump_digest().unwrap()
}

/// A refusal: the status, the rule header, the rule named in the body, and for 401 the
/// Basic challenge.
fn assert_refused(r: &crate::common::Reply, status: u16, rule: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.header("x-schedplus-rule"), Some(rule), "{}", r.text());
    assert!(
        r.text().contains(rule),
        "the body names the rule: {}",
        r.text()
    );
    if status == 401 {
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"schedplus\", charset=\"UTF-8\"")
        );
    }
}

#[test]
fn reads_are_anonymous_and_writes_need_credentials() {
    let srv = lab(AuthSettings::default());
    let r = srv.get("/public/?Cmd=freebusy&start=2026-11-23T00:00:00Z&end=2026-11-24T00:00:00Z&interval=60&u=SMTP:danw@xcs.example");
    assert_eq!(r.status, 200, "a CAS asks without credentials");
    let r = srv.request("PROPFIND", "/public/", &[("Depth", "1")], None);
    assert_eq!(r.status, 207);

    let before = digest(&srv);
    let url = crate::common::message_url(DAN);
    assert_refused(&patch(&srv, &url, None, NOTE), 401, "write-authenticated");
    for (method, path) in [
        ("MKCOL", "/public/lab"),
        ("PUT", "/public/x.txt"),
        ("DELETE", url.as_str()),
        ("PUT", "/calendars/dwinship.ics"),
    ] {
        let r = srv.request(method, path, &[], Some(b"x"));
        assert_eq!(r.status, 401, "{method} {path}: {}", r.text());
        assert!(r.header("www-authenticate").is_some());
    }
    // Wrong passwords, unknown users and malformed headers: 401, whatever the request.
    for bad in [
        basic("dwinship", "nope"),
        basic("nobody", "pw"),
        basic("bwright", ""),
        "Basic !!!not base64".to_string(),
        "Bearer abc".to_string(),
    ] {
        let r = srv.request_as(bad.as_str(), "PROPPATCH", &url, Some(NOTE));
        assert_refused(&r, 401, "sign-in");
        assert!(!r.text().contains("nope"), "no password echoed");
        let r = srv.request_as(bad.as_str(), "GET", "/public/", None);
        assert_eq!(r.status, 401, "bad credentials are refused on reads too");
    }
    assert_eq!(digest(&srv), before, "nothing was written");
}

#[test]
fn free_busy_is_written_by_its_owner_or_an_admin() {
    let srv = lab(AuthSettings::default());
    let dan = crate::common::message_url(DAN);
    let karen = crate::common::message_url(KAREN);

    // The owner creates and changes their own message (names: alias, SMTP, DOMAIN\alias).
    assert_eq!(patch(&srv, &dan, Some("dwinship"), NOTE).status, 200);
    let r = srv.proppatch_as(&dan, Some(&basic("XCS\\dwinship", "pw-dwinship")), NOTE);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = srv.proppatch_as(&dan, Some(&basic("danw@xcs.example", "pw-dwinship")), NOTE);
    assert_eq!(r.status, 200, "{}", r.text());

    // Someone else may not: not change it, not delete it, not create one for Dan, not
    // create one at their own URL whose subject says Dan.
    let before = digest(&srv);
    assert_refused(
        &patch(&srv, &dan, Some("kbaker"), NOTE),
        403,
        "owner-or-admin",
    );
    let r = srv.request_as(&as_user("kbaker"), "DELETE", &dan, None);
    assert_refused(&r, 403, "owner-or-admin");
    assert!(
        r.text().contains("kbaker"),
        "the 403 says who asked: {}",
        r.text()
    );
    let disguised = r#"<?xml version="1.0"?><a:propertyupdate xmlns:a="DAV:" xmlns:d="http://schemas.microsoft.com/mapi/proptag/"><a:set><a:prop><d:x0E1D001F>USER-/CN=RECIPIENTS/CN=DWINSHIP</d:x0E1D001F></a:prop></a:set></a:propertyupdate>"#.to_string();
    let other_dan = karen.replace("KBAKER", "DWINSHIP-2");
    assert_refused(
        &patch(&srv, &other_dan, Some("kbaker"), disguised.as_bytes()),
        403,
        "owner-or-admin",
    );
    assert_refused(
        &patch(&srv, &karen, Some("kbaker"), disguised.as_bytes()),
        403,
        "owner-or-admin",
    );
    // Nor may Dan put his own message at Karen's URL, where her publisher writes.
    assert_refused(
        &patch(&srv, &karen, Some("dwinship"), disguised.as_bytes()),
        403,
        "owner-or-admin",
    );
    // Admin-group folders are the admins'.
    let ag = LegacyDn::parse(DAN).unwrap().admin_group();
    let r = srv.request_as(&as_user("dwinship"), "DELETE", &fb_folder_href(&ag), None);
    assert_refused(&r, 403, "admin-only");
    assert_eq!(digest(&srv), before, "refusals wrote nothing");

    // Karen writes her own; the admin writes and deletes anyone's.
    assert_eq!(patch(&srv, &karen, Some("kbaker"), NOTE).status, 200);
    assert_eq!(patch(&srv, &dan, Some("bwright"), NOTE).status, 200);
    let r = srv.request_as(&as_user("bwright"), "DELETE", &dan, None);
    assert_eq!(r.status, 204, "{}", r.text());
    let r = srv.request(
        "MKCOL",
        &fb_folder_href(
            &schedplus::protocol::legacy_dn::AdminGroup::parse("EX:/o=Lab/ou=New").unwrap(),
        ),
        &[("Authorization", &as_user("bwright"))],
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
}

#[test]
fn legacy_permissions_let_any_signed_in_user_write_any_free_busy() {
    let srv = lab(AuthSettings {
        permissions: Permissions::Legacy,
        ..AuthSettings::default()
    });
    let dan = crate::common::message_url(DAN);
    assert_eq!(patch(&srv, &dan, Some("kbaker"), NOTE).status, 200);
    let r = srv.request_as(&as_user("kbaker"), "DELETE", &dan, None);
    assert_eq!(r.status, 204);
    // Still nobody anonymous, and the admin API stays the admins'.
    assert_refused(&patch(&srv, &dan, None, NOTE), 401, "write-authenticated");
    let r = srv.request_as(&as_user("kbaker"), "GET", "/_schedplus/directory", None);
    assert_refused(&r, 403, "admin-only");
}

#[test]
fn authenticated_reads_close_the_query_and_the_tree() {
    let srv = lab(AuthSettings {
        read: ReadAccess::Authenticated,
        ..AuthSettings::default()
    });
    let q = "/public/?Cmd=freebusy&start=2026-11-23T00:00:00Z&end=2026-11-24T00:00:00Z&interval=60&u=SMTP:danw@xcs.example";
    assert_refused(&srv.get(q), 401, "read-authenticated");
    assert_refused(
        &srv.request("PROPFIND", "/public/", &[("Depth", "1")], None),
        401,
        "read-authenticated",
    );
    let r = srv.request_as(&as_user("kbaker"), "GET", q, None);
    assert_eq!(r.status, 200);
    // Every way of looking is closed: browse pages, HEAD, SEARCH, OPTIONS, and the Allow
    // of a 405, which would tell whether a message exists.
    let item = crate::common::message_url(DAN);
    for (method, path) in [
        ("GET", "/public/NON_IPM_SUBTREE/"),
        ("HEAD", "/public/"),
        ("SEARCH", "/public/"),
        ("OPTIONS", item.as_str()),
        ("POST", item.as_str()),
    ] {
        let r = srv.request(method, path, &[], None);
        assert_eq!(r.status, 401, "{method} {path}");
    }
    // Health stays open for monitoring; metrics follow the read rule (issue 11: they told
    // which names exist), unless `--metrics anonymous` (see `metrics::`).
    assert_eq!(srv.get("/healthz").status, 200);
    assert_eq!(srv.get("/metrics").status, 401);
}

#[test]
fn authenticated_reads_without_sign_in_are_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_cli(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--auth",
            "none",
            "--read",
            "authenticated",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    stderr_says(&o, "read = authenticated needs auth = basic");
}

#[test]
fn auth_none_lets_anyone_write() {
    let srv = lab(AuthSettings {
        mode: AuthMode::None,
        ..AuthSettings::default()
    });
    assert_eq!(
        patch(&srv, &crate::common::message_url(DAN), None, NOTE).status,
        200
    );
    // Credentials are not even looked at.
    let r = srv.proppatch_as(
        &crate::common::message_url(KAREN),
        Some(&basic("nobody", "x")),
        NOTE,
    );
    assert_eq!(r.status, 200);
}

#[test]
fn public_folder_items_are_changed_by_their_creator_or_an_admin() {
    let srv = lab(AuthSettings::default());
    let karen = as_user("kbaker");
    let dan = as_user("dwinship");
    let admin = as_user("bwright");
    let req = |m: &str, p: &str, who: &str, body: Option<&[u8]>| srv.request_as(who, m, p, body);
    assert_eq!(req("MKCOL", "/public/lab", &karen, None).status, 201);
    assert_eq!(
        req("PUT", "/public/lab/a.txt", &karen, Some(b"k")).status,
        201
    );
    // Anyone signed in may add to the folder (Exchange's default "Author" role)...
    assert_eq!(
        req("PUT", "/public/lab/b.txt", &dan, Some(b"d")).status,
        201
    );
    // ...but not change or remove what others made.
    let before = digest(&srv);
    assert_refused(
        &req("PUT", "/public/lab/a.txt", &dan, Some(b"x")),
        403,
        "item-owner-or-admin",
    );
    assert_refused(
        &req("DELETE", "/public/lab/a.txt", &dan, None),
        403,
        "item-owner-or-admin",
    );
    assert_refused(
        &req("PROPPATCH", "/public/lab/a.txt", &dan, Some(NOTE)),
        403,
        "item-owner-or-admin",
    );
    assert_refused(
        &req("DELETE", "/public/lab", &dan, None),
        403,
        "item-owner-or-admin",
    );
    let r = srv.request(
        "MOVE",
        "/public/lab/a.txt",
        &[("Authorization", &dan), ("Destination", "/public/mine.txt")],
        None,
    );
    assert_refused(&r, 403, "item-owner-or-admin");
    let r = srv.request(
        "COPY",
        "/public/lab/b.txt",
        &[
            ("Authorization", &dan),
            ("Destination", "/public/lab/a.txt"),
        ],
        None,
    );
    assert_refused(&r, 403, "item-owner-or-admin");
    assert_eq!(digest(&srv), before, "refusals wrote nothing");
    // A folder's owner cannot delete others' items with it, nor overwrite a folder that
    // holds them.
    assert_refused(
        &req("DELETE", "/public/lab", &karen, None),
        403,
        "item-owner-or-admin",
    );
    assert_eq!(req("MKCOL", "/public/dans", &dan, None).status, 201);
    assert_eq!(
        req("PUT", "/public/dans/k.txt", &karen, Some(b"k")).status,
        201
    );
    let r = srv.request(
        "COPY",
        "/public/lab/b.txt",
        &[
            ("Authorization", &dan),
            ("Destination", "/public/dans"),
            ("Overwrite", "T"),
        ],
        None,
    );
    assert_refused(&r, 403, "item-owner-or-admin");
    assert!(
        r.text().contains("dans/k.txt"),
        "names the item: {}",
        r.text()
    );
    assert_eq!(req("GET", "/public/dans/k.txt", &karen, None).status, 200);
    // A copy belongs to whoever made it.
    let r = srv.request(
        "COPY",
        "/public/lab/a.txt",
        &[("Authorization", &dan), ("Destination", "/public/copy.txt")],
        None,
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        req("PUT", "/public/copy.txt", &dan, Some(b"mine")).status,
        204
    );
    // The creator and the admin may.
    assert_eq!(
        req("PUT", "/public/lab/a.txt", &karen, Some(b"k2")).status,
        204
    );
    assert_eq!(req("DELETE", "/public/lab/b.txt", &admin, None).status, 204);
    assert_eq!(req("DELETE", "/public/lab", &karen, None).status, 204);
}

#[test]
fn calendars_follow_the_owner_rule_and_cleanfreebusy_republishes() {
    let srv = lab(AuthSettings::default());
    let cal = schedplus::app::demo::CALENDARS
        .iter()
        .find(|(a, _)| *a == "dwinship")
        .unwrap()
        .1
        .as_bytes();
    let path = "/calendars/danw%40xcs.example.ics";
    let r = srv.request_as(&as_user("kbaker"), "PUT", path, Some(cal));
    assert_refused(&r, 403, "owner-or-admin");
    let r = srv.request_as(&as_user("dwinship"), "PUT", path, Some(cal));
    assert_eq!(r.status, 201, "{}", r.text());
    let anonymous = srv.get(path);
    assert_refused(&anonymous, 401, "write-authenticated");
    // A read is not called a write: the sentence says why a calendar needs sign-in.
    assert!(
        !anonymous.text().contains("writes need") && anonymous.text().contains("event details"),
        "{}",
        anonymous.text()
    );
    let r = srv.request_as(&as_user("kbaker"), "GET", path, None);
    assert_refused(&r, 403, "owner-or-admin");
    let r = srv.request_as(&as_user("bwright"), "GET", path, None);
    assert_eq!(r.status, 200);

    // Outlook's /cleanfreebusy, over HTTP: the owner republishes now.
    let clean = format!("{path}?Cmd=cleanfreebusy");
    let dan = LegacyDn::parse(DAN).unwrap();
    let dan_published = || {
        srv.store()
            .freebusy_of(&dan.admin_group(), &dan.subject())
            .unwrap()
    };
    let r = srv.request_as(&as_user("kbaker"), "POST", &clean, None);
    assert_refused(&r, 403, "owner-or-admin");
    assert!(dan_published().is_none(), "not published yet");
    let r = srv.request_as(&as_user("dwinship"), "POST", &clean, None);
    assert_eq!(r.status, 200, "{}", r.text());
    let report: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(report["legacy_dn"], DAN, "{report}");
    assert!(dan_published().is_some(), "published");
}

#[test]
fn the_admin_api_takes_an_admin_or_the_token() {
    let srv = lab(AuthSettings::default());
    let r = srv.get("/_schedplus/directory");
    assert_refused(&r, 401, "admin-only");
    let r = srv.request_as(&as_user("dwinship"), "GET", "/_schedplus/directory", None);
    assert_refused(&r, 403, "admin-only");
    // What the CLI sends: Basic as an admin and the admin-API header, JSON when it posts.
    let as_admin = |method: &str, path: &str, content_type: Option<&str>, body: Option<&[u8]>| {
        let ben = as_user("bwright");
        let mut headers = vec![("Authorization", ben.as_str()), ("X-Schedplus-Admin", "1")];
        headers.extend(content_type.map(|t| ("Content-Type", t)));
        srv.request(method, path, &headers, body)
    };
    let r = as_admin("GET", "/_schedplus/directory", None, None);
    assert_eq!(r.status, 200, "{}", r.text());
    let users: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let ben = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["alias"] == "bwright")
        .unwrap();
    assert_eq!(
        (ben["admin"].as_bool(), ben["password"].as_bool()),
        (Some(true), Some(true))
    );
    // A form a browser could be tricked into posting (no JSON type) is not taken from
    // Basic credentials; the same request as JSON is.
    let body = br#"{"user":"kbaker","admin":true}"#;
    let r = as_admin(
        "POST",
        "/_schedplus/directory/admin",
        Some("text/plain"),
        Some(body),
    );
    assert_eq!(r.status, 415, "{}", r.text());
    let karen_admin = || {
        srv.store()
            .credential(&LegacyDn::parse(KAREN).unwrap())
            .unwrap()
            .unwrap()
            .admin
    };
    assert!(!karen_admin());
    let r = as_admin(
        "POST",
        "/_schedplus/directory/admin",
        Some("application/json"),
        Some(body),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(karen_admin());
    let r = srv.admin_call("GET", "/directory", "wrong", "");
    assert_eq!(r.status, 403);
    assert!(r.text().contains("token does not match"), "{}", r.text());
}

#[test]
fn a_changed_password_takes_effect_at_once_despite_the_cache() {
    let srv = lab(AuthSettings::default());
    let url = crate::common::message_url(DAN);
    for _ in 0..3 {
        assert_eq!(patch(&srv, &url, Some("dwinship"), NOTE).status, 200);
    }
    let dn = LegacyDn::parse(DAN).unwrap();
    let hash = hash_password("new-secret").unwrap();
    srv.store()
        .update_credential(&dn, |c| c.password_hash = Some(hash))
        .unwrap();
    assert_refused(&patch(&srv, &url, Some("dwinship"), NOTE), 401, "sign-in");
    let r = srv.proppatch_as(&url, Some(&basic("dwinship", "new-secret")), NOTE);
    assert_eq!(r.status, 200);
}

/// A data directory with the demo directory imported (no server).
fn demo_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("dir.csv");
    std::fs::write(&csv, schedplus::app::demo::DIRECTORY_CSV).unwrap();
    let o = run_cli(dir.path(), &["directory", "import", csv.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    dir
}

/// `schedplus directory passwd ARGS…` with `input` on standard input.
fn passwd(data: &std::path::Path, args: &[&str], input: &str) -> std::process::Output {
    crate::common::run_with_input(
        std::process::Command::new(crate::common::bin())
            .arg("--data")
            .arg(data)
            .args(["directory", "passwd"])
            .args(args)
            .env_remove("SCHEDPLUS_DATA")
            .env_remove("SCHEDPLUS_NOW"),
        input,
    )
}

#[test]
fn directory_passwd_and_admin_from_the_cli_locally_and_through_the_server() {
    let dir = demo_data_dir();
    let data = dir.path();
    let passwd = |args: &[&str], input: &str| passwd(data, args, input);
    let o = passwd(&["dwinship", "--stdin"], "s3cret\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("password set"), "{}", stdout(&o));
    let o = passwd(&["dwinship", "--stdin"], "\n");
    assert_eq!(o.status.code(), Some(2), "an empty password is bad input");
    assert!(stderr(&o).contains("empty"), "{}", stderr(&o));
    let o = passwd(&["nobody", "--stdin"], "x\n");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let o = run_cli(data, &["directory", "admin", "bwright"]);
    assert!(stdout(&o).contains("is now an admin"), "{}", stdout(&o));
    let o = run_cli(data, &["directory", "list"]);
    let list = stdout(&o);
    let line = |alias: &str| {
        list.lines()
            .find(|l| l.contains(alias))
            .unwrap()
            .to_string()
    };
    assert!(line("dwinship").contains(" user "), "{list}");
    assert!(line("bwright").contains("admin*"), "{list}");

    // With a server holding the store, the same commands go through its admin API, and the
    // new password works at once.
    let srv = crate::common::ServeProcess::spawn(
        data,
        &["--data", data.to_str().unwrap()],
        &["--listen", "127.0.0.1:0"],
        &[],
    );
    let o = passwd(&["bwright", "--stdin"], "adm1n\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("via the server"), "{}", stdout(&o));
    let r = crate::common::http(
        &srv.base,
        "GET",
        "/_schedplus/directory",
        &[
            ("Authorization", &basic("bwright", "adm1n")),
            ("X-Schedplus-Admin", "1"),
        ],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let o = passwd(&["dwinship", "--remove"], "");
    assert!(stdout(&o).contains("password removed"), "{}", stdout(&o));
    let r = crate::common::http(
        &srv.base,
        "PROPPATCH",
        &crate::common::message_url(DAN),
        &[("Authorization", &basic("dwinship", "s3cret"))],
        Some(NOTE),
    );
    assert_eq!(r.status, 401);
}

/// The request log names who asked; a failed sign-in is logged with the user and the
/// reason, and no password ever appears in the log.
#[test]
fn the_log_names_the_user_and_never_the_password() {
    let dir = demo_data_dir();
    let data = dir.path();
    let child = std::process::Command::new(crate::common::bin())
        .args([
            "--data",
            data.to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("SCHEDPLUS_NOW")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let info = data.join("server.json");
    let t = std::time::Instant::now();
    while !info.exists() {
        assert!(
            t.elapsed().as_secs() < 30,
            "the server never announced itself"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    let base = format!("http://{}", v["addr"].as_str().unwrap());
    // A password set through the running server.
    let o = passwd(data, &["dwinship", "--stdin"], "Corr3ct-Horse\n");
    assert!(o.status.success(), "{}", stderr(&o));

    let url = crate::common::message_url(DAN);
    let ok = crate::common::http(
        &base,
        "PROPPATCH",
        &url,
        &[
            ("Brief", "t"),
            ("Authorization", &basic("dwinship", "Corr3ct-Horse")),
        ],
        Some(NOTE),
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    let bad = crate::common::http(
        &base,
        "PROPPATCH",
        &url,
        &[
            ("Brief", "t"),
            ("Authorization", &basic("dwinship", "Wr0ng-Battery")),
        ],
        Some(NOTE),
    );
    assert_eq!(bad.status, 401);
    crate::common::sigterm(child.id());
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.lines().any(|l| l.contains("PROPPATCH")
            && l.contains("status=200")
            && l.contains("user=dwinship")),
        "{log}"
    );
    assert!(
        log.lines().any(|l| l.contains("sign-in failed")
            && l.contains("dwinship")
            && l.contains("wrong password")),
        "{log}"
    );
    assert!(
        !log.contains("Corr3ct-Horse") && !log.contains("Wr0ng-Battery"),
        "{log}"
    );
    assert!(!log.contains("$argon2"), "no hash in the log: {log}");
}

/// At a terminal `directory passwd` prompts twice without echo (run under `script`, which
/// gives the command a pseudo-terminal; util-linux has it on every Debian machine).
#[test]
fn directory_passwd_prompts_twice_at_a_terminal() {
    if !crate::common::require_tool("script") {
        return;
    }
    let dir = demo_data_dir();
    let prompt = |alias: &str, first: &str, second: &str| {
        let cmd = format!(
            "{} --data {} directory passwd {alias}",
            crate::common::bin().display(),
            dir.path().display()
        );
        // The answers arrive a moment apart, as typed; each prompt reads one line.
        let feed = format!(
            "sleep 1; printf '%s\\n' '{first}'; sleep 1; printf '%s\\n' '{second}'; sleep 1"
        );
        std::process::Command::new("bash")
            .args(["-c", &format!("({feed}) | script -qec '{cmd}' /dev/null")])
            .output()
            .unwrap()
    };
    let o = prompt("dwinship", "Typed-Secret-1", "Typed-Secret-1");
    let out = stdout(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("New password for dwinship") && out.contains("Again"),
        "{out}"
    );
    assert!(out.contains("password set"), "{out}");
    assert!(
        !out.contains("Typed-Secret-1"),
        "the password is not echoed: {out}"
    );
    let o = prompt("kbaker", "one", "two");
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("the two passwords differ"),
        "{}",
        stdout(&o)
    );
    let o = run_cli(dir.path(), &["directory", "list"]);
    let list = stdout(&o);
    let line = |alias: &str| {
        list.lines()
            .find(|l| l.contains(alias))
            .unwrap()
            .to_string()
    };
    assert!(line("dwinship").contains(" user "), "{list}");
    assert!(line("kbaker").contains(" - "), "{list}");
}
