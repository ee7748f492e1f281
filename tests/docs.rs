//! Doc commands that rot are defects: every ```sh block of README.md and docs/*.md is run
//! here, line by line, against a demo server.
//!
//! The commands run verbatim except for where they run: `cargo run --release --` and a
//! leading `schedplus` become the binary under test, `127.0.0.1:8080` the test server's address, `fixtures/` the
//! checkout's fixtures, and the working directory a fresh temporary directory whose
//! `./schedplus-data` is the server's store. Lines that the harness itself stands for
//! (starting the demo server, the test and CI commands, benchmarks) are listed in
//! [`NOT_RUN_HERE`] with the reason; blocks fenced as ```text are shown, not run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{TestServer, bin};

/// Line prefixes not run by this test, and who runs them instead.
const NOT_RUN_HERE: &[(&str, &str)] = &[
    (
        "cargo run --release -- serve --demo",
        "this test starts the demo server itself",
    ),
    ("cargo test", ".ci/run runs the test suite"),
    (".ci/run", "CI runs it"),
    (
        "cargo bench",
        "benchmarks build in release mode; run by hand, figures in the closing notes",
    ),
    ("scripts/litmus.sh", ".ci/run runs it"),
    ("scripts/oracle.sh", ".ci/run runs it"),
    ("scripts/load.sh", ".ci/run runs its short form"),
    (
        "scripts/slowclients.sh",
        "a measurement, run by hand; figures in docs/limits.md",
    ),
    (
        "scripts/fuzz.sh",
        ".ci/run builds the targets; long runs by hand, hours in the closing notes",
    ),
];

struct Block {
    file: PathBuf,
    line: usize,
    text: String,
}

fn sh_blocks(file: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut current {
            None if trimmed == "```sh" => current = Some((i + 2, String::new())),
            Some(_) if trimmed == "```" => {
                let (l, t) = current.take().unwrap();
                out.push(Block {
                    file: file.to_path_buf(),
                    line: l,
                    text: t,
                });
            }
            Some((_, t)) => {
                t.push_str(line);
                t.push('\n');
            }
            None => {}
        }
    }
    out
}

/// Join `\` continuations; drop comments and blank lines.
fn commands(block: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut acc = String::new();
    for line in block.lines() {
        let l = line.trim_end();
        if let Some(stripped) = l.strip_suffix('\\') {
            acc.push_str(stripped);
            acc.push(' ');
            continue;
        }
        acc.push_str(l);
        let cmd = acc.trim().to_string();
        acc.clear();
        if !cmd.is_empty() && !cmd.starts_with('#') {
            out.push(cmd);
        }
    }
    out
}

fn doc_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn every_documented_command_runs_against_the_demo() {
    let cwd = tempfile::tempdir().unwrap();
    let data = cwd.path().join("schedplus-data");
    std::fs::create_dir_all(&data).unwrap();
    // The demo server, in the same data directory the commands use by default.
    let server = TestServer::start_with(|o| {
        o.data_dir = data.clone();
        o.demo = true;
        // What `serve --demo` runs with: Basic sign-in for writes.
        o.auth = schedplus::auth::AuthSettings::default();
    });
    let addr = server.base.trim_start_matches("http://").to_string();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut ran = 0;
    let mut failures = Vec::new();
    for file in doc_files() {
        for block in sh_blocks(&file) {
            for cmd in commands(&block.text) {
                if let Some((_, why)) = NOT_RUN_HERE.iter().find(|(p, _)| cmd.starts_with(p)) {
                    eprintln!("not run here ({why}): {cmd}");
                    continue;
                }
                // A tool this machine lacks (rclone, say) is skipped with a note; CI
                // installs every tool the docs use, so there nothing is skipped.
                let program = cmd.split_whitespace().next().unwrap_or_default();
                let present = crate::common::tool_present(program);
                if !present && program != "schedplus" {
                    eprintln!("skipped ({program} is not installed here): {cmd}");
                    continue;
                }
                let bin_path = bin().display().to_string();
                let cmd_line = match cmd.strip_prefix("schedplus ") {
                    Some(rest) => format!("{bin_path} {rest}"),
                    None => cmd.clone(),
                };
                let line = cmd_line
                    .replace("cargo run --release --", &bin_path)
                    .replace("127.0.0.1:8080", &addr)
                    .replace(" fixtures/", &format!(" {}/fixtures/", root.display()))
                    .replace("@fixtures/", &format!("@{}/fixtures/", root.display()));
                let out = Command::new("bash")
                    .args(["-o", "pipefail", "-c", &line])
                    .current_dir(cwd.path())
                    .env_remove("SCHEDPLUS_DATA")
                    .env_remove("SCHEDPLUS_NOW")
                    .output()
                    .unwrap();
                ran += 1;
                if !out.status.success() {
                    failures.push(format!(
                        "{}:{}: `{cmd}` exited {:?}\n{}",
                        block.file.display(),
                        block.line,
                        out.status.code(),
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
            }
        }
    }
    eprintln!("{ran} documented commands ran");
    assert!(ran >= 5, "only {ran} documented commands found");
    assert!(
        failures.is_empty(),
        "documented commands failed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn command_splitting() {
    assert_eq!(
        commands("# c\nfoo \\\n  --bar\n\nbaz # tail\n"),
        vec!["foo    --bar".to_string(), "baz # tail".to_string()]
    );
}

/// The systemd unit cannot be started here (no systemd in CI), but what can rot in it can
/// be checked: every `SCHEDPLUS_*` it sets is a real setting and its value is accepted.
#[test]
fn systemd_unit_settings_are_real() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schedplus.service"),
    )
    .unwrap();
    let envs: Vec<(String, String)> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert!(envs.len() >= 3, "{envs:?}");
    for (k, _) in &envs {
        assert!(
            schedplus::config::SETTINGS.iter().any(|s| s.env == k),
            "docs/schedplus.service sets {k}, which is not a setting"
        );
    }
    let out = Command::new(bin())
        .args(["config", "show"])
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for (k, v) in &envs {
        assert!(
            text.contains(&format!("environment {k}")),
            "{k} not used:\n{text}"
        );
        assert!(text.contains(v.as_str()), "{k}={v} not shown:\n{text}");
    }
    assert!(unit.contains("ExecStart=/usr/local/bin/schedplus serve"));
}
