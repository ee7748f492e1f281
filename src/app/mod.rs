//! The application: what the server and the CLI do, above the store and below HTTP.
//!
//! Owns [`ops`] (the admin and publishing operations, one type each, shared by the CLI,
//! the remote client, the HTTP admin API and the calendars routes), [`Error`] (the one
//! application error, `error.rs`), [`freebusy`] (answering `?Cmd=freebusy` from the store,
//! a page at a time),
//! [`poller`] (MadFB: republish changed users, everyone when the window moves, nightly
//! cleanup), [`calendar_dir`] (the `--calendar-dir` watcher), [`demo`] (the embedded demo
//! organisation), [`metrics`] (the Prometheus counters) and [`Clock`] (the one "now"). Sits on `protocol`, `store`,
//! `publishing` and `auth`; must not touch HTTP types (`transport`) or sled (the `store`
//! API only).

pub mod availability;
pub mod calendar_dir;
pub mod clock;
pub mod demo;
mod error;
pub mod freebusy;
pub mod metrics;
pub mod ops;
pub mod poller;
pub mod replication;

pub use clock::Clock;
pub use error::Error;
