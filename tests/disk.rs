//! A full disk and durability, on a real small file system: a 20 MiB tmpfs the test mounts
//! itself (as root; CI runs as root, and there a failure to mount is a failure; elsewhere
//! the tests say they skip). A ballast file fills it.
//!
//! - `a_full_disk_is_507_reads_go_on_and_writes_resume_without_restart`: `schedplus serve`
//!   on the tmpfs; with the disk full every write is 507 with a sentence, acknowledged items
//!   still GET 200, writes succeed again once the ballast is gone, SIGTERM stops it while
//!   the disk is full, and everything acknowledged is in the store afterwards.
//! - `sled_meeting_enospc_is_507_and_loses_nothing_acknowledged`: the gate switched off, so
//!   sled itself meets `ENOSPC` mid-write: the error is the 507 kind, the next write is
//!   refused with what to do (restart), reads go on, the store closes, and a reopen has
//!   every acknowledged write and takes writes again.
//! - `the_data_directory_and_its_files_are_private`: 0700 directories, 0600 files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use schedplus::store::{PfError, Store, StoreConfig, StoreError, Writer};

use crate::common::{ServeProcess, http};

/// A tmpfs mounted on a fresh directory; unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mount a `size` tmpfs, or None (with a message) where that is not possible outside CI.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        let failure = match out {
            Ok(o) if o.status.success() => return Some(Tmpfs { dir }),
            Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
            Err(e) => e.to_string(),
        };
        let what = format!("a tmpfs mount (needs root: {})", failure.trim());
        crate::common::tool_verdict(&what, false, crate::common::in_ci());
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Something still has a file open there: detach it so the directory can go.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// Fill the file system under `dir` with a ballast file until it refuses another byte.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("ballast");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![0x5au8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    // The last partial blocks.
    while f.write_all(&[0x5a]).is_ok() {}
    assert_eq!(fs2::available_space(dir).unwrap(), 0, "the disk is full");
    path
}

fn body(i: usize) -> Vec<u8> {
    format!("acknowledged item {i}\n").repeat(200).into_bytes()
}

#[test]
fn a_full_disk_is_507_reads_go_on_and_writes_resume_without_restart() {
    let Some(fs) = Tmpfs::mount("20m") else {
        return;
    };
    let data = fs.path().join("data");
    let data_s = data.to_str().unwrap();
    let mut srv = ServeProcess::spawn(
        &data,
        &["--data", data_s],
        &["--listen", "127.0.0.1:0", "--auth", "none"],
        &[],
    );
    let req = |m: &str, p: &str, b: &[u8]| http(&srv.base, m, p, &[], Some(b));
    assert_eq!(req("MKCOL", "/public/lab/", b"").status, 201);
    let mut acked = Vec::new();
    for i in 0..20 {
        let path = format!("/public/lab/item{i}.txt");
        assert_eq!(req("PUT", &path, &body(i)).status, 201);
        acked.push((path, body(i)));
    }

    let ballast = fill(fs.path());
    let r = req("PUT", "/public/lab/more.txt", b"more");
    assert_eq!(r.status, 507, "{}", r.text());
    assert!(
        r.text().contains("bytes free") && r.text().contains("nothing was written"),
        "a sentence: {}",
        r.text()
    );
    for (m, p, b) in [
        ("MKCOL", "/public/lab/sub/", &b""[..]),
        ("DELETE", "/public/lab/item0.txt", b""),
        (
            "PROPPATCH",
            "/public/lab/item1.txt",
            br#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><z:c xmlns:z="urn:z:">1</z:c></D:prop></D:set></D:propertyupdate>"#,
        ),
    ] {
        let r = req(m, p, b);
        assert_eq!(r.status, 507, "{m} {p}: {}", r.text());
    }
    // Reads go on: every acknowledged item, and a listing.
    for (path, b) in &acked {
        let r = req("GET", path, b"");
        assert_eq!(r.status, 200, "GET {path} with the disk full: {}", r.text());
        assert_eq!(&r.body, b);
    }
    let r = http(
        &srv.base,
        "PROPFIND",
        "/public/lab/",
        &[("Depth", "1")],
        Some(b""),
    );
    assert_eq!(r.status, 207, "{}", r.text());

    // Space comes back: writes resume, no restart.
    std::fs::remove_file(&ballast).unwrap();
    let r = req("PUT", "/public/lab/more.txt", b"more");
    assert_eq!(r.status, 201, "{}", r.text());
    acked.push(("/public/lab/more.txt".into(), b"more".to_vec()));
    let r = req("DELETE", "/public/lab/item0.txt", b"");
    assert_eq!(r.status, 204, "{}", r.text());
    acked.remove(0);

    // Full again, then SIGTERM: it stops (a hang here fails the test with a message).
    let ballast = fill(fs.path());
    assert_eq!(req("PUT", "/public/lab/last.txt", b"x").status, 507);
    let kill = Command::new("kill")
        .args(["-TERM", &srv.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = srv.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "schedplus serve did not stop on SIGTERM with the disk full"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    drop(srv);

    // Everything acknowledged is there, and nothing refused is. (sled writes when it opens,
    // so the store opens again once there is room.)
    std::fs::remove_file(&ballast).unwrap();
    let store = Store::open(&StoreConfig::new(&data)).unwrap();
    for (path, b) in &acked {
        let segs = segments(path);
        let got = store.pf_body(&segs).unwrap();
        assert_eq!(got.as_deref(), Some(&b[..]), "{path} after the restart");
    }
    assert!(
        store
            .pf_get(&segments("/public/lab/item0.txt"))
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .pf_get(&segments("/public/lab/last.txt"))
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .pf_get(&segments("/public/lab/sub/"))
            .unwrap()
            .is_none()
    );
}

fn segments(path: &str) -> Vec<String> {
    path.trim_start_matches("/public/")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn sled_meeting_enospc_is_507_and_loses_nothing_acknowledged() {
    let Some(fs) = Tmpfs::mount("20m") else {
        return;
    };
    let data = fs.path().join("data");
    // No reserve: sled itself runs into the full disk.
    let cfg = StoreConfig {
        min_free_bytes: 0,
        ..StoreConfig::new(&data)
    };
    let store = Store::open(&cfg).unwrap();
    let actor = &Writer::ANYONE;
    store
        .pf_mkcol(
            &segments("/public/lab/"),
            actor,
            schedplus::app::clock::wall_us(),
        )
        .unwrap();
    let mut acked = Vec::new();
    for i in 0..20 {
        let path = segments(&format!("/public/lab/item{i}.txt"));
        store
            .pf_put(
                &path,
                &body(i),
                None,
                actor,
                schedplus::app::clock::wall_us(),
            )
            .unwrap();
        acked.push((path, body(i)));
    }
    fill(fs.path());
    // Folders until sled's log needs a byte the disk does not have (the space sled had
    // already taken lasts a while).
    let mut folders = Vec::new();
    let mut refused = None;
    for i in 0..100_000 {
        let path = segments(&format!("/public/lab/folder{i}/"));
        match store.pf_mkcol(&path, actor, schedplus::app::clock::wall_us()) {
            Ok(()) => folders.push(path),
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let e = refused.expect("a full disk refuses a write");
    let PfError::Store(e) = e else {
        panic!("a store error, not {e}");
    };
    assert!(
        !matches!(e, StoreError::NoSpace { .. }),
        "sled itself met the full disk: {e}"
    );
    assert!(e.is_out_of_space(), "the 507 kind: {e}");
    // sled now writes nothing more; the next write is refused with what to do.
    match store.pf_mkcol(
        &segments("/public/lab/again/"),
        actor,
        schedplus::app::clock::wall_us(),
    ) {
        Err(PfError::Store(e)) => {
            assert!(e.is_out_of_space(), "{e}");
            assert!(e.to_string().contains("restart"), "{e}");
        }
        other => panic!("refused, not {other:?}"),
    }
    // Reads go on.
    for (path, b) in &acked {
        assert_eq!(store.pf_body(path).unwrap().as_deref(), Some(&b[..]));
    }
    for path in &folders {
        assert!(store.pf_get(path).unwrap().is_some());
    }
    // Closing ends (the test would hang otherwise), and a reopen has everything acknowledged.
    drop(store);
    std::fs::remove_file(fs.path().join("ballast")).unwrap();
    let store = Store::open(&StoreConfig::new(&data)).unwrap();
    for (path, b) in &acked {
        assert_eq!(
            store.pf_body(path).unwrap().as_deref(),
            Some(&b[..]),
            "{path:?} after the reopen"
        );
    }
    for path in &folders {
        assert!(
            store.pf_get(path).unwrap().is_some(),
            "{path:?} after the reopen"
        );
    }
    // And the reopened store writes again.
    store
        .pf_put(
            &segments("/public/lab/after.txt"),
            b"after",
            None,
            actor,
            schedplus::app::clock::wall_us(),
        )
        .unwrap();
}

/// The data directory a server creates, sled's files in it and `server.json` are
/// owner-only: the store holds password hashes, the file the admin token.
#[cfg(unix)]
#[test]
fn the_data_directory_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mut data = PathBuf::new();
    let srv = crate::common::TestServer::start_with(|o| {
        o.data_dir = o.data_dir.join("fresh");
        data = o.data_dir.clone();
    });
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("db")), 0o700);
    assert_eq!(mode(&data.join("db").join("db")), 0o600);
    assert_eq!(mode(&data.join("server.json")), 0o600);
    drop(srv);
}
