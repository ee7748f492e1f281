//! `lab.toml`: a topology in one file (see `fixtures/labs/`). Read with serde; an error
//! names the file, the line and the key.
//!
//! ```toml
//! name = "server-per-site"
//! publish_interval = "2s"        # P: every server's poller interval
//! replication_interval = "3s"    # R
//! exchsync_interval = "5s"       # F
//!
//! [[organization]]
//! name = "Contoso"
//! admin_groups = [{ name = "Site1", users = 5 }, { name = "Site2", directory = "site2.csv" }]
//!
//! [[server]]
//! name = "FB01"
//! organization = "Contoso"
//! replicas = ["Site1"]           # admin groups held; none: every folder (Exchsync's too)
//! port = 0                       # 0: a free port at start
//! role = "both"                  # both, store or cas
//! calendars = "cal/FB01"         # a --calendar-dir; none: generated calendars
//! faults = ["503 p=0.1"]
//!
//! [[link]]                       # Exchsync: one way, from a server to a server of
//! name = "Contoso-Fabrikam"      # another organization
//! from = "FB01"
//! to = "FB03"
//! folders = ["Site1"]            # or ["*"]
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::app::Error;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSpec {
    pub name: String,
    /// P.
    #[serde(default = "default_publish")]
    pub publish_interval: String,
    /// R.
    #[serde(default = "default_replication")]
    pub replication_interval: String,
    /// F.
    #[serde(default = "default_exchsync")]
    pub exchsync_interval: String,
    /// Seed of every server's fault draws.
    #[serde(default)]
    pub fault_seed: Option<u64>,
    #[serde(rename = "organization")]
    pub organizations: Vec<Organization>,
    #[serde(rename = "server")]
    pub servers: Vec<ServerSpec>,
    #[serde(rename = "link", default)]
    pub links: Vec<LinkSpec>,
    /// Where the file is (relative paths in it are relative to its directory).
    #[serde(skip)]
    pub file: PathBuf,
}

fn default_publish() -> String {
    "15m".into()
}
fn default_replication() -> String {
    "15m".into()
}
fn default_exchsync() -> String {
    "30m".into()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    pub name: String,
    pub admin_groups: Vec<AdminGroupSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminGroupSpec {
    pub name: String,
    /// Users generated with names of the group's (`site1-u01`, …).
    #[serde(default)]
    pub users: Option<usize>,
    /// Or a csvde/ldifde directory file of the group's users.
    #[serde(default)]
    pub directory: Option<PathBuf>,
    /// The server the group's users publish to (their site's); default: the first server,
    /// in file order, holding a replica of the group.
    #[serde(default)]
    pub home: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    pub name: String,
    pub organization: String,
    #[serde(default)]
    pub replicas: Vec<String>,
    #[serde(default)]
    pub port: u16,
    #[serde(default = "default_role")]
    pub role: String,
    #[serde(default)]
    pub calendars: Option<PathBuf>,
    #[serde(default)]
    pub faults: Vec<String>,
}

fn default_role() -> String {
    "both".into()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    pub name: String,
    pub from: String,
    pub to: String,
    #[serde(default = "all_folders")]
    pub folders: Vec<String>,
}

fn all_folders() -> Vec<String> {
    vec!["*".into()]
}

/// The lab's intervals, parsed.
#[derive(Clone, Copy, Debug)]
pub struct Intervals {
    pub p: Duration,
    pub r: Duration,
    pub f: Duration,
}

impl LabSpec {
    /// Read and check `path`.
    pub fn read(path: &Path) -> Result<LabSpec, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::BadInput(format!("cannot read {}: {e}", path.display())))?;
        let mut spec: LabSpec = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            let place = line.map_or(String::new(), |l| format!(" line {l}"));
            Error::BadInput(format!(
                "{}{place}: {}",
                path.display(),
                e.message().trim().replace('\n', " ")
            ))
        })?;
        spec.file = path.to_path_buf();
        spec.check(&text)?;
        Ok(spec)
    }

    /// An error about `key`, at the line where `value` is written (or the key is).
    fn fail(&self, text: &str, key: &str, value: &str, why: String) -> Error {
        let needle = if value.is_empty() { key } else { value };
        let line = text
            .lines()
            .position(|l| l.contains(needle))
            .map_or(String::new(), |i| format!(" line {}", i + 1));
        Error::BadInput(format!("{}{line}: {key}: {why}", self.file.display()))
    }

    fn check(&self, text: &str) -> Result<(), Error> {
        match self.problem() {
            Some((key, at, why)) => Err(self.fail(text, key, &at, why)),
            None => Ok(()),
        }
    }

    /// The first thing wrong with the lab: the key, the value to find its line by, and why.
    fn problem(&self) -> Option<(&'static str, String, String)> {
        if let Err((key, why)) = self.intervals() {
            return Some((key, String::new(), why));
        }
        if self.servers.is_empty() {
            let why = "a lab needs at least one [[server]]";
            return Some(("server", String::new(), why.into()));
        }
        for o in &self.organizations {
            if o.admin_groups.is_empty() {
                let why = format!("organization '{}' has no admin group", o.name);
                return Some(("organization.admin_groups", o.name.clone(), why));
            }
            for g in &o.admin_groups {
                if g.users.is_some() == g.directory.is_some() {
                    let why = format!(
                        "admin group '{}' needs either users = N or directory = \"FILE\"",
                        g.name
                    );
                    return Some(("admin_groups.users", g.name.clone(), why));
                }
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for s in &self.servers {
            if !names.insert(s.name.to_ascii_lowercase()) {
                let why = format!("two servers are named '{}'", s.name);
                return Some(("server.name", s.name.clone(), why));
            }
            let Some(org) = self.organization(&s.organization) else {
                let why = format!(
                    "server '{}' names organization '{}', which no [[organization]] declares",
                    s.name, s.organization
                );
                return Some(("server.organization", s.organization.clone(), why));
            };
            if let Some(r) = s.replicas.iter().find(|r| {
                !org.admin_groups
                    .iter()
                    .any(|g| g.name.eq_ignore_ascii_case(r))
            }) {
                let why = format!(
                    "server '{}' holds a replica of '{r}', which is no admin group of '{}'",
                    s.name, org.name
                );
                return Some(("server.replicas", r.clone(), why));
            }
            if !["both", "store", "cas"].contains(&s.role.as_str()) {
                let why = format!("'{}' is not both, store or cas", s.role);
                return Some(("server.role", s.role.clone(), why));
            }
            for f in &s.faults {
                if let Err(e) = f.parse::<crate::protocol::fault_rule::FaultRule>() {
                    return Some(("server.faults", f.clone(), e.to_string()));
                }
            }
        }
        let homeless = self.organizations.iter().find_map(|o| {
            let g = o
                .admin_groups
                .iter()
                .find(|g| self.home_of(o, g).is_none())?;
            Some((o, g))
        });
        if let Some((o, g)) = homeless {
            let named = g
                .home
                .as_ref()
                .map_or(String::new(), |h| format!(" and is named '{h}'"));
            let why = format!(
                "no server of '{}' holds a replica of admin group '{}'{named}",
                o.name, g.name
            );
            let at = g.home.clone().unwrap_or_else(|| g.name.clone());
            return Some(("admin_groups.home", at, why));
        }
        for l in &self.links {
            if let Some(end) = [&l.from, &l.to]
                .into_iter()
                .find(|e| self.server(e).is_none())
            {
                let why = format!(
                    "link '{}' names server '{end}', which no [[server]] declares",
                    l.name
                );
                return Some(("link.from/to", end.clone(), why));
            }
        }
        None
    }

    pub fn intervals(&self) -> Result<Intervals, (&'static str, String)> {
        let parse = |key: &'static str, v: &str| {
            crate::app::poller::parse_interval(v)
                .and_then(|d| {
                    if d.is_zero() {
                        Err("must be longer than 0".into())
                    } else {
                        Ok(d)
                    }
                })
                .map_err(|e| (key, e))
        };
        Ok(Intervals {
            p: parse("publish_interval", &self.publish_interval)?,
            r: parse("replication_interval", &self.replication_interval)?,
            f: parse("exchsync_interval", &self.exchsync_interval)?,
        })
    }

    pub fn organization(&self, name: &str) -> Option<&Organization> {
        self.organizations
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    }

    pub fn server(&self, name: &str) -> Option<&ServerSpec> {
        self.servers
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// A path written in the file, relative to the file's directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        self.file.parent().unwrap_or(Path::new(".")).join(p)
    }

    /// The admin groups `server` holds replicas of (all of its organization's when it
    /// names none).
    pub fn replicas_of<'a>(&'a self, server: &'a ServerSpec) -> Vec<&'a AdminGroupSpec> {
        let org = self.organization(&server.organization).expect("checked");
        org.admin_groups
            .iter()
            .filter(|g| {
                server.replicas.is_empty()
                    || server
                        .replicas
                        .iter()
                        .any(|r| r.eq_ignore_ascii_case(&g.name))
            })
            .collect()
    }

    /// The server a group's users publish to: its `home`, or the first one, in file
    /// order, holding a replica of it.
    pub fn home_of(&self, org: &Organization, group: &AdminGroupSpec) -> Option<&ServerSpec> {
        self.servers.iter().find(|s| {
            s.organization.eq_ignore_ascii_case(&org.name)
                && group
                    .home
                    .as_ref()
                    .is_none_or(|h| h.eq_ignore_ascii_case(&s.name))
                && self.replicas_of(s).iter().any(|g| g.name == group.name)
        })
    }
}

/// `EX:/o=Org/ou=AG`, the folder of an admin group.
pub fn folder(org: &str, group: &str) -> String {
    format!("EX:/o={org}/ou={group}")
}
