//! The protocol layer: pure functions and types, no I/O.
//!
//! Everything a request or a record is made of is parsed here, once, into domain types that
//! are valid by construction; the store and transport layers only move them around.

pub mod address;
pub mod browse_page;
pub mod dav_xml;
pub mod directory_file;
pub mod ews;
pub mod fault_rule;
pub mod fb_message;
pub mod freebusy;
pub mod legacy_dn;
pub mod lint;
pub mod mapi;
pub mod pffb;
pub mod public_tree;
pub mod query;
pub mod raster;
pub mod replica;
pub mod time;
pub mod updatefb;
pub mod wss_name;
