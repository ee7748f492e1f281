//! `serve --calendar-dir DIR`: calendars kept as files, `DIR/<alias or smtp>.ics`.
//!
//! Owns [`CalendarDir`], which remembers each file's modification time and size and, on
//! every [`CalendarDir::scan`], stores new and modified files through
//! `admin::calendar_put` (so a file is checked and refused exactly like a `PUT`) and
//! deletes the calendar of a file that disappeared. The poller calls `scan` at the start
//! of each round.
//!
//! Why polling and not inotify: the poller already wakes every `--poll-interval`, and a
//! change only matters when the next round publishes it, so OS notifications would buy no
//! latency; polling needs no dependency, behaves the same on every platform and on network
//! shares, and copes with editors that save by writing a new file and renaming it. Its
//! cost is one `stat` per file per round. A file whose size and modification time both
//! stay the same across an edit (a same-size rewrite within the file system's timestamp
//! resolution) is missed until it changes again; touch it to force a reload.
//!
//! A file larger than `max_calendar_bytes` (the cap a `PUT` has) is refused from its size
//! alone, before anything is read, and the read itself stops one byte past the cap, so a
//! file that grows between the two is refused too, never held whole in memory.
//!
//! A refused file is reported once per change, not every round. A file deleted while the
//! server was down is noticed at the first scan: calendars whose recorded source is a file
//! of this directory that no longer exists are deleted.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::admin::{self, AdminError, CalendarPutRequest};
use crate::protocol::time::Clock;
use crate::publisher::PublishSettings;
use crate::store::{CalendarChange, CalendarSource, Store};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
        }
    }
}

/// What a calendar file held.
enum Contents {
    Text(String),
    NotUtf8,
    /// Over the cap: its size, or as much of it as was read (cap + 1).
    TooLarge {
        len: u64,
    },
}

/// What one scan did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirScan {
    pub stored: usize,
    pub unchanged: usize,
    pub refused: usize,
    pub deleted: usize,
    /// Files named after nobody in the directory.
    pub unknown: usize,
}

pub struct CalendarDir {
    dir: PathBuf,
    /// `max_calendar_bytes`: larger files are refused unread.
    max_bytes: usize,
    /// File name → stamp when last handled.
    seen: BTreeMap<String, Stamp>,
    scanned_once: bool,
    dir_error_reported: bool,
}

impl CalendarDir {
    /// Watch `dir`, refusing files over `max_bytes` (the server's `max_calendar_bytes`).
    pub fn new(dir: &Path, max_bytes: usize) -> CalendarDir {
        CalendarDir {
            dir: std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()),
            max_bytes,
            seen: BTreeMap::new(),
            scanned_once: false,
            dir_error_reported: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn source(&self, name: &str) -> CalendarSource {
        CalendarSource::Dir(self.dir.join(name).display().to_string())
    }

    /// Look at the directory once and bring the store in line with it.
    pub fn scan(&mut self, store: &Store, clock: &Clock, settings: &PublishSettings) -> DirScan {
        let mut report = DirScan::default();
        let files = match self.list() {
            Ok(f) => {
                self.dir_error_reported = false;
                f
            }
            Err(e) => {
                if !self.dir_error_reported {
                    tracing::error!(dir = %self.dir.display(), error = %e, "cannot read the calendar directory; retrying every round");
                    self.dir_error_reported = true;
                }
                return report;
            }
        };
        for (name, stamp) in &files {
            if self.seen.get(name) == Some(stamp) {
                continue;
            }
            let path = self.dir.join(name);
            let read = if stamp.len > self.max_bytes as u64 {
                Ok(Contents::TooLarge { len: stamp.len })
            } else {
                self.read(&path)
            };
            let read = match read {
                Ok(r) => r,
                // Vanished or unreadable between listing and reading: next round.
                Err(e) => {
                    tracing::debug!(file = %path.display(), error = %e, "calendar file not readable yet");
                    continue;
                }
            };
            self.seen.insert(name.clone(), *stamp);
            let text = match read {
                Contents::Text(text) => text,
                Contents::NotUtf8 => {
                    report.refused += 1;
                    tracing::warn!(file = %path.display(), "calendar file refused: it is not UTF-8 text");
                    continue;
                }
                Contents::TooLarge { mut len } => {
                    report.refused += 1;
                    if len > stamp.len {
                        // It grew while being read: remember it as it is now, so that it is
                        // reported again only when it changes again.
                        if let Ok(meta) = std::fs::metadata(&path) {
                            len = len.max(meta.len());
                            self.seen.insert(name.clone(), Stamp::of(&meta));
                        }
                    }
                    let max = self.max_bytes;
                    tracing::warn!(
                        file = %path.display(),
                        size = len,
                        limit = max,
                        "calendar file refused: {len} bytes is over the {max}-byte limit (setting max_calendar_bytes); the previous calendar and its free/busy are unchanged"
                    );
                    continue;
                }
            };
            let user = name[..name.len() - 4].to_string();
            let req = CalendarPutRequest {
                user,
                text,
                source: self.source(name),
                publish_now: false,
                now: None,
            };
            match admin::calendar_put(store, clock, settings, &req) {
                Ok(r) if r.change == CalendarChange::Unchanged => report.unchanged += 1,
                Ok(r) => {
                    report.stored += 1;
                    tracing::info!(file = %path.display(), user = %r.user, events = r.events, "calendar file loaded");
                }
                Err(AdminError::NotFound(m)) => {
                    report.unknown += 1;
                    tracing::warn!(file = %path.display(), "calendar file ignored: {m}");
                }
                Err(e) => {
                    report.refused += 1;
                    tracing::warn!(file = %path.display(), "{e}");
                }
            }
        }
        let gone: Vec<String> = self
            .seen
            .keys()
            .filter(|n| !files.contains_key(*n))
            .cloned()
            .collect();
        for name in gone {
            self.seen.remove(&name);
            report.deleted += self.delete_if_ours(store, &name) as usize;
        }
        if !self.scanned_once {
            self.scanned_once = true;
            report.deleted += self.delete_orphans(store, &files);
        }
        report
    }

    /// Read a file, at most one byte past the cap.
    fn read(&self, path: &Path) -> std::io::Result<Contents> {
        let cap = self.max_bytes as u64;
        let mut bytes = Vec::new();
        std::fs::File::open(path)?
            .take(cap + 1)
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > cap {
            return Ok(Contents::TooLarge {
                len: bytes.len() as u64,
            });
        }
        Ok(match String::from_utf8(bytes) {
            Ok(text) => Contents::Text(text),
            Err(_) => Contents::NotUtf8,
        })
    }

    /// `*.ics` files (any case of the extension) with their stamps.
    fn list(&self) -> std::io::Result<BTreeMap<String, Stamp>> {
        let mut out = BTreeMap::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let is_ics = name.len() > 4
                && name.is_char_boundary(name.len() - 4)
                && name[name.len() - 4..].eq_ignore_ascii_case(".ics");
            if !is_ics || name.starts_with('.') {
                continue;
            }
            // Follows symlinks, so a linked calendar counts as a file.
            let Ok(meta) = std::fs::metadata(entry.path()) else {
                continue;
            };
            if meta.is_file() {
                out.insert(name, Stamp::of(&meta));
            }
        }
        Ok(out)
    }

    /// Delete the calendar of the user `name` names, if it still came from this file (a
    /// later `PUT` or import replaced it otherwise, and that one stays).
    fn delete_if_ours(&self, store: &Store, name: &str) -> bool {
        let alias = &name[..name.len() - 4];
        let Ok(user) = store.resolve_user(alias) else {
            return false;
        };
        let ours = matches!(store.calendar(&user.legacy_dn), Ok(Some(rec)) if rec.source == self.source(name));
        if !ours {
            return false;
        }
        match store.delete_calendar(&user.legacy_dn) {
            Ok(deleted) => {
                if deleted {
                    tracing::info!(file = %self.dir.join(name).display(), user = %user.mail, "calendar file deleted; its free/busy will be removed");
                }
                deleted
            }
            Err(e) => {
                tracing::error!(user = %user.mail, error = %e, "cannot delete the calendar of a removed file");
                false
            }
        }
    }

    /// Calendars recorded as coming from a file of this directory that is not there.
    fn delete_orphans(&self, store: &Store, files: &BTreeMap<String, Stamp>) -> usize {
        let Ok(all) = store.list_calendars() else {
            return 0;
        };
        let prefix = format!("{}{}", self.dir.display(), std::path::MAIN_SEPARATOR);
        let mut n = 0;
        for (_, rec) in all {
            let CalendarSource::Dir(path) = &rec.source else {
                continue;
            };
            let Some(name) = path.strip_prefix(&prefix) else {
                continue;
            };
            if !files.contains_key(name) && self.delete_if_ours(store, name) {
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::UserRecord;
    use crate::store::testutil::temp_store;

    const CAL: &str = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nDTSTART:20260303T090000Z\nDURATION:PT1H\nEND:VEVENT\nEND:VCALENDAR\n";

    /// Dan, imported into `s`.
    fn dan(s: &Store) -> UserRecord {
        let u = UserRecord {
            legacy_dn: crate::protocol::legacy_dn::LegacyDn::parse(
                "/o=Org/ou=AG/cn=Recipients/cn=dan",
            )
            .unwrap(),
            mail: "dan@org.example".into(),
            display_name: "Dan".into(),
            alias: "dan".into(),
            proxy_addresses: vec![],
        };
        s.import_users(std::slice::from_ref(&u)).unwrap();
        u
    }

    #[test]
    fn new_modified_refused_and_deleted_files() {
        let (_d, s) = temp_store();
        let u = dan(&s);
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::Fixed("2026-03-02T00:00:00Z".parse().unwrap());
        let settings = PublishSettings::default();
        let mut cd = CalendarDir::new(dir.path(), 4 << 20);
        std::fs::write(dir.path().join("dan.ics"), CAL).unwrap();
        std::fs::write(dir.path().join("ghost.ics"), CAL).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let r = cd.scan(&s, &clock, &settings);
        assert_eq!((r.stored, r.unknown), (1, 1));
        assert_eq!(cd.scan(&s, &clock, &settings), DirScan::default());
        std::fs::write(dir.path().join("dan.ics"), "BEGIN:VCALENDAR\nnot really\n").unwrap();
        assert_eq!(cd.scan(&s, &clock, &settings).refused, 1);
        assert_eq!(s.calendar(&u.legacy_dn).unwrap().unwrap().text, CAL);
        assert_eq!(cd.scan(&s, &clock, &settings).refused, 0, "reported once");
        std::fs::remove_file(dir.path().join("dan.ics")).unwrap();
        assert_eq!(cd.scan(&s, &clock, &settings).deleted, 1);
        assert!(s.calendar(&u.legacy_dn).unwrap().is_none());
    }

    #[test]
    fn a_file_over_the_size_cap_is_refused_unread_and_the_old_calendar_stays() {
        let (_d, s) = temp_store();
        let u = dan(&s);
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::Fixed("2026-03-02T00:00:00Z".parse().unwrap());
        let settings = PublishSettings::default();
        let cap = CAL.len() + 16;
        let mut cd = CalendarDir::new(dir.path(), cap);
        let file = dir.path().join("dan.ics");
        std::fs::write(&file, CAL).unwrap();
        assert_eq!(cd.scan(&s, &clock, &settings).stored, 1);
        let before = s.calendar(&u.legacy_dn).unwrap().unwrap();
        let queue = s.dirty_users().unwrap();
        // A valid calendar, only too large.
        let big = CAL.replace(
            "END:VEVENT",
            &format!("SUMMARY:{}\nEND:VEVENT", "x".repeat(32)),
        );
        std::fs::write(&file, &big).unwrap();
        let r = cd.scan(&s, &clock, &settings);
        assert_eq!((r.refused, r.stored), (1, 0), "{r:?}");
        assert_eq!(s.calendar(&u.legacy_dn).unwrap(), Some(before), "untouched");
        assert_eq!(s.dirty_users().unwrap(), queue, "nothing queued");
        assert_eq!(
            cd.scan(&s, &clock, &settings),
            DirScan::default(),
            "reported once"
        );
        // A file that grows past the cap after its size was looked at: the read stops one
        // byte past the cap.
        match cd.read(&file).unwrap() {
            Contents::TooLarge { len } => assert_eq!(len, cap as u64 + 1),
            _ => panic!("read whole past the cap"),
        }
        // Back under the cap, it loads.
        std::fs::write(&file, CAL.replace("UID:1", "UID:2")).unwrap();
        assert_eq!(cd.scan(&s, &clock, &settings).stored, 1);
    }
}
