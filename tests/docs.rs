//! Doc commands that rot are defects: every ```sh block of README.md and docs/*.md is run
//! here, line by line, against a demo server.
//!
//! The commands run verbatim except for where they run: `schedplus`, wherever it stands in
//! a line (after a pipe too), is the binary under test, put first on `PATH` as the README's
//! install step would; `127.0.0.1:8080` is the test server's address, `fixtures/` the
//! checkout's fixtures, and the working directory a fresh temporary directory whose
//! `./schedplus-data` is the server's store. Lines that the harness itself stands for
//! (starting the demo server, installing, the test and CI commands, benchmarks) are listed
//! in [`NOT_RUN_HERE`] with the reason; blocks fenced as ```text are shown, not run.
//!
//! The docs spell the command one way, `schedplus …`, after the README's install step; only
//! the README's first command, `cargo run --release -- serve --demo`, runs from a fresh
//! clone without installing ([`the_docs_spell_the_command_one_way`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{TestServer, bin, stdout_of};

/// Line prefixes not run by this test, and who runs them instead.
const NOT_RUN_HERE: &[(&str, &str)] = &[
    (
        "cargo run --release -- serve --demo",
        "this test starts the demo server itself",
    ),
    (
        "cargo install --path . --locked",
        "this test puts the built binary on PATH as schedplus instead",
    ),
    (
        "scripts/install.sh",
        "install_script_stages_every_file runs it into a staging directory",
    ),
    (
        "scripts/screenshot.sh",
        "needs chromium; run by hand to refresh docs/timeline.png",
    ),
    ("cargo test", ".ci/run runs the test suite"),
    (".ci/run", "CI runs it"),
    (
        "cargo bench",
        "benchmarks build in release mode; run by hand, figures in the closing notes",
    ),
    ("scripts/litmus.sh", ".ci/run runs it"),
    ("scripts/davmail.sh", ".ci/run runs it"),
    ("scripts/oracle.sh", ".ci/run runs it"),
    ("scripts/ews.sh", ".ci/run runs it"),
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
    // `schedplus` on PATH is the binary under test, as after the README's install step.
    let path_dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(bin(), path_dir.path().join("schedplus")).unwrap();
    let path = format!(
        "{}:{}",
        path_dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    let mut failures = Vec::new();
    for file in doc_files() {
        for block in sh_blocks(&file) {
            for cmd in commands(&block.text) {
                if let Some((_, why)) = NOT_RUN_HERE.iter().find(|(p, _)| cmd.starts_with(p)) {
                    eprintln!("not run here ({why}): {cmd}");
                    continue;
                }
                // A tool this machine lacks (rclone, say) is skipped with a note; under CI
                // it is a failure (`.ci/run` installs every tool the docs use).
                let program = cmd.split_whitespace().next().unwrap_or_default();
                if program != "schedplus" && !crate::common::require_tool(program) {
                    eprintln!("not run (no {program}): {cmd}");
                    continue;
                }
                let line = cmd
                    .replace("127.0.0.1:8080", &addr)
                    .replace(" fixtures/", &format!(" {}/fixtures/", root.display()))
                    .replace("@fixtures/", &format!("@{}/fixtures/", root.display()));
                let out = Command::new("bash")
                    .args(["-o", "pipefail", "-c", &line])
                    .current_dir(cwd.path())
                    .env("PATH", &path)
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

/// Issue 17.1: a newcomer met `schedplus …` in some places and `cargo run --release -- …`
/// in others. Every documented command is `schedplus …` after the README's install step;
/// only the README's demo command runs without it.
#[test]
fn the_docs_spell_the_command_one_way() {
    const FRESH_CLONE: &str = "cargo run --release -- serve --demo";
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let install = readme
        .find("cargo install --path . --locked")
        .expect("the README has an install step");
    let mut odd = Vec::new();
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for block in sh_blocks(&file) {
            for cmd in commands(&block.text) {
                let other_spelling = cmd.contains("cargo run")
                    || cmd.contains("target/release/schedplus")
                    || cmd.contains("target/debug/schedplus");
                if other_spelling && !cmd.starts_with(FRESH_CLONE) {
                    odd.push(format!("{}:{}: {cmd}", file.display(), block.line));
                }
                // In the README, `schedplus` is used only after it is installed.
                if file.ends_with("README.md")
                    && cmd.split_whitespace().any(|w| w == "schedplus")
                    && text.find(&cmd).is_some_and(|at| at < install)
                {
                    odd.push(format!("README.md: `{cmd}` comes before the install step"));
                }
            }
        }
    }
    assert!(
        odd.is_empty(),
        "spell the command `schedplus …` (after `cargo install --path . --locked`):\n{}",
        odd.join("\n")
    );
}

/// `scripts/install.sh` puts the binary, the unit, the completions and the README where the
/// unit's `Documentation=` points, here into a staging root.
#[test]
fn install_script_stages_every_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dest = tempfile::tempdir().unwrap();
    stdout_of(
        Command::new("bash")
            .arg(root.join("scripts/install.sh"))
            .env("DESTDIR", dest.path())
            .env("SCHEDPLUS_BIN", bin()),
    );
    let unit = std::fs::read_to_string(root.join("docs/schedplus.service")).unwrap();
    let doc = unit
        .lines()
        .find_map(|l| l.strip_prefix("Documentation=file://"))
        .expect("the unit names its documentation");
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .and_then(|l| l.split_whitespace().next())
        .unwrap();
    for path in [
        doc,
        exec,
        "/etc/systemd/system/schedplus.service",
        "/usr/share/bash-completion/completions/schedplus",
        "/usr/share/zsh/vendor-completions/_schedplus",
        "/usr/share/fish/vendor_completions.d/schedplus.fish",
    ] {
        let staged = dest.path().join(path.trim_start_matches('/'));
        assert!(staged.is_file(), "{path} was not installed");
    }
    let installed = dest.path().join(exec.trim_start_matches('/'));
    let v = Command::new(installed).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&v.stdout).contains(env!("CARGO_PKG_VERSION")));
    let bash = std::fs::read_to_string(
        dest.path()
            .join("usr/share/bash-completion/completions/schedplus"),
    )
    .unwrap();
    assert!(bash.contains("schedplus"), "{bash}");
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
            schedplus::cli::config::SETTINGS.iter().any(|s| s.env == k),
            "docs/schedplus.service sets {k}, which is not a setting"
        );
    }
    let text = stdout_of(
        Command::new(bin())
            .args(["config", "show"])
            .envs(envs.iter().map(|(k, v)| (k, v))),
    );
    for (k, v) in &envs {
        assert!(
            text.contains(&format!("environment {k}")),
            "{k} not used:\n{text}"
        );
        assert!(text.contains(v.as_str()), "{k}={v} not shown:\n{text}");
    }
    assert!(unit.contains("ExecStart=/usr/local/bin/schedplus serve"));
}

/// A docs/limits.md default ("1 MiB", "100,000", "30 s") written as `SETTINGS` writes it.
fn doc_default(text: &str) -> String {
    let t = text.replace(',', "");
    let mut parts = t.split_whitespace();
    let n: u64 = parts.next().unwrap().parse().unwrap();
    match parts.next() {
        Some("MiB") => (n << 20).to_string(),
        Some("KiB") => (n << 10).to_string(),
        Some("s") => format!("{n}s"),
        None => n.to_string(),
        Some(u) => panic!("unknown unit {u} in {text}"),
    }
}

/// docs/limits.md's table of configurable limits is `SETTINGS` seen by a reader: each row's
/// key is a setting, its flag is that setting's flag (a `serve` flag, in `serve --help`), its
/// default the row's default; and every setting under the Limits heading has a row.
#[test]
fn the_limits_table_is_the_settings_table() {
    use schedplus::cli::config::{Group, SETTINGS, Setting};
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/limits.md"))
        .unwrap();
    let table = &doc[doc.find("## Configurable").unwrap()..doc.find("## Fixed").unwrap()];
    let help = String::from_utf8(
        Command::new(bin())
            .args(["serve", "--help"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let mut documented = Vec::new();
    for row in table.lines().filter(|l| l.starts_with("| ")).skip(1) {
        let cells: Vec<&str> = row.split(" | ").collect();
        assert_eq!(cells.len(), 5, "docs/limits.md: a row of 5 cells: {row}");
        let code = |c: &str| c.strip_prefix('`')?.strip_suffix('`').map(str::to_string);
        let Some(key) = code(cells[2]) else {
            assert_eq!((cells[2], cells[3]), ("—", "—"), "{row}");
            continue;
        };
        let s = Setting::of(&key)
            .unwrap_or_else(|| panic!("docs/limits.md names '{key}', not a setting"));
        assert_ne!(s.group, Group::Global, "{key}");
        assert_eq!(
            code(cells[3]),
            Some(s.flag()),
            "docs/limits.md: the flag of {key}"
        );
        assert!(
            help.contains(&format!("{} <", s.flag())),
            "{} is not in serve --help",
            s.flag()
        );
        assert_eq!(
            Some(doc_default(cells[1])),
            s.default.map(str::to_string),
            "docs/limits.md: the default of {key}"
        );
        documented.push(key);
    }
    for s in SETTINGS.iter().filter(|s| s.group == Group::Limits) {
        assert!(
            documented.iter().any(|k| k == s.key),
            "docs/limits.md has no row for the limit {}",
            s.key
        );
    }
}

/// Issue 17.9: the README shows a user's page (a screenshot made by
/// `scripts/screenshot.sh`) and a table of what a lab can do, each row a command; every
/// `schedplus` row names a real command and real options.
#[test]
fn the_readme_shows_the_timeline_and_a_table_of_jobs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains("](docs/timeline.png)"),
        "the README shows docs/timeline.png"
    );
    let png = std::fs::read(root.join("docs/timeline.png")).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "docs/timeline.png is a PNG"
    );
    assert!(png.len() < 300 * 1024, "{} bytes", png.len());
    assert!(
        std::fs::read_to_string(root.join("scripts/screenshot.sh"))
            .unwrap()
            .contains("--screenshot="),
        "the picture is made by a script"
    );

    let table = readme
        .split("## What a lab can do")
        .nth(1)
        .expect("a table of what a lab can do")
        .split("\n## ")
        .next()
        .unwrap();
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| to…"))
        .collect();
    assert!(rows.len() >= 8, "{rows:?}");
    for row in rows {
        let cmd = row
            .rsplit('`')
            .nth(1)
            .unwrap_or_else(|| panic!("no command in {row}"));
        let program = cmd.split_whitespace().next().unwrap();
        assert!(
            ["schedplus", "curl", "cargo", "cadaver"].contains(&program),
            "{row}"
        );
        let Some(rest) = cmd.strip_prefix("schedplus ") else {
            continue;
        };
        // `schedplus directory import users.csv` → the help of `directory import`.
        let words: Vec<&str> = rest
            .split_whitespace()
            .take_while(|w| w.chars().all(|c| c.is_ascii_lowercase()))
            .collect();
        let help = Command::new(bin())
            .args(&words)
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            help.status.success(),
            "`schedplus {}` is not a command",
            words.join(" ")
        );
        let text = String::from_utf8_lossy(&help.stdout);
        for flag in rest.split_whitespace().filter(|w| w.starts_with("--")) {
            assert!(text.contains(flag), "`{cmd}`: {flag} is not an option");
        }
    }
}
