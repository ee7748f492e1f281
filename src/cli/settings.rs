//! Settings: the flags given, resolved with `SCHEDPLUS_*` and the configuration file
//! (`config.rs`), and the serve options typed and checked from them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::app::Clock;
use crate::app::poller::CleanupAt;
use crate::app::{Error as AdminError, ops as admin};
use crate::protocol::pffb::PublisherStyle;
use crate::protocol::query::QueryLimits;
use crate::publishing::publisher::PublishSettings;
use crate::server::{AnnouncedSetting, ServeOptions, ServerInfo};
use crate::transport::Limits;

use super::args::{Cli, Command};

/// The value of `key`, or its type's default when no source sets it.
fn or_default<T>(settings: &crate::cli::config::Resolved, key: &str) -> Result<T, AdminError>
where
    T: std::str::FromStr + Default,
    T::Err: std::fmt::Display,
{
    Ok(settings.get(key).map_err(config_error)?.unwrap_or_default())
}

pub(super) fn config_error(e: crate::cli::config::ConfigError) -> AdminError {
    AdminError::BadInput(e.to_string())
}

/// Every setting with its source: the flags given, `SCHEDPLUS_*`, the configuration file.
pub fn resolve_settings(cli: &Cli) -> Result<crate::cli::config::Resolved, AdminError> {
    let mut flags = cli.globals.0.clone();
    if let Command::Serve(a) = &cli.command {
        flags.extend(a.0.iter().map(|(k, v)| (*k, v.clone())));
    }
    let file = crate::cli::config::load_file(cli.config.as_deref()).map_err(config_error)?;
    crate::cli::config::resolve(
        &flags,
        |var| std::env::var(var).ok(),
        file.as_ref().map(|(p, t)| (p.as_path(), t.as_str())),
    )
    .map_err(config_error)
}

/// The front end's service account: both settings or neither. The password's value is
/// never put in an error.
fn service_account(
    settings: &crate::cli::config::Resolved,
) -> Result<Option<crate::app::availability::ServiceAccount>, AdminError> {
    let password: Option<String> = settings
        .get_with("cas_service_password", |v| Ok::<_, String>(v.to_string()))
        .map_err(config_error)?;
    let account = settings
        .get_with("cas_service_user", |user| {
            let password = password.as_deref().ok_or(
                "a service account needs cas_service_password too (SCHEDPLUS_CAS_SERVICE_PASSWORD)",
            )?;
            crate::app::availability::ServiceAccount::new(user, password)
        })
        .map_err(config_error)?;
    if account.is_none() && password.is_some() {
        let from = settings
            .source("cas_service_password")
            .map(ToString::to_string);
        return Err(AdminError::BadInput(format!(
            "cas_service_password is set (from {}) but cas_service_user is not: name the account too",
            from.unwrap_or_default()
        )));
    }
    Ok(account)
}

/// Every serve option, typed and checked, from the resolved settings.
pub fn serve_options(
    data: PathBuf,
    clock: Clock,
    settings: &crate::cli::config::Resolved,
) -> Result<ServeOptions, AdminError> {
    let num = |key: &str| -> Result<usize, AdminError> {
        settings
            .get::<usize>(key)
            .map_err(config_error)?
            .ok_or_else(|| AdminError::BadInput(format!("{key} has no value")))
    };
    let listen: SocketAddr = settings
        .get_with("listen", parse_listen)
        .map_err(config_error)?
        .expect("listen has a default");
    let mut opts = ServeOptions::new(data, listen);
    opts.demo = settings.flag("demo").map_err(config_error)?;
    opts.clock = clock;
    opts.cache_capacity = num("cache_mb")? as u64 * 1024 * 1024;
    opts.fb_cache_bytes = num("fb_cache_bytes")? as u64;
    opts.calendar_dir = settings
        .get::<PathBuf>("calendar_dir")
        .map_err(config_error)?;
    opts.pid_file = settings.get::<PathBuf>("pid_file").map_err(config_error)?;
    opts.poll_interval = settings
        .get_with("poll_interval", crate::app::poller::parse_interval)
        .map_err(config_error)?
        .expect("poll_interval has a default");
    opts.publish_mode = settings
        .get::<crate::app::poller::PublishMode>("publish")
        .map_err(config_error)?
        .unwrap_or_default();
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
            PublisherStyle::parse(s)
                .ok_or_else(|| "write outlook, exchange, gcc, zimbra or evolution".to_string())
        })
        .map_err(config_error)?;
    // Checked here too, so that a bad zone names where it came from.
    let tz = settings
        .get_with("default_tz", |v| {
            admin::parse_zone(v)
                .map(|_| v.to_string())
                .map_err(|e| e.to_string())
        })
        .map_err(config_error)?;
    opts.publish =
        admin::publish_settings(&PublishSettings::default(), months, style, tz.as_deref())?;
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
        mode: or_default(settings, "auth")?,
        read: or_default(settings, "read")?,
        permissions: or_default(settings, "permissions")?,
        metrics: or_default(settings, "metrics")?,
    };
    opts.announce = settings
        .rows()
        .map(|(s, value, source)| AnnouncedSetting {
            key: s.key.to_string(),
            value: value.map(|v| {
                if s.is_secret() {
                    crate::cli::config::HIDDEN
                } else {
                    v
                }
                .to_string()
            }),
            source: source.to_string(),
        })
        .collect();
    if opts.auth.mode == crate::auth::AuthMode::None
        && opts.auth.read == crate::auth::ReadAccess::Authenticated
    {
        return Err(AdminError::BadInput(
            "read = authenticated needs auth = basic: with auth = none nobody can sign in, so reads would stay open".into(),
        ));
    }
    opts.cas = crate::app::availability::CasSettings {
        servers: settings
            .get_with("cas_servers", crate::app::availability::parse_servers)
            .map_err(config_error)?
            .unwrap_or_default(),
        timeout: duration("cas_timeout")?,
        max_tries: positive("cas_tries")?,
        order: settings
            .get_with("cas_order", |s| s.parse())
            .map_err(config_error)?
            .unwrap_or_default(),
        role: settings
            .get_with("role", |s| s.parse())
            .map_err(config_error)?
            .unwrap_or_default(),
        service_account: service_account(settings)?,
    };
    opts.topology = topology(settings, duration)?;
    let rules = settings
        .get_with("faults", |v| {
            crate::protocol::fault_rule::parse_rules(v).map_err(|e| e.to_string())
        })
        .map_err(config_error)?
        .unwrap_or_default();
    let seed = settings
        .get::<u64>("fault_seed")
        .map_err(config_error)?
        .expect("fault_seed has a default");
    opts.faults = crate::protocol::fault_rule::FaultSet::new(seed, rules);
    Ok(opts)
}

/// `schedplus config show`: the settings of the server that holds `data` when one answers
/// there (as it announced them in `server.json`, with their sources), else every setting
/// as resolved here, checked as `serve` would check them.
pub fn config_show(
    data: PathBuf,
    clock: Clock,
    settings: &crate::cli::config::Resolved,
) -> Result<(), AdminError> {
    if let Some(info) = ServerInfo::read(&data).filter(|i| !i.settings.is_empty() && answers(i)) {
        print!("{}", running_server_settings(&data, &info));
        return Ok(());
    }
    print!("{}", settings.render());
    serve_options(data, clock, settings).map(|_| ())
}

/// Whether the server `info` announces answers its health check (a `server.json` left by
/// a crash names a server that is gone).
fn answers(info: &ServerInfo) -> bool {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    agent
        .get(format!("http://{}/healthz", info.addr))
        .call()
        .is_ok_and(|r| r.status() == 200)
}

/// The text of `config show` for a running server's announced settings, headed by which
/// server they are.
fn running_server_settings(data: &std::path::Path, info: &ServerInfo) -> String {
    use crate::cli::config::{Setting, render_rows};
    let mut out = format!(
        "# the running server's settings (schedplus serve, pid {}, listening on {}, from {}):\n\
         # flags, variables and files given to this command do not change them\n",
        info.pid,
        info.addr,
        data.join(crate::server::SERVER_FILE).display()
    );
    out.push_str(&render_rows(info.settings.iter().filter_map(|a| {
        Some((Setting::of(&a.key)?, a.value.as_deref(), a.source.clone()))
    })));
    out
}

/// `--listen`: `IP:PORT`, `[IPv6]:PORT`, `HOST:PORT` (the host's first address, IPv4
/// preferred, so `localhost:8080` is 127.0.0.1:8080) or a bare `PORT` (127.0.0.1:PORT, the
/// default host: a bare port never opens the server to the network).
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    use std::net::{Ipv4Addr, ToSocketAddrs};
    let s = s.trim();
    let usage = "write a port (8080), IP:PORT (127.0.0.1:8080, 0.0.0.0:80, [::1]:8080) or HOST:PORT (localhost:8080)";
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let port: u16 = s.parse().map_err(|_| format!("port {s} is above 65535"))?;
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(format!("no port: {usage}"));
    };
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!("not an address: {usage}"));
    }
    let addrs: Vec<SocketAddr> = (host, port.parse::<u16>().unwrap_or(0))
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve host '{host}' ({e}): {usage}"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("host '{host}' has no address: {usage}"))
}

/// `server_name`, `organization`, `replicas`, `replication_*` and `exchsync_*`.
fn topology(
    settings: &crate::cli::config::Resolved,
    duration: impl Fn(&str) -> Result<Duration, AdminError>,
) -> Result<crate::app::replication::TopologySettings, AdminError> {
    use crate::app::replication::{self as r, TopologySettings};
    let text = |key: &str| -> Result<Option<String>, AdminError> {
        settings
            .get::<String>(key)
            .map(|v| v.filter(|v| !v.trim().is_empty()))
            .map_err(config_error)
    };
    fn list<T>(
        settings: &crate::cli::config::Resolved,
        key: &str,
        parse: fn(&str) -> Result<Vec<T>, String>,
    ) -> Result<Vec<T>, AdminError> {
        settings
            .get_with(key, parse)
            .map_err(config_error)
            .map(Option::unwrap_or_default)
    }
    let secret = text("replication_secret")?;
    Ok(TopologySettings {
        server_name: text("server_name")?.unwrap_or_else(r::default_server_name),
        organization: text("organization")?.unwrap_or_else(|| r::DEFAULT_ORGANIZATION.into()),
        replicas: settings
            .get_with("replicas", |v| {
                crate::protocol::replica::ReplicaSet::parse(v).map_err(|e| e.to_string())
            })
            .map_err(config_error)?
            .unwrap_or_default(),
        replication: r::ReplicationSettings {
            peers: list(settings, "replication_peers", r::parse_peers)?,
            interval: duration("replication_interval")?,
            secret,
        },
        exchsync: r::ExchsyncSettings {
            links: list(settings, "exchsync_links", r::parse_links)?,
            interval: duration("exchsync_interval")?,
            // Unset: the replication secret (`TopologySettings::link_secret`).
            secret: text("exchsync_secret")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults written in `SETTINGS` are the typed defaults of the code
    /// (`Limits::default`, `QueryLimits::default`, `XmlLimits::default`, the poll
    /// interval, the cache, the publish months, …): a default changed in one place only
    /// fails here.
    #[test]
    fn the_table_defaults_are_the_typed_defaults() {
        let none = crate::cli::config::resolve(&Default::default(), |_| None, None).unwrap();
        let data = PathBuf::from("./schedplus-data");
        assert_eq!(none.get::<PathBuf>("data").unwrap(), Some(data.clone()));
        let mut from_table = serve_options(data.clone(), Clock::System, &none).unwrap();
        assert_eq!(
            from_table.announce.len(),
            crate::cli::config::SETTINGS.len()
        );
        from_table.announce.clear();
        let typed = ServeOptions::new(data, parse_listen("127.0.0.1:8080").unwrap());
        assert_eq!(format!("{from_table:#?}"), format!("{typed:#?}"));
    }

    /// Every `serve` setting reaches a typed read that checks it: a row added to the table
    /// and never read, or read without a check, fails here. (Paths take any text.)
    #[test]
    fn every_serve_setting_is_read_and_checked() {
        use crate::cli::config::{Group, Kind, SETTINGS, resolve};
        // Names take any text: each must reach the options as given.
        let free_text = ["server_name", "organization"];
        for key in free_text {
            let flags = [(key, "any text".to_string())].into_iter().collect();
            let r = resolve(&flags, |_| None, None).unwrap();
            let t = serve_options(PathBuf::from("d"), Clock::System, &r)
                .unwrap()
                .topology;
            assert!(
                [t.server_name, t.organization].contains(&"any text".to_string()),
                "{key}"
            );
        }
        for s in SETTINGS
            .iter()
            .filter(|s| s.group != Group::Global && !matches!(s.kind, Kind::Dir | Kind::File))
            // A password takes any text, and no error may repeat it.
            .filter(|s| !s.is_secret() && !free_text.contains(&s.key))
        {
            let flags = [(s.key, "not-a-value".to_string())].into_iter().collect();
            let r = resolve(&flags, |_| None, None).unwrap();
            let e = serve_options(PathBuf::from("d"), Clock::System, &r)
                .map(|_| ())
                .unwrap_err()
                .to_string();
            let want = format!("{} = 'not-a-value' (from the {} flag)", s.key, s.flag());
            assert!(e.contains(&want), "{}: {e}", s.key);
        }
    }

    #[test]
    fn the_running_server_settings_say_whose_they_are() {
        let info = ServerInfo {
            addr: "127.0.0.1:8123".into(),
            pid: 4242,
            token: "t".into(),
            version: "0".into(),
            settings: vec![
                AnnouncedSetting {
                    key: "max_users".into(),
                    value: Some("7".into()),
                    source: "flag".into(),
                },
                AnnouncedSetting {
                    key: "no_such_key".into(),
                    value: Some("1".into()),
                    source: "default".into(),
                },
            ],
        };
        let text = running_server_settings(std::path::Path::new("/d"), &info);
        assert!(
            text.starts_with("# the running server's settings"),
            "{text}"
        );
        assert!(text.contains("pid 4242, listening on 127.0.0.1:8123, from /d/server.json"));
        assert!(text.contains("\nmax_users = 7 "), "{text}");
        assert!(text.contains("# flag; most `u=` users"), "{text}");
        assert!(
            !text.contains("no_such_key"),
            "a key this version does not know: {text}"
        );
    }

    #[test]
    fn listen_takes_a_port_an_address_or_a_host() {
        assert_eq!(parse_listen("8080").unwrap().to_string(), "127.0.0.1:8080");
        assert_eq!(
            parse_listen("0.0.0.0:80").unwrap().to_string(),
            "0.0.0.0:80"
        );
        assert_eq!(
            parse_listen("[::1]:8080").unwrap().to_string(),
            "[::1]:8080"
        );
        assert_eq!(
            parse_listen("localhost:8080").unwrap().to_string(),
            "127.0.0.1:8080"
        );
        for bad in ["", "99999", "localhost", "host:port", ":80", "1.2.3:x"] {
            assert!(parse_listen(bad).is_err(), "{bad}");
        }
    }
}
