//! The `schedplus` binary: admin commands with and without a running server, and the
//! server's lifecycle (port taken, SIGTERM, held store).

use std::io::Write;
use std::process::Output;
use std::time::Duration;

use crate::common::{TestServer, fbdata, run_cli, stderr, stdout};

const CSV: &str = "DN,objectClass,mail,legacyExchangeDN,displayName,mailNickname,proxyAddresses\n\
\"CN=Dan,OU=Users,DC=xcs,DC=example\",user,danw@xcs.example,/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=dwinship,Dan Winship,dwinship,SMTP:danw@xcs.example;smtp:dan@xcs.example\n\
\"CN=JS,OU=Users,DC=abc,DC=example\",user,jsguillet@companyabc.example,/o=CompanyABC/ou=Paris/cn=Recipients/cn=jsguillet,Jean-Sébastien Guillet,jsguillet,\n";

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    p
}

/// Write `text` as `files/name` and run `schedplus --data DATA directory import` on it.
fn import(data: &std::path::Path, files: &std::path::Path, name: &str, text: &str) -> Output {
    let file = write(files, name, text);
    run_cli(data, &["directory", "import", file.to_str().unwrap()])
}

#[test]
fn direct_store_round_trip_without_a_server() {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let o = import(data.path(), files.path(), "users.csv", CSV);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("2 users (2 added"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("2 admin-group folders created"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("via the store at"), "{}", stdout(&o));

    // Idempotent.
    let o = import(data.path(), files.path(), "users.csv", CSV);
    assert!(stdout(&o).contains("2 unchanged"), "{}", stdout(&o));

    let o = run_cli(data.path(), &["directory", "list"]);
    assert!(
        stdout(&o).contains("Jean-Sébastien Guillet"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("2 users"));

    let o = run_cli(
        data.path(),
        &[
            "--now",
            "2008-02-01T12:00:00Z",
            "fb",
            "set",
            "dan@xcs.example",
            "--busy",
            "2008-02-02T20:00:00Z/2008-02-02T21:00:00Z",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(
            "message created, publish range 2008-01-27T00:00:00Z .. 2008-03-27T00:00:00Z"
        ),
        "{}",
        stdout(&o)
    );

    let o = run_cli(
        data.path(),
        &[
            "fb",
            "show",
            "dwinship",
            "--start",
            "2008-02-02T00:00:00Z",
            "--end",
            "2008-02-03T00:00:00Z",
            "--interval",
            "60",
        ],
    );
    let out = stdout(&o);
    assert!(
        out.contains("2008-02-02T20:00:00Z .. 2008-02-02T21:00:00Z"),
        "{out}"
    );
    assert!(
        out.contains("2008-02-02  000000000000000000002000"),
        "{out}"
    );

    let o = run_cli(
        data.path(),
        &[
            "fb",
            "show",
            "jsguillet",
            "--json",
            "--start",
            "2008-02-02T00:00:00Z",
            "--end",
            "2008-02-02T02:00:00Z",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["fbdata"], "4444");
    assert!(v["message"].is_null());

    let o = run_cli(data.path(), &["fb", "delete", "danw@xcs.example"]);
    assert!(stdout(&o).contains("1 message deleted"), "{}", stdout(&o));
}

#[test]
fn bad_input_is_named_and_exit_codes_differ() {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let o = import(
        data.path(),
        files.path(),
        "bad.csv",
        "mail,legacyExchangeDN,displayName\na@x.example,/o=Org/ou=AG/cn=Recipients/cn=a,A\nb@x.example,/ou=AG/cn=b,B\n",
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    let o = run_cli(data.path(), &["directory", "list"]);
    assert!(
        stdout(&o).contains("no users"),
        "a failed import leaves nothing: {}",
        stdout(&o)
    );

    let o = run_cli(data.path(), &["fb", "show", "ghost@x.example"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("'ghost@x.example'"));

    let o = run_cli(data.path(), &["--now", "tomorrow", "fb", "show", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--now"), "{}", stderr(&o));

    let o = run_cli(
        data.path(),
        &["directory", "import", "/nonexistent/file.csv"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/file.csv"));

    // A calendar file over the configured cap is refused before it is read.
    let cfg = write(files.path(), "small.toml", "max_calendar_bytes = 10\n");
    let cal = write(files.path(), "big.ics", "BEGIN:VCALENDAR\nEND:VCALENDAR\n");
    let o = run_cli(
        data.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "calendar",
            "import",
            "a@x.example",
            cal.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("max_calendar_bytes"), "{}", stderr(&o));
}

#[test]
fn ldif_import_with_folding_and_base64() {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let o = import(
        data.path(),
        files.path(),
        "users.ldf",
        "version: 1\n\ndn: CN=Amelie,OU=Paris,DC=abc,DC=example\nchangetype: add\nobjectClass: user\nmail: amartin@companyabc.example\nlegacyExchangeDN: /o=CompanyABC/ou=Paris/cn=Recipi\n ents/cn=amartin\ndisplayName:: QW3DqWxpZSBNYXJ0aW4=\nproxyAddresses: SMTP:amartin@companyabc.example\nproxyAddresses: smtp:amelie@companyabc.example\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_cli(
        data.path(),
        &["fb", "show", "amelie@companyabc.example", "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["user"]["display_name"], "Amélie Martin");
    assert_eq!(
        v["user"]["legacy_dn"],
        "/o=CompanyABC/ou=Paris/cn=Recipients/cn=amartin"
    );
}

#[test]
fn commands_go_through_a_running_server() {
    let s = TestServer::start();
    let files = tempfile::tempdir().unwrap();
    let o = import(s.data_dir(), files.path(), "users.csv", CSV);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("via the server at {}", s.base)),
        "{}",
        stdout(&o)
    );
    let o = run_cli(
        s.data_dir(),
        &[
            "--now",
            "2008-02-01T12:00:00Z",
            "fb",
            "set",
            "danw@xcs.example",
            "--oof",
            "2008-02-04T00:00:00Z/2008-02-05T00:00:00Z",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = s.get("/public/?Cmd=freebusy&start=2008-02-03T00:00:00Z&end=2008-02-06T00:00:00Z&interval=1440&u=danw@xcs.example");
    assert_eq!(fbdata(&r.text())[1], "030");
    // Errors keep their kind across HTTP.
    let o = run_cli(s.data_dir(), &["fb", "show", "ghost"]);
    assert_eq!(o.status.code(), Some(3));
    let o = run_cli(s.data_dir(), &["fb", "set", "dwinship", "--busy", "x/y"]);
    assert_eq!(o.status.code(), Some(2));
    // The admin API refuses callers without the token.
    let r = s.request("GET", "/_schedplus/directory", &[], None);
    assert_eq!(r.status, 403);
    let r = s.admin_call("GET", "/directory", "wrong", "");
    assert_eq!(r.status, 403);
}

#[test]
fn held_store_without_a_server_is_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let _held =
        schedplus::store::Store::open(&schedplus::store::StoreConfig::new(dir.path())).unwrap();
    let o = run_cli(dir.path(), &["directory", "list"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("held by another process"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

fn spawn_serve(data: &std::path::Path, listen: &str) -> std::process::Child {
    std::process::Command::new(crate::common::bin())
        .args([
            "--data",
            data.to_str().unwrap(),
            "serve",
            "--listen",
            listen,
        ])
        .env_remove("SCHEDPLUS_NOW")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for_file(p: &std::path::Path) {
    let never = || format!("{} never appeared", p.display());
    crate::common::wait_until(Duration::from_millis(50), never, || p.exists());
}

#[test]
fn taken_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = tempfile::tempdir().unwrap();
    let out = spawn_serve(data.path(), &addr).wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(err.contains("--listen"), "{err}");
}

#[test]
fn sigterm_shuts_down_cleanly_and_removes_the_address_file() {
    let data = tempfile::tempdir().unwrap();
    let mut child = spawn_serve(data.path(), "127.0.0.1:0");
    let info = data.path().join("server.json");
    wait_for_file(&info);
    let text = std::fs::read_to_string(&info).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let addr = v["addr"].as_str().unwrap().to_string();
    assert_eq!(
        crate::common::http(&format!("http://{addr}"), "GET", "/healthz", &[], None).status,
        200
    );
    crate::common::sigterm(child.id());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!info.exists(), "server.json is removed at shutdown");
    // The store is free again: a direct command works.
    let o = run_cli(data.path(), &["directory", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn version_names_the_git_revision_and_completions_are_generated() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_cli(dir.path(), &["--version"]);
    let v = stdout(&o);
    assert!(
        v.starts_with(&format!("schedplus {} (git ", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    for shell in ["bash", "zsh", "fish"] {
        let o = run_cli(dir.path(), &["completions", shell]);
        assert!(o.status.success());
        assert!(
            stdout(&o).contains("cleanfreebusy"),
            "{shell} completion knows the commands"
        );
    }
}

#[test]
fn sigterm_right_after_start_is_still_a_clean_shutdown() {
    // The handlers are registered before the server starts, so a SIGTERM sent the moment
    // server.json appears (before the banner, before any request) still shuts down cleanly.
    for _ in 0..3 {
        let data = tempfile::tempdir().unwrap();
        let mut child = spawn_serve(data.path(), "127.0.0.1:0");
        let info = data.path().join("server.json");
        wait_for_file(&info);
        crate::common::sigterm(child.id());
        let status = child.wait().unwrap();
        assert!(status.success(), "{status:?}");
        assert!(!info.exists(), "server.json is removed at shutdown");
    }
}

#[test]
fn a_second_serve_on_the_same_data_names_the_running_server() {
    let data = tempfile::tempdir().unwrap();
    let mut first = spawn_serve(data.path(), "127.0.0.1:0");
    let info = data.path().join("server.json");
    wait_for_file(&info);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    let addr = v["addr"].as_str().unwrap().to_string();
    let second = spawn_serve(data.path(), "127.0.0.1:0")
        .wait_with_output()
        .unwrap();
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!("pid {}, listening on {addr}", first.id())),
        "{err}"
    );
}

#[test]
fn a_privileged_port_without_the_capability_says_how_to_get_it() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let args = ["--data", dir, "serve", "--listen", "127.0.0.1:80"];
    let bin = crate::common::bin();
    // As root (CI containers, this lab), drop to nobody with setpriv: the uid change clears
    // the capabilities, so the bind is refused as it is for a lab admin's account.
    let mut cmd = if std::net::TcpListener::bind("127.0.0.1:80").is_ok() {
        if std::process::Command::new("setpriv")
            .arg("--version")
            .output()
            .is_err()
        {
            assert!(
                std::env::var("CI").is_err(),
                "setpriv (util-linux) is needed to run this test as root"
            );
            eprintln!("SKIP: running as root and setpriv is missing");
            return;
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    let out = cmd
        .args(args)
        .env_remove("SCHEDPLUS_NOW")
        .env_remove("SCHEDPLUS_LISTEN")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot listen on 127.0.0.1:80"), "{err}");
    assert!(err.contains("CAP_NET_BIND_SERVICE"), "{err}");
}

#[test]
fn request_log_lines_print_the_address_and_tenths_of_a_millisecond() {
    let data = tempfile::tempdir().unwrap();
    let child = spawn_serve(data.path(), "127.0.0.1:0");
    let info = data.path().join("server.json");
    wait_for_file(&info);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    let base = format!("http://{}", v["addr"].as_str().unwrap());
    for _ in 0..3 {
        crate::common::http(&base, "GET", "/public/", &[], None);
    }
    crate::common::sigterm(child.id());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains(" request ") && l.contains("path=/public/"))
        .collect();
    assert_eq!(lines.len(), 3, "{err}");
    for line in lines {
        assert!(line.contains(" remote=127.0.0.1:"), "{line}");
        assert!(!line.contains("Some("), "{line}");
        let ms = line
            .split(" ms=")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        assert!(ms.parse::<f64>().is_ok(), "{line}");
        let decimals = ms.split_once('.').map_or(0, |(_, d)| d.len());
        assert!(decimals <= 1, "ms={ms} has {decimals} decimals: {line}");
    }
}

#[test]
fn counts_of_one_are_singular() {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let one_user = CSV.lines().take(2).collect::<Vec<_>>().join("\n") + "\n";
    let o = import(data.path(), files.path(), "users.csv", &one_user);
    assert!(
        stdout(&o).contains("1 user (1 added, 0 updated, 0 unchanged), 1 admin-group folder created, 0 non-user records skipped"),
        "{}",
        stdout(&o)
    );
    let o = run_cli(data.path(), &["directory", "list"]);
    assert!(stdout(&o).lines().any(|l| l == "1 user"), "{}", stdout(&o));

    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:one\r\nDTSTAMP:20080101T000000Z\r\nDTSTART:20080202T200000Z\r\nDTEND:20080202T210000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let cal = write(files.path(), "dan.ics", ics);
    let o = run_cli(
        data.path(),
        &[
            "--now",
            "2008-02-01T12:00:00Z",
            "calendar",
            "import",
            "dwinship",
            cal.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("(1 event)"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("message created, 1 block added"),
        "{}",
        stdout(&o)
    );

    let o = run_cli(
        data.path(),
        &["--now", "2008-02-01T12:00:00Z", "fb", "show", "dwinship"],
    );
    assert!(stdout(&o).contains("busy: 1 block\n"), "{}", stdout(&o));
    let o = run_cli(data.path(), &["fb", "delete", "dwinship"]);
    assert!(stdout(&o).contains("1 message deleted"), "{}", stdout(&o));
}

/// The export of [`CSV`] a month later: Dan renamed, Karen new, Jean-Sébastien gone.
const CSV_LATER: &str = "DN,objectClass,mail,legacyExchangeDN,displayName,mailNickname,proxyAddresses\n\
\"CN=Dan,OU=Users,DC=xcs,DC=example\",user,danw@xcs.example,/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=dwinship,Daniel Winship,dwinship,SMTP:danw@xcs.example;smtp:dan@xcs.example\n\
\"CN=Karen,OU=Users,DC=xcs,DC=example\",user,kbaker@xcs.example,/o=First Organization/ou=Second Administrative Group/cn=Recipients/cn=kbaker,Karen Baker,kbaker,SMTP:kbaker@xcs.example\n";

/// What `directory import --dry-run` of [`CSV_LATER`] over [`CSV`] must say.
fn assert_dry_run_preview(out: &str) {
    for want in [
        "dry run, nothing written: ",
        "2 users (1 to add, 1 to update, 0 unchanged), 1 admin-group folder to create",
        "  added: 1\n    Karen Baker <kbaker@xcs.example> (/o=First Organization/ou=Second Administrative Group/cn=Recipients/cn=kbaker)",
        "  changed: 1\n    Daniel Winship <danw@xcs.example>",
        "display name 'Dan Winship' → 'Daniel Winship'",
        "  unchanged: 0\n",
        "  removed: 1 (in the store, not in the file; an import keeps them)\n    Jean-Sébastien Guillet <jsguillet@companyabc.example>",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

/// Issue 17 item 6: `directory import --dry-run` says what would change, user by user, and
/// writes nothing, with the store in hand and through a running server; the import that
/// follows does what the dry run said.
#[test]
fn directory_import_dry_run_shows_the_changes_and_writes_nothing() {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    assert!(
        import(data.path(), files.path(), "users.csv", CSV)
            .status
            .success()
    );
    let digest = || {
        schedplus::store::Store::open(&schedplus::store::StoreConfig::new(data.path()))
            .unwrap()
            .dump_digest()
            .unwrap()
    };
    let before = digest();
    let later = write(files.path(), "later.csv", CSV_LATER);
    let later = later.to_str().unwrap();
    let o = run_cli(data.path(), &["directory", "import", later, "--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_dry_run_preview(&stdout(&o));
    assert!(stdout(&o).contains("via the store at"), "{}", stdout(&o));
    assert_eq!(digest(), before, "a dry run wrote to the store");
    let o = run_cli(data.path(), &["directory", "list"]);
    assert!(stdout(&o).contains("Dan Winship"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("Karen"), "{}", stdout(&o));

    // Through a running server: the same preview, nothing written.
    let s = TestServer::start();
    assert!(
        import(s.data_dir(), files.path(), "users.csv", CSV)
            .status
            .success()
    );
    let before = s.store().dump_digest().unwrap();
    let o = run_cli(s.data_dir(), &["directory", "import", later, "--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_dry_run_preview(&stdout(&o));
    assert!(
        stdout(&o).contains(&format!("via the server at {}", s.base)),
        "{}",
        stdout(&o)
    );
    assert_eq!(s.store().dump_digest().unwrap(), before, "a dry run wrote");

    // Without --dry-run, the import does what the preview said.
    let o = run_cli(s.data_dir(), &["directory", "import", later]);
    assert!(
        stdout(&o)
            .contains("2 users (1 added, 1 updated, 0 unchanged), 1 admin-group folder created"),
        "{}",
        stdout(&o)
    );
    assert_ne!(s.store().dump_digest().unwrap(), before);
}

/// Issue 17 item 6: `updatefb` logs one line per mailbox line, in file order, as Updatefb
/// did: published (with the blocks that changed), unchanged, or failed with the reason;
/// then the summary.
#[test]
fn updatefb_prints_one_line_per_mailbox() {
    const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20080201T000000Z\r\nDTSTART:20080204T090000Z\r\nDTEND:20080204T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    assert!(
        import(data.path(), files.path(), "users.csv", CSV)
            .status
            .success()
    );
    let ics = write(files.path(), "a.ics", ICS);
    let now = ["--now", "2008-02-01T12:00:00Z"];
    let cli = |args: &[&str]| run_cli(data.path(), &[&now[..], args].concat());
    for user in ["dwinship", "jsguillet"] {
        let o = cli(&["calendar", "import", user, ics.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    // Dan's message goes, so updatefb has something to publish for him.
    assert!(cli(&["fb", "delete", "dwinship"]).status.success());
    let list = write(
        files.path(),
        "updatefb.txt",
        "dwinship, EXCH01\njsguillet, EXCH01\nghost, EXCH01\nnot a line\n",
    );
    let o = cli(&["updatefb", "--csv", list.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("line ")).collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with(
            "line 1: danw@xcs.example: published: message created, 1 block added, 0 removed"
        ),
        "{out}"
    );
    assert!(
        out.contains("    + busy      2008-02-04T09:00:00Z .. 2008-02-04T10:00:00Z"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("line 2: jsguillet@companyabc.example: unchanged"),
        "{out}"
    );
    assert!(lines[2].starts_with("line 3: failed: ghost: "), "{out}");
    assert!(lines[3].starts_with("line 4: failed: "), "{out}");
    assert!(
        out.contains("1 republished, 1 unchanged, 2 failed"),
        "{out}"
    );
}

/// The admin API is one table of the operations' own routes: each takes its operation as
/// JSON (one without fields, `null` or nothing; a read-only one by `GET` too), a failure is
/// `{"error", "kind"}` with the status `transport/error.rs` gives its kind (the calendar
/// limit, checked by the operation itself, is 413 `too_large`), and `/calendars/` reads
/// through the same `calendar/get` operation the table serves.
#[test]
fn the_admin_api_serves_each_operation_at_its_route() {
    let s = TestServer::start_with(|o| o.limits.max_calendar_bytes = 400);
    s.import_demo_directory();
    let token = s.admin_token();
    let call = |method: &str, route: &str, body: &str| s.admin_call(method, route, &token, body);
    let json = |r: &crate::common::Reply| -> serde_json::Value {
        serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text()))
    };
    for (method, body) in [("GET", ""), ("POST", ""), ("POST", "null")] {
        let r = call(method, "/directory", body);
        assert_eq!(r.status, 200, "{method} {body:?}: {}", r.text());
        assert!(json(&r).as_array().is_some_and(|a| !a.is_empty()));
    }
    // Only a read-only operation answers GET; an unknown route is 404.
    assert_eq!(call("GET", "/cleanup", "").status, 404);
    assert_eq!(call("POST", "/no/such/route", "{}").status, 404);

    let cal = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20260301T000000Z\r\nDTSTART:20260304T090000Z\r\nDTEND:20260304T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let put = |text: &str| {
        call(
            "POST",
            "/calendar/put",
            &serde_json::json!({"user": "dwinship", "text": text, "source": "Http"}).to_string(),
        )
    };
    let r = put(&format!("{cal}{}", " ".repeat(400)));
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(json(&r)["kind"], "too_large", "{}", r.text());
    assert!(
        json(&r)["error"]
            .as_str()
            .unwrap()
            .contains("larger than the 400-byte limit"),
        "{}",
        r.text()
    );
    let r = call("POST", "/calendar/get", r#"{"user":"dwinship"}"#);
    assert_eq!(r.status, 404, "nothing was stored: {}", r.text());
    assert_eq!(json(&r)["kind"], "not_found");

    let r = put(cal);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = call("POST", "/calendar/get", r#"{"user":"danw@xcs.example"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(json(&r)["text"], cal);
    let r = s.get("/calendars/dwinship.ics");
    assert_eq!((r.status, r.text()), (200, cal.to_string()));
}
