//! The application: what the server and the CLI do, above the store and below HTTP.
//!
//! Owns [`admin`] (the admin operations, shared by the CLI, the remote client and the HTTP
//! admin API), [`freebusy`] (answering `?Cmd=freebusy` from the store, a page at a time),
//! [`poller`] (MadFB: republish changed users, everyone when the window moves, nightly
//! cleanup), [`calendar_dir`] (the `--calendar-dir` watcher), [`demo`] (the embedded demo
//! organisation) and [`metrics`] (the Prometheus counters). Sits on `protocol`, `store`,
//! `publishing` and `auth`; must not touch HTTP types (`transport`) or sled (the `store`
//! API only).

pub mod admin;
pub mod availability;
pub mod calendar_dir;
pub mod demo;
pub mod freebusy;
pub mod metrics;
pub mod poller;
