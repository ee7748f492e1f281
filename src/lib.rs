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
//! Floors, bottom up; a floor imports only the floors below it (`tests/layers.rs` checks
//! it, `docs/architecture.md` walks two requests through them).
//!
//! * [`protocol`]: pure, no I/O. [`protocol::time`] (minutes since 1601, month keys, the
//!   clock), [`protocol::legacy_dn`] (legacyExchangeDN → admin-group folder and subject),
//!   [`protocol::wss_name`] (Web Storage System URL escaping), [`protocol::mapi`] (property
//!   tags and typed values), [`protocol::freebusy`] (statuses, interval sets, publish
//!   range), [`protocol::pffb`] (the MS-OXOPFFB month/block codec),
//!   [`protocol::fb_message`] (the property set a publisher writes), [`protocol::raster`]
//!   (the `fbdata` digits), [`protocol::query`] (the `?Cmd=freebusy` request and XML
//!   answer), [`protocol::directory_file`] (csvde CSV and ldifde LDIF exports),
//!   [`protocol::updatefb`] (Updatefb's input file), [`protocol::dav_xml`] (WebDAV request
//!   bodies and multistatus writing), [`protocol::ews`] (the EWS Availability service's
//!   SOAP and Autodiscover) and [`protocol::browse_page`] (the HTML pages browsers see).
//! * [`store`]: sled behind a narrow API ([`store::Store`], a cheap `Clone` handle); every
//!   record goes through [`store::codec`], the one place that knows the byte format. The
//!   only floor that knows sled.
//! * [`publishing`]: [`publishing::calendar`] (iCalendar → free/busy, pure) and
//!   [`publishing::publisher`] (the one definition of a publish).
//! * [`auth`]: who is asking and what they may do: the rules, passwords, Basic credentials,
//!   the authenticator.
//! * [`app`]: what the server and the CLI do: [`app::ops`] (the admin and publishing
//!   operations, one type each), [`app::Error`] (the one application error),
//!   [`app::freebusy`] (answering the query from the store), [`app::poller`] (MadFB:
//!   republishes changed users every poll interval, everyone when the window moves, nightly
//!   cleanup), [`app::calendar_dir`] (the `--calendar-dir` watcher), [`app::demo`] (the
//!   embedded demo organisation), [`app::availability`] (the EWS front end's fallback to the
//!   legacy free/busy servers) and [`app::metrics`] (Prometheus counters).
//! * [`transport`]: HTTP only, the warp adapter. One catch-all filter hands every request to
//!   [`transport::dispatch`], which matches on the path and method and never rejects;
//!   [`transport::webdav`] serves the public-folder tree (one file per method family);
//!   [`transport::outbound`] streams large answers a page at a time within a budget.
//! * [`server`]: the composition root: opens the store, builds the state, binds, starts the
//!   poller, shuts down.
//! * [`cli`]: the command line: clap types, [`cli::config`] (`schedplus.toml`, environment
//!   and flags), the commands, [`cli::client`] (how the CLI reaches a running server or the
//!   store) and printing; `main.rs` only calls [`cli::main`].

// Floors bottom up, one per paragraph: rustfmt sorts a run of adjacent `mod` lines, but
// never across a blank line.
pub mod protocol;

pub mod store;

pub mod publishing;

pub mod auth;

pub mod app;

pub mod transport;

pub mod server;

pub mod cli;
