//! How an admin command reaches the store: through the running server's admin API when one
//! holds the data directory, by opening the store itself otherwise.
//!
//! Owns [`Admin`], with one method per admin operation; each either calls the `app::admin`
//! function directly or posts the same request to `/_schedplus/…` and decodes the same
//! report, so commands print the same thing either way.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::Clock;
use crate::app::admin::{self, AdminError};
use crate::publishing::publisher::PublishSettings;
use crate::server::ServerInfo;
use crate::store::{CleanupReport, Store, StoreConfig, StoreError};
use crate::transport::admin_api::{ADMIN_HEADER, TOKEN_HEADER};

pub enum Admin {
    /// A server holds the store; talk to it.
    Remote {
        base: String,
        token: String,
        agent: ureq::Agent,
    },
    /// No server: the store is ours for this command.
    Local { store: Store, clock: Clock },
}

impl Admin {
    /// Decide how to reach the store in `data_dir`.
    pub fn connect(data_dir: &Path, clock: Clock) -> Result<Admin, AdminError> {
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
            Ok(store) => Ok(Admin::Local { store, clock }),
            Err(StoreError::Locked { path }) => Err(AdminError::Transport(match info {
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
            Err(e) => Err(AdminError::Store(e)),
        }
    }

    /// Where commands go, for messages.
    pub fn describe(&self) -> String {
        match self {
            Admin::Remote { base, .. } => {
                format!("the server at {}", base.trim_end_matches("/_schedplus"))
            }
            Admin::Local { store, .. } => format!("the store at {}", store.path().display()),
        }
    }

    pub fn import_directory(
        &self,
        req: &admin::ImportRequest,
    ) -> Result<admin::ImportReport, AdminError> {
        match self {
            Admin::Local { store, clock } => admin::import_directory(store, clock, req),
            Admin::Remote { .. } => self.post("/directory/import", req),
        }
    }

    pub fn list_users(&self) -> Result<Vec<admin::UserSummary>, AdminError> {
        match self {
            Admin::Local { store, .. } => admin::list_users(store),
            Admin::Remote { base, token, agent } => {
                let resp = agent
                    .get(format!("{base}/directory"))
                    .header(TOKEN_HEADER, token)
                    .header(ADMIN_HEADER, "1")
                    .call()
                    .map_err(transport_error)?;
                decode(resp)
            }
        }
    }

    pub fn set_password(
        &self,
        req: &admin::PasswdRequest,
    ) -> Result<admin::CredentialReport, AdminError> {
        match self {
            Admin::Local { store, .. } => admin::set_password(store, req),
            Admin::Remote { .. } => self.post("/directory/passwd", req),
        }
    }

    pub fn set_admin(
        &self,
        req: &admin::AdminMarkRequest,
    ) -> Result<admin::CredentialReport, AdminError> {
        match self {
            Admin::Local { store, .. } => admin::set_admin(store, req),
            Admin::Remote { .. } => self.post("/directory/admin", req),
        }
    }

    pub fn fb_set(&self, req: &admin::FbSetRequest) -> Result<admin::FbSetReport, AdminError> {
        match self {
            Admin::Local { store, clock } => admin::fb_set(store, clock, req),
            Admin::Remote { .. } => self.post("/fb/set", req),
        }
    }

    pub fn fb_show(&self, req: &admin::FbShowRequest) -> Result<admin::FbShowReport, AdminError> {
        match self {
            Admin::Local { store, clock } => admin::fb_show(store, clock, req),
            Admin::Remote { .. } => self.post("/fb/show", req),
        }
    }

    pub fn fb_delete(
        &self,
        req: &admin::FbDeleteRequest,
    ) -> Result<admin::FbDeleteReport, AdminError> {
        match self {
            Admin::Local { store, .. } => admin::fb_delete(store, req),
            Admin::Remote { .. } => self.post("/fb/delete", req),
        }
    }

    pub fn calendar_put(
        &self,
        req: &admin::CalendarPutRequest,
    ) -> Result<admin::CalendarPutReport, AdminError> {
        match self {
            Admin::Local { store, clock } => {
                admin::calendar_put(store, clock, &PublishSettings::default(), req)
            }
            Admin::Remote { .. } => self.post("/calendar/put", req),
        }
    }

    pub fn calendar_delete(
        &self,
        req: &admin::CalendarDeleteRequest,
    ) -> Result<admin::CalendarDeleteReport, AdminError> {
        match self {
            Admin::Local { store, .. } => admin::calendar_delete(store, req),
            Admin::Remote { .. } => self.post("/calendar/delete", req),
        }
    }

    /// Without a server, the defaults stand in for the server's publish settings; the
    /// request's own overrides apply either way.
    pub fn republish(
        &self,
        req: &admin::RepublishRequest,
    ) -> Result<admin::RepublishReport, AdminError> {
        match self {
            Admin::Local { store, clock } => {
                admin::republish(store, clock, &PublishSettings::default(), req)
            }
            Admin::Remote { .. } => self.post("/republish", req),
        }
    }

    pub fn cleanup(&self) -> Result<CleanupReport, AdminError> {
        match self {
            Admin::Local { store, .. } => admin::cleanup(store),
            Admin::Remote { .. } => self.post("/cleanup", &()),
        }
    }

    fn post<Req: Serialize, Rep: DeserializeOwned>(
        &self,
        route: &str,
        req: &Req,
    ) -> Result<Rep, AdminError> {
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

fn transport_error(e: ureq::Error) -> AdminError {
    AdminError::Transport(format!("the schedplus server did not answer: {e}"))
}

fn decode<T: DeserializeOwned>(
    mut resp: ureq::http::Response<ureq::Body>,
) -> Result<T, AdminError> {
    let status = resp.status().as_u16();
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .map_err(transport_error)?;
    if status == 200 {
        return serde_json::from_slice(&bytes).map_err(|e| {
            AdminError::Transport(format!("the server's answer is not the expected JSON: {e}"))
        });
    }
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: String,
        kind: String,
    }
    match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(e) => Err(AdminError::from_kind(&e.kind, e.error)),
        Err(_) => Err(AdminError::Transport(format!(
            "the server answered {status}: {}",
            String::from_utf8_lossy(&bytes).trim()
        ))),
    }
}
