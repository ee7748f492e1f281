//! The demo organisation, embedded in the binary so `serve --demo` works from anywhere.
//!
//! Owns the fixture texts (`fixtures/demo/directory.csv`, `fixtures/calendars/*.ics`) and
//! [`load`], which imports the directory and writes each demo calendar into the calendar
//! directory the server watches, so the demo runs the real pipeline: the poller loads the
//! files, publishes them, and republishes a user whose file is edited. One user, Ben Wright
//! (`bwright`), has no calendar, so the demo also shows what "no data" (`4`) looks like.
//!
//! Every demo user can sign in with the password [`DEMO_PASSWORD`], and [`DEMO_ADMIN`] is
//! the one admin, so writes work from the first minute under the default `--auth basic`.
//!
//! # Every start with `--demo` resets the demo
//!
//! A lab plays with the demo (changes a password, marks an admin, breaks a calendar file)
//! and expects `serve --demo` to give the demo back. So [`load`] restores, for the demo's
//! own users only: their directory records, the password `demo` and the admin marks (only
//! `bwright`), and the demo calendar files (rewritten where their text differs). The first
//! publishing round after start reads every file; a rewritten file is newer than anything
//! stored, so it wins, while a calendar uploaded (or deleted) after an untouched file was
//! written stays as the lab left it: the newest change wins (docs/behaviour.md). It keeps
//! everything else: users a lab imported and their passwords, calendars and free/busy,
//! other files in the calendar directory (a calendar given to `bwright` included: a lab may
//! use him to try publishing), and the ordinary public folders.

use std::path::Path;

use crate::app::Error;
use crate::app::ops::{Ctx, ImportRequest, Operation};

pub const DIRECTORY_CSV: &str = include_str!("../../fixtures/demo/directory.csv");

/// The demo users' password (printed in the banner; a demo is not a production store).
pub const DEMO_PASSWORD: &str = "demo";
/// The demo's admin: Ben Wright, of the Exchange Administrative Group.
pub const DEMO_ADMIN: &str = "bwright";

/// (alias, calendar text). Every demo user but `bwright`.
pub const CALENDARS: &[(&str, &str)] = &[
    (
        "dwinship",
        include_str!("../../fixtures/calendars/dwinship.ics"),
    ),
    (
        "kbaker",
        include_str!("../../fixtures/calendars/kbaker.ics"),
    ),
    (
        "tnguyen",
        include_str!("../../fixtures/calendars/tnguyen.ics"),
    ),
    (
        "rpowell",
        include_str!("../../fixtures/calendars/rpowell.ics"),
    ),
    (
        "jsguillet",
        include_str!("../../fixtures/calendars/jsguillet.ics"),
    ),
    (
        "amartin",
        include_str!("../../fixtures/calendars/amartin.ics"),
    ),
    (
        "mgarcia",
        include_str!("../../fixtures/calendars/mgarcia.ics"),
    ),
    (
        "cdubois",
        include_str!("../../fixtures/calendars/cdubois.ics"),
    ),
    ("lchen", include_str!("../../fixtures/calendars/lchen.ics")),
    (
        "opatel",
        include_str!("../../fixtures/calendars/opatel.ics"),
    ),
    (
        "shughes",
        include_str!("../../fixtures/calendars/shughes.ics"),
    ),
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoReport {
    pub users: usize,
    /// Calendar files written: missing ones and ones whose text differed from the demo's.
    pub calendars_written: usize,
    /// Demo users whose password or admin mark was not the demo's and was put back.
    pub credentials_restored: usize,
}

/// Import the demo directory, restore the demo users' passwords and admin marks, and, when
/// `calendar_dir` is given, write the demo calendars into it (creating the directory).
pub fn load(
    store: &crate::store::Store,
    clock: &crate::app::Clock,
    calendar_dir: Option<&Path>,
) -> Result<DemoReport, Error> {
    let imported = ImportRequest {
        text: DIRECTORY_CSV.to_string(),
        format: Some("csv".into()),
        source: "fixtures/demo/directory.csv".into(),
        ..ImportRequest::default()
    }
    .run(&Ctx::new(store).with_clock(*clock))?;
    let demo_users = crate::protocol::directory_file::parse_directory(
        DIRECTORY_CSV,
        crate::protocol::directory_file::DirectoryFormat::Csv,
    )
    .map_err(|e| Error::Internal(format!("the embedded demo directory: {e}")))?;
    let credentials_restored = restore_credentials(store, &demo_users)?;
    let mut written = 0;
    if let Some(dir) = calendar_dir {
        let io = |e: std::io::Error, p: &Path| {
            Error::Internal(format!(
                "cannot write the demo calendar {}: {e}",
                p.display()
            ))
        };
        std::fs::create_dir_all(dir).map_err(|e| io(e, dir))?;
        for (alias, text) in CALENDARS {
            let path = dir.join(format!("{alias}.ics"));
            if std::fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
                continue;
            }
            // Written aside and renamed, so the watcher never reads half a file.
            let tmp = dir.join(format!(".{alias}.ics.tmp"));
            std::fs::write(&tmp, text).map_err(|e| io(e, &tmp))?;
            std::fs::rename(&tmp, &path).map_err(|e| io(e, &path))?;
            written += 1;
        }
    }
    Ok(DemoReport {
        users: imported.users,
        calendars_written: written,
        credentials_restored,
    })
}

/// Give every demo user the password [`DEMO_PASSWORD`] and the admin mark the demo says
/// (only [`DEMO_ADMIN`]). Returns how many credentials were changed.
///
/// One Argon2 hash serves every demo user (they share a published password anyway): the
/// hash the demo users already share is checked once against the demo password and kept
/// when it matches, so a restart of an untouched demo costs one verify and writes nothing.
fn restore_credentials(
    store: &crate::store::Store,
    demo_users: &[crate::protocol::directory_file::DirectoryEntry],
) -> Result<usize, Error> {
    let mut current = Vec::with_capacity(demo_users.len());
    for user in demo_users {
        current.push(store.credential(&user.legacy_dn)?.unwrap_or_default());
    }
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for hash in current.iter().filter_map(|c| c.password_hash.as_deref()) {
        match seen.iter_mut().find(|(h, _)| *h == hash) {
            Some((_, n)) => *n += 1,
            None => seen.push((hash, 1)),
        }
    }
    let shared = seen
        .iter()
        .max_by_key(|(_, n)| *n)
        .map(|(h, _)| *h)
        .filter(|h| crate::auth::verify_password(h, DEMO_PASSWORD));
    let demo_hash = match shared {
        Some(h) => h.to_string(),
        None => {
            crate::auth::hash_password(DEMO_PASSWORD).map_err(|e| Error::Internal(e.to_string()))?
        }
    };
    let mut restored = 0;
    for (user, cred) in demo_users.iter().zip(&current) {
        let admin = user.alias.eq_ignore_ascii_case(DEMO_ADMIN);
        if cred.password_hash.as_deref() == Some(demo_hash.as_str()) && cred.admin == admin {
            continue;
        }
        let hash = demo_hash.clone();
        store.update_credential(&user.legacy_dn, |c| {
            c.password_hash = Some(hash);
            c.admin = admin;
        })?;
        restored += 1;
    }
    Ok(restored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::freebusy::{FbStatus, Interval, PublishRange};
    use crate::protocol::time::Minutes1601;
    use crate::publishing::calendar::{ExpandOptions, parse};
    use crate::store::testutil::stamp;

    /// "The demo shows a full picture whatever today's date is": for dates spread over
    /// four years, every demo calendar has something in the coming week, and across the
    /// demo every status shows up in the publish range.
    #[test]
    fn every_demo_calendar_has_a_schedule_on_any_date() {
        let cals: Vec<_> = CALENDARS
            .iter()
            .map(|(a, t)| (a, parse(t).unwrap_or_else(|e| panic!("{a}: {e}"))))
            .collect();
        let opts = ExpandOptions::default();
        let first = Minutes1601::from_civil(2026, 1, 1);
        for step in 0..(4 * 365 / 11) {
            let now = first.plus_minutes(step * 11 * 1440 + 9 * 60);
            let week = Interval::new(now, now.plus_minutes(7 * 1440)).unwrap();
            for (alias, cal) in &cals {
                let fb = cal.expand(week, &opts).unwrap();
                assert!(!fb.is_empty(), "{alias} has nothing in the week from {now}");
            }
            let range = PublishRange::at(now, 2).as_interval().unwrap();
            for status in FbStatus::MARKED {
                assert!(
                    cals.iter().any(|(_, c)| !c
                        .expand(range, &opts)
                        .unwrap()
                        .get(status)
                        .unwrap()
                        .is_empty()),
                    "no demo user is {status} in the publish range at {now}"
                );
            }
        }
    }

    #[test]
    fn every_demo_user_but_one_has_a_calendar() {
        let (_d, s) = crate::store::testutil::temp_store();
        let dir = tempfile::tempdir().unwrap();
        let r = load(&s, &crate::app::Clock::System, Some(dir.path())).unwrap();
        assert_eq!(r.calendars_written, CALENDARS.len());
        let users = s.list_users().unwrap();
        let without: Vec<_> = users
            .iter()
            .filter(|u| !dir.path().join(format!("{}.ics", u.alias)).exists())
            .map(|u| u.alias.as_str())
            .collect();
        assert_eq!(without, vec!["bwright"]);
        assert_eq!(r.credentials_restored, users.len());
        let auth = crate::auth::Authenticator::new();
        let ben = auth
            .authenticate(&s, "bwright", DEMO_PASSWORD)
            .unwrap()
            .unwrap();
        assert!(ben.admin);
        let dan = auth
            .authenticate(&s, "danw@xcs.example", DEMO_PASSWORD)
            .unwrap()
            .unwrap();
        assert!(!dan.admin);
        // An untouched demo restarts without writing anything.
        let again = load(&s, &crate::app::Clock::System, Some(dir.path())).unwrap();
        assert_eq!(
            (again.calendars_written, again.credentials_restored),
            (0, 0)
        );
    }

    /// "Restarting with `--demo` refreshes it": a changed password, a revoked or added
    /// admin mark and an edited calendar file are all put back; a lab's own user, and a
    /// calendar given to the demo user without one, are left alone.
    #[test]
    fn loading_again_restores_what_a_lab_changed() {
        let (_d, s) = crate::store::testutil::temp_store();
        let dir = tempfile::tempdir().unwrap();
        load(&s, &crate::app::Clock::System, Some(dir.path())).unwrap();
        let ben = s.resolve_user("bwright").unwrap();
        let karen = s.resolve_user("kbaker").unwrap();
        let dan = s.resolve_user("dwinship").unwrap();
        s.update_credential(&ben.legacy_dn, |c| *c = Default::default())
            .unwrap();
        s.update_credential(&karen.legacy_dn, |c| c.admin = true)
            .unwrap();
        let other = crate::auth::hash_password("n3w-secret").unwrap();
        s.update_credential(&dan.legacy_dn, |c| c.password_hash = Some(other))
            .unwrap();
        std::fs::write(dir.path().join("kbaker.ics"), "BEGIN:VCALENDAR\nbroken").unwrap();
        std::fs::write(dir.path().join("bwright.ics"), CALENDARS[0].1).unwrap();
        let lab_user = crate::store::UserRecord {
            legacy_dn: crate::protocol::legacy_dn::LegacyDn::parse(
                "/o=Lab/ou=X/cn=Recipients/cn=own",
            )
            .unwrap(),
            mail: "own@lab.example".into(),
            display_name: "Own".into(),
            alias: "own".into(),
            proxy_addresses: vec![],
        };
        s.import_users(std::slice::from_ref(&lab_user), stamp())
            .unwrap();
        std::fs::write(dir.path().join("own.ics"), "lab's own").unwrap();

        let r = load(&s, &crate::app::Clock::System, Some(dir.path())).unwrap();
        assert_eq!(r.credentials_restored, 3, "{r:?}");
        assert_eq!(r.calendars_written, 1, "{r:?}");
        let auth = crate::auth::Authenticator::new();
        for (who, admin) in [("bwright", true), ("kbaker", false), ("dwinship", false)] {
            let u = auth
                .authenticate(&s, who, DEMO_PASSWORD)
                .unwrap()
                .unwrap_or_else(|e| panic!("{who} cannot sign in with the demo password: {e:?}"));
            assert_eq!(u.admin, admin, "{who}");
        }
        assert_eq!(
            std::fs::read_to_string(dir.path().join("kbaker.ics")).unwrap(),
            CALENDARS.iter().find(|(a, _)| *a == "kbaker").unwrap().1
        );
        assert!(dir.path().join("bwright.ics").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("own.ics")).unwrap(),
            "lab's own"
        );
        assert!(
            s.credential(&lab_user.legacy_dn).unwrap().is_none(),
            "a lab's user never gets the demo password"
        );
    }
}
