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

/// What `directory import` printed and stored, step by step, for every directory fixture:
/// one new store per fixture, then a sequence of imports, dry runs and refused files into
/// one store. Each step: the exit code, stdout and stderr (the data folder shown as
/// `DATA`), and the digest of the whole store after it (`Store::dump_digest`: every tree,
/// byte for byte).
fn import_transcript(bin: &std::path::Path) -> String {
    const NOW: &str = "2026-03-02T09:00:00Z";
    // The fixtures of main at 160d9b7, by name: one added later is not in the transcript.
    let fixtures = [
        "bad-records.ldif",
        "bad-rows.csv",
        "csvde-ansi.csv",
        "csvde-export.csv",
        "csvde-unclosed-at-end.csv",
        "csvde-unclosed-quote.csv",
        "csvde-undefined-byte.csv",
        "csvde-unicode.csv",
        "editor-utf8-bom.csv",
        "ldifde-export.ldif",
        "ldifde-unicode.ldif",
    ]
    .map(|f| format!("tests/data/directory/{f}"))
    .into_iter()
    .chain([
        "fixtures/demo/directory.csv".into(),
        "fixtures/demo/directory.ldif".into(),
    ]);
    let run = |data: &std::path::Path, args: &[&str], out: &mut String| {
        let o = std::process::Command::new(bin)
            .arg("--data")
            .arg(data)
            .args(args)
            .args(["--now", NOW])
            .env_remove("SCHEDPLUS_DATA")
            .env_remove("SCHEDPLUS_NOW")
            .env_remove("RUST_LOG")
            .output()
            .expect("the binary runs");
        let shown = |b: &[u8]| String::from_utf8_lossy(b).replace(data.to_str().unwrap(), "DATA");

        out.push_str(&format!(
            "== {}\nexit {}\n{}{}digest {:016x}\n",
            args.join(" "),
            o.status.code().unwrap_or(-1),
            shown(&o.stdout),
            shown(&o.stderr),
            digest_of(data)
        ));
    };
    let mut out = String::new();
    for f in fixtures {
        let data = tempfile::tempdir().unwrap();
        run(data.path(), &["directory", "import", &f], &mut out);
    }
    let data = tempfile::tempdir().unwrap();
    let data = data.path();
    for step in [
        &[
            "directory",
            "import",
            "tests/data/directory/csvde-export.csv",
        ][..],
        &[
            "directory",
            "import",
            "--dry-run",
            "fixtures/demo/directory.csv",
        ],
        &["directory", "import", "fixtures/demo/directory.csv"],
        &[
            "directory",
            "import",
            "--dry-run",
            "tests/data/directory/ldifde-export.ldif",
        ],
        &[
            "directory",
            "import",
            "tests/data/directory/ldifde-export.ldif",
        ],
        &["directory", "import", "tests/data/directory/bad-rows.csv"],
        &[
            "directory",
            "import",
            "--dry-run",
            "tests/data/directory/bad-records.ldif",
        ],
        &[
            "directory",
            "import",
            "--format",
            "ldif",
            "fixtures/demo/directory.csv",
        ],
        &[
            "directory",
            "import",
            "--dry-run",
            "tests/data/directory/csvde-unicode.csv",
        ],
    ] {
        run(data, step, &mut out);
    }
    out
}

/// The digest of the whole store in `data`, opened in a copy: a store this process opened
/// lets its lock go a little after it is dropped, and the next command needs it.
fn digest_of(data: &std::path::Path) -> u64 {
    let copy = tempfile::tempdir().unwrap();
    copy_tree(data, copy.path());
    schedplus::store::Store::open(&schedplus::store::StoreConfig::new(copy.path()))
        .expect("the store opens")
        .dump_digest()
        .unwrap()
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Issue 13 item 2: the streamed import (decoded and parsed as it is read, written a chunk
/// at a time) prints and stores byte for byte what the whole-file import of main at
/// bad196f (distribution groups, before streaming) did, for every fixture, good or
/// refused, dry run or not. The transcript in
/// `tests/data/directory/import-transcript.txt` was written by that binary:
/// `IMPORT_TRANSCRIPT_BIN=/path/to/its/schedplus IMPORT_TRANSCRIPT_WRITE=1 cargo test --test
/// tests streamed_imports`.
#[test]
fn streamed_imports_print_and_store_what_whole_file_imports_did() {
    const FILE: &str = "tests/data/directory/import-transcript.txt";
    let bin = std::env::var_os("IMPORT_TRANSCRIPT_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(crate::common::bin);
    let got = import_transcript(&bin);
    if std::env::var_os("IMPORT_TRANSCRIPT_WRITE").is_some() {
        std::fs::write(FILE, &got).unwrap();
    }
    let want = std::fs::read_to_string(FILE).unwrap();
    for (g, w) in got.split("== ").zip(want.split("== ")) {
        assert_eq!(g, w);
    }
    assert_eq!(got, want);
}

/// Issue 13 item 2: users are written a chunk at a time as the file is read; a problem on
/// line N, thousands of users in, still leaves the store as it was (every chunk written
/// before it undone, updated users back to their old values) and names line N.
#[test]
fn a_problem_late_in_a_large_file_undoes_every_chunk_and_names_its_line() {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let first = files.path().join("first.csv");
    std::fs::write(&first, big_export(3000)).unwrap();
    let o = run_cli(
        data.path(),
        &["directory", "import", first.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let digest = || digest_of(data.path());
    let before = digest();
    // Every user renamed, 2000 more, and on line 4,800 a row without its display name.
    let later = big_export(6000)
        .replace("with a longer display name", "renamed")
        .replace(
            "user4798@big.example,/o=Big/ou=AG1/cn=Recipients/cn=user4798,User 4798 renamed",
            "user4798@big.example,/o=Big/ou=AG1/cn=Recipients/cn=user4798,",
        );
    let second = files.path().join("second.csv");
    std::fs::write(&second, later).unwrap();
    let o = run_cli(
        data.path(),
        &["directory", "import", second.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("1 problem; nothing was imported:\n  line 4800: displayName is empty"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        digest(),
        before,
        "the store is byte for byte as before the import"
    );
}
