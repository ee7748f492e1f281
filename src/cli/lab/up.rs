//! `lab up`, `lab status`, `lab down`: the lab's servers as child `schedplus serve`
//! processes, each with its own data directory, `schedplus.toml` and log under the lab
//! directory, and the lab's state file (`lab.json`) that the other commands read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::spec::{LabSpec, ServerSpec, folder};
use crate::app::Error;
use crate::app::ops::{Ctx, ImportRequest, Operation};
use crate::store::{Store, StoreConfig};

/// The lab's state file, in the lab directory.
pub const STATE_FILE: &str = "lab.json";

/// How long a server may take to announce itself and answer /healthz.
const START_WAIT: Duration = Duration::from_secs(60);

/// A running lab, as `lab.json` records it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LabState {
    pub name: String,
    /// The lab.toml it was started from.
    pub file: PathBuf,
    pub dir: PathBuf,
    /// The `lab up` process.
    pub supervisor: u32,
    pub servers: Vec<LabServer>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LabServer {
    pub name: String,
    pub organization: String,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub data_dir: PathBuf,
    pub pid: u32,
    pub role: String,
    /// `EX:/o=Org/ou=AG` of each replica held.
    pub replicas: Vec<String>,
}

impl LabState {
    /// The state of the lab in `dir`, or (without one) of the one `lab-*` directory here.
    pub fn find(dir: Option<&Path>) -> Result<LabState, Error> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => {
                let found: Vec<PathBuf> = std::fs::read_dir(".")
                    .map_err(|e| Error::Unavailable(format!("cannot list this directory: {e}")))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("lab-"))
                            && p.join(STATE_FILE).is_file()
                    })
                    .collect();
                match found.as_slice() {
                    [one] => one.clone(),
                    [] => {
                        return Err(Error::NotFound(
                            "no running lab here (`schedplus lab up LAB.toml` writes lab-NAME/lab.json); give --lab DIR".into(),
                        ));
                    }
                    many => {
                        return Err(Error::BadInput(format!(
                            "several labs here ({}); choose one with --lab DIR",
                            many.iter()
                                .map(|p| p.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                }
            }
        };
        let path = dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::NotFound(format!(
                "no running lab in {} ({}: {e})",
                dir.display(),
                path.display()
            ))
        })?;
        serde_json::from_str(&text).map_err(|e| {
            Error::Internal(format!("{} is not a lab state file: {e}", path.display()))
        })
    }

    fn write(&self) -> Result<(), Error> {
        let path = self.dir.join(STATE_FILE);
        let tmp = self.dir.join("lab.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self).expect("serialisable"))
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| Error::Unavailable(format!("cannot write {}: {e}", path.display())))
    }
}

/// One server, planned: where it listens, its files and its settings.
struct Planned {
    spec: ServerSpec,
    url: String,
    port: u16,
    dir: PathBuf,
    /// Its admin groups' folders.
    replicas: Vec<String>,
    calendar_dir: Option<PathBuf>,
}

/// Servers started by this process; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Lab {
    pub state: LabState,
    /// By the index of `state.servers`; `None` once it exited and was reaped.
    children: Vec<Option<Child>>,
}

impl Lab {
    /// Plan, write the files of, and start every server of `spec` in `dir`; wait until each
    /// answers /healthz; write `lab.json`. Nothing is left running on failure.
    pub fn start(spec: LabSpec, dir: &Path) -> Result<Lab, Error> {
        let io = |what: &Path, e: std::io::Error| {
            Error::Unavailable(format!("cannot write {}: {e}", what.display()))
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let dir = std::path::absolute(dir).map_err(|e| io(dir, e))?;
        if let Ok(old) = LabState::find(Some(&dir))
            && old.servers.iter().any(|s| healthy(&s.url))
        {
            return Err(Error::Conflict(format!(
                "the lab in {} is running (`schedplus lab down --lab {}` stops it)",
                dir.display(),
                dir.display()
            )));
        }
        let planned = plan(&spec, &dir)?;
        for p in &planned {
            std::fs::create_dir_all(&p.dir).map_err(|e| io(&p.dir, e))?;
            let _ = std::fs::remove_file(p.dir.join("data").join(crate::server::SERVER_FILE));
            populate(&spec, p)?;
            let config = config_text(&spec, p, &planned);
            let path = p.dir.join("schedplus.toml");
            std::fs::write(&path, config).map_err(|e| io(&path, e))?;
        }
        let mut lab = Lab {
            state: LabState {
                name: spec.name.clone(),
                file: std::path::absolute(&spec.file).unwrap_or_else(|_| spec.file.clone()),
                dir: dir.clone(),
                supervisor: std::process::id(),
                servers: Vec::new(),
            },
            children: Vec::new(),
        };
        for p in &planned {
            let child = spawn(p)?;
            lab.state.servers.push(LabServer {
                name: p.spec.name.clone(),
                organization: p.spec.organization.clone(),
                url: p.url.clone(),
                data_dir: p.dir.join("data"),
                pid: child.id(),
                role: p.spec.role.clone(),
                replicas: p.replicas.clone(),
            });
            lab.children.push(Some(child));
        }
        for (i, p) in planned.iter().enumerate() {
            lab.wait_ready(i, p)?;
        }
        lab.state.write()?;
        Ok(lab)
    }

    fn wait_ready(&mut self, i: usize, p: &Planned) -> Result<(), Error> {
        let started = Instant::now();
        loop {
            let exited = self.children[i]
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                return Err(Error::Unavailable(format!(
                    "server {} exited at start ({status}); its log {}:\n{}",
                    p.spec.name,
                    p.dir.join("serve.log").display(),
                    tail(&p.dir.join("serve.log"))
                )));
            }
            if healthy(&p.url) {
                return Ok(());
            }
            if started.elapsed() > START_WAIT {
                return Err(Error::Unavailable(format!(
                    "server {} did not answer {}/healthz within {} s; its log: {}",
                    p.spec.name,
                    p.url,
                    START_WAIT.as_secs(),
                    p.dir.join("serve.log").display()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stop every server (SIGTERM, then SIGKILL after 15 s) and remove `lab.json`.
    pub fn stop(&mut self) {
        for c in self.children.iter().flatten() {
            terminate(c.id());
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        for c in self.children.iter_mut().flatten() {
            while c.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        self.children.clear();
        let path = self.state.dir.join(STATE_FILE);
        if LabState::find(Some(&self.state.dir)).is_ok_and(|s| s.supervisor == std::process::id()) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// A server that exited on its own (reaped, and no longer stopped by [`Lab::stop`]),
    /// with how.
    fn exited(&mut self) -> Option<String> {
        for (i, slot) in self.children.iter_mut().enumerate() {
            let status = slot.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = status {
                *slot = None;
                return Some(format!("{} {status}", self.state.servers[i].name));
            }
        }
        None
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !self.children.is_empty() {
            self.stop();
        }
    }
}

fn plan(spec: &LabSpec, dir: &Path) -> Result<Vec<Planned>, Error> {
    spec.servers
        .iter()
        .map(|s| {
            let port = if s.port == 0 { free_port()? } else { s.port };
            let sdir = dir.join(&s.name);
            // A front end holds no folder and publishes nothing.
            let cas = s.role == "cas";
            let replicas = if cas {
                Vec::new()
            } else {
                spec.replicas_of(s)
                    .iter()
                    .map(|g| folder(&s.organization, &g.name))
                    .collect()
            };
            let calendar_dir = (!cas).then(|| match &s.calendars {
                Some(c) => spec.resolve(c),
                None => sdir.join("calendars"),
            });
            Ok(Planned {
                spec: s.clone(),
                url: format!("http://127.0.0.1:{port}"),
                port,
                dir: sdir,
                replicas,
                calendar_dir,
            })
        })
        .collect()
}

fn free_port() -> Result<u16, Error> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::Unavailable(format!("no free port on 127.0.0.1: {e}")))
}

/// A generated user: alias, mail, legacyDN.
pub(super) struct LabUser {
    pub alias: String,
    pub mail: String,
    pub legacy_dn: String,
}

/// The users generated for an admin group of `users = N`.
pub(super) fn generated_users(org: &str, group: &str, n: usize) -> Vec<LabUser> {
    let domain: String = org
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    let prefix: String = group
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    (1..=n)
        .map(|i| {
            let alias = format!("{prefix}-u{i:02}");
            LabUser {
                mail: format!("{alias}@{domain}.example"),
                legacy_dn: format!("/o={org}/ou={group}/cn=Recipients/cn={alias}"),
                alias,
            }
        })
        .collect()
}

/// The admin groups another organization's Exchsync link brings into `org` (the link's
/// destination is a server of `org`): their generated users go into `org`'s directory too,
/// as Exchsync's destination knows them: contacts with the source's legacyDN, so a
/// `?Cmd=freebusy` query on the destination finds the folder the link fills.
fn linked_groups<'a>(
    spec: &'a LabSpec,
    org: &'a crate::cli::lab::spec::Organization,
) -> impl Iterator<Item = (&'a String, &'a crate::cli::lab::spec::AdminGroupSpec)> + 'a {
    let org_of = |server: &str| spec.server(server).map(|s| s.organization.as_str());
    spec.links
        .iter()
        .filter(move |l| {
            org_of(&l.to).is_some_and(|o| o.eq_ignore_ascii_case(&org.name))
                && org_of(&l.from).is_some_and(|o| !o.eq_ignore_ascii_case(&org.name))
        })
        .filter_map(move |l| Some((l, spec.organization(org_of(&l.from)?)?)))
        .flat_map(|(l, source)| {
            source
                .admin_groups
                .iter()
                .filter(move |g| {
                    l.folders
                        .iter()
                        .any(|f| f == "*" || f.eq_ignore_ascii_case(&g.name))
                })
                .map(move |g| (&source.name, g))
        })
}

/// The organization's directory into the server's store, and generated calendars into the
/// calendar directory of a home server (the first user of each group gets none: `lab
/// latency` writes that user's calendar over HTTP).
fn populate(spec: &LabSpec, p: &Planned) -> Result<(), Error> {
    let org = spec.organization(&p.spec.organization).expect("checked");
    let store = Store::open(&StoreConfig::new(p.dir.join("data")))?;
    let ctx = Ctx::new(&store);
    let mut csv = String::from("mail,legacyExchangeDN,displayName,mailNickname\n");
    let mut generated = false;
    for (org_name, g) in org
        .admin_groups
        .iter()
        .map(|g| (&org.name, g))
        .chain(linked_groups(spec, org))
    {
        if let Some(n) = g.users {
            generated = true;
            for u in generated_users(org_name, &g.name, n) {
                csv.push_str(&format!(
                    "{},{},{},{}\n",
                    u.mail, u.legacy_dn, u.alias, u.alias
                ));
            }
        }
        if let Some(file) = g.directory.as_ref().filter(|_| org_name == &org.name) {
            let path = spec.resolve(file);
            let bytes = std::fs::read(&path)
                .map_err(|e| Error::BadInput(format!("cannot read {}: {e}", path.display())))?;
            ImportRequest::from_bytes(&bytes, None, path.display().to_string()).run(&ctx)?;
        }
    }
    if generated {
        ImportRequest {
            text: csv,
            source: format!("lab {} users", org.name),
            ..ImportRequest::default()
        }
        .run(&ctx)?;
    }
    drop(ctx);
    drop(store);
    let Some(dir) = p
        .calendar_dir
        .as_ref()
        .filter(|_| p.spec.calendars.is_none())
    else {
        return Ok(());
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Unavailable(format!("cannot write {}: {e}", dir.display())))?;
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    for g in &org.admin_groups {
        let home = spec.home_of(org, g).is_some_and(|h| h.name == p.spec.name);
        let Some(n) = g.users.filter(|_| home) else {
            continue;
        };
        for (i, u) in generated_users(&org.name, &g.name, n)
            .iter()
            .enumerate()
            .skip(1)
        {
            let day = today
                .checked_add(jiff::Span::new().days(1 + (i % 5) as i64))
                .unwrap_or(today);
            let ics = format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//schedplus//lab//EN\r\nBEGIN:VEVENT\r\nUID:lab-{alias}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{d}T090000Z\r\nDTEND:{d}T100000Z\r\nRRULE:FREQ=WEEKLY;COUNT=8\r\nSUMMARY:Lab meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                alias = u.alias,
                d = day.strftime("%Y%m%d"),
            );
            let path = dir.join(format!("{}.ics", u.alias));
            std::fs::write(&path, ics)
                .map_err(|e| Error::Unavailable(format!("cannot write {}: {e}", path.display())))?;
        }
    }
    Ok(())
}

/// The server's `schedplus.toml`. The topology keys (server identity, replicas,
/// replication, Exchsync) are written only when this build has those settings.
fn config_text(spec: &LabSpec, p: &Planned, all: &[Planned]) -> String {
    let mut keys: Vec<(&str, String)> = vec![
        ("listen", format!("127.0.0.1:{}", p.port)),
        ("auth", "none".into()),
        ("metrics", "anonymous".into()),
        ("poll_interval", spec.publish_interval.clone()),
        ("role", p.spec.role.clone()),
    ];
    if let Some(d) = &p.calendar_dir {
        keys.push(("calendar_dir", d.display().to_string()));
    }
    if !p.spec.faults.is_empty() {
        keys.push(("faults", p.spec.faults.join("; ")));
    }
    if let Some(seed) = spec.fault_seed {
        keys.push(("fault_seed", seed.to_string()));
    }
    let org_peers: Vec<&Planned> = all
        .iter()
        .filter(|o| {
            o.spec.name != p.spec.name
                && o.spec
                    .organization
                    .eq_ignore_ascii_case(&p.spec.organization)
        })
        .collect();
    if p.spec.role == "cas" {
        // The front end asks the servers holding each admin group's replica.
        let mut by_group: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for o in all.iter().filter(|o| {
            o.spec
                .organization
                .eq_ignore_ascii_case(&p.spec.organization)
        }) {
            for f in &o.replicas {
                if o.spec.role != "cas" {
                    by_group
                        .entry(f)
                        .or_default()
                        .push(format!("{}/public", o.url));
                }
            }
        }
        let list: Vec<String> = by_group
            .iter()
            .map(|(g, urls)| format!("{g}={}", urls.join(",")))
            .collect();
        keys.push(("cas_servers", list.join(";")));
    }
    let secret = format!("lab-{}-secret", spec.name);
    let topology: Vec<(&str, String)> = vec![
        ("server_name", p.spec.name.clone()),
        ("organization", p.spec.organization.clone()),
        // None listed in lab.toml: empty, which is every folder, those another
        // organization's Exchsync brings included.
        (
            "replicas",
            match p.spec.replicas.is_empty() {
                true => String::new(),
                false => p.replicas.join(";"),
            },
        ),
        (
            "replication_peers",
            org_peers
                .iter()
                .map(|o| format!("{}={}", o.spec.name, o.url))
                .collect::<Vec<_>>()
                .join(";"),
        ),
        ("replication_interval", spec.replication_interval.clone()),
        ("replication_secret", secret.clone()),
        (
            "exchsync_links",
            spec.links
                .iter()
                .filter(|l| l.from.eq_ignore_ascii_case(&p.spec.name))
                .filter_map(|l| {
                    let to = all
                        .iter()
                        .find(|o| o.spec.name.eq_ignore_ascii_case(&l.to))?;
                    let folders = if l.folders.iter().any(|f| f == "*") {
                        "*".to_string()
                    } else {
                        l.folders
                            .iter()
                            .map(|f| folder(&p.spec.organization, f))
                            .collect::<Vec<_>>()
                            .join(",")
                    };
                    Some(format!("{}|{}|{folders}", l.name, to.url))
                })
                .collect::<Vec<_>>()
                .join(";"),
        ),
        ("exchsync_interval", spec.exchsync_interval.clone()),
        ("exchsync_secret", secret),
    ];
    keys.extend(
        topology
            .into_iter()
            .filter(|(k, _)| crate::cli::config::Setting::of(k).is_some()),
    );
    let mut text = format!(
        "# Written by `schedplus lab up` for server {} of lab {}.\n",
        p.spec.name, spec.name
    );
    for (k, v) in keys {
        text.push_str(&format!("{k} = {}\n", toml_string(&v)));
    }
    text
}

/// A TOML basic string (as `config show` writes them: Rust's escapes agree with TOML's
/// for the paths, URLs and rules written here).
fn toml_string(v: &str) -> String {
    format!("{v:?}")
}

fn spawn(p: &Planned) -> Result<Child, Error> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::Internal(format!("cannot find the schedplus binary: {e}")))?;
    let log_path = p.dir.join("serve.log");
    let log = std::fs::File::create(&log_path)
        .map_err(|e| Error::Unavailable(format!("cannot write {}: {e}", log_path.display())))?;
    let mut c = Command::new(exe);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SCHEDPLUS_")) {
        c.env_remove(k);
    }
    c.arg("--config")
        .arg(p.dir.join("schedplus.toml"))
        .arg("--data")
        .arg(p.dir.join("data"))
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe and touches no memory of this process; it
        // asks the kernel to send the child SIGTERM when the thread that started it (this
        // one, the `lab up` process's main thread) ends, so a lab killed outright leaves
        // no server behind.
        unsafe {
            c.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    c.spawn()
        .map_err(|e| Error::Unavailable(format!("cannot start server {}: {e}", p.spec.name)))
}

/// The end of a log, for a server that would not start.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

/// Whether `url`/healthz answers 200 within a second.
pub(super) fn healthy(url: &str) -> bool {
    agent(Duration::from_secs(1))
        .get(format!("{url}/healthz"))
        .call()
        .is_ok_and(|r| r.status() == 200)
}

pub(super) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// SIGTERM to `pid`.
fn terminate(pid: u32) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: kill(2) only sends a signal; it touches no memory of this process.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// Whether `pid` runs (a zombie, ended but not yet reaped by its parent, does not).
fn alive(pid: u32) -> bool {
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next());
        return state.is_some_and(|s| s != "Z" && s != "X");
    }
    if Path::new("/proc/self").exists() {
        return false;
    }
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The table `lab up` and `lab status` print.
fn print_table(state: &LabState, with_health: bool) {
    println!(
        "lab {} ({} server{}) in {}",
        state.name,
        state.servers.len(),
        if state.servers.len() == 1 { "" } else { "s" },
        state.dir.display()
    );
    println!(
        "  {:<8} {:<16} {:<6} {:<24} {:<8} {:<7} replicas",
        "server", "organization", "role", "url", "pid", "health"
    );
    for s in &state.servers {
        let health = if !with_health {
            "-"
        } else if healthy(&s.url) {
            "ok"
        } else {
            "DOWN"
        };
        println!(
            "  {:<8} {:<16} {:<6} {:<24} {:<8} {:<7} {}",
            s.name,
            s.organization,
            s.role,
            s.url,
            s.pid,
            health,
            s.replicas.join(" ")
        );
    }
}

/// `lab up`: start, print, wait for Ctrl-C or SIGTERM (`lab down`), stop.
pub fn up(file: &Path, dir: Option<PathBuf>) -> Result<(), Error> {
    let spec = LabSpec::read(file)?;
    let dir = dir.unwrap_or_else(|| PathBuf::from(format!("./lab-{}", spec.name)));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("no runtime: {e}")))?;
    // Registered before the servers start, so a Ctrl-C during the start stops them too.
    let (mut int, mut term) = rt
        .block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            ))
        })
        .map_err(|e| Error::Internal(format!("cannot catch signals: {e}")))?;
    let mut lab = Lab::start(spec, &dir)?;
    print_table(&lab.state, false);
    let first = &lab.state.servers[0];
    println!(
        "\nTry: curl '{}/public/?Cmd=freebusy&start=…&end=…&interval=30&u=SMTP:…'\n     schedplus fault add --lab {} --server {} '503 p=0.5'\nCtrl-C or `schedplus lab down --lab {}` stops the lab.",
        first.url,
        lab.state.dir.display(),
        first.name,
        lab.state.dir.display()
    );
    let why = rt.block_on(async {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = int.recv() => return "interrupted".to_string(),
                _ = term.recv() => return "asked to stop".to_string(),
                _ = tick.tick() => {
                    if let Some(gone) = lab.exited() {
                        eprintln!("schedplus lab: server {gone}; the others keep running");
                    }
                }
            }
        }
    });
    println!("lab {}: {why}; stopping its servers", lab.state.name);
    lab.stop();
    Ok(())
}

/// `lab status`: the table with each server's /healthz; exit 1 if one is down.
pub fn status(state: &LabState) -> Result<(), Error> {
    print_table(state, true);
    let down: Vec<&str> = state
        .servers
        .iter()
        .filter(|s| !healthy(&s.url))
        .map(|s| s.name.as_str())
        .collect();
    if down.is_empty() {
        Ok(())
    } else {
        Err(Error::Unavailable(format!(
            "lab {}: {} not answering",
            state.name,
            down.join(", ")
        )))
    }
}

/// `lab down`: SIGTERM to `lab up` and to every server, then wait for them to go.
pub fn down(state: &LabState) -> Result<(), Error> {
    // Only processes that are still schedplus: a stale lab.json must not signal whatever
    // process took a number over since.
    let ours = |pid: u32| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map_or(true, |c| String::from_utf8_lossy(&c).contains("schedplus"))
    };
    for pid in std::iter::once(state.supervisor).chain(state.servers.iter().map(|s| s.pid)) {
        if ours(pid) {
            terminate(pid);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut left: Vec<&LabServer> = state.servers.iter().collect();
    while Instant::now() < deadline {
        left.retain(|s| alive(s.pid) || healthy(&s.url));
        if left.is_empty() && !alive(state.supervisor) {
            let _ = std::fs::remove_file(state.dir.join(STATE_FILE));
            println!("lab {}: stopped", state.name);
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(Error::Unavailable(format!(
        "lab {}: still running after 20 s: {}",
        state.name,
        left.iter()
            .map(|s| format!("{} (pid {})", s.name, s.pid))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each server's schedplus.toml holds only settings this build has (so `serve` takes
    /// it), the topology's among them exactly when the build has them.
    #[test]
    fn every_key_written_is_a_setting_of_this_build() {
        let labs = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/labs");
        for fixture in ["single-server", "server-per-site", "multi-forest"] {
            let spec = LabSpec::read(&labs.join(format!("{fixture}.toml"))).unwrap();
            let planned = plan(&spec, Path::new("/nonexistent/lab")).unwrap();
            for p in &planned {
                let text = config_text(&spec, p, &planned);
                let path = Path::new("schedplus.toml");
                let resolved =
                    crate::cli::config::resolve(&BTreeMap::new(), |_| None, Some((path, &text)))
                        .unwrap_or_else(|e| panic!("{fixture} {}: {e}\n{text}", p.spec.name));
                let from_file = |k: &str| {
                    matches!(
                        resolved.source(k),
                        Some(crate::cli::config::Source::File { .. })
                    )
                };
                assert!(from_file("poll_interval") && from_file("listen"), "{text}");
                let topology = crate::cli::config::Setting::of("replicas").is_some();
                assert_eq!(topology, text.contains("\nreplicas = "), "{text}");
                assert_eq!(p.spec.role == "cas", from_file("cas_servers"), "{text}");
            }
        }
    }

    /// Issue 15 item 7: a `cas` server of a lab asks, for each admin group, every
    /// free/busy server of its organization holding that group's folder (so it fails over
    /// between replicas), and no CAS.
    #[test]
    fn a_lab_cas_asks_every_server_holding_each_admin_group() {
        let labs = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/labs");
        let spec = LabSpec::read(&labs.join("server-per-site.toml")).unwrap();
        let planned = plan(&spec, Path::new("/nonexistent/lab")).unwrap();
        let cas = planned
            .iter()
            .find(|p| p.spec.role == "cas")
            .expect("server-per-site has a CAS");
        let text = config_text(&spec, cas, &planned);
        let resolved = crate::cli::config::resolve(
            &BTreeMap::new(),
            |_| None,
            Some((Path::new("schedplus.toml"), &text)),
        )
        .unwrap();
        let written: String = resolved.get("cas_servers").unwrap().unwrap();
        let listed = crate::app::availability::servers::parse_servers(&written).unwrap();
        let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for p in planned
            .iter()
            .filter(|p| p.spec.role != "cas" && p.spec.organization == cas.spec.organization)
        {
            for f in &p.replicas {
                want.entry(f.to_ascii_lowercase())
                    .or_default()
                    .push(format!("{}/public", p.url));
            }
        }
        let got: BTreeMap<String, Vec<String>> = listed
            .into_iter()
            .map(|(g, urls)| (g.as_str().to_ascii_lowercase(), urls))
            .collect();
        assert!(!got.is_empty(), "{text}");
        assert_eq!(got, want, "{text}");
    }
}
