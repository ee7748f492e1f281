//! Real clients against a real server: cadaver (neon) here, DavMail through
//! `scripts/davmail.sh`. A client that is not installed is skipped with a visible message
//! outside CI and is a failure under CI=true (`.ci/run` installs every one).

use std::process::Command;

use crate::common::{TestServer, require_tool, run_cli, run_with_input, stderr, stdout};

const NOW: &str = "2008-02-01T12:00:00Z";

/// Run cadaver on `url` with `commands` on its standard input; stdout and stderr together.
pub fn cadaver(url: &str, commands: &str) -> String {
    let out = run_with_input(Command::new("cadaver").arg(url), commands);
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

/// Issue 10: neon escapes the folder name (`EX%3a_xF8FF_o%3d…`) and looks for an href equal
/// to that spelling; an answer spelt `EX:_xF8FF_o=…` made `cd` fail with "Did not find a
/// collection resource". Names with spaces and parentheses (`Exchange Administrative Group
/// (FYDIBOHF23SPDLT)`, escaped by neon as `%28`/`%29`) must work as well.
#[test]
fn cadaver_cds_into_an_admin_group_folder_and_lists_it() {
    if !require_tool("cadaver") {
        return;
    }
    let s = TestServer::start();
    s.import_demo_directory();
    s.fb_set(
        "jsguillet@companyabc.example",
        NOW,
        &["2008-02-02T20:00:00Z/2008-02-02T21:00:00Z"],
        &[],
        &[],
    );
    s.fb_set(
        "bwright@companyabc.example",
        NOW,
        &["2008-02-03T20:00:00Z/2008-02-03T21:00:00Z"],
        &[],
        &[],
    );
    let root = format!(
        "{}/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/",
        s.base
    );
    let out = cadaver(
        &root,
        "cd \"EX:_xF8FF_o=CompanyABC_xF8FF_ou=Paris\"\nls\ncd ..\n\
         cd \"EX:_xF8FF_o=CompanyABC_xF8FF_ou=Exchange Administrative Group (FYDIBOHF23SPDLT)\"\nls\nquit\n",
    );
    assert!(!out.contains("Did not find a collection"), "{out}");
    assert!(!out.contains("Could not access"), "{out}");
    assert!(
        out.contains("Listing collection `/public/NON_IPM_SUBTREE/SCHEDULE+ FREE BUSY/EX:_xF8FF_o=CompanyABC_xF8FF_ou=Paris/': succeeded."),
        "{out}"
    );
    assert!(
        out.contains("USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=JSGUILLET.EML"),
        "{out}"
    );
    assert!(
        out.contains("USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=BWRIGHT.EML"),
        "{out}"
    );
    // The folder itself is not listed as its own member.
    let paris = out
        .split("ou=Paris/': succeeded.")
        .nth(1)
        .and_then(|rest| rest.split("dav:").next())
        .unwrap_or_default();
    assert!(!paris.contains("Coll:"), "{out}");
}

/// Issue 10: directory exports as Windows writes them, through the CLI (which sends the
/// file's bytes to the running server's admin API) and the API's own report.
#[test]
fn windows_directory_exports_import_in_their_encoding() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/directory");
    for (file, encoding) in [
        ("csvde-ansi.csv", "windows-1252"),
        ("csvde-unicode.csv", "UTF-16LE with byte-order mark"),
        ("editor-utf8-bom.csv", "UTF-8 with byte-order mark"),
        ("ldifde-unicode.ldif", "UTF-16LE with byte-order mark"),
    ] {
        let s = TestServer::start();
        let path = data.join(file);
        let o = run_cli(
            s.data_dir(),
            &["directory", "import", path.to_str().unwrap()],
        );
        let out = stdout(&o);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        assert!(
            out.contains(&format!(", {encoding}): 3 users (3 added")),
            "{file}: {out}"
        );
        let o = run_cli(s.data_dir(), &["directory", "list", "--json"]);
        let list = stdout(&o);
        for name in ["Amélie Müller", "Jürgen Weiß", "Lefèvre, François"] {
            assert!(list.contains(name), "{file}: {name} in {list}");
        }
        // The admin API names the encoding in its report.
        let token = s.admin_token();
        let body = serde_json::json!({
            "data_base64": base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                std::fs::read(&path).unwrap()
            ),
            "format": null,
            "source": file,
        });
        let r = s.admin_call("POST", "/directory/import", &token, &body.to_string());
        assert_eq!(r.status, 200, "{file}: {}", r.text());
        let report: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(report["encoding"], encoding, "{file}: {report}");
        assert_eq!(report["summary"]["unchanged"], 3, "{file}: {report}");
    }
}

/// Truly broken exports are still refused whole, naming the line and what is wrong there.
#[test]
fn broken_exports_are_refused_with_their_line() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/directory");
    for (file, line, says) in [
        (
            "csvde-unclosed-quote.csv",
            "line 4:",
            "closing quote seems missing",
        ),
        ("csvde-unclosed-at-end.csv", "line 6:", "never closed"),
        ("csvde-undefined-byte.csv", "line 5:", "byte 0x81"),
    ] {
        let s = TestServer::start();
        let path = data.join(file);
        let o = run_cli(
            s.data_dir(),
            &["directory", "import", path.to_str().unwrap()],
        );
        let err = stderr(&o);
        assert!(!o.status.success(), "{file}");
        assert!(err.contains("nothing was imported"), "{file}: {err}");
        assert!(err.contains(line) && err.contains(says), "{file}: {err}");
        assert!(!err.contains("fields"), "{file}: {err}");
        assert_eq!(s.store().stats().users, 0, "{file}");
    }
}
