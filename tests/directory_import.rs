//! Directory import of a file larger than the admin API's body limit, through a running
//! server (issue 13 item 2): the CLI names the file and the server, on the same machine,
//! reads it; no copy of the file travels in the request body.

use crate::common::{TestServer, run_cli, stderr, stdout};

/// A csvde export of `n` users.
fn big_export(n: usize) -> String {
    let mut csv = String::from("mail,legacyExchangeDN,displayName\n");
    for i in 0..n {
        csv.push_str(&format!(
            "user{i}@big.example,/o=Big/ou=AG{}/cn=Recipients/cn=user{i},User {i} with a longer display name\n",
            i % 3
        ));
    }
    csv
}

#[test]
fn a_file_over_max_admin_body_imports_through_a_running_server() {
    const LIMIT: usize = 16 * 1024;
    let s = TestServer::start_with(|o| o.limits.max_admin_body = LIMIT);
    let files = tempfile::tempdir().unwrap();
    let csv = big_export(2500);
    assert!(csv.len() > 8 * LIMIT, "the file is well over the limit");
    let file = files.path().join("big.csv");
    std::fs::write(&file, &csv).unwrap();

    let o = run_cli(
        s.data_dir(),
        &["directory", "import", file.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("via the server at {}", s.base)),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("2500 users (2500 added"),
        "{}",
        stdout(&o)
    );
    assert_eq!(s.store().stats().users, 2500);
    assert_eq!(
        s.store()
            .resolve_user("user2499@big.example")
            .unwrap()
            .display_name,
        "User 2499 with a longer display name"
    );

    // The dry run of the same file, also through the server: nothing would change.
    let o = run_cli(
        s.data_dir(),
        &["directory", "import", "--dry-run", file.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("2500 unchanged"), "{}", stdout(&o));
}

/// The admin API reads a path only when it is absolute (the server's working directory is
/// not the client's), and says which file it could not read.
#[test]
fn an_import_path_the_server_cannot_read_is_named() {
    let s = TestServer::start();
    let token = s.admin_token();
    for (path, says) in [
        (
            "relative/users.csv",
            "must be absolute, not 'relative/users.csv'",
        ),
        (
            "/nonexistent/users.csv",
            "cannot read /nonexistent/users.csv",
        ),
    ] {
        let body = serde_json::json!({ "path": path, "source": path }).to_string();
        let r = s.admin_call("POST", "/directory/import", &token, &body);
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert!(r.text().contains(says), "{path}: {}", r.text());
    }
    assert_eq!(s.store().stats().users, 0);
}
