//! Distribution groups in a directory export: records whose `objectClass` is `group`, with
//! their `member` values (the distinguished names of users and of other groups), read so
//! that the EWS front end can answer a group as the merged free/busy of its members.
//!
//! ldifde writes one `member:` line per value (`member;range=0-1499:` for a big group: the
//! option is dropped with the others), base64 (`member::`) for a DN that is not ASCII; csvde
//! writes them in one `member` column joined by `;`, the whole field quoted (a `;` inside a
//! DN is escaped `\;` there). A group is keyed by its own DN (`dn:`, csvde's `DN` column): a
//! group without one cannot be named as a member and is skipped like any non-user.
//!
//! Owns [`GroupEntry`], [`ParsedGroups`] (the groups of a file, and the DN of each user a
//! group names, so that members resolve after the import) and [`dn_key`] (the one way two
//! DNs are compared). Pure: no I/O.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{
    DirectoryEntry, LineProblem, RawRecord, Verdict, check_proxy, check_smtp, check_text, shown,
    smtp_addresses,
};
use crate::protocol::legacy_dn::{LegacyDn, fold_key};

/// Member DNs kept per group. A group listing more keeps the first ones and its count: the
/// Availability service expands at most 100 users, so the rest would never be asked.
pub const MAX_KEPT_MEMBERS: usize = 1000;

/// A distribution group: what an export says of it, and what the store keeps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The first [`MAX_KEPT_MEMBERS`] `member` values, as given.
    pub members: Vec<String>,
    /// How many `member` values the export lists.
    pub member_count: usize,
    /// The group's distinguished name, as given.
    pub dn: String,
    pub legacy_dn: Option<LegacyDn>,
    /// Primary SMTP address; empty for a group that is not mail-enabled.
    pub mail: String,
    /// `displayName`, else the value of the DN's first part (`CN=Paris Staff,…`).
    pub display_name: String,
    pub proxy_addresses: Vec<String>,
}

impl Group {
    /// `mail` (when set), then every `smtp:` proxy, without repeats.
    pub fn smtp_addresses(&self) -> Vec<String> {
        let mut all = smtp_addresses(&self.mail, &self.proxy_addresses);
        all.retain(|a| !a.is_empty());
        all
    }

    /// The names the group is asked by: `smtp:` each address, `ex:` its legacyDN (folded).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .smtp_addresses()
            .iter()
            .map(|a| format!("smtp:{}", fold_key(a)))
            .collect();
        names.extend(self.legacy_dn.iter().map(|dn| format!("ex:{}", dn.key())));
        names
    }
}

/// A group and the line its record starts on (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupEntry {
    pub group: Group,
    pub line: usize,
}

/// The groups of a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedGroups {
    pub groups: Vec<GroupEntry>,
    /// `(DN, legacyExchangeDN key)` of each user of the file that a group names as a
    /// member (kept so that a member resolves to its user after the import), once
    /// resolved ([`ParsedGroups::resolve_user`]).
    pub member_users: Vec<(String, String)>,
    /// Members that are users of the file, not yet resolved: the hash of the user's
    /// legacyExchangeDN key → the DNs that name it. A streamed file keeps no user, so the
    /// import resolves them from the users it wrote.
    unresolved: HashMap<u64, Vec<String>>,
    /// While the file is read: every user's DN and legacyExchangeDN key, as 64-bit hashes
    /// (about 20 bytes a user: a million users' DNs would be a hundred megabytes), since a
    /// group may name a user before or after its record.
    user_dns: HashMap<u64, u64>,
}

/// A 64-bit hash of a name (a DN's [`dn_key`], a legacyExchangeDN's key).
fn name_hash(name: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    name.hash(&mut h);
    h.finish()
}

impl ParsedGroups {
    /// Note a user's DN while the file is read (kept only if a group names it).
    pub(super) fn user(&mut self, dn: Option<String>, user: &DirectoryEntry) {
        if let Some(dn) = dn.filter(|d| !d.trim().is_empty()) {
            self.user_dns
                .insert(name_hash(&dn_key(&dn)), name_hash(&user.legacy_dn.key()));
        }
    }

    /// Once every record is read: a group DN given twice, or an address or legacyDN a
    /// group shares with a user or another group, is a problem of the later record;
    /// `user_line` gives the line of the file's user holding a name (`smtp:…`, `ex:…`, as
    /// [`Group::names`] writes them). Users no group names are forgotten.
    pub(super) fn finish(
        &mut self,
        user_line: impl Fn(&str) -> Option<usize>,
        problems: &mut Vec<LineProblem>,
    ) {
        // Names of the groups read so far → line.
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut dns: HashMap<String, usize> = HashMap::new();
        for GroupEntry { group: g, line } in &self.groups {
            let mut reasons = Vec::new();
            if let Some(first) = dns.insert(dn_key(&g.dn), *line) {
                reasons.push(format!(
                    "the group '{}' is already the record on line {first}",
                    shown(&g.dn)
                ));
            }
            for name in g.names() {
                let first = user_line(&name).or_else(|| names.get(&name).copied());
                if let Some(first) = first.filter(|l| l != line) {
                    let (_, value) = name.split_once(':').unwrap_or(("", &name));
                    reasons.push(format!(
                        "the group's address '{}' is already used by the record on line {first}",
                        shown(value)
                    ));
                } else {
                    names.insert(name, *line);
                }
            }
            if !reasons.is_empty() {
                problems.push(LineProblem::new(*line, reasons.join("; ")));
            }
        }
        let user_dns = std::mem::take(&mut self.user_dns);
        let mut kept = HashSet::new();
        for member in self.groups.iter().flat_map(|g| g.group.members.iter()) {
            let hash = name_hash(&dn_key(member));
            if let Some(user) = user_dns.get(&hash) {
                if kept.insert(hash) {
                    self.unresolved
                        .entry(*user)
                        .or_default()
                        .push(member.clone());
                }
            }
        }
    }

    /// Are members left that only the file's users can resolve?
    pub fn wants_users(&self) -> bool {
        !self.unresolved.is_empty()
    }

    /// A user of the file, by its legacyExchangeDN key: the members that name it are
    /// resolved to it.
    pub fn resolve_user(&mut self, key: &str) {
        if let Some(dns) = self.unresolved.remove(&name_hash(key)) {
            for dn in dns {
                self.member_users.push((dn, key.to_string()));
            }
        }
    }
}

/// Does this record's `objectClass` say it is a group?
pub(super) fn is_group(classes: &[String]) -> bool {
    classes
        .iter()
        .any(|c| c.trim().eq_ignore_ascii_case("group"))
}

/// A group record: a group, skipped (it has no DN), or a group with something wrong.
pub(super) fn check_group(raw: RawRecord) -> Verdict {
    let Some(dn) = raw.dn.as_deref().map(str::trim).filter(|d| !d.is_empty()) else {
        return Verdict::NotAUser;
    };
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let mut reasons = Vec::new();
    let mail = given(&raw.mail).unwrap_or_default();
    if !mail.is_empty() {
        if let Err(why) = check_smtp(&mail) {
            reasons.push(format!(
                "mail '{}' is not an SMTP address: {why}",
                shown(&mail)
            ));
        }
    }
    let legacy_dn = given(&raw.legacy_dn).and_then(|v| {
        LegacyDn::parse(&v)
            .map_err(|e| reasons.push(format!("legacyExchangeDN {e}")))
            .ok()
    });
    let display_name = match given(&raw.display_name) {
        Some(name) => check_text(&name, "displayName", 256, &mut reasons).unwrap_or_default(),
        None => first_value(dn).to_string(),
    };
    let proxy_addresses = trimmed(&raw.proxy_addresses);
    reasons.extend(proxy_addresses.iter().filter_map(|p| {
        check_proxy(p)
            .err()
            .map(|why| format!("proxyAddresses value '{}' {why}", shown(p)))
    }));
    let members = trimmed(&raw.members);
    if let Some(bad) = members.iter().find(|m| !m.contains('=')) {
        reasons.push(format!(
            "member value '{}' is not a distinguished name (CN=…,DC=…)",
            shown(bad)
        ));
    }
    if !reasons.is_empty() {
        return Verdict::Bad(reasons);
    }
    Verdict::Group(GroupEntry {
        group: Group {
            member_count: members.len(),
            members: members.into_iter().take(MAX_KEPT_MEMBERS).collect(),
            dn: dn.to_string(),
            legacy_dn,
            mail,
            display_name,
            proxy_addresses,
        },
        line: raw.line,
    })
}

/// The values given, trimmed, without empty ones.
fn trimmed(values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// The value of a DN's first part: `CN=Paris Staff,OU=Paris,…` → `Paris Staff`.
fn first_value(dn: &str) -> &str {
    let first = split_unescaped(dn, ',').next().unwrap_or(dn);
    first.split_once('=').map_or(first, |(_, v)| v).trim()
}

/// csvde's `member` field: the values joined by `;` (an escaped `\;` belongs to a DN).
pub(super) fn split_members(field: &str) -> Vec<String> {
    split_unescaped(field, ';')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect()
}

/// `text` cut at every `sep` that no backslash escapes.
fn split_unescaped(text: &str, sep: char) -> impl Iterator<Item = &str> {
    let mut escaped = false;
    text.split(move |c: char| {
        let cut = c == sep && !escaped;
        escaped = c == '\\' && !escaped;
        cut
    })
}

/// The key two distinguished names are compared by: each part trimmed (also around its
/// `=`), ASCII case folded. `CN=Dan Winship, OU=Users,DC=x` and `cn=dan winship,ou=users,dc=x`
/// are the same DN.
pub fn dn_key(dn: &str) -> String {
    let parts: Vec<String> = split_unescaped(dn.trim(), ',')
        .map(|part| match part.split_once('=') {
            Some((attr, value)) => format!("{}={}", attr.trim(), value.trim()),
            None => part.trim().to_string(),
        })
        .collect();
    fold_key(&parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::super::{DirectoryFormat, parse_directory_detailed};
    use super::*;

    const LDIF: &str = include_str!("../../../fixtures/ews/groups.ldf");
    const CSV: &str = include_str!("../../../fixtures/ews/groups.csv");

    #[test]
    fn ldifde_and_csvde_exports_give_the_same_groups() {
        let from_ldif = parse_directory_detailed(LDIF, DirectoryFormat::Ldif).unwrap();
        let from_csv = parse_directory_detailed(CSV, DirectoryFormat::Csv).unwrap();
        let strip = |g: &ParsedGroups| -> Vec<GroupEntry> {
            g.groups
                .iter()
                .map(|g| GroupEntry {
                    line: 0,
                    ..g.clone()
                })
                .collect()
        };
        assert_eq!(strip(&from_ldif.groups), strip(&from_csv.groups));
        assert_eq!(from_ldif.groups.member_users, from_csv.groups.member_users);
        let lab = &from_ldif.groups.groups[0].group;
        assert_eq!(lab.mail, "lab-team@xcs.example");
        assert_eq!(lab.display_name, "Lab Team");
        assert_eq!(
            lab.smtp_addresses(),
            ["lab-team@xcs.example", "team@xcs.example"]
        );
        // A base64 member (ldifde) and an escaped `,` inside a DN (both) are one value each.
        assert!(lab.members.iter().any(|m| m.contains("Jean-Sébastien")));
        assert!(
            from_ldif.groups.groups[1]
                .group
                .members
                .iter()
                .any(|m| m.contains("Powell\\, Rachel"))
        );
        // A security group: no mail, named by its DN only; its display name from the DN.
        let inner = from_ldif
            .groups
            .groups
            .iter()
            .map(|g| &g.group)
            .find(|g| g.mail.is_empty())
            .unwrap();
        assert_eq!(inner.display_name, "Lab Core");
        // Users are still users, and only those a group names keep their DN.
        assert_eq!(from_ldif.entries.len(), from_csv.entries.len());
        assert!(
            from_ldif
                .groups
                .member_users
                .iter()
                .all(|(dn, _)| !dn.contains("Karen"))
        );
    }

    /// The file is read as a stream: a group may name a user whose record comes after it
    /// or before it; either way the member's DN is kept, and users no group names are not.
    #[test]
    fn members_resolve_whether_the_group_comes_before_or_after_its_users() {
        let rows = [
            "\"CN=Team,DC=x\",group,team@x.example,,Team,\"CN=Dan,DC=x;CN=Li,DC=x\"",
            "\"CN=Dan,DC=x\",user,dan@x.example,/o=O/ou=A/cn=Recipients/cn=dan,Dan,",
            "\"CN=Li,DC=x\",user,li@x.example,/o=O/ou=A/cn=Recipients/cn=li,Li,",
            "\"CN=Ann,DC=x\",user,ann@x.example,/o=O/ou=A/cn=Recipients/cn=ann,Ann,",
        ];
        let header = "DN,objectClass,mail,legacyExchangeDN,displayName,member";
        for order in [[0, 1, 2, 3], [1, 3, 0, 2], [1, 2, 3, 0]] {
            let mut text = format!("{header}\n");
            for i in order {
                text.push_str(rows[i]);
                text.push('\n');
            }
            let parsed = parse_directory_detailed(&text, DirectoryFormat::Csv).unwrap();
            let mut kept: Vec<(String, String)> = parsed.groups.member_users.to_vec();
            kept.sort();
            assert_eq!(
                kept,
                [
                    (
                        "CN=Dan,DC=x".to_string(),
                        "/o=o/ou=a/cn=recipients/cn=dan".to_string()
                    ),
                    (
                        "CN=Li,DC=x".to_string(),
                        "/o=o/ou=a/cn=recipients/cn=li".to_string()
                    ),
                ],
                "order {order:?}"
            );
        }
    }

    #[test]
    fn dns_compare_without_case_and_spaces_and_keep_escapes() {
        assert_eq!(
            dn_key("CN=Dan Winship, OU=Users ,DC=xcs,DC=example"),
            dn_key("cn = dan winship,ou=users,dc=xcs,dc=example")
        );
        assert_ne!(
            dn_key("CN=Guillet\\, Jean,DC=x"),
            dn_key("CN=Guillet,CN=Jean,DC=x")
        );
        assert_eq!(
            split_members("CN=a\\;b,DC=x;CN=c,DC=x; ;"),
            ["CN=a\\;b,DC=x", "CN=c,DC=x"]
        );
        assert_eq!(
            first_value("CN=Guillet\\, Jean,OU=Paris"),
            "Guillet\\, Jean"
        );
    }

    #[test]
    fn a_group_sharing_an_address_or_listed_twice_is_named_and_nothing_is_imported() {
        let text = "DN,objectClass,mail,legacyExchangeDN,displayName,member\n\
            \"CN=Dan,DC=x\",user,dan@x.example,/o=O/ou=A/cn=Recipients/cn=dan,Dan,\n\
            \"CN=G,DC=x\",group,dan@x.example,,G,\"CN=Dan,DC=x\"\n\
            \"cn=g, dc=x\",group,,,G again,\n\
            \"CN=H,DC=x\",group,not an address,,H,Dan\n";
        let e = parse_directory_detailed(text, DirectoryFormat::Csv).unwrap_err();
        let lines: Vec<usize> = e.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 4, 5], "{e}");
        assert!(
            e.problems[0]
                .reason
                .contains("'dan@x.example' is already used by the record on line 2")
        );
        assert!(
            e.problems[1]
                .reason
                .contains("already the record on line 3")
        );
        assert!(e.problems[2].reason.contains("not an SMTP address"));
        assert!(
            e.problems[2]
                .reason
                .contains("'Dan' is not a distinguished name")
        );
    }

    #[test]
    fn a_file_of_groups_alone_imports_and_a_group_without_a_dn_is_skipped() {
        let text = "objectClass,mail,legacyExchangeDN,displayName\ngroup,g@x.example,,G\n";
        let e = parse_directory_detailed(text, DirectoryFormat::Csv).unwrap_err();
        assert!(e.to_string().contains("no users found"), "{e}");
        let text = "dn: CN=G,DC=x\nobjectClass: group\nmember: CN=Someone,DC=x\n";
        let parsed = parse_directory_detailed(text, DirectoryFormat::Ldif).unwrap();
        assert_eq!(parsed.groups.groups.len(), 1);
        assert_eq!(parsed.groups.groups[0].group.member_count, 1);
    }
}
