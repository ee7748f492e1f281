//! The floors of `src/` stay floors (issue 12): a module imports only the floors below its
//! own, and every module sits in a floor's folder. `docs/architecture.md` lists the floors;
//! this test reads the source text, so it needs no build of anything but itself.
//!
//! A path is mapped to the floor it names: `crate::store::…` to `store`, `crate::{app::admin,
//! protocol}` to both, a `super::` chain that climbs to the crate root to the module after it,
//! and the old loose names that `lib.rs` still re-exports (`crate::admin` …) to their floor.

use std::path::{Path, PathBuf};

/// Bottom up. Two floors of the same rank do not use each other.
const FLOORS: &[(&str, u8)] = &[
    ("protocol", 0),
    ("store", 1),
    ("publishing", 2),
    ("auth", 2),
    ("app", 3),
    ("transport", 4),
    ("server", 5),
    ("cli", 6),
];

/// Upward imports that only a unit test makes, each with the reason it is tolerated: a
/// test module is not part of the library, so it adds no cycle to the build.
const TEST_ONLY: &[(&str, &str, &str)] = &[(
    "src/store/key_fold.rs",
    "app",
    "an end-to-end check that an admin fb set finds a user by a folded address",
)];

fn rank(floor: &str) -> Option<u8> {
    FLOORS.iter().find(|(f, _)| *f == floor).map(|(_, r)| *r)
}

fn floor_of_name(name: &str) -> Option<&'static str> {
    FLOORS.iter().map(|(f, _)| *f).find(|f| *f == name)
}

/// The module path of a file under `src/`: `store/fb_items.rs` → `[store, fb_items]`,
/// `store/mod.rs` → `[store]`. `None` for the crate root (`lib.rs`, `main.rs`).
fn module_path(rel: &str) -> Option<Vec<String>> {
    let rel = rel.strip_suffix(".rs")?;
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] {
        return None;
    }
    Some(parts)
}

fn ident_at(text: &str, at: usize) -> &str {
    let rest = &text[at..];
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The first segment of each path in a `{…}` group starting at `at` (just after the `{`).
fn group_heads(text: &str, at: usize) -> Vec<&str> {
    let mut heads = vec![];
    let mut depth = 0;
    let mut expect = true;
    for (i, c) in text[at..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => expect = true,
            c if expect && (c.is_alphanumeric() || c == '_') => {
                heads.push(ident_at(text, at + i));
                expect = false;
            }
            _ => {}
        }
    }
    heads
}

struct Line {
    /// Code of the line, or empty for a comment line.
    code: String,
    /// Inline modules around the line (`mod tests {` at column 0 counts one).
    inline: usize,
    in_test: bool,
}

/// Splits a rustfmt-formatted file into lines, marking those inside a top-level inline
/// module (it opens with `mod x {` at column 0 and closes with `}` at column 0) and whether
/// that module is `#[cfg(test)]`.
fn lines(text: &str) -> Vec<Line> {
    let mut out = vec![];
    let mut inline = false;
    let mut in_test = false;
    let mut cfg_test = false;
    for raw in text.lines() {
        let t = raw.trim_start();
        let opens = !inline
            && (raw.starts_with("mod ")
                || raw.starts_with("pub mod ")
                || raw.starts_with("pub(crate) mod "))
            && raw.trim_end().ends_with('{');
        if opens {
            inline = true;
            in_test = cfg_test;
        }
        let code = if t.starts_with("//") {
            String::new()
        } else {
            raw.to_string()
        };
        out.push(Line {
            code,
            inline: usize::from(inline),
            in_test,
        });
        if inline && !opens && raw == "}" {
            inline = false;
            in_test = false;
        }
        if raw.starts_with("#[cfg(test)]") {
            cfg_test = true;
        } else if !raw.starts_with("#[") {
            cfg_test = false;
        }
    }
    out
}

/// Every upward or unknown import of one file, as sentences naming the file and line.
fn violations(rel: &str, text: &str) -> Vec<String> {
    let Some(path) = module_path(rel) else {
        return vec![];
    };
    let from = path[0].as_str();
    let Some(from_rank) = rank(from) else {
        return vec![format!(
            "src/{rel} sits outside the floors ({}); put it in one of their folders",
            FLOORS
                .iter()
                .map(|(f, _)| *f)
                .collect::<Vec<_>>()
                .join(", ")
        )];
    };
    let mut found = vec![];
    for (n, line) in lines(text).iter().enumerate() {
        let code = &line.code;
        let mut named: Vec<&str> = vec![];
        for (at, _) in code.match_indices("crate::") {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let after = at + "crate::".len();
            if code[after..].starts_with('{') {
                // A group may run over several lines: read it from the file's text.
                let offset: usize = text.lines().take(n).map(|l| l.len() + 1).sum();
                let start = offset + text[offset..].find("crate::{").unwrap() + "crate::{".len();
                named.extend(group_heads(text, start));
            } else {
                named.push(ident_at(code, after));
            }
        }
        for (at, _) in code.match_indices("super::") {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let mut climbs = 0;
            let mut rest = &code[at..];
            while let Some(r) = rest.strip_prefix("super::") {
                climbs += 1;
                rest = r;
            }
            if climbs >= path.len() + line.inline {
                named.push(ident_at(rest, 0));
            }
        }
        for name in named {
            let place = format!("src/{rel}:{}", n + 1);
            let Some(to) = floor_of_name(name) else {
                found.push(format!(
                    "{place}: `{name}` at the crate root is not a floor"
                ));
                continue;
            };
            let upward = to != from && rank(to).unwrap() >= from_rank;
            if !upward {
                continue;
            }
            let tolerated = line.in_test
                && TEST_ONLY
                    .iter()
                    .any(|(f, t, _)| *f == format!("src/{rel}") && *t == to);
            if !tolerated {
                let test = if line.in_test {
                    " (in a unit test)"
                } else {
                    ""
                };
                found.push(format!("{place}: {from} imports {to} (`{name}`){test}"));
            }
        }
    }
    found
}

pub(crate) fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_floor_imports_a_floor_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    files.sort();
    assert!(
        files.len() > 50,
        "found only {} files under {}",
        files.len(),
        src.display()
    );
    let mut found = vec![];
    for file in &files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_str()
            .unwrap()
            .replace('\\', "/");
        found.extend(violations(&rel, &std::fs::read_to_string(file).unwrap()));
    }
    assert!(
        found.is_empty(),
        "imports that run upward (floors bottom up: {}):\n{}",
        FLOORS
            .iter()
            .map(|(f, _)| *f)
            .collect::<Vec<_>>()
            .join(" < "),
        found.join("\n")
    );
}

/// The checker itself: each shape of upward import is caught, downward ones are not.
#[test]
fn the_checker_sees_each_shape_of_upward_import() {
    let caught = |rel: &str, text: &str| violations(rel, text).len();
    assert_eq!(caught("store/x.rs", "use crate::transport::Limits;\n"), 1);
    assert_eq!(
        caught(
            "store/x.rs",
            "use crate::{\n    app::admin,\n    protocol::time,\n};\n"
        ),
        1
    );
    assert_eq!(
        caught("store/x.rs", "fn f() { crate::app::admin::fb_set(); }\n"),
        1,
        "a path in an expression"
    );
    assert_eq!(
        caught("store/x.rs", "use super::super::cli::Cli;\n"),
        1,
        "super to the root"
    );
    assert_eq!(
        caught("publishing/x.rs", "use crate::auth::Principal;\n"),
        1,
        "same rank"
    );
    assert_eq!(
        caught("protocol/x.rs", "use crate::nowhere::Thing;\n"),
        1,
        "not a floor"
    );
    assert_eq!(caught("loose.rs", "fn f() {}\n"), 1, "a loose module");
    let test_module = "#[cfg(test)]\nmod tests {\n    use crate::transport::Limits;\n}\n";
    assert_eq!(
        caught("store/x.rs", test_module),
        1,
        "not on the test-only list"
    );
    let listed = "#[cfg(test)]\nmod tests {\n    use crate::app::admin::fb_set;\n}\n";
    assert_eq!(
        caught("store/key_fold.rs", listed),
        0,
        "on the test-only list"
    );
    assert_eq!(
        caught("store/key_fold.rs", "use crate::admin::fb_set;\n"),
        1,
        "outside tests"
    );

    assert_eq!(
        caught("app/x.rs", "use crate::{protocol, store::Store};\n"),
        0
    );
    assert_eq!(caught("cli/x.rs", "use crate::server::Server;\n"), 0);
    assert_eq!(
        caught("store/x/y.rs", "use super::super::Store;\n"),
        0,
        "within the floor"
    );
    let inline = "#[cfg(test)]\nmod tests {\n    use super::super::FolderRecord;\n}\n";
    assert_eq!(
        caught("store/cleanup.rs", inline),
        0,
        "within the floor, from a test module"
    );
    assert_eq!(
        caught("store/x.rs", "// crate::transport in a comment\n"),
        0
    );
    assert_eq!(caught("lib.rs", "pub use app::admin;\n"), 0);
}
