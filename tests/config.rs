//! Configuration: precedence (flag > SCHEDPLUS_* > file > default), `config show`, and errors
//! that name the key and the line, through the real binary.

use std::process::Command;

use crate::common::{bin, stderr, stderr_says, stdout};

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

/// The entries of `help` under `heading:`, up to the next heading.
fn section<'a>(help: &'a str, heading: &str) -> &'a str {
    let at = help
        .find(&format!("\n{heading}:\n"))
        .unwrap_or_else(|| panic!("no {heading}: in\n{help}"));
    let rest = &help[at + heading.len() + 3..];
    let end = rest.find("\n\n").unwrap_or(rest.len());
    &rest[..end]
}

/// Every setting is a flag, built from its row: `serve` flags under their row's heading
/// with its value name, variable and default; global ones before any command.
#[test]
fn every_setting_is_a_flag_under_its_heading() {
    use schedplus::cli::config::{Group, Kind, SETTINGS};
    let serve = stdout(&schedplus(&["serve", "--help"], &[]));
    let top = stdout(&schedplus(&["-h"], &[]));
    for s in SETTINGS {
        let (text, where_) = match s.group.heading() {
            Some(h) => (section(&serve, h), format!("serve --help, {h}")),
            None => (section(&top, "Options"), "--help".to_string()),
        };
        let entry = if s.kind == Kind::Bool {
            format!("{} ", s.flag())
        } else {
            format!("{} <{}>", s.flag(), s.value_name)
        };
        let at = text
            .find(&entry)
            .unwrap_or_else(|| panic!("no {entry} in {where_}:\n{text}"));
        let rest = &text[at..];
        let tail = format!(
            "[env: {}{}]",
            s.env,
            s.default
                .map(|d| format!("; default: {d}"))
                .unwrap_or_default()
        );
        let next = rest[1..].find("\n      --").map_or(rest.len(), |i| i + 1);
        assert!(
            rest[..next].contains(&tail),
            "{entry} in {where_} lacks {tail}:\n{}",
            &rest[..next]
        );
        if s.group == Group::Global {
            assert!(
                serve.contains(&entry),
                "global {entry} also in serve --help"
            );
        }
    }
}

/// `cleanfreebusy` and `updatefb` override three serve settings for one run; their flags
/// carry the setting's own help and value name, from its row.
#[test]
fn republish_overrides_take_their_help_from_the_serve_settings() {
    use schedplus::cli::config::Setting;
    for cmd in ["cleanfreebusy", "updatefb"] {
        let help = stdout(&schedplus(&[cmd, "--help"], &[]));
        for key in ["publish_months", "publisher_style", "default_tz"] {
            let s = Setting::of(key).unwrap();
            let entry = format!("{} <{}>", s.flag(), s.value_name);
            let at = help
                .find(&entry)
                .unwrap_or_else(|| panic!("no {entry} in {cmd} --help:\n{help}"));
            assert!(
                help[at..].contains(&s.short_help()),
                "{cmd} {entry}: not the setting's help:\n{help}"
            );
        }
    }
}

/// Issue 17 item 5: `config show` against a data directory a live server holds prints
/// that server's settings and where each came from (its flags, variables and file, not
/// this command's), saying whose they are; once the server is gone, the local ones.
#[test]
fn config_show_prints_the_running_servers_settings() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("schedplus.toml");
    std::fs::write(&file, "max_users = 5\n").unwrap();
    let f = file.to_str().unwrap();
    let d = data.to_str().unwrap();
    let server = crate::common::ServeProcess::spawn(
        &data,
        &["--config", f, "--data", d],
        &["--listen", "127.0.0.1:0", "--max-slots", "77"],
        &[("SCHEDPLUS_MAX_DIGITS", "88")],
    );
    let pid = server.child.id();
    let addr = server.base.trim_start_matches("http://").to_string();
    let mine = [("SCHEDPLUS_MAX_SLOTS", "1")];
    let o = schedplus(&["--data", d, "config", "show"], &mine);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.starts_with(&format!(
            "# the running server's settings (schedplus serve, pid {pid}, listening on {addr}"
        )),
        "{out}"
    );
    let slots = show_line(&out, "max_slots");
    assert!(
        slots.starts_with("max_slots = 77 ") && slots.contains("# flag;"),
        "{out}"
    );
    let digits = show_line(&out, "max_digits");
    assert!(digits.starts_with("max_digits = 88 "), "{out}");
    assert!(
        digits.contains("# environment SCHEDPLUS_MAX_DIGITS;"),
        "{out}"
    );
    let users = show_line(&out, "max_users");
    assert!(users.starts_with("max_users = 5 "), "{out}");
    assert!(users.contains(&format!("# {f} line 1;")), "{out}");
    assert!(
        show_line(&out, "max_headers").contains("# default;"),
        "{out}"
    );

    // The server is killed: its server.json stays behind, but nobody answers there.
    drop(server);
    assert!(data.join("server.json").exists());
    let o = schedplus(&["--data", d, "config", "show"], &mine);
    let out = stdout(&o);
    assert!(!out.contains("# the running server's settings"), "{out}");
    assert!(
        show_line(&out, "max_slots").contains("environment SCHEDPLUS_MAX_SLOTS"),
        "{out}"
    );
}

#[test]
fn serve_takes_every_limit_as_a_flag() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // Refused as a value, not as an unknown flag: the flag reached the settings.
    let o = schedplus(&["--data", data, "serve", "--max-connections", "0"], &[]);
    assert!(!o.status.success());
    stderr_says(
        &o,
        "max_connections = '0' (from the --max-connections flag)",
    );
    let o = schedplus(&["--data", data, "serve", "--send-timeout", "soon"], &[]);
    stderr_says(&o, "send_timeout = 'soon' (from the --send-timeout flag)");
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
    stderr_says(&o, "listen = 'local:host' (from the --listen flag)");
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
