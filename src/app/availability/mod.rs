//! The Availability service's procedure for legacy mailboxes, as an Exchange 2007 CAS ran
//! it: resolve every mailbox in the directory, partition the legacy ones by admin group,
//! ask each admin group's public-folder servers for all its users in one `?Cmd=freebusy`
//! request (anonymously, or as the configured service account), and fail over.
//!
//! Per admin group ([`servers::CasSettings`]): its servers in random order (or as listed),
//! at most `max_tries` of them; each failure (connect error, timeout, a status other than
//! 200, an answer that is not the `WM` document for the users asked) is logged as event
//! 4003 with the URL. When none answers: event 4004, then one last attempt at a random
//! server of the organisation not tried yet; when that fails too, those mailboxes answer
//! `ErrorNoPublicFolderServerAvailable` and the others still succeed. An admin group with
//! no servers configured is answered from this server's own store (one process is then a
//! front end and a free/busy server).
//!
//! A distribution group ([`groups`]) is answered as the merge of its members' rows; its
//! members are asked with the users of the request, each user once, through the same
//! procedure (one request per admin group and hundred users).
//!
//! Unknown addresses answer `ErrorMailRecipientNotFound`; a view that is not merged
//! (`FreeBusy`, `Detailed`) answers `ErrorLegacyMailboxFreeBusyViewTypeNotMerged` for a
//! legacy mailbox, as the 2007 CAS did. Everything here is blocking (the HTTP client is
//! `ureq`); admin groups are asked in parallel, one thread each.

pub mod client;
pub mod groups;
pub mod metrics;
pub mod servers;

use std::collections::HashMap;

use rand_core::{OsRng, RngCore};

use crate::protocol::ews::{AvailabilityRequest, MAX_MAILBOXES, MailboxAnswer, MailboxData};
use crate::protocol::legacy_dn::AdminGroup;
use crate::protocol::query::{QueryLimits, UserAddress, parse_query};
use crate::protocol::time::format_rfc3339;
use crate::store::{Store, UserRecord};

pub use servers::{CasSettings, Role, ServerOrder, ServiceAccount, parse_servers};

/// The address a `MailboxData` names: `EX` routing or a `/o=` value is a legacyDN,
/// anything else an SMTP address (primary or proxy) or alias.
fn address_of(m: &MailboxData) -> UserAddress {
    let a = m.address.trim();
    let ex = m
        .routing_type
        .as_deref()
        .is_some_and(|r| r.eq_ignore_ascii_case("EX"))
        || a.starts_with('/');
    if ex {
        UserAddress::Ex(a.to_string())
    } else {
        UserAddress::parse(a)
    }
}

/// One request to an admin group's servers: (index in `targets`, user), at most
/// [`MAX_MAILBOXES`] of them (an admin group with more users asked, through groups, gets
/// one request per hundred).
struct Group {
    ag: AdminGroup,
    users: Vec<(usize, UserRecord)>,
}

/// What a mailbox of the request is, once resolved.
enum Asked {
    /// Answered already (an error).
    Done(MailboxAnswer),
    /// A user: its index in `targets`.
    User(usize),
    /// A distribution group: its members' indices in `targets`.
    Members(Vec<usize>),
}

/// The users whose free/busy a request needs, each once.
#[derive(Default)]
struct Targets {
    users: Vec<UserRecord>,
    index: HashMap<String, usize>,
}

impl Targets {
    fn add(&mut self, u: UserRecord) -> usize {
        let next = self.users.len();
        let at = *self.index.entry(u.legacy_dn.key()).or_insert(next);
        if at == next {
            self.users.push(u);
        }
        at
    }

    /// By admin group, in the order met, at most [`MAX_MAILBOXES`] users a request.
    fn requests(&self) -> Vec<Vec<Group>> {
        let mut by_ag: Vec<Vec<Group>> = Vec::new();
        for (i, u) in self.users.iter().enumerate() {
            let ag = u.legacy_dn.admin_group();
            let requests = match by_ag.iter_mut().find(|r| r[0].ag == ag) {
                Some(r) => r,
                None => {
                    by_ag.push(Vec::new());
                    by_ag.last_mut().expect("just pushed")
                }
            };
            match requests.last_mut() {
                // Every request in `requests` is of `ag`.
                Some(g) if g.users.len() < MAX_MAILBOXES => g.users.push((i, u.clone())),
                _ => requests.push(Group {
                    ag,
                    users: vec![(i, u.clone())],
                }),
            }
        }
        by_ag
    }
}

/// Resolve one mailbox: a user, a group (expanded), or an error.
fn resolve(
    store: &Store,
    req: &AvailabilityRequest,
    m: &MailboxData,
    targets: &mut Targets,
) -> Asked {
    let addr = address_of(m);
    let failed = |e: &dyn std::fmt::Display| {
        error(
            "failed",
            "ErrorFreeBusyGenerationFailed",
            format!("the directory could not be read for {}: {e}", m.address),
        )
    };
    let user = match store.find_user(&addr) {
        Ok(u) => u,
        Err(e) => return failed(&e),
    };
    if let Some(user) = user {
        if !req.view.is_merged() {
            return error(
                "not_merged",
                "ErrorLegacyMailboxFreeBusyViewTypeNotMerged",
                format!(
                    "{} is a legacy (Exchange 2000/2003) mailbox: its free/busy can only be answered merged; ask for MergedOnly, FreeBusyMerged or DetailedMerged",
                    m.address
                ),
            );
        }
        return Asked::User(targets.add(user));
    }
    let group = match store.find_group(&addr) {
        Ok(Some(g)) => g,
        Ok(None) => {
            return error(
                "not_found",
                "ErrorMailRecipientNotFound",
                format!(
                    "no directory user or group has the address {}; import it (schedplus directory import) or check the spelling",
                    m.address
                ),
            );
        }
        Err(e) => return failed(&e),
    };
    match groups::expand(store, &group) {
        Ok(users) => Asked::Members(users.into_iter().map(|u| targets.add(u)).collect()),
        Err(groups::ExpandError::TooBig(why)) => {
            error("group_too_big", "ErrorFreeBusyDLLimitReached", why)
        }
        Err(groups::ExpandError::Store(e)) => failed(&e),
    }
}

/// Answer every mailbox of `req`, in request order.
pub fn availability(
    store: &Store,
    settings: &CasSettings,
    req: &AvailabilityRequest,
) -> Vec<MailboxAnswer> {
    let mut targets = Targets::default();
    let asked: Vec<Asked> = req
        .mailboxes
        .iter()
        .map(|m| resolve(store, req, m, &mut targets))
        .collect();
    let slots = req.slots();
    let mut rows: Vec<Result<Vec<u8>, String>> = vec![Err(String::new()); targets.users.len()];
    let by_ag = targets.requests();
    let ask_all = |requests: &Vec<Group>| -> Vec<Result<Vec<Vec<u8>>, String>> {
        requests
            .iter()
            .map(|g| group_digits(store, settings, req, g, slots))
            .collect()
    };
    // One admin group (the usual request) is asked on this thread; several in parallel,
    // one thread each (its requests, when it has more than one, one after the other).
    let results: Vec<Vec<Result<Vec<Vec<u8>>, String>>> = if by_ag.len() <= 1 {
        by_ag.iter().map(ask_all).collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = by_ag.iter().map(|r| s.spawn(move || ask_all(r))).collect();
            handles
                .into_iter()
                .zip(&by_ag)
                .map(|(h, r)| {
                    h.join().unwrap_or_else(|_| {
                        vec![Err("the request for this admin group failed".into()); r.len()]
                    })
                })
                .collect()
        })
    };
    for (g, r) in by_ag.iter().flatten().zip(results.into_iter().flatten()) {
        match r {
            Ok(digits) => {
                for ((i, _), d) in g.users.iter().zip(digits) {
                    rows[*i] = Ok(d);
                }
            }
            Err(why) => {
                for (i, _) in &g.users {
                    rows[*i] = Err(why.clone());
                }
            }
        }
    }
    asked
        .into_iter()
        .map(|a| match a {
            Asked::Done(answer) => answer,
            Asked::User(i) => match &rows[i] {
                Ok(d) => {
                    metrics::mailbox("merged");
                    MailboxAnswer::Merged(d.clone())
                }
                Err(why) => {
                    metrics::mailbox("failed");
                    MailboxAnswer::Error {
                        code: "ErrorNoPublicFolderServerAvailable",
                        message: why.clone(),
                    }
                }
            },
            Asked::Members(members) => {
                metrics::mailbox("group");
                let answered = members.iter().filter_map(|i| rows[*i].as_deref().ok());
                MailboxAnswer::Merged(groups::merge(slots, answered))
            }
        })
        .collect()
}

/// The query string of one admin group's request: the window in UTC, the interval, and each
/// user by primary SMTP address (legacyDN when it has none).
fn query_for(req: &AvailabilityRequest, g: &Group) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("Cmd", "freebusy")
        .append_pair("start", &format_rfc3339(req.start))
        .append_pair("end", &format_rfc3339(req.end))
        .append_pair("interval", &req.interval.to_string());
    for (_, u) in &g.users {
        let addr = if u.mail.is_empty() {
            format!("EX:{}", u.legacy_dn)
        } else {
            format!("SMTP:{}", u.mail)
        };
        q.append_pair("u", &addr);
    }
    q.finish()
}

/// Check an answer has one row of `slots` digits per user asked.
fn rows_of(
    items: Vec<crate::protocol::ews::legacy::LegacyItem>,
    users: usize,
    slots: usize,
) -> Result<Vec<Vec<u8>>, String> {
    if items.len() != users {
        return Err(format!(
            "the answer has {} users for the {users} asked",
            items.len()
        ));
    }
    items
        .into_iter()
        .map(|it| {
            if it.fbdata.len() == slots {
                Ok(it.fbdata)
            } else {
                Err(format!(
                    "the answer has {} digits for {} where {slots} were asked",
                    it.fbdata.len(),
                    it.email
                ))
            }
        })
        .collect()
}

fn group_digits(
    store: &Store,
    settings: &CasSettings,
    req: &AvailabilityRequest,
    g: &Group,
    slots: usize,
) -> Result<Vec<Vec<u8>>, String> {
    let query = query_for(req, g);
    let Some(urls) = settings.servers_for(&g.ag) else {
        // This server's own store, through the same query and answer as over HTTP.
        let limits = QueryLimits {
            max_users: MAX_MAILBOXES,
            ..QueryLimits::default()
        };
        let q = parse_query(&query, &limits).map_err(|e| e.to_string())?;
        let (xml, _) = crate::app::freebusy::answer(store, &q);
        let items = crate::protocol::ews::legacy::parse_answer(
            &xml,
            &crate::protocol::dav_xml::XmlLimits::default(),
        )?;
        return rows_of(items, g.users.len(), slots);
    };
    let mut order: Vec<&str> = urls.iter().map(String::as_str).collect();
    if settings.order == ServerOrder::Random {
        shuffle(&mut order);
    }
    order.truncate(settings.max_tries.max(1));
    let mut tried: Vec<&str> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    let authorization = settings
        .service_account
        .as_ref()
        .map(servers::ServiceAccount::authorization);
    let attempt = |url: &str, reasons: &mut Vec<String>| -> Option<Vec<Vec<u8>>> {
        let full = format!("{url}/?{query}");
        let (r, took) = client::fetch(&full, settings.timeout, authorization.as_deref());
        let r = r.and_then(|items| {
            rows_of(items, g.users.len(), slots).map_err(|reason| client::Failure {
                kind: "bad_answer",
                reason,
            })
        });
        match r {
            Ok(rows) => {
                metrics::server_answered(url, took.as_secs_f64());
                Some(rows)
            }
            Err(f) => {
                metrics::server_failed(url, f.kind);
                tracing::warn!(
                    event_id = 4003,
                    url = %full,
                    admin_group = %g.ag,
                    kind = f.kind,
                    reason = %f.reason,
                    "the free/busy request to a public-folder server failed (event 4003)"
                );
                reasons.push(format!("{url}: {}", f.reason));
                None
            }
        }
    };
    for url in &order {
        tried.push(url);
        if let Some(rows) = attempt(url, &mut reasons) {
            return Ok(rows);
        }
    }
    metrics::no_server();
    let mut others: Vec<&str> = settings
        .organisation_servers(&g.ag)
        .into_iter()
        .filter(|u| !tried.contains(u))
        .collect();
    shuffle(&mut others);
    tracing::warn!(
        event_id = 4004,
        admin_group = %g.ag,
        tried = tried.len(),
        last_attempt = others.first().copied().unwrap_or("none"),
        "no public-folder server of this admin group answered (event 4004); one last attempt at a random server of the organisation"
    );
    if let Some(url) = others.first() {
        if let Some(rows) = attempt(url, &mut reasons) {
            return Ok(rows);
        }
    }
    Err(format!(
        "no public-folder server answered for {} ({})",
        g.ag,
        reasons.join("; ")
    ))
}

/// Fisher-Yates with the OS's random source.
fn shuffle<T>(v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = (OsRng.next_u32() as usize) % (i + 1);
        v.swap(i, j);
    }
}

/// A mailbox that gets an error instead of free/busy: counted by `outcome`, answered with
/// Exchange's `code` and a sentence.
fn error(outcome: &'static str, code: &'static str, message: String) -> Asked {
    metrics::mailbox(outcome);
    Asked::Done(MailboxAnswer::Error { code, message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ews::{RequestedView, timezone::SerializableTimeZone};
    use crate::store::testutil::temp_store;

    fn request(addresses: &[&str], view: RequestedView) -> AvailabilityRequest {
        AvailabilityRequest {
            time_zone: SerializableTimeZone::UTC,
            mailboxes: addresses
                .iter()
                .map(|a| MailboxData {
                    address: a.to_string(),
                    routing_type: None,
                    attendee_type: "Required".into(),
                    exclude_conflicts: false,
                })
                .collect(),
            start: "2026-01-05T00:00:00Z".parse().unwrap(),
            end: "2026-01-06T00:00:00Z".parse().unwrap(),
            interval: 60,
            view,
        }
    }

    #[test]
    fn local_admin_groups_answer_from_the_store_and_unknown_addresses_are_named() {
        let (_dir, store) = temp_store();
        crate::app::demo::load(&store, &crate::app::Clock::System, None).unwrap();
        let req = request(
            &[
                "danw@xcs.example",
                "nobody@nowhere.example",
                // A proxy address, and a legacyDN.
                "dan.winship@xcs.example",
                "/o=CompanyABC/ou=London/cn=Recipients/cn=lchen",
            ],
            RequestedView::DetailedMerged,
        );
        let a = availability(&store, &CasSettings::default(), &req);
        assert_eq!(a.len(), 4);
        for i in [0, 2, 3] {
            match &a[i] {
                MailboxAnswer::Merged(d) => assert_eq!(d.len(), 24, "{i}"),
                other => panic!("{i}: {other:?}"),
            }
        }
        match &a[1] {
            MailboxAnswer::Error { code, message } => {
                assert_eq!(*code, "ErrorMailRecipientNotFound");
                assert!(message.contains("nobody@nowhere.example"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_view_that_is_not_merged_is_refused_for_legacy_mailboxes() {
        let (_dir, store) = temp_store();
        crate::app::demo::load(&store, &crate::app::Clock::System, None).unwrap();
        let a = availability(
            &store,
            &CasSettings::default(),
            &request(&["danw@xcs.example"], RequestedView::Detailed),
        );
        assert!(matches!(
            &a[0],
            MailboxAnswer::Error {
                code: "ErrorLegacyMailboxFreeBusyViewTypeNotMerged",
                ..
            }
        ));
    }

    #[test]
    fn rows_must_match_the_users_and_slots_asked() {
        use crate::protocol::ews::legacy::LegacyItem;
        let item = |d: &str| LegacyItem {
            email: "a@b".into(),
            fbdata: d.as_bytes().to_vec(),
        };
        assert!(rows_of(vec![item("00")], 1, 2).is_ok());
        assert!(
            rows_of(vec![item("00")], 2, 2)
                .unwrap_err()
                .contains("1 users")
        );
        assert!(
            rows_of(vec![item("000")], 1, 2)
                .unwrap_err()
                .contains("3 digits")
        );
    }
}
