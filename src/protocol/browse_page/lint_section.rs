//! The lint findings of a message on its page (issue 16 item 4): a "Lint" section between
//! the timeline and the message's facts, one row per finding (rule, severity, status,
//! month, sentence, the known publishers that write so), or a line saying there are none.
//!
//! Kept apart from `message_page` so that page stays as it is for callers without
//! findings; the findings come from `protocol::lint` (the caller runs it on the message's
//! properties as stored, with the directory as facts).

use super::{Crumb, Html, MessageView, ViewsStrip, message_page, three_views};
use crate::protocol::lint::Finding;

/// The message page with a "Lint" section (and the "three views" strip, when given)
/// before "Message".
pub fn message_page_with_lint(
    view: &MessageView<'_>,
    crumbs: &[Crumb],
    findings: &[Finding],
    strip: Option<&ViewsStrip<'_>>,
) -> String {
    let page = message_page(view, crumbs);
    let mut section = lint_section(findings);
    if let Some(s) = strip {
        section.push_str(&three_views::section(s));
    }
    match page.find("\n<h2>Message</h2>") {
        Some(at) => format!("{}{}{}", &page[..at], section, &page[at..]),
        None => page,
    }
}

fn lint_section(findings: &[Finding]) -> String {
    let mut h = Html::new();
    h.fmt(format_args!(
        "\n<h2>Lint <small>{} by <code>schedplus lint</code></small></h2>\n",
        match findings.len() {
            0 => "no findings".to_string(),
            1 => "1 finding".to_string(),
            n => format!("{n} findings"),
        }
    ));
    if findings.is_empty() {
        h.raw("<p class=\"muted\">This message is written as Outlook or Exchange write it.</p>\n");
        return h.finish();
    }
    h.raw("<table class=\"props lint\"><thead><tr><th>Rule</th><th>Severity</th><th>Status</th><th>Month</th><th>What</th><th>Written so by</th></tr></thead><tbody>");
    for f in findings {
        h.fmt(format_args!(
            "\n<tr class=\"lint-{}\"><td><code>",
            f.severity
        ));
        h.text(&f.rule);
        h.raw("</code></td><td>");
        h.text(f.severity.as_str());
        h.raw("</td><td>");
        h.text(f.hit.status.as_deref().unwrap_or("–"));
        h.raw("</td><td>");
        h.text(f.hit.month.as_deref().unwrap_or("–"));
        h.raw("</td><td>");
        h.text(&f.hit.sentence);
        h.raw("</td><td>");
        if f.publishers.is_empty() {
            h.raw("<span class=\"muted\">no known publisher</span>");
        } else {
            h.text(&f.publishers.join(", "));
        }
        h.raw("</td></tr>");
    }
    h.raw("</tbody></table>\n");
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::browse_page::Window;
    use crate::protocol::freebusy::FreeBusy;
    use crate::protocol::lint::{Hit, Severity};
    use crate::protocol::time::parse_time;

    fn view(fb: &FreeBusy) -> MessageView<'_> {
        let t = parse_time("2026-11-24T08:00:00Z").unwrap();
        MessageView {
            subject: "USER-/CN=RECIPIENTS/CN=KBAKER",
            leaf: "USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=KBAKER.EML",
            owner_name: Some("Karen Baker"),
            owner_mail: None,
            legacy_dn: None,
            range: None,
            fb,
            modified: t,
            published: None,
            props: &[],
            query_href: None,
            now: t,
            window: Window::All,
        }
    }

    #[test]
    fn the_page_lists_each_finding_before_the_message_facts() {
        let fb = FreeBusy::default();
        let f = Finding {
            rule: "block-past-month-end".into(),
            severity: Severity::Warning,
            user: "/o=Org/ou=AG/cn=Recipients/cn=kbaker".into(),
            leaf: "USER-/CN=RECIPIENTS/CN=KBAKER.EML".into(),
            hit: Hit {
                status: Some("busy".into()),
                month: Some("2008-11".into()),
                sentence: "block 43140..43260 ends past the month's <43200> minutes".into(),
            },
            publishers: vec!["Zimbra".into()],
        };
        let page = message_page_with_lint(&view(&fb), &[], std::slice::from_ref(&f), None);
        let lint = page
            .find("<h2>Lint <small>1 finding")
            .expect("a lint section");
        assert!(lint < page.find("<h2>Message</h2>").unwrap());
        assert!(page.contains("<tr class=\"lint-warning\"><td><code>block-past-month-end</code></td><td>warning</td><td>busy</td><td>2008-11</td>"), "{page}");
        assert!(page.contains("&lt;43200&gt;"), "sentences are escaped");
        assert!(page.contains("<td>Zimbra</td>"));
        // Without findings: said so; and the plain page is unchanged.
        let clean = message_page_with_lint(&view(&fb), &[], &[], None);
        assert!(clean.contains("<h2>Lint <small>no findings"));
        assert!(!message_page(&view(&fb), &[]).contains("<h2>Lint"));
    }
}
