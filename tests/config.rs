//! Configuration: precedence (flag > SCHEDPLUS_* > file > default), `config show`, and errors
//! that name the key and the line, through the real binary.

use std::process::Command;

use crate::common::bin;

fn schedplus(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(bin());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SCHEDPLUS_")) {
        c.env_remove(k);
    }
    c.args(args).envs(env.iter().copied()).output().unwrap()
}

fn show_line(out: &str, key: &str) -> String {
    out.lines()
        .find(|l| l.starts_with(&format!("{key} =")) || l.starts_with(&format!("# {key} ")))
        .unwrap_or_else(|| panic!("no {key} in:\n{out}"))
        .to_string()
}

#[test]
fn precedence_is_flag_env_file_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("schedplus.toml");
    std::fs::write(
        &file,
        "max_users = 50\nmax_slots = 60\npoll_interval = \"1s\"\ndata = \"/srv/from-file\"\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let o = schedplus(
        &["--config", f, "--data", "/srv/from-flag", "config", "show"],
        &[
            ("SCHEDPLUS_MAX_USERS", "70"),
            ("SCHEDPLUS_DATA", "/srv/from-env"),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        show_line(&out, "data").starts_with("data = \"/srv/from-flag\""),
        "{out}"
    );
    assert!(show_line(&out, "data").contains("# flag"));
    assert!(
        show_line(&out, "max_users").starts_with("max_users = 70"),
        "{out}"
    );
    assert!(show_line(&out, "max_users").contains("environment SCHEDPLUS_MAX_USERS"));
    assert!(
        show_line(&out, "max_slots").contains(&format!("{f} line 2")),
        "{out}"
    );
    assert!(show_line(&out, "max_digits").contains("# default"), "{out}");
    // The config file may also come from SCHEDPLUS_CONFIG.
    let o = schedplus(&["config", "show"], &[("SCHEDPLUS_CONFIG", f)]);
    assert!(
        show_line(&String::from_utf8_lossy(&o.stdout), "max_slots").starts_with("max_slots = 60")
    );
}

#[test]
fn errors_name_the_key_and_where_the_value_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "# lab\nlisten = \"127.0.0.1:1\"\nmax_userz = 3\n").unwrap();
    let o = schedplus(&["--config", file.to_str().unwrap(), "config", "show"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.toml line 3: unknown key 'max_userz'"),
        "{err}"
    );

    std::fs::write(&file, "listen = \"nowhere\"\n").unwrap();
    let data = dir.path().join("data");
    let o = schedplus(
        &[
            "--config",
            file.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "serve",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("listen = 'nowhere' (from"), "{err}");
    assert!(err.contains("bad.toml line 1"), "{err}");

    let o = schedplus(
        &["--data", data.to_str().unwrap(), "serve"],
        &[("SCHEDPLUS_PUBLISH_MONTHS", "40")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("environment SCHEDPLUS_PUBLISH_MONTHS"));

    let o = schedplus(
        &["--config", "/nonexistent/schedplus.toml", "config", "show"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/schedplus.toml"));
}

#[test]
fn serve_takes_its_settings_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("schedplus.toml");
    std::fs::write(
        &file,
        format!(
            "data = \"{}\"\nlisten = \"127.0.0.1:0\"\nmax_users = 1\n",
            data.display()
        ),
    )
    .unwrap();
    let server =
        crate::common::ServeProcess::spawn(&data, &["--config", file.to_str().unwrap()], &[], &[]);
    let base = server.base.clone();
    let q = "/public/?Cmd=freebusy&start=2026-01-05T00:00:00Z&end=2026-01-06T00:00:00Z";
    let one = crate::common::http(&base, "GET", &format!("{q}&u=a"), &[], None);
    let two = crate::common::http(&base, "GET", &format!("{q}&u=a&u=b"), &[], None);
    drop(server);
    assert_eq!(one.status, 200);
    assert_eq!(
        two.status,
        400,
        "max_users = 1 from the file: {}",
        two.text()
    );
}

#[test]
fn limits_from_the_environment_reach_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = crate::common::ServeProcess::spawn(
        &data,
        &["--data", data.to_str().unwrap()],
        &["--listen", "127.0.0.1:0"],
        &[
            ("SCHEDPLUS_MAX_BODY", "100"),
            ("SCHEDPLUS_MAX_XML_DEPTH", "3"),
        ],
    );
    let base = server.base.clone();
    let big = format!(
        "<?xml version=\"1.0\"?><propfind xmlns=\"DAV:\"><allprop/></propfind>{}",
        " ".repeat(200)
    );
    let r_big = crate::common::http(
        &base,
        "PROPFIND",
        "/public/",
        &[("Depth", "0")],
        Some(big.as_bytes()),
    );
    let deep = b"<a:propfind xmlns:a=\"DAV:\"><a:prop><a:x><a:y/></a:x></a:prop></a:propfind>";
    let r_deep = crate::common::http(&base, "PROPFIND", "/public/", &[("Depth", "0")], Some(deep));
    drop(server);
    assert_eq!(r_big.status, 413, "{}", r_big.text());
    assert_eq!(r_deep.status, 400, "{}", r_deep.text());
}

#[test]
fn the_metrics_setting_is_read_from_flag_env_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("schedplus.toml");
    std::fs::write(&file, "metrics = \"anonymous\"\n").unwrap();
    let f = file.to_str().unwrap();
    let o = schedplus(&["--config", f, "config", "show"], &[]);
    assert!(show_line(&String::from_utf8_lossy(&o.stdout), "metrics").contains("anonymous"));
    let o = schedplus(&["config", "show"], &[("SCHEDPLUS_METRICS", "anonymous")]);
    assert!(show_line(&String::from_utf8_lossy(&o.stdout), "metrics").contains("anonymous"));
    let o = schedplus(&["config", "show"], &[]);
    assert!(show_line(&String::from_utf8_lossy(&o.stdout), "metrics").contains("read"));
    let o = schedplus(&["--config", f, "serve", "--metrics", "everyone"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("metrics") && err.contains("everyone"), "{err}");
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A docs/limits.md default ("1 MiB", "100,000", "30 s") in the units SETTINGS writes.
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

#[test]
fn every_setting_is_a_serve_flag_and_the_limits_doc_agrees() {
    let help = stdout(&schedplus(&["serve", "--help"], &[]));
    let show = stdout(&schedplus(&["config", "show"], &[]));
    let keys: Vec<&str> = show
        .lines()
        .filter_map(|l| l.trim_start_matches("# ").split([' ', '=']).next())
        .filter(|k| !k.is_empty())
        .collect();
    assert!(keys.contains(&"max_connections"), "{show}");
    let global = ["data", "now", "log_format"];
    for key in keys.iter().filter(|k| !global.contains(k)) {
        let flag = format!("--{} ", key.replace('_', "-"));
        assert!(help.contains(&flag), "no {flag} in serve --help:\n{help}");
    }
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/limits.md")).unwrap();
    let table = &doc[doc.find("## Configurable").unwrap()..doc.find("## Fixed").unwrap()];
    let mut rows = 0;
    for row in table.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let Some(key) = cells
            .get(2)
            .and_then(|c| c.strip_prefix('`')?.strip_suffix('`'))
        else {
            continue;
        };
        rows += 1;
        assert!(
            keys.contains(&key),
            "docs/limits.md names '{key}', not a setting"
        );
        let line = show_line(&show, key);
        let value = line
            .split(" # ")
            .next()
            .unwrap()
            .trim()
            .trim_start_matches(&format!("{key} = "))
            .trim_matches('"')
            .to_string();
        assert_eq!(
            doc_default(cells[1]),
            value,
            "docs/limits.md default of {key}"
        );
    }
    assert!(rows >= 20, "{rows} rows with a key in docs/limits.md");
}

#[test]
fn serve_takes_every_limit_as_a_flag() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // Refused as a value, not as an unknown flag: the flag reached the settings.
    let o = schedplus(&["--data", data, "serve", "--max-connections", "0"], &[]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("max_connections = '0' (from the --max-connections flag)"),
        "{}",
        stderr(&o)
    );
    let o = schedplus(&["--data", data, "serve", "--send-timeout", "soon"], &[]);
    assert!(
        stderr(&o).contains("send_timeout = 'soon' (from the --send-timeout flag)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn listen_takes_a_bare_port_and_a_host_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // --listen is checked before --publish-months: an error about the months means the
    // address was accepted (and nothing was started).
    for listen in ["8080", "localhost:8080"] {
        let o = schedplus(
            &[
                "--data",
                data,
                "serve",
                "--listen",
                listen,
                "--publish-months",
                "99",
            ],
            &[],
        );
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains("publish_months = '99'"),
            "{listen}: {}",
            stderr(&o)
        );
    }
    let o = schedplus(&["--data", data, "serve", "--listen", "local:host"], &[]);
    assert!(
        stderr(&o).contains("listen = 'local:host' (from the --listen flag)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn help_groups_serve_options_and_explains_every_flag() {
    let help = stdout(&schedplus(&["serve", "--help"], &[]));
    let headings: Vec<&str> = help
        .lines()
        .filter(|l| l.ends_with(':') && !l.starts_with(' '))
        .collect();
    assert_eq!(
        headings,
        [
            "Options:",
            "Network:",
            "Store:",
            "Publishing:",
            "Sign-in:",
            "Limits:"
        ],
        "{help}"
    );
    assert!(!help.contains("SCHEDPLUS_CONFIG="), "{help}");
    let cleanup = help.lines().find(|l| l.contains("--cleanup-at")).unwrap();
    assert!(cleanup.contains("--default-tz zone"), "{cleanup}");
    let show = stdout(&schedplus(&["config", "show"], &[]));
    assert!(
        show_line(&show, "cleanup_at").contains("default_tz zone"),
        "{show}"
    );

    let fb = stdout(&schedplus(&["fb", "set", "--help"], &[]));
    for (flag, next) in [
        ("--busy", "--tentative"),
        ("--tentative", "--oof"),
        ("--oof", "--months"),
    ] {
        let at = fb.find(&format!("{flag} <")).unwrap();
        let entry = &fb[at..at + fb[at..].find(&format!("{next} <")).unwrap()];
        assert!(
            entry.contains("span, START/END"),
            "{flag} has no help: {entry}"
        );
    }

    let bash = stdout(&schedplus(&["completions", "bash"], &[]));
    let at = bash.find("--auth)").expect("--auth in the bash completion");
    let case = &bash[at..at + bash[at..].find(";;").unwrap()];
    assert!(case.contains("compgen -W \"none basic\""), "{case}");
}
