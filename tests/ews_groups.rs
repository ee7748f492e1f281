//! Distribution groups at the Availability front end (issue 15 item 3): groups imported from
//! ldifde and csvde exports (`fixtures/ews/groups.*`), asked for like users, expanded two
//! levels deep and at most 100 members, and answered as the merge of their members' rows,
//! the members asked through the same per-admin-group procedure as users.

use schedplus::app::ops::{Ctx, ImportRequest, Operation};

use crate::common::{ServeProcess, TestServer, basic, run_cli, stdout};
use crate::ews::{
    DAN, FIRST_AG, LI, LONDON, NOW, ag, ask_jan5, free_busy_server, front_end, jan5, post,
    responses,
};

const GROUPS_LDIF: &str = include_str!("../fixtures/ews/groups.ldf");
const LAB_TEAM: &str = "lab-team@xcs.example";
const LAB_DEEP: &str = "lab-deep@xcs.example";
const RACHEL: &str = "rpowell@xcs.example";
const THANH: &str = "tnguyen@xcs.example";
const JS: &str = "jsguillet@companyabc.example";

fn import(s: &TestServer, text: &str) {
    ImportRequest {
        text: text.to_string(),
        source: "test".into(),
        ..Default::default()
    }
    .run(&Ctx::new(s.store()))
    .unwrap();
}

/// The merge the Availability service gave a group, written independently: per slot the
/// highest of the digits 0-3, or 4 where no row has one.
fn oracle_merge(rows: &[&str]) -> String {
    (0..rows[0].len())
        .map(|i| {
            rows.iter()
                .map(|r| r.as_bytes()[i])
                .filter(|d| *d != b'4')
                .max()
                .unwrap_or(b'4') as char
        })
        .collect()
}

/// Answers for `who`, as (code, digits), all expected to succeed.
fn digits(front: &TestServer, who: &[&str]) -> Vec<String> {
    let r = ask_jan5(front, who);
    assert_eq!(r.status, 200, "{}", r.text());
    responses(&r.text())
        .into_iter()
        .map(|(code, d)| {
            assert_eq!(code, "NoError", "{}", r.text());
            d
        })
        .collect()
}

#[test]
fn a_group_of_users_on_two_admin_groups_is_answered_merged() {
    // Dan (First Administrative Group) is busy 10-11 on b1; Li (London) busy and away on
    // b2; Rachel, a member through the nested Lab Core, is tentative on b1.
    let b1 = free_busy_server(|_| {});
    b1.fb_set(
        RACHEL,
        NOW,
        &[],
        &["2026-01-05T09:00:00Z/2026-01-05T10:30:00Z"],
        &[],
    );
    let b2 = free_busy_server(|_| {});
    let front = front_end(
        vec![
            (ag(FIRST_AG), vec![format!("{}/public", b1.base)]),
            (ag(LONDON), vec![format!("{}/public", b2.base)]),
        ],
        |_| {},
    );
    import(&front, GROUPS_LDIF);
    let got = digits(&front, &[LAB_TEAM, DAN, LI, RACHEL, JS]);
    let (team, members) = (&got[0], &got[1..]);
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    assert_eq!(team, &oracle_merge(&members));
    // Each member's time is there: Rachel's tentative 09:00, Dan's busy 10:00 over it,
    // Li's busy 14:00 and away 16:00.
    assert_eq!(&team[18..23], "11220");
    assert_eq!(&team[28..29], "2");
    assert_eq!(&team[32..34], "33");
    // Both servers were asked.
    let metrics = front.get("/metrics").text();
    for b in [&b1, &b2] {
        assert!(
            metrics.lines().any(
                |l| l.starts_with("schedplus_availability_server_answers_total")
                    && l.contains(&b.base)
            ),
            "{metrics}"
        );
    }
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("schedplus_availability_mailboxes_total{outcome=\"group\"}")),
        "{metrics}"
    );
}

#[test]
fn nesting_two_levels_deep_is_expanded_and_the_third_is_not() {
    // One server, its own store: Rachel (in Lab Core, level 2) and Thanh (in Lab Deep,
    // level 3 below Lab Team) busy at different hours.
    let s = free_busy_server(|_| {});
    import(&s, GROUPS_LDIF);
    s.fb_set(
        RACHEL,
        NOW,
        &["2026-01-05T08:00:00Z/2026-01-05T09:00:00Z"],
        &[],
        &[],
    );
    s.fb_set(
        THANH,
        NOW,
        &["2026-01-05T20:00:00Z/2026-01-05T21:00:00Z"],
        &[],
        &[],
    );
    let got = digits(&s, &[LAB_TEAM, LAB_DEEP, THANH]);
    let (team, deep, thanh) = (&got[0], &got[1], &got[2]);
    assert_eq!(&team[16..18], "22", "Rachel, two levels down: {team}");
    assert_eq!(&thanh[40..42], "22");
    assert_ne!(
        &team[40..42],
        "22",
        "Thanh, three levels down, is not expanded: {team}"
    );
    // Asked directly, Lab Deep is one level: Thanh is its member.
    assert_eq!(deep, thanh);
}

/// `n` users `u0`… in one admin group, then groups given as (name, members as user numbers,
/// nested group names), as an LDIF export.
fn big_directory(n: usize, groups: &[(&str, std::ops::Range<usize>, &[&str])]) -> String {
    let mut out = String::new();
    for i in 0..n {
        out.push_str(&format!(
            "dn: CN=u{i},OU=Big,DC=x\nobjectClass: user\nmail: u{i}@big.example\ndisplayName: U {i}\nlegacyExchangeDN: /o=Big/ou=Floor/cn=Recipients/cn=u{i}\n\n"
        ));
    }
    for (name, users, nested) in groups {
        out.push_str(&format!(
            "dn: CN={name},OU=Big,DC=x\nobjectClass: group\nmail: {name}@big.example\n"
        ));
        for i in users.clone() {
            out.push_str(&format!("member: CN=u{i},OU=Big,DC=x\n"));
        }
        for g in *nested {
            out.push_str(&format!("member: CN={g},OU=Big,DC=x\n"));
        }
        out.push('\n');
    }
    out
}

#[test]
fn a_group_over_100_users_is_refused_and_a_nested_group_past_100_is_left_out() {
    let s = TestServer::start();
    import(
        &s,
        &big_directory(
            101,
            &[
                ("hundred", 0..100, &[]),
                ("big", 0..101, &[]),
                ("mixed", 0..60, &["rest"]),
                ("rest", 60..101, &[]),
                ("small", 95..101, &[]),
                ("mixed2", 0..60, &["small"]),
            ],
        ),
    );
    s.fb_set(
        "u0@big.example",
        NOW,
        &["2026-01-05T01:00:00Z/2026-01-05T02:00:00Z"],
        &[],
        &[],
    );
    s.fb_set(
        "u99@big.example",
        NOW,
        &["2026-01-05T03:00:00Z/2026-01-05T04:00:00Z"],
        &[],
        &[],
    );
    let r = ask_jan5(
        &s,
        &[
            "hundred@big.example",
            "big@big.example",
            "mixed@big.example",
            "mixed2@big.example",
        ],
    );
    let got = responses(&r.text());
    // 101 distinct users of one admin group are asked, so in two requests of at most 100
    // (one request would be refused: its rows would all be 4, and these digits would not
    // show). 100 users: answered, both busy hours in it.
    assert_eq!(got[0].0, "NoError");
    assert_eq!((&got[0].1[2..4], &got[0].1[6..8]), ("22", "22"));
    // 101 users of its own: not expanded, Exchange's code for it.
    assert_eq!(got[1].0, "ErrorFreeBusyDLLimitReached", "{}", r.text());
    assert!(r.text().contains("at most 100"), "{}", r.text());
    // 60 + a nested 41 would be 101: the nested group is left out, the 60 are merged.
    assert_eq!(got[2].0, "NoError");
    assert_eq!(&got[2].1[2..4], "22");
    assert_ne!(&got[2].1[6..8], "22", "{}", got[2].1);
    // 60 + a nested 6 stays within 100: expanded.
    assert_eq!(&got[3].1[6..8], "22", "{}", got[3].1);
}

/// Through `schedplus serve --demo`: the csvde export imported by the CLI (through the
/// running server), `directory list` showing the groups, the group answered, and a member
/// that is in no directory skipped with a warning in the log.
#[test]
fn serve_imports_csvde_groups_lists_them_and_warns_of_an_unknown_member() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let serve = ["--demo", "--role", "both", "--listen", "127.0.0.1:0"];
    let p = ServeProcess::spawn(dir, &["--data", dir.to_str().unwrap()], &serve, &[]);
    let csv = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/ews/groups.csv");
    let o = run_cli(dir, &["directory", "import", csv]);
    let imported = stdout(&o);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        imported.contains("3 distribution groups written"),
        "{imported}"
    );
    let listed = stdout(&run_cli(dir, &["directory", "list"]));
    assert!(
        listed
            .contains("Lab Team  lab-team@xcs.example  5  CN=Lab Team,OU=Groups,DC=xcs,DC=example"),
        "{listed}"
    );
    assert!(listed.contains("Lab Core  -  3  "), "{listed}");
    // The demo's own Paris Staff is a group too: its four Paris users, as in the LDIF.
    assert!(
        listed.contains("Paris Staff  parisstaff@companyabc.example  4  "),
        "{listed}"
    );
    let r = post(
        &p.base,
        "/EWS/Exchange.asmx",
        &jan5(&[
            LAB_TEAM,
            "nobody-group@xcs.example",
            "parisstaff@companyabc.example",
        ]),
        Some(&basic("dwinship", "demo")),
    );
    let got = responses(&r.text());
    assert_eq!(got[0].0, "NoError", "{}", r.text());
    assert_eq!(got[1].0, "ErrorMailRecipientNotFound");
    assert_eq!(got[2].0, "NoError", "{}", r.text());
    let log = std::fs::read_to_string(&p.log).unwrap();
    assert!(
        log.lines().any(|l| l.contains("WARN")
            && l.contains("CN=Nobody Here,CN=Users,DC=xcs,DC=example")
            && l.contains("CN=Lab Team")),
        "{log}"
    );
}
