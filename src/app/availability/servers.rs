//! Where the free/busy of an admin group is asked for: a plain list of public-folder server
//! URLs per admin group (`--cas-servers`), until the topology work gives the front end a
//! directory of servers.
//!
//! The written form, one admin group per `;`, its URLs after the last `=` that starts a
//! URL, separated by `,`:
//!
//! ```text
//! EX:/o=First Organization/ou=First Administrative Group=http://127.0.0.1:8081/public,http://127.0.0.1:8082/public;EX:/o=CompanyABC/ou=Paris=http://127.0.0.1:8083
//! ```
//!
//! A URL without a path gets `/public`. Only `http://`: the CAS never asked over HTTPS
//! (PROTOCOL.md §3). An admin group that is not listed is answered by this server's own
//! store, so a single `serve` is a front end and a free/busy server in one.

use std::time::Duration;

use crate::protocol::legacy_dn::AdminGroup;

/// The order servers of an admin group are tried in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ServerOrder {
    /// As Exchange: a random order on every request.
    #[default]
    Random,
    /// As listed (labs that want to know which server fails first).
    Listed,
}

/// What one `schedplus serve` process serves (`--role`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Role {
    /// The free/busy store (`/public/`) and the EWS front end, as `serve --demo` runs.
    #[default]
    Both,
    /// The free/busy store alone: `/EWS/` and Autodiscover answer 404.
    Store,
    /// The EWS front end alone (an Exchange 2007 CAS): `/public/` answers 404, and an
    /// admin group with no servers listed has none (event 4004 at once).
    Cas,
}

impl std::str::FromStr for ServerOrder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        one_of(
            s,
            "an order",
            &[("random", Self::Random), ("listed", Self::Listed)],
        )
    }
}

/// The value `s` names (any case, spaces around ignored) among `words`, or a sentence
/// naming `what` it is not and the words it could be.
fn one_of<T: Copy>(s: &str, what: &str, words: &[(&str, T)]) -> Result<T, String> {
    let wanted = s.trim();
    words
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(wanted))
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = words.iter().map(|(w, _)| *w).collect();
            let (last, rest) = names.split_last().expect("a list of words");
            format!("'{s}' is not {what}: write {} or {last}", rest.join(", "))
        })
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let words = [
            ("both", Self::Both),
            ("store", Self::Store),
            ("cas", Self::Cas),
        ];
        one_of(s, "a role", &words)
    }
}

/// The account the front end signs in with at the public-folder servers
/// (`--cas-service-user`, `--cas-service-password`): sent as HTTP Basic on every
/// `?Cmd=freebusy` request, as a CAS's machine account reached a public folder server that
/// refused anonymous reads. The password is never printed: `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    pub user: String,
    password: String,
}

impl ServiceAccount {
    /// A Basic user name cannot hold `:`, and neither part a control character (they would
    /// end the header).
    pub fn new(user: &str, password: &str) -> Result<ServiceAccount, String> {
        if user.is_empty() || user.contains(':') || user.chars().any(char::is_control) {
            return Err(
                "a service account's user name is not empty and holds no ':' or control character"
                    .into(),
            );
        }
        if password.chars().any(char::is_control) {
            return Err("the service account's password holds a control character".into());
        }
        Ok(ServiceAccount {
            user: user.to_string(),
            password: password.to_string(),
        })
    }

    /// The `Authorization` header's value.
    pub fn authorization(&self) -> String {
        use base64::Engine as _;
        let pair = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServiceAccount({}, password hidden)", self.user)
    }
}

/// The front end's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CasSettings {
    /// Admin group → base URLs (`http://host:port/public`).
    pub servers: Vec<(AdminGroup, Vec<String>)>,
    /// Time one `?Cmd=freebusy` request may take, connect to last byte.
    pub timeout: Duration,
    /// Servers of one admin group tried before giving up on it (event 4004).
    pub max_tries: usize,
    pub order: ServerOrder,
    pub role: Role,
    /// Sent on every request to a public-folder server; anonymous without it.
    pub service_account: Option<ServiceAccount>,
}

impl Default for CasSettings {
    fn default() -> Self {
        CasSettings {
            servers: Vec::new(),
            timeout: Duration::from_secs(10),
            max_tries: 10,
            order: ServerOrder::Random,
            role: Role::Both,
            service_account: None,
        }
    }
}

impl CasSettings {
    /// The URLs configured for `ag`, or `None`: answered from this server's store. With
    /// `--role cas` there is no store to answer from: an admin group not listed has no
    /// servers.
    pub fn servers_for(&self, ag: &AdminGroup) -> Option<&[String]> {
        let listed = self
            .servers
            .iter()
            .find(|(g, _)| g == ag)
            .map(|(_, urls)| urls.as_slice());
        match (listed, self.role) {
            (None, Role::Cas) => Some(&[]),
            (l, _) => l,
        }
    }

    /// Every URL configured for an admin group of `ag`'s organisation (the last attempt
    /// after event 4004 goes to one of these).
    pub fn organisation_servers(&self, ag: &AdminGroup) -> Vec<&str> {
        let org = organisation(ag);
        let mut all: Vec<&str> = Vec::new();
        for (g, urls) in &self.servers {
            if organisation(g) == org {
                for u in urls {
                    if !all.contains(&u.as_str()) {
                        all.push(u);
                    }
                }
            }
        }
        all
    }
}

/// `EX:/o=Org/ou=AG` → `/o=org` (case-folded), the organisation part.
pub fn organisation(ag: &AdminGroup) -> String {
    let s = ag.as_str().to_ascii_lowercase();
    let s = s.strip_prefix("ex:").unwrap_or(&s).to_string();
    match s.find("/ou=") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Parse the written form (see the module's documentation).
pub fn parse_servers(text: &str) -> Result<Vec<(AdminGroup, Vec<String>)>, String> {
    let mut out: Vec<(AdminGroup, Vec<String>)> = Vec::new();
    for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let at = ["=http://", "=https://", "=HTTP://"]
            .iter()
            .filter_map(|p| entry.find(p))
            .min()
            .ok_or_else(|| {
                format!(
                    "'{entry}' names no server: write EX:/o=Org/ou=Group=http://host:port/public[,http://…]"
                )
            })?;
        let (name, urls) = (&entry[..at], &entry[at + 1..]);
        let ag = AdminGroup::parse(name.trim()).map_err(|e| e.to_string())?;
        let mut list = Vec::new();
        for u in urls.split(',').map(str::trim).filter(|u| !u.is_empty()) {
            list.push(base_url(u)?);
        }
        if let Some((_, existing)) = out.iter_mut().find(|(g, _)| *g == ag) {
            existing.extend(list);
        } else {
            out.push((ag, list));
        }
    }
    Ok(out)
}

/// `http://host:port` or `http://host:port/public[/]` → `http://host:port/public`.
fn base_url(u: &str) -> Result<String, String> {
    let lower = u.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Err(format!(
            "{u}: the CAS asks public-folder servers over plain HTTP; write http://"
        ));
    }
    let Some(rest) = lower.strip_prefix("http://") else {
        return Err(format!("{u} is not an http:// URL"));
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("{u} names no host"));
    }
    let trimmed = u.trim_end_matches('/');
    let path_start = 7 + rest.find('/').unwrap_or(rest.len());
    if path_start >= trimmed.len() {
        Ok(format!("{trimmed}/public"))
    } else {
        Ok(trimmed.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_form_parses() {
        let s = parse_servers(
            "EX:/o=First Organization/ou=First Administrative Group=http://127.0.0.1:8081/public,http://127.0.0.1:8082/ ; EX:/o=CompanyABC/ou=Paris=http://h:1",
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[0].1,
            [
                "http://127.0.0.1:8081/public",
                "http://127.0.0.1:8082/public"
            ]
        );
        assert_eq!(s[1].1, ["http://h:1/public"]);
        let settings = CasSettings {
            servers: s,
            ..Default::default()
        };
        let ag = AdminGroup::parse("EX:/O=companyabc/OU=paris").unwrap();
        assert_eq!(settings.servers_for(&ag).unwrap(), ["http://h:1/public"]);
        let london = AdminGroup::parse("EX:/o=CompanyABC/ou=London").unwrap();
        assert!(settings.servers_for(&london).is_none());
        assert_eq!(
            settings.organisation_servers(&london),
            ["http://h:1/public"]
        );
    }

    #[test]
    fn orders_and_roles_are_words_and_a_bad_one_is_named() {
        assert_eq!(" Listed ".parse::<ServerOrder>(), Ok(ServerOrder::Listed));
        assert_eq!("CAS".parse::<Role>(), Ok(Role::Cas));
        let e = "sometimes".parse::<ServerOrder>().unwrap_err();
        assert_eq!(e, "'sometimes' is not an order: write random or listed");
        let e = "proxy".parse::<Role>().unwrap_err();
        assert_eq!(e, "'proxy' is not a role: write both, store or cas");
    }

    #[test]
    fn a_service_account_signs_in_with_basic_and_hides_its_password() {
        let a = ServiceAccount::new("cas$", "s3cret").unwrap();
        // base64("cas$:s3cret")
        assert_eq!(a.authorization(), "Basic Y2FzJDpzM2NyZXQ=");
        let shown = format!("{a:?}");
        assert!(
            !shown.contains("s3cret") && shown.contains("cas$"),
            "{shown}"
        );
        assert!(ServiceAccount::new("a:b", "x").is_err());
        assert!(ServiceAccount::new("a", "line\nbreak").is_err());
    }

    #[test]
    fn bad_entries_are_named() {
        for (bad, words) in [
            ("EX:/o=A/ou=B", "names no server"),
            ("EX:/o=A/ou=B=https://h/public", "plain HTTP"),
            ("/o=A/ou=B=http://h", "EX:"),
            ("EX:/o=A/ou=B=http:///x", "no host"),
        ] {
            let e = parse_servers(bad).unwrap_err();
            assert!(e.contains(words), "{bad}: {e}");
        }
    }
}
