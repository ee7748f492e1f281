//! The command line: argument parsing, logging set-up, and printing reports.
//!
//! Owns [`Cli`] and [`main`]. Every command's work is done by the library (`server`,
//! `admin`, `admin_client`, `calendar`); this module only turns arguments into requests and
//! reports into text. Exit codes: 0 success, 1 failure, 2 bad input, 3 no such user.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::admin::{self, AdminError};
use crate::admin_client::Admin;
use crate::protocol::pffb::PublisherStyle;
use crate::protocol::query::QueryLimits;
use crate::protocol::time::{Clock, Minutes1601, format_rfc3339, parse_time};
use crate::server::{ServeOptions, Server};
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

Admin commands go through the running server when one holds --data, and open the store
themselves otherwise.";

#[derive(Parser, Debug)]
#[command(name = "schedplus", version = env!("SCHEDPLUS_VERSION"), about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    /// The data directory: the store, and the running server's address file.
    #[arg(
        long,
        global = true,
        env = "SCHEDPLUS_DATA",
        default_value = "./schedplus-data",
        value_name = "DIR"
    )]
    pub data: PathBuf,

    /// Fix "now" (RFC 3339, e.g. 2026-03-08T09:00:00Z) for publish ranges and defaults, to
    /// reproduce month ends, year ends and DST changes.
    #[arg(long, global = true, env = "SCHEDPLUS_NOW", value_name = "TIME")]
    pub now: Option<String>,

    /// Log lines as human-readable text or as JSON objects (one per line). Filter with
    /// RUST_LOG, e.g. RUST_LOG=schedplus=debug.
    #[arg(long, global = true, env = "SCHEDPLUS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the store over HTTP: the ?Cmd=freebusy query and the admin API.
    Serve(ServeArgs),
    /// Import and list directory users.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Publish, show and delete a user's free/busy message by hand.
    #[command(subcommand)]
    Fb(FbCommand),
    /// Work with iCalendar files.
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Print a shell completion script, e.g. `schedplus completions bash > /etc/bash_completion.d/schedplus`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on. The CAS sends the free/busy query over plain HTTP.
    #[arg(
        long,
        env = "SCHEDPLUS_LISTEN",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    pub listen: SocketAddr,
    /// Load the demo organisation (two organisations, a dozen users, free/busy around today).
    #[arg(long)]
    pub demo: bool,
    /// Most `u=` users one freebusy query may name.
    #[arg(long, default_value_t = QueryLimits::default().max_users, value_name = "N")]
    pub max_users: usize,
    /// Most slots per user one freebusy query may ask for.
    #[arg(long, default_value_t = QueryLimits::default().max_slots, value_name = "N")]
    pub max_slots: usize,
    /// Most digits one freebusy answer may hold (users × slots).
    #[arg(long, default_value_t = QueryLimits::default().max_digits, value_name = "N")]
    pub max_digits: usize,
    /// Largest request body of the public-folder protocol, in bytes.
    #[arg(long, default_value_t = Limits::default().max_body, value_name = "BYTES")]
    pub max_body: usize,
    /// sled's page cache, in MiB.
    #[arg(long, default_value_t = 64, value_name = "MIB")]
    pub cache_mb: u64,
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
    /// List the users.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
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
    init_logging(if quiet { "warn" } else { "info" }, cli.log_format);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("schedplus: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn init_logging(default: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

fn clock_of(now: &Option<String>) -> Result<Clock, AdminError> {
    match now {
        None => Ok(Clock::System),
        Some(s) => parse_time(s)
            .map(Clock::Fixed)
            .map_err(|e| AdminError::BadInput(format!("--now: {e}"))),
    }
}

pub fn run(cli: Cli) -> Result<(), AdminError> {
    let clock = clock_of(&cli.now)?;
    match cli.command {
        Command::Serve(args) => serve(cli.data, clock, args),
        Command::Directory(cmd) => {
            let admin = Admin::connect(&cli.data, clock)?;
            directory(&admin, cmd)
        }
        Command::Fb(cmd) => {
            let admin = Admin::connect(&cli.data, clock)?;
            fb(&admin, cmd, cli.now)
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

fn serve(data: PathBuf, clock: Clock, args: ServeArgs) -> Result<(), AdminError> {
    let mut opts = ServeOptions::new(data, args.listen);
    opts.demo = args.demo;
    opts.clock = clock;
    opts.cache_capacity = args.cache_mb * 1024 * 1024;
    opts.limits = Limits {
        query: QueryLimits {
            max_users: args.max_users,
            max_slots: args.max_slots,
            max_digits: args.max_digits,
        },
        max_body: args.max_body,
        ..Limits::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| AdminError::Transport(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let data_dir = opts.data_dir.clone();
        let demo = opts.demo;
        let server = Server::start(opts).await.map_err(|e| match e {
            crate::server::ServeError::Store(s) => AdminError::Store(s),
            other => AdminError::BadInput(other.to_string()),
        })?;
        print_banner(&server, &data_dir, demo, &clock);
        server.run_until_signal().await;
        Ok(())
    })
}

fn print_banner(server: &Server, data: &std::path::Path, demo: bool, clock: &Clock) {
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
        "  free/busy query: http://{addr}/public/?Cmd=freebusy&start=…&end=…&interval=30&u=SMTP:user@domain"
    );
    println!("  health:          http://{addr}/healthz");
    if demo {
        println!();
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
    }
    println!();
    println!("Stop with Ctrl-C.");
}

fn directory(admin: &Admin, cmd: DirectoryCommand) -> Result<(), AdminError> {
    match cmd {
        DirectoryCommand::Import { file, format } => {
            let text = read_file(&file)?;
            let report = admin.import_directory(&admin::ImportRequest {
                text,
                format,
                source: file.display().to_string(),
            })?;
            let s = &report.summary;
            println!(
                "{}: {} users ({} added, {} updated, {} unchanged), {} admin-group folders created, {} non-user records skipped (via {})",
                report.source,
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
                "{:w_name$}  {:w_mail$}  {:w_alias$}  LEGACYEXCHANGEDN",
                "NAME", "MAIL", "ALIAS"
            );
            for u in &users {
                let pad = w_name - u.display_name.chars().count();
                println!(
                    "{}{}  {:w_mail$}  {:w_alias$}  {}",
                    u.display_name,
                    " ".repeat(pad),
                    u.mail,
                    u.alias,
                    u.legacy_dn
                );
            }
            println!("{} users", users.len());
            Ok(())
        }
    }
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
    use crate::calendar::{ExpandOptions, parse};
    use crate::protocol::freebusy::{FbStatus, Interval};
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
