//! The command line as clap sees it: `Cli`, its subcommands and their arguments.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::cli::config::{Group, Kind, SETTINGS, Setting};
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
#[command(mut_args(hide_env_value), mut_subcommands(hide_env_values))]
pub struct Cli {
    /// The configuration file (see fixtures/schedplus.toml). Precedence: flag, then
    /// SCHEDPLUS_* variable, then this file, then the default; `schedplus config show`
    /// prints the result.
    #[arg(long, global = true, env = "SCHEDPLUS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// `--data`, `--now`, `--log-format`: the settings of [`Group::Global`], from
    /// [`SETTINGS`].
    #[command(flatten)]
    pub globals: GlobalFlags,

    #[command(subcommand)]
    pub command: Command,
}

/// `--help` shows no environment variable's value, for every argument of every command:
/// some are secrets (`SCHEDPLUS_REMOTE_PASSWORD`, `SCHEDPLUS_TOKEN`), and the others are
/// no help in a help text. Set here once, so a new flag with `env` cannot forget it.
fn hide_env_value(arg: clap::Arg) -> clap::Arg {
    arg.hide_env_values(true)
}

/// [`hide_env_value`] for each argument of `cmd` and of its subcommands, all the way down.
fn hide_env_values(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(hide_env_value)
        .mut_subcommands(hide_env_values)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    Serve(ServeArgs),
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
    /// Report every way stored free/busy messages differ from what Outlook and Exchange
    /// write, one finding per line: rule, severity, user, status, month, sentence and the
    /// known publishers that write so.
    ///
    /// Reads the local store (through the running server when one holds it), or any
    /// WebDAV free/busy store with --remote (a real Exchange 2003 included). Exits 1 when a
    /// finding at or above --fail-on is present.
    Lint(LintArgs),
    /// Fault rules of a running server (labs): answer some requests wrongly on purpose.
    #[command(subcommand)]
    Fault(crate::cli::lab::FaultCommand),
    /// A lab: a topology of servers on loopback from one lab.toml (fixtures/labs/).
    #[command(subcommand)]
    Lab(crate::cli::lab::LabCommand),
    /// Check that a user's calendar, stored message and ?Cmd=freebusy digits agree over
    /// the message's publish range; prints the first differing slot and the three values
    /// there, and exits 1 on any disagreement.
    Check(CheckArgs),
}

#[derive(clap::Args, Debug)]
pub struct LintArgs {
    /// One user's messages (SMTP address, alias or legacyDN; local store only).
    #[arg(value_name = "USER", conflicts_with_all = ["all", "remote"])]
    pub user: Option<String>,
    /// Every message (the default without USER).
    #[arg(long)]
    pub all: bool,
    /// Lint a WebDAV free/busy store instead: the URL of its public root,
    /// e.g. http://exchange.example/public.
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,
    /// Basic credentials for --remote: the user name.
    #[arg(long, value_name = "NAME", requires = "remote")]
    pub remote_user: Option<String>,
    /// Basic credentials for --remote: the password.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "SCHEDPLUS_REMOTE_PASSWORD",
        requires = "remote_user"
    )]
    pub remote_password: Option<String>,
    /// Print findings as a JSON array instead of lines.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when a finding of this severity or worse is present: info, warning or error.
    #[arg(long, value_name = "SEVERITY", default_value = "error")]
    pub fail_on: String,
    /// Messages per page read from the store.
    #[arg(long, value_name = "N", default_value_t = crate::app::ops::LINT_PAGE)]
    pub page: usize,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub who: CheckWho,
    /// Minutes per slot of the query view.
    #[arg(long, value_name = "MINUTES", default_value_t = 30)]
    pub interval: u32,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Whom `check` checks: one user, or every user; one of the two, not both.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
pub struct CheckWho {
    /// The user (SMTP address, alias or legacyDN).
    #[arg(value_name = "USER")]
    pub user: Option<String>,
    /// Every user in the directory.
    #[arg(long)]
    pub all: bool,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print every setting's effective value and where it came from (flag, environment,
    /// file line or default), as a schedplus.toml you could keep.
    Show,
}

/// Publish settings a republish command may override. Through a running server the
/// server's own settings are the defaults; without one, the defaults of `SETTINGS`
/// (Outlook's). Their help is the serve setting's, from its row.
#[derive(clap::Args, Debug, Clone)]
pub struct PublishOverrides {
    #[arg(long, help = override_help("publish_months"), value_name = row("publish_months").value_name,
          value_parser = clap::value_parser!(u8).range(1..=36))]
    pub publish_months: Option<u8>,
    #[arg(long, help = override_help("publisher_style"), value_name = row("publisher_style").value_name, value_enum)]
    pub publisher_style: Option<StyleArg>,
    #[arg(long, help = override_help("default_tz"), value_name = row("default_tz").value_name)]
    pub default_tz: Option<String>,
}

/// The row of `key` in [`SETTINGS`].
fn row(key: &str) -> &'static Setting {
    Setting::of(key).unwrap_or_else(|| panic!("'{key}' is not in SETTINGS"))
}

/// The help of a republish command's override of the serve setting `key`: the setting's
/// own help (no variable or file: only the flag overrides).
fn override_help(key: &str) -> String {
    row(key).short_help()
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

/// Flags built from [`SETTINGS`], ripgrep's `defs.rs` way: each flag's name, value name,
/// help (with its variable and default), heading and shape (a switch, a list of values, a
/// path to complete) come from its row, so no setting is spelt here. Holds the values
/// given on the command line, by key, for [`crate::cli::config::resolve`]; clap applies
/// no default, so that a value not given falls through to the variable, the file and the
/// row's default, in that order.
///
/// `GLOBAL`: the settings every command reads ([`Group::Global`], flags valid before or
/// after the command), or those of `serve` (every other group).
#[derive(Debug, Clone, Default)]
pub struct SettingFlags<const GLOBAL: bool>(pub BTreeMap<&'static str, String>);

/// `--data`, `--now`, `--log-format`.
pub type GlobalFlags = SettingFlags<true>;

/// The `serve` flags, under their headings.
pub type ServeArgs = SettingFlags<false>;

impl<const GLOBAL: bool> SettingFlags<GLOBAL> {
    /// The settings these flags carry, heading by heading in `serve --help`'s order.
    pub fn settings() -> impl Iterator<Item = &'static Setting> {
        let groups: &'static [Group] = if GLOBAL {
            &[Group::Global]
        } else {
            &Group::SERVE
        };
        groups
            .iter()
            .flat_map(|g| SETTINGS.iter().filter(move |s| s.group == *g))
    }
}

/// The clap flag of one setting.
fn setting_arg(s: &'static Setting, global: bool) -> clap::Arg {
    use clap::{Arg, ArgAction, ValueHint, builder::PossibleValuesParser};
    let arg = Arg::new(s.key)
        // clap wants a `'static` name without its `string` feature; a few bytes per flag,
        // once per command built.
        .long(&*Box::leak(s.flag()[2..].to_string().into_boxed_str()))
        .help(s.flag_help())
        .global(global);
    let arg = match s.group.heading() {
        Some(h) => arg.help_heading(h),
        None => arg,
    };
    match s.kind {
        Kind::Bool => arg.action(ArgAction::SetTrue),
        Kind::Enum(values) => arg
            .value_name(s.value_name)
            .value_parser(PossibleValuesParser::new(values))
            .ignore_case(true),
        Kind::Dir => arg.value_name(s.value_name).value_hint(ValueHint::DirPath),
        Kind::File => arg.value_name(s.value_name).value_hint(ValueHint::FilePath),
        Kind::Count | Kind::Bytes | Kind::Duration | Kind::Time | Kind::Text => {
            arg.value_name(s.value_name).value_hint(ValueHint::Other)
        }
    }
}

impl<const GLOBAL: bool> clap::FromArgMatches for SettingFlags<GLOBAL> {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut me = SettingFlags::default();
        me.update_from_arg_matches(m)?;
        Ok(me)
    }
    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        for s in Self::settings() {
            if s.kind == Kind::Bool {
                if m.get_flag(s.key) {
                    self.0.insert(s.key, "true".into());
                }
            } else if let Some(v) = m.get_one::<String>(s.key) {
                self.0.insert(s.key, v.clone());
            }
        }
        Ok(())
    }
}

impl<const GLOBAL: bool> clap::Args for SettingFlags<GLOBAL> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        Self::settings().fold(cmd, |cmd, s| cmd.arg(setting_arg(s, GLOBAL)))
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
        #[arg(long, default_value_t = crate::protocol::freebusy::DEFAULT_PUBLISH_MONTHS)]
        months: u8,
        /// outlook leaves empty statuses unset; exchange lists every month with empty values;
        /// gcc, zimbra and evolution write as those publishers do (docs/behaviour.md).
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
    Gcc,
    Zimbra,
    Evolution,
}

impl From<StyleArg> for PublisherStyle {
    fn from(s: StyleArg) -> Self {
        match s {
            StyleArg::Outlook => PublisherStyle::Outlook,
            StyleArg::Exchange => PublisherStyle::Exchange,
            StyleArg::Gcc => PublisherStyle::Gcc,
            StyleArg::Zimbra => PublisherStyle::Zimbra,
            StyleArg::Evolution => PublisherStyle::Evolution,
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every argument with an environment variable, in every command, keeps its value out
    /// of `--help` (set once, by [`hide_env_values`], not by each `#[arg]`).
    #[test]
    fn no_help_text_shows_an_environment_value() {
        fn walk(cmd: &clap::Command, seen: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                if let Some(env) = a.get_env() {
                    assert!(
                        a.is_hide_env_values_set(),
                        "{} --{}: {env:?} shows its value",
                        cmd.get_name(),
                        a.get_id()
                    );
                    seen.push(env.to_string_lossy().into_owned());
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, seen);
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        let mut seen = Vec::new();
        walk(&cmd, &mut seen);
        for env in [
            "SCHEDPLUS_CONFIG",
            "SCHEDPLUS_REMOTE_PASSWORD",
            "SCHEDPLUS_TOKEN",
            "SCHEDPLUS_LAB",
        ] {
            assert!(seen.iter().any(|e| e == env), "{env} not found in {seen:?}");
        }
    }

    /// `check` takes a user or `--all`: one of them, not both.
    #[test]
    fn check_takes_a_user_or_all() {
        let who = |argv: &[&str]| -> Result<(Option<String>, bool), clap::Error> {
            let cli = Cli::try_parse_from([&["schedplus", "check"], argv].concat())?;
            match cli.command {
                Command::Check(a) => Ok((a.who.user, a.who.all)),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(who(&["danw"]).unwrap(), (Some("danw".into()), false));
        assert_eq!(who(&["--all"]).unwrap(), (None, true));
        for wrong in [&[][..], &["--all", "danw"]] {
            let e = who(wrong).unwrap_err();
            assert!(e.to_string().contains("<USER|--all>"), "{wrong:?}: {e}");
        }
    }
}
