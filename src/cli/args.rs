//! The command line as clap sees it: `Cli`, its subcommands and their arguments.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::cli::config::{SETTINGS, Setting};
use crate::protocol::pffb::PublisherStyle;

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
    #[arg(
        long,
        global = true,
        env = "SCHEDPLUS_CONFIG",
        hide_env_values = true,
        value_name = "FILE"
    )]
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
    /// Address to listen on: IP:PORT, HOST:PORT (the host's first address) or a bare PORT
    /// (127.0.0.1:PORT); the CAS sends the free/busy query over plain HTTP
    /// [env: SCHEDPLUS_LISTEN; default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR", help_heading = "Network")]
    pub listen: Option<String>,
    /// Load the demo organisation (two organisations, a dozen users, free/busy around
    /// today) [env: SCHEDPLUS_DEMO].
    #[arg(long, help_heading = "Store")]
    pub demo: bool,
    /// sled's page cache, in MiB [default: 64].
    #[arg(long, value_name = "MIB", help_heading = "Store")]
    pub cache_mb: Option<String>,
    /// Watch DIR for calendars named `<alias or smtp>.ics`: new, modified and deleted files
    /// are picked up at the next poll. With --demo, defaults to <data dir>/calendars,
    /// filled with the demo calendars.
    #[arg(long, value_name = "DIR", help_heading = "Publishing")]
    pub calendar_dir: Option<String>,
    /// How often the poller republishes users whose calendar changed (500ms, 1s, 5m, 1h);
    /// 5m behaves like Exchange's MadFB [default: 5s].
    #[arg(long, value_name = "DURATION", help_heading = "Publishing")]
    pub poll_interval: Option<String>,
    /// Months of free/busy each publish covers, 1-36; Outlook's default is 2 [default: 2].
    #[arg(long, value_name = "N", help_heading = "Publishing")]
    pub publish_months: Option<String>,
    /// outlook leaves empty statuses unset; exchange lists every month with empty values
    /// [default: outlook].
    #[arg(long, value_name = "STYLE", value_parser = ["outlook", "exchange"], ignore_case = true, help_heading = "Publishing")]
    pub publisher_style: Option<String>,
    /// Daily time of MadFB's cleanup (duplicates, non-canonical URLs), in the --default-tz
    /// zone [default: 02:00].
    #[arg(long, value_name = "HH:MM", help_heading = "Publishing")]
    pub cleanup_at: Option<String>,
    /// The users' zone for floating times and all-day events, an IANA name [default: UTC].
    #[arg(long, value_name = "ZONE", help_heading = "Publishing")]
    pub default_tz: Option<String>,
    /// basic: writes need HTTP Basic credentials of a directory user whose password was
    /// set with `schedplus directory passwd`; none: anyone may write anything (a closed lab
    /// network) [default: basic].
    #[arg(long, value_name = "MODE", value_parser = ["none", "basic"], ignore_case = true, help_heading = "Sign-in")]
    pub auth: Option<String>,
    /// anonymous: the freebusy query, PROPFIND, GET and SEARCH answer without credentials,
    /// as a CAS expects; authenticated: they need them too [default: anonymous].
    #[arg(long, value_name = "MODE", value_parser = ["anonymous", "authenticated"], ignore_case = true, help_heading = "Sign-in")]
    pub read: Option<String>,
    /// owner: a user's free/busy message and calendar are written by that user or an admin;
    /// legacy: by any signed-in user, as on Exchange 2003 [default: owner].
    #[arg(long, value_name = "MODE", value_parser = ["owner", "legacy"], ignore_case = true, help_heading = "Sign-in")]
    pub permissions: Option<String>,
    /// read: /metrics answers whoever --read lets read; anonymous: anyone, even under
    /// --read authenticated (a scraper without credentials) [default: read].
    #[arg(long, value_name = "MODE", value_parser = ["read", "anonymous"], ignore_case = true, help_heading = "Sign-in")]
    pub metrics: Option<String>,
    /// Write the server's process id to FILE once it listens; removed at a clean stop
    /// [env: SCHEDPLUS_PID_FILE].
    #[arg(long, value_name = "FILE", help_heading = "Network")]
    pub pid_file: Option<String>,
    /// Every other setting of `SETTINGS` (the limits), one flag each.
    #[command(flatten)]
    pub limits: LimitFlags,
}

/// The settings written as fields above or as global flags; every other key of
/// [`SETTINGS`] becomes a `serve` flag through [`LimitFlags`].
pub const HAND_WRITTEN: &[&str] = &[
    "data",
    "now",
    "log_format",
    "listen",
    "demo",
    "cache_mb",
    "calendar_dir",
    "poll_interval",
    "publish_months",
    "publisher_style",
    "cleanup_at",
    "default_tz",
    "auth",
    "read",
    "permissions",
    "metrics",
    "pid_file",
];

/// The `serve` flags derived from [`SETTINGS`]: the flag, its help and default are written
/// once, in `config.rs`. Holds the values given, by key.
#[derive(Debug, Clone, Default)]
pub struct LimitFlags(pub BTreeMap<&'static str, String>);

fn derived() -> impl Iterator<Item = &'static Setting> {
    SETTINGS.iter().filter(|s| !HAND_WRITTEN.contains(&s.key))
}

impl clap::FromArgMatches for LimitFlags {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut me = LimitFlags::default();
        me.update_from_arg_matches(m)?;
        Ok(me)
    }
    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        for s in derived() {
            if let Some(v) = m.get_one::<String>(s.key) {
                self.0.insert(s.key, v.clone());
            }
        }
        Ok(())
    }
}

impl clap::Args for LimitFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        derived().fold(cmd, |cmd, s| {
            let value_name = if s.key.ends_with("_timeout") {
                "DURATION"
            } else if s.key.ends_with("_body")
                || s.key.ends_with("_bytes")
                || s.key == "answer_buffer"
            {
                "BYTES"
            } else {
                "N"
            };
            let mut help = s.help.to_string();
            if let Some(first) = help.get(..1) {
                help.replace_range(..1, &first.to_uppercase());
            }
            help.push_str(&format!(" [env: {}", s.env));
            if let Some(d) = s.default {
                help.push_str(&format!("; default: {d}"));
            }
            help.push(']');
            cmd.arg(
                clap::Arg::new(s.key)
                    // clap wants a `'static` name without its `string` feature; a few
                    // bytes per flag, once per command built.
                    .long(&*Box::leak(s.key.replace('_', "-").into_boxed_str()))
                    .value_name(value_name)
                    .help(help)
                    .help_heading("Limits"),
            )
        })
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
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
        /// Show what would change (added, changed, unchanged, not in the file) and write
        /// nothing.
        #[arg(long)]
        dry_run: bool,
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
        /// A busy span, START/END in RFC 3339; repeat the flag for more.
        #[arg(long, value_name = "START/END")]
        busy: Vec<String>,
        /// A tentative span, START/END in RFC 3339; repeat the flag for more.
        #[arg(long, value_name = "START/END")]
        tentative: Vec<String>,
        /// An out-of-office span, START/END in RFC 3339; repeat the flag for more.
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
