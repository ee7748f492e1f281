//! `serve --calendar-dir DIR`: calendars kept as files, `DIR/<alias or smtp>.ics`.
//!
//! Owns [`CalendarDir`], which remembers each file's modification time and size and, on
//! every [`CalendarDir::scan`], stores new and modified files through
//! `app::ops::CalendarPutRequest` (so a file is checked and refused exactly like a `PUT`) and
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
//!
//! The newest change wins. A calendar stored by `PUT /calendars/…`, the admin API or
//! `calendar import` after the file was last modified is kept: the file is loaded again
//! only when it is modified after that upload. This holds while running and on restart
//! (when every file looks new), because the comparison is between the file's modification
//! time and the stored calendar's `updated_us`, both wall-clock times. A deletion asked
//! for (`DELETE /calendars/…`, the admin API, `calendar delete`) is a change too: the store
//! keeps its time (a tombstone), and a file last modified before it is not loaded again,
//! on restart either, until it is edited. A file removed from the directory deletes its
//! calendar without a tombstone, so putting the file back (even with its old time) loads it.
//!
//! The directory is a trust boundary: file names are quoted escaped in logs (a name with a
//! newline cannot forge a log line, and such names are skipped, since no alias or address
//! has one); a symbolic link is followed only to a regular file in the same directory, and
//! the file is opened without following links, so nothing outside the directory is read,
//! let alone quoted in a refusal. Hard links are the other way in (`ln /etc/shadow
//! DIR/dan.ics` is a regular file): a file with more names (link count) than the directory
//! holds for it (same device and inode) is skipped with a warning, and the file opened is
//! checked to be the one listed (device and inode, by `fstat` on the open file), so a name
//! swapped in between the listing and the read waits for the next round's check.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::app::Clock;
use crate::app::Error;
use crate::app::ops::{CalendarPutRequest, Ctx, Operation};
use crate::publishing::publisher::PublishSettings;
use crate::store::{CalendarChange, CalendarSource, Store, Tombstone, Writer};

#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    /// The file in the directory that is read: the entry itself, or the regular file in
    /// the same directory that a symbolic link names.
    target: String,
    /// Its (device, inode): the file opened must be the file listed.
    file: (u64, u64),
}

impl Stamp {
    fn of(meta: &std::fs::Metadata, target: &str) -> Stamp {
        Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            target: target.to_string(),
            file: (meta.dev(), meta.ino()),
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
    /// Files not loaded because the user's calendar was uploaded (PUT, admin API,
    /// `calendar import`) or deleted on request after the file was last modified.
    pub older_than_upload: usize,
    /// Entries skipped because of their name (control characters) or because they are
    /// links out of the directory (symbolic, or hard links with names elsewhere).
    pub skipped: usize,
}

pub struct CalendarDir {
    dir: PathBuf,
    /// `max_calendar_bytes`: larger files are refused unread.
    max_bytes: usize,
    /// File name → stamp when last handled.
    seen: BTreeMap<String, Stamp>,
    scanned_once: bool,
    dir_error_reported: bool,
    /// Entries skipped (bad name, link out of the directory) and already reported.
    skipped_reported: BTreeSet<String>,
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
            skipped_reported: BTreeSet::new(),
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
        let files = match self.list(&mut report) {
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
            let shown = self.shown(name);
            let read = if stamp.len > self.max_bytes as u64 {
                Ok(Contents::TooLarge { len: stamp.len })
            } else {
                self.read(stamp)
            };
            let read = match read {
                Ok(r) => r,
                // Vanished or unreadable between listing and reading: next round.
                Err(e) => {
                    tracing::debug!(file = %shown, error = %e, "calendar file not readable yet");
                    continue;
                }
            };
            self.seen.insert(name.clone(), stamp.clone());
            let text = match read {
                Contents::Text(text) => text,
                Contents::NotUtf8 => {
                    report.refused += 1;
                    tracing::warn!(file = %shown, "calendar file refused: it is not UTF-8 text");
                    continue;
                }
                Contents::TooLarge { mut len } => {
                    report.refused += 1;
                    if len > stamp.len {
                        // It grew while being read: remember it as it is now, so that it is
                        // reported again only when it changes again.
                        if let Ok(meta) = std::fs::metadata(self.dir.join(&stamp.target)) {
                            len = len.max(meta.len());
                            self.seen
                                .insert(name.clone(), Stamp::of(&meta, &stamp.target));
                        }
                    }
                    let max = self.max_bytes;
                    tracing::warn!(
                        file = %shown,
                        size = len,
                        limit = max,
                        "calendar file refused: {len} bytes is over the {max}-byte limit (setting max_calendar_bytes); the previous calendar and its free/busy are unchanged"
                    );
                    continue;
                }
            };
            let user = name[..name.len() - 4].to_string();
            if let Some(newer) = self.newer_change(store, &user, name, stamp) {
                report.older_than_upload += 1;
                tracing::info!(
                    file = %shown,
                    "calendar file not loaded: {newer}, after the file was last modified; edit the file again to make it win"
                );
                continue;
            }
            let req = CalendarPutRequest {
                user,
                text,
                source: self.source(name),
                publish_now: false,
                now: None,
            };
            let ctx = Ctx::new(store)
                .with_clock(*clock)
                .with_publish(settings.clone());
            match req.run(&ctx) {
                Ok(r) if r.change == CalendarChange::Unchanged => report.unchanged += 1,
                Ok(r) => {
                    report.stored += 1;
                    tracing::info!(file = %shown, user = %r.user, events = r.events, leniencies = r.warnings.len(), "calendar file loaded");
                }
                Err(Error::NotFound(m)) => {
                    report.unknown += 1;
                    tracing::warn!(file = %shown, "calendar file ignored: {m}");
                }
                Err(e) => {
                    report.refused += 1;
                    tracing::warn!(file = %shown, "{e}");
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

    /// A file name as logs show it: escaped, so that no name can forge a log line.
    fn shown(&self, name: &str) -> String {
        format!(
            "{}{}{}",
            self.dir.display().to_string().escape_debug(),
            std::path::MAIN_SEPARATOR,
            name.escape_debug()
        )
    }

    /// The change made to the user's calendar elsewhere than this file and after the file
    /// was last modified, if there is one: it is newer, so it wins. Either a calendar
    /// stored from elsewhere, or a deletion asked for (its tombstone).
    fn newer_change(&self, store: &Store, user: &str, name: &str, stamp: &Stamp) -> Option<String> {
        let modified_us = stamp
            .modified?
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_micros()).ok())?;
        let user = store.resolve_user(user).ok()?;
        match store.calendar(&user.legacy_dn).ok()? {
            Some(rec) => {
                (rec.source != self.source(name) && rec.updated_us > modified_us).then(|| {
                    format!(
                        "the calendar stored by {} is newer",
                        rec.source.to_string().escape_debug()
                    )
                })
            }
            None => {
                let deleted = store.calendar_deletion(&user.legacy_dn).ok()??;
                (deleted.at_us > modified_us)
                    .then(|| "the calendar was deleted (DELETE, admin API or CLI)".to_string())
            }
        }
    }

    /// Read the file `stamp` names (a name in the directory, never a path), at most one
    /// byte past the cap, without following a symbolic link, and only if it is still the
    /// file that was listed (same device and inode): a name replaced between the listing
    /// and the read (by a hard link from elsewhere, say) is read at the next round, after
    /// it has been checked.
    fn read(&self, stamp: &Stamp) -> std::io::Result<Contents> {
        let cap = self.max_bytes as u64;
        let mut bytes = Vec::new();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(self.dir.join(&stamp.target))?;
        let meta = file.metadata()?;
        if (meta.dev(), meta.ino()) != stamp.file {
            return Err(std::io::Error::other(
                "the file was replaced after it was listed",
            ));
        }
        file.take(cap + 1).read_to_end(&mut bytes)?;
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

    /// `*.ics` files (any case of the extension) with their stamps. A symbolic link counts
    /// only if it names a regular file in this same directory; names with control
    /// characters are skipped. Each skipped entry is reported once.
    fn list(&mut self, report: &mut DirScan) -> std::io::Result<BTreeMap<String, Stamp>> {
        let mut out = BTreeMap::new();
        let mut candidates = Vec::new();
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
            if name.chars().any(char::is_control) {
                self.skip(
                    report,
                    &name,
                    "its name has control characters, which no alias or address has",
                );
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let target = if kind.is_symlink() {
                match self.link_target(&entry.path()) {
                    Some(t) => t,
                    None => {
                        self.skip(report, &name, "it is a symbolic link to something that is not a regular file in this directory");
                        continue;
                    }
                }
            } else {
                name.clone()
            };
            let Ok(meta) = std::fs::symlink_metadata(self.dir.join(&target)) else {
                continue;
            };
            if meta.is_file() {
                candidates.push((name, Stamp::of(&meta, &target), meta.nlink()));
            }
        }
        // A hard link is a second name for the same file, and the other name may be
        // anywhere on the file system (`ln /etc/shadow DIR/dan.ics`): a file with more
        // names than this directory holds for it is not read.
        let linked = candidates.iter().any(|(_, _, nlink)| *nlink > 1);
        let names_here = if linked {
            self.names_per_file()?
        } else {
            BTreeMap::new()
        };
        for (name, stamp, nlink) in candidates {
            if nlink > 1 && names_here.get(&stamp.file).copied().unwrap_or(0) < nlink {
                self.skip(
                    report,
                    &name,
                    "it is a file with hard links outside this directory (it has more names than the directory holds)",
                );
                continue;
            }
            out.insert(name, stamp);
        }
        // A skipped entry that is gone may be reported again if it comes back.
        let present: BTreeSet<String> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        self.skipped_reported.retain(|n| present.contains(n));
        Ok(out)
    }

    /// How many names each regular file of the directory has in it, by (device, inode).
    fn names_per_file(&self) -> std::io::Result<BTreeMap<(u64, u64), u64>> {
        let mut n = BTreeMap::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let Ok(meta) = entry?.metadata() else {
                continue;
            };
            if meta.is_file() {
                *n.entry((meta.dev(), meta.ino())).or_insert(0) += 1;
            }
        }
        Ok(n)
    }

    /// The name of the regular file in this directory that a link names, if it does.
    fn link_target(&self, link: &Path) -> Option<String> {
        let resolved = std::fs::canonicalize(link).ok()?;
        if resolved.parent()? != self.dir {
            return None;
        }
        let meta = std::fs::symlink_metadata(&resolved).ok()?;
        if !meta.is_file() {
            return None;
        }
        resolved.file_name()?.to_str().map(str::to_string)
    }

    fn skip(&mut self, report: &mut DirScan, name: &str, why: &str) {
        report.skipped += 1;
        if self.skipped_reported.insert(name.to_string()) {
            tracing::warn!(file = %self.shown(name), "calendar file skipped: {why}");
        }
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
        match store.delete_calendar_with(
            &Writer::ANYONE,
            &user.legacy_dn,
            Tombstone::None,
            crate::app::clock::wall_us(),
        ) {
            Ok(deleted) => {
                if deleted {
                    tracing::info!(file = %self.shown(name), user = %user.mail, "calendar file deleted; its free/busy will be removed");
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
    use crate::store::testutil::store_with;

    const CAL: &str = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nDTSTART:20260303T090000Z\nDURATION:PT1H\nEND:VEVENT\nEND:VCALENDAR\n";

    /// What every test here starts from (each makes its own calendar directory): a store
    /// with Dan imported, Dan, a clock fixed at 2026-03-02 and default publishing settings.
    fn lab() -> (tempfile::TempDir, Store, UserRecord, Clock, PublishSettings) {
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
        let (d, s) = store_with(std::slice::from_ref(&u));
        let clock = Clock::Fixed("2026-03-02T00:00:00Z".parse().unwrap());
        (d, s, u, clock, PublishSettings::default())
    }

    /// A watched directory holding `dan.ics` (CAL), scanned once: the calendar is stored.
    fn dan_watched(
        s: &Store,
        clock: &Clock,
        settings: &PublishSettings,
    ) -> (tempfile::TempDir, std::path::PathBuf, CalendarDir) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("dan.ics");
        std::fs::write(&file, CAL).unwrap();
        let mut cd = CalendarDir::new(dir.path(), 4 << 20);
        assert_eq!(cd.scan(s, clock, settings).stored, 1);
        (dir, file, cd)
    }

    #[test]
    fn new_modified_refused_and_deleted_files() {
        let (_d, s, u, clock, settings) = lab();
        let dir = tempfile::tempdir().unwrap();
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
        let (_d, s, u, clock, settings) = lab();
        let dir = tempfile::tempdir().unwrap();
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
        let stamp = Stamp::of(&std::fs::metadata(&file).unwrap(), "dan.ics");
        match cd.read(&stamp).unwrap() {
            Contents::TooLarge { len } => assert_eq!(len, cap as u64 + 1),
            _ => panic!("read whole past the cap"),
        }
        // Back under the cap, it loads.
        std::fs::write(&file, CAL.replace("UID:1", "UID:2")).unwrap();
        assert_eq!(cd.scan(&s, &clock, &settings).stored, 1);
    }
    /// Everything logged at warn/info while `f` runs, as the server's text log shows it.
    fn logs_of<R>(f: impl FnOnce() -> R) -> (R, String) {
        use std::sync::{Arc, Mutex};
        #[derive(Clone)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(buf.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        let r = tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        (r, text)
    }

    #[test]
    fn a_file_name_with_a_newline_cannot_forge_a_log_line() {
        let (_d, s, _, clock, settings) = lab();
        let dir = tempfile::tempdir().unwrap();
        let mut cd = CalendarDir::new(dir.path(), 4 << 20);
        let forged = "x\n2026-03-02T00:00:00.000000Z ERROR schedplus: forged.ics";
        std::fs::write(dir.path().join(forged), "not a calendar").unwrap();
        let (r, log) = logs_of(|| cd.scan(&s, &clock, &settings));
        assert_eq!((r.skipped, r.refused, r.unknown), (1, 0, 0), "{r:?}");
        assert!(
            !log.lines()
                .any(|l| l.contains("ERROR schedplus: forged") && !l.contains("WARN")),
            "a forged line in:\n{log}"
        );
        assert!(
            log.contains(r"x\n2026"),
            "the name is shown escaped:\n{log}"
        );
        assert_eq!(log.lines().count(), 1, "{log}");
        // Reported once, not every round.
        let (r, log) = logs_of(|| cd.scan(&s, &clock, &settings));
        assert_eq!(r.skipped, 1);
        assert!(log.is_empty(), "{log}");
    }

    #[test]
    fn links_out_of_the_directory_are_not_followed_and_never_quoted() {
        let (_d, s, u, clock, settings) = lab();
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        // A stand-in for /etc/shadow, and a valid calendar, both outside the directory.
        let shadow = outside.path().join("shadow");
        std::fs::write(&shadow, "root:$6$SECRETHASH:19000:0:99999:7:::\n").unwrap();
        let cal = outside.path().join("cal.ics");
        std::fs::write(&cal, CAL).unwrap();
        std::os::unix::fs::symlink(&shadow, dir.path().join("dan.ics")).unwrap();
        std::os::unix::fs::symlink(&cal, dir.path().join("ghost.ics")).unwrap();
        let mut cd = CalendarDir::new(dir.path(), 4 << 20);
        let (r, log) = logs_of(|| cd.scan(&s, &clock, &settings));
        assert_eq!((r.skipped, r.refused, r.stored), (2, 0, 0), "{r:?}");
        assert!(!log.contains("SECRET") && !log.contains("root:"), "{log}");
        assert!(s.calendar(&u.legacy_dn).unwrap().is_none());
        // A link to a calendar inside the directory still counts as that file.
        std::fs::remove_file(dir.path().join("dan.ics")).unwrap();
        std::fs::write(dir.path().join("stored-calendar"), CAL).unwrap();
        std::os::unix::fs::symlink("stored-calendar", dir.path().join("dan.ics")).unwrap();
        let r = cd.scan(&s, &clock, &settings);
        assert_eq!(r.stored, 1, "{r:?}");
        assert_eq!(s.calendar(&u.legacy_dn).unwrap().unwrap().text, CAL);
        // Re-pointed outside, it is skipped, not read.
        std::fs::remove_file(dir.path().join("dan.ics")).unwrap();
        std::os::unix::fs::symlink(&shadow, dir.path().join("dan.ics")).unwrap();
        let (r, log) = logs_of(|| cd.scan(&s, &clock, &settings));
        assert_eq!((r.refused, r.stored), (0, 0), "{r:?}");
        assert!(!log.contains("SECRET"), "{log}");
    }

    #[test]
    fn hard_links_from_outside_the_directory_are_not_read_and_never_quoted() {
        let (_d, s, u, clock, settings) = lab();
        // Both in the same file system (a hard link cannot cross one).
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("calendars");
        let outside = base.path().join("etc");
        std::fs::create_dir(&dir).unwrap();
        std::fs::create_dir(&outside).unwrap();
        let shadow = outside.join("shadow");
        std::fs::write(&shadow, "root:$6$SECRETHASH:19000:0:99999:7:::\n").unwrap();
        std::fs::hard_link(&shadow, dir.join("dan.ics")).unwrap();
        // A valid calendar linked in from outside is not read either: its other name
        // could be changed by whoever owns it.
        let cal = outside.join("cal.ics");
        std::fs::write(&cal, CAL).unwrap();
        std::fs::hard_link(&cal, dir.join("dan@org.example.ics")).unwrap();
        let mut cd = CalendarDir::new(&dir, 4 << 20);
        let (r, log) = logs_of(|| cd.scan(&s, &clock, &settings));
        assert_eq!((r.skipped, r.refused, r.stored), (2, 0, 0), "{r:?}");
        assert!(log.contains("hard links outside this directory"), "{log}");
        assert!(!log.contains("SECRET") && !log.contains("root:"), "{log}");
        assert!(s.calendar(&u.legacy_dn).unwrap().is_none());
        // The outside names removed, the files are the directory's own and load.
        std::fs::remove_file(dir.join("dan.ics")).unwrap();
        std::fs::remove_file(&cal).unwrap();
        let r = cd.scan(&s, &clock, &settings);
        assert_eq!((r.skipped, r.stored), (0, 1), "{r:?}");
        assert_eq!(s.calendar(&u.legacy_dn).unwrap().unwrap().text, CAL);
        // A name replaced between the listing and the read (here by the outside file) is
        // not read: the file opened is not the file listed.
        let listed = dir.join("dan@org.example.ics");
        let stamp = Stamp::of(&std::fs::metadata(&listed).unwrap(), "dan@org.example.ics");
        std::fs::remove_file(&listed).unwrap();
        std::fs::hard_link(&shadow, &listed).unwrap();
        let err = cd.read(&stamp).err().expect("not read");
        assert!(err.to_string().contains("replaced"), "{err}");
    }

    #[test]
    fn a_file_with_two_names_in_the_directory_is_read() {
        let (_d, s, u, clock, settings) = lab();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("calendar-of-dan"), CAL).unwrap();
        std::fs::hard_link(
            dir.path().join("calendar-of-dan"),
            dir.path().join("dan.ics"),
        )
        .unwrap();
        let mut cd = CalendarDir::new(dir.path(), 4 << 20);
        let r = cd.scan(&s, &clock, &settings);
        assert_eq!((r.skipped, r.stored), (0, 1), "{r:?}");
        assert_eq!(s.calendar(&u.legacy_dn).unwrap().unwrap().text, CAL);
    }

    #[test]
    fn an_upload_newer_than_the_file_wins_until_the_file_is_edited() {
        let (_d, s, u, clock, settings) = lab();
        let (dir, file, _first_watcher) = dan_watched(&s, &clock, &settings);
        // An upload after the file was written.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let uploaded = CAL.replace("UID:1", "UID:uploaded");
        let put = CalendarPutRequest {
            user: "dan".into(),
            text: uploaded.clone(),
            source: CalendarSource::Http,
            publish_now: false,
            now: None,
        };
        put.run(
            &Ctx::new(&s)
                .with_clock(clock)
                .with_publish(settings.clone()),
        )
        .unwrap();
        // A restart: a new watcher has seen nothing, so every file looks new.
        let mut restarted = CalendarDir::new(dir.path(), 4 << 20);
        let r = restarted.scan(&s, &clock, &settings);
        assert_eq!((r.stored, r.older_than_upload), (0, 1), "{r:?}");
        assert_eq!(s.calendar(&u.legacy_dn).unwrap().unwrap().text, uploaded);
        assert_eq!(restarted.scan(&s, &clock, &settings), DirScan::default());
        // The file edited after the upload: now the file is the newest change.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let edited = CAL.replace("UID:1", "UID:edited");
        std::fs::write(&file, &edited).unwrap();
        assert_eq!(restarted.scan(&s, &clock, &settings).stored, 1);
        assert_eq!(s.calendar(&u.legacy_dn).unwrap().unwrap().text, edited);
    }

    #[test]
    fn a_deletion_newer_than_the_file_wins_until_the_file_is_edited() {
        let (_d, s, u, clock, settings) = lab();
        let (dir, file, mut cd) = dan_watched(&s, &clock, &settings);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let del = crate::app::ops::CalendarDeleteRequest::new("dan");
        assert!(del.run(&Ctx::new(&s)).unwrap().deleted);
        // While running, the unchanged file is not reloaded.
        assert_eq!(cd.scan(&s, &clock, &settings), DirScan::default());
        // A restart: the file looks new, but the deletion is newer.
        let mut restarted = CalendarDir::new(dir.path(), 4 << 20);
        let (r, log) = logs_of(|| restarted.scan(&s, &clock, &settings));
        assert_eq!((r.stored, r.older_than_upload), (0, 1), "{r:?}");
        assert!(log.contains("the calendar was deleted"), "{log}");
        assert!(s.calendar(&u.legacy_dn).unwrap().is_none());
        // The file edited after the deletion: the file is the newest change again.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let edited = CAL.replace("UID:1", "UID:edited");
        std::fs::write(&file, &edited).unwrap();
        assert_eq!(restarted.scan(&s, &clock, &settings).stored, 1);
        assert_eq!(s.calendar(&u.legacy_dn).unwrap().unwrap().text, edited);
        assert!(s.calendar_deletion(&u.legacy_dn).unwrap().is_none());
    }

    #[test]
    fn a_file_moved_out_and_back_with_its_old_time_loads_again() {
        let (_d, s, u, clock, settings) = lab();
        let (_dir, file, mut cd) = dan_watched(&s, &clock, &settings);
        let aside = tempfile::tempdir().unwrap();
        std::fs::rename(&file, aside.path().join("dan.ics")).unwrap();
        assert_eq!(cd.scan(&s, &clock, &settings).deleted, 1);
        assert!(s.calendar_deletion(&u.legacy_dn).unwrap().is_none());
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::rename(aside.path().join("dan.ics"), &file).unwrap();
        assert_eq!(cd.scan(&s, &clock, &settings).stored, 1);
        assert_eq!(s.calendar(&u.legacy_dn).unwrap().unwrap().text, CAL);
    }

    #[test]
    fn a_calendar_that_could_never_be_published_is_refused_and_counted() {
        let (_d, s, u, clock, settings) = lab();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("dan.ics"),
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:s\nDTSTART:20270105T090000Z\nDURATION:PT1S\nRRULE:FREQ=SECONDLY\nEND:VEVENT\nEND:VCALENDAR\n",
        )
        .unwrap();
        let mut cd = CalendarDir::new(dir.path(), 4 << 20);
        let (r, log) = logs_of(|| cd.scan(&s, &clock, &settings));
        assert_eq!((r.refused, r.stored), (1, 0), "{r:?}");
        assert!(log.contains("more than 100000 instances"), "{log}");
        assert!(s.calendar(&u.legacy_dn).unwrap().is_none());
    }
}
