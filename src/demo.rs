//! The demo organisation, embedded in the binary so `serve --demo` works from anywhere.
//!
//! Owns the fixture texts (`fixtures/demo/directory.csv`, `fixtures/calendars/*.ics`) and
//! [`load`], which imports the directory and writes each demo calendar into the calendar
//! directory the server watches, so the demo runs the real pipeline: the poller loads the
//! files, publishes them, and republishes a user whose file is edited. Files already there
//! are left alone (they may hold a lab's edits). One user, Ben Wright (`bwright`), has no
//! calendar, so the demo also shows what "no data" (`4`) looks like.
//!
//! Every demo user can sign in with the password [`DEMO_PASSWORD`], and [`DEMO_ADMIN`] is
//! an admin, so writes work from the first minute under the default `--auth basic`. Only
//! the demo's own users whose credentials were never set get them: a lab's users, and a
//! password removed or an admin mark revoked by hand, stay as they are.

use std::path::Path;

use crate::admin::{self, AdminError, ImportRequest};

pub const DIRECTORY_CSV: &str = include_str!("../fixtures/demo/directory.csv");

/// The demo users' password (printed in the banner; a demo is not a production store).
pub const DEMO_PASSWORD: &str = "demo";
/// The demo's admin: Ben Wright, of the Exchange Administrative Group.
pub const DEMO_ADMIN: &str = "bwright";

/// (alias, calendar text). Every demo user but `bwright`.
pub const CALENDARS: &[(&str, &str)] = &[
    (
        "dwinship",
        include_str!("../fixtures/calendars/dwinship.ics"),
    ),
    ("kbaker", include_str!("../fixtures/calendars/kbaker.ics")),
    ("tnguyen", include_str!("../fixtures/calendars/tnguyen.ics")),
    ("rpowell", include_str!("../fixtures/calendars/rpowell.ics")),
    (
        "jsguillet",
        include_str!("../fixtures/calendars/jsguillet.ics"),
    ),
    ("amartin", include_str!("../fixtures/calendars/amartin.ics")),
    ("mgarcia", include_str!("../fixtures/calendars/mgarcia.ics")),
    ("cdubois", include_str!("../fixtures/calendars/cdubois.ics")),
    ("lchen", include_str!("../fixtures/calendars/lchen.ics")),
    ("opatel", include_str!("../fixtures/calendars/opatel.ics")),
    ("shughes", include_str!("../fixtures/calendars/shughes.ics")),
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoReport {
    pub users: usize,
    /// Calendar files written (missing ones only).
    pub calendars_written: usize,
    /// Users given the demo password (those whose credentials were never set).
    pub passwords_set: usize,
}

/// Import the demo directory and, when `calendar_dir` is given, write the demo calendars
/// that are not there yet into it (creating the directory).
pub fn load(
    store: &crate::store::Store,
    calendar_dir: Option<&Path>,
) -> Result<DemoReport, AdminError> {
    let imported = admin::import_directory(
        store,
        &ImportRequest {
            text: DIRECTORY_CSV.to_string(),
            data_base64: None,
            format: Some("csv".into()),
            source: "fixtures/demo/directory.csv".into(),
        },
    )?;
    let mut passwords_set = 0;
    // One hash serves every demo user: they share a published password anyway, and each
    // Argon2 costs 19 MiB and tens of milliseconds at start-up.
    let mut demo_hash: Option<String> = None;
    let demo_users = crate::protocol::directory_file::parse_directory(
        DIRECTORY_CSV,
        crate::protocol::directory_file::DirectoryFormat::Csv,
    )
    .map_err(|e| AdminError::Transport(format!("the embedded demo directory: {e}")))?;
    for user in demo_users {
        if store.credential(&user.legacy_dn)?.is_some() {
            continue;
        }
        let hash = match &demo_hash {
            Some(h) => h.clone(),
            None => {
                let h = crate::auth::hash_password(DEMO_PASSWORD)
                    .map_err(|e| AdminError::Transport(e.to_string()))?;
                demo_hash.insert(h).clone()
            }
        };
        let admin = user.alias.eq_ignore_ascii_case(DEMO_ADMIN);
        store.update_credential(&user.legacy_dn, |c| {
            c.password_hash = Some(hash);
            c.admin = admin;
        })?;
        passwords_set += 1;
    }
    let mut written = 0;
    if let Some(dir) = calendar_dir {
        let io = |e: std::io::Error, p: &Path| {
            AdminError::Transport(format!(
                "cannot write the demo calendar {}: {e}",
                p.display()
            ))
        };
        std::fs::create_dir_all(dir).map_err(|e| io(e, dir))?;
        for (alias, text) in CALENDARS {
            let path = dir.join(format!("{alias}.ics"));
            if path.exists() {
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
        passwords_set,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{ExpandOptions, parse};
    use crate::protocol::freebusy::{FbStatus, Interval, PublishRange};
    use crate::protocol::time::Minutes1601;

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
        let r = load(&s, Some(dir.path())).unwrap();
        assert_eq!(r.calendars_written, CALENDARS.len());
        let users = s.list_users().unwrap();
        let without: Vec<_> = users
            .iter()
            .filter(|u| !dir.path().join(format!("{}.ics", u.alias)).exists())
            .map(|u| u.alias.as_str())
            .collect();
        assert_eq!(without, vec!["bwright"]);
        assert_eq!(r.passwords_set, users.len());
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
        std::fs::write(dir.path().join("kbaker.ics"), "edited").unwrap();
        let again = load(&s, Some(dir.path())).unwrap();
        assert_eq!((again.calendars_written, again.passwords_set), (0, 0));
        // A removed password and a revoked admin stay so across restarts, and users of the
        // lab's own are never given the demo password.
        let ben = s.resolve_user("bwright").unwrap();
        s.update_credential(&ben.legacy_dn, |c| *c = Default::default())
            .unwrap();
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
        s.import_users(std::slice::from_ref(&lab_user)).unwrap();
        assert_eq!(load(&s, Some(dir.path())).unwrap().passwords_set, 0);
        assert!(
            auth.authenticate(&s, "bwright", DEMO_PASSWORD)
                .unwrap()
                .is_err()
        );
        assert!(
            auth.authenticate(&s, "own", DEMO_PASSWORD)
                .unwrap()
                .is_err()
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("kbaker.ics")).unwrap(),
            "edited",
            "a lab's edits are kept"
        );
    }
}
