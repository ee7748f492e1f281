//! The commands: each turns its arguments into requests to the library and its reports
//! into text (`print.rs`).

use std::path::PathBuf;
use std::time::Duration;

use crate::app::Clock;
use crate::app::{Error, ops};
use crate::cli::client::Admin;
use crate::protocol::time::{Minutes1601, parse_time};
use crate::server::Server;
use crate::store::{CalendarChange, CalendarSource, PublishOutcome, StoreError};

use super::args::{CleanfreebusyArgs, DirectoryCommand, FbCommand, PublishOverrides, UpdatefbArgs};
use super::print::{
    Mailbox, Progress, count, print_banner, print_import, print_mailbox, print_republished,
    print_show,
};
use super::settings::serve_options;

pub(super) fn read_file(path: &std::path::Path) -> Result<String, Error> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::BadInput(format!("cannot read {}: {e}", path.display())))?;
    String::from_utf8(bytes)
        .map_err(|_| Error::BadInput(format!("{} is not UTF-8 text", path.display())))
}

pub(super) fn serve(
    data: PathBuf,
    clock: Clock,
    settings: &crate::cli::config::Resolved,
) -> Result<(), Error> {
    let opts = serve_options(data, clock, settings)?;
    let poll_interval = opts.poll_interval;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(crate::server::MAX_BLOCKING_THREADS)
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let served = runtime.block_on(async move {
        let data_dir = opts.data_dir.clone();
        let demo = opts.demo;
        let signals = crate::server::Signals::register()
            .map_err(|e| Error::Internal(format!("cannot handle SIGINT/SIGTERM: {e}")))?;
        // Exit 2 for what the user chose (an address, a directory), 1 for what failed
        // underneath (the store, writing server.json, the demo, the runtime).
        let server = Server::start(opts).await.map_err(|e| match e {
            crate::server::ServeError::Store(StoreError::Locked { path }) => {
                Error::Unavailable(store_in_use(&path, &data_dir))
            }
            crate::server::ServeError::Store(s) => s.into(),
            crate::server::ServeError::Bind { addr, source }
                if source.kind() == std::io::ErrorKind::PermissionDenied && addr.port() < 1024 =>
            {
                Error::BadInput(format!(
                    "cannot listen on {addr}: {source}; ports below 1024 need root or the \
                     CAP_NET_BIND_SERVICE capability (`sudo setcap cap_net_bind_service=+ep \
                     $(command -v schedplus)`, or AmbientCapabilities=CAP_NET_BIND_SERVICE in \
                     the systemd unit), or choose a port above 1023 with --listen"
                ))
            }
            e @ (crate::server::ServeError::Bind { .. }
            | crate::server::ServeError::CalendarDir { .. }) => Error::BadInput(e.to_string()),
            other => Error::Internal(other.to_string()),
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

/// The sentence for a second `serve` on a held store: the running server's pid and
/// address, from its `server.json`, when it announced itself.
fn store_in_use(path: &std::path::Path, data_dir: &std::path::Path) -> String {
    match crate::server::ServerInfo::read(data_dir) {
        Some(i) => format!(
            "the store at {} is in use by schedplus serve (pid {}, listening on {}); stop it (`kill {}`) or give this server another --data",
            path.display(),
            i.pid,
            i.addr,
            i.pid
        ),
        None => StoreError::Locked {
            path: path.to_path_buf(),
        }
        .to_string(),
    }
}

/// How long a stopping server waits for request threads still running after the shutdown.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(30);

pub(super) fn directory(admin: &Admin, cmd: DirectoryCommand) -> Result<(), Error> {
    match cmd {
        DirectoryCommand::Import {
            file,
            format,
            dry_run,
        } => {
            // The file is read where the import runs (here, or by the server holding the
            // store on this machine), bytes as they are: the encoding (csvde's ANSI code
            // page, UTF-16LE…) is detected there. No size limit of the admin API applies.
            let report = admin.run(ops::ImportRequest {
                dry_run,
                ..ops::ImportRequest::from_file(&file, format)?
            })?;
            print_import(&report, &admin.describe());
            Ok(())
        }
        DirectoryCommand::List { json } => {
            let users = admin.run(ops::ListUsers)?;
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
            println!("{}", count(users.len(), "user", "users"));
            if users.iter().any(|u| u.admin && !u.password) {
                println!(
                    "* an admin without a password cannot sign in yet: schedplus directory passwd USER"
                );
            }
            super::print::print_groups(&admin.run(ops::ListGroups)?);
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
                        .map_err(|e| Error::BadInput(format!("{e}; nothing changed")))?,
                )
            };
            let r = admin.run(ops::PasswdRequest {
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
            let r = admin.run(ops::AdminMarkRequest {
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
fn read_new_password(user: &str, from_stdin: bool) -> Result<String, Error> {
    use std::io::{BufRead, IsTerminal};
    let bad = |e: std::io::Error| Error::BadInput(format!("cannot read the password: {e}"));
    let pw = if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(bad)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        let first =
            rpassword::prompt_password(format!("New password for {user}: ")).map_err(bad)?;
        let again = rpassword::prompt_password("Again: ").map_err(bad)?;
        if first != again {
            return Err(Error::BadInput(
                "the two passwords differ; nothing changed".into(),
            ));
        }
        first
    };
    // The caller's `hash_password` checks the password itself (empty, too long, control
    // characters) and says so.
    Ok(pw)
}

pub(super) fn fb(admin: &Admin, cmd: FbCommand, now: Option<String>) -> Result<(), Error> {
    match cmd {
        FbCommand::Set {
            user,
            busy,
            tentative,
            oof,
            months,
            style,
        } => {
            let r = admin.run(ops::FbSetRequest {
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
                println!(
                    "  removed {}",
                    count(
                        r.removed_duplicates,
                        "duplicate message",
                        "duplicate messages"
                    )
                );
            }
            if r.clipped > 0 {
                println!(
                    "  note: {} outside the publish range; only the part inside was published",
                    if r.clipped == 1 {
                        "1 span reaches".to_string()
                    } else {
                        format!("{} spans reach", r.clipped)
                    }
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
            let r = admin.run(ops::FbShowRequest {
                user,
                window: ops::ShowWindow {
                    start,
                    end,
                    interval: Some(interval),
                },
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
            let r = admin.run(ops::FbDeleteRequest::new(user))?;
            println!(
                "{}: {} deleted",
                r.user,
                count(r.deleted, "message", "messages")
            );
            Ok(())
        }
    }
}

/// What `calendar expand` prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarExpansion {
    /// Merged intervals per status, RFC 3339 UTC (stdout).
    pub json: String,
    /// The leniencies applied while reading, `line N: …` (stderr, one `warning:` each).
    pub warnings: Vec<String>,
}

/// `calendar expand`: the JSON and the leniency warnings.
pub fn calendar_expand(
    text: &str,
    start: &str,
    end: &str,
    tz: Option<&str>,
) -> Result<CalendarExpansion, String> {
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
    Ok(CalendarExpansion {
        json: serde_json::Value::Object(obj).to_string(),
        warnings: cal.leniencies().iter().map(ToString::to_string).collect(),
    })
}

pub(super) fn calendar_import(
    admin: &Admin,
    user: String,
    file: PathBuf,
    now: Option<String>,
    max_bytes: usize,
) -> Result<(), Error> {
    // The same cap as over HTTP and in the watched directory, before reading the file.
    let size = std::fs::metadata(&file)
        .map_err(|e| Error::BadInput(format!("cannot read {}: {e}", file.display())))?
        .len();
    if size > max_bytes as u64 {
        return Err(Error::BadInput(format!(
            "{} is {size} bytes, over the {max_bytes}-byte calendar limit (max_calendar_bytes); nothing changed",
            file.display()
        )));
    }
    let text = read_file(&file)?;
    let r = admin.run(ops::CalendarPutRequest {
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
        "{}: calendar {what} ({}) from {} (via {})",
        r.user,
        count(r.events, "event", "events"),
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
) -> ops::RepublishRequest {
    ops::RepublishRequest {
        user,
        dry_run,
        now: now.clone(),
        months: o.publish_months,
        style: o.publisher_style.map(Into::into),
        default_tz: o.default_tz.clone(),
        reason: Some(reason.to_string()),
    }
}

pub(super) fn cleanfreebusy(
    admin: &Admin,
    args: CleanfreebusyArgs,
    now: Option<String>,
) -> Result<(), Error> {
    let mut failed = 0;
    let total = args.users.len();
    for user in args.users {
        match admin.run(overrides_request(
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
        return Err(Error::Partial(format!("{failed} of {total} users failed")));
    }
    Ok(())
}

pub(super) fn updatefb(
    admin: &Admin,
    args: UpdatefbArgs,
    now: Option<String>,
) -> Result<(), Error> {
    let text = read_file(&args.csv)?;
    let lines = crate::protocol::updatefb::parse(&text);
    if lines.is_empty() {
        return Err(Error::BadInput(format!(
            "{} names no mailboxes; write one '<alias>, <home server>' per line",
            args.csv.display()
        )));
    }
    let bar = Progress::new(lines.len());
    let (mut republished, mut unchanged, mut failed) = (0, 0, 0);
    // One entry per mailbox line, in file order, as Updatefb's log had: printed after the
    // progress bar is gone.
    let mut log: Vec<(usize, Mailbox)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let entry = match line {
            Ok(l) => l,
            Err(e) => {
                failed += 1;
                log.push((e.line, Mailbox::Failed(e.reason.clone())));
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
        match admin.run(req) {
            Ok(r) => {
                if r.result.outcome == PublishOutcome::Unchanged {
                    unchanged += 1;
                } else {
                    republished += 1;
                }
                log.push((entry.line, Mailbox::Done(r.user, r.result)));
            }
            Err(e) => {
                failed += 1;
                log.push((entry.line, Mailbox::Failed(format!("{}: {e}", entry.alias))));
            }
        }
    }
    bar.show(lines.len(), "done");
    bar.finish();
    log.sort_by_key(|(line, _)| *line);
    for (line, mailbox) in &log {
        print_mailbox(*line, mailbox, args.dry_run);
    }
    println!(
        "{}{republished} republished, {unchanged} unchanged, {failed} failed",
        if args.dry_run {
            "dry run, nothing written: "
        } else {
            ""
        },
    );
    if failed > 0 {
        return Err(Error::Partial(format!(
            "{} of {} lines of {} failed",
            failed,
            lines.len(),
            args.csv.display()
        )));
    }
    Ok(())
}
