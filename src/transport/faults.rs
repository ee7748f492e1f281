//! Fault injection (issue 14 item 5): before a request is signed in or routed, the server's
//! fault rules (`protocol::fault_rule`, kept in `app::ops::Faults`) may decide to answer it
//! wrongly on purpose, as a broken or misconfigured public-folder server would for a CAS:
//! IIS's 403.4 "SSL required", 503 "no replica", 401, 500, a delay, a hang, a reset.
//!
//! Every injected fault is logged at WARN (`fault injected: rule N …`), counted in
//! `schedplus_faults_injected_total{rule,kind}`, and an injected answer carries
//! `X-Schedplus-Fault: rule=N kind=K`, so a test tells an injected failure from a real one.

use std::future::pending;

use warp::http::{StatusCode, header};

use super::{AppState, HttpError, Request, Response, bytes_response};
use crate::protocol::fault_rule::{FaultKind, Fired, RequestFacts};
use crate::protocol::wss_name::unescape_segment;

/// The header on every answer a fault rule made.
pub const FAULT_HEADER: &str = "x-schedplus-fault";

/// A request the fault rules are to look at: what it names, and its connection.
pub(super) struct Probe {
    facts: RequestFacts,
    names_users: bool,
    connection: Option<super::accept::Connection>,
    method: warp::http::Method,
    path: String,
}

/// `None` when the server has no fault rules (nothing is copied then), else what the rules
/// need of `req`, taken now: the request itself is not `Sync` and cannot be held across an
/// await.
pub(super) fn probe(state: &AppState, req: &Request) -> Option<Probe> {
    if exempt(&req.path) || !state.faults().any() {
        return None;
    }
    let set = state.faults().lock();
    if set.is_empty() {
        return None;
    }
    Some(Probe {
        facts: facts_of(req),
        names_users: set.names_users(),
        connection: req.connection.clone(),
        method: req.method.clone(),
        path: req.path.clone(),
    })
}

impl Probe {
    /// What the rules make of the request: `None` to serve it normally (after a `delay`
    /// rule's wait), or the answer a rule chose. A `hang` or `reset` never returns: the
    /// connection ends, and with it the request's future (at the latest when the server
    /// shuts down).
    pub(super) async fn answer(self, state: &AppState) -> Option<Response> {
        let Probe {
            mut facts,
            names_users,
            connection,
            method,
            path,
        } = self;
        if names_users && !facts.users().is_empty() {
            facts = state
                .blocking(move |st| with_directory(st, facts))
                .await
                .ok()?;
        }
        let fired = state.faults().lock().decide(&facts)?;
        tracing::warn!(
            rule = fired.id,
            kind = fired.kind.name(),
            %method,
            %path,
            "fault injected: rule {} ({})",
            fired.id,
            fired.rule
        );
        crate::app::metrics::fault_injected(fired.id, fired.kind.name());
        let answer = fault_answer(state, &facts, &fired, connection.as_ref()).await?;
        Some(marked(answer, &fired))
    }
}

/// The injected 503: the same body as a real no-replica answer
/// (`protocol::replica::no_replica_body`), for the request's first admin group, with this
/// server's name and the holders it knows; only the `X-Schedplus-Fault` header tells them apart.
fn no_replica(state: &AppState, facts: &RequestFacts) -> HttpError {
    let t = state.topology();
    let group = facts.groups().first().map(|g| format!("EX:{g}"));
    let parsed = group
        .as_deref()
        .and_then(|g| crate::protocol::legacy_dn::AdminGroup::parse(g).ok());
    let holders = parsed.as_ref().map(|g| t.holders(g)).unwrap_or_default();
    let folder = match &parsed {
        Some(g) => g.as_str().to_string(),
        None => group.unwrap_or_else(|| "(the folder asked for)".into()),
    };
    super::replication::no_replica_answer(state, &folder, &holders)
}

/// The answer of a fault that fired; `None` for a delay, once waited.
async fn fault_answer(
    state: &AppState,
    facts: &RequestFacts,
    fired: &Fired,
    connection: Option<&super::accept::Connection>,
) -> Option<Response> {
    let answer = match fired.kind {
        FaultKind::Delay(d) => {
            tokio::time::sleep(d).await;
            return None;
        }
        FaultKind::Hang => match connection {
            Some(c) => {
                c.server_closing().await;
                c.reset();
                pending().await
            }
            None => pending().await,
        },
        FaultKind::Reset => match connection {
            Some(c) => {
                c.reset();
                pending().await
            }
            // Built in-process: there is no socket to close; say what would have happened.
            None => HttpError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("fault rule {} would have reset the connection", fired.id),
            )
            .into_response(),
        },
        FaultKind::SslRequired => ssl_required(),
        FaultKind::NoReplica => no_replica(state, facts).into_response(),
        FaultKind::Unauthorized => {
            let mut r = bytes_response(
                StatusCode::UNAUTHORIZED,
                "text/plain; charset=utf-8",
                b"401 Unauthorized: access is denied (an injected fault)\n".to_vec(),
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"schedplus\""),
            );
            r
        }
        FaultKind::ServerError => HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "an injected fault: the server failed",
        )
        .into_response(),
    };
    Some(answer)
}

/// The routes no rule touches: the admin API (so `fault clear` always gets through),
/// `/metrics` (so a test can count what was injected) and `/healthz` (so `lab status` tells
/// a server that runs from one that does not).
fn exempt(path: &str) -> bool {
    path == "/healthz"
        || path == "/metrics"
        || path == "/_schedplus"
        || path.starts_with("/_schedplus/")
}

fn marked(mut r: Response, fired: &Fired) -> Response {
    if let Ok(v) =
        header::HeaderValue::from_str(&format!("rule={} kind={}", fired.id, fired.kind.name()))
    {
        r.headers_mut().insert(FAULT_HEADER, v);
    }
    r
}

/// What `req` names: its method, path and query; the users of a `?Cmd=freebusy` query
/// (`u=`), of a free/busy message's URL (its subject) and of `/calendars/USER`; the admin
/// group of a free/busy folder's URL.
fn facts_of(req: &Request) -> RequestFacts {
    let mut facts = RequestFacts::new(req.method.as_str(), &req.path, req.query.as_deref());
    if let Some(q) = &req.query {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            if k.eq_ignore_ascii_case("u") {
                facts.add_user(&v);
            }
        }
    }
    let segments: Vec<String> = req
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| unescape_segment(s).unwrap_or_else(|_| s.to_string()))
        .collect();
    match segments.as_slice() {
        [calendars, user, ..] if calendars.eq_ignore_ascii_case("calendars") => {
            facts.add_user(user.trim_end_matches(".ics"));
        }
        [_public, _non_ipm, _free_busy, group, rest @ ..] if group.len() > 3 => {
            if group
                .get(..3)
                .is_some_and(|p| p.eq_ignore_ascii_case("EX:"))
            {
                facts.add_group(group);
            }
            if let Some(leaf) = rest.first() {
                let subject = leaf
                    .strip_suffix(".EML")
                    .or_else(|| leaf.strip_suffix(".eml"))
                    .unwrap_or(leaf);
                if let Some(dn) = subject.get(5..).filter(|_| {
                    subject
                        .get(..5)
                        .is_some_and(|p| p.eq_ignore_ascii_case("USER-"))
                }) {
                    facts.add_user(dn);
                }
            }
        }
        _ => {}
    }
    facts
}

/// `facts` with every other name of the users it names (mail, alias, legacyDN) and their
/// admin groups, from the directory.
fn with_directory(state: &AppState, mut facts: RequestFacts) -> RequestFacts {
    let named: Vec<String> = facts.users().to_vec();
    for name in named {
        if let Ok(u) = state.store().resolve_user(&name) {
            facts.add_user(&u.mail);
            facts.add_user(&u.alias);
            facts.add_user(u.legacy_dn.as_str());
        }
    }
    facts
}

/// The page IIS 6 answered for a virtual directory that requires SSL (403.4), as a CAS
/// saw it when `/public` had "Require secure channel" set: the Availability service sends
/// the `?Cmd=freebusy` query over plain HTTP, and logged event 4003 with "(403) Forbidden".
fn ssl_required() -> Response {
    const PAGE: &str = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\r\n\
<HTML><HEAD><TITLE>The page must be viewed over a secure channel</TITLE>\r\n\
<META HTTP-EQUIV=\"Content-Type\" Content=\"text/html; charset=Windows-1252\"></HEAD>\r\n\
<BODY><h1>The page must be viewed over a secure channel</h1>\r\n\
The page you are trying to access is secured with Secure Sockets Layer (SSL).\r\n\
<hr><p>Please try the following:</p>\r\n\
<ul><li>Type <b>https://</b> at the beginning of the address you are attempting to reach and press ENTER.</li></ul>\r\n\
<h2>HTTP Error 403.4 - Forbidden: SSL is required to view this resource.<br>Internet Information Services (IIS)</h2>\r\n\
</BODY></HTML>\r\n";
    let mut r = bytes_response(StatusCode::FORBIDDEN, "text/html", PAGE.as_bytes().to_vec());
    r.headers_mut().insert(
        header::SERVER,
        header::HeaderValue::from_static("Microsoft-IIS/6.0"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::{HeaderMap, Method};

    fn facts(method: Method, url: &str) -> RequestFacts {
        let req = Request::new(method, url, HeaderMap::new(), bytes::Bytes::new());
        facts_of(&req)
    }

    #[test]
    fn a_message_url_names_its_user_and_group() {
        let f = facts(
            Method::from_bytes(b"PROPPATCH").unwrap(),
            "/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=Org_xF8FF_ou=AG1/USER-_xF8FF_o=Org_xF8FF_ou=AG1_xF8FF_cn=Recipients_xF8FF_cn=jan.EML",
        );
        let rule = |s: &str| s.parse::<crate::protocol::fault_rule::FaultRule>().unwrap();
        assert!(rule("503 group=EX:/o=Org/ou=AG1").matches(&f));
        assert!(rule("503 user=/o=org/ou=ag1/cn=recipients/cn=jan").matches(&f));
        assert!(!rule("503 group=EX:/o=Org/ou=AG2").matches(&f));
    }

    #[test]
    fn a_query_and_a_calendar_name_their_users() {
        let rule = |s: &str| s.parse::<crate::protocol::fault_rule::FaultRule>().unwrap();
        let f = facts(
            Method::GET,
            "/public/?Cmd=freebusy&u=SMTP:jan%40org.example&u=SMTP:piet@org.example",
        );
        assert!(rule("500 user=piet@org.example").matches(&f));
        assert!(rule("500 user=jan@org.example").matches(&f));
        let f = facts(Method::PUT, "/calendars/jan@org.example");
        assert!(rule("500 user=jan@org.example method=PUT").matches(&f));
    }
}
