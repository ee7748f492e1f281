//! The Availability service's procedure for legacy mailboxes, as an Exchange 2007 CAS ran
//! it: resolve every mailbox in the directory, partition the legacy ones by admin group,
//! ask each admin group's public-folder servers for all its users in one `?Cmd=freebusy`
//! request, and fail over.
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
//! Unknown addresses answer `ErrorMailRecipientNotFound`; a view that is not merged
//! (`FreeBusy`, `Detailed`) answers `ErrorLegacyMailboxFreeBusyViewTypeNotMerged` for a
//! legacy mailbox, as the 2007 CAS did. Everything here is blocking (the HTTP client is
//! `ureq`); admin groups are asked in parallel, one thread each.

pub mod client;
pub mod metrics;
pub mod servers;

use rand_core::{OsRng, RngCore};

use crate::protocol::ews::{AvailabilityRequest, MailboxAnswer, MailboxData};
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

/// One admin group's mailboxes: (index in the request, user).
struct Group {
    ag: AdminGroup,
    users: Vec<(usize, UserRecord)>,
}

/// Answer every mailbox of `req`, in request order.
pub fn availability(
    store: &Store,
    settings: &CasSettings,
    req: &AvailabilityRequest,
) -> Vec<MailboxAnswer> {
    let mut answers: Vec<Option<MailboxAnswer>> = vec![None; req.mailboxes.len()];
    let mut groups: Vec<Group> = Vec::new();
    for (i, m) in req.mailboxes.iter().enumerate() {
        let user = match store.find_user(&address_of(m)) {
            Ok(Some(u)) => u,
            Ok(None) => {
                fail(
                    &mut answers[i],
                    "not_found",
                    "ErrorMailRecipientNotFound",
                    format!(
                        "no directory user has the address {}; import the user (schedplus directory import) or check the spelling",
                        m.address
                    ),
                );
                continue;
            }
            Err(e) => {
                fail(
                    &mut answers[i],
                    "failed",
                    "ErrorFreeBusyGenerationFailed",
                    format!("the directory could not be read for {}: {e}", m.address),
                );
                continue;
            }
        };
        if !req.view.is_merged() {
            fail(
                &mut answers[i],
                "not_merged",
                "ErrorLegacyMailboxFreeBusyViewTypeNotMerged",
                format!(
                    "{} is a legacy (Exchange 2000/2003) mailbox: its free/busy can only be answered merged; ask for MergedOnly, FreeBusyMerged or DetailedMerged",
                    m.address
                ),
            );
            continue;
        }
        let ag = user.legacy_dn.admin_group();
        match groups.iter_mut().find(|g| g.ag == ag) {
            Some(g) => g.users.push((i, user)),
            None => groups.push(Group {
                ag,
                users: vec![(i, user)],
            }),
        }
    }
    let slots = req.slots();
    // One admin group (the usual request) is asked on this thread; several in parallel,
    // one thread each.
    let results: Vec<Result<Vec<Vec<u8>>, String>> = if groups.len() == 1 {
        vec![group_digits(store, settings, req, &groups[0], slots)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = groups
                .iter()
                .map(|g| s.spawn(move || group_digits(store, settings, req, g, slots)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("the request for this admin group failed".into()))
                })
                .collect()
        })
    };
    for (g, r) in groups.iter().zip(results) {
        match r {
            Ok(rows) => {
                for ((i, _), digits) in g.users.iter().zip(rows) {
                    metrics::mailbox("merged");
                    answers[*i] = Some(MailboxAnswer::Merged(digits));
                }
            }
            Err(why) => {
                for (i, _) in &g.users {
                    metrics::mailbox("failed");
                    answers[*i] = Some(MailboxAnswer::Error {
                        code: "ErrorNoPublicFolderServerAvailable",
                        message: why.clone(),
                    });
                }
            }
        }
    }
    answers
        .into_iter()
        .map(|a| a.expect("every mailbox is answered"))
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
            max_users: crate::protocol::ews::MAX_MAILBOXES,
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
fn fail(
    slot: &mut Option<MailboxAnswer>,
    outcome: &'static str,
    code: &'static str,
    message: String,
) {
    metrics::mailbox(outcome);
    *slot = Some(MailboxAnswer::Error { code, message });
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
