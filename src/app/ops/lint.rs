//! `schedplus lint`: the lint rules (`protocol::lint`) over the store's messages, as stored.
//!
//! A page at a time: [`LintRequest`] names where the last page ended ([`LintCursor`]) and
//! the report says where the next starts, so a walk over 100,000 messages through the
//! admin API holds one page in the server and one in the CLI. The properties are linted as
//! the writer stored them (the store keeps every property as written; PROPFIND answers the
//! same), with the directory as facts.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Ctx, Operation, checked};
use crate::app::Error;
use crate::protocol::legacy_dn::AdminGroup;
use crate::protocol::lint::{self, Facts, Finding, LintMessage};
use crate::protocol::query::UserAddress;
use crate::store::{MessageRecord, Store};

/// Messages per page unless the request says otherwise, and the most it may say.
pub const LINT_PAGE: usize = 1000;
pub const MAX_LINT_PAGE: usize = 10_000;

impl Operation for LintRequest {
    const ROUTE: &'static str = "/lint";
    type Report = LintReport;

    fn run(self, ctx: &Ctx) -> Result<LintReport, Error> {
        let store = &ctx.store;
        let lookup = directory_lookup(store);
        if let Some(user) = &self.user {
            let u = store.resolve_user(user)?;
            let folder = u.legacy_dn.admin_group();
            let mut findings = Vec::new();
            let msgs = store.find_messages(&folder, &u.legacy_dn.subject())?;
            let oldest = msgs.first().map(|m| m.leaf.clone());
            for (i, rec) in msgs.iter().enumerate() {
                let older = (i > 0).then(|| oldest.clone()).flatten();
                findings.extend(lint_record(folder.as_str(), rec, older, &lookup));
            }
            return Ok(LintReport {
                messages: msgs.len(),
                findings,
                next: None,
            });
        }
        let limit = checked(self.limit, LINT_PAGE, 1..=MAX_LINT_PAGE, |l| {
            format!("limit {l}: a lint page holds 1 to {MAX_LINT_PAGE} messages")
        })?;
        let after = self.after_key()?;
        let page = store.fb_scan_page(after.as_deref(), limit)?;
        let names = folder_names(store)?;
        let (mut group, mut oldest) = match &self.after {
            Some(c) => (c.group.clone(), c.oldest_leaf.clone()),
            None => (String::new(), String::new()),
        };
        let mut findings = Vec::new();
        for m in &page {
            let g = hex(&m.subject_key);
            let older = if g == group {
                Some(oldest.clone())
            } else {
                group = g;
                oldest = m.record.leaf.clone();
                None
            };
            let folder = names
                .iter()
                .find(|(k, _)| *k == m.folder_key)
                .map_or(m.folder_key.as_str(), |(_, n)| n.as_str());
            findings.extend(lint_record(folder, &m.record, older, &lookup));
        }
        let next = (page.len() == limit).then(|| LintCursor {
            key: hex(&page.last().expect("a full page").key),
            group,
            oldest_leaf: oldest,
        });
        Ok(LintReport {
            messages: page.len(),
            findings,
            next,
        })
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LintRequest {
    /// One user's messages (SMTP address, alias or legacyDN); every message otherwise.
    pub user: Option<String>,
    /// Where the previous page ended.
    pub after: Option<LintCursor>,
    /// Messages in this page (default [`LINT_PAGE`]).
    pub limit: Option<usize>,
}

impl LintRequest {
    /// The store key the page starts after, from the cursor.
    fn after_key(&self) -> Result<Option<Vec<u8>>, Error> {
        let Some(c) = &self.after else {
            return Ok(None);
        };
        let key = unhex(&c.key).ok_or_else(|| {
            Error::BadInput(format!(
                "lint cursor '{}' is not a key this server gave",
                c.key
            ))
        })?;
        Ok(Some(key))
    }
}

/// The end of a page: the store key of its last message (hex) and the leaf of the oldest
/// message of that subject, so a duplicate on the next page still names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LintCursor {
    pub key: String,
    pub group: String,
    pub oldest_leaf: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LintReport {
    /// Messages linted in this page.
    pub messages: usize,
    pub findings: Vec<Finding>,
    /// Where the next page starts; `None` when this was the last.
    pub next: Option<LintCursor>,
}

/// Every folder's (key, name as created).
fn folder_names(store: &Store) -> Result<Vec<(String, String)>, Error> {
    Ok(store
        .list_folders()?
        .into_iter()
        .map(|f| {
            let key =
                AdminGroup::parse(&f.name).map_or_else(|_| f.name.to_lowercase(), |a| a.key());
            (key, f.name)
        })
        .collect())
}

/// The directory as lint's facts: the legacyDN the directory holds for a DN, if any.
pub fn directory_lookup(store: &Store) -> impl Fn(&str) -> Option<String> + '_ {
    |dn: &str| {
        store
            .find_user(&UserAddress::Ex(dn.to_string()))
            .ok()
            .flatten()
            .map(|u| u.legacy_dn.as_str().to_string())
    }
}

/// The findings of one stored message.
pub fn lint_record(
    folder: &str,
    rec: &MessageRecord,
    older_duplicate: Option<String>,
    directory: &dyn Fn(&str) -> Option<String>,
) -> Vec<Finding> {
    let msg = LintMessage {
        folder,
        leaf: &rec.leaf,
        props: &rec.props,
        modified: Timestamp::from_microsecond(rec.modified_us).ok(),
    };
    lint::lint(
        &msg,
        &Facts {
            directory: Some(directory),
            older_duplicate,
        },
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testutil::temp_store;

    #[test]
    fn pages_of_any_size_give_the_same_findings_as_one_page() {
        let (_dir, store) = temp_store();
        crate::app::demo::load(&store, &crate::app::Clock::System, None).unwrap();
        let ctx = Ctx::new(&store);
        for user in ["danw", "kbaker", "tnguyen", "rsmith"] {
            super::super::FbSetRequest {
                user: format!("{user}@xcs.example"),
                busy: vec!["2026-11-04T09:00:00Z/2026-11-04T10:00:00Z".into()],
                now: Some("2026-11-02T08:00:00Z".into()),
                ..Default::default()
            }
            .run(&ctx)
            .unwrap();
        }
        let whole = LintRequest {
            limit: Some(MAX_LINT_PAGE),
            ..Default::default()
        }
        .run(&ctx)
        .unwrap();
        assert!(whole.messages > 2, "{whole:?}");
        assert!(whole.next.is_none());
        for size in [1, 2, 3] {
            let (mut n, mut all, mut after) = (0, Vec::new(), None);
            loop {
                let r = LintRequest {
                    after,
                    limit: Some(size),
                    ..Default::default()
                }
                .run(&ctx)
                .unwrap();
                n += r.messages;
                all.extend(r.findings);
                match r.next {
                    Some(c) => after = Some(c),
                    None => break,
                }
            }
            assert_eq!(n, whole.messages, "pages of {size}");
            assert_eq!(all, whole.findings, "pages of {size}");
        }
        let bad = LintRequest {
            after: Some(LintCursor {
                key: "zz".into(),
                group: String::new(),
                oldest_leaf: String::new(),
            }),
            ..Default::default()
        };
        assert!(matches!(bad.run(&ctx), Err(Error::BadInput(_))));
    }
}
