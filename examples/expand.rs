//! Expand one iCalendar file to free/busy JSON, for the differential oracle
//! (`scripts/oracle.py`) and for people checking a calendar by hand.
//!
//! ```text
//! cargo run -q --release --example expand -- FILE START END [DEFAULT_TZ]
//! ```
//!
//! START and END are RFC 3339 times (the window, end exclusive); DEFAULT_TZ is the IANA or
//! Windows zone of floating and all-day events (UTC if omitted). Prints
//! `{"tentative": [[start, end], ...], "busy": [...], "oof": [...]}` with merged intervals
//! in UTC, or a one-line error on stderr and exit status 1.

use std::process::ExitCode;

use schedplus::calendar::{ExpandOptions, parse};
use schedplus::protocol::freebusy::{FreeBusy, Interval, IntervalSet};
use schedplus::protocol::time::{Minutes1601, format_rfc3339, parse_time};

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("expand: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<String, String> {
    let [file, start, end, rest @ ..] = args.as_slice() else {
        return Err("usage: expand FILE START END [DEFAULT_TZ]".into());
    };
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let at = |s: &str| {
        parse_time(s)
            .map(Minutes1601::from_timestamp)
            .map_err(|e| e.to_string())
    };
    let window = Interval::new(at(start)?, at(end)?).ok_or("END must be after START")?;
    let mut opts = ExpandOptions::default();
    if let Some(tz) = rest.first() {
        opts.default_tz = jiff::tz::TimeZone::get(tz).map_err(|e| format!("{tz}: {e}"))?;
    }
    let cal = parse(&text).map_err(|e| format!("{file}: {e}"))?;
    let fb = cal
        .expand(window, &opts)
        .map_err(|e| format!("{file}: {e}"))?;
    Ok(to_json(&fb))
}

fn to_json(fb: &FreeBusy) -> String {
    let list = |set: &IntervalSet| -> serde_json::Value {
        set.iter()
            .map(|iv| {
                serde_json::json!([
                    format_rfc3339(iv.start().to_timestamp()),
                    format_rfc3339(iv.end().to_timestamp())
                ])
            })
            .collect()
    };
    serde_json::json!({
        "tentative": list(&fb.tentative),
        "busy": list(&fb.busy),
        "oof": list(&fb.oof),
    })
    .to_string()
}
