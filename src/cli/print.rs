//! Printing: the serve banner, free/busy reports, republish results and a progress bar.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::app::Clock;
use crate::app::ops;
use crate::protocol::time::{Minutes1601, format_rfc3339, parse_time};
use crate::publishing::publisher::Republished;
use crate::server::Server;
use crate::store::PublishOutcome;

pub(super) fn print_banner(
    server: &Server,
    data: &std::path::Path,
    demo: bool,
    clock: &Clock,
    poll: Duration,
) {
    let addr = server.addr;
    let today = Minutes1601::from_timestamp(clock.now()).floor_day();
    let start = format_rfc3339(today.to_timestamp());
    let end = format_rfc3339(today.plus_minutes(7 * 1440).to_timestamp());
    println!(
        "schedplus {} serving {} on http://{addr}/",
        env!("CARGO_PKG_VERSION"),
        data.display()
    );
    println!(
        "  browse:          http://{addr}/ (in a browser: the folder tree, the query form, a timeline)"
    );
    println!(
        "  free/busy query: http://{addr}/public/?Cmd=freebusy&start=…&end=…&interval=30&u=SMTP:user@domain"
    );
    println!("  health:          http://{addr}/healthz");
    let ews = server.state.cas().role != crate::app::availability::Role::Store;
    if ews {
        println!(
            "  EWS:             POST http://{addr}/EWS/Exchange.asmx (GetUserAvailability, as an Exchange 2007 CAS; Basic sign-in)"
        );
    }
    println!("  calendars:       PUT/GET/DELETE http://{addr}/calendars/ADDRESS.ics");
    match &server.calendar_dir {
        Some(dir) => println!(
            "  calendar files:  {} (<alias or smtp>.ics; changes published within {})",
            dir.display(),
            format_interval(poll)
        ),
        None => println!(
            "  poller:          republishes changed calendars every {}",
            format_interval(poll)
        ),
    }
    let auth = *server.state.auth();
    match auth.mode {
        crate::auth::AuthMode::None => {
            println!("  sign-in:         none (--auth none): anyone may write anything")
        }
        crate::auth::AuthMode::Basic => println!(
            "  sign-in:         writes need Basic credentials ({} free/busy, reads {})",
            match auth.permissions {
                crate::auth::Permissions::Owner => "owners and admins write",
                crate::auth::Permissions::Legacy => "any signed-in user writes any",
            },
            match auth.read {
                crate::auth::ReadAccess::Anonymous => "anonymous",
                crate::auth::ReadAccess::Authenticated => "need credentials too",
            }
        ),
    }
    if demo {
        println!();
        if auth.mode == crate::auth::AuthMode::Basic {
            println!(
                "Demo users sign in with their alias and the password '{}'; {} is an admin.",
                crate::app::demo::DEMO_PASSWORD,
                crate::app::demo::DEMO_ADMIN
            );
        }
        println!("Demo organisation loaded. Try:");
        println!(
            "  curl 'http://{addr}/public/?Cmd=freebusy&start={start}&end={end}&interval=60&u=SMTP:danw@xcs.example&u=SMTP:jsguillet@companyabc.example'"
        );
        let data_flag = if data == std::path::Path::new("./schedplus-data") {
            String::new()
        } else {
            format!(" --data {}", data.display())
        };
        if ews {
            print_ews_try(addr, &start, &end);
        }
        println!("  schedplus{data_flag} directory list");
        println!("  schedplus{data_flag} fb show danw@xcs.example");
        if let Some(dir) = &server.calendar_dir {
            println!(
                "  edit {} and watch Dan's answer change at the next poll",
                dir.join("dwinship.ics").display()
            );
        }
    }
    println!();
    println!("Stop with Ctrl-C.");
}

/// The demo banner's EWS example: the request of `fixtures/ews/availability.xml` moved to
/// this week, when that file is at hand (a checkout, where the README's `cargo run` runs);
/// else where the guide shows it.
fn print_ews_try(addr: std::net::SocketAddr, start: &str, end: &str) {
    const REQUEST: &str = "fixtures/ews/availability.xml";
    if !std::path::Path::new(REQUEST).is_file() {
        println!("  an EWS client's request for this week: docs/guide.md, section 6");
        return;
    }
    let day = |t: &str| t.get(..10).unwrap_or(t).to_string();
    println!(
        "  sed -e 's/2026-03-02/{}/' -e 's/2026-03-09/{}/' {REQUEST} | curl -s -u dwinship:demo -H 'Content-Type: text/xml; charset=utf-8' --data-binary @- http://{addr}/EWS/Exchange.asmx",
        day(start),
        day(end)
    );
}

pub(super) fn print_show(r: &ops::FbShowReport) {
    let u = &r.user;
    println!("{} <{}>", u.display_name, u.mail);
    println!("  legacyExchangeDN: {}", u.legacy_dn);
    println!("  folder:           SCHEDULE+ FREE BUSY/{}", u.admin_group);
    match &r.message {
        None => println!("  no free/busy message: the query answers 4 (no data) for every slot"),
        Some(m) => {
            match (&m.range_start, &m.range_end) {
                (Some(a), Some(b)) => println!("  publish range:    {a} .. {b}"),
                _ => println!("  publish range:    not set"),
            }
            for (status, blocks) in &m.blocks {
                println!("  {status}: {}", count(blocks.len(), "block", "blocks"));
                for (a, b) in blocks {
                    println!("    {a} .. {b}");
                }
            }
        }
    }
    println!(
        "fbdata {} .. {}, {} min per digit (0 free, 1 tentative, 2 busy, 3 out of office, 4 no data):",
        r.raster_start, r.raster_end, r.interval
    );
    // One line per day when a day is a whole number of digits.
    let per_line = if 1440 % r.interval == 0 {
        (1440 / r.interval) as usize
    } else {
        96
    };
    let start = parse_time(&r.raster_start)
        .map(Minutes1601::from_timestamp)
        .ok();
    for (i, chunk) in r.fbdata.as_bytes().chunks(per_line).enumerate() {
        let label = match start {
            Some(s) if 1440 % r.interval == 0 => {
                let (y, m, d) = s.plus_minutes(i as i64 * 1440).civil_date();
                format!("{y:04}-{m:02}-{d:02}")
            }
            _ => format!("{:>10}", i * per_line),
        };
        println!("  {label}  {}", String::from_utf8_lossy(chunk));
    }
}

fn format_interval(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

fn outcome_word(o: PublishOutcome, dry_run: bool) -> &'static str {
    match (o, dry_run) {
        (PublishOutcome::Created, false) => "created",
        (PublishOutcome::Updated, false) => "updated",
        (PublishOutcome::Unchanged, false) => "unchanged",
        (PublishOutcome::Created, true) => "would be created",
        (PublishOutcome::Updated, true) => "would be updated",
        (PublishOutcome::Unchanged, true) => "would be unchanged",
    }
}

/// `1 block`, `2 blocks`, `0 blocks`: a number with its noun in agreement.
pub(super) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The most blocks listed per direction; the counts are always complete.
const MAX_LISTED_BLOCKS: usize = 12;

pub(super) fn print_republished(label: &str, r: &Republished, dry_run: bool) {
    println!(
        "{label}: message {}, {} added, {} removed (publish range {} .. {})",
        outcome_word(r.outcome, dry_run),
        count(r.added.len(), "block", "blocks"),
        r.removed.len(),
        r.range.start,
        r.range.end
    );
    for (sign, list) in [("+", &r.added), ("-", &r.removed)] {
        for c in list.iter().take(MAX_LISTED_BLOCKS) {
            println!(
                "    {sign} {:9} {} .. {}",
                c.status.name(),
                c.block.start(),
                c.block.end()
            );
        }
        if list.len() > MAX_LISTED_BLOCKS {
            println!("    {sign} … {} more", list.len() - MAX_LISTED_BLOCKS);
        }
    }
    if r.removed_duplicates > 0 {
        println!(
            "    {} duplicate messages {}",
            r.removed_duplicates,
            if dry_run {
                "would be removed"
            } else {
                "removed"
            }
        );
    }
}

/// What `directory import` did, or on a dry run would do: the summary line, then for a dry
/// run the first users of each kind.
pub(super) fn print_import(report: &ops::ImportReport, via: &str) {
    let s = &report.summary;
    let dry = report.preview.is_some();
    println!(
        "{}{} ({}, {}): {} ({} {}, {} {}, {} unchanged), {} {}, {} skipped (via {via})",
        if dry {
            "dry run, nothing written: "
        } else {
            ""
        },
        report.source,
        report.format,
        report.encoding,
        count(report.users, "user", "users"),
        s.added,
        if dry { "to add" } else { "added" },
        s.updated,
        if dry { "to update" } else { "updated" },
        s.unchanged,
        count(
            s.folders_created,
            "admin-group folder",
            "admin-group folders"
        ),
        if dry { "to create" } else { "created" },
        count(
            report.skipped_non_users,
            "non-user record",
            "non-user records"
        ),
    );
    if report.groups > 0 {
        println!(
            "  of the records skipped, {} {} (the EWS front end answers a group merged)",
            count(report.groups, "distribution group", "distribution groups"),
            if dry { "to write" } else { "written" }
        );
    }
    let Some(p) = &report.preview else {
        return;
    };
    for (what, list) in [
        ("added", &p.added),
        ("changed", &p.changed),
        ("unchanged", &p.unchanged),
        ("removed", &p.removed),
    ] {
        let note = if what == "removed" {
            " (in the store, not in the file; an import keeps them)"
        } else {
            ""
        };
        println!("  {what}: {}{note}", list.count);
        for line in &list.first {
            println!("    {line}");
        }
        if list.count > list.first.len() {
            println!("    … {} more", list.count - list.first.len());
        }
    }
}

/// What `updatefb` did with one mailbox line.
pub(super) enum Mailbox {
    /// Republished (or, on a dry run, compared): the user's address and the result.
    Done(String, Republished),
    /// The line or its mailbox failed: why.
    Failed(String),
}

/// One `updatefb` log line: `line N: ADDRESS: published …` with the blocks that changed,
/// `… unchanged`, or `line N: failed: REASON`.
pub(super) fn print_mailbox(line: usize, m: &Mailbox, dry_run: bool) {
    match m {
        Mailbox::Done(user, r) if r.outcome == PublishOutcome::Unchanged => {
            let range = format!("publish range {} .. {}", r.range.start, r.range.end);
            match (dry_run, r.removed_duplicates) {
                (false, 0) => println!("line {line}: {user}: unchanged ({range})"),
                _ => print_republished(&format!("line {line}: {user}"), r, dry_run),
            }
        }
        Mailbox::Done(user, r) => print_republished(
            &format!(
                "line {line}: {user}: {}",
                if dry_run {
                    "would be published"
                } else {
                    "published"
                }
            ),
            r,
            dry_run,
        ),
        Mailbox::Failed(reason) => println!("line {line}: failed: {reason}"),
    }
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal (so logs and
/// pipes get no control characters).
pub(super) struct Progress {
    total: usize,
    on: bool,
}

impl Progress {
    const WIDTH: usize = 30;

    pub(super) fn new(total: usize) -> Progress {
        Progress {
            total,
            on: std::io::stderr().is_terminal(),
        }
    }

    pub(super) fn show(&self, done: usize, label: &str) {
        if !self.on {
            return;
        }
        let filled = Self::WIDTH * done / self.total.max(1);
        let label: String = label.chars().take(30).collect();
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{}{}] {done}/{} {label:<30}",
            "#".repeat(filled),
            " ".repeat(Self::WIDTH - filled),
            self.total
        );
        let _ = err.flush();
    }

    pub(super) fn finish(&self) {
        if self.on {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}\r", " ".repeat(Self::WIDTH + 50));
            let _ = err.flush();
        }
    }
}

/// `directory list`'s groups, after the users: name, address, members, DN.
pub(super) fn print_groups(groups: &[ops::GroupSummary]) {
    if groups.is_empty() {
        return;
    }
    println!();
    println!("GROUP  MAIL  MEMBERS  DN");
    for g in groups {
        let mail = if g.mail.is_empty() { "-" } else { &g.mail };
        println!("{}  {mail}  {}  {}", g.display_name, g.members, g.dn);
    }
    println!("{}", count(groups.len(), "group", "groups"));
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(super::count(0, "block", "blocks"), "0 blocks");
        assert_eq!(super::count(1, "block", "blocks"), "1 block");
        assert_eq!(super::count(2, "user", "users"), "2 users");
    }
}
