//! The shape of the public-folder tree as URLs name it: the fixed folder names and the
//! deepest path. One place for these rules, read by the WebDAV path resolver and by the
//! store alike.
//!
//! Must not know about storage or HTTP.

/// The system folder under `/public/` that holds `SCHEDULE+ FREE BUSY`; it always exists.
pub const NON_IPM_SUBTREE: &str = "NON_IPM_SUBTREE";

/// The folder under `NON_IPM_SUBTREE` that holds one folder per administrative group.
pub const FREE_BUSY_FOLDER: &str = "SCHEDULE+ FREE BUSY";

/// Deepest path accepted below `/public/` (the depth is one key byte, and no client needs
/// more).
pub const MAX_PATH_DEPTH: usize = 64;
