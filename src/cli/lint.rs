//! `schedplus lint` and `schedplus check` (issue 16 items 1 and 2).
//!
//! `lint` walks the local store a page at a time through the `lint` operation (on the
//! store, or posted to the running server), or a remote WebDAV free/busy store with
//! PROPFIND Depth 1: the `SCHEDULE+ FREE BUSY` folder for its admin-group folders, then
//! each folder for its messages with the free/busy properties, as Exchange 2003 answers
//! them. Findings are printed as they come, so memory holds one page (one response of
//! the answer, read as it arrives, for `--remote`).

use std::io::Write;
use std::time::Duration;

use base64::Engine;

use super::args::{CheckArgs, LintArgs};
use super::client::Admin;
use crate::app::Error;
use crate::app::ops::{CheckRequest, LintRequest, MAX_LINT_PAGE};
use crate::protocol::legacy_dn::fold_key;
use crate::protocol::lint::multistatus::{DavResponse, MultistatusStream};
use crate::protocol::lint::{self, Facts, Finding, LintMessage, Severity};
use crate::protocol::mapi::{PROPTAG_NS, PropTag, tags};
use crate::protocol::pffb::PffbKind;
use crate::protocol::wss_name::unescape_segment;

/// Where findings go, and what they add up to.
struct Sink {
    json: bool,
    fail_on: Severity,
    messages: usize,
    findings: usize,
    failing: usize,
    out: std::io::StdoutLock<'static>,
}

impl Sink {
    fn new(args: &LintArgs) -> Result<Sink, Error> {
        let fail_on = Severity::parse(&args.fail_on).ok_or_else(|| {
            Error::BadInput(format!(
                "--fail-on {}: write info, warning or error",
                args.fail_on
            ))
        })?;
        let mut out = std::io::stdout().lock();
        if args.json {
            let _ = out.write_all(b"[");
        }
        Ok(Sink {
            json: args.json,
            fail_on,
            messages: 0,
            findings: 0,
            failing: 0,
            out,
        })
    }

    fn add(&mut self, f: &Finding) {
        if f.severity >= self.fail_on {
            self.failing += 1;
        }
        let _ = if self.json {
            let sep = if self.findings == 0 { "\n" } else { ",\n" };
            let json = serde_json::to_string(f).expect("findings serialise");
            write!(self.out, "{sep}{json}")
        } else {
            writeln!(self.out, "{}", f.line())
        };
        self.findings += 1;
    }

    fn finish(mut self, source: &str) -> Result<(), Error> {
        if self.json {
            let _ = self.out.write_all(b"\n]\n");
        }
        let _ = self.out.flush();
        eprintln!(
            "{} messages linted, {} findings, {} at or above {} ({source})",
            self.messages, self.findings, self.failing, self.fail_on
        );
        if self.failing > 0 {
            return Err(Error::Partial(format!(
                "{} findings at or above {}",
                self.failing, self.fail_on
            )));
        }
        Ok(())
    }
}

/// Lint the local store, a page at a time.
pub fn lint_local(admin: &Admin, args: &LintArgs) -> Result<(), Error> {
    if !(1..=MAX_LINT_PAGE).contains(&args.page) {
        return Err(Error::BadInput(format!(
            "--page {}: use 1 to {MAX_LINT_PAGE}",
            args.page
        )));
    }
    let mut sink = Sink::new(args)?;
    let mut after = None;
    loop {
        let r = admin.run(LintRequest {
            user: args.user.clone(),
            after,
            limit: Some(args.page),
        })?;
        sink.messages += r.messages;
        for f in &r.findings {
            sink.add(f);
        }
        match r.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    sink.finish(&admin.describe())
}

/// The properties asked for in each folder's PROPFIND.
fn propfind_body() -> String {
    let mut tags_wanted: Vec<PropTag> = vec![
        tags::FREEBUSY_PUBLISH_START,
        tags::FREEBUSY_PUBLISH_END,
        tags::FREEBUSY_MESSAGE_EMAIL_ADDRESS,
        tags::FREEBUSY_RANGE_TIMESTAMP,
        tags::NORMALIZED_SUBJECT,
        tags::SUBJECT,
    ];
    for k in PffbKind::ALL {
        tags_wanted.push(k.months_tag());
        tags_wanted.push(k.blocks_tag());
    }
    let mut body = format!(
        r#"<?xml version="1.0"?><a:propfind xmlns:a="DAV:" xmlns:m="{PROPTAG_NS}"><a:prop><a:displayname/><a:iscollection/><a:getlastmodified/>"#
    );
    for t in tags_wanted {
        body.push_str(&format!("<m:{}/>", t.dav_local_name()));
    }
    body.push_str("</a:prop></a:propfind>");
    body
}

/// A remote WebDAV store: its agent, credentials and the origin hrefs are resolved against.
struct Remote {
    agent: ureq::Agent,
    auth: Option<String>,
    origin: String,
}

impl Remote {
    /// PROPFIND Depth 1 of `url`; each response is handed to `each` as it arrives.
    fn propfind(
        &self,
        url: &str,
        body: &str,
        mut each: impl FnMut(DavResponse),
    ) -> Result<(), Error> {
        let mut req = ureq::http::Request::builder()
            .method("PROPFIND")
            .uri(url)
            .header("Depth", "1")
            .header("Content-Type", "text/xml");
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let req = req
            .body(body.as_bytes().to_vec())
            .map_err(|e| Error::BadInput(format!("{url}: {e}")))?;
        let mut resp = self
            .agent
            .run(req)
            .map_err(|e| Error::Unavailable(format!("PROPFIND {url}: {e}")))?;
        let status = resp.status().as_u16();
        if status != 207 {
            return Err(Error::Unavailable(format!(
                "PROPFIND {url} answered {status}, not 207 Multi-Status{}",
                if status == 401 {
                    " (give --remote-user and --remote-password)"
                } else {
                    ""
                }
            )));
        }
        let unreadable =
            |e: &dyn std::fmt::Display| Error::Unavailable(format!("PROPFIND {url}: {e}"));
        let mut reader = resp.body_mut().with_config().limit(u64::MAX).reader();
        let mut stream = MultistatusStream::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = std::io::Read::read(&mut reader, &mut chunk).map_err(|e| unreadable(&e))?;
            if n == 0 {
                break;
            }
            for r in stream.feed(&chunk[..n]).map_err(|e| unreadable(&e))? {
                each(r);
            }
        }
        stream.finish().map_err(|e| unreadable(&e))?;
        Ok(())
    }

    /// An href as an absolute URL.
    fn absolute(&self, href: &str) -> String {
        if href.starts_with("http://") || href.starts_with("https://") {
            href.to_string()
        } else {
            format!("{}{href}", self.origin)
        }
    }
}

/// The last non-empty path segment of an href, decoded.
fn leaf_of(href: &str) -> String {
    let seg = href
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    unescape_segment(seg).unwrap_or_else(|_| seg.to_string())
}

/// Lint a remote store: every admin-group folder under `SCHEDULE+ FREE BUSY`.
pub fn lint_remote(url: &str, args: &LintArgs) -> Result<(), Error> {
    let base = url.trim_end_matches('/');
    let origin = base
        .find("://")
        .and_then(|i| base[i + 3..].find('/').map(|j| &base[..i + 3 + j]))
        .unwrap_or(base)
        .to_string();
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(Error::BadInput(format!(
            "--remote {url}: give the public root's URL, e.g. http://exchange.example/public"
        )));
    }
    let auth = args.remote_user.as_ref().map(|u| {
        let pw = args.remote_password.clone().unwrap_or_default();
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{pw}"))
        )
    });
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into();
    let remote = Remote {
        agent,
        auth,
        origin,
    };
    let mut sink = Sink::new(args)?;
    let root = format!("{base}/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/");
    let folders_body = r#"<?xml version="1.0"?><a:propfind xmlns:a="DAV:"><a:prop><a:displayname/><a:iscollection/></a:prop></a:propfind>"#;
    let mut folders = Vec::new();
    remote.propfind(&root, folders_body, |r| {
        if r.is_collection() {
            folders.push(r.href)
        }
    })?;
    let root_path = root
        .trim_start_matches(&remote.origin)
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let body = propfind_body();
    for href in folders {
        let url = remote.absolute(&href);
        if url
            .trim_end_matches('/')
            .to_ascii_lowercase()
            .ends_with(&root_path)
        {
            continue; // the folder itself
        }
        let folder_name = leaf_of(&href);
        // Duplicates: the first message of each subject seen is taken as the oldest
        // (schedplus lists oldest first; Exchange's order is not known). One short key per
        // subject is all a folder's walk keeps.
        let mut first_of: std::collections::HashMap<String, String> = Default::default();
        let url = format!("{}/", url.trim_end_matches('/'));
        remote.propfind(&url, &body, |r| {
            if r.is_collection() {
                return;
            }
            let leaf = leaf_of(&r.href);
            let key = subject_key(&r, &leaf);
            let older = match first_of.get(&key) {
                Some(first) => Some(first.clone()),
                None => {
                    first_of.insert(key, leaf.clone());
                    None
                }
            };
            let modified = r
                .dav_text("getlastmodified")
                .and_then(|t| jiff::fmt::rfc2822::parse(t.trim()).ok())
                .map(|z| z.timestamp());
            let msg = LintMessage {
                folder: &folder_name,
                leaf: &leaf,
                props: &r.props,
                modified,
            };
            sink.messages += 1;
            let facts = Facts {
                directory: None,
                older_duplicate: older,
            };
            for f in lint::lint(&msg, &facts) {
                sink.add(&f);
            }
        })?;
    }
    sink.finish(base)
}

/// The key duplicates share: the subject (or the leaf without `.EML` and `-N`), folded.
fn subject_key(r: &DavResponse, leaf: &str) -> String {
    use crate::protocol::mapi::{PropName, PropValue};
    let subject = [tags::NORMALIZED_SUBJECT, tags::SUBJECT]
        .iter()
        .find_map(|t| r.props.get(&PropName::Mapi(*t)).and_then(PropValue::as_str));
    match subject {
        Some(s) => fold_key(s),
        None => {
            let stem = leaf
                .strip_suffix(".EML")
                .or_else(|| leaf.strip_suffix(".eml"))
                .unwrap_or(leaf);
            let stem = match stem.rsplit_once('-') {
                Some((b, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => b,
                _ => stem,
            };
            fold_key(stem)
        }
    }
}

/// `schedplus check`.
pub fn check(admin: &Admin, args: &CheckArgs, now: Option<String>) -> Result<(), Error> {
    let r = admin.run(CheckRequest {
        // `None` with `--all`: every user.
        user: args.who.user.clone(),
        interval: Some(args.interval),
        now,
    })?;
    let bad = r.users.iter().filter(|u| !u.agrees()).count();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).expect("reports serialise")
        );
    } else {
        for u in &r.users {
            let views = if u.calendar {
                "calendar, message, query"
            } else {
                "message, query (no calendar)"
            };
            match (&u.difference, &u.problem) {
                (_, Some(p)) => println!("{}: cannot check: {p}", u.user),
                (None, None) => println!("{}: agree ({views}): {}", u.user, u.grid),
                (Some(d), None) => println!(
                    "{}: DISAGREE at slot {} ({}): calendar {}, message {}, query {}",
                    u.user, d.slot, d.at, d.calendar, d.message, d.query
                ),
            }
        }
    }
    if bad > 0 {
        return Err(Error::Partial(format!(
            "{bad} of {} users' views disagree",
            r.users.len()
        )));
    }
    Ok(())
}
