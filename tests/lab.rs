//! `schedplus lab` (issue 14 item 4): a lab.toml starts real servers on loopback that
//! answer /healthz and `?Cmd=freebusy`; `lab status` sees them, `fault --server NAME`
//! reaches one by its name, `lab down` stops them all. Every lab here is stopped when its
//! guard drops, a failed assertion included, so no server outlives the test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{bin, http, stderr, stdout};
use schedplus::cli::lab::{LabSpec, LabState};

/// A `schedplus lab up` process: `lab down`, then killed, when dropped.
struct LabUp {
    child: Child,
    dir: PathBuf,
}

impl LabUp {
    fn start(file: &Path, dir: &Path) -> LabUp {
        let child = Command::new(bin())
            .args(["lab", "up"])
            .arg(file)
            .arg("--dir")
            .arg(dir)
            .env_remove("SCHEDPLUS_LAB")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut up = LabUp {
            child,
            dir: dir.to_path_buf(),
        };
        let t = Instant::now();
        while !dir.join("lab.json").exists() {
            if let Ok(Some(status)) = up.child.try_wait() {
                let out = std::mem::replace(&mut up.child, Command::new("true").spawn().unwrap())
                    .wait_with_output()
                    .unwrap();
                panic!("lab up exited {status}: {}", stderr(&out));
            }
            assert!(
                t.elapsed() < Duration::from_secs(90),
                "the lab never started"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        up
    }

    fn state(&self) -> LabState {
        LabState::find(Some(&self.dir)).unwrap()
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(bin())
            .args(args)
            .arg("--lab")
            .arg(&self.dir)
            .output()
            .unwrap()
    }
}

impl Drop for LabUp {
    fn drop(&mut self) {
        if self.dir.join("lab.json").exists() {
            let _ = self.cli(&["lab", "down"]);
        }
        // The servers die with `lab up` (PR_SET_PDEATHSIG), even if `lab down` failed.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const LAB: &str = r#"
name = "tiny"
publish_interval = "1s"
replication_interval = "2s"
exchsync_interval = "3s"

[[organization]]
name = "Contoso"
admin_groups = [{ name = "Site1", users = 3, home = "FB01" }, { name = "Site2", users = 2, home = "FB02" }]

[[server]]
name = "FB01"
organization = "Contoso"

[[server]]
name = "FB02"
organization = "Contoso"
faults = ["503 count=1 path=/public/?Cmd=freebusy"]
"#;

fn query(user: &str) -> String {
    let day = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    format!(
        "/public/?Cmd=freebusy&start={day}T00:00:00Z&end={}T00:00:00Z&interval=60&u=SMTP:{user}",
        day.checked_add(jiff::Span::new().days(8)).unwrap()
    )
}

#[test]
fn lab_up_status_fault_and_down() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("lab.toml");
    std::fs::write(&file, LAB).unwrap();
    let dir = tmp.path().join("lab-tiny");
    let mut lab = LabUp::start(&file, &dir);
    let state = lab.state();
    let names: Vec<&str> = state.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["FB01", "FB02"]);
    for s in &state.servers {
        assert_eq!(http(&s.url, "GET", "/healthz", &[], None).status, 200);
        let config = std::fs::read_to_string(dir.join(&s.name).join("schedplus.toml")).unwrap();
        assert!(config.contains("poll_interval = \"1s\""), "{config}");
    }
    let fb01 = &state.servers[0].url;
    let fb02 = &state.servers[1].url;
    // FB01 is Site1's home: its users' generated calendars are published there.
    let r = http(fb01, "GET", &query("site1-u02@contoso.example"), &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    let digits = crate::common::fbdata(&r.text()).pop().unwrap();
    assert!(
        digits.contains('2'),
        "a generated meeting is busy: {digits}"
    );
    // FB02's fault from lab.toml answers its first query, then it serves.
    assert_eq!(
        http(fb02, "GET", &query("site2-u02@contoso.example"), &[], None).status,
        503
    );
    assert_eq!(
        http(fb02, "GET", &query("site2-u02@contoso.example"), &[], None).status,
        200
    );

    let out = lab.cli(&["lab", "status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for s in &state.servers {
        assert!(
            text.lines()
                .any(|l| l.contains(&s.name) && l.contains(&s.url) && l.contains(" ok ")),
            "{text}"
        );
    }
    // A server by its lab name.
    let rule = "500 count=1 method=GET path=/public/";
    let out = lab.cli(&["fault", "add", "--server", "fb01", rule]);
    let said = stdout(&out);
    assert!(
        said.starts_with("fb01: 1 fault rule"),
        "{said}{}",
        stderr(&out)
    );
    assert_eq!(
        http(fb01, "GET", &query("site1-u02@contoso.example"), &[], None).status,
        500
    );
    let out = lab.cli(&["fault", "list", "--server", "FB09"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("has no server FB09"),
        "{}",
        stderr(&out)
    );

    let out = lab.cli(&["lab", "down"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let t = Instant::now();
    let status = loop {
        if let Some(status) = lab.child.try_wait().unwrap() {
            break status;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "lab up did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "lab up ends cleanly on lab down: {status}"
    );
    assert!(!dir.join("lab.json").exists());
    for s in &state.servers {
        assert!(
            !std::path::Path::new(&format!("/proc/{}", s.pid)).exists()
                || std::fs::read_to_string(format!("/proc/{}/stat", s.pid))
                    .is_ok_and(|t| t.contains(") Z")),
            "server {} (pid {}) is gone",
            s.name,
            s.pid
        );
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(2)))
            .build()
            .into();
        assert!(agent.get(format!("{}/healthz", s.url)).call().is_err());
    }
    let out = lab.cli(&["lab", "status"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "no lab any more: {}",
        stderr(&out)
    );
}

/// Whether no process `pid` runs any more (a zombie waiting for its parent counts as gone).
fn gone(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |t| {
        t.rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
    })
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < Duration::from_secs(30), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A directory file and a calendar directory of one's own; Ctrl-C (SIGINT to `lab up`)
/// stops every server, and a `lab up` killed outright takes its servers with it.
#[test]
fn own_directory_and_calendars_and_ctrl_c() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("hq.csv"),
        "mail,legacyExchangeDN,displayName,mailNickname\nann@fabrikam.example,/o=Fabrikam/ou=HQ/cn=Recipients/cn=ann,Ann,ann\n",
    )
    .unwrap();
    std::fs::create_dir(tmp.path().join("cal")).unwrap();
    let day = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let ics = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{d}T090000Z\r\nDTEND:{d}T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        d = day
            .checked_add(jiff::Span::new().days(1))
            .unwrap()
            .strftime("%Y%m%d")
    );
    std::fs::write(tmp.path().join("cal/ann.ics"), ics).unwrap();
    let file = tmp.path().join("lab.toml");
    std::fs::write(
        &file,
        "name = \"own\"\npublish_interval = \"1s\"\n[[organization]]\nname = \"Fabrikam\"\nadmin_groups = [{ name = \"HQ\", directory = \"hq.csv\" }]\n[[server]]\nname = \"FB11\"\norganization = \"Fabrikam\"\ncalendars = \"cal\"\n",
    )
    .unwrap();
    let mut lab = LabUp::start(&file, &tmp.path().join("lab-own"));
    let state = lab.state();
    let r = http(
        &state.servers[0].url,
        "GET",
        &query("ann@fabrikam.example"),
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let digits = crate::common::fbdata(&r.text()).pop().unwrap();
    assert!(
        digits.contains('2'),
        "ann's own calendar file is published: {digits}"
    );

    // SAFETY: kill(2) only sends a signal (Ctrl-C's SIGINT) to the `lab up` child.
    let sent = unsafe { libc::kill(lab.child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    let status = lab.child.wait().unwrap();
    assert!(status.success(), "Ctrl-C ends lab up cleanly: {status}");
    let pid = state.servers[0].pid;
    wait_until("the server stops with lab up", || gone(pid));
    assert!(!lab.dir.join("lab.json").exists());

    // Killed outright: the kernel ends its servers (PR_SET_PDEATHSIG).
    let mut lab = LabUp::start(&file, &tmp.path().join("lab-own"));
    let pid = lab.state().servers[0].pid;
    lab.child.kill().unwrap();
    lab.child.wait().unwrap();
    wait_until("the server dies with a killed lab up", || gone(pid));
}

/// `lab latency` end to end on a one-server lab it starts itself: a table row per way of
/// asking, each change seen. (The slack is generous: this checks the command, not the
/// machine's speed; `scripts/lab-latency.sh` measures.)
#[test]
fn lab_latency_measures_a_one_server_lab() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("one.toml");
    let text = "name = \"one\"\npublish_interval = \"1s\"\n[[organization]]\nname = \"Contoso\"\nadmin_groups = [{ name = \"Site1\", users = 2 }]\n[[server]]\nname = \"FB01\"\norganization = \"Contoso\"\n";
    std::fs::write(&file, text).unwrap();
    let dir = tmp.path().join("lab-one");
    let out = Command::new(bin())
        .args(["lab", "latency"])
        .arg(&file)
        .args(["--samples", "2", "--slack", "60s", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    for way in ["FB01 ?Cmd=freebusy", "FB01 EWS"] {
        assert!(
            text.lines().any(|l| l.contains(way)
                && l.contains("P = 1.0 s")
                && l.trim_end().ends_with("2  ok")),
            "{text}"
        );
    }
    // The lab it started is stopped again.
    assert!(!dir.join("lab.json").exists());
}

#[test]
fn lab_toml_errors_name_the_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |text: &str| {
        let file = tmp.path().join("bad.toml");
        std::fs::write(&file, text).unwrap();
        LabSpec::read(&file).unwrap_err().to_string()
    };
    let e = write(&format!("{LAB}\nsurprise = 1\n"));
    assert!(e.contains("bad.toml line"), "{e}");
    assert!(e.contains("surprise"), "{e}");
    let e = write(&LAB.replace(
        "organization = \"Contoso\"\nfaults",
        "organization = \"Fabrikam\"\nfaults",
    ));
    assert!(e.contains("bad.toml line 17: server.organization"), "{e}");
    assert!(e.contains("'Fabrikam'"), "{e}");
    let e = write(&LAB.replace("503 count=1", "503 cuont=1"));
    assert!(e.contains("server.faults"), "{e}");
    assert!(e.contains("unknown key 'cuont'"), "{e}");
    let e = write(&LAB.replace("\"1s\"", "\"soon\""));
    assert!(e.contains("bad.toml line 3: publish_interval"), "{e}");
    let e = write(&LAB.replace("home = \"FB02\"", "home = \"FB07\""));
    assert!(e.contains("admin_groups.home"), "{e}");
}

#[test]
fn the_documented_topologies_read() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/labs");
    let mut read = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let spec = LabSpec::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let iv = spec.intervals().unwrap();
        assert!(
            iv.p < Duration::from_secs(60),
            "{}: scaled to seconds",
            path.display()
        );
        read += 1;
    }
    assert_eq!(read, 3, "server per site, single server, multiple forests");
}

/// Issue 14 end to end in a lab: Site1's generated calendars, published on their home FB01,
/// reach FB02 by replication and Fabrikam's FB11 by the Exchsync link (FB01's serve.log has
/// the event-107 line), where `lab up` imported Site1's users as contacts with their
/// Contoso legacyDN so `?Cmd=freebusy` finds them.
#[test]
fn a_lab_replicates_between_servers_and_across_an_exchsync_link() {
    // The tiny lab (Contoso's FB01 and FB02), and Fabrikam's FB11 at the end of a link.
    let two_forests = format!(
        "{LAB}{}",
        r#"
[[organization]]
name = "Fabrikam"
admin_groups = [{ name = "Main", users = 2, home = "FB11" }]

[[server]]
name = "FB11"
organization = "Fabrikam"

[[link]]
name = "Contoso-to-Fabrikam"
from = "FB01"
to = "FB11"
folders = ["Site1"]
"#
    );
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("lab.toml");
    std::fs::write(&file, two_forests).unwrap();
    let dir = tmp.path().join("lab-tiny");
    let lab = LabUp::start(&file, &dir);
    let state = lab.state();
    let url = |name: &str| {
        state
            .servers
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .url
            .clone()
    };
    let busy = |server: &str| {
        let r = http(
            &url(server),
            "GET",
            &query("site1-u02@contoso.example"),
            &[],
            None,
        );
        r.status == 200
            && crate::common::fbdata(&r.text())
                .pop()
                .is_some_and(|d| d.contains('2'))
    };
    // A generous deadline: this waits for an event, it does not time one.
    let eventually = |what: &str, mut done: Box<dyn FnMut() -> bool + '_>| {
        let t = Instant::now();
        while !done() {
            assert!(t.elapsed() < Duration::from_secs(120), "{what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    eventually("FB01 (home) answers busy", Box::new(|| busy("FB01")));
    eventually(
        "FB02 answers busy by replication",
        Box::new(|| busy("FB02")),
    );
    eventually(
        "FB11 answers busy through Exchsync",
        Box::new(|| busy("FB11")),
    );
    let log = dir.join("FB01").join("serve.log");
    eventually(
        "FB01's serve.log has the link's event-107 line with changes",
        Box::new(|| {
            std::fs::read_to_string(&log).unwrap().lines().any(|l| {
                l.contains("event=107")
                    && l.contains("Contoso-to-Fabrikam")
                    && !l.contains("[0 Message Changes")
            })
        }),
    );
}
