//! Integration tests: one binary (so CI links once), one module per area. Each test starts
//! the real server on 127.0.0.1:0 in a fresh data directory and speaks HTTP to it, or runs
//! the real `schedplus` binary.

mod common;

mod admin_cli;
mod auth;
mod browse_views;
mod clients;
mod clock;
mod comfort;
mod config;
mod crash;
mod directory_import;
mod disk;
mod docs;
mod ews;
mod ews_groups;
mod faults;
mod freebusy_query;
mod hostile;
mod lab;
mod layer_types;
mod layers;
mod lint;
mod listing;
mod metrics;
mod ops;
mod owner_rule;
mod personalities;
mod publishing;
mod query_cache;
mod real_publishers;
mod request_log;
mod resilience;
mod sled_cache;
mod startup;
mod topology;
mod webdav;
