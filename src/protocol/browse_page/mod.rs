//! The HTML pages a lab admin sees when browsing the store with a web browser.
//!
//! Owns the rendering of folder listings ([`folder_page_head`], [`folder_row`],
//! [`folder_page_tail`], written in three parts so that a folder of 100,000 messages can be
//! streamed; with a filter box, owners' names and addresses, per-group user counts), of one
//! free/busy message ([`message_page`] from a [`MessageView`], with the day-by-day
//! [`timeline`] picture of what the `?Cmd=freebusy` query will answer, opening on this
//! week's [`Window`]), of the landing page at `/` and the query page's timeline
//! ([`landing`]) and of errors ([`error_page`]).
//!
//! Pure: no I/O, no clock (`now` is an input), no knowledge of URLs beyond the hrefs it is
//! handed. Every page is self-contained HTML5 (inline CSS from `style.css`, no script, no
//! external resource: lab machines have no network). Every piece of text and every
//! attribute value goes through the XML escaping of [`dav_xml::values`], which is also
//! right for HTML; attributes are always double-quoted.
//!
//! Sizes are bounded whatever the message holds: the timeline stops at
//! [`timeline::MAX_TIMELINE_DAYS`] days, the block list at [`MAX_BLOCKS_LISTED`] per status,
//! the raw properties at [`MAX_PROPS_LISTED`] rows of [`MAX_PROP_VALUE_CHARS`] characters.
//!
//! [`dav_xml::values`]: crate::protocol::dav_xml::values

pub mod landing;
mod lint_section;
mod three_views;
pub mod timeline;

pub use lint_section::message_page_with_lint;
pub use three_views::ViewsStrip;

use std::fmt;

use jiff::Timestamp;

use crate::protocol::dav_xml::values::{escape_attr, escape_text};
use crate::protocol::freebusy::{FbStatus, FreeBusy, Interval, PublishRange};
use crate::protocol::time::{Minutes1601, format_rfc3339};

const STYLE: &str = include_str!("style.css");

/// Blocks listed per status before "… and N more".
pub const MAX_BLOCKS_LISTED: usize = 500;
/// Rows of the raw-properties table.
pub const MAX_PROPS_LISTED: usize = 200;
/// Characters of one property value shown before it is cut.
pub const MAX_PROP_VALUE_CHARS: usize = 1000;

/// A link to a place in the store: a folder listing's entry, a step of the breadcrumbs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Link {
    /// Shown, unescaped.
    pub label: String,
    /// Already URL-escaped.
    pub href: String,
}

/// One step of the breadcrumb trail, root first.
pub type Crumb = Link;

/// One entry of a folder listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FolderRow {
    /// The entry's name and where it is.
    pub link: Link,
    pub kind: RowKind,
    /// Drawn only when after 1970-01-01 (the store's fixed folders have no date).
    pub modified: Option<Timestamp>,
    pub size: Option<u64>,
    /// e.g. the legacyExchangeDN of a free/busy message's owner.
    pub note: Option<String>,
}

/// A folder or a message, with what the Note column tells of each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowKind {
    /// For an admin-group folder, the free/busy messages (one per user) it holds; for a
    /// folder whose properties name an owner (a PROPPATCH may set one), that owner.
    Folder {
        members: Option<Members>,
        owner: Option<Owner>,
    },
    /// For a free/busy message, its owner, when the directory knows them.
    Message { owner: Option<Owner> },
}

impl Default for RowKind {
    fn default() -> RowKind {
        RowKind::Message { owner: None }
    }
}

/// The directory user a free/busy message belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owner {
    pub display_name: String,
    pub mail: String,
}

/// How many messages a folder holds, counted up to a bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Members {
    Exactly(u64),
    /// The count stopped here; the folder holds more.
    AtLeast(u64),
}

impl FolderRow {
    pub fn is_folder(&self) -> bool {
        matches!(self.kind, RowKind::Folder { .. })
    }

    /// The owner its properties name, when the directory knows them: a free/busy
    /// message's, or any item's or folder's a PROPPATCH gave one.
    pub fn owner(&self) -> Option<&Owner> {
        match &self.kind {
            RowKind::Message { owner } | RowKind::Folder { owner, .. } => owner.as_ref(),
        }
    }

    /// Does the row match the listing filter? `needle` is compared, ignoring case, with
    /// the name, the note and the owner's name and address.
    pub fn matches(&self, needle: &str) -> bool {
        let needle = needle.trim().to_lowercase();
        if needle.is_empty() {
            return true;
        }
        let hit = |s: &str| s.to_lowercase().contains(&needle);
        hit(&self.link.label)
            || self.note.as_deref().is_some_and(hit)
            || self
                .owner()
                .is_some_and(|o| hit(&o.display_name) || hit(&o.mail))
    }
}

/// The `filter=` value of a listing's query string, if any is set.
pub fn listing_filter(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "filter")
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Everything the message page shows about one free/busy message.
#[derive(Clone, Debug)]
pub struct MessageView<'a> {
    pub subject: &'a str,
    pub leaf: &'a str,
    pub owner_name: Option<&'a str>,
    pub owner_mail: Option<&'a str>,
    pub legacy_dn: Option<&'a str>,
    pub range: Option<PublishRange>,
    pub fb: &'a FreeBusy,
    pub modified: Timestamp,
    pub published: Option<Timestamp>,
    /// (property name, value summary) for the raw-properties table.
    pub props: &'a [(String, String)],
    /// A ready `?Cmd=freebusy` link for this user.
    pub query_href: Option<&'a str>,
    pub now: Timestamp,
    /// The days the timeline shows.
    pub window: Window,
}

/// Weeks the message page's timeline shows at once, from the week of "now" unless the
/// page is asked for others: enough to see this week's and the next two weeks' plans (an
/// out-of-office week included) without scrolling.
pub const WEEKS_SHOWN: i64 = 3;

/// Which days a message page's timeline shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// The whole publish range, padded to whole weeks (up to the timeline's cap).
    All,
    /// [`WEEKS_SHOWN`] weeks from the Sunday on or before this day.
    Weeks(Minutes1601),
}

impl Window {
    /// The window a message page's query string asks for: `week=YYYY-MM-DD` (any day of
    /// the first week), `week=all`, or, absent or unreadable, the weeks from `now`.
    pub fn from_query(query: Option<&str>, now: Timestamp) -> Window {
        let asked = query.and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "week")
                .map(|(_, v)| v.trim().to_string())
        });
        match asked.as_deref() {
            Some(v) if v.eq_ignore_ascii_case("all") => Window::All,
            Some(v) => match v.parse::<jiff::civil::Date>() {
                Ok(d) => Window::Weeks(Minutes1601::from_civil(
                    d.year() as i32,
                    d.month() as u8,
                    d.day() as u8,
                )),
                Err(_) => Window::Weeks(Minutes1601::from_timestamp(now)),
            },
            None => Window::Weeks(Minutes1601::from_timestamp(now)),
        }
    }

    /// The Sunday the window starts on, if it is a window of weeks.
    pub fn first_day(self) -> Option<Minutes1601> {
        match self {
            Window::All => None,
            Window::Weeks(m) => {
                let day = m.floor_day();
                Some(day.plus_minutes(-(day.weekday() as i64) * 1440))
            }
        }
    }
}

/// An HTML document being written. Text and attribute values go through [`Html::text`] and
/// [`Html::attr`]; only markup this module spells out goes through [`Html::raw`].
pub struct Html {
    buf: Vec<u8>,
}

impl Html {
    fn new() -> Self {
        Html {
            buf: Vec::with_capacity(8 * 1024),
        }
    }

    fn raw(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    fn text(&mut self, s: &str) {
        escape_text(&mut self.buf, s);
    }

    fn attr(&mut self, s: &str) {
        escape_attr(&mut self.buf, s);
    }

    /// Formatted markup; the arguments must already be safe (numbers, or text this module
    /// controls).
    fn fmt(&mut self, args: fmt::Arguments<'_>) {
        use std::io::Write;
        self.buf
            .write_fmt(args)
            .expect("writing to a Vec cannot fail");
    }

    fn finish(self) -> String {
        String::from_utf8(self.buf).expect("escaping keeps UTF-8 intact")
    }
}

fn document_start(h: &mut Html, title: &str) {
    h.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    h.raw("<meta name=\"generator\" content=\"schedplus\"><title>");
    h.text(title);
    h.raw("</title><style>\n");
    h.raw(STYLE);
    h.raw("</style></head>\n<body><main>\n");
}

const DOCUMENT_END: &str = "</main></body></html>\n";

/// The trail; `current` (if any) is appended as the page itself, not a link.
fn crumbs_nav(h: &mut Html, crumbs: &[Crumb], current: Option<&str>) {
    if crumbs.is_empty() && current.is_none() {
        return;
    }
    h.raw("<nav class=\"crumbs\" aria-label=\"Breadcrumbs\">");
    let n = crumbs.len();
    for (i, c) in crumbs.iter().enumerate() {
        if i > 0 {
            h.raw("<span class=\"sep\">›</span>");
        }
        if i + 1 == n && current.is_none() {
            h.raw("<span aria-current=\"page\">");
            h.text(&c.label);
            h.raw("</span>");
        } else {
            h.raw("<a href=\"");
            h.attr(&c.href);
            h.raw("\">");
            h.text(&c.label);
            h.raw("</a>");
        }
    }
    if let Some(cur) = current {
        if n > 0 {
            h.raw("<span class=\"sep\">›</span>");
        }
        h.raw("<span aria-current=\"page\">");
        h.text(cur);
        h.raw("</span>");
    }
    h.raw("</nav>\n");
}

// ---------------------------------------------------------------------------------------
// Folder listing

/// The start of a folder page, up to the open table body. `crumbs` lead down to and include
/// this folder (the last one is drawn as the current page).
///
/// Every listing has a filter box: a plain GET form (no script, so it works under any
/// Content-Security-Policy) whose `filter` the server applies to the rows it streams
/// ([`FolderRow::matches`]); `filter` is the one in force, shown in the box.
pub fn folder_page_head(
    title: &str,
    crumbs: &[Crumb],
    intro: Option<&str>,
    filter: Option<&str>,
) -> String {
    let mut h = Html::new();
    document_start(&mut h, title);
    crumbs_nav(&mut h, crumbs, None);
    h.raw("<h1>");
    h.text(title);
    h.raw("</h1>\n");
    if let Some(intro) = intro {
        h.raw("<p class=\"intro\">");
        h.text(intro);
        h.raw("</p>\n");
    }
    h.raw("<form class=\"filter\" method=\"get\" role=\"search\"><input type=\"search\" name=\"filter\" value=\"");
    h.attr(filter.unwrap_or(""));
    h.raw("\" placeholder=\"Filter by name, address or legacyExchangeDN\" aria-label=\"Filter\"><button type=\"submit\">Filter</button>");
    if filter.is_some() {
        h.raw("<a href=\"?\">show all</a>");
    }
    h.raw("</form>\n");
    h.raw(
        "<table class=\"list\"><thead><tr><th>Name</th><th>Modified</th>\
         <th class=\"size\">Size</th><th class=\"note\">Note</th></tr></thead><tbody>",
    );
    h.finish()
}

/// One `<tr>` of a folder listing.
pub fn folder_row(row: &FolderRow) -> String {
    let mut h = Html::new();
    // The icon and the name sit in one flex box, so a long name wraps beside its icon.
    h.raw("\n<tr><td class=\"name\"><div class=\"nm\"><span class=\"ic ");
    h.raw(if row.is_folder() { "dir" } else { "msg" });
    h.raw("\" aria-hidden=\"true\"></span><a href=\"");
    h.attr(&row.link.href);
    h.raw("\">");
    h.text(&row.link.label);
    h.raw("</a></div></td><td class=\"when\">");
    if let Some(ts) = row.modified.filter(|t| t.as_second() > 0) {
        time_element(&mut h, ts);
    }
    h.raw("</td><td class=\"size\">");
    match row.size {
        Some(bytes) => {
            h.fmt(format_args!(
                "<span title=\"{} bytes\">{}</span>",
                group_digits(bytes),
                human_size(bytes)
            ));
        }
        None if row.is_folder() => {}
        None => h.raw("—"),
    }
    h.raw("</td><td class=\"note\">");
    if let Some(o) = row.owner() {
        h.raw("<span class=\"person\">");
        h.text(&o.display_name);
        h.raw("</span> <a class=\"mail\" href=\"mailto:");
        h.attr(&o.mail);
        h.raw("\">");
        h.text(&o.mail);
        h.raw("</a>");
    }
    if let RowKind::Folder {
        members: Some(m), ..
    } = row.kind
    {
        let (n, more) = match m {
            Members::Exactly(n) => (n, ""),
            Members::AtLeast(n) => (n, "+"),
        };
        h.fmt(format_args!(
            "<span class=\"members\" title=\"free/busy messages in this folder, one per user\">{}{more} {}</span>",
            group_digits(n),
            if n == 1 && more.is_empty() { "user" } else { "users" }
        ));
    }
    if let Some(note) = &row.note {
        if row.owner().is_some() {
            h.raw("<br><code class=\"dn\">");
            h.text(note);
            h.raw("</code>");
        } else {
            h.text(note);
        }
    }
    h.raw("</td></tr>");
    h.finish()
}

/// The end of a folder page; `count` is the number of rows written, `filter` the filter
/// that chose them (if any) and `of` the rows there were before it.
pub fn folder_page_tail(count: usize, filter: Option<(&str, usize)>) -> String {
    let mut h = Html::new();
    h.raw("</tbody></table>\n");
    match filter {
        Some((needle, _)) if count == 0 => {
            h.raw("<p class=\"empty\">Nothing here matches “");
            h.text(needle);
            h.raw("”.</p>\n");
        }
        None if count == 0 => h.raw("<p class=\"empty\">This folder is empty.</p>\n"),
        _ => {}
    }
    match filter {
        Some((needle, of)) => {
            h.fmt(format_args!(
                "<footer>{} of {} {} {} “",
                group_digits(count as u64),
                group_digits(of as u64),
                if of == 1 { "item" } else { "items" },
                if count == 1 { "matches" } else { "match" },
            ));
            h.text(needle);
            h.raw("”</footer>\n");
        }
        None => h.fmt(format_args!(
            "<footer>{} {}</footer>\n",
            group_digits(count as u64),
            if count == 1 { "item" } else { "items" }
        )),
    }
    h.raw(DOCUMENT_END);
    h.finish()
}

// ---------------------------------------------------------------------------------------
// Error page

/// A page for a 4xx/5xx answered to a browser.
pub fn error_page(status: u16, title: &str, detail: &str) -> String {
    let mut h = Html::new();
    document_start(&mut h, &format!("{status} {title}"));
    h.fmt(format_args!("<div class=\"err-code\">{status}</div>"));
    h.raw("<h1>");
    h.text(title);
    h.raw("</h1>\n<p class=\"intro\">");
    h.text(detail);
    h.raw("</p>\n<footer><a href=\"/public/\">Public folders</a></footer>\n");
    h.raw(DOCUMENT_END);
    h.finish()
}

// ---------------------------------------------------------------------------------------
// Message page

/// The page of one free/busy message. `crumbs` lead down to and include the folder holding
/// it; the page appends the message's own leaf as the current step.
pub fn message_page(view: &MessageView<'_>, crumbs: &[Crumb]) -> String {
    let mut h = Html::new();
    let heading = view.owner_name.unwrap_or(view.subject);
    document_start(&mut h, &format!("{heading} · free/busy"));
    crumbs_nav(&mut h, crumbs, Some(view.leaf));

    h.raw("<h1>");
    h.text(heading);
    h.raw("</h1>\n");
    if let Some(mail) = view.owner_mail {
        h.raw("<p class=\"owner-mail\"><a href=\"mailto:");
        h.attr(mail);
        h.raw("\">");
        h.text(mail);
        h.raw("</a></p>\n");
    }

    // The timeline comes first, so the page opens on this week's plans.
    let range = view.range.and_then(PublishRange::as_interval);
    let now = Minutes1601::from_timestamp(view.now);
    h.raw("<h2>Timeline <small>UTC, one row per day; what <code>?Cmd=freebusy</code> answers</small></h2>\n");
    week_nav(&mut h, view.window, now);
    legend(&mut h, true);
    let days = view.window.first_day().map(|first| timeline::Span {
        first,
        days: (WEEKS_SHOWN * 7) as usize,
        wanted: WEEKS_SHOWN * 7,
    });
    timeline::render(&mut h, view.fb, range, now, days);

    h.raw("\n<h2>Message</h2>\n");
    facts(&mut h, view, crumbs);

    h.raw("\n<h2>Blocks</h2>\n");
    totals(&mut h, view.fb);
    let outside = range.map_or(0, |r| count_outside(view.fb, r));
    if outside > 0 {
        h.fmt(format_args!(
            "<p class=\"warn\">{} {} outside the publish range: the query answers 4 (no data) there.</p>\n",
            group_digits(outside as u64),
            if outside == 1 { "block lies" } else { "blocks lie" }
        ));
    }
    for status in FbStatus::MARKED {
        block_list(&mut h, view.fb, status, range);
    }

    h.fmt(format_args!(
        "\n<details><summary>Raw properties ({})</summary>\n",
        group_digits(view.props.len() as u64)
    ));
    props_table(&mut h, view.props);
    h.raw("</details>\n");
    h.raw("<footer>Rendered ");
    time_element(&mut h, view.now);
    h.raw(" by schedplus. Times are UTC.</footer>\n");
    h.raw(DOCUMENT_END);
    h.finish()
}

fn facts(h: &mut Html, view: &MessageView<'_>, crumbs: &[Crumb]) {
    h.raw("<dl class=\"facts\">");
    let row = |h: &mut Html, label: &str| {
        h.raw("<dt>");
        h.raw(label);
        h.raw("</dt><dd>");
    };
    if let Some(dn) = view.legacy_dn {
        row(h, "legacyExchangeDN");
        h.raw("<code>");
        h.text(dn);
        h.raw("</code></dd>");
    }
    if view.owner_name.is_none() {
        // Exchange stored messages for people the directory does not list, and so does
        // schedplus; the query answers no data for them, which this says up front.
        row(h, "Owner");
        h.raw("<strong class=\"not-in-directory\">not in the directory</strong>: the query answers 4 (no data) for this message until the directory lists its owner</dd>");
    }
    row(h, "Subject");
    h.raw("<code>");
    h.text(view.subject);
    h.raw("</code></dd>");
    if let Some(folder) = crumbs.last() {
        row(h, "Folder");
        h.raw("<a href=\"");
        h.attr(&folder.href);
        h.raw("\">");
        h.text(&folder.label);
        h.raw("</a></dd>");
    }
    row(h, "Data valid");
    match view.range {
        Some(r) if r.as_interval().is_some() => {
            h.fmt(format_args!(
                "from <strong>{}</strong> to <strong>{}</strong> <span class=\"muted\">({} days)</span></dd>",
                fmt_instant(r.start),
                fmt_instant(r.end),
                group_digits(((r.end.0 - r.start.0) / 1440) as u64),
            ));
        }
        Some(r) => {
            h.fmt(format_args!(
                "<span class=\"warn\">empty or inverted range ({} to {}): the query ignores it and trusts the blocks everywhere</span></dd>",
                fmt_instant(r.start),
                fmt_instant(r.end)
            ));
        }
        None => h.raw(
            "<span class=\"muted\">no publish range: the query trusts the blocks everywhere</span></dd>",
        ),
    }
    row(h, "Last published");
    match view.published {
        Some(ts) => {
            time_element(h, ts);
            h.raw(" <span class=\"muted\">(");
            h.raw(&fmt_ago(ts, view.now));
            h.raw(")</span></dd>");
        }
        None => h.raw("<span class=\"muted\">not recorded</span></dd>"),
    }
    row(h, "Modified in store");
    time_element(h, view.modified);
    h.raw(" <span class=\"muted\">(");
    h.raw(&fmt_ago(view.modified, view.now));
    h.raw(")</span></dd>");
    if let Some(q) = view.query_href {
        row(h, "CAS query");
        h.raw("<a href=\"");
        h.attr(q);
        h.raw("\">?Cmd=freebusy for this user</a></dd>");
    }
    h.raw("</dl>\n");
}

/// Links to the weeks before and after the window, back to this week, and to the whole
/// range. Relative (`?week=…`), so they work whatever the message's URL.
fn week_nav(h: &mut Html, window: Window, now: Minutes1601) {
    let this_week = Window::Weeks(now).first_day().expect("a window of weeks");
    let link = |h: &mut Html, first: Minutes1601, label: &str| {
        let (y, m, d) = first.civil_date();
        h.fmt(format_args!(
            "<a href=\"?week={y:04}-{m:02}-{d:02}\">{label}</a>"
        ));
    };
    h.raw("<nav class=\"weeks\" aria-label=\"Weeks\">");
    match window.first_day() {
        Some(first) => {
            let step = WEEKS_SHOWN * 7 * 1440;
            link(h, first.plus_minutes(-step), "← Earlier weeks");
            let (y, m, d) = first.civil_date();
            h.fmt(format_args!(
                "<span class=\"shown\">{} weeks from {} {d} {} {y}</span>",
                WEEKS_SHOWN,
                timeline::weekday_name(first),
                &timeline::month_name(m)[..3]
            ));
            link(h, first.plus_minutes(step), "Later weeks →");
            if first != this_week {
                link(h, this_week, "This week");
            }
            h.raw("<a href=\"?week=all\">Whole publish range</a>");
        }
        None => {
            h.raw("<span class=\"shown\">The whole publish range</span>");
            link(h, this_week, "This week");
        }
    }
    h.raw("</nav>\n");
}

/// The colours of the digits, and the "now" line where the picture draws one.
fn legend(h: &mut Html, with_now: bool) {
    h.raw("<div class=\"legend\">");
    for digit in 0..=4u8 {
        h.fmt(format_args!(
            "<span><span class=\"sw s{digit}\"></span>{digit} {}</span>",
            timeline::status_label(digit).to_lowercase()
        ));
    }
    if with_now {
        h.raw("<span><span class=\"now-sw\"></span>now</span>");
    }
    h.raw("</div>\n");
}

fn totals(h: &mut Html, fb: &FreeBusy) {
    h.raw(
        "<table class=\"totals\"><thead><tr><th>Status</th><th>Blocks</th><th>Time</th></tr></thead><tbody>",
    );
    for status in FbStatus::MARKED {
        let set = fb.get(status).expect("marked statuses have sets");
        h.fmt(format_args!(
            "<tr><td><span class=\"sw s{}\"></span>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            status as u8,
            timeline::status_label(status as u8),
            group_digits(set.len() as u64),
            fmt_duration(set.total_minutes()),
        ));
    }
    h.raw("</tbody></table>\n");
}

fn count_outside(fb: &FreeBusy, range: Interval) -> usize {
    FbStatus::MARKED
        .iter()
        .filter_map(|&s| fb.get(s))
        .map(|set| set.len() - set.overlapping(range).len())
        .sum()
}

fn block_list(h: &mut Html, fb: &FreeBusy, status: FbStatus, range: Option<Interval>) {
    let set = fb.get(status).expect("marked statuses have sets");
    h.fmt(format_args!(
        "<h3><span class=\"sw s{}\"></span>{}",
        status as u8,
        timeline::status_label(status as u8)
    ));
    if set.is_empty() {
        h.raw(" <small>none</small></h3>\n");
        return;
    }
    h.fmt(format_args!(
        " <small>{} {}, {}</small></h3>\n<ul class=\"blocks\">",
        group_digits(set.len() as u64),
        if set.len() == 1 { "block" } else { "blocks" },
        fmt_duration(set.total_minutes())
    ));
    for iv in set.iter().take(MAX_BLOCKS_LISTED) {
        h.raw("<li>");
        h.raw(&fmt_interval(iv));
        h.fmt(format_args!(
            " <span class=\"dur\">({})</span>",
            fmt_duration(iv.len_minutes())
        ));
        if let Some(r) = range {
            match iv.intersect(r) {
                None => h.raw("<span class=\"flag\">outside range</span>"),
                Some(i) if i != iv => h.raw("<span class=\"flag\">partly outside range</span>"),
                Some(_) => {}
            }
        }
        h.raw("</li>");
    }
    h.raw("</ul>\n");
    and_more(h, set.len(), MAX_BLOCKS_LISTED);
}

/// `… and N more` under a list of `total` items cut at `shown`; nothing when none was cut.
fn and_more(h: &mut Html, total: usize, shown: usize) {
    if total > shown {
        h.fmt(format_args!(
            "<p class=\"more\">… and {} more</p>\n",
            group_digits((total - shown) as u64)
        ));
    }
}

fn props_table(h: &mut Html, props: &[(String, String)]) {
    if props.is_empty() {
        h.raw("<p class=\"muted\">No properties.</p>\n");
        return;
    }
    h.raw("<table class=\"props\"><thead><tr><th>Property</th><th>Value</th></tr></thead><tbody>");
    for (name, value) in props.iter().take(MAX_PROPS_LISTED) {
        h.raw("\n<tr><td><code>");
        h.text(name);
        h.raw("</code></td><td><code>");
        match value.char_indices().nth(MAX_PROP_VALUE_CHARS) {
            Some((cut, _)) => {
                h.text(&value[..cut]);
                h.fmt(format_args!(
                    "</code> <span class=\"more\">… ({} characters in all)</span><code>",
                    group_digits(value.chars().count() as u64)
                ));
            }
            None => h.text(value),
        }
        h.raw("</code></td></tr>");
    }
    h.raw("</tbody></table>\n");
    and_more(h, props.len(), MAX_PROPS_LISTED);
}

// ---------------------------------------------------------------------------------------
// Readable times and numbers

/// `<time datetime="2026-11-24T09:15:00Z">2026-11-24 09:15 UTC</time>`.
fn time_element(h: &mut Html, ts: Timestamp) {
    h.raw("<time datetime=\"");
    h.raw(&format_rfc3339(ts));
    h.raw("\">");
    h.raw(&ts.strftime("%Y-%m-%d %H:%M UTC").to_string());
    h.raw("</time>");
}

/// `09:05` for a minute of the day; 1440 is `24:00`.
fn fmt_hm(minute_of_day: i64) -> String {
    format!("{:02}:{:02}", minute_of_day / 60, minute_of_day % 60)
}

/// `Tue 2026-11-24`.
fn fmt_date(m: Minutes1601) -> String {
    let (y, mo, d) = m.civil_date();
    format!("{} {y:04}-{mo:02}-{d:02}", timeline::weekday_name(m))
}

/// `Tue 2026-11-24 09:00 UTC`.
fn fmt_instant(m: Minutes1601) -> String {
    format!("{} {} UTC", fmt_date(m), fmt_hm(m.0 - m.floor_day().0))
}

/// `Tue 2026-11-24 09:00–10:30 UTC` within one day (ending at midnight is `24:00`),
/// `Fri 2026-11-27 18:00 – Mon 2026-11-30 09:00 UTC` across days.
fn fmt_interval(iv: Interval) -> String {
    let day = iv.start().floor_day();
    let from = fmt_hm(iv.start().0 - day.0);
    if iv.end().0 - day.0 <= 1440 {
        format!(
            "{} {from}–{} UTC",
            fmt_date(day),
            fmt_hm(iv.end().0 - day.0)
        )
    } else {
        let end = iv.end();
        format!(
            "{} {from} – {} {} UTC",
            fmt_date(day),
            fmt_date(end),
            fmt_hm(end.0 - end.floor_day().0)
        )
    }
}

/// `45m`, `1h`, `1h30`, `5d`, `2d 15h`, `2d 15h30`.
fn fmt_duration(minutes: i64) -> String {
    let (d, h, m) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    let hm = match (h, m) {
        (0, 0) => String::new(),
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m:02}"),
    };
    match (d, hm.is_empty()) {
        (0, true) => "0m".to_string(),
        (0, false) => hm,
        (d, true) => format!("{d}d"),
        (d, false) => format!("{d}d {hm}"),
    }
}

/// `3 hours ago`, `in 2 minutes` (clock skew), `just now`.
fn fmt_ago(then: Timestamp, now: Timestamp) -> String {
    let secs = now.as_second() - then.as_second();
    let abs = secs.unsigned_abs();
    if abs < 60 {
        return "just now".to_string();
    }
    let (n, unit) = match abs {
        a if a < 3600 => (a / 60, "minute"),
        a if a < 86_400 => (a / 3600, "hour"),
        a => (a / 86_400, "day"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if secs > 0 {
        format!("{n} {unit}{plural} ago")
    } else {
        format!("in {n} {unit}{plural}")
    }
}

/// `100,000`.
fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `812 B`, `1.2 KB`, `3.4 MB`.
fn human_size(bytes: u64) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if b < K * K {
        format!("{:.1} KB", b / K)
    } else if b < K * K * K {
        format!("{:.1} MB", b / (K * K))
    } else {
        format!("{:.1} GB", b / (K * K * K))
    }
}

#[cfg(test)]
mod tests;
