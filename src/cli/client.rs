//! How an admin command reaches the store: through the running server's admin API when one
//! holds the data directory, by opening the store itself otherwise.
//!
//! Owns [`Admin`] and its one generic [`Admin::run`]: an operation (`app::ops`) either runs
//! on the store directly or is posted as JSON to its route under `/_schedplus` and its
//! report decoded, so commands print the same thing either way.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::Clock;
use crate::app::Error;
use crate::app::ops::{Ctx, Operation};
use crate::server::ServerInfo;
use crate::store::{Store, StoreConfig, StoreError};
use crate::transport::admin_api::{ADMIN_HEADER, TOKEN_HEADER};

pub enum Admin {
    /// A server holds the store; talk to it.
    Remote {
        base: String,
        token: String,
        agent: ureq::Agent,
    },
    /// No server: the store is ours for this command, with the default publish settings
    /// in place of a server's (a request's own overrides apply either way).
    Local(Ctx),
}

impl Admin {
    /// Decide how to reach the store in `data_dir`.
    pub fn connect(data_dir: &Path, clock: Clock) -> Result<Admin, Error> {
        let info = ServerInfo::read(data_dir);
        if let Some(info) = &info {
            let agent = agent(Duration::from_secs(2));
            let url = format!("http://{}/healthz", info.addr);
            if agent.get(&url).call().is_ok_and(|r| r.status() == 200) {
                return Ok(Admin::Remote {
                    base: format!("http://{}/_schedplus", info.addr),
                    token: info.token.clone(),
                    agent: self::agent(Duration::from_secs(600)),
                });
            }
        }
        match Store::open(&StoreConfig::new(data_dir)) {
            Ok(store) => Ok(Admin::Local(Ctx::new(&store).with_clock(clock))),
            Err(StoreError::Locked { path }) => Err(Error::Unavailable(match info {
                Some(i) => format!(
                    "the store at {} is held by process {} but no schedplus server answers at {}; wait for it to start, or stop it",
                    path.display(),
                    i.pid,
                    i.addr
                ),
                None => format!(
                    "the store at {} is held by another process that announced no server; stop it and try again",
                    path.display()
                ),
            })),
            Err(e) => Err(e.into()),
        }
    }

    /// The admin API of the server at `base` (`http://host:port`), with its token.
    pub fn remote(base: &str, token: &str) -> Admin {
        Admin::Remote {
            base: format!("{base}/_schedplus"),
            token: token.to_string(),
            agent: agent(Duration::from_secs(600)),
        }
    }

    /// Where commands go, for messages.
    pub fn describe(&self) -> String {
        match self {
            Admin::Remote { base, .. } => {
                format!("the server at {}", base.trim_end_matches("/_schedplus"))
            }
            Admin::Local(ctx) => format!("the store at {}", ctx.store.path().display()),
        }
    }

    /// Run `op`: here, on the store this command holds, or on the server, by posting it to
    /// its route; the report is the same either way.
    pub fn run<O: Operation>(&self, op: O) -> Result<O::Report, Error> {
        match self {
            Admin::Local(ctx) => op.run(ctx),
            Admin::Remote { .. } => self.post(O::ROUTE, &op),
        }
    }

    fn post<Req: Serialize, Rep: DeserializeOwned>(
        &self,
        route: &str,
        req: &Req,
    ) -> Result<Rep, Error> {
        let Admin::Remote { base, token, agent } = self else {
            unreachable!("post is only used on a remote admin");
        };
        let body = serde_json::to_vec(req).expect("requests serialise");
        let resp = agent
            .post(format!("{base}{route}"))
            .header(TOKEN_HEADER, token)
            .header(ADMIN_HEADER, "1")
            .header("content-type", "application/json")
            .send(&body[..])
            .map_err(transport_error)?;
        decode(resp)
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

fn transport_error(e: ureq::Error) -> Error {
    Error::Unavailable(format!("the schedplus server did not answer: {e}"))
}

fn decode<T: DeserializeOwned>(mut resp: ureq::http::Response<ureq::Body>) -> Result<T, Error> {
    let status = resp.status().as_u16();
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .map_err(transport_error)?;
    if status == 200 {
        return serde_json::from_slice(&bytes).map_err(|e| {
            Error::Internal(format!("the server's answer is not the expected JSON: {e}"))
        });
    }
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: String,
        kind: String,
    }
    match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(e) => Err(Error::from_kind(&e.kind, e.error)),
        Err(_) => Err(Error::Internal(format!(
            "the server answered {status}: {}",
            String::from_utf8_lossy(&bytes).trim()
        ))),
    }
}
