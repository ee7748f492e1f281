//! The way in from `/`: the landing page ([`landing_page`]) and the query page
//! ([`query_page`]), which draws the digits of a `?Cmd=freebusy` answer as a timeline.
//!
//! Both pages share one form ([`QueryForm`]): start, end, interval and users. It is sent
//! with GET to [`QUERY_PATH`]; its "Show timeline" button draws the answer there, its
//! "Digits (XML)" button (`format=xml`) is sent on by the server to `/public/?Cmd=freebusy`
//! with the same parameters, so a lab sees exactly what a CAS gets. One form rather than
//! two targets because an HTML form cannot leave out empty fields: the server drops the
//! empty user lines before it builds the CAS query.
//!
//! The timeline of an answer has one block per UTC day and, in it, one 24-hour bar per
//! answer item (All Attendees first), each slot coloured by its digit; below it the digits
//! themselves. Sizes are bounded: at most [`MAX_PAGE_USERS`] users, [`MAX_PAGE_SLOTS`]
//! slots per user and [`MAX_PAGE_DIGITS`] digits in all are drawn (the XML answer has only
//! the server's own limits), at most [`MAX_PAGE_DAYS`] days.

use super::timeline::{self, month_name, status_label, weekday_name};
use super::{DOCUMENT_END, Html, document_start, fmt_duration, fmt_hm, group_digits};
use crate::protocol::time::Minutes1601;

/// Where the query form is sent and the timeline of its answer is drawn.
pub const QUERY_PATH: &str = "/query";
/// The public-folder tree a browser starts from.
pub const TREE_HREF: &str = "/public/NON_IPM_SUBTREE/";
/// `SCHEDULE+ FREE BUSY`, escaped as Exchange sends it.
pub const FREE_BUSY_HREF: &str = "/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/";

/// Users drawn on the query page.
pub const MAX_PAGE_USERS: usize = 100;
/// Slots per user drawn on the query page.
pub const MAX_PAGE_SLOTS: usize = 20_000;
/// Digits drawn on the query page, All Attendees included: each may be a coloured piece of
/// its own, so this bounds the page (about 100 bytes a piece) whatever the query.
pub const MAX_PAGE_DIGITS: usize = 100_000;
/// Days drawn on the query page.
pub const MAX_PAGE_DAYS: usize = 62;

const DAY: i64 = 1440;

/// The values the query form shows (as typed, or the defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryForm {
    pub start: String,
    pub end: String,
    pub interval: String,
    /// One address per line.
    pub users: String,
}

/// What the landing page shows.
#[derive(Clone, Debug)]
pub struct LandingView<'a> {
    /// `0.1.0 (git 1a2b3c4d5e6f)`.
    pub version: &'a str,
    /// Directory users and free/busy messages in the store.
    pub users: u64,
    pub messages: u64,
    pub form: &'a QueryForm,
    /// This server: its name, organization and the folders it holds replicas of.
    pub server: ServerView<'a>,
}

/// Which server this is, in a topology of several.
#[derive(Clone, Copy, Debug)]
pub struct ServerView<'a> {
    pub name: &'a str,
    pub organization: &'a str,
    /// `all folders`, or the folder names.
    pub replicas: &'a str,
}

/// One item of a `?Cmd=freebusy` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerRow {
    pub display_name: String,
    /// None for All Attendees.
    pub email: Option<String>,
    /// `0`–`4`, one per slot.
    pub digits: String,
}

/// An answer to draw: its grid and items, and the CAS URL that gives the same digits.
#[derive(Clone, Debug)]
pub struct AnswerView<'a> {
    pub start: Minutes1601,
    /// Minutes per digit.
    pub interval: i64,
    pub rows: &'a [AnswerRow],
    pub xml_href: &'a str,
}

/// What the query page shows: the form, and either an answer or why there is none.
#[derive(Clone, Debug)]
pub struct QueryView<'a> {
    pub version: &'a str,
    pub form: &'a QueryForm,
    pub answer: Option<AnswerView<'a>>,
    /// The query's refusal, as the CAS query would word it.
    pub error: Option<&'a str>,
}

/// The page at `/`.
pub fn landing_page(view: &LandingView<'_>) -> String {
    let mut h = Html::new();
    document_start(&mut h, "schedplus");
    h.raw("<h1>schedplus</h1>\n<p class=\"intro\">An emulator of the Exchange 2000/2003 public-folder free/busy store. \
           It keeps <code>/public/NON_IPM_SUBTREE/SCHEDULE+ FREE BUSY</code> (one folder per administrative group, one \
           message per user) and answers the legacy query <code>GET /public/?Cmd=freebusy</code> that Exchange \
           2007/2010 Client Access servers send for legacy mailboxes.</p>\n");
    h.raw("<ul class=\"ways\">");
    h.raw("<li><a href=\"");
    h.attr(TREE_HREF);
    h.raw("\">Public folders</a> <span class=\"muted\">the tree WebDAV clients see; </span><a href=\"");
    h.attr(FREE_BUSY_HREF);
    h.raw("\">SCHEDULE+ FREE BUSY</a><span class=\"muted\">: one folder per administrative group, a page per user</span></li>");
    h.fmt(format_args!(
        "<li><a href=\"{QUERY_PATH}\">Free/busy query</a> <span class=\"muted\">the form below: the digits a CAS gets, and a timeline of them</span></li>"
    ));
    h.raw("<li><a href=\"/metrics\">Metrics</a> <span class=\"muted\">Prometheus counters</span> · <a href=\"/healthz\">health</a></li>");
    h.raw("</ul>\n");
    h.fmt(format_args!(
        "<p class=\"muted\">The store holds {} directory {} and {} free/busy {}.</p>\n",
        group_digits(view.users),
        if view.users == 1 { "user" } else { "users" },
        group_digits(view.messages),
        if view.messages == 1 {
            "message"
        } else {
            "messages"
        },
    ));
    h.raw("<p class=\"muted\">Server <b>");
    h.text(view.server.name);
    h.raw("</b> of the organization ");
    h.text(view.server.organization);
    h.raw("; it holds replicas of ");
    h.text(view.server.replicas);
    h.raw(".</p>\n");
    h.raw("<h2>Free/busy query</h2>\n");
    query_form(&mut h, view.form);
    version_footer(&mut h, view.version);
    h.raw(DOCUMENT_END);
    h.finish()
}

/// The page at [`QUERY_PATH`].
pub fn query_page(view: &QueryView<'_>) -> String {
    let mut h = Html::new();
    document_start(&mut h, "Free/busy query · schedplus");
    h.raw("<nav class=\"crumbs\" aria-label=\"Breadcrumbs\"><a href=\"/\">schedplus</a><span class=\"sep\">›</span><span aria-current=\"page\">Free/busy query</span></nav>\n");
    h.raw("<h1>Free/busy query</h1>\n");
    query_form(&mut h, view.form);
    if let Some(err) = view.error {
        h.raw("<p class=\"warn\">");
        h.text(err);
        h.raw("</p>\n");
    }
    if let Some(a) = &view.answer {
        answer(&mut h, a);
    }
    version_footer(&mut h, view.version);
    h.raw(DOCUMENT_END);
    h.finish()
}

fn version_footer(h: &mut Html, version: &str) {
    h.raw("<footer>schedplus <span class=\"version\">");
    h.text(version);
    h.raw("</span> · <a href=\"/\">home</a> · <a href=\"");
    h.attr(TREE_HREF);
    h.raw("\">public folders</a> · <a href=\"/metrics\">metrics</a></footer>\n");
}

fn query_form(h: &mut Html, f: &QueryForm) {
    h.fmt(format_args!(
        "<form class=\"query\" method=\"get\" action=\"{QUERY_PATH}\">"
    ));
    let field = |h: &mut Html, name: &str, label: &str, value: &str, hint: &str| {
        h.raw("<label><span>");
        h.raw(label);
        h.raw("</span><input type=\"text\" name=\"");
        h.raw(name);
        h.raw("\" value=\"");
        h.attr(value);
        h.raw("\" placeholder=\"");
        h.attr(hint);
        h.raw("\" required></label>");
    };
    field(h, "start", "Start", &f.start, "2026-11-23T00:00:00Z");
    field(h, "end", "End", &f.end, "2026-11-30T00:00:00Z");
    field(h, "interval", "Interval (minutes)", &f.interval, "30");
    h.raw("<label class=\"users\"><span>Users <small>one per line: SMTP address, alias or EX:legacyExchangeDN</small></span><textarea name=\"users\" rows=\"3\" placeholder=\"danw@xcs.example\" required>");
    h.text(&f.users);
    h.raw("</textarea></label>");
    h.raw("<div class=\"buttons\"><button type=\"submit\">Show timeline</button><button type=\"submit\" name=\"format\" value=\"xml\" class=\"secondary\">Digits (XML, as a CAS gets them)</button></div>");
    h.raw("</form>\n");
}

/// A run of one digit within one day, in minutes from that day's midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    digit: u8,
    start: i64,
    end: i64,
}

/// The runs of `digits` (slot `i` covers `start + i·interval`) that fall in the day
/// starting at midnight `day`, cut at the day's edges; free (`0`) is not drawn.
fn day_runs(digits: &[u8], start: Minutes1601, interval: i64, day: Minutes1601) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let (lo, hi) = (day.0, day.0 + DAY);
    // First slot that may touch the day.
    let first = ((lo - start.0) / interval).max(0) as usize;
    for (i, &d) in digits.iter().enumerate().skip(first) {
        let a = start.0 + i as i64 * interval;
        if a >= hi {
            break;
        }
        let b = a + interval;
        let (a, b) = (a.max(lo) - lo, b.min(hi) - lo);
        if a >= b {
            continue;
        }
        let digit = d.wrapping_sub(b'0');
        match runs.last_mut() {
            Some(r) if r.digit == digit && r.end == a => r.end = b,
            _ => runs.push(Run {
                digit,
                start: a,
                end: b,
            }),
        }
    }
    runs.retain(|r| r.digit != 0);
    runs
}

fn answer(h: &mut Html, a: &AnswerView<'_>) {
    let slots = a.rows.first().map_or(0, |r| r.digits.len());
    let end = a.start.plus_minutes(slots as i64 * a.interval);
    h.fmt(format_args!(
        "<h2>Timeline <small>UTC; {} {} of {} per user; <a href=\"",
        group_digits(slots as u64),
        if slots == 1 { "slot" } else { "slots" },
        fmt_duration(a.interval),
    ));
    h.attr(a.xml_href);
    h.raw("\">the same query as XML</a></small></h2>\n");
    super::legend(h, false);
    let first_day = a.start.floor_day();
    let wanted = ((end.plus_minutes(-1).floor_day().0 - first_day.0) / DAY + 1).max(1) as usize;
    let days = wanted.min(MAX_PAGE_DAYS);
    h.raw("<div class=\"tl qtl\" role=\"img\" aria-label=\"Free/busy answer, one block per day, one bar per user, UTC\">");
    h.raw("<div class=\"scale\"><div class=\"ticks\">");
    for hour in [0, 6, 12, 18, 24] {
        h.fmt(format_args!(
            "<span style=\"left:{}\">{hour:02}:00</span>",
            timeline_pct(hour * 60)
        ));
    }
    h.raw("</div></div>");
    for n in 0..days {
        let day = first_day.plus_minutes(n as i64 * DAY);
        let (y, m, d) = day.civil_date();
        h.fmt(format_args!(
            "<div class=\"mh\" data-day=\"{y:04}-{m:02}-{d:02}\">{} {d} {} {y}</div>",
            weekday_name(day),
            month_name(m)
        ));
        for row in a.rows {
            let digits = row.digits.as_bytes();
            h.raw("<div class=\"day");
            if row.email.is_none() {
                h.raw(" all");
            }
            h.raw("\"><span class=\"dl\" title=\"");
            h.attr(row.email.as_deref().unwrap_or(&row.display_name));
            h.raw("\">");
            h.text(&row.display_name);
            h.raw("</span><div class=\"bar\">");
            // Slots before the query's start or after its end are outside the answer.
            let (lo, hi) = (a.start.0 - day.0, end.0 - day.0);
            if lo > 0 {
                outside(h, 0, lo.min(DAY));
            }
            for r in day_runs(digits, a.start, a.interval, day) {
                h.fmt(format_args!(
                    "<i class=\"s{}\" style=\"left:{};width:{}\" title=\"{} {}–{} ({})\"></i>",
                    r.digit.min(timeline::NO_DATA),
                    timeline_pct(r.start),
                    timeline_pct(r.end - r.start),
                    status_label(r.digit),
                    fmt_hm(r.start),
                    fmt_hm(r.end),
                    fmt_duration(r.end - r.start)
                ));
            }
            if hi < DAY {
                outside(h, hi.max(0), DAY);
            }
            h.raw("</div></div>");
        }
    }
    h.raw("</div>");
    if days < wanted {
        h.fmt(format_args!(
            "<p class=\"note\">The timeline stops after {days} days of {}; the digits below are complete.</p>",
            group_digits(wanted as u64)
        ));
    }
    h.raw("\n<h2>Digits <small>0 free, 1 tentative, 2 busy, 3 out of office, 4 no data</small></h2>\n<dl class=\"digits\">");
    for row in a.rows {
        h.raw("<dt>");
        h.text(&row.display_name);
        if let Some(mail) = &row.email {
            h.raw(" <span class=\"muted\">");
            h.text(mail);
            h.raw("</span>");
        }
        h.raw("</dt><dd><code class=\"fbdata\">");
        h.text(&row.digits);
        h.raw("</code></dd>");
    }
    h.raw("</dl>\n");
}

/// A part of a day outside the query's start..end, drawn faint.
fn outside(h: &mut Html, start: i64, end: i64) {
    if end > start {
        h.fmt(format_args!(
            "<i class=\"outq\" style=\"left:{};width:{}\" title=\"outside the query\"></i>",
            timeline_pct(start),
            timeline_pct(end - start)
        ));
    }
}

fn timeline_pct(minutes: i64) -> String {
    format!("{:.2}%", minutes as f64 * 100.0 / DAY as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_cut_at_midnight_and_skip_free() {
        // 2026-11-26 22:00 + 4 slots of 60 minutes: 22-23 busy, 23-00 busy, 00-01 oof, 01-02 free.
        let start = Minutes1601::from_civil(2026, 11, 26).plus_minutes(22 * 60);
        let day1 = Minutes1601::from_civil(2026, 11, 26);
        let day2 = Minutes1601::from_civil(2026, 11, 27);
        assert_eq!(
            day_runs(b"2230", start, 60, day1),
            vec![Run {
                digit: 2,
                start: 22 * 60,
                end: DAY
            }]
        );
        assert_eq!(
            day_runs(b"2230", start, 60, day2),
            vec![Run {
                digit: 3,
                start: 0,
                end: 60
            }]
        );
        // A slot of 90 minutes straddling midnight lands in both days.
        let s = Minutes1601::from_civil(2026, 11, 26).plus_minutes(23 * 60);
        assert_eq!(day_runs(b"1", s, 90, day2)[0].end, 30);
    }
}
