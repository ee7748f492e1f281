//! Configuration: `schedplus.toml`, `SCHEDPLUS_*` variables and flags, resolved once.
//!
//! Owns the registry of settings ([`SETTINGS`]) and [`resolve`], which gives every setting
//! its value and where it came from, with the precedence flag > environment > file >
//! default. A setting is written once, as one row of [`SETTINGS`]: its key (the file key,
//! and the flag with `_` → `-`), its variable, its default, its help, what kind of value it
//! takes and where its flag goes; the clap flags (`args.rs`), `config show`, the help texts
//! and the docs' checks are all derived from that row. Values are kept as text until a
//! caller asks for a typed value ([`Resolved::get`]), so every source is parsed by the same
//! code and every error names the key and the place the bad value came from (the file line,
//! the variable, the flag). An unknown key in the file is an error naming it and its line.
//!
//! Must not know what the settings do; `cli` turns them into options.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// What a setting's value is: decides the flag's shape (a switch, a list of values, a
/// path to complete) and how the docs write its default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A whole number.
    Count,
    /// A whole number of bytes (the docs write 1 MiB for 1048576).
    Bytes,
    /// A length of time with its unit: `500ms`, `30s`, `5m`, `1h`.
    Duration,
    /// One of these words, in any case.
    Enum(&'static [&'static str]),
    /// A directory.
    Dir,
    /// A file.
    File,
    /// true or false; the flag is a switch that sets true.
    Bool,
    /// A moment (RFC 3339) or a time of day (HH:MM).
    Time,
    /// Any other text: an address, a zone name.
    Text,
}

/// Where a setting's flag goes: before the command (every command reads it) or under one
/// of `serve --help`'s headings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Global,
    Network,
    Store,
    Publishing,
    SignIn,
    Limits,
}

impl Group {
    /// The `serve` groups, in the order `serve --help` shows them.
    pub const SERVE: [Group; 5] = [
        Group::Network,
        Group::Store,
        Group::Publishing,
        Group::SignIn,
        Group::Limits,
    ];

    /// The heading in `serve --help`.
    pub fn heading(self) -> Option<&'static str> {
        match self {
            Group::Global => None,
            Group::Network => Some("Network"),
            Group::Store => Some("Store"),
            Group::Publishing => Some("Publishing"),
            Group::SignIn => Some("Sign-in"),
            Group::Limits => Some("Limits"),
        }
    }
}

/// One setting.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    /// The key in the file, and the flag with `_` → `-` ([`Setting::flag`]).
    pub key: &'static str,
    /// `SCHEDPLUS_` and the key in capitals (a unit test holds every row to that).
    pub env: &'static str,
    pub default: Option<&'static str>,
    /// One line, the comment of `config show` and the start of the flag's help. A key in
    /// braces (`{default_tz}`) is written as the key in `config show` and as the flag in
    /// `--help`.
    pub help: &'static str,
    /// More for the flag's help only, after `help` (starts with its own punctuation).
    pub more: &'static str,
    pub kind: Kind,
    pub group: Group,
    /// The placeholder of the flag's value in `--help` (`N`, `BYTES`, `DIR`).
    pub value_name: &'static str,
}

impl Setting {
    /// The fields most rows share; each row names what differs.
    const ROW: Setting = Setting {
        key: "",
        env: "",
        default: None,
        help: "",
        more: "",
        kind: Kind::Count,
        group: Group::Limits,
        value_name: "N",
    };
    const BYTES: Setting = Setting {
        kind: Kind::Bytes,
        value_name: "BYTES",
        ..Setting::ROW
    };
    const DURATION: Setting = Setting {
        kind: Kind::Duration,
        value_name: "DURATION",
        ..Setting::ROW
    };

    /// `--max-users` for `max_users`.
    pub fn flag(&self) -> String {
        format!("--{}", self.key.replace('_', "-"))
    }

    /// A password or a shared secret: `config show` and a running server's `server.json`
    /// hide its value, and no error repeats it.
    pub fn is_secret(&self) -> bool {
        self.key.ends_with("_password") || self.key.ends_with("_secret")
    }

    /// The setting of `key`.
    pub fn of(key: &str) -> Option<&'static Setting> {
        SETTINGS.iter().find(|s| s.key == key)
    }

    /// The comment `config show` prints: `help` with keys as keys.
    pub fn show_help(&self) -> String {
        spell_keys(self.help, |s| s.key.to_string())
    }

    /// `help` and `more` as a sentence, with keys as flags.
    pub fn short_help(&self) -> String {
        let mut text = spell_keys(&format!("{}{}", self.help, self.more), Setting::flag);
        if let Some(first) = text.get(..1) {
            text.replace_range(..1, &first.to_uppercase());
        }
        text
    }

    /// The flag's help in `--help`: [`Setting::short_help`], then the variable and the
    /// default.
    pub fn flag_help(&self) -> String {
        let mut text = self.short_help();
        text.push_str(&format!(" [env: {}", self.env));
        if let Some(d) = self.default {
            text.push_str(&format!("; default: {d}"));
        }
        text.push(']');
        text
    }
}

/// `text` with every `{key}` of a setting written by `spell`.
fn spell_keys(text: &str, spell: impl Fn(&Setting) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .find('}')
            .and_then(|close| Some((Setting::of(&after[..close])?, close)))
        {
            Some((s, close)) => {
                out.push_str(&spell(s));
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every setting, in the order `config show` prints them.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "data",
        env: "SCHEDPLUS_DATA",
        default: Some("./schedplus-data"),
        help: "data directory: the store and the running server's address file",
        kind: Kind::Dir,
        group: Group::Global,
        value_name: "DIR",
        ..Setting::ROW
    },
    Setting {
        key: "listen",
        env: "SCHEDPLUS_LISTEN",
        default: Some("127.0.0.1:8080"),
        help: "address the server listens on",
        more: ": IP:PORT, HOST:PORT (the host's first address) or a bare PORT (127.0.0.1:PORT); the CAS sends the free/busy query over plain HTTP",
        kind: Kind::Text,
        group: Group::Network,
        value_name: "ADDR",
    },
    Setting {
        key: "demo",
        env: "SCHEDPLUS_DEMO",
        default: Some("false"),
        help: "load the demo organisation at start",
        more: " (two organisations, a dozen users, free/busy around today)",
        kind: Kind::Bool,
        group: Group::Store,
        value_name: "",
    },
    Setting {
        key: "now",
        env: "SCHEDPLUS_NOW",
        help: "fixed \"now\" (RFC 3339) instead of the clock",
        more: ", e.g. 2026-03-08T09:00:00Z, for publish ranges and defaults, to reproduce month ends, year ends and DST changes",
        kind: Kind::Time,
        group: Group::Global,
        value_name: "TIME",
        ..Setting::ROW
    },
    Setting {
        key: "log_format",
        env: "SCHEDPLUS_LOG_FORMAT",
        default: Some("text"),
        help: "log lines as text or json",
        more: " (human-readable, or one JSON object per line); filter with RUST_LOG, e.g. RUST_LOG=schedplus=debug",
        kind: Kind::Enum(&["text", "json"]),
        group: Group::Global,
        value_name: "FORMAT",
    },
    Setting {
        key: "auth",
        env: "SCHEDPLUS_AUTH",
        default: Some("basic"),
        help: "who may write: basic (a directory user with a password) or none (anyone)",
        more: "; basic takes the HTTP Basic credentials of a directory user whose password was set with `schedplus directory passwd`, none suits a closed lab network",
        kind: Kind::Enum(&["none", "basic"]),
        group: Group::SignIn,
        value_name: "MODE",
    },
    Setting {
        key: "read",
        env: "SCHEDPLUS_READ",
        default: Some("anonymous"),
        help: "who may read: anonymous (a CAS asks without credentials) or authenticated",
        more: "; under anonymous the freebusy query, PROPFIND, GET and SEARCH answer without credentials, under authenticated they need them too",
        kind: Kind::Enum(&["anonymous", "authenticated"]),
        group: Group::SignIn,
        value_name: "MODE",
    },
    Setting {
        key: "permissions",
        env: "SCHEDPLUS_PERMISSIONS",
        default: Some("owner"),
        help: "who may write a user's free/busy and calendar: owner (the user or an admin) or legacy (Exchange 2003: any signed-in user)",
        more: "",
        kind: Kind::Enum(&["owner", "legacy"]),
        group: Group::SignIn,
        value_name: "MODE",
    },
    Setting {
        key: "metrics",
        env: "SCHEDPLUS_METRICS",
        default: Some("read"),
        help: "who may read /metrics: read (as {read} says) or anonymous (anyone, even under {read} authenticated)",
        more: ", for a scraper without credentials",
        kind: Kind::Enum(&["read", "anonymous"]),
        group: Group::SignIn,
        value_name: "MODE",
    },
    Setting {
        key: "max_users",
        env: "SCHEDPLUS_MAX_USERS",
        default: Some("1000"),
        help: "most `u=` users one freebusy query may name",
        ..Setting::ROW
    },
    Setting {
        key: "max_slots",
        env: "SCHEDPLUS_MAX_SLOTS",
        default: Some("100000"),
        help: "most slots per user one freebusy query may ask for",
        ..Setting::ROW
    },
    Setting {
        key: "max_digits",
        env: "SCHEDPLUS_MAX_DIGITS",
        default: Some("20000000"),
        help: "most digits one freebusy answer may hold, users × slots",
        ..Setting::ROW
    },
    Setting {
        key: "max_body",
        env: "SCHEDPLUS_MAX_BODY",
        default: Some("1048576"),
        help: "largest XML request body (PROPFIND, PROPPATCH, SEARCH), bytes",
        ..Setting::BYTES
    },
    Setting {
        key: "max_put_body",
        env: "SCHEDPLUS_MAX_PUT_BODY",
        default: Some("16777216"),
        help: "largest item body PUT into the public folders, bytes",
        ..Setting::BYTES
    },
    Setting {
        key: "max_calendar_bytes",
        env: "SCHEDPLUS_MAX_CALENDAR_BYTES",
        default: Some("4194304"),
        help: "largest iCalendar calendar accepted over HTTP or from {calendar_dir}, bytes",
        ..Setting::BYTES
    },
    Setting {
        key: "max_admin_body",
        env: "SCHEDPLUS_MAX_ADMIN_BODY",
        default: Some("67108864"),
        help: "largest admin API request (directory imports), bytes",
        ..Setting::BYTES
    },
    Setting {
        key: "max_xml_depth",
        env: "SCHEDPLUS_MAX_XML_DEPTH",
        default: Some("64"),
        help: "deepest element nesting in an XML request body",
        ..Setting::ROW
    },
    Setting {
        key: "max_xml_elements",
        env: "SCHEDPLUS_MAX_XML_ELEMENTS",
        default: Some("100000"),
        help: "most elements in an XML request body",
        ..Setting::ROW
    },
    Setting {
        key: "max_xml_attributes",
        env: "SCHEDPLUS_MAX_XML_ATTRIBUTES",
        default: Some("64"),
        help: "most attributes on one element of an XML request body",
        ..Setting::ROW
    },
    Setting {
        key: "max_instances",
        env: "SCHEDPLUS_MAX_INSTANCES",
        default: Some("100000"),
        help: "most calendar event instances in a publish window",
        ..Setting::ROW
    },
    Setting {
        key: "max_header_bytes",
        env: "SCHEDPLUS_MAX_HEADER_BYTES",
        default: Some("32768"),
        help: "largest request line and headers, bytes",
        ..Setting::BYTES
    },
    Setting {
        key: "max_headers",
        env: "SCHEDPLUS_MAX_HEADERS",
        default: Some("100"),
        help: "most header fields in one request",
        ..Setting::ROW
    },
    Setting {
        key: "max_connections",
        env: "SCHEDPLUS_MAX_CONNECTIONS",
        default: Some("512"),
        help: "connections served at once (then 503)",
        ..Setting::ROW
    },
    Setting {
        key: "header_timeout",
        env: "SCHEDPLUS_HEADER_TIMEOUT",
        default: Some("30s"),
        help: "time to send a request's headers, or to start the next one on a kept-alive connection",
        ..Setting::DURATION
    },
    Setting {
        key: "body_timeout",
        env: "SCHEDPLUS_BODY_TIMEOUT",
        default: Some("60s"),
        help: "time to send a request's body (then 408)",
        ..Setting::DURATION
    },
    Setting {
        key: "request_timeout",
        env: "SCHEDPLUS_REQUEST_TIMEOUT",
        default: Some("120s"),
        help: "time from a request's headers to its answer (then 503)",
        ..Setting::DURATION
    },
    Setting {
        key: "answer_buffer",
        env: "SCHEDPLUS_ANSWER_BUFFER",
        default: Some("67108864"),
        help: "bytes of streamed answers (freebusy, PROPFIND, folder pages) held for clients that have not read them yet, in all",
        ..Setting::BYTES
    },
    Setting {
        key: "send_timeout",
        env: "SCHEDPLUS_SEND_TIMEOUT",
        default: Some("60s"),
        help: "time a client may take nothing of its answer (then the connection is closed)",
        ..Setting::DURATION
    },
    Setting {
        key: "max_pending_heads",
        env: "SCHEDPLUS_MAX_PENDING_HEADS",
        default: Some("256"),
        help: "connections still sending their first request head, in all (then the longest-pending is closed)",
        ..Setting::ROW
    },
    Setting {
        key: "max_pending_heads_per_address",
        env: "SCHEDPLUS_MAX_PENDING_HEADS_PER_ADDRESS",
        default: Some("32"),
        help: "connections still sending their first request head from one client address (then a new one closes the address's oldest, if over 1 s old)",
        ..Setting::ROW
    },
    Setting {
        key: "cache_mb",
        env: "SCHEDPLUS_CACHE_MB",
        default: Some("16"),
        help: "page cache of the store (sled), MiB",
        more: ": the most store pages kept in memory. A PROPFIND of a large folder peaks at about the start-up memory plus 15 MB plus 1.2 times this; a larger cache keeps the first queries after a write fast on a store bigger than it (repeated queries are answered from the row cache, fb_cache_bytes)",
        group: Group::Store,
        value_name: "MIB",
        ..Setting::ROW
    },
    Setting {
        key: "calendar_dir",
        env: "SCHEDPLUS_CALENDAR_DIR",
        help: "directory of <alias or smtp>.ics calendars to watch",
        more: ": new, modified and deleted files are picked up at the next poll. With {demo}, defaults to <data dir>/calendars, filled with the demo calendars",
        kind: Kind::Dir,
        group: Group::Publishing,
        value_name: "DIR",
        ..Setting::ROW
    },
    Setting {
        key: "pid_file",
        env: "SCHEDPLUS_PID_FILE",
        help: "file the server writes its process id to once listening, removed at a clean stop",
        kind: Kind::File,
        group: Group::Network,
        value_name: "FILE",
        ..Setting::ROW
    },
    Setting {
        key: "poll_interval",
        env: "SCHEDPLUS_POLL_INTERVAL",
        default: Some("5s"),
        help: "how often the poller republishes changed users (500ms, 1s, 5m)",
        more: "; 5m behaves like Exchange's MadFB",
        group: Group::Publishing,
        ..Setting::DURATION
    },
    Setting {
        key: "publish",
        env: "SCHEDPLUS_PUBLISH",
        default: Some("interval"),
        help: "when changed calendars are published: interval (at the next poll, as MadFB) or on-change (at once, debounced)",
        more: "; on-change still runs the poll every poll_interval, and files of calendar_dir are seen at it",
        kind: Kind::Enum(&["interval", "on-change"]),
        group: Group::Publishing,
        value_name: "WHEN",
    },
    Setting {
        key: "publish_months",
        env: "SCHEDPLUS_PUBLISH_MONTHS",
        default: Some("2"),
        help: "months of free/busy to publish (1-36)",
        more: "; Outlook's default is 2",
        group: Group::Publishing,
        ..Setting::ROW
    },
    Setting {
        key: "publisher_style",
        env: "SCHEDPLUS_PUBLISHER_STYLE",
        default: Some("outlook"),
        help: "how free/busy is written: outlook (empty statuses unset), exchange (every month listed), gcc, zimbra or evolution",
        more: ", as Outlook, Exchange's own publisher, Google Calendar Connector, pre-2020 Zimbra and evolution-exchange write it (docs/behaviour.md)",
        kind: Kind::Enum(&["outlook", "exchange", "gcc", "zimbra", "evolution"]),
        group: Group::Publishing,
        value_name: "STYLE",
    },
    Setting {
        key: "cleanup_at",
        env: "SCHEDPLUS_CLEANUP_AT",
        default: Some("02:00"),
        help: "time of day, in the {default_tz} zone, of MadFB's duplicate cleanup",
        more: " (duplicates, non-canonical URLs)",
        kind: Kind::Time,
        group: Group::Publishing,
        value_name: "HH:MM",
    },
    Setting {
        key: "default_tz",
        env: "SCHEDPLUS_DEFAULT_TZ",
        default: Some("UTC"),
        help: "zone of floating and all-day calendar events",
        more: ", an IANA name",
        kind: Kind::Text,
        group: Group::Publishing,
        value_name: "ZONE",
    },
    Setting {
        key: "role",
        env: "SCHEDPLUS_ROLE",
        default: Some("both"),
        help: "what this process serves: the free/busy store and the EWS front end, the store, or the front end alone (an Exchange 2007 CAS)",
        more: "",
        kind: Kind::Enum(&["both", "store", "cas"]),
        group: Group::Network,
        value_name: "ROLE",
    },
    Setting {
        key: "cas_servers",
        env: "SCHEDPLUS_CAS_SERVERS",
        help: "the EWS front end's public-folder servers per admin group",
        more: ": EX:/o=Org/ou=AG=http://host:port/public[,…][;EX:…]; an admin group not listed is answered from this server's store",
        kind: Kind::Text,
        group: Group::Network,
        value_name: "LIST",
        ..Setting::ROW
    },
    Setting {
        key: "cas_order",
        env: "SCHEDPLUS_CAS_ORDER",
        default: Some("random"),
        help: "order the EWS front end tries an admin group's servers in",
        more: ": random on every request (as Exchange) or as listed",
        kind: Kind::Enum(&["random", "listed"]),
        group: Group::Network,
        value_name: "ORDER",
    },
    Setting {
        key: "cas_timeout",
        env: "SCHEDPLUS_CAS_TIMEOUT",
        default: Some("10s"),
        help: "time the EWS front end gives one public-folder server to answer (then event 4003 and the next)",
        ..Setting::DURATION
    },
    Setting {
        key: "cas_tries",
        env: "SCHEDPLUS_CAS_TRIES",
        default: Some("10"),
        help: "public-folder servers of one admin group the EWS front end tries before event 4004",
        ..Setting::ROW
    },
    Setting {
        key: "cas_service_user",
        env: "SCHEDPLUS_CAS_SERVICE_USER",
        help: "the user the EWS front end signs in as (HTTP Basic) at public-folder servers that refuse anonymous reads",
        more: "; with {cas_service_password}. Unset: its requests are anonymous",
        kind: Kind::Text,
        group: Group::Network,
        value_name: "USER",
        ..Setting::ROW
    },
    Setting {
        key: "cas_service_password",
        env: "SCHEDPLUS_CAS_SERVICE_PASSWORD",
        help: "the password of {cas_service_user}; never logged, hidden in `config show`",
        more: " (prefer the variable: a flag shows in the process list)",
        kind: Kind::Text,
        group: Group::Network,
        value_name: "PASSWORD",
        ..Setting::ROW
    },
    Setting {
        key: "server_name",
        env: "SCHEDPLUS_SERVER_NAME",
        help: "this server's name (FB01), shown by the browse pages, /metrics, the log and the 503 of a folder without a replica",
        more: "; not set: the host name in capitals, or SCHEDPLUS",
        kind: Kind::Text,
        group: Group::Network,
        value_name: "NAME",
        ..Setting::ROW
    },
    Setting {
        key: "organization",
        env: "SCHEDPLUS_ORGANIZATION",
        default: Some("First Organization"),
        help: "this server's Exchange organization",
        more: "",
        kind: Kind::Text,
        group: Group::Network,
        value_name: "NAME",
    },
    Setting {
        key: "replicas",
        env: "SCHEDPLUS_REPLICAS",
        help: "the admin-group folders this server holds replicas of; a request for another is answered 503",
        more: ": EX:/o=Org/ou=AG1;EX:/o=Org/ou=AG2; not set: every folder",
        kind: Kind::Text,
        group: Group::Network,
        value_name: "LIST",
        ..Setting::ROW
    },
    Setting {
        key: "replication_peers",
        env: "SCHEDPLUS_REPLICATION_PEERS",
        help: "servers of this organization to replicate with, every {replication_interval}",
        more: ": NAME=http://host:port[;…]; not set: no replication",
        kind: Kind::Text,
        group: Group::Network,
        value_name: "LIST",
        ..Setting::ROW
    },
    Setting {
        key: "replication_interval",
        env: "SCHEDPLUS_REPLICATION_INTERVAL",
        default: Some("15m"),
        help: "time between replication rounds with the peers (Exchange's default is 15 minutes)",
        group: Group::Network,
        ..Setting::DURATION
    },
    Setting {
        key: "replication_secret",
        env: "SCHEDPLUS_REPLICATION_SECRET",
        help: "the secret replication peers and Exchsync links share; without it /replication/ refuses everything and no peer is asked",
        more: " (never logged, hidden by config show)",
        kind: Kind::Text,
        group: Group::Network,
        value_name: "SECRET",
        ..Setting::ROW
    },
    Setting {
        key: "exchsync_links",
        env: "SCHEDPLUS_EXCHSYNC_LINKS",
        help: "one-way Exchsync links from this server to servers of other organizations, every {exchsync_interval}",
        more: ": NAME|http://host:port|FOLDERS[;…], FOLDERS * or EX:/o=Org/ou=AG[,…]",
        kind: Kind::Text,
        group: Group::Network,
        value_name: "LIST",
        ..Setting::ROW
    },
    Setting {
        key: "exchsync_interval",
        env: "SCHEDPLUS_EXCHSYNC_INTERVAL",
        default: Some("30m"),
        help: "time between Exchsync sessions of each link (the tool's default is 30 minutes)",
        group: Group::Network,
        ..Setting::DURATION
    },
    Setting {
        key: "exchsync_secret",
        env: "SCHEDPLUS_EXCHSYNC_SECRET",
        help: "the destinations' replication_secret, for the Exchsync links",
        more: "; not set: {replication_secret} (never logged, hidden by config show)",
        kind: Kind::Text,
        group: Group::Network,
        value_name: "SECRET",
        ..Setting::ROW
    },
    Setting {
        key: "faults",
        env: "SCHEDPLUS_FAULTS",
        help: "fault rules, ;-separated: answer some requests wrongly on purpose, for labs",
        more: ", e.g. \"503 path=/public/?Cmd=freebusy group=EX:/o=Org/ou=AG1 p=0.5; reset count=3 method=GET\": a fault (403, 503, 401, 500, delay=DURATION, hang, reset), then method=, path=, user=, group=, p= and count=; `schedplus fault add|list|clear` changes them while the server runs (docs/topologies.md)",
        kind: Kind::Text,
        group: Group::Network,
        value_name: "RULES",
        ..Setting::ROW
    },
    Setting {
        key: "fault_seed",
        env: "SCHEDPLUS_FAULT_SEED",
        default: Some("0"),
        help: "seed of the fault rules' p= draws: the same seed and requests fire the same faults",
        more: "; change it for another sequence of draws",
        group: Group::Network,
        ..Setting::ROW
    },
    Setting {
        key: "fb_cache_bytes",
        env: "SCHEDPLUS_FB_CACHE_BYTES",
        default: Some("33554432"),
        help: "memory for the freebusy query's rows (user, window, interval), bytes; 0: none",
        more: ": a row is used until the next write to the store, so a change is in the very next answer",
        group: Group::Store,
        ..Setting::BYTES
    },
];

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env(&'static str),
    File { path: PathBuf, line: usize },
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => f.write_str("flag"),
            Source::Env(v) => write!(f, "environment {v}"),
            Source::File { path, line } => write!(f, "{} line {line}", path.display()),
            Source::Default => f.write_str("default"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{path} line {line}: unknown key '{key}' (known keys: {known})")]
    UnknownKey {
        path: PathBuf,
        line: usize,
        key: String,
        known: String,
    },
    #[error("{path}: {reason}")]
    Syntax { path: PathBuf, reason: String },
    #[error("{path} line {line}: '{key}' must be a string, number or boolean")]
    NotScalar {
        path: PathBuf,
        line: usize,
        key: String,
    },
    #[error("{key} = '{value}' (from {}): {reason}", origin_text(key, origin))]
    BadValue {
        key: String,
        value: String,
        origin: Source,
        reason: String,
    },
    #[error("cannot read the configuration file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
}

/// Where a bad value came from, in the words the user typed: a flag is named as such.
fn origin_text(key: &str, origin: &Source) -> String {
    match origin {
        Source::Flag => format!("the --{} flag", key.replace('_', "-")),
        other => other.to_string(),
    }
}

/// Every setting's value (or none) and its source.
#[derive(Clone, Debug)]
pub struct Resolved {
    values: BTreeMap<&'static str, (Option<String>, Source)>,
}

impl Resolved {
    /// The value of `key` parsed as `T`; `None` when the setting has no value.
    pub fn get<T: FromStr>(&self, key: &str) -> Result<Option<T>, ConfigError>
    where
        T::Err: fmt::Display,
    {
        self.get_with(key, |s| s.parse::<T>().map_err(|e| e.to_string()))
    }

    /// The value of `key` through a parser of one's own.
    pub fn get_with<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        let (value, source) = self
            .values
            .get(key)
            .unwrap_or_else(|| panic!("setting '{key}' is not in SETTINGS"));
        match value {
            None => Ok(None),
            Some(v) => parse(v).map(Some).map_err(|reason| ConfigError::BadValue {
                key: key.to_string(),
                value: v.clone(),
                origin: source.clone(),
                reason,
            }),
        }
    }

    /// A boolean setting: true/false, yes/no, on/off, 1/0.
    pub fn flag(&self, key: &str) -> Result<bool, ConfigError> {
        self.get_with(key, |s| match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" => Ok(false),
            _ => Err("write true or false".into()),
        })
        .map(|v| v.unwrap_or(false))
    }

    pub fn source(&self, key: &str) -> Option<&Source> {
        self.values.get(key).map(|(_, s)| s)
    }

    /// Every setting in [`SETTINGS`] order: its value (none if unset) and its source.
    pub fn rows(&self) -> impl Iterator<Item = (&'static Setting, Option<&str>, &Source)> {
        SETTINGS.iter().map(|s| {
            let (value, source) = &self.values[s.key];
            (s, value.as_deref(), source)
        })
    }

    /// `config show`: one `key = value  # source` line per setting.
    pub fn render(&self) -> String {
        render_rows(self.rows().map(|(s, v, src)| (s, v, src.to_string())))
    }
}

/// `key = value  # source; help` per row (`# key is not set` for a value of none): the
/// text of `config show`, for settings resolved here or announced by a running server.
pub fn render_rows<'a>(
    rows: impl IntoIterator<Item = (&'a Setting, Option<&'a str>, String)>,
) -> String {
    let mut out = String::new();
    for (s, value, source) in rows {
        let shown = match value {
            Some(_) if s.is_secret() => format!("{} = {}", s.key, toml_quote(HIDDEN)),
            Some(v) => format!("{} = {}", s.key, toml_quote(v)),
            None => format!("# {} is not set", s.key),
        };
        out.push_str(&format!("{shown:<48} # {source}; {}\n", s.show_help()));
    }
    out
}

/// What `config show` writes for a secret's value.
pub const HIDDEN: &str = "(hidden)";

fn toml_quote(v: &str) -> String {
    if v.parse::<i64>().is_ok() || v == "true" || v == "false" {
        v.to_string()
    } else {
        format!("{:?}", v)
    }
}

/// Resolve every setting. `flags` holds the values given on the command line (by key);
/// `env` looks up a variable; `file` is the configuration file's path and text, if any.
pub fn resolve(
    flags: &BTreeMap<&'static str, String>,
    env: impl Fn(&str) -> Option<String>,
    file: Option<(&Path, &str)>,
) -> Result<Resolved, ConfigError> {
    let from_file = match file {
        Some((path, text)) => parse_file(path, text)?,
        None => BTreeMap::new(),
    };
    let mut values = BTreeMap::new();
    for s in SETTINGS {
        let chosen = if let Some(v) = flags.get(s.key) {
            (Some(v.clone()), Source::Flag)
        } else if let Some(v) = env(s.env).filter(|v| !v.is_empty()) {
            (Some(v), Source::Env(s.env))
        } else if let Some((v, src)) = from_file.get(s.key) {
            (Some(v.clone()), src.clone())
        } else {
            (s.default.map(str::to_string), Source::Default)
        };
        values.insert(s.key, chosen);
    }
    Ok(Resolved { values })
}

/// Read the file's keys: a flat table of scalars.
fn parse_file(path: &Path, text: &str) -> Result<BTreeMap<String, (String, Source)>, ConfigError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        reason: e.to_string().trim().replace('\n', " "),
    })?;
    let mut out = BTreeMap::new();
    for (key, value) in table {
        let line = line_of(text, &key);
        if !SETTINGS.iter().any(|s| s.key == key) {
            return Err(ConfigError::UnknownKey {
                path: path.to_path_buf(),
                line,
                key,
                known: SETTINGS
                    .iter()
                    .map(|s| s.key)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let text_value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Float(f) => f.to_string(),
            _ => {
                return Err(ConfigError::NotScalar {
                    path: path.to_path_buf(),
                    line,
                    key,
                });
            }
        };
        out.insert(
            key,
            (
                text_value,
                Source::File {
                    path: path.to_path_buf(),
                    line,
                },
            ),
        );
    }
    Ok(out)
}

/// The 1-based line where `key = …` is written (0 if it cannot be found, e.g. quoted keys).
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(0, |i| i + 1)
}

/// The configuration file to read: `--config`, else `SCHEDPLUS_CONFIG`, else none.
pub fn load_file(path: Option<&Path>) -> Result<Option<(PathBuf, String)>, ConfigError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(Some((path.to_path_buf(), text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    /// Settings from a file `s.toml` holding `text` alone (no flags, no environment).
    fn from_file(text: &str) -> Result<Resolved, ConfigError> {
        resolve(
            &BTreeMap::new(),
            |_| None,
            Some((Path::new("s.toml"), text)),
        )
    }

    const FILE: &str = "# lab settings\nlisten = \"0.0.0.0:80\"\nmax_users = 50\ndemo = true\npoll_interval = \"1s\"\n";

    #[test]
    fn precedence_flag_env_file_default() {
        let path = Path::new("/etc/schedplus.toml");
        let mut flags = BTreeMap::new();
        flags.insert("max_users", "7".to_string());
        let env = env_of(&[
            ("SCHEDPLUS_LISTEN", "127.0.0.1:9000"),
            ("SCHEDPLUS_MAX_USERS", "9"),
        ]);
        let r = resolve(&flags, env, Some((path, FILE))).unwrap();
        assert_eq!(r.get::<usize>("max_users").unwrap(), Some(7));
        assert_eq!(r.source("max_users"), Some(&Source::Flag));
        assert_eq!(
            r.get::<String>("listen").unwrap().as_deref(),
            Some("127.0.0.1:9000")
        );
        assert_eq!(r.source("listen"), Some(&Source::Env("SCHEDPLUS_LISTEN")));
        assert!(r.flag("demo").unwrap());
        assert_eq!(
            r.source("demo"),
            Some(&Source::File {
                path: path.into(),
                line: 4
            })
        );
        assert_eq!(r.get::<usize>("max_slots").unwrap(), Some(100_000));
        assert_eq!(r.source("max_slots"), Some(&Source::Default));
        assert_eq!(r.get::<String>("now").unwrap(), None);
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let e = from_file("listen = \"x\"\n\nmax_user = 3\n").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("s.toml line 3: unknown key 'max_user'"),
            "{msg}"
        );
        assert!(msg.contains("max_users"), "lists the known keys: {msg}");
    }

    #[test]
    fn bad_values_name_key_value_and_source() {
        let r = from_file("max_users = \"lots\"\n").unwrap();
        let e = r.get::<usize>("max_users").unwrap_err().to_string();
        assert!(
            e.starts_with("max_users = 'lots' (from s.toml line 1):"),
            "{e}"
        );
        let r = resolve(
            &BTreeMap::new(),
            env_of(&[("SCHEDPLUS_DEMO", "maybe")]),
            None,
        )
        .unwrap();
        let e = r.flag("demo").unwrap_err().to_string();
        assert!(e.contains("from environment SCHEDPLUS_DEMO"), "{e}");
    }

    #[test]
    fn syntax_and_shape_errors() {
        let e = from_file("listen = \n").unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { .. }), "{e}");
        assert!(e.to_string().contains("line 1"), "{e}");
        let e = from_file("\nlisten = [1]\n").unwrap_err();
        assert!(e.to_string().contains("s.toml line 2: 'listen'"), "{e}");
    }

    #[test]
    fn render_shows_every_setting_with_its_source() {
        let r = from_file(FILE).unwrap();
        let text = r.render();
        assert_eq!(text.lines().count(), SETTINGS.len());
        assert!(text.contains("listen = \"0.0.0.0:80\""), "{text}");
        assert!(text.contains("# s.toml line 2"), "{text}");
        assert!(text.contains("max_users = 50"), "{text}");
        assert!(text.contains("# now is not set"), "{text}");
    }

    /// Issue 14: the replication secrets are read like any setting but never shown.
    #[test]
    fn secrets_are_hidden_by_config_show() {
        let r = resolve(
            &BTreeMap::new(),
            env_of(&[
                ("SCHEDPLUS_REPLICATION_SECRET", "hunter2"),
                ("SCHEDPLUS_EXCHSYNC_SECRET", "hunter3"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(
            r.get::<String>("replication_secret").unwrap().as_deref(),
            Some("hunter2")
        );
        let text = r.render();
        assert!(!text.contains("hunter"), "{text}");
        assert!(text.contains("replication_secret = \"(hidden)\""), "{text}");
        assert!(text.contains("exchsync_secret = \"(hidden)\""), "{text}");
    }

    #[test]
    fn render_hides_a_password_whatever_its_source() {
        let flags = [("cas_service_password", "hunter2-x".to_string())]
            .into_iter()
            .collect();
        let r = resolve(&flags, |_| None, None).unwrap();
        let text = r.render();
        assert!(!text.contains("hunter2-x"), "{text}");
        assert!(
            text.contains("cas_service_password = \"(hidden)\""),
            "{text}"
        );
        assert!(Setting::of("cas_service_password").unwrap().is_secret());
        assert!(!Setting::of("cas_service_user").unwrap().is_secret());
    }

    #[test]
    fn every_row_is_consistent() {
        let mut keys = std::collections::BTreeSet::new();
        for s in SETTINGS {
            assert!(keys.insert(s.key), "{} twice", s.key);
            assert_eq!(
                s.env,
                format!("SCHEDPLUS_{}", s.key.to_uppercase()),
                "the variable of {}",
                s.key
            );
            assert!(!s.help.is_empty(), "{} has no help", s.key);
            for text in [s.help, s.more] {
                let spelt = spell_keys(text, |_| String::new());
                assert!(
                    !spelt.contains('{'),
                    "{}: a {{key}} that names no setting in '{text}'",
                    s.key
                );
            }
            match s.kind {
                Kind::Enum(values) => assert!(
                    s.default.is_none_or(|d| values.contains(&d)),
                    "the default of {} is not one of {values:?}",
                    s.key
                ),
                Kind::Bool => assert_eq!(s.default, Some("false"), "{}", s.key),
                Kind::Count | Kind::Bytes => assert!(
                    s.default.is_none_or(|d| d.parse::<u64>().is_ok()),
                    "{}",
                    s.key
                ),
                _ => {}
            }
            assert_eq!(
                s.value_name.is_empty(),
                s.kind == Kind::Bool,
                "{}: a switch has no value, every other flag names its value",
                s.key
            );
        }
    }

    #[test]
    fn keys_in_braces_are_spelt_as_keys_or_as_flags() {
        let s = Setting::of("cleanup_at").unwrap();
        assert!(s.show_help().contains("in the default_tz zone"));
        assert!(
            s.flag_help()
                .starts_with("Time of day, in the --default-tz zone")
        );
        assert!(
            s.flag_help()
                .ends_with("[env: SCHEDPLUS_CLEANUP_AT; default: 02:00]")
        );
        assert_eq!(spell_keys("{x} {data}", Setting::flag), "{x} --data");
    }

    #[test]
    fn fixture_documents_every_key() {
        let text = include_str!("../../fixtures/schedplus.toml");
        let r = resolve(
            &BTreeMap::new(),
            |_| None,
            Some((Path::new("fixtures/schedplus.toml"), text)),
        )
        .expect("the documented configuration is valid");
        for s in SETTINGS {
            assert!(
                text.contains(&format!("\n# {} ", s.key))
                    || text.contains(&format!("\n{} =", s.key)),
                "fixtures/schedplus.toml does not document '{}'",
                s.key
            );
            let _ = r.source(s.key);
            // A commented-out line shows the default: the one in the table.
            if let Some(d) = s.default {
                let line = format!("\n# {} = {}\n", s.key, toml_quote(d));
                assert!(
                    text.contains(&line),
                    "fixtures/schedplus.toml: write '{}' (the default of {})",
                    line.trim(),
                    s.key
                );
            }
        }
    }
}
