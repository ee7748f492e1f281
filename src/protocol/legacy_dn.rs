//! legacyExchangeDN and the two names the free/busy store derives from it.
//!
//! Owns [`LegacyDn`] (`/o=Org/ou=AG/cn=Recipients/cn=alias`, validated, compared without
//! regard to case), [`AdminGroup`] (the folder name `EX:/o=Org/ou=AG`, case kept) and
//! [`Subject`] (the message subject `USER-/CN=RECIPIENTS/CN=ALIAS`, upper-cased when
//! written, matched without regard to case). PROTOCOL.md §1.
//!
//! "Without regard to case" means ASCII case, as Exchange compared legacyDNs: [`fold_key`]
//! is the one folding every key of the directory and the free/busy folders is built with.
//! Unicode folding made distinct names one (`cn=K`, the Kelvin sign, replaced `cn=k`;
//! `ß` upper-cases to `SS`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest DN accepted; real ones are well under 300 characters.
pub const MAX_DN_LEN: usize = 1024;

/// Longest subject accepted: room for the subject of the longest DN as a client may write
/// it, `USER-` plus its tail upper-cased by Unicode rules, which can triple a character's
/// UTF-8 length ('ΐ' → "Ϊ́"). schedplus itself upper-cases ASCII only.
pub const MAX_SUBJECT_LEN: usize = "USER-".len() + 3 * MAX_DN_LEN;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a legacyExchangeDN: {reason}")]
pub struct DnError {
    pub input: String,
    pub reason: &'static str,
}

/// The case-insensitive identity of a legacyDN, folder name, subject, URL leaf, alias or
/// address: ASCII letters lower-cased, every other character kept as it is, so two names
/// are the same key only when they differ in ASCII case.
pub fn fold_key(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// A legacyExchangeDN as given (case kept), with the offset of its first `/cn=`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LegacyDn {
    raw: String,
    cn_at: usize,
}

impl LegacyDn {
    /// Accepts `/o=…[/ou=…]…/cn=…[/cn=…]…`: every part `attr=value` with a non-empty
    /// alphabetic attribute and a non-empty value, the first part `o=`, at least one `cn=`.
    pub fn parse(input: &str) -> Result<LegacyDn, DnError> {
        let err = |reason| DnError {
            input: truncate_for_message(input),
            reason,
        };
        let raw = input.trim();
        if raw.is_empty() {
            return Err(err("it is empty"));
        }
        if raw.len() > MAX_DN_LEN {
            return Err(err("it is longer than 1024 characters"));
        }
        if raw.chars().any(|c| c.is_control()) {
            return Err(err("it contains control characters"));
        }
        let Some(body) = raw.strip_prefix('/') else {
            return Err(err("it must start with /o="));
        };
        let mut offset = 1;
        let mut cn_at = None;
        for (i, part) in body.split('/').enumerate() {
            let Some((attr, value)) = part.split_once('=') else {
                return Err(err("every part must look like attr=value"));
            };
            if attr.is_empty() || !attr.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(err("a part has an empty or non-alphabetic attribute name"));
            }
            if value.trim().is_empty() {
                return Err(err("a part has an empty value"));
            }
            if i == 0 && !attr.eq_ignore_ascii_case("o") {
                return Err(err("it must start with /o="));
            }
            if cn_at.is_none() && attr.eq_ignore_ascii_case("cn") {
                cn_at = Some(offset - 1);
            }
            offset += part.len() + 1;
        }
        let Some(cn_at) = cn_at else {
            return Err(err("it has no /cn= part naming the recipient"));
        };
        Ok(LegacyDn {
            raw: raw.to_string(),
            cn_at,
        })
    }

    /// `EX:` + the DN before its first `/cn=`, case kept.
    pub fn admin_group(&self) -> AdminGroup {
        AdminGroup(format!("EX:{}", &self.raw[..self.cn_at]))
    }

    /// `USER-` + the DN from its first `/cn=`, ASCII upper-cased (a Unicode upper-casing
    /// would give `cn=ß` and `cn=ss` one subject).
    pub fn subject(&self) -> Subject {
        Subject(format!(
            "USER-{}",
            self.raw[self.cn_at..].to_ascii_uppercase()
        ))
    }

    /// The last `cn=` value: the alias when a directory gives none.
    pub fn last_cn(&self) -> &str {
        self.raw[self.cn_at..]
            .rsplit('/')
            .find_map(|p| {
                let (a, v) = p.split_once('=')?;
                a.eq_ignore_ascii_case("cn").then_some(v)
            })
            .unwrap_or_default()
    }
}

/// What the three names share: `as_str` (as given, case kept), `key` (the case-insensitive
/// identity, used as a store key), equality up to ASCII case, and `Display` as given.
macro_rules! name_as_given {
    ($name:ident, $field:tt) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.$field
            }

            /// The case-insensitive identity, used as a store key.
            pub fn key(&self) -> String {
                fold_key(&self.$field)
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.$field.eq_ignore_ascii_case(&other.$field)
            }
        }
        impl Eq for $name {}

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.$field)
            }
        }
    };
}

name_as_given!(LegacyDn, raw);
name_as_given!(AdminGroup, 0);
name_as_given!(Subject, 0);

/// An administrative-group folder name under `SCHEDULE+ FREE BUSY`: `EX:/o=Org/ou=AG`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdminGroup(String);

impl AdminGroup {
    /// A folder name as a client sends it (MKCOL, URLs): must start with `EX:/o=`.
    pub fn parse(name: &str) -> Result<AdminGroup, DnError> {
        let rest = name
            .get(..3)
            .filter(|p| p.eq_ignore_ascii_case("EX:"))
            .map(|_| &name[3..])
            .ok_or(DnError {
                input: truncate_for_message(name),
                reason: "an admin-group folder name starts with EX:/o=",
            })?;
        // Validate the DN part by parsing it with a placeholder recipient.
        LegacyDn::parse(&format!("{rest}/cn=x")).map_err(|e| DnError {
            input: truncate_for_message(name),
            reason: e.reason,
        })?;
        Ok(AdminGroup(format!("EX:{rest}")))
    }
}

/// A free/busy message subject, `USER-/CN=…`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Subject(String);

impl Subject {
    /// A subject as a client wrote it; must start with `USER-` (any case). Kept as sent.
    pub fn parse(s: &str) -> Result<Subject, DnError> {
        let ok = s.len() > 5 && s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("USER-"));
        if !ok || s.chars().any(|c| c.is_control()) || s.len() > MAX_SUBJECT_LEN {
            return Err(DnError {
                input: truncate_for_message(s),
                reason: "a free/busy subject looks like USER-/CN=RECIPIENTS/CN=ALIAS",
            });
        }
        Ok(Subject(s.to_string()))
    }
}

/// Inputs quoted in error messages are cut so a hostile one cannot flood a log line.
pub(crate) fn truncate_for_message(s: &str) -> String {
    const MAX: usize = 120;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Found by the legacy_dn fuzz target: a DN at the length cap gave a subject five bytes
    /// over the cap that `Subject::parse` then refused.
    #[test]
    fn the_subject_of_the_longest_dn_parses() {
        let prefix = "/o=O/cn=";
        for tail in ["a", "\u{390}"] {
            let n = (MAX_DN_LEN - prefix.len()) / tail.len();
            let dn = LegacyDn::parse(&format!("{prefix}{}", tail.repeat(n))).unwrap();
            let subject = dn.subject();
            assert!(subject.as_str().len() > MAX_DN_LEN);
            assert!(Subject::parse(subject.as_str()).is_ok(), "{tail}");
            assert!(AdminGroup::parse(dn.admin_group().as_str()).is_ok());
        }
    }

    #[test]
    fn protocol_example() {
        let dn = LegacyDn::parse("/o=CompanyABC/ou=Paris/cn=Recipients/cn=jsguillet").unwrap();
        assert_eq!(dn.admin_group().as_str(), "EX:/o=CompanyABC/ou=Paris");
        assert_eq!(dn.subject().as_str(), "USER-/CN=RECIPIENTS/CN=JSGUILLET");
        assert_eq!(dn.last_cn(), "jsguillet");
    }

    #[test]
    fn first_cn_found_case_insensitively_and_all_cn_parts_kept() {
        let dn = LegacyDn::parse(
            "/O=First Organization/OU=First Administrative Group/CN=Recipients/CN=Users/cn=Dan",
        )
        .unwrap();
        assert_eq!(
            dn.admin_group().as_str(),
            "EX:/O=First Organization/OU=First Administrative Group"
        );
        assert_eq!(dn.subject().as_str(), "USER-/CN=RECIPIENTS/CN=USERS/CN=DAN");
    }

    #[test]
    fn comparison_ignores_case() {
        let a = LegacyDn::parse("/o=Org/ou=AG/cn=Recipients/cn=a").unwrap();
        let b = LegacyDn::parse("/O=ORG/OU=ag/CN=recipients/CN=A").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.key(), b.key());
        assert_eq!(a.admin_group(), b.admin_group());
        assert_eq!(a.subject(), b.subject());
    }

    /// Exchange compared legacyDNs in ASCII case only: the Kelvin sign is not `k`, and a
    /// subject never merges two DNs (`ß` upper-cased by Unicode rules is `SS`).
    #[test]
    fn only_ascii_case_is_ignored() {
        let dn =
            |cn: &str| LegacyDn::parse(&format!("/o=Org/ou=AG/cn=Recipients/cn={cn}")).unwrap();
        assert_ne!(dn("k"), dn("\u{212A}"));
        assert_ne!(dn("k").key(), dn("\u{212A}").key());
        assert_ne!(dn("k").subject(), dn("\u{212A}").subject());
        assert_ne!(dn("ss").subject(), dn("ß").subject());
        assert_eq!(dn("ß").subject().as_str(), "USER-/CN=RECIPIENTS/CN=ß");
        assert_ne!(
            Subject::parse("USER-/CN=K").unwrap(),
            Subject::parse("USER-/CN=\u{212A}").unwrap()
        );
        assert_ne!(
            AdminGroup::parse("EX:/o=Org/ou=\u{212A}").unwrap(),
            AdminGroup::parse("EX:/o=Org/ou=k").unwrap()
        );
        assert_eq!(dn("JOSÉ"), dn("josÉ"));
        assert_ne!(dn("JOSÉ"), dn("josé"));
    }

    #[test]
    fn malformed_dns_are_named_in_the_error() {
        for bad in [
            "",
            "o=Org/cn=x",
            "/ou=AG/cn=x",
            "/o=Org/ou=AG",
            "/o=Org//cn=x",
            "/o=/cn=x",
            "/o=Org/c n=x",
            "/o=Org/cn=a\u{0}b",
        ] {
            let e = LegacyDn::parse(bad).unwrap_err();
            assert!(
                e.to_string().contains("is not a legacyExchangeDN"),
                "{bad:?}: {e}"
            );
        }
        let long = format!("/o=O/cn={}", "a".repeat(2000));
        let e = LegacyDn::parse(&long).unwrap_err();
        assert!(e.to_string().len() < 300, "error quotes a bounded prefix");
    }

    #[test]
    fn admin_group_and_subject_parse() {
        assert!(AdminGroup::parse("EX:/o=Org/ou=AG").is_ok());
        assert!(AdminGroup::parse("ex:/o=Org").is_ok());
        assert!(AdminGroup::parse("/o=Org/ou=AG").is_err());
        assert!(AdminGroup::parse("EX:").is_err());
        assert!(Subject::parse("user-/cn=recipients/cn=a").is_ok());
        assert!(Subject::parse("USER-").is_err());
        assert!(Subject::parse("Meeting notes").is_err());
    }

    proptest! {
        #[test]
        fn derived_names_rebuild_the_dn(
            o in "[A-Za-z][A-Za-z0-9 ]{0,15}",
            ou in "[A-Za-z][A-Za-z0-9 ()]{0,20}",
            cn in "[a-z][a-z0-9.]{0,12}"
        ) {
            let raw = format!("/o={o}/ou={ou}/cn=Recipients/cn={cn}");
            let dn = LegacyDn::parse(&raw).unwrap();
            let ag = dn.admin_group();
            let subj = dn.subject();
            let rebuilt = format!("{}{}", &ag.as_str()[3..], &subj.as_str()[5..]);
            prop_assert!(rebuilt.eq_ignore_ascii_case(&raw));
            prop_assert_eq!(subj.as_str().to_uppercase(), subj.as_str());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = LegacyDn::parse(&s);
            let _ = AdminGroup::parse(&s);
            let _ = Subject::parse(&s);
        }
    }
}
