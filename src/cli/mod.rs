//! The command line: argument parsing, settings, the commands and printing their reports.
//!
//! Owns [`main`] and [`run`] (here), [`Cli`] and its subcommands (`args.rs`), the settings'
//! resolution and the typed serve options (`settings.rs`, over [`config`]), one function
//! per command (`commands.rs`), and the text they print (`print.rs`). Every command's work
//! is done by the library (`server`, `app::ops`, `publishing`), reached through
//! [`client`] (a running server's admin API, or the store itself); this module only turns
//! arguments into requests and reports into text. Exit codes: 0 success, 1 failure, 2 bad
//! input, 3 no such user.

pub mod client;
pub mod config;
pub mod lab;

mod args;
mod commands;
mod lint;
mod print;
mod settings;

pub use args::{
    CalendarCommand, CleanfreebusyArgs, Cli, Command, ConfigCommand, DirectoryCommand, FbCommand,
    LogFormat, PublishOverrides, ServeArgs, StyleArg, UpdatefbArgs,
};
pub use commands::{CalendarExpansion, calendar_expand};
pub use settings::{resolve_settings, serve_options};

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::app::Clock;
use crate::app::{Error, ops};
use crate::cli::client::Admin;
use crate::protocol::time::parse_time;

use commands::{calendar_import, cleanfreebusy, directory, fb, read_file, serve, updatefb};
use settings::config_error;

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
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The one place a failure becomes an exit code: 2 for input the user can fix (a bad
/// value, a conflict with what is stored, something too large), 3 for a name that is not
/// there, 1 for everything else (a refusal, the store, the server, a partial batch).
pub fn exit_code(e: &Error) -> u8 {
    match e {
        Error::BadInput(_) | Error::Conflict(_) | Error::TooLarge(_) => 2,
        Error::NotFound(_) => 3,
        Error::Refused { .. }
        | Error::Unavailable(_)
        | Error::OutOfSpace(_)
        | Error::Internal(_)
        | Error::Partial(_) => 1,
    }
}

/// Parse `argv`, resolve settings and run, as `main` does but without logging set-up or
/// exit codes: for tests and programs that embed the CLI.
pub fn run_args<I, T>(argv: I) -> Result<(), Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(argv).map_err(|e| Error::BadInput(e.to_string()))?;
    let settings = resolve_settings(&cli)?;
    run(cli, settings)
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

pub fn run(cli: Cli, settings: crate::cli::config::Resolved) -> Result<(), Error> {
    let data: PathBuf = settings
        .get::<PathBuf>("data")
        .map_err(config_error)?
        .expect("data has a default in SETTINGS");
    // Parsed here so that a bad value names where it came from (flag, variable, file).
    let fixed = settings
        .get_with("now", |v| parse_time(v).map_err(|e| e.to_string()))
        .map_err(config_error)?;
    let clock = fixed.map_or(Clock::System, Clock::Fixed);
    let now: Option<String> = settings.get::<String>("now").map_err(config_error)?;
    match cli.command {
        Command::Serve(_) => serve(data, clock, &settings),
        Command::Config(ConfigCommand::Show) => settings::config_show(data, clock, &settings),
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
                .expect("max_calendar_bytes has a default in SETTINGS");
            let admin = Admin::connect(&data, clock)?;
            calendar_import(&admin, user, file, now.clone(), max)
        }
        Command::Calendar(CalendarCommand::Delete { user }) => {
            let admin = Admin::connect(&data, clock)?;
            let r = admin.run(ops::CalendarDeleteRequest::new(user))?;
            if r.deleted {
                println!(
                    "{}: calendar deleted; its free/busy is removed at the server's next poll",
                    r.user
                );
                Ok(())
            } else {
                Err(Error::NotFound(format!(
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
            let r = admin.run(ops::Cleanup)?;
            println!(
                "{}, {} checked: {} removed, {} made canonical, {} left (canonical URL taken) (via {})",
                print::count(r.folders, "folder", "folders"),
                print::count(r.subjects, "user's messages", "users' messages"),
                print::count(r.duplicates_removed, "duplicate", "duplicates"),
                print::count(r.renamed, "URL", "URLs"),
                r.rename_blocked,
                admin.describe()
            );
            Ok(())
        }
        Command::Lint(args) => match args.remote.clone() {
            Some(url) => lint::lint_remote(&url, &args),
            None => lint::lint_local(&Admin::connect(&data, clock)?, &args),
        },
        Command::Check(args) => lint::check(&Admin::connect(&data, clock)?, &args, now.clone()),
        Command::Fault(cmd) => lab::fault(cmd, &data, clock),
        Command::Lab(cmd) => lab::lab(cmd),
        Command::Calendar(CalendarCommand::Expand {
            file,
            start,
            end,
            tz,
        }) => {
            let text = read_file(&file)?;
            let x = calendar_expand(&text, &start, &end, tz.as_deref())
                .map_err(|e| Error::BadInput(format!("{}: {e}", file.display())))?;
            // On stderr, as `calendar import` prints them, so stdout stays one JSON value.
            for w in &x.warnings {
                eprintln!("{}: warning: {w}", file.display());
            }
            println!("{}", x.json);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind of failure has its one exit code: 2 for what the user can fix, 3 for a
    /// name that is not there, 1 for the rest.
    #[test]
    fn exit_codes_by_kind() {
        let m = || "x".to_string();
        for (e, code) in [
            (Error::BadInput(m()), 2),
            (Error::Conflict(m()), 2),
            (Error::TooLarge(m()), 2),
            (Error::NotFound(m()), 3),
            (
                Error::Refused {
                    rule: "admin-only",
                    kind: crate::auth::RefusalKind::Forbidden,
                    message: m(),
                },
                1,
            ),
            (Error::Unavailable(m()), 1),
            (Error::OutOfSpace(m()), 1),
            (Error::Internal(m()), 1),
            (Error::Partial(m()), 1),
        ] {
            assert_eq!(exit_code(&e), code, "{e:?}");
        }
    }
}
