//! The "three views" strip of a message page (issue 16 item 4): for the weeks the page
//! shows, one line per day for each view `schedplus check` compares (the calendar's
//! expansion, the stored message decoded, the `?Cmd=freebusy` digits), the slots where they
//! disagree marked with a class and a visible `!` row beneath (no script, no inline style:
//! the page's CSP).
//!
//! The digits and the disagreements come from the caller (`app::ops::three_views`, the code
//! `schedplus check` runs); this file only draws them.

use super::Html;
use super::timeline::{month_name, weekday_name};
use crate::protocol::time::Minutes1601;

/// What the strip draws: digits per slot from `first`, `interval` minutes each.
pub struct ViewsStrip<'a> {
    pub first: Minutes1601,
    pub interval: u32,
    /// The calendar's digits; `None` when the user has no stored calendar.
    pub calendar: Option<&'a [u8]>,
    pub message: &'a [u8],
    pub query: &'a [u8],
    /// Per slot: do the views disagree there?
    pub disagree: &'a [bool],
    /// Why a view could not be made (a calendar that does not expand).
    pub problem: Option<&'a str>,
}

const DAY: i64 = 1440;

/// The strip's section: heading, legend, one block of rows per day.
pub fn section(s: &ViewsStrip<'_>) -> String {
    let mut h = Html::new();
    let n = s.disagree.iter().filter(|d| **d).count();
    h.raw("\n<h2>Three views <small>");
    h.fmt(format_args!(
        "calendar, message, query at {} minutes per digit, as <code>schedplus check</code> compares them; ",
        s.interval
    ));
    match n {
        0 => h.raw("they agree"),
        1 => h.raw("1 slot disagrees"),
        n => h.fmt(format_args!("{n} slots disagree")),
    }
    h.raw("</small></h2>\n<p class=\"muted\">Digits: 0 free, 1 tentative, 2 busy, 3 out of office, 4 no data. ");
    h.raw("<mark class=\"disagree\">Marked</mark> slots (<code>!</code> beneath) are where the views disagree.");
    if s.calendar.is_none() {
        h.raw(" This user has no calendar stored: no calendar row.");
    }
    h.raw("</p>\n");
    if let Some(p) = s.problem {
        h.raw("<p class=\"problem\">");
        h.text(p);
        h.raw("</p>\n");
    }
    let per_day = (DAY / s.interval.max(1) as i64).max(1) as usize;
    let slots = s.message.len().max(s.query.len());
    h.raw("<table class=\"views\"><tbody>");
    for (d, first_slot) in (0..slots).step_by(per_day).enumerate() {
        let day = s.first.plus_minutes(d as i64 * DAY);
        let (_, m, dd) = day.civil_date();
        let end = (first_slot + per_day).min(slots);
        let label = format!("{} {dd} {}", &weekday_name(day)[..3], &month_name(m)[..3]);
        let rows: [(&str, Option<&[u8]>); 3] = [
            ("calendar", s.calendar),
            ("message", Some(s.message)),
            ("query", Some(s.query)),
        ];
        for (i, (name, digits)) in rows.iter().enumerate() {
            h.raw("\n<tr>");
            if i == 0 {
                h.raw("<th rowspan=\"4\">");
                h.text(&label);
                h.raw("</th>");
            }
            h.fmt(format_args!("<td>{name}</td><td><code>"));
            match digits {
                None => h.raw("<span class=\"muted\">no calendar</span>"),
                Some(v) => {
                    for slot in first_slot..end {
                        let c = v.get(slot).map_or('-', |&b| char::from(b));
                        if s.disagree.get(slot).copied().unwrap_or(false) {
                            h.fmt(format_args!("<span class=\"disagree\">{c}</span>"));
                        } else {
                            h.fmt(format_args!("{c}"));
                        }
                    }
                }
            }
            h.raw("</code></td></tr>");
        }
        h.raw("\n<tr class=\"marks\"><td></td><td><code>");
        for slot in first_slot..end {
            h.raw(if s.disagree.get(slot).copied().unwrap_or(false) {
                "!"
            } else {
                " "
            });
        }
        h.raw("</code></td></tr>");
    }
    h.raw("</tbody></table>\n");
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disagreeing_slot_is_marked_in_every_row_and_beneath() {
        let first = Minutes1601::from_civil(2026, 11, 22);
        let mut message = vec![b'0'; 48];
        message[18] = b'2';
        let query = message.clone();
        let calendar = vec![b'0'; 48];
        let disagree: Vec<bool> = (0..48).map(|i| calendar[i] != message[i]).collect();
        let html = section(&ViewsStrip {
            first,
            interval: 30,
            calendar: Some(&calendar),
            message: &message,
            query: &query,
            disagree: &disagree,
            problem: None,
        });
        assert!(html.contains("1 slot disagrees"), "{html}");
        assert!(html.contains("Sun 22 Nov"), "{html}");
        let msg_row = format!(
            "<td>message</td><td><code>{}<span class=\"disagree\">2</span>{}</code>",
            "0".repeat(18),
            "0".repeat(29)
        );
        assert!(html.contains(&msg_row), "{html}");
        assert!(html.contains(&format!(
            "<td>calendar</td><td><code>{}<span class=\"disagree\">0</span>",
            "0".repeat(18)
        )));
        assert!(html.contains(&format!(
            "<code>{}!{}</code>",
            " ".repeat(18),
            " ".repeat(29)
        )));

        // Agreeing views and no calendar: said so, nothing marked.
        let html = section(&ViewsStrip {
            first,
            interval: 30,
            calendar: None,
            message: &message,
            query: &query,
            disagree: &[false; 48],
            problem: None,
        });
        assert!(html.contains("they agree"));
        assert!(html.contains("no calendar"));
        assert!(!html.contains("<span class=\"disagree\">2"));
        assert!(html.contains(&format!(
            "<tr class=\"marks\"><td></td><td><code>{}</code>",
            " ".repeat(48)
        )));
    }
}
