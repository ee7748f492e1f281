//! The command line: argument parsing, logging set-up, and printing reports.
//!
//! Owns [`Cli`] and [`main`]. Every command's work is done by the library (`server`,
//! `admin`, `admin_client`, `calendar`); this module only turns arguments into requests and
//! reports into text. Exit codes: 0 success, 1 failure, 2 bad input, 3 no such user.

pub mod client;
pub mod config;

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::app::admin::{self, AdminError};
use crate::app::poller::CleanupAt;
use crate::cli::client::Admin;
use crate::protocol::pffb::PublisherStyle;
use crate::protocol::query::QueryLimits;
use crate::protocol::time::{Clock, Minutes1601, format_rfc3339, parse_time};
use crate::publishing::publisher::{PublishSettings, Republished};
use crate::server::{ServeOptions, Server};
use crate::store::{CalendarChange, CalendarSource, PublishOutcome};
use crate::transport::Limits;

const ABOUT: &str = "An emulator of the Exchange 2000/2003 public-folder free/busy store \
(SCHEDULE+ FREE BUSY) for test labs.";

const LONG_ABOUT: &str = "\
An emulator of the Exchange 2000/2003 public-folder free/busy store (SCHEDULE+ FREE BUSY)
for test labs: it answers the GET /public/?Cmd=freebusy query that Exchange 2007/2010 Client
Access servers send for legacy mailboxes, from messages encoded as [MS-OXOPFFB] describes.

Start here:
  schedplus serve --demo                      serve a demo organisation on 127.0.0.1:8080
  schedplus directory list                    the users (through the running server)
  schedplus fb show danw@xcs.example          a user's blocks and the digits a CAS gets
  schedplus calendar import danw@xcs.example dan.ics
                                              store a calendar; free/busy follows from it
  schedplus cleanfreebusy danw@xcs.example    regenerate free/busy from the calendar now
  schedplus updatefb --csv mailboxes.txt      the same for every `alias, server` line

Admin commands go through the running server when one holds --data, and open the store
themselves otherwise.";

#[derive(Parser, Debug)]
#[command(name = "schedplus", version = env!("SCHEDPLUS_VERSION"), about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    /// The configuration file (see fixtures/schedplus.toml). Precedence: flag, then
    /// SCHEDPLUS_* variable, then this file, then the default; `schedplus config show`
    /// prints the result.
    #[arg(long, global = true, env = "SCHEDPLUS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The data directory: the store, and the running server's address file
    /// [env: SCHEDPLUS_DATA; default: ./schedplus-data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// Fix "now" (RFC 3339, e.g. 2026-03-08T09:00:00Z) for publish ranges and defaults, to
    /// reproduce month ends, year ends and DST changes [env: SCHEDPLUS_NOW].
    #[arg(long, global = true, value_name = "TIME")]
    pub now: Option<String>,

    /// Log lines as human-readable text or as JSON objects (one per line); filter with
    /// RUST_LOG, e.g. RUST_LOG=schedplus=debug [env: SCHEDPLUS_LOG_FORMAT; default: text].
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("write text or json".into()),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the store over HTTP: the ?Cmd=freebusy query and the admin API.
    Serve(Box<ServeArgs>),
    /// Import and list directory users.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Publish, show and delete a user's free/busy message by hand.
    #[command(subcommand)]
    Fb(FbCommand),
    /// Store, delete and expand users' iCalendar calendars.
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Print a shell completion script, e.g. `schedplus completions bash > /etc/bash_completion.d/schedplus`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Regenerate users' free/busy from their calendars now (Outlook's /cleanfreebusy).
    ///
    /// Creates the message if it is missing, overwrites it otherwise (keeping the oldest of
    /// any duplicates), and prints per user the blocks added and removed. Exits 1 if any
    /// user failed; the others are still republished.
    Cleanfreebusy(CleanfreebusyArgs),
    /// Republish many mailboxes from an Updatefb input file (KB 294282).
    ///
    /// One mailbox per line, `<alias>, <home server>`; blank lines and lines starting with
    /// `#` are skipped. Prints `N republished, N unchanged, N failed` and, per failed line,
    /// its number and reason; exits 1 if any line failed. A failing line never stops the
    /// others.
    Updatefb(UpdatefbArgs),
    /// Run MadFB's cleanup of the free/busy folders now (the server also runs it daily at
    /// --cleanup-at): duplicate messages removed keeping the oldest, URLs made canonical.
    Cleanup,
    /// Show the effective configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print every setting's effective value and where it came from (flag, environment,
    /// file line or default), as a schedplus.toml you could keep.
    Show,
}

/// Publish settings a republish command may override. Through a running server the
/// server's own settings are the defaults; without one, Outlook's (2 months, outlook
/// style, UTC).
#[derive(clap::Args, Debug, Clone)]
pub struct PublishOverrides {
    /// Months to publish (1-36).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=36), value_name = "N")]
    pub publish_months: Option<u8>,
    /// outlook leaves empty statuses unset; exchange lists every month with empty values.
    #[arg(long, value_enum, value_name = "STYLE")]
    pub publisher_style: Option<StyleArg>,
    /// The users' zone for floating times and all-day events (IANA name).
    #[arg(long, value_name = "ZONE")]
    pub default_tz: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct CleanfreebusyArgs {
    /// Users: SMTP address, alias or legacyExchangeDN.
    #[arg(required = true, value_name = "USER")]
    pub users: Vec<String>,
    /// Show what would change and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub publish: PublishOverrides,
}

#[derive(clap::Args, Debug)]
pub struct UpdatefbArgs {
    /// The Updatefb input file: `<alias>, <home server>` per line.
    #[arg(long, value_name = "FILE")]
    pub csv: PathBuf,
    /// Show what would change for each mailbox and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub publish: PublishOverrides,
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on; the CAS sends the free/busy query over plain HTTP
    /// [env: SCHEDPLUS_LISTEN; default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Load the demo organisation (two organisations, a dozen users, free/busy around
    /// today) [env: SCHEDPLUS_DEMO].
    #[arg(long)]
    pub demo: bool,
    /// Most `u=` users one freebusy query may name [default: 1000].
    #[arg(long, value_name = "N")]
    pub max_users: Option<String>,
    /// Most slots per user one freebusy query may ask for [default: 100000].
    #[arg(long, value_name = "N")]
    pub max_slots: Option<String>,
    /// Most digits one freebusy answer may hold, users × slots [default: 20000000].
    #[arg(long, value_name = "N")]
    pub max_digits: Option<String>,
    /// Largest XML request body (PROPFIND, PROPPATCH, SEARCH), in bytes [default: 1048576].
    #[arg(long, value_name = "BYTES")]
    pub max_body: Option<String>,
    /// sled's page cache, in MiB [default: 64].
    #[arg(long, value_name = "MIB")]
    pub cache_mb: Option<String>,
    /// Watch DIR for calendars named `<alias or smtp>.ics`: new, modified and deleted files
    /// are picked up at the next poll. With --demo, defaults to <data dir>/calendars,
    /// filled with the demo calendars.
    #[arg(long, value_name = "DIR")]
    pub calendar_dir: Option<String>,
    /// How often the poller republishes users whose calendar changed (500ms, 1s, 5m, 1h);
    /// 5m behaves like Exchange's MadFB [default: 5s].
    #[arg(long, value_name = "DURATION")]
    pub poll_interval: Option<String>,
    /// Months of free/busy each publish covers, 1-36; Outlook's default is 2 [default: 2].
    #[arg(long, value_name = "N")]
    pub publish_months: Option<String>,
    /// outlook leaves empty statuses unset; exchange lists every month with empty values
    /// [default: outlook].
    #[arg(long, value_name = "STYLE")]
    pub publisher_style: Option<String>,
    /// Daily time of MadFB's cleanup (duplicates, non-canonical URLs), in --default-tz
    /// [default: 02:00].
    #[arg(long, value_name = "HH:MM")]
    pub cleanup_at: Option<String>,
    /// The users' zone for floating times and all-day events, an IANA name [default: UTC].
    #[arg(long, value_name = "ZONE")]
    pub default_tz: Option<String>,
    /// basic: writes need HTTP Basic credentials of a directory user whose password was
    /// set with `schedplus directory passwd`; none: anyone may write anything (a closed lab
    /// network) [default: basic].
    #[arg(long, value_name = "none|basic")]
    pub auth: Option<String>,
    /// anonymous: the freebusy query, PROPFIND, GET and SEARCH answer without credentials,
    /// as a CAS expects; authenticated: they need them too [default: anonymous].
    #[arg(long, value_name = "anonymous|authenticated")]
    pub read: Option<String>,
    /// owner: a user's free/busy message and calendar are written by that user or an admin;
    /// legacy: by any signed-in user, as on Exchange 2003 [default: owner].
    #[arg(long, value_name = "owner|legacy")]
    pub permissions: Option<String>,
    /// read: /metrics answers whoever --read lets read; anonymous: anyone, even under
    /// --read authenticated (a scraper without credentials) [default: read].
    #[arg(long, value_name = "read|anonymous")]
    pub metrics: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum DirectoryCommand {
    /// Import users from a csvde CSV or ldifde LDIF export (all of the file or nothing).
    ///
    /// CSV needs a header row with mail, legacyExchangeDN and displayName; mailNickname and
    /// proxyAddresses (values separated by ';') are optional. Re-importing updates users.
    Import {
        /// The export file.
        file: PathBuf,
        /// csv or ldif; detected from the content when omitted.
        #[arg(long)]
        format: Option<String>,
    },
    /// List the users, with who is an admin and who can sign in.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Set (or remove) a user's password, for HTTP Basic sign-in (`--auth basic`).
    ///
    /// Prompts twice without echo; with --stdin (or when standard input is not a terminal)
    /// reads one line instead, for scripts: `echo 's3cret' | schedplus directory passwd
    /// danw --stdin`. The password is hashed here (Argon2id) and only the hash is stored
    /// or sent to a running server.
    Passwd {
        /// SMTP address, alias or legacyExchangeDN.
        user: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        stdin: bool,
        /// Remove the password: the user can no longer sign in.
        #[arg(long, conflicts_with = "stdin")]
        remove: bool,
    },
    /// Mark a user as an admin (may write anyone's free/busy, admin-group folders and
    /// every public-folder item, and use the admin API with Basic credentials).
    Admin {
        /// SMTP address, alias or legacyExchangeDN.
        user: String,
        /// Take the admin mark away instead.
        #[arg(long)]
        revoke: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum FbCommand {
    /// Publish a user's whole free/busy message, as a publisher would.
    ///
    /// Spans are START/END in RFC 3339, e.g. --busy 2026-11-23T09:00:00Z/2026-11-23T10:00:00Z.
    /// The publish range starts at 00:00 UTC of the first of the month or of the week
    /// (whichever is earlier) at --now, and runs --months months.
    Set {
        /// SMTP address, alias or legacyExchangeDN.
        user: String,
        #[arg(long, value_name = "START/END")]
        busy: Vec<String>,
        #[arg(long, value_name = "START/END")]
        tentative: Vec<String>,
        #[arg(long, value_name = "START/END")]
        oof: Vec<String>,
        /// Months to publish (1-36).
        #[arg(long, default_value_t = 2)]
        months: u8,
        /// outlook leaves empty statuses unset; exchange lists every month with empty values.
        #[arg(long, value_enum, default_value_t = StyleArg::Outlook)]
        style: StyleArg,
    },
    /// Show a user's decoded blocks and the digits the ?Cmd=freebusy query answers.
    Show {
        user: String,
        /// Start of the digits window (default: today 00:00 UTC).
        #[arg(long)]
        start: Option<String>,
        /// End of the digits window (default: start + 7 days).
        #[arg(long)]
        end: Option<String>,
        /// Minutes per digit.
        #[arg(long, default_value_t = 30)]
        interval: u32,
        #[arg(long)]
        json: bool,
    },
    /// Delete a user's free/busy message (and any duplicates).
    Delete { user: String },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum StyleArg {
    Outlook,
    Exchange,
}

impl From<StyleArg> for PublisherStyle {
    fn from(s: StyleArg) -> Self {
        match s {
            StyleArg::Outlook => PublisherStyle::Outlook,
            StyleArg::Exchange => PublisherStyle::Exchange,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum CalendarCommand {
    /// Store a user's calendar and publish their free/busy from it.
    ///
    /// A calendar that does not parse is refused with the line and the reason; the
    /// previous calendar and its free/busy stay as they were.
    Import {
        /// SMTP address, alias or legacyExchangeDN.
        user: String,
        /// The iCalendar file (.ics), as Outlook, Exchange, Google or Thunderbird export it.
        file: PathBuf,
    },
    /// Delete a user's calendar; the server's poller then removes their free/busy.
    Delete { user: String },
    /// Expand a calendar to merged free/busy intervals in [START, END), printed as JSON.
    Expand {
        file: PathBuf,
        start: String,
        end: String,
        /// Zone of floating and all-day events (IANA name; default UTC).
        tz: Option<String>,
    },
}

/// Parse arguments, run, and turn the outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = !matches!(cli.command, Command::Serve(_));
    if quiet {
        // `schedplus directory list | head`: end quietly when the reader goes away, as Unix
        // tools do, instead of panicking in `println!`. The server keeps SIGPIPE ignored (a
        // client that hangs up is an error on one socket, not the end of the process).
        crate::server::die_on_broken_pipe();
    }
    let result = resolve_settings(&cli).and_then(|settings| {
        let format = settings
            .get::<LogFormat>("log_format")
            .map_err(config_error)?
            .unwrap_or(LogFormat::Text);
        init_logging(if quiet { "warn" } else { "info" }, format);
        run(cli, settings)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("schedplus: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Parse `argv`, resolve settings and run, as `main` does but without logging set-up or
/// exit codes: for tests and programs that embed the CLI.
pub fn run_args<I, T>(argv: I) -> Result<(), AdminError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(argv).map_err(|e| AdminError::BadInput(e.to_string()))?;
    let settings = resolve_settings(&cli)?;
    run(cli, settings)
}

fn config_error(e: crate::cli::config::ConfigError) -> AdminError {
    AdminError::BadInput(e.to_string())
}

/// Every setting with its source: the flags given, `SCHEDPLUS_*`, the configuration file.
pub fn resolve_settings(cli: &Cli) -> Result<crate::cli::config::Resolved, AdminError> {
    let mut flags = std::collections::BTreeMap::new();
    if let Some(d) = &cli.data {
        flags.insert("data", d.display().to_string());
    }
    if let Some(n) = &cli.now {
        flags.insert("now", n.clone());
    }
    if let Some(f) = cli.log_format {
        flags.insert("log_format", format!("{f:?}").to_lowercase());
    }
    if let Command::Serve(a) = &cli.command {
        let given = [
            ("listen", &a.listen),
            ("max_users", &a.max_users),
            ("max_slots", &a.max_slots),
            ("max_digits", &a.max_digits),
            ("max_body", &a.max_body),
            ("cache_mb", &a.cache_mb),
            ("calendar_dir", &a.calendar_dir),
            ("poll_interval", &a.poll_interval),
            ("publish_months", &a.publish_months),
            ("publisher_style", &a.publisher_style),
            ("cleanup_at", &a.cleanup_at),
            ("default_tz", &a.default_tz),
            ("auth", &a.auth),
            ("read", &a.read),
            ("permissions", &a.permissions),
            ("metrics", &a.metrics),
        ];
        for (key, value) in given {
            if let Some(v) = value {
                flags.insert(key, v.clone());
            }
        }
        if a.demo {
            flags.insert("demo", "true".into());
        }
    }
    let file = crate::cli::config::load_file(cli.config.as_deref()).map_err(config_error)?;
    crate::cli::config::resolve(
        &flags,
        |var| std::env::var(var).ok(),
        file.as_ref().map(|(p, t)| (p.as_path(), t.as_str())),
    )
    .map_err(config_error)
}

fn init_logging(default: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only for a person at a terminal: journald, files and pipes get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

pub fn run(cli: Cli, settings: crate::cli::config::Resolved) -> Result<(), AdminError> {
    let data: PathBuf = settings
        .get::<PathBuf>("data")
        .map_err(config_error)?
        .unwrap_or_else(|| PathBuf::from("./schedplus-data"));
    // Parsed here so that a bad value names where it came from (flag, variable, file).
    let fixed = settings
        .get_with("now", |v| parse_time(v).map_err(|e| e.to_string()))
        .map_err(config_error)?;
    let clock = fixed.map_or(Clock::System, Clock::Fixed);
    let now: Option<String> = settings.get::<String>("now").map_err(config_error)?;
    match cli.command {
        Command::Serve(_) => serve(data, clock, &settings),
        Command::Config(ConfigCommand::Show) => {
            print!("{}", settings.render());
            // Also a validator: every value must parse as `serve` would parse it.
            serve_options(data, clock, &settings).map(|_| ())
        }
        Command::Directory(cmd) => {
            let admin = Admin::connect(&data, clock)?;
            directory(&admin, cmd)
        }
        Command::Fb(cmd) => {
            let admin = Admin::connect(&data, clock)?;
            fb(&admin, cmd, now.clone())
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "schedplus", &mut script);
            // A closed pipe (`| head`) is the reader's choice, not a failure.
            use std::io::Write;
            let _ = std::io::stdout().write_all(&script);
            Ok(())
        }
        Command::Calendar(CalendarCommand::Import { user, file }) => {
            let max = settings
                .get::<usize>("max_calendar_bytes")
                .map_err(config_error)?
                .unwrap_or(Limits::default().max_calendar_bytes);
            let admin = Admin::connect(&data, clock)?;
            calendar_import(&admin, user, file, now.clone(), max)
        }
        Command::Calendar(CalendarCommand::Delete { user }) => {
            let admin = Admin::connect(&data, clock)?;
            let r = admin.calendar_delete(&admin::CalendarDeleteRequest { user })?;
            if r.deleted {
                println!(
                    "{}: calendar deleted; its free/busy is removed at the server's next poll",
                    r.user
                );
                Ok(())
            } else {
                Err(AdminError::NotFound(format!(
                    "{} has no calendar stored",
                    r.user
                )))
            }
        }
        Command::Cleanfreebusy(args) => {
            let admin = Admin::connect(&data, clock)?;
            cleanfreebusy(&admin, args, now.clone())
        }
        Command::Updatefb(args) => {
            let admin = Admin::connect(&data, clock)?;
            updatefb(&admin, args, now.clone())
        }
        Command::Cleanup => {
            let admin = Admin::connect(&data, clock)?;
            let r = admin.cleanup()?;
            println!(
                "{} folders, {} users' messages checked: {} duplicates removed, {} URLs made canonical, {} left (canonical URL taken) (via {})",
                r.folders,
                r.subjects,
                r.duplicates_removed,
                r.renamed,
                r.rename_blocked,
                admin.describe()
            );
            Ok(())
        }
        Command::Calendar(CalendarCommand::Expand {
            file,
            start,
            end,
            tz,
        }) => {
            let text = read_file(&file)?;
            let json = calendar_expand_json(&text, &start, &end, tz.as_deref())
                .map_err(|e| AdminError::BadInput(format!("{}: {e}", file.display())))?;
            println!("{json}");
            Ok(())
        }
    }
}

fn read_file(path: &std::path::Path) -> Result<String, AdminError> {
    let bytes = std::fs::read(path)
        .map_err(|e| AdminError::BadInput(format!("cannot read {}: {e}", path.display())))?;
    String::from_utf8(bytes)
        .map_err(|_| AdminError::BadInput(format!("{} is not UTF-8 text", path.display())))
}

/// Every serve option, typed and checked, from the resolved settings.
pub fn serve_options(
    data: PathBuf,
    clock: Clock,
    settings: &crate::cli::config::Resolved,
) -> Result<ServeOptions, AdminError> {
    let get = |key: &str| -> Result<String, AdminError> {
        settings
            .get::<String>(key)
            .map_err(config_error)?
            .ok_or_else(|| AdminError::BadInput(format!("{key} has no value")))
    };
    let num = |key: &str| -> Result<usize, AdminError> {
        settings
            .get::<usize>(key)
            .map_err(config_error)?
            .ok_or_else(|| AdminError::BadInput(format!("{key} has no value")))
    };
    let listen: SocketAddr = settings
        .get_with("listen", |s| {
            s.parse()
                .map_err(|_| "not an address like 127.0.0.1:8080 or 0.0.0.0:80".to_string())
        })
        .map_err(config_error)?
        .expect("listen has a default");
    let mut opts = ServeOptions::new(data, listen);
    opts.demo = settings.flag("demo").map_err(config_error)?;
    opts.clock = clock;
    opts.cache_capacity = num("cache_mb")? as u64 * 1024 * 1024;
    opts.calendar_dir = settings
        .get::<PathBuf>("calendar_dir")
        .map_err(config_error)?;
    opts.poll_interval = settings
        .get_with("poll_interval", crate::app::poller::parse_interval)
        .map_err(config_error)?
        .expect("poll_interval has a default");
    opts.cleanup_at = settings
        .get::<CleanupAt>("cleanup_at")
        .map_err(config_error)?
        .unwrap_or_default();
    let months = settings
        .get_with("publish_months", |s| {
            s.parse::<u8>()
                .ok()
                .filter(|m| (1..=36).contains(m))
                .ok_or_else(|| "publish 1 to 36 months".to_string())
        })
        .map_err(config_error)?;
    let style = settings
        .get_with("publisher_style", |s| {
            match s.to_ascii_lowercase().as_str() {
                "outlook" => Ok(PublisherStyle::Outlook),
                "exchange" => Ok(PublisherStyle::Exchange),
                _ => Err("write outlook or exchange".to_string()),
            }
        })
        .map_err(config_error)?;
    let tz = get("default_tz")?;
    opts.publish = admin::publish_settings(&PublishSettings::default(), months, style, Some(&tz))?;
    // Zero would make the server refuse every connection or time every request out.
    let duration = |key: &str| -> Result<Duration, AdminError> {
        settings
            .get_with(key, |v| {
                crate::app::poller::parse_interval(v).and_then(|d| {
                    if d.is_zero() {
                        Err("must be longer than 0".into())
                    } else {
                        Ok(d)
                    }
                })
            })
            .map_err(config_error)?
            .ok_or_else(|| AdminError::BadInput(format!("{key} has no value")))
    };
    let positive = |key: &str| -> Result<usize, AdminError> {
        settings
            .get_with(key, |v| {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| "must be a whole number above 0".to_string())
            })
            .map_err(config_error)?
            .ok_or_else(|| AdminError::BadInput(format!("{key} has no value")))
    };
    opts.limits = Limits {
        query: QueryLimits {
            max_users: num("max_users")?,
            max_slots: num("max_slots")?,
            max_digits: num("max_digits")?,
        },
        xml: crate::protocol::dav_xml::XmlLimits {
            max_depth: num("max_xml_depth")?,
            max_elements: num("max_xml_elements")?,
            max_attributes_per_element: num("max_xml_attributes")?,
        },
        max_body: num("max_body")?,
        max_put_body: num("max_put_body")?,
        max_calendar_bytes: num("max_calendar_bytes")?,
        max_admin_body: num("max_admin_body")?,
        max_header_bytes: num("max_header_bytes")?,
        max_headers: num("max_headers")?,
        max_connections: positive("max_connections")?,
        header_timeout: duration("header_timeout")?,
        body_timeout: duration("body_timeout")?,
        request_timeout: duration("request_timeout")?,
        answer_buffer: positive("answer_buffer")?,
        send_timeout: duration("send_timeout")?,
        max_pending_heads: positive("max_pending_heads")?,
        max_pending_heads_per_address: positive("max_pending_heads_per_address")?,
    };
    opts.publish.expand.max_instances = num("max_instances")?;
    opts.auth = crate::auth::AuthSettings {
        mode: settings
            .get::<crate::auth::AuthMode>("auth")
            .map_err(config_error)?
            .unwrap_or_default(),
        read: settings
            .get::<crate::auth::ReadAccess>("read")
            .map_err(config_error)?
            .unwrap_or_default(),
        permissions: settings
            .get::<crate::auth::Permissions>("permissions")
            .map_err(config_error)?
            .unwrap_or_default(),
        metrics: settings
            .get::<crate::auth::MetricsAccess>("metrics")
            .map_err(config_error)?
            .unwrap_or_default(),
    };
    if opts.auth.mode == crate::auth::AuthMode::None
        && opts.auth.read == crate::auth::ReadAccess::Authenticated
    {
        return Err(AdminError::BadInput(
            "read = authenticated needs auth = basic: with auth = none nobody can sign in, so reads would stay open".into(),
        ));
    }
    Ok(opts)
}

fn serve(
    data: PathBuf,
    clock: Clock,
    settings: &crate::cli::config::Resolved,
) -> Result<(), AdminError> {
    let opts = serve_options(data, clock, settings)?;
    let poll_interval = opts.poll_interval;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(crate::server::MAX_BLOCKING_THREADS)
        .build()
        .map_err(|e| AdminError::Transport(format!("cannot start the async runtime: {e}")))?;
    let served = runtime.block_on(async move {
        let data_dir = opts.data_dir.clone();
        let demo = opts.demo;
        let signals = crate::server::Signals::register()
            .map_err(|e| AdminError::Transport(format!("cannot handle SIGINT/SIGTERM: {e}")))?;
        // Exit 2 for what the user chose (an address, a directory), 1 for what failed
        // underneath (the store, writing server.json, the demo, the runtime).
        let server = Server::start(opts).await.map_err(|e| match e {
            crate::server::ServeError::Store(s) => AdminError::Store(s),
            e @ (crate::server::ServeError::Bind { .. }
            | crate::server::ServeError::CalendarDir { .. }) => AdminError::BadInput(e.to_string()),
            other => AdminError::Transport(other.to_string()),
        })?;
        print_banner(&server, &data_dir, demo, &clock, poll_interval);
        server.run_until_signal(signals).await;
        Ok(())
    });
    // A request thread stuck on a dead disk must not keep the process from exiting after
    // SIGTERM (dropping the runtime would wait for it forever); the store is closed by now.
    runtime.shutdown_timeout(SHUTDOWN_WAIT);
    served
}

/// How long a stopping server waits for request threads still running after the shutdown.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(30);

fn print_banner(
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

fn directory(admin: &Admin, cmd: DirectoryCommand) -> Result<(), AdminError> {
    match cmd {
        DirectoryCommand::Import { file, format } => {
            // The bytes as they are: the encoding (csvde's ANSI code page, UTF-16LE…) is
            // detected where the export is imported.
            let bytes = std::fs::read(&file).map_err(|e| {
                AdminError::BadInput(format!("cannot read {}: {e}", file.display()))
            })?;
            let report = admin.import_directory(&admin::ImportRequest::from_bytes(
                &bytes,
                format,
                file.display().to_string(),
            ))?;
            let s = &report.summary;
            println!(
                "{} ({}, {}): {} users ({} added, {} updated, {} unchanged), {} admin-group folders created, {} non-user records skipped (via {})",
                report.source,
                report.format,
                report.encoding,
                report.users,
                s.added,
                s.updated,
                s.unchanged,
                s.folders_created,
                report.skipped_non_users,
                admin.describe()
            );
            Ok(())
        }
        DirectoryCommand::List { json } => {
            let users = admin.list_users()?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&users).expect("serialisable")
                );
                return Ok(());
            }
            if users.is_empty() {
                println!("no users; import some with `schedplus directory import FILE`");
                return Ok(());
            }
            let w_name = users
                .iter()
                .map(|u| u.display_name.chars().count())
                .max()
                .unwrap_or(4)
                .max(4);
            let w_mail = users.iter().map(|u| u.mail.len()).max().unwrap_or(4).max(4);
            let w_alias = users
                .iter()
                .map(|u| u.alias.len())
                .max()
                .unwrap_or(5)
                .max(5);
            println!(
                "{:w_name$}  {:w_mail$}  {:w_alias$}  SIGN-IN  LEGACYEXCHANGEDN",
                "NAME", "MAIL", "ALIAS"
            );
            for u in &users {
                let pad = w_name - u.display_name.chars().count();
                let sign_in = match (u.password, u.admin) {
                    (_, true) if !u.password => "admin*",
                    (true, true) => "admin",
                    (true, false) => "user",
                    _ => "-",
                };
                println!(
                    "{}{}  {:w_mail$}  {:w_alias$}  {:7}  {}",
                    u.display_name,
                    " ".repeat(pad),
                    u.mail,
                    u.alias,
                    sign_in,
                    u.legacy_dn
                );
            }
            println!("{} users", users.len());
            if users.iter().any(|u| u.admin && !u.password) {
                println!(
                    "* an admin without a password cannot sign in yet: schedplus directory passwd USER"
                );
            }
            Ok(())
        }
        DirectoryCommand::Passwd {
            user,
            stdin,
            remove,
        } => {
            let password_hash = if remove {
                None
            } else {
                let pw = read_new_password(&user, stdin)?;
                Some(
                    crate::auth::hash_password(&pw)
                        .map_err(|e| AdminError::BadInput(format!("{e}; nothing changed")))?,
                )
            };
            let r = admin.set_password(&admin::PasswdRequest {
                user,
                password_hash,
            })?;
            let what = match (r.had_password, r.has_password) {
                (_, false) if !r.had_password => "had no password; nothing changed",
                (_, false) => "password removed; the user can no longer sign in",
                (false, true) => "password set",
                (true, true) => "password changed",
            };
            println!(
                "{} ({}): {what} (via {})",
                r.user,
                r.legacy_dn,
                admin.describe()
            );
            Ok(())
        }
        DirectoryCommand::Admin { user, revoke } => {
            let r = admin.set_admin(&admin::AdminMarkRequest {
                user,
                admin: !revoke,
            })?;
            let what = match (r.was_admin, r.admin) {
                (false, true) => "is now an admin",
                (true, true) => "was already an admin",
                (true, false) => "is no longer an admin",
                (false, false) => "was not an admin",
            };
            let hint = if r.admin && !r.has_password {
                "; set a password with `schedplus directory passwd` to sign in"
            } else {
                ""
            };
            println!(
                "{} ({}) {what}{hint} (via {})",
                r.user,
                r.legacy_dn,
                admin.describe()
            );
            Ok(())
        }
    }
}

/// A new password: prompted twice without echo on a terminal, else (or with `--stdin`)
/// the first line of standard input.
fn read_new_password(user: &str, from_stdin: bool) -> Result<String, AdminError> {
    use std::io::{BufRead, IsTerminal};
    let bad = |e: std::io::Error| AdminError::BadInput(format!("cannot read the password: {e}"));
    let pw = if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(bad)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        let first =
            rpassword::prompt_password(format!("New password for {user}: ")).map_err(bad)?;
        let again = rpassword::prompt_password("Again: ").map_err(bad)?;
        if first != again {
            return Err(AdminError::BadInput(
                "the two passwords differ; nothing changed".into(),
            ));
        }
        first
    };
    // The caller's `hash_password` checks the password itself (empty, too long, control
    // characters) and says so.
    Ok(pw)
}

fn fb(admin: &Admin, cmd: FbCommand, now: Option<String>) -> Result<(), AdminError> {
    match cmd {
        FbCommand::Set {
            user,
            busy,
            tentative,
            oof,
            months,
            style,
        } => {
            let r = admin.fb_set(&admin::FbSetRequest {
                user,
                busy,
                tentative,
                oof,
                months: Some(months),
                style: Some(style.into()),
                now,
            })?;
            let what = match r.outcome {
                crate::store::PublishOutcome::Created => "created",
                crate::store::PublishOutcome::Updated => "updated",
                crate::store::PublishOutcome::Unchanged => "unchanged",
            };
            println!(
                "{} ({}): message {what}, publish range {} .. {}",
                r.user, r.legacy_dn, r.range_start, r.range_end
            );
            if r.removed_duplicates > 0 {
                println!("  removed {} duplicate messages", r.removed_duplicates);
            }
            if r.clipped > 0 {
                println!(
                    "  note: {} spans reach outside the publish range; only the part inside was published",
                    r.clipped
                );
            }
            Ok(())
        }
        FbCommand::Show {
            user,
            start,
            end,
            interval,
            json,
        } => {
            let r = admin.fb_show(&admin::FbShowRequest {
                user,
                start,
                end,
                interval: Some(interval),
                now,
            })?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&r).expect("serialisable")
                );
            } else {
                print_show(&r);
            }
            Ok(())
        }
        FbCommand::Delete { user } => {
            let r = admin.fb_delete(&admin::FbDeleteRequest { user })?;
            println!("{}: {} messages deleted", r.user, r.deleted);
            Ok(())
        }
    }
}

fn print_show(r: &admin::FbShowReport) {
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
                println!("  {status}: {} blocks", blocks.len());
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

/// `calendar expand` output: merged intervals per status, RFC 3339 UTC.
pub fn calendar_expand_json(
    text: &str,
    start: &str,
    end: &str,
    tz: Option<&str>,
) -> Result<String, String> {
    use crate::protocol::freebusy::{FbStatus, Interval};
    use crate::publishing::calendar::{ExpandOptions, parse};
    let t = |s: &str| {
        parse_time(s)
            .map(Minutes1601::from_timestamp)
            .map_err(|e| e.to_string())
    };
    let window = Interval::new(t(start)?, t(end)?).ok_or("END must be after START")?;
    let mut opts = ExpandOptions::default();
    if let Some(name) = tz {
        opts.default_tz =
            jiff::tz::TimeZone::get(name).map_err(|e| format!("time zone '{name}': {e}"))?;
    }
    let cal = parse(text).map_err(|e| e.to_string())?;
    let fb = cal.expand(window, &opts).map_err(|e| e.to_string())?;
    let mut obj = serde_json::Map::new();
    for st in FbStatus::MARKED {
        let list: Vec<serde_json::Value> = fb
            .get(st)
            .expect("marked")
            .iter()
            .map(|iv| serde_json::json!([iv.start().to_string(), iv.end().to_string()]))
            .collect();
        obj.insert(st.name().to_string(), serde_json::Value::Array(list));
    }
    Ok(serde_json::Value::Object(obj).to_string())
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

fn calendar_import(
    admin: &Admin,
    user: String,
    file: PathBuf,
    now: Option<String>,
    max_bytes: usize,
) -> Result<(), AdminError> {
    // The same cap as over HTTP and in the watched directory, before reading the file.
    let size = std::fs::metadata(&file)
        .map_err(|e| AdminError::BadInput(format!("cannot read {}: {e}", file.display())))?
        .len();
    if size > max_bytes as u64 {
        return Err(AdminError::BadInput(format!(
            "{} is {size} bytes, over the {max_bytes}-byte calendar limit (max_calendar_bytes); nothing changed",
            file.display()
        )));
    }
    let text = read_file(&file)?;
    let r = admin.calendar_put(&admin::CalendarPutRequest {
        user,
        text,
        source: CalendarSource::Import(file.display().to_string()),
        publish_now: true,
        now,
    })?;
    let what = match r.change {
        CalendarChange::Created => "stored",
        CalendarChange::Replaced => "replaced",
        CalendarChange::Unchanged => "unchanged",
    };
    println!(
        "{}: calendar {what} ({} events) from {} (via {})",
        r.user,
        r.events,
        file.display(),
        admin.describe()
    );
    for w in &r.warnings {
        println!("  warning: {w}");
    }
    if let Some(p) = &r.published {
        print_republished("  free/busy", p, false);
    }
    Ok(())
}

fn overrides_request(
    user: String,
    dry_run: bool,
    now: &Option<String>,
    o: &PublishOverrides,
    reason: &str,
) -> admin::RepublishRequest {
    admin::RepublishRequest {
        user,
        dry_run,
        now: now.clone(),
        months: o.publish_months,
        style: o.publisher_style.map(Into::into),
        default_tz: o.default_tz.clone(),
        reason: Some(reason.to_string()),
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

/// The most blocks listed per direction; the counts are always complete.
const MAX_LISTED_BLOCKS: usize = 12;

fn print_republished(label: &str, r: &Republished, dry_run: bool) {
    println!(
        "{label}: message {}, {} blocks added, {} removed (publish range {} .. {})",
        outcome_word(r.outcome, dry_run),
        r.added.len(),
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

fn cleanfreebusy(
    admin: &Admin,
    args: CleanfreebusyArgs,
    now: Option<String>,
) -> Result<(), AdminError> {
    let mut failed = 0;
    let total = args.users.len();
    for user in args.users {
        match admin.republish(&overrides_request(
            user.clone(),
            args.dry_run,
            &now,
            &args.publish,
            "cleanfreebusy",
        )) {
            Ok(r) => print_republished(&r.user, &r.result, args.dry_run),
            Err(e) => {
                failed += 1;
                eprintln!("{user}: failed: {e}");
            }
        }
    }
    if args.dry_run {
        println!("dry run: nothing was written");
    }
    if failed > 0 {
        return Err(AdminError::Partial(format!(
            "{failed} of {total} users failed"
        )));
    }
    Ok(())
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal (so logs and
/// pipes get no control characters).
struct Progress {
    total: usize,
    on: bool,
}

impl Progress {
    const WIDTH: usize = 30;

    fn new(total: usize) -> Progress {
        Progress {
            total,
            on: std::io::stderr().is_terminal(),
        }
    }

    fn show(&self, done: usize, label: &str) {
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

    fn finish(&self) {
        if self.on {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}\r", " ".repeat(Self::WIDTH + 50));
            let _ = err.flush();
        }
    }
}

fn updatefb(admin: &Admin, args: UpdatefbArgs, now: Option<String>) -> Result<(), AdminError> {
    let text = read_file(&args.csv)?;
    let lines = crate::protocol::updatefb::parse(&text);
    if lines.is_empty() {
        return Err(AdminError::BadInput(format!(
            "{} names no mailboxes; write one '<alias>, <home server>' per line",
            args.csv.display()
        )));
    }
    let bar = Progress::new(lines.len());
    let (mut republished, mut unchanged) = (0, 0);
    let mut failures: Vec<(usize, String)> = Vec::new();
    let mut dry_lines: Vec<(usize, String, Republished)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let entry = match line {
            Ok(l) => l,
            Err(e) => {
                failures.push((e.line, e.reason.clone()));
                continue;
            }
        };
        bar.show(i, &entry.alias);
        let req = overrides_request(
            entry.alias.clone(),
            args.dry_run,
            &now,
            &args.publish,
            "updatefb",
        );
        match admin.republish(&req) {
            Ok(r) => {
                if r.result.outcome == PublishOutcome::Unchanged {
                    unchanged += 1;
                } else {
                    republished += 1;
                }
                if args.dry_run {
                    dry_lines.push((entry.line, r.user, r.result));
                }
            }
            Err(e) => failures.push((entry.line, format!("{}: {e}", entry.alias))),
        }
    }
    bar.show(lines.len(), "done");
    bar.finish();
    for (line, user, r) in &dry_lines {
        print_republished(&format!("line {line}: {user}"), r, true);
    }
    failures.sort_by_key(|f| f.0);
    println!(
        "{}{republished} republished, {unchanged} unchanged, {} failed",
        if args.dry_run {
            "dry run, nothing written: "
        } else {
            ""
        },
        failures.len()
    );
    for (line, reason) in &failures {
        println!("  line {line}: {reason}");
    }
    if !failures.is_empty() {
        return Err(AdminError::Partial(format!(
            "{} of {} lines of {} failed",
            failures.len(),
            lines.len(),
            args.csv.display()
        )));
    }
    Ok(())
}
