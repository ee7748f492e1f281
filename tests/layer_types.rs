//! Each floor takes its own types (issue 12, WP10/WP11): the store is written in store and
//! protocol-model terms, not in WebDAV or query terms; the URL rules of the public tree are
//! defined once; protocol reads no clock. Like `layers.rs`, this reads the source text.

use std::path::Path;

use crate::layers::rust_files;

/// `(file under src/, line number, line)` for every non-comment line of the files under
/// `src/<dir>`, up to the first `#[cfg(test)]` (unit tests may use anything).
fn code_lines(dir: &str) -> Vec<(String, usize, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    rust_files(&src.join(dir), &mut files);
    files.sort();
    assert!(!files.is_empty(), "no files under src/{dir}");
    let mut out = vec![];
    for file in files {
        let rel = file.strip_prefix(&src).unwrap().display().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.starts_with("#[cfg(test)]") {
                break;
            }
            if !line.trim_start().starts_with("//") {
                out.push((rel.clone(), n + 1, line.to_string()));
            }
        }
    }
    out
}

fn offending(dir: &str, bad: &[&str]) -> Vec<String> {
    code_lines(dir)
        .into_iter()
        .filter(|(_, _, line)| bad.iter().any(|b| line.contains(b)))
        .map(|(f, n, line)| format!("src/{f}:{n}: {}", line.trim()))
        .collect()
}

#[test]
fn the_store_takes_no_webdav_or_query_types() {
    let found = offending("store", &["dav_xml", "protocol::query", "query::"]);
    assert!(
        found.is_empty(),
        "the store names WebDAV or query types (use protocol::mapi::PropChange and \
         protocol::address::UserAddress):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_public_tree_url_rules_are_defined_once_in_protocol() {
    let mut defined = vec![];
    for dir in ["protocol", "store", "transport"] {
        for (f, n, line) in code_lines(dir) {
            if line.contains("const NON_IPM_SUBTREE")
                || line.contains("const MAX_PATH_DEPTH")
                || line.contains("const FREE_BUSY_FOLDER")
            {
                defined.push(format!("src/{f}:{n}"));
            }
        }
    }
    assert_eq!(defined.len(), 3, "definitions: {defined:?}");
    assert!(
        defined
            .iter()
            .all(|d| d.starts_with("src/protocol/public_tree.rs:")),
        "the URL rules must live in protocol/public_tree.rs: {defined:?}"
    );
    let from_store: Vec<_> = offending("transport", &["NON_IPM_SUBTREE", "MAX_PATH_DEPTH"])
        .into_iter()
        .filter(|l| l.contains("store::"))
        .collect();
    assert!(
        from_store.is_empty(),
        "transport takes URL rules from the store: {from_store:?}"
    );
}

/// Authorization is decided once, in the store under its write lock (WP9): `auth` builds a
/// `store::Writer`, the store refuses with `StoreError::Refused`, and `auth::refused_write`
/// is the one place that refusal becomes a rule's 403. None of the earlier second and
/// third decisions, nor the re-mappings of the store's answer, is left.
#[test]
fn ownership_is_decided_once_in_the_store() {
    let gone = [
        "fn fb_message(",
        "fn not_own_subject(",
        "fn item(",
        "fn item_actor(",
        "fn pf_result",
        "fn not_item_owner",
        "FbAccess",
        "PfActor",
        "NotOwner",
    ];
    let mut found = vec![];
    for dir in ["auth", "store", "transport", "app"] {
        found.extend(offending(dir, &gone));
    }
    assert!(
        found.is_empty(),
        "owner decisions outside the store, or re-mappings of its refusal:\n{}",
        found.join("\n")
    );
    let mapped: Vec<_> = ["transport", "app"]
        .iter()
        .flat_map(|d| offending(d, &["refused_write("]))
        .collect();
    assert_eq!(
        mapped.len(),
        1,
        "the store's refusal becomes a 403 in exactly one place: {mapped:?}"
    );
}

/// One clock, passed in (WP11): protocol is pure and never reads the system time; "now"
/// comes from `app::Clock`.
#[test]
fn protocol_reads_no_clock() {
    let found = offending(
        "protocol",
        &[
            "Timestamp::now()",
            "SystemTime::now()",
            "Instant::now()",
            "enum Clock",
        ],
    );
    assert!(
        found.is_empty(),
        "protocol reads the time; take `now` as an argument instead:\n{}",
        found.join("\n")
    );
}
