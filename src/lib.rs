//! # schedplus
//!
//! An emulator of the Exchange 2000/2003 public-folder free/busy store: the hidden
//! `SCHEDULE+ FREE BUSY` folder, its per-administrative-group folders and per-user messages
//! whose MAPI properties ([MS-OXOPFFB]) encode busy, tentative and out-of-office blocks,
//! served over the `GET /public/?Cmd=freebusy` query that Exchange 2007/2010 Client Access
//! servers fall back to for legacy mailboxes.
//!
//! # Layout
//!
//! Three layers, visible in the folder tree:
//!
//! * [`protocol`]: pure, no I/O. [`protocol::time`] (minutes since 1601, month keys, the
//!   clock), [`protocol::legacy_dn`] (legacyExchangeDN → admin-group folder and subject),
//!   [`protocol::wss_name`] (Web Storage System URL escaping), [`protocol::mapi`] (property
//!   tags and typed values), [`protocol::freebusy`] (statuses, interval sets, publish
//!   range), [`protocol::pffb`] (the MS-OXOPFFB month/block codec),
//!   [`protocol::fb_message`] (the property set a publisher writes), [`protocol::raster`]
//!   (the `fbdata` digits), [`protocol::query`] (the `?Cmd=freebusy` request and XML
//!   answer), [`protocol::directory_file`] (csvde CSV and ldifde LDIF exports),
//!   [`protocol::dav_xml`] (WebDAV request bodies and multistatus writing) and
//!   [`protocol::browse_page`] (the HTML pages browsers see).
//! * [`store`]: sled behind a narrow API ([`store::Store`], a cheap `Clone` handle); every
//!   record goes through [`store::codec`], the one place that knows the byte format.
//! * [`transport`]: the warp adapter. One catch-all filter hands every request to
//!   [`transport::dispatch`], which matches on the path and method and never rejects;
//!   [`transport::webdav`] serves the public-folder tree (one file per method family);
//!   [`transport::outbound`] streams large answers a page at a time within a budget.
//!
//! Beside them: [`fbquery`] (answering the query from the store), [`admin`] (the admin
//! operations, shared by the CLI and the HTTP admin API), [`admin_client`] (how the CLI
//! reaches a running server or the store), [`server`] (the server's lifecycle),
//! [`metrics`] (Prometheus counters), [`config`] (`schedplus.toml`, environment and flags),
//! [`demo`] (the embedded demo organisation) and [`cli`] (argument parsing; `main.rs` only
//! calls [`cli::main`]).
//!
//! The publishing pipeline: [`calendar`] (iCalendar → free/busy, pure), [`publisher`]
//! (the one definition of a publish), [`poller`] (MadFB: republishes changed users every
//! poll interval, everyone when the window moves, nightly cleanup), [`calendar_dir`] (the
//! `--calendar-dir` watcher) and [`updatefb`] (Updatefb's input file).

pub mod app;
pub mod auth;
pub mod cli;
pub mod protocol;
pub mod publishing;
pub mod server;
pub mod store;
pub mod transport;

// The paths of before the floors (tests/, benches/, fuzz/ and transport/ still use them).
#[doc(hidden)]
pub use app::freebusy as fbquery;
#[doc(hidden)]
pub use app::{admin, calendar_dir, demo, metrics, poller};
#[doc(hidden)]
pub use cli::{client as admin_client, config};
#[doc(hidden)]
pub use protocol::updatefb;
#[doc(hidden)]
pub use publishing::{calendar, publisher};
