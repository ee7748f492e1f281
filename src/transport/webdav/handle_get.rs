//! GET and HEAD. A browser (`Accept: text/html`, no `Translate: f`) gets HTML from
//! [`browse_page`]: a folder listing (streamed, so a folder of 100,000 messages is fine), a
//! free/busy message page (owner, publish range, a day-by-day timeline of what the
//! `?Cmd=freebusy` query answers, blocks, raw properties) or an error page.
//! Everyone else gets the stored body of an item (a free/busy message: a small
//! `message/rfc822` carrying its subject; its data lives in properties) and the HTML listing
//! for a folder, which has no body of its own. ETag and Last-Modified on everything;
//! `If-None-Match` answers 304.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use warp::http::{HeaderValue, StatusCode, header};

use super::handle_propfind::members_of;
use super::props::{Entry, rfc822_body};
use super::{Found, Resource, header_str, locate, stream_listing};
use crate::app::ops::{self, Ctx};
use crate::protocol::address::UserAddress;
use crate::protocol::browse_page::{self, Crumb, FolderRow, Link, MessageView, RowKind};
use crate::protocol::dav_xml::values::write_content;
use crate::protocol::mapi::{PropName, PropValue, tags};
use crate::protocol::raster::SlotGrid;
use crate::protocol::time::Minutes1601;
use crate::protocol::time::{FileTime, format_rfc3339};
use crate::protocol::wss_name::unescape_segment;
use crate::store::{MessageRecord, StoredFreeBusy, UserRecord};
use crate::transport::{AppState, HttpError, Request, Response, bytes_response};

/// Does the client want a page rather than the item itself?
fn wants_html(req: &Request) -> bool {
    let translate_off = header_str(req, "translate").is_some_and(|v| v.eq_ignore_ascii_case("f"));
    let html =
        header_str(req, "accept").is_some_and(|v| v.to_ascii_lowercase().contains("text/html"));
    html && !translate_off
}

pub async fn get(state: &AppState, req: Request, target: &Resource) -> Result<Response, HttpError> {
    let browser = wants_html(&req);
    match answer(state, req, target).await {
        // A browser gets its failures as a page too.
        Err(e) if browser && e.status.is_client_error() => {
            let page = browse_page::error_page(
                e.status.as_u16(),
                e.status.canonical_reason().unwrap_or("Error"),
                &e.message,
            );
            let mut r = bytes_response(e.status, "text/html; charset=utf-8", page.into_bytes());
            *r.status_mut() = e.status;
            Ok(r)
        }
        other => other,
    }
}

async fn answer(state: &AppState, req: Request, target: &Resource) -> Result<Response, HttpError> {
    let found = locate(state, target).await?.require()?;
    let entry = Entry::from_found(&found)
        .ok_or_else(|| HttpError::not_found("nothing exists at this URL"))?;
    if header_str(&req, "if-none-match")
        .is_some_and(|v| v == "*" || v.split(',').any(|t| t.trim() == entry.etag))
    {
        let mut r = Response::new(Default::default());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(with_validators(r, &entry));
    }
    let browser = wants_html(&req);
    let r = match &found {
        f if f.is_collection() => folder_page(state, found.clone(), &entry, req.query.as_deref()),
        Found::FbItem(_, rec) if browser => {
            let (e, rec) = (entry.clone(), rec.clone());
            let query = req.query.clone();
            let html = state
                .blocking(move |st| message_page(st, &e, &rec, query.as_deref()))
                .await?;
            bytes_response(
                StatusCode::OK,
                "text/html; charset=utf-8",
                html.into_bytes(),
            )
        }
        Found::FbItem(..) => bytes_response(
            StatusCode::OK,
            "message/rfc822",
            rfc822_body(entry.subject.as_deref().unwrap_or_default()).into_bytes(),
        ),
        Found::Node(n) => {
            let path = n.path.clone();
            let body = state
                .blocking(move |st| st.store().pf_body(&path))
                .await??
                .unwrap_or_default();
            let mut r = Response::new(body.into());
            let ct = entry
                .content_type
                .as_deref()
                .unwrap_or("application/octet-stream");
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(ct)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            );
            user_content(&mut r, ct);
            r
        }
        _ => return Err(HttpError::not_found("nothing exists at this URL")),
    };
    Ok(with_validators(r, &entry))
}

/// Any signed-in user may PUT into the ordinary area, so what comes back is the user's, not
/// ours: it is sandboxed (no script, no same-origin rights: it cannot call the admin API or
/// read other pages with a visitor's credentials), never sniffed into a more active type,
/// and downloaded rather than shown when its type can carry script (HTML, SVG and other
/// XML, JavaScript).
fn user_content(r: &mut Response, content_type: &str) {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(USER_CONTENT_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if is_active_type(content_type) {
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
}

/// The policy of user content: a unique opaque origin, nothing loaded, no framing.
pub const USER_CONTENT_CSP: &str = "sandbox; default-src 'none'; frame-ancestors 'none'";

/// Can a browser run script from a body of this type (shown inline)?
pub fn is_active_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (kind, sub) = essence.split_once('/').unwrap_or((essence.as_str(), ""));
    sub.contains("html")
        || sub.contains("xml")
        || sub.contains("javascript")
        || sub.contains("ecmascript")
        || sub.contains("svg")
        || sub == "x-shockwave-flash"
        || sub == "pdf"
        || kind == "multipart"
        || essence.is_empty()
        || !essence.contains('/')
}

fn with_validators(mut r: Response, e: &Entry) -> Response {
    if let Ok(v) = HeaderValue::from_str(&e.etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&e.last_modified()) {
        r.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    r
}

fn folder_page(state: &AppState, found: Found, entry: &Entry, query: Option<&str>) -> Response {
    let entry = entry.clone();
    let filter = browse_page::listing_filter(query);
    let intro = match &found {
        Found::FbRoot => {
            Some("One folder per administrative group; each holds one free/busy message per user.")
        }
        Found::FbFolder(_) => Some(
            "The free/busy messages of this administrative group. Open one to see what the ?Cmd=freebusy query answers for its user.",
        ),
        _ => None,
    };
    let head =
        browse_page::folder_page_head(&entry.name, &crumbs(&entry.href), intro, filter.as_deref());
    let in_fb_root = matches!(found, Found::FbRoot);
    // Rows seen and rows shown, for the tail's "N of M items match" (the pages run one
    // after another on store threads; the counts only travel from the rows to the tail).
    let counts = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
    let (row_counts, row_filter) = (counts.clone(), filter.clone());
    stream_listing(
        state,
        StatusCode::OK,
        "text/html; charset=utf-8",
        move |st, buf| {
            buf.extend_from_slice(head.as_bytes());
            members_of(st.store(), &found, None)
        },
        move |st, e: Entry, buf| {
            let row = listing_row(st, e, in_fb_root);
            row_counts.0.fetch_add(1, Ordering::Relaxed);
            if row_filter.as_deref().is_some_and(|f| !row.matches(f)) {
                return;
            }
            row_counts.1.fetch_add(1, Ordering::Relaxed);
            buf.extend_from_slice(browse_page::folder_row(&row).as_bytes());
        },
        move |_, buf| {
            let all = counts.0.load(Ordering::Relaxed);
            let shown = counts.1.load(Ordering::Relaxed);
            let tail = browse_page::folder_page_tail(shown, filter.as_deref().map(|f| (f, all)));
            buf.extend_from_slice(tail.as_bytes());
        },
    )
}

/// Admin-group folders are counted up to this many messages each (a bounded scan of the
/// folder: the store keeps no per-folder count); beyond, the listing says "1,000+ users".
const MEMBERS_COUNTED: usize = 1000;

/// One listing row: the entry, with its owner's name and address (a free/busy message
/// whose owner the directory knows) or its user count (an admin-group folder).
fn listing_row(st: &AppState, e: Entry, in_fb_root: bool) -> FolderRow {
    let dn = owner_dn(&e.props).map(str::to_string);
    let owner = dn.as_ref().and_then(|d| {
        let u = st.store().find_user(&UserAddress::Ex(d.clone())).ok()??;
        Some(browse_page::Owner {
            display_name: u.display_name,
            mail: u.mail,
        })
    });
    let kind = if e.collection {
        let members = in_fb_root
            .then(|| crate::protocol::legacy_dn::AdminGroup::parse(&e.name).ok())
            .flatten()
            .map(|ag| {
                let n = st
                    .store()
                    .fb_messages(&ag)
                    .take(MEMBERS_COUNTED + 1)
                    .count();
                if n > MEMBERS_COUNTED {
                    browse_page::Members::AtLeast(MEMBERS_COUNTED as u64)
                } else {
                    browse_page::Members::Exactly(n as u64)
                }
            });
        RowKind::Folder { members, owner }
    } else {
        RowKind::Message { owner }
    };
    FolderRow {
        note: dn,
        kind,
        size: e.content_length,
        modified: jiff::Timestamp::from_microsecond(e.modified_us).ok(),
        link: Link {
            label: e.name,
            href: e.href,
        },
    }
}

/// The breadcrumb trail of an href: `/public/`, then each folder down to it.
fn crumbs(href: &str) -> Vec<Crumb> {
    let mut at = String::from("/");
    href.split('/')
        .filter(|s| !s.is_empty())
        .map(|seg| {
            at.push_str(seg);
            at.push('/');
            Crumb {
                label: unescape_segment(seg).unwrap_or_else(|_| seg.to_string()),
                href: at.clone(),
            }
        })
        .collect()
}

fn owner_dn(props: &BTreeMap<PropName, PropValue>) -> Option<&str> {
    props
        .get(&PropName::Mapi(tags::FREEBUSY_MESSAGE_EMAIL_ADDRESS))
        .and_then(PropValue::as_str)
}

/// The page of one free/busy message: owner, range, timeline, blocks, raw properties.
fn message_page(st: &AppState, entry: &Entry, rec: &MessageRecord, query: Option<&str>) -> String {
    let dn = owner_dn(&rec.props);
    let user = dn.and_then(|d| {
        st.store()
            .find_user(&UserAddress::Ex(d.to_string()))
            .ok()
            .flatten()
    });
    let props: Vec<(String, String)> = rec
        .props
        .iter()
        .map(|(n, v)| {
            let mut text = Vec::new();
            write_content(&mut text, v);
            (n.to_string(), String::from_utf8_lossy(&text).into_owned())
        })
        .collect();
    let published = match rec
        .props
        .get(&PropName::Mapi(tags::FREEBUSY_RANGE_TIMESTAMP))
    {
        Some(PropValue::SysTime(t)) => Some(FileTime(*t).to_timestamp()),
        _ => None,
    };
    let now = st.clock().now();
    let query_href = user.as_ref().map(|u| {
        let (start, end) = match rec.fb.range {
            Some(r) => (r.start.to_timestamp(), r.end.to_timestamp()),
            None => (now, now + jiff::SignedDuration::from_hours(24 * 30)),
        };
        let addr: String =
            form_urlencoded::byte_serialize(format!("SMTP:{}", u.mail).as_bytes()).collect();
        format!(
            "/public/?Cmd=freebusy&start={}&end={}&interval=30&u={addr}",
            format_rfc3339(start),
            format_rfc3339(end)
        )
    });
    let view = MessageView {
        subject: entry.subject.as_deref().unwrap_or(&rec.subject),
        leaf: &rec.leaf,
        owner_name: user.as_ref().map(|u| u.display_name.as_str()),
        owner_mail: user.as_ref().map(|u| u.mail.as_str()),
        legacy_dn: dn,
        range: rec.fb.range,
        fb: &rec.fb.fb,
        modified: jiff::Timestamp::from_microsecond(rec.modified_us)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        published,
        props: &props,
        query_href: query_href.as_deref(),
        now,
        window: browse_page::Window::from_query(query, now),
    };
    let folder = entry.parent.as_deref().unwrap_or("/public/");
    let folder_name = folder
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .map(|seg| unescape_segment(seg).unwrap_or_else(|_| seg.to_string()))
        .unwrap_or_default();
    let findings = ops::lint_record(&folder_name, rec, None, &ops::directory_lookup(st.store()));
    let views = user
        .as_ref()
        .map(|u| three_views(st, u, rec, view.window, now));
    let (first, views) = match views {
        Some((first, Ok(v))) => (first, Some(v)),
        _ => (Minutes1601(0), None),
    };
    let disagree: Vec<bool> = views.as_ref().map_or_else(Vec::new, |v| {
        (0..v.message.len()).map(|i| v.differs(i)).collect()
    });
    let strip = views.as_ref().map(|v| browse_page::ViewsStrip {
        first,
        interval: STRIP_INTERVAL,
        calendar: v.calendar.as_deref(),
        message: &v.message,
        query: &v.query,
        disagree: &disagree,
        problem: v.problem.as_deref(),
    });
    browse_page::message_page_with_lint(&view, &crumbs(folder), &findings, strip.as_ref())
}

/// Minutes per digit of a message page's "three views" strip.
const STRIP_INTERVAL: u32 = 30;

/// The three views (`schedplus check`'s) of a message's owner over the weeks its page
/// shows; with the whole range shown, the weeks from the range's first Sunday.
fn three_views(
    st: &AppState,
    u: &UserRecord,
    rec: &MessageRecord,
    window: browse_page::Window,
    now: jiff::Timestamp,
) -> (Minutes1601, Result<ops::ThreeViews, String>) {
    let ctx = Ctx::new(st.store())
        .with_clock(*st.clock())
        .with_publish(st.publish_settings().clone());
    let message = StoredFreeBusy::from_props(&rec.props);
    let range = message
        .as_ref()
        .ok()
        .and_then(|m| m.range)
        .unwrap_or_else(|| ctx.publish.range_at(now));
    let first = window.first_day().unwrap_or_else(|| {
        browse_page::Window::Weeks(range.start)
            .first_day()
            .unwrap_or(range.start)
    });
    let grid = SlotGrid {
        start: first,
        interval: STRIP_INTERVAL as i64,
        slots: (browse_page::WEEKS_SHOWN * 7 * 1440 / STRIP_INTERVAL as i64) as usize,
    };
    let views = ops::three_views(&ctx, &u.legacy_dn, message.as_ref().ok(), range, &grid)
        .map_err(|e| e.to_string())
        .map(|mut v| {
            if let Err(e) = &message {
                v.problem = Some(format!("the stored message does not decode: {e}"));
            }
            v
        });
    (first, views)
}
