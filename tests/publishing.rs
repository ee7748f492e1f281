//! The publishing pipeline end to end: calendars in, free/busy out of `?Cmd=freebusy`.
//!
//! A local harness (until the shared one in `tests/common` is merged): a real server on
//! `127.0.0.1:0` in its own runtime, spoken to over HTTP with `ureq`, with a short poll
//! interval so the poller's rounds are quick to wait for.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use schedplus::admin::{self, AdminError};
use schedplus::admin_client::Admin;
use schedplus::protocol::time::Clock;
use schedplus::server::{ServeOptions, Server};

const POLL: Duration = Duration::from_millis(200);
/// How long to wait for something the next poll does. Far more than one interval, so a
/// loaded CI machine does not fail the test; `benches/publish.rs` measures the real lag.
const DEADLINE: Duration = Duration::from_secs(15);
const NOW: &str = "2026-03-04T12:00:00Z";

struct Harness {
    rt: tokio::runtime::Runtime,
    server: Option<Server>,
    /// Taken by `stop`, which hands the data directory back.
    dir: Option<tempfile::TempDir>,
    base: String,
    agent: ureq::Agent,
}

impl Harness {
    fn start(demo: bool) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, demo)
    }

    fn start_in(dir: tempfile::TempDir, demo: bool) -> Harness {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut opts = ServeOptions::new(dir.path(), "127.0.0.1:0".parse().unwrap());
        opts.demo = demo;
        // Publishing, not who may publish (tests/auth.rs has the rules).
        opts.auth = schedplus::auth::AuthSettings::open();
        opts.poll_interval = POLL;
        opts.clock = Clock::Fixed(NOW.parse().unwrap());
        let server = rt.block_on(Server::start(opts)).unwrap();
        let base = format!("http://{}", server.addr);
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Harness {
            rt,
            server: Some(server),
            dir: Some(dir),
            base,
            agent,
        }
    }

    fn stop(mut self) -> tempfile::TempDir {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
        self.dir.take().expect("stopped once")
    }

    fn data(&self) -> &Path {
        self.dir.as_ref().expect("running").path()
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut r = self
            .agent
            .get(format!("{}{path}", self.base))
            .call()
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    }

    fn put(&self, path: &str, body: &str) -> (u16, String) {
        let mut r = self
            .agent
            .put(format!("{}{path}", self.base))
            .send(body)
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    }

    fn delete(&self, path: &str) -> u16 {
        self.agent
            .delete(format!("{}{path}", self.base))
            .call()
            .unwrap()
            .status()
            .as_u16()
    }

    /// The user's `fbdata` for 2026-03-09, one digit per hour.
    fn fbdata(&self, smtp: &str) -> String {
        let (status, body) = self.get(&format!(
            "/public/?Cmd=freebusy&start=2026-03-09T00:00:00Z&end=2026-03-10T00:00:00Z&interval=60&u=SMTP:{smtp}"
        ));
        assert_eq!(status, 200, "{body}");
        let last = body.rsplit("<a:fbdata>").next().unwrap();
        last.split("</a:fbdata>").next().unwrap().to_string()
    }

    /// Wait until the user's answer differs from `before`; the new answer and the wait.
    fn wait_change(&self, smtp: &str, before: &str) -> (String, Duration) {
        let started = Instant::now();
        loop {
            let now = self.fbdata(smtp);
            if now != before {
                return (now, started.elapsed());
            }
            assert!(
                started.elapsed() < DEADLINE,
                "{smtp}'s free/busy did not change from {before} within {DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}

/// Out of office all day on 2026-03-09 (UTC), plus a busy hour 09:00-10:00.
const OOF_MONDAY: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:oof\r\nDTSTART:20260309T000000Z\r\nDTEND:20260309T080000Z\r\nX-MICROSOFT-CDO-BUSYSTATUS:OOF\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:busy\r\nDTSTART:20260309T090000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
const OOF_MONDAY_DIGITS: &str = "333333330200000000000000";

#[test]
fn editing_a_demo_calendar_file_changes_the_answer_at_the_next_poll() {
    let h = Harness::start(true);
    let dir = h.server.as_ref().unwrap().calendar_dir.clone().unwrap();
    assert_eq!(dir, h.data().join("calendars"));
    let file = dir.join("dwinship.ics");
    assert!(file.exists(), "the demo writes its calendars as files");
    let before = h.fbdata("danw@xcs.example");
    // Dan's Monday sync is cancelled that day (an EXDATE): free, but published.
    assert_eq!(before, "0".repeat(24), "Dan is published at start-up");
    assert_eq!(
        h.fbdata("bwright@companyabc.example"),
        "4".repeat(24),
        "Ben has no calendar: no data"
    );
    std::fs::write(&file, OOF_MONDAY).unwrap();
    let (after, _) = h.wait_change("danw@xcs.example", &before);
    assert_eq!(after, OOF_MONDAY_DIGITS);
    // A broken edit is refused: the answer stays.
    std::fs::write(
        &file,
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:tomorrow\r\n",
    )
    .unwrap();
    std::thread::sleep(POLL * 3);
    assert_eq!(h.fbdata("danw@xcs.example"), OOF_MONDAY_DIGITS);
    // Deleting the file removes the calendar, then the free/busy.
    std::fs::remove_file(&file).unwrap();
    let (gone, _) = h.wait_change("danw@xcs.example", OOF_MONDAY_DIGITS);
    assert_eq!(gone, "4".repeat(24));
}

#[test]
fn put_get_delete_and_a_refused_calendar_changes_nothing() {
    let h = Harness::start(true);
    let path = "/calendars/bwright%40companyabc.example.ics";
    assert_eq!(h.get(path).0, 404);
    let (status, body) = h.put(path, OOF_MONDAY);
    assert_eq!(status, 201, "{body}");
    let (after, _) = h.wait_change("bwright@companyabc.example", &"4".repeat(24));
    assert_eq!(after, OOF_MONDAY_DIGITS);
    assert_eq!(
        h.get("/calendars/bwright.ics"),
        (200, OOF_MONDAY.to_string())
    );

    let (status, body) = h.put(
        path,
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260309T090000Z\r\nRRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    assert_eq!(status, 400);
    assert!(body.contains("line 5") && body.contains("RRULE"), "{body}");
    assert!(body.contains("unchanged"), "{body}");
    assert_eq!(h.get(path).1, OOF_MONDAY);
    std::thread::sleep(POLL * 3);
    assert_eq!(h.fbdata("bwright@companyabc.example"), OOF_MONDAY_DIGITS);

    assert_eq!(h.put("/calendars/nobody.ics", OOF_MONDAY).0, 404);
    assert_eq!(h.delete(path), 204);
    assert_eq!(h.delete(path), 404);
    let (gone, _) = h.wait_change("bwright@companyabc.example", OOF_MONDAY_DIGITS);
    assert_eq!(gone, "4".repeat(24));
}

fn cli(data: &Path, args: &[&str]) -> Result<(), AdminError> {
    let mut argv = vec!["schedplus", "--data", data.to_str().unwrap(), "--now", NOW];
    argv.extend_from_slice(args);
    schedplus::cli::run_args(argv)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn cleanfreebusy_and_updatefb_with_and_without_a_server() {
    let h = Harness::start(true);
    let data = h.data().to_path_buf();
    let files = tempfile::tempdir().unwrap();
    let clock = Clock::Fixed(NOW.parse().unwrap());
    assert!(matches!(
        Admin::connect(&data, clock).unwrap(),
        Admin::Remote { .. }
    ));
    // Through the server: import publishes at once, cleanfreebusy is then unchanged.
    let ics = write(files.path(), "ben.ics", OOF_MONDAY);
    cli(
        &data,
        &["calendar", "import", "bwright", ics.to_str().unwrap()],
    )
    .unwrap();
    assert_eq!(h.fbdata("bwright@companyabc.example"), OOF_MONDAY_DIGITS);
    let admin = Admin::connect(&data, clock).unwrap();
    let r = admin
        .republish(&admin::RepublishRequest {
            user: "bwright".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        r.result.outcome,
        schedplus::store::PublishOutcome::Unchanged
    );
    cli(&data, &["cleanfreebusy", "bwright", "kbaker"]).unwrap();
    assert!(matches!(
        cli(&data, &["cleanfreebusy", "bwright", "ghost"]),
        Err(AdminError::Partial(_))
    ));

    let list = write(
        files.path(),
        "updatefb.txt",
        "# lab mailboxes\ndwinship, EXCH01\n\nnot a line\nghost, EXCH01\nkbaker, EXCH01\n",
    );
    let csv = list.to_str().unwrap();
    match cli(&data, &["updatefb", "--csv", csv]) {
        Err(AdminError::Partial(m)) => assert!(m.starts_with("2 of 4 lines"), "{m}"),
        other => panic!("expected two failed lines, got {other:?}"),
    }
    let good = write(
        files.path(),
        "good.txt",
        "dwinship, EXCH01\nkbaker,EXCH01\n",
    );
    cli(
        &data,
        &["updatefb", "--csv", good.to_str().unwrap(), "--dry-run"],
    )
    .unwrap();

    // Without a server: the same commands open the store themselves.
    let dir = h.stop();
    assert!(matches!(
        Admin::connect(dir.path(), clock).unwrap(),
        Admin::Local { .. }
    ));
    cli(dir.path(), &["updatefb", "--csv", good.to_str().unwrap()]).unwrap();
    cli(
        dir.path(),
        &["cleanfreebusy", "danw@xcs.example", "--publish-months", "3"],
    )
    .unwrap();
    cli(dir.path(), &["cleanup"]).unwrap();
}

#[test]
fn a_calendar_stored_while_the_server_is_down_is_published_at_start() {
    let h = Harness::start(true);
    let dir = h.stop();
    {
        let store =
            schedplus::store::Store::open(&schedplus::store::StoreConfig::new(dir.path())).unwrap();
        let clock = Clock::Fixed(NOW.parse().unwrap());
        admin::calendar_put(
            &store,
            &clock,
            &Default::default(),
            &admin::CalendarPutRequest {
                user: "bwright".into(),
                text: OOF_MONDAY.into(),
                source: schedplus::store::CalendarSource::Http,
                publish_now: false,
                now: None,
            },
        )
        .unwrap();
        assert_eq!(
            store.dirty_users().unwrap().len(),
            1,
            "queued, not published"
        );
    }
    let h = Harness::start_in(dir, true);
    assert_eq!(h.fbdata("bwright@companyabc.example"), OOF_MONDAY_DIGITS);
}
