//! Configuration: `schedplus.toml`, `SCHEDPLUS_*` variables and flags, resolved once.
//!
//! Owns the registry of settings ([`SETTINGS`]: key, environment variable, default, help)
//! and [`resolve`], which gives every setting its value and where it came from, with the
//! precedence flag > environment > file > default. Values are kept as text until a caller
//! asks for a typed value ([`Resolved::get`]), so every source is parsed by the same code
//! and every error names the key and the place the bad value came from (the file line, the
//! variable, the flag). An unknown key in the file is an error naming it and its line.
//!
//! Must not know what the settings do; `cli` turns them into options.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// One setting.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    /// The key in the file, and the flag with `_` → `-`.
    pub key: &'static str,
    pub env: &'static str,
    pub default: Option<&'static str>,
    pub help: &'static str,
}

/// Every setting, in the order `config show` prints them.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "data",
        env: "SCHEDPLUS_DATA",
        default: Some("./schedplus-data"),
        help: "data directory: the store and the running server's address file",
    },
    Setting {
        key: "listen",
        env: "SCHEDPLUS_LISTEN",
        default: Some("127.0.0.1:8080"),
        help: "address the server listens on",
    },
    Setting {
        key: "demo",
        env: "SCHEDPLUS_DEMO",
        default: Some("false"),
        help: "load the demo organisation at start",
    },
    Setting {
        key: "now",
        env: "SCHEDPLUS_NOW",
        default: None,
        help: "fixed \"now\" (RFC 3339) instead of the clock",
    },
    Setting {
        key: "log_format",
        env: "SCHEDPLUS_LOG_FORMAT",
        default: Some("text"),
        help: "text or json",
    },
    Setting {
        key: "auth",
        env: "SCHEDPLUS_AUTH",
        default: Some("basic"),
        help: "none (anyone may write) or basic (writes need a directory user's password)",
    },
    Setting {
        key: "read",
        env: "SCHEDPLUS_READ",
        default: Some("anonymous"),
        help: "anonymous (a CAS asks without credentials) or authenticated",
    },
    Setting {
        key: "permissions",
        env: "SCHEDPLUS_PERMISSIONS",
        default: Some("owner"),
        help: "owner (free/busy is written by its owner or an admin) or legacy (Exchange 2003: any signed-in user)",
    },
    Setting {
        key: "metrics",
        env: "SCHEDPLUS_METRICS",
        default: Some("read"),
        help: "who may read /metrics: read (as --read says) or anonymous (anyone, even under --read authenticated)",
    },
    Setting {
        key: "max_users",
        env: "SCHEDPLUS_MAX_USERS",
        default: Some("1000"),
        help: "most `u=` users one freebusy query may name",
    },
    Setting {
        key: "max_slots",
        env: "SCHEDPLUS_MAX_SLOTS",
        default: Some("100000"),
        help: "most slots per user one freebusy query may ask for",
    },
    Setting {
        key: "max_digits",
        env: "SCHEDPLUS_MAX_DIGITS",
        default: Some("20000000"),
        help: "most digits one freebusy answer may hold, users × slots",
    },
    Setting {
        key: "max_body",
        env: "SCHEDPLUS_MAX_BODY",
        default: Some("1048576"),
        help: "largest XML request body (PROPFIND, PROPPATCH, SEARCH), bytes",
    },
    Setting {
        key: "max_put_body",
        env: "SCHEDPLUS_MAX_PUT_BODY",
        default: Some("16777216"),
        help: "largest item body PUT into the public folders, bytes",
    },
    Setting {
        key: "max_calendar_bytes",
        env: "SCHEDPLUS_MAX_CALENDAR_BYTES",
        default: Some("4194304"),
        help: "largest iCalendar calendar accepted over HTTP or from --calendar-dir, bytes",
    },
    Setting {
        key: "max_admin_body",
        env: "SCHEDPLUS_MAX_ADMIN_BODY",
        default: Some("67108864"),
        help: "largest admin API request (directory imports), bytes",
    },
    Setting {
        key: "max_xml_depth",
        env: "SCHEDPLUS_MAX_XML_DEPTH",
        default: Some("64"),
        help: "deepest element nesting in an XML request body",
    },
    Setting {
        key: "max_xml_elements",
        env: "SCHEDPLUS_MAX_XML_ELEMENTS",
        default: Some("100000"),
        help: "most elements in an XML request body",
    },
    Setting {
        key: "max_xml_attributes",
        env: "SCHEDPLUS_MAX_XML_ATTRIBUTES",
        default: Some("64"),
        help: "most attributes on one element of an XML request body",
    },
    Setting {
        key: "max_instances",
        env: "SCHEDPLUS_MAX_INSTANCES",
        default: Some("100000"),
        help: "most calendar event instances in a publish window",
    },
    Setting {
        key: "max_header_bytes",
        env: "SCHEDPLUS_MAX_HEADER_BYTES",
        default: Some("32768"),
        help: "largest request line and headers, bytes",
    },
    Setting {
        key: "max_headers",
        env: "SCHEDPLUS_MAX_HEADERS",
        default: Some("100"),
        help: "most header fields in one request",
    },
    Setting {
        key: "max_connections",
        env: "SCHEDPLUS_MAX_CONNECTIONS",
        default: Some("512"),
        help: "connections served at once (then 503)",
    },
    Setting {
        key: "header_timeout",
        env: "SCHEDPLUS_HEADER_TIMEOUT",
        default: Some("30s"),
        help: "time to send a request's headers, or to start the next one on a kept-alive connection",
    },
    Setting {
        key: "body_timeout",
        env: "SCHEDPLUS_BODY_TIMEOUT",
        default: Some("60s"),
        help: "time to send a request's body (then 408)",
    },
    Setting {
        key: "request_timeout",
        env: "SCHEDPLUS_REQUEST_TIMEOUT",
        default: Some("120s"),
        help: "time from a request's headers to its answer (then 503)",
    },
    Setting {
        key: "answer_buffer",
        env: "SCHEDPLUS_ANSWER_BUFFER",
        default: Some("67108864"),
        help: "bytes of streamed answers (freebusy, PROPFIND, folder pages) held for clients that have not read them yet, in all",
    },
    Setting {
        key: "send_timeout",
        env: "SCHEDPLUS_SEND_TIMEOUT",
        default: Some("60s"),
        help: "time a client may take nothing of its answer (then the connection is closed)",
    },
    Setting {
        key: "max_pending_heads",
        env: "SCHEDPLUS_MAX_PENDING_HEADS",
        default: Some("256"),
        help: "connections still sending their first request head, in all (then the longest-pending is closed)",
    },
    Setting {
        key: "max_pending_heads_per_address",
        env: "SCHEDPLUS_MAX_PENDING_HEADS_PER_ADDRESS",
        default: Some("32"),
        help: "connections still sending their first request head from one client address (then a new one closes the address's oldest, if over 1 s old)",
    },
    Setting {
        key: "cache_mb",
        env: "SCHEDPLUS_CACHE_MB",
        default: Some("64"),
        help: "sled page cache, MiB",
    },
    Setting {
        key: "calendar_dir",
        env: "SCHEDPLUS_CALENDAR_DIR",
        default: None,
        help: "directory of <alias or smtp>.ics calendars to watch",
    },
    Setting {
        key: "pid_file",
        env: "SCHEDPLUS_PID_FILE",
        default: None,
        help: "file the server writes its process id to once listening, removed at a clean stop",
    },
    Setting {
        key: "poll_interval",
        env: "SCHEDPLUS_POLL_INTERVAL",
        default: Some("5s"),
        help: "how often the poller republishes changed users (500ms, 1s, 5m)",
    },
    Setting {
        key: "publish_months",
        env: "SCHEDPLUS_PUBLISH_MONTHS",
        default: Some("2"),
        help: "months of free/busy to publish (1-36)",
    },
    Setting {
        key: "publisher_style",
        env: "SCHEDPLUS_PUBLISHER_STYLE",
        default: Some("outlook"),
        help: "outlook (empty statuses unset) or exchange (every month listed)",
    },
    Setting {
        key: "cleanup_at",
        env: "SCHEDPLUS_CLEANUP_AT",
        default: Some("02:00"),
        help: "time of day, in the default_tz zone, of MadFB's duplicate cleanup",
    },
    Setting {
        key: "default_tz",
        env: "SCHEDPLUS_DEFAULT_TZ",
        default: Some("UTC"),
        help: "zone of floating and all-day calendar events",
    },
    Setting {
        key: "role",
        env: "SCHEDPLUS_ROLE",
        default: Some("both"),
        help: "what this process serves: both (the free/busy store and the EWS front end), store, or cas (the EWS front end alone)",
    },
    Setting {
        key: "cas_servers",
        env: "SCHEDPLUS_CAS_SERVERS",
        default: None,
        help: "the EWS front end's public-folder servers per admin group: EX:/o=Org/ou=AG=http://host:port/public[,…][;EX:…]; groups not listed are answered from this server's store",
    },
    Setting {
        key: "cas_timeout",
        env: "SCHEDPLUS_CAS_TIMEOUT",
        default: Some("10s"),
        help: "time the EWS front end gives one public-folder server to answer (then event 4003 and the next)",
    },
    Setting {
        key: "cas_tries",
        env: "SCHEDPLUS_CAS_TRIES",
        default: Some("10"),
        help: "public-folder servers of one admin group the EWS front end tries before event 4004",
    },
    Setting {
        key: "cas_order",
        env: "SCHEDPLUS_CAS_ORDER",
        default: Some("random"),
        help: "order the EWS front end tries an admin group's servers in: random (as Exchange) or listed",
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

    /// `config show`: one `key = value  # source` line per setting.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for s in SETTINGS {
            let (value, source) = &self.values[s.key];
            let shown = match value {
                Some(v) => format!("{} = {}", s.key, toml_quote(v)),
                None => format!("# {} is not set", s.key),
            };
            out.push_str(&format!("{shown:<48} # {source}; {}\n", s.help));
        }
        out
    }
}

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
        let e = resolve(
            &BTreeMap::new(),
            |_| None,
            Some((Path::new("s.toml"), "listen = \"x\"\n\nmax_user = 3\n")),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("s.toml line 3: unknown key 'max_user'"),
            "{msg}"
        );
        assert!(msg.contains("max_users"), "lists the known keys: {msg}");
    }

    #[test]
    fn bad_values_name_key_value_and_source() {
        let r = resolve(
            &BTreeMap::new(),
            |_| None,
            Some((Path::new("s.toml"), "max_users = \"lots\"\n")),
        )
        .unwrap();
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
        let e = resolve(
            &BTreeMap::new(),
            |_| None,
            Some((Path::new("s.toml"), "listen = \n")),
        )
        .unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { .. }), "{e}");
        assert!(e.to_string().contains("line 1"), "{e}");
        let e = resolve(
            &BTreeMap::new(),
            |_| None,
            Some((Path::new("s.toml"), "\nlisten = [1]\n")),
        )
        .unwrap_err();
        assert!(e.to_string().contains("s.toml line 2: 'listen'"), "{e}");
    }

    #[test]
    fn render_shows_every_setting_with_its_source() {
        let r = resolve(
            &BTreeMap::new(),
            |_| None,
            Some((Path::new("s.toml"), FILE)),
        )
        .unwrap();
        let text = r.render();
        assert_eq!(text.lines().count(), SETTINGS.len());
        assert!(text.contains("listen = \"0.0.0.0:80\""), "{text}");
        assert!(text.contains("# s.toml line 2"), "{text}");
        assert!(text.contains("max_users = 50"), "{text}");
        assert!(text.contains("# now is not set"), "{text}");
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
        }
    }
}
