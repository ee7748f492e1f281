use super::timeline::{self, RangeCover, Seg};
use super::*;

fn at(y: i32, mo: u8, d: u8, h: i64, mi: i64) -> Minutes1601 {
    Minutes1601::from_civil(y, mo, d).plus_minutes(h * 60 + mi)
}

fn iv(a: Minutes1601, b: Minutes1601) -> Interval {
    Interval::new(a, b).unwrap()
}

/// A block from and to "YYYY-MM-DD HH:MM" (UTC).
fn span(status: FbStatus, from: &str, to: &str) -> (FbStatus, Interval) {
    let minute = |s: &str| Minutes1601::from_timestamp(ts(&format!("{}:00Z", s.replace(' ', "T"))));
    (status, iv(minute(from), minute(to)))
}

/// A schedule holding these blocks (see `span`).
fn blocks(spans: &[(FbStatus, &str, &str)]) -> FreeBusy {
    FreeBusy::from_spans(
        spans
            .iter()
            .map(|&(status, from, to)| span(status, from, to)),
    )
}

/// The message page of `fb` over Nov–Dec 2026.
fn nov_dec_page(fb: &FreeBusy) -> String {
    message_page(&view(fb, Some(nov_dec_2026())), &crumbs())
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Nov–Dec 2026 as Exchange publishes it.
fn nov_dec_2026() -> PublishRange {
    PublishRange {
        start: at(2026, 11, 1, 0, 0),
        end: at(2027, 1, 1, 0, 0),
    }
}

fn view<'a>(fb: &'a FreeBusy, range: Option<PublishRange>) -> MessageView<'a> {
    MessageView {
        subject: "USER-/CN=RECIPIENTS/CN=DANW",
        leaf: "USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=DANW.EML",
        owner_name: Some("Dan Winship"),
        owner_mail: Some("danw@xcs.example"),
        legacy_dn: Some("/o=XCS/ou=First Administrative Group/cn=Recipients/cn=danw"),
        range,
        fb,
        modified: ts("2026-11-24T08:05:00Z"),
        published: Some(ts("2026-11-24T08:00:00Z")),
        props: &[],
        query_href: Some("/public/?Cmd=freebusy&u=SMTP:danw@xcs.example"),
        now: ts("2026-11-24T14:30:00Z"),
        window: Window::All,
    }
}

fn crumbs() -> Vec<Crumb> {
    vec![
        Crumb {
            label: "public".into(),
            href: "/public/".into(),
        },
        Crumb {
            label: "EX:/o=XCS/ou=First Administrative Group".into(),
            href: "/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=XCS_xF8FF_ou=First%20Administrative%20Group/".into(),
        },
    ]
}

/// The markup of the timeline row of one day (`2026-11-24`).
fn day_markup<'p>(page: &'p str, day: &str) -> &'p str {
    let start = page
        .find(&format!("data-day=\"{day}\""))
        .unwrap_or_else(|| panic!("no row for {day}"));
    let len = page[start..].find("<span class=\"dt\">").unwrap();
    &page[start..start + len]
}

/// The row element's opening tag, for its classes.
fn day_classes<'p>(page: &'p str, day: &str) -> &'p str {
    let at = page.find(&format!("data-day=\"{day}\"")).unwrap();
    let open = page[..at].rfind("<div class=\"").unwrap();
    &page[open..at]
}

/// Every fragment is in `html`; a failure names the first one missing.
fn assert_holds(html: &str, fragments: &[&str]) {
    for f in fragments {
        assert!(html.contains(f), "{f:?} is not in {html}");
    }
}

/// Crude well-formedness: every listed element opened is closed.
fn assert_balanced(html: &str) {
    for tag in [
        "html", "head", "body", "main", "div", "span", "table", "thead", "tbody", "tr", "td", "th",
        "ul", "li", "details", "summary", "dl", "dt", "dd", "a", "i", "b", "code", "p", "h1", "h2",
        "h3", "nav", "footer", "time", "title", "style", "strong", "small",
    ] {
        let opens =
            html.matches(&format!("<{tag} ")).count() + html.matches(&format!("<{tag}>")).count();
        let closes = html.matches(&format!("</{tag}>")).count();
        assert_eq!(
            opens, closes,
            "<{tag}> opened {opens} times, closed {closes}"
        );
    }
}

#[test]
fn text_and_attributes_are_escaped() {
    let fb = FreeBusy::default();
    let props = vec![(
        "http://x/<p>".to_string(),
        "<script>alert(1)</script> & \"q\"".to_string(),
    )];
    let mut v = view(&fb, None);
    v.subject = "USER-<script>alert('s')</script>&amp;";
    v.owner_name = Some("Dan <b>Win</b> & \"ship\"");
    v.owner_mail = Some("a\"onmouseover=\"x@y");
    v.legacy_dn = Some("/o=A&B/cn=<x>");
    v.leaf = "<leaf>.EML";
    v.props = &props;
    v.query_href = Some("/public/?Cmd=freebusy&u=\"><script>");
    let mut cr = crumbs();
    cr[0].label = "<i>root</i>".into();
    cr[0].href = "/\"><script>".into();
    let page = message_page(&v, &cr);
    assert!(!page.contains("<script"), "{page}");
    assert!(!page.contains("<b>Win"));
    assert!(!page.contains("<i>root"));
    assert!(!page.contains("<leaf>"));
    // Quotes are harmless in text, but never end an attribute early.
    assert!(!page.contains("mailto:a\""));
    assert_holds(
        &page,
        &[
            ">a\"onmouseover=\"x@y</a>",
            "<h1>Dan &lt;b&gt;Win&lt;/b&gt; &amp; \"ship\"</h1>",
            "<title>Dan &lt;b&gt;Win&lt;/b&gt; &amp; \"ship\" · free/busy</title>",
            "USER-&lt;script&gt;alert('s')&lt;/script&gt;&amp;amp;",
            "href=\"mailto:a&quot;onmouseover=&quot;x@y\"",
            "href=\"/public/?Cmd=freebusy&amp;u=&quot;&gt;&lt;script&gt;\"",
            "&lt;script&gt;alert(1)&lt;/script&gt; &amp; \"q\"",
        ],
    );
    assert_balanced(&page);

    let err = error_page(404, "Not <found>", "No item \"<x>\" & no folder");
    assert_holds(
        &err,
        &[
            "<h1>Not &lt;found&gt;</h1>",
            "No item \"&lt;x&gt;\" &amp; no folder",
            "<title>404 Not &lt;found&gt;</title>",
        ],
    );
    assert_balanced(&err);
}

#[test]
fn folder_rows_are_escaped() {
    let row = FolderRow {
        link: Link {
            label: "<img src=x onerror=alert(1)> & \"Co\"".into(),
            href: "EX:_xF8FF_o=A%26B\"x".into(),
        },
        kind: RowKind::Folder {
            members: None,
            owner: None,
        },
        modified: Some(ts("2026-11-24T09:15:00Z")),
        size: None,
        note: Some("<b>note</b> & more".into()),
    };
    let tr = folder_row(&row);
    assert!(!tr.contains("<img"));
    assert_holds(
        &tr,
        &[
            "&lt;img src=x onerror=alert(1)&gt; &amp; \"Co\"",
            "href=\"EX:_xF8FF_o=A%26B&quot;x\"",
            "&lt;b&gt;note&lt;/b&gt; &amp; more",
            "2026-11-24 09:15 UTC",
        ],
    );
    let head = folder_page_head("A <b> & \"c\"", &crumbs(), Some("intro <i>"), None);
    assert_holds(
        &head,
        &["<h1>A &lt;b&gt; &amp; \"c\"</h1>", "intro &lt;i&gt;"],
    );
}

#[test]
fn streamed_folder_parts_make_one_document() {
    let rows: Vec<FolderRow> = (0..3)
        .map(|i| FolderRow {
            link: Link {
                label: format!("USER-/CN=RECIPIENTS/CN=U{i}"),
                href: format!("USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=U{i}.EML"),
            },
            kind: RowKind::Message { owner: None },
            modified: Some(ts("2026-11-24T09:15:00Z")),
            size: Some(1234 * (i + 1)),
            note: None,
        })
        .collect();
    let mut page = folder_page_head("EX:/o=XCS/ou=AG", &crumbs(), None, None);
    for r in &rows {
        page.push_str(&folder_row(r));
    }
    page.push_str(&folder_page_tail(rows.len(), None));
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.ends_with("</html>\n"));
    assert!(page.contains("<meta charset=\"utf-8\">"));
    assert_eq!(page.matches("<tr").count(), rows.len() + 1);
    assert_holds(
        &page,
        &[
            "<footer>3 items</footer>",
            "<span title=\"1,234 bytes\">1.2 KB</span>",
        ],
    );
    assert!(!page.contains("This folder is empty"));
    // The current folder is the last crumb, not a link.
    assert!(
        page.contains("<span aria-current=\"page\">EX:/o=XCS/ou=First Administrative Group</span>")
    );
    assert_balanced(&page);

    let empty = folder_page_head("Empty", &[], None, None) + &folder_page_tail(0, None);
    assert_eq!(empty.matches("<tr").count(), 1);
    assert_holds(
        &empty,
        &["This folder is empty.", "<footer>0 items</footer>"],
    );
    assert_balanced(&empty);
    assert!(folder_page_tail(100_000, None).contains("100,000 items"));
    assert!(folder_page_tail(1, None).contains(">1 item<"));
}

#[test]
fn a_meeting_sits_at_its_time_of_day() {
    let page = nov_dec_page(&blocks(&[
        // Tue 2026-11-24 09:00–10:30 UTC: 540/1440 = 37.50 %, 90/1440 = 6.25 %.
        (FbStatus::Busy, "2026-11-24 09:00", "2026-11-24 10:30"),
        // 13:20–13:27: 55.56 % + 0.49 %.
        (FbStatus::Tentative, "2026-11-24 13:20", "2026-11-24 13:27"),
    ]));
    let row = day_markup(&page, "2026-11-24");
    assert!(
        row.contains(
            "<i class=\"s2\" style=\"left:37.50%;width:6.25%\" title=\"Busy 09:00–10:30 (1h30)\">"
        ),
        "{row}"
    );
    assert!(
        row.contains("<i class=\"s1\" style=\"left:55.56%;width:0.49%\""),
        "{row}"
    );
    // Nothing on the neighbours.
    assert!(!day_markup(&page, "2026-11-23").contains("<i "));
    assert!(!day_markup(&page, "2026-11-25").contains("<i "));
    // Hour scale.
    for (h, l) in [
        (0, "0.00"),
        (6, "25.00"),
        (12, "50.00"),
        (18, "75.00"),
        (24, "100.00"),
    ] {
        assert!(page.contains(&format!("<span style=\"left:{l}%\">{h:02}:00</span>")));
    }
    // Block list, totals, link.
    assert!(
        page.contains("<li>Tue 2026-11-24 09:00–10:30 UTC <span class=\"dur\">(1h30)</span></li>")
    );
    assert_holds(
        &page,
        &[
            "href=\"/public/?Cmd=freebusy&amp;u=SMTP:danw@xcs.example\"",
            "from <strong>Sun 2026-11-01 00:00 UTC</strong> to <strong>Fri 2027-01-01 00:00 UTC</strong>",
            "(6 hours ago)",
        ],
    );
    assert_balanced(&page);
}

#[test]
fn multi_day_and_month_crossing_blocks_split_per_row() {
    let page = nov_dec_page(&blocks(&[
        // Mon 2026-11-30 22:00 → Tue 2026-12-01 02:00.
        (FbStatus::Busy, "2026-11-30 22:00", "2026-12-01 02:00"),
        // OOF Mon 2026-11-16 12:00 → Wed 2026-11-18 12:00.
        (FbStatus::Oof, "2026-11-16 12:00", "2026-11-18 12:00"),
    ]));
    let seg = |day: &str, class: &str, left: &str, width: &str| {
        let row = day_markup(&page, day);
        assert!(
            row.contains(&format!(
                "<i class=\"{class}\" style=\"left:{left}%;width:{width}%\""
            )),
            "{day}: {row}"
        );
    };
    seg("2026-11-30", "s2", "91.67", "8.33");
    seg("2026-12-01", "s2", "0.00", "8.33");
    seg("2026-11-16", "s3", "50.00", "50.00");
    seg("2026-11-17", "s3", "0.00", "100.00");
    seg("2026-11-18", "s3", "0.00", "50.00");
    // A month heading sits between the two parts.
    let nov30 = page.find("data-day=\"2026-11-30\"").unwrap();
    let dec = page.find("<div class=\"mh\">December 2026</div>").unwrap();
    let dec1 = page.find("data-day=\"2026-12-01\"").unwrap();
    assert!(nov30 < dec && dec < dec1);
    // Listed once each, in readable form.
    assert!(page.contains(
        "Mon 2026-11-30 22:00 – Tue 2026-12-01 02:00 UTC <span class=\"dur\">(4h)</span>"
    ));
    assert!(page.contains(
        "Mon 2026-11-16 12:00 – Wed 2026-11-18 12:00 UTC <span class=\"dur\">(2d)</span>"
    ));
}

#[test]
fn higher_statuses_are_drawn_over_lower_ones() {
    let day = at(2026, 11, 24, 0, 0);
    let fb = blocks(&[
        (FbStatus::Oof, "2026-11-24 10:30", "2026-11-24 11:00"),
        (FbStatus::Busy, "2026-11-24 10:00", "2026-11-24 11:00"),
        (FbStatus::Tentative, "2026-11-24 09:00", "2026-11-24 12:00"),
    ]);
    let row = timeline::day_row(day, &fb, None);
    let digits: Vec<u8> = row.segs.iter().map(|s| s.digit).collect();
    assert_eq!(
        digits,
        vec![1, 2, 3],
        "later segments paint over earlier ones"
    );
    let page = nov_dec_page(&fb);
    let m = day_markup(&page, "2026-11-24");
    let (t, b, o) = (
        m.find("class=\"s1\"").unwrap(),
        m.find("class=\"s2\"").unwrap(),
        m.find("class=\"s3\"").unwrap(),
    );
    assert!(t < b && b < o);
    // And the stylesheet stacks them the same way, whatever the order.
    assert!(STYLE.contains(".tl .bar i.s1 { z-index: 1; } .tl .bar i.s2 { z-index: 2; } .tl .bar i.s3 { z-index: 3; } .tl .bar i.s4 { z-index: 4; }"));
}

#[test]
fn days_outside_the_range_are_no_data() {
    // Exchange range starting on Wed 2025-10-01: the week is padded back to Sun 09-28.
    let range = PublishRange {
        start: at(2025, 10, 1, 0, 0),
        end: at(2025, 12, 1, 0, 0),
    };
    let fb = blocks(&[
        // A block before the range: drawn as no data, flagged in the list.
        (FbStatus::Busy, "2025-09-29 09:00", "2025-09-29 10:00"),
    ]);
    let mut v = view(&fb, Some(range));
    v.now = ts("2025-10-15T12:00:00Z");
    let page = message_page(&v, &crumbs());
    for d in ["2025-09-28", "2025-09-29", "2025-09-30"] {
        assert!(day_classes(&page, d).contains(" out"), "{d}");
        assert!(
            day_markup(&page, d).contains("<i class=\"s4\" style=\"left:0.00%;width:100.00%\"")
        );
    }
    assert!(!day_classes(&page, "2025-10-01").contains(" out"));
    assert!(!day_markup(&page, "2025-10-01").contains("s4"));
    // Padded after the end too: Mon 12-01 .. Sat 12-06.
    assert!(day_classes(&page, "2025-12-06").contains(" out"));
    // The block before the range is under the no-data cover.
    let m = day_markup(&page, "2025-09-29");
    assert!(m.find("class=\"s2\"").unwrap() < m.find("class=\"s4\"").unwrap());
    assert_holds(
        &page,
        &[
            "1 block lies outside the publish range",
            "<span class=\"flag\">outside range</span>",
        ],
    );

    // A range written at local midnight (07:00 UTC) leaves part of its first day uncovered.
    let range = PublishRange {
        start: at(2025, 10, 1, 7, 0),
        end: at(2025, 12, 1, 7, 0),
    };
    let row = timeline::day_row(at(2025, 10, 1, 0, 0), &fb, range.as_interval());
    assert_eq!(row.cover, RangeCover::Partly);
    assert_eq!(
        row.segs,
        vec![Seg {
            digit: 4,
            start: 0,
            end: 420
        }]
    );
    let page = message_page(&view(&fb, Some(range)), &crumbs());
    assert!(
        day_markup(&page, "2025-10-01")
            .contains("<i class=\"s4\" style=\"left:0.00%;width:29.17%\"")
    );
    assert!(
        day_markup(&page, "2025-12-01")
            .contains("<i class=\"s4\" style=\"left:29.17%;width:70.83%\"")
    );
}

#[test]
fn today_and_weekends_are_marked() {
    let fb = FreeBusy::default();
    let page = nov_dec_page(&fb);
    // now = Tue 2026-11-24 14:30 → 60.42 %.
    assert!(day_classes(&page, "2026-11-24").contains(" today"));
    assert!(day_markup(&page, "2026-11-24").contains("<b class=\"now\" style=\"left:60.42%\""));
    assert_eq!(page.matches(" today").count(), 1);
    assert!(day_classes(&page, "2026-11-28").contains(" we"));
    assert!(day_classes(&page, "2026-11-29").contains(" we"));
    assert!(!day_classes(&page, "2026-11-27").contains(" we"));
}

/// A message whose legacyDN names nobody in the directory says so; one whose owner is
/// found does not.
#[test]
fn an_owner_not_in_the_directory_is_marked() {
    let fb = FreeBusy::default();
    let mut v = view(&fb, None);
    assert!(!message_page(&v, &crumbs()).contains("not in the directory"));
    v.owner_name = None;
    v.owner_mail = None;
    let page = message_page(&v, &crumbs());
    assert!(
        page.contains("<strong class=\"not-in-directory\">not in the directory</strong>"),
        "{page}"
    );
    assert_balanced(&page);
}

#[test]
fn no_range_and_no_blocks_still_make_a_page() {
    let fb = FreeBusy::default();
    let mut v = view(&fb, None);
    v.published = None;
    v.owner_name = None;
    v.owner_mail = None;
    v.legacy_dn = None;
    v.query_href = None;
    let page = message_page(&v, &[]);
    assert_holds(
        &page,
        &[
            "<h1>USER-/CN=RECIPIENTS/CN=DANW</h1>",
            "nothing to draw",
            "no publish range",
            "not recorded",
        ],
    );
    assert_balanced(&page);
    // An inverted range is called out.
    let mut v = view(&fb, None);
    v.range = Some(PublishRange {
        start: at(2026, 2, 1, 0, 0),
        end: at(2026, 1, 1, 0, 0),
    });
    assert!(message_page(&v, &crumbs()).contains("empty or inverted range"));
}

#[test]
fn hostile_messages_give_bounded_pages() {
    // 10,000 one-minute blocks of each status, two minutes apart: ~14 days of 720 per day.
    let base = at(2026, 11, 2, 0, 0);
    let spans = FbStatus::MARKED.into_iter().flat_map(|s| {
        (0..10_000i64).map(move |k| {
            let a = base.plus_minutes(k * 2 + s as i64 % 2);
            (s, iv(a, a.plus_minutes(1)))
        })
    });
    let fb = FreeBusy::from_spans(spans);
    let props: Vec<(String, String)> = (0..2000)
        .map(|i| (format!("p{i}"), "x".repeat(10_000)))
        .collect();
    let mut v = view(&fb, Some(nov_dec_2026()));
    v.props = &props;
    let page = message_page(&v, &crumbs());
    assert!(page.len() < 1_000_000, "{} bytes", page.len());
    assert_holds(
        &page,
        &[
            "… and 9,500 more",
            "… and 1,800 more",
            "10,000 characters in all",
        ],
    );
    assert!(day_classes(&page, "2026-11-03").contains(" coarse"));
    assert!(day_markup(&page, "2026-11-03").matches("<i ").count() <= 48);
    assert_balanced(&page);

    // One block a day over a century with a 36-month range: at most 400 rows.
    let fb = FreeBusy::from_spans((0..36_500i64).map(|d| {
        let a = at(2000, 1, 1, 9, 0).plus_minutes(d * 1440);
        (FbStatus::Busy, iv(a, a.plus_minutes(60)))
    }));
    let range = PublishRange {
        start: at(2026, 1, 1, 0, 0),
        end: at(2029, 1, 1, 0, 0),
    };
    let page = message_page(&view(&fb, Some(range)), &crumbs());
    assert_eq!(
        page.matches("data-day=").count(),
        timeline::MAX_TIMELINE_DAYS
    );
    assert!(page.contains("The timeline stops after 400 days of 1,106"));
    assert!(page.len() < 1_000_000, "{} bytes", page.len());

    // The worst a day row can be: as many blocks as are still drawn exactly, every day.
    let per_day = timeline::EXACT_SEGMENTS_PER_DAY as i64;
    let fb = FreeBusy::from_spans((0..400 * per_day).map(|k| {
        let a = at(2026, 1, 1, 0, 0).plus_minutes(k / per_day * 1440 + k % per_day * 20);
        (FbStatus::MARKED[k as usize % 3], iv(a, a.plus_minutes(10)))
    }));
    let page = message_page(&view(&fb, Some(range)), &crumbs());
    // The first row is Sun 2025-12-28: four padding days, then 396 full days.
    assert_eq!(
        page.matches("<i class=").count(),
        396 * per_day as usize + 4
    );
    assert!(page.len() < 3_000_000, "{} bytes", page.len());
}

#[test]
fn readable_times_and_sizes() {
    assert_eq!(fmt_duration(0), "0m");
    assert_eq!(fmt_duration(45), "45m");
    assert_eq!(fmt_duration(60), "1h");
    assert_eq!(fmt_duration(90), "1h30");
    assert_eq!(fmt_duration(5 * 1440), "5d");
    assert_eq!(fmt_duration(2 * 1440 + 15 * 60), "2d 15h");
    assert_eq!(fmt_duration(2 * 1440 + 15 * 60 + 5), "2d 15h05");
    assert_eq!(fmt_duration(1440 + 7), "1d 7m");
    assert_eq!(
        fmt_interval(iv(at(2026, 11, 24, 9, 0), at(2026, 11, 24, 10, 30))),
        "Tue 2026-11-24 09:00–10:30 UTC"
    );
    assert_eq!(
        fmt_interval(iv(at(2026, 11, 24, 22, 0), at(2026, 11, 25, 0, 0))),
        "Tue 2026-11-24 22:00–24:00 UTC"
    );
    assert_eq!(
        fmt_interval(iv(at(2026, 11, 27, 18, 0), at(2026, 11, 30, 9, 0))),
        "Fri 2026-11-27 18:00 – Mon 2026-11-30 09:00 UTC"
    );
    assert_eq!(group_digits(0), "0");
    assert_eq!(group_digits(999), "999");
    assert_eq!(group_digits(1000), "1,000");
    assert_eq!(group_digits(1_234_567), "1,234,567");
    assert_eq!(human_size(812), "812 B");
    assert_eq!(human_size(1536), "1.5 KB");
    assert_eq!(human_size(3 * 1024 * 1024), "3.0 MB");
    let now = ts("2026-11-24T14:30:00Z");
    assert_eq!(fmt_ago(ts("2026-11-24T14:29:30Z"), now), "just now");
    assert_eq!(fmt_ago(ts("2026-11-24T13:29:00Z"), now), "1 hour ago");
    assert_eq!(fmt_ago(ts("2026-11-21T14:30:00Z"), now), "3 days ago");
    assert_eq!(fmt_ago(ts("2026-11-24T14:35:00Z"), now), "in 5 minutes");
}

/// A realistic week to look at: `cargo test --lib browse_page -- --ignored`, then open
/// `browse-sample.html` and `browse-folder.html` in the temporary directory.
#[test]
#[ignore = "writes sample pages for a person to look at"]
fn write_sample_pages() {
    let mut spans = Vec::new();
    for d in 1..=31u8 {
        let (y, m, dd) = at(2026, 11, 1, 0, 0)
            .plus_minutes((d as i64 - 1) * 1440)
            .civil_date();
        let day = at(y, m, dd, 0, 0);
        if day.weekday() == 0 || day.weekday() == 6 {
            continue;
        }
        // Daily stand-up, and an afternoon meeting on Tue/Thu.
        spans.push((
            FbStatus::Busy,
            iv(day.plus_minutes(9 * 60), day.plus_minutes(9 * 60 + 30)),
        ));
        if day.weekday() == 2 || day.weekday() == 4 {
            spans.push((
                FbStatus::Busy,
                iv(day.plus_minutes(14 * 60), day.plus_minutes(15 * 60 + 30)),
            ));
        }
    }
    // A tentative hold, an OOF week, a month-crossing release night, busy over tentative.
    spans.extend([
        span(FbStatus::Tentative, "2026-11-25 11:00", "2026-11-25 13:00"),
        span(FbStatus::Tentative, "2026-11-24 13:00", "2026-11-24 17:00"),
        span(FbStatus::Oof, "2026-11-09 00:00", "2026-11-14 00:00"),
        span(FbStatus::Busy, "2026-11-30 20:00", "2026-12-01 03:00"),
        span(FbStatus::Oof, "2026-12-21 00:00", "2027-01-02 00:00"),
    ]);
    let fb = FreeBusy::from_spans(spans);
    let props = vec![
        (
            "http://schemas.microsoft.com/mapi/proptag/x68470003".to_string(),
            "int 213528960 (2026-11-01T00:00:00Z)".to_string(),
        ),
        (
            "http://schemas.microsoft.com/mapi/proptag/x68480003".to_string(),
            "int 213616800 (2027-01-01T00:00:00Z)".to_string(),
        ),
        (
            "http://schemas.microsoft.com/mapi/proptag/x68541102".to_string(),
            "mv.bin 2 values: 64 bytes, 8 bytes".to_string(),
        ),
        (
            "http://schemas.microsoft.com/exchange/outlookmessageclass".to_string(),
            "IPM.Post".to_string(),
        ),
    ];
    let mut v = view(&fb, Some(nov_dec_2026()));
    v.props = &props;
    let dir = std::env::temp_dir();
    std::fs::write(dir.join("browse-sample.html"), message_page(&v, &crumbs())).unwrap();

    let mut page = folder_page_head(
        "EX:/o=XCS/ou=First Administrative Group",
        &crumbs(),
        Some("Free/busy messages of one administrative group, one per user."),
        None,
    );
    let people = [
        ("Dan Winship", "DANW", "busy 12h, OOF 5d"),
        ("Jean-Sébastien Guillet", "JSGUILLET", "busy 3h30"),
        ("<Test & \"Quote\">", "TEST", "no blocks"),
    ];
    for (name, alias, note) in people {
        page.push_str(&folder_row(&FolderRow {
            link: Link {
                label: format!("USER-/CN=RECIPIENTS/CN={alias}"),
                href: format!("USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN={alias}.EML"),
            },
            kind: RowKind::Message { owner: None },
            modified: Some(ts("2026-11-24T08:05:00Z")),
            size: Some(1874),
            note: Some(format!("{name} · {note}")),
        }));
    }
    page.push_str(&folder_row(&FolderRow {
        link: Link {
            label: "Archive".into(),
            href: "Archive/".into(),
        },
        kind: RowKind::Folder {
            members: None,
            owner: None,
        },
        modified: None,
        size: None,
        note: None,
    }));
    page.push_str(&folder_page_tail(4, None));
    std::fs::write(dir.join("browse-folder.html"), page).unwrap();
}

// ---------------------------------------------------------------------------------------
// Issue 17: pages for people

#[test]
fn listing_rows_name_the_owner_and_count_users() {
    let msg = FolderRow {
        link: Link {
            label: "USER-/CN=RECIPIENTS/CN=DANW.EML".into(),
            href: "USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=DANW.EML".into(),
        },
        note: Some("/o=XCS/ou=AG/cn=Recipients/cn=danw".into()),
        kind: RowKind::Message {
            owner: Some(Owner {
                display_name: "Dan <Winship>".into(),
                mail: "danw@xcs.example".into(),
            }),
        },
        modified: Some(ts("2026-11-24T09:15:00Z")),
        ..Default::default()
    };
    let tr = folder_row(&msg);
    assert!(
        tr.contains("<span class=\"person\">Dan &lt;Winship&gt;</span>"),
        "{tr}"
    );
    assert_holds(
        &tr,
        &[
            "<a class=\"mail\" href=\"mailto:danw@xcs.example\">danw@xcs.example</a>",
            "<br><code class=\"dn\">/o=XCS/ou=AG/cn=Recipients/cn=danw</code>",
        ],
    );
    // The icon and the name share one flex box, so the name wraps beside the icon.
    assert!(tr.contains("<td class=\"name\"><div class=\"nm\"><span class=\"ic msg\" aria-hidden=\"true\"></span><a href="));
    assert_holds(
        STYLE,
        &[
            "table.list td.name .nm { display: flex;",
            ".ic { display: inline-block; position: relative; vertical-align: -2px; margin-right: 9px; flex: none; }",
        ],
    );
    assert_balanced(&tr);

    // A folder whose properties name an owner (a PROPPATCH may set one) shows it too.
    let owned = folder_row(&FolderRow {
        link: Link {
            label: "Team".into(),
            href: "Team/".into(),
        },
        kind: RowKind::Folder {
            members: None,
            owner: msg.owner().cloned(),
        },
        ..Default::default()
    });
    assert!(
        owned.contains("<span class=\"person\">Dan &lt;Winship&gt;</span>"),
        "{owned}"
    );

    let folder = |members| {
        folder_row(&FolderRow {
            link: Link {
                label: "EX:/o=XCS/ou=AG".into(),
                href: "EX:_xF8FF_o=XCS_xF8FF_ou=AG/".into(),
            },
            kind: RowKind::Folder {
                members: Some(members),
                owner: None,
            },
            ..Default::default()
        })
    };
    assert!(folder(Members::Exactly(12)).contains(">12 users</span>"));
    assert!(folder(Members::Exactly(1)).contains(">1 user</span>"));
    assert!(folder(Members::Exactly(0)).contains(">0 users</span>"));
    assert!(folder(Members::AtLeast(1000)).contains(">1,000+ users</span>"));
}

#[test]
fn rows_without_a_real_date_show_none() {
    let row = |modified| {
        folder_row(&FolderRow {
            link: Link {
                label: "SCHEDULE+ FREE BUSY".into(),
                href: "SCHEDULE%2B%20FREE%20BUSY/".into(),
            },
            kind: RowKind::Folder {
                members: None,
                owner: None,
            },
            modified,
            ..Default::default()
        })
    };
    for none in [None, Some(Timestamp::UNIX_EPOCH)] {
        let tr = row(none);
        assert!(!tr.contains("1970"), "{tr}");
        assert!(tr.contains("<td class=\"when\"></td>"));
    }
    assert!(row(Some(ts("2026-11-24T09:15:00Z"))).contains("2026-11-24 09:15 UTC"));
}

#[test]
fn the_listing_filter_matches_names_people_and_addresses() {
    let row = FolderRow {
        link: Link {
            label: "USER-/CN=RECIPIENTS/CN=JSGUILLET.EML".into(),
            ..Default::default()
        },
        note: Some("/o=CompanyABC/ou=Paris/cn=Recipients/cn=jsguillet".into()),
        kind: RowKind::Message {
            owner: Some(Owner {
                display_name: "Jean-Sébastien Guillet".into(),
                mail: "jsguillet@companyabc.example".into(),
            }),
        },
        ..Default::default()
    };
    for hit in [
        "sébastien",
        "SÉBASTIEN",
        "companyabc.example",
        "ou=paris",
        "jsguillet.eml",
        "  ",
    ] {
        assert!(row.matches(hit), "{hit}");
    }
    assert!(!row.matches("dwinship"));
    assert_eq!(
        listing_filter(Some("filter=Dan+W%C3%A9")),
        Some("Dan Wé".into())
    );
    assert_eq!(listing_filter(Some("filter=+")), None);
    assert_eq!(listing_filter(Some("other=1")), None);
    assert_eq!(listing_filter(None), None);

    let head = folder_page_head("AG", &crumbs(), None, Some("\"dan\" <x>"));
    assert!(head.contains("<form class=\"filter\" method=\"get\" role=\"search\"><input type=\"search\" name=\"filter\" value=\"&quot;dan&quot; &lt;x&gt;\""), "{head}");
    assert!(head.contains("<a href=\"?\">show all</a>"));
    assert!(!folder_page_head("AG", &crumbs(), None, None).contains("show all"));
    assert!(
        folder_page_tail(3, Some(("dan", 12)))
            .contains("<footer>3 of 12 items match “dan”</footer>")
    );
    assert!(folder_page_tail(1, Some(("dan", 12))).contains("1 of 12 items matches"));
    let none = folder_page_tail(0, Some(("<zz>", 12)));
    assert!(none.contains("Nothing here matches “&lt;zz&gt;”."));
    assert!(!none.contains("This folder is empty"));
}

#[test]
fn the_message_page_opens_on_three_weeks_from_this_week() {
    let fb = blocks(&[(FbStatus::Oof, "2026-12-07 00:00", "2026-12-12 00:00")]);
    let mut v = view(&fb, Some(nov_dec_2026()));
    // now is Tue 2026-11-24.
    v.window = Window::from_query(None, v.now);
    assert_eq!(v.window, Window::Weeks(at(2026, 11, 24, 14, 30)));
    assert_eq!(v.window.first_day(), Some(at(2026, 11, 22, 0, 0)));
    let page = message_page(&v, &crumbs());
    let days: Vec<&str> = page
        .split("<div class=\"day")
        .skip(1)
        .map(|s| &s[s.find("data-day=\"").unwrap() + 10..][..10])
        .collect();
    assert_eq!(days.len(), 21);
    assert_eq!((days[0], days[20]), ("2026-11-22", "2026-12-12"));
    assert!(day_markup(&page, "2026-12-07").contains("<i class=\"s3\""));
    assert_holds(
        &page,
        &[
            "<a href=\"?week=2026-11-01\">← Earlier weeks</a>",
            "<a href=\"?week=2026-12-13\">Later weeks →</a>",
            "<a href=\"?week=all\">Whole publish range</a>",
        ],
    );
    assert!(!page.contains("This week</a>"), "already this week");
    assert!(page.find("class=\"tl\"").unwrap() < page.find("<dl class=\"facts\">").unwrap());
    assert_balanced(&page);

    // Another week: any day of it; a link back to this week.
    v.window = Window::from_query(Some("week=2026-12-16"), v.now);
    let page = message_page(&v, &crumbs());
    assert!(page.contains("data-day=\"2026-12-13\""));
    assert!(!page.contains("data-day=\"2026-12-12\""));
    assert!(page.contains("<a href=\"?week=2026-11-22\">This week</a>"));
    // The whole range, as the page was; nonsense falls back to this week.
    assert_eq!(Window::from_query(Some("week=ALL"), v.now), Window::All);
    assert_eq!(
        Window::from_query(Some("week=soon"), v.now),
        Window::Weeks(at(2026, 11, 24, 14, 30))
    );
}

#[test]
fn the_landing_page_has_the_links_the_form_and_the_version() {
    let form = landing::QueryForm {
        start: "2026-11-24T00:00:00Z".into(),
        end: "2026-12-01T00:00:00Z".into(),
        interval: "60".into(),
        users: "a@x.example\n<b>".into(),
    };
    let page = landing::landing_page(&landing::LandingView {
        version: "0.1.0 (git <abc>)",
        users: 1,
        messages: 12_000,
        form: &form,
        server: landing::ServerView {
            name: "FB<01>",
            organization: "First Organization",
            replicas: "EX:/o=Org/ou=AG1",
        },
    });
    assert_holds(
        &page,
        &[
            "href=\"/public/NON_IPM_SUBTREE/\"",
            "href=\"/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/\"",
            "href=\"/metrics\"",
            "<form class=\"query\" method=\"get\" action=\"/query\">",
            "name=\"start\" value=\"2026-11-24T00:00:00Z\"",
            "name=\"end\" value=\"2026-12-01T00:00:00Z\"",
            "name=\"interval\" value=\"60\"",
            ">a@x.example\n&lt;b&gt;</textarea>",
            "<button type=\"submit\" name=\"format\" value=\"xml\"",
            "<span class=\"version\">0.1.0 (git &lt;abc&gt;)</span>",
            "1 directory user and 12,000 free/busy messages",
            "Server <b>FB&lt;01&gt;</b> of the organization First Organization; it holds replicas of EX:/o=Org/ou=AG1.",
        ],
    );
    assert!(!page.contains("<script"));
    assert_balanced(&page);
}

#[test]
fn the_query_page_draws_each_item_per_day() {
    let rows = vec![
        landing::AnswerRow {
            display_name: "All Attendees".into(),
            email: None,
            digits: "0234".into(),
        },
        landing::AnswerRow {
            display_name: "Dan <W>".into(),
            email: Some("danw@xcs.example".into()),
            digits: "0234".into(),
        },
    ];
    // Four 6-hour slots from Tue 2026-11-24 12:00: two days, half of each outside.
    let form = landing::QueryForm::default();
    let page = landing::query_page(&landing::QueryView {
        version: "v",
        form: &form,
        answer: Some(landing::AnswerView {
            start: at(2026, 11, 24, 12, 0),
            interval: 360,
            rows: &rows,
            xml_href: "/public/?Cmd=freebusy&u=a",
        }),
        error: None,
    });
    assert_eq!(page.matches("<div class=\"day").count(), 4);
    assert_holds(
        &page,
        &["data-day=\"2026-11-24\"", "data-day=\"2026-11-25\""],
    );
    // Day 1: outside until noon, free 12-18, busy 18-24. Day 2: OOF 0-6, no data 6-12, outside after.
    assert!(page.contains("<i class=\"outq\" style=\"left:0.00%;width:50.00%\""));
    assert!(page.contains(
        "<i class=\"s2\" style=\"left:75.00%;width:25.00%\" title=\"Busy 18:00–24:00 (6h)\">"
    ));
    assert_holds(
        &page,
        &[
            "<i class=\"s3\" style=\"left:0.00%;width:25.00%\"",
            "<i class=\"s4\" style=\"left:25.00%;width:25.00%\"",
            "<i class=\"outq\" style=\"left:50.00%;width:50.00%\"",
        ],
    );
    assert_eq!(
        page.matches("<code class=\"fbdata\">0234</code>").count(),
        2
    );
    assert_holds(
        &page,
        &["Dan &lt;W&gt;", "href=\"/public/?Cmd=freebusy&amp;u=a\""],
    );
    assert!(
        !page.contains("<span class=\"now-sw\">"),
        "the query page draws no now line"
    );
    assert_balanced(&page);
}
