//! The server's lifecycle: open the store, bind, announce, serve, shut down.
//!
//! Owns [`ServeOptions`], [`Server`] (a started server: its address, its state and the
//! handle that stops it) and the `server.json` file in the data directory, which tells the
//! CLI where the server listens and which token its admin API wants. The file is written
//! once the listener is bound and removed at a clean shutdown; a stale one (after a crash)
//! is harmless: the CLI checks that a server answers before using it.
//!
//! `start` also runs the publishing pipeline: it loads the demo's calendar files when
//! asked, runs a first poller round (calendar directory scan, republish of everyone) before
//! answering anything, so the first query already sees current free/busy, and then starts
//! the poller task; `shutdown` stops it after the listener.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{oneshot, watch};

use crate::app::Clock;
use crate::app::calendar_dir::CalendarDir;
use crate::app::poller::{self, CleanupAt, Poller, RoundReport};
use crate::publishing::publisher::PublishSettings;
use crate::store::{DEFAULT_CACHE_BYTES, Store, StoreConfig, StoreError};
use crate::transport::{self, AppState, Limits, StateParts};

/// Threads for store work (`AppState::blocking`) in `schedplus serve`. Store calls are
/// short, and writers queue on the store's one write lock anyway; with tokio's default of
/// 512, a few hundred concurrent writers park a thread each on that lock, and the
/// server's memory doubled under `scripts/load.sh` (200 connections) for no throughput.
pub const MAX_BLOCKING_THREADS: usize = 32;

/// The file in the data directory that announces a running server.
pub const SERVER_FILE: &str = "server.json";

#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub demo: bool,
    pub clock: Clock,
    pub limits: Limits,
    pub cache_capacity: u64,
    /// `--fb-cache-bytes`: the query's row cache (`store::fb_cache`).
    pub fb_cache_bytes: u64,
    /// `--calendar-dir`: watched for `<alias or smtp>.ics` files. With `demo` and no
    /// directory given, `<data dir>/calendars` is used and filled with the demo calendars.
    pub calendar_dir: Option<PathBuf>,
    pub poll_interval: Duration,
    /// `--publish`: at the interval only, or at each change too.
    pub publish_mode: poller::PublishMode,
    pub publish: PublishSettings,
    pub cleanup_at: CleanupAt,
    /// `--auth`, `--read`, `--permissions`.
    pub auth: crate::auth::AuthSettings,
    /// `--pid-file`: written with the process id once the listener is bound, removed at a
    /// clean shutdown (for service managers and scripts that signal the server).
    pub pid_file: Option<PathBuf>,
    /// The Availability front end's free/busy servers per admin group (`--cas-servers`).
    pub cas: crate::app::availability::CasSettings,
    /// The server's name, organization and replicas, its replication peers and Exchsync
    /// links (`server_name`, `organization`, `replicas`, `replication_*`, `exchsync_*`).
    pub topology: crate::app::replication::TopologySettings,
    /// `faults` and `fault_seed`: the fault rules the server starts with.
    pub faults: crate::protocol::fault_rule::FaultSet,
    /// Every setting as resolved (value and source), written into `server.json` so that
    /// `schedplus config show` can print the running server's settings.
    pub announce: Vec<AnnouncedSetting>,
}

impl ServeOptions {
    pub fn new(data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        ServeOptions {
            data_dir: data_dir.into(),
            listen,
            demo: false,
            clock: Clock::System,
            limits: Limits::default(),
            cache_capacity: DEFAULT_CACHE_BYTES,
            fb_cache_bytes: crate::store::DEFAULT_FB_CACHE_BYTES,
            calendar_dir: None,
            poll_interval: poller::DEFAULT_POLL_INTERVAL,
            publish_mode: poller::PublishMode::default(),
            publish: PublishSettings::default(),
            cleanup_at: CleanupAt::default(),
            auth: crate::auth::AuthSettings::default(),
            pid_file: None,
            cas: Default::default(),
            topology: Default::default(),
            faults: crate::protocol::fault_rule::FaultSet::new(0, Vec::new()),
            announce: Vec::new(),
        }
    }
}

/// One setting as the running server resolved it, in `server.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AnnouncedSetting {
    pub key: String,
    /// None when the setting has no value.
    pub value: Option<String>,
    /// Where it came from: `flag`, `environment SCHEDPLUS_…`, `<file> line N`, `default`.
    pub source: String,
}

/// The contents of `server.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServerInfo {
    /// `127.0.0.1:8080`: where the admin API answers.
    pub addr: String,
    pub pid: u32,
    pub token: String,
    pub version: String,
    /// The server's settings (absent in files written by older versions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<AnnouncedSetting>,
}

impl ServerInfo {
    pub fn read(data_dir: &Path) -> Option<ServerInfo> {
        let text = std::fs::read_to_string(data_dir.join(SERVER_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error(
        "cannot listen on {addr}: {source}; choose another address with --listen (e.g. --listen 127.0.0.1:8081)"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the demo could not be loaded: {0}")]
    Demo(String),
    #[error("the server could not start: {0}")]
    Start(String),
    #[error("--calendar-dir {}: {reason}", path.display())]
    CalendarDir { path: PathBuf, reason: String },
}

/// A started server.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    /// The calendar directory being watched, if any.
    pub calendar_dir: Option<PathBuf>,
    info_path: PathBuf,
    token: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    poller_stop: watch::Sender<bool>,
    poller: Option<tokio::task::JoinHandle<()>>,
    pid_file: Option<PathBuf>,
    /// Folds histogram samples every `metrics::UPKEEP_INTERVAL` (see `metrics::upkeep`).
    metrics_upkeep: tokio::task::JoinHandle<()>,
    /// The store's page cache, to open it again at shutdown ([`checkpoint`]).
    cache_capacity: u64,
    /// Replication rounds and Exchsync sessions (`app::replication::spawn`), stopped by
    /// `poller_stop` too.
    replication: Vec<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Open the store, bind the listener, write `server.json`, load the demo if asked, and
    /// start serving in the background.
    pub async fn start(opts: ServeOptions) -> Result<Server, ServeError> {
        std::fs::create_dir_all(&opts.data_dir).map_err(|source| ServeError::Io {
            path: opts.data_dir.clone(),
            source,
        })?;
        let store = Store::open(&StoreConfig {
            cache_capacity: opts.cache_capacity,
            fb_cache_bytes: opts.fb_cache_bytes,
            ..StoreConfig::new(&opts.data_dir)
        })?;
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|source| ServeError::Bind {
                addr: opts.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Bind {
            addr: opts.listen,
            source,
        })?;
        crate::app::metrics::install();
        let token = new_token();
        let topology = crate::app::replication::Topology::new(opts.topology.clone());
        let state = AppState::new(StateParts {
            store,
            clock: opts.clock,
            limits: opts.limits,
            publish: opts.publish.clone(),
            auth: opts.auth,
            admin_token: token.clone(),
            cas: opts.cas.clone(),
            topology: topology.clone(),
            faults: crate::app::ops::Faults::new(opts.faults.clone()),
        });
        let calendar_dir = match &opts.calendar_dir {
            Some(d) if !d.is_dir() => {
                return Err(ServeError::CalendarDir {
                    path: d.clone(),
                    reason: "no such directory; create it, or leave --calendar-dir out".into(),
                });
            }
            Some(d) => Some(d.clone()),
            None if opts.demo => Some(opts.data_dir.join("calendars")),
            None => None,
        };
        if opts.demo {
            let st = state.clone();
            let fill = opts
                .calendar_dir
                .is_none()
                .then(|| calendar_dir.clone())
                .flatten();
            let report = tokio::task::spawn_blocking(move || {
                crate::app::demo::load(st.store(), st.clock(), fill.as_deref())
            })
            .await
            .map_err(|e| ServeError::Demo(e.to_string()))?
            .map_err(|e| ServeError::Demo(e.to_string()))?;
            tracing::info!(
                users = report.users,
                calendars_written = report.calendars_written,
                "demo organisation loaded"
            );
        }
        let mut poller = Poller::new(
            state.store().clone(),
            *state.clock(),
            opts.publish.clone(),
            opts.cleanup_at,
            calendar_dir
                .as_deref()
                .map(|d| CalendarDir::new(d, state.limits().max_calendar_bytes)),
        );
        let (poller, first) = tokio::task::spawn_blocking(move || {
            let r = poller.round();
            (poller, r)
        })
        .await
        .map_err(|e| ServeError::Start(format!("the first publishing round failed: {e}")))?;
        let RoundReport {
            published,
            unchanged,
            unpublished,
            failed,
            dir_changes,
            ..
        } = first;
        tracing::info!(
            published,
            unchanged,
            unpublished,
            failed,
            calendar_files = dir_changes,
            "free/busy published from calendars"
        );
        // The pid file before server.json, so a failure of either leaves neither behind.
        if let Some(path) = &opts.pid_file {
            write_pid_file(path).map_err(|source| ServeError::Io {
                path: path.clone(),
                source,
            })?;
        }
        let info_path = opts.data_dir.join(SERVER_FILE);
        let info = ServerInfo {
            addr: addr.to_string(),
            pid: std::process::id(),
            token: token.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            settings: opts.announce.clone(),
        };
        write_private(
            &info_path,
            &serde_json::to_vec_pretty(&info).expect("serialisable"),
        )
        .map_err(|source| {
            if let Some(path) = &opts.pid_file {
                let _ = std::fs::remove_file(path);
            }
            ServeError::Io {
                path: info_path.clone(),
                source,
            }
        })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(transport::serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        let (poller_stop, poller_stopped) = watch::channel(false);
        let clock = opts.clock;
        let replication = crate::app::replication::spawn(
            topology.clone(),
            state.store().clone(),
            move || clock.now_us(),
            poller_stopped.clone(),
        );
        let poller = poller::spawn(
            poller,
            opts.poll_interval,
            opts.publish_mode,
            poller_stopped,
        );
        let metrics_upkeep = tokio::spawn(async {
            let mut tick = tokio::time::interval(crate::app::metrics::UPKEEP_INTERVAL);
            loop {
                tick.tick().await;
                crate::app::metrics::upkeep();
            }
        });
        tracing::info!(
            %addr,
            data = %opts.data_dir.display(),
            server = %topology.settings.server_name,
            organization = %topology.settings.organization,
            replicas = %topology.settings.replicas.describe(),
            "schedplus is serving"
        );
        Ok(Server {
            addr,
            state,
            calendar_dir,
            info_path,
            token,
            stop: Some(stop),
            task,
            poller_stop,
            poller: Some(poller),
            pid_file: opts.pid_file,
            metrics_upkeep,
            cache_capacity: opts.cache_capacity,
            replication,
        })
    }

    /// Stop accepting, let in-flight requests finish, stop the poller (a round in progress
    /// completes), and remove `server.json`.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
        self.metrics_upkeep.abort();
        let _ = self.poller_stop.send(true);
        if let Some(p) = self.poller.take() {
            let _ = p.await;
        }
        // A round in progress completes (its pages are whole; the mark follows them).
        for t in std::mem::take(&mut self.replication) {
            let _ = t.await;
        }
        // Only remove the file if it is still ours (another server may have replaced it).
        if ServerInfo::read(self.info_path.parent().unwrap_or(Path::new(".")))
            .is_some_and(|i| i.token == self.token)
        {
            let _ = std::fs::remove_file(&self.info_path);
        }
        // Likewise the pid file: only while it still names this process.
        if let Some(path) = &self.pid_file {
            let ours = std::fs::read_to_string(path)
                .is_ok_and(|t| t.trim() == std::process::id().to_string());
            if ours {
                let _ = std::fs::remove_file(path);
            }
        }
        // The count of reads logged at DEBUG only in the last busy second.
        self.state.read_log().flush();
        let (path, cache_capacity) = (self.state.store().path().to_path_buf(), self.cache_capacity);
        drop(self.state);
        // A disk that does not answer must not hold the shutdown (the open writes).
        let checkpoint = tokio::task::spawn_blocking(move || checkpoint(&path, cache_capacity));
        if tokio::time::timeout(CHECKPOINT_WAIT, checkpoint)
            .await
            .is_err()
        {
            tracing::warn!(
                "the store's snapshot was not brought up to date within {} s; the next start replays sled's log",
                CHECKPOINT_WAIT.as_secs()
            );
        }
        tracing::info!("schedplus stopped");
    }

    /// Serve until SIGINT or SIGTERM (as registered by `signals`), then shut down cleanly.
    /// SIGHUP (the terminal that started the server closed) is logged and ignored.
    /// Under systemd (`Type=notify`) it reports READY=1 first (the listener is bound by
    /// now) and STOPPING=1 when a signal comes.
    pub async fn run_until_signal(self, signals: Signals) {
        notify("READY=1");
        signals.wait().await;
        notify("STOPPING=1");
        tracing::info!("signal received; finishing in-flight requests");
        self.shutdown().await;
    }
}

/// How long a shutdown waits for [`checkpoint`].
const CHECKPOINT_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Open the store at `path` once more and close it, once the server has let go of it.
///
/// sled writes its snapshot (where each page lies in its log) only while opening a store,
/// and an open replays every write made since the last snapshot: a server that wrote for a
/// day would spend the next start-up reading that day's log again (1.3 s of a 1.75 s start
/// after 200,000 messages were written). Opened here, the replay happens at shutdown and the
/// next start reads a snapshot that is up to date. Skipped, with a DEBUG line, when the
/// store is still held (a handle kept elsewhere in this process: sled's lock refuses).
fn checkpoint(path: &Path, cache_capacity: u64) {
    let started = std::time::Instant::now();
    match Store::open(&StoreConfig {
        cache_capacity,
        ..StoreConfig::new(path)
    }) {
        Ok(store) => {
            drop(store);
            tracing::debug!(
                ms = started.elapsed().as_millis() as u64,
                "store snapshot brought up to date for the next start"
            );
        }
        Err(e) => tracing::debug!(error = %e, "store snapshot not brought up to date"),
    }
}

/// SIGINT, SIGTERM and SIGHUP, registered when this is made. Make it before
/// [`Server::start`]: a signal that arrives while the server starts (after `server.json` is
/// written) is then caught and ends in a clean shutdown instead of killing the process.
pub struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
}

/// What the log says on SIGHUP. Every setting is read once at start-up (the listener,
/// limits and sign-in rules are fixed for the life of the process); the calendar directory
/// and the store are re-read by the poller anyway.
pub const SIGHUP_MESSAGE: &str = "SIGHUP received; nothing reloaded (settings are read at start-up: restart to change them; the calendar directory is rescanned every poll interval); still serving";

impl Signals {
    /// Register the handlers; needs a running tokio runtime.
    pub fn register() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
                hup: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    /// Wait for SIGINT or SIGTERM. SIGHUP used to kill the server at once (its default
    /// action), leaving a stale `server.json` when the terminal that started it closed; it is
    /// now logged and the server keeps serving.
    async fn wait(mut self) {
        #[cfg(unix)]
        loop {
            tokio::select! {
                _ = self.int.recv() => return,
                _ = self.term.recv() => return,
                _ = self.hup.recv() => tracing::warn!("{SIGHUP_MESSAGE}"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Restore SIGPIPE's default action (end the process quietly) for the CLI's one-shot
/// commands: Rust ignores SIGPIPE, so `println!` into a closed pipe (`… | head`) panicked
/// with exit 101. Not for `serve`, where a client hanging up must not end the process.
pub fn die_on_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default is async-signal-safe and
    // touches no Rust state; it is done before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// [`sd_notify`], a failure logged (systemd then gives up on the start after its timeout).
fn notify(state: &str) {
    if let Err(e) = sd_notify(state) {
        tracing::warn!("cannot tell systemd {state} through NOTIFY_SOCKET: {e}");
    }
}

/// The pid file: the process id and a newline, written whole (a temporary file renamed).
fn write_pid_file(path: &Path) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let written = std::fs::write(&tmp, format!("{}\n", std::process::id()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Tell the service manager how the server is, by the sd_notify protocol: one datagram
/// (`READY=1`, `STOPPING=1`, ...) to the Unix socket named by `$NOTIFY_SOCKET`, a path, or
/// an abstract name when it starts with '@'. `Ok(false)` when the variable is unset (not
/// started by systemd with `Type=notify`); written by hand, the protocol being one
/// `sendto`, rather than a crate.
pub fn sd_notify(state: &str) -> std::io::Result<bool> {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(false);
    };
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::net::UnixDatagram;
        let name = socket.as_bytes();
        let sock = UnixDatagram::unbound()?;
        if let Some(abstract_name) = name.strip_prefix(b"@") {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            {
                #[cfg(target_os = "android")]
                use std::os::android::net::SocketAddrExt;
                #[cfg(target_os = "linux")]
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name)?;
                sock.send_to_addr(state.as_bytes(), &addr)?;
            }
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            {
                let _ = abstract_name;
                return Err(std::io::Error::other(
                    "NOTIFY_SOCKET names an abstract socket, which only Linux has",
                ));
            }
        } else {
            sock.send_to(state.as_bytes(), std::path::Path::new(&socket))?;
        }
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = (socket, state);
        Ok(false)
    }
}

/// Write a file readable only by its owner (it holds the admin token).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        use std::io::Write;
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(tmp, path)
}

/// 128 random bits, hex. The kernel's generator; the clock and pid only if it is missing.
fn new_token() -> String {
    use std::io::Read;
    let mut buf = [0u8; 16];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok();
    if !ok {
        let t =
            jiff::Timestamp::now().as_nanosecond() as u128 ^ ((std::process::id() as u128) << 64);
        buf = t.to_le_bytes();
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
