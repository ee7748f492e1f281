//! Labs (issue 14 items 4–6): a whole topology of schedplus servers on loopback from one
//! `lab.toml` (`lab up`, `lab status`, `lab down`), its free/busy latency measured against
//! Exchange's formulas (`lab latency`), and the fault rules of its servers (`fault
//! add|list|clear`).
//!
//! `spec.rs` reads `lab.toml` (serde; errors name the file, line and key), `up.rs` writes
//! one `schedplus.toml` and data directory per server, starts each as a child `schedplus
//! serve` and keeps the lab's state file (`lab.json`), `latency.rs` measures. Every server
//! is an ordinary `serve` process; the lab only writes their settings.

mod latency;
mod spec;
mod up;

use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::app::Error;
use crate::app::ops::{self, FaultReport};
use crate::cli::client::Admin;

pub use spec::LabSpec;
pub use up::{LabServer, LabState, STATE_FILE};

/// `schedplus fault …`.
#[derive(Subcommand, Debug)]
pub enum FaultCommand {
    /// Add fault rules to a running server: `503 group=EX:/o=Org/ou=AG1 p=0.5`,
    /// `reset count=3 method=GET`, `delay=250ms path=/public/?Cmd=freebusy`, … (the grammar
    /// of the `faults` setting; all of them or none).
    Add {
        /// Rules, one per argument (quote each).
        #[arg(required = true, value_name = "RULE")]
        rules: Vec<String>,
        #[command(flatten)]
        server: ServerArg,
    },
    /// List a running server's fault rules, with what each matched and fired.
    List {
        #[command(flatten)]
        server: ServerArg,
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Remove a running server's fault rules: all, or the one numbered N.
    Clear {
        /// The rule's number, as `fault list` shows it.
        #[arg(long, value_name = "N")]
        rule: Option<u32>,
        #[command(flatten)]
        server: ServerArg,
    },
}

/// Which server a fault command talks to.
#[derive(clap::Args, Debug, Clone)]
pub struct ServerArg {
    /// A lab server's name (from the lab's state file) or its URL, http://127.0.0.1:PORT;
    /// without it, the server holding --data.
    #[arg(long, value_name = "NAME|URL")]
    pub server: Option<String>,
    #[command(flatten)]
    pub lab: LabDir,
    /// The admin token of a server given by URL that is not in a lab (its server.json).
    #[arg(long, env = "SCHEDPLUS_TOKEN")]
    pub token: Option<String>,
}

/// Which lab: `--lab DIR`, or the one `lab-*` directory here.
#[derive(clap::Args, Debug, Clone)]
pub struct LabDir {
    /// The lab directory (`lab up --dir`); without it, the one `lab-*` directory here.
    #[arg(long = "lab", value_name = "DIR", env = "SCHEDPLUS_LAB")]
    pub dir: Option<PathBuf>,
}

/// `schedplus lab …`.
#[derive(Subcommand, Debug)]
pub enum LabCommand {
    /// Start every server of LAB_TOML on loopback, print their URLs, and wait; Ctrl-C (or
    /// `lab down` from another terminal) stops them all.
    Up {
        lab_toml: PathBuf,
        /// The lab directory (a data directory, a schedplus.toml and a log per server);
        /// default ./lab-NAME.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Show a running lab's servers and whether each answers /healthz.
    Status {
        #[command(flatten)]
        lab: LabDir,
    },
    /// Stop a running lab (its servers and the `lab up` that started them).
    Down {
        #[command(flatten)]
        lab: LabDir,
    },
    /// Change a user's calendar on its home server and measure when every server's
    /// ?Cmd=freebusy answer shows it, beside the formula's bound (P, P + R, P + nR + mF);
    /// exits 1 when a measured maximum exceeds its bound. Starts the lab unless it runs.
    Latency {
        lab_toml: PathBuf,
        /// Changes measured.
        #[arg(long, value_name = "N", default_value_t = 10)]
        samples: usize,
        /// Added to each bound for the measuring itself (probe period, a publish round).
        #[arg(long, value_name = "DURATION", default_value = "500ms")]
        slack: String,
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

pub fn fault(cmd: FaultCommand, data: &Path, clock: crate::app::Clock) -> Result<(), Error> {
    let (server, report, json) = match cmd {
        FaultCommand::Add { rules, server } => {
            let report = connect(&server, data, clock)?.run(ops::FaultAddRequest { rules })?;
            (server, report, false)
        }
        FaultCommand::List { server, json } => {
            let report = connect(&server, data, clock)?.run(ops::FaultList)?;
            (server, report, json)
        }
        FaultCommand::Clear { rule, server } => {
            let report = connect(&server, data, clock)?.run(ops::FaultClearRequest { rule })?;
            (server, report, false)
        }
    };
    match json {
        true => println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("reports serialise")
        ),
        false => print_faults(server.server.as_deref(), &report),
    }
    Ok(())
}

fn print_faults(server: Option<&str>, report: &FaultReport) {
    let name = server.unwrap_or("the server");
    if report.rules.is_empty() {
        println!("{name}: no fault rules (seed {})", report.seed);
        return;
    }
    println!(
        "{name}: {} fault rule{} (seed {})",
        report.rules.len(),
        if report.rules.len() == 1 { "" } else { "s" },
        report.seed
    );
    for r in &report.rules {
        println!(
            "  rule {:<3} {:<60} matched {:>6}  fired {:>6}",
            r.id, r.rule, r.matched, r.fired
        );
    }
}

/// The admin API of the server `--server` names: a lab server by name or URL, a URL with
/// `--token`, or (without `--server`) the server holding `data`.
fn connect(arg: &ServerArg, data: &Path, clock: crate::app::Clock) -> Result<Admin, Error> {
    let Some(server) = &arg.server else {
        return Admin::connect(data, clock);
    };
    let url = server.starts_with("http://") || server.starts_with("https://");
    if url && let Some(token) = &arg.token {
        return Ok(Admin::remote(server.trim_end_matches('/'), token));
    }
    let lab = LabState::find(arg.lab.dir.as_deref())?;
    let found = lab.servers.iter().find(|s| {
        if url {
            s.url.trim_end_matches('/') == server.trim_end_matches('/')
        } else {
            s.name.eq_ignore_ascii_case(server)
        }
    });
    match found {
        Some(s) => Admin::connect(&s.data_dir, clock),
        None => Err(Error::NotFound(format!(
            "the lab '{}' has no server {server} (its servers: {}){}",
            lab.name,
            lab.servers
                .iter()
                .map(|s| format!("{} {}", s.name, s.url))
                .collect::<Vec<_>>()
                .join(", "),
            if url {
                "; for a server outside the lab give --token (from its server.json)"
            } else {
                ""
            }
        ))),
    }
}

pub fn lab(cmd: LabCommand) -> Result<(), Error> {
    match cmd {
        LabCommand::Up { lab_toml, dir } => up::up(&lab_toml, dir),
        LabCommand::Status { lab } => up::status(&LabState::find(lab.dir.as_deref())?),
        LabCommand::Down { lab } => up::down(&LabState::find(lab.dir.as_deref())?),
        LabCommand::Latency {
            lab_toml,
            samples,
            slack,
            dir,
        } => {
            let slack = crate::app::poller::parse_interval(&slack)
                .map_err(|e| Error::BadInput(format!("--slack {slack}: {e}")))?;
            latency::latency(&lab_toml, dir, samples, slack)
        }
    }
}
