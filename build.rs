//! Puts the git revision into `schedplus --version`, so a lab can tell which build runs.
//! Outside a git checkout (a source tarball) the revision reads "unknown".

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn main() {
    let rev = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    // The revision alone, for the schedplus_build_info metric.
    println!("cargo:rustc-env=SCHEDPLUS_REVISION={rev}");
    println!(
        "cargo:rustc-env=SCHEDPLUS_VERSION={} (git {rev})",
        std::env::var("CARGO_PKG_VERSION").unwrap_or_default()
    );
    // Rebuild when HEAD moves: HEAD itself (branch switches) and the ref it points to.
    // Only files that exist: cargo treats a missing one as changed on every build, which
    // would rebuild the crate each time (packed-refs is absent until git packs refs).
    let watch = |p: String| {
        if std::path::Path::new(&p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    };
    for path in ["HEAD", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            watch(p);
        }
    }
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(p) = git(&["rev-parse", "--git-path", &r]) {
            watch(p);
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
