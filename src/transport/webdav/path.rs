//! From a request URL to the resource it names, and from a resource back to its href.
//!
//! Owns [`Resource`] and [`resolve`]. Segments are split on `/` in the raw path and each is
//! decoded on its own (`%xx`, then `_xHHHH_`, so `_xF8FF_` becomes a `/` inside a name, as
//! Exchange means it); the fixed names `public`, `NON_IPM_SUBTREE` and `SCHEDULE+ FREE BUSY`
//! match case-insensitively, ordinary names match case-insensitively in the store. `.` and
//! `..` segments, however spelt (`%2e%2e`, `_x002E__x002E_`), are refused, never resolved.
//! Hrefs are written from stored names through [`escape_segment`], as absolute paths; a
//! multistatus answer then spells the request-URI's own segments as the client spelt them
//! ([`RequestSpelling`]), because clients find the resource they asked for by comparing
//! hrefs with their own escaping of it (neon, hence cadaver, sends `EX%3a…_o%3d…`).

use crate::protocol::legacy_dn::AdminGroup;
use crate::protocol::public_tree::{FREE_BUSY_FOLDER, MAX_PATH_DEPTH, NON_IPM_SUBTREE};
use crate::protocol::wss_name::{escape_segment, unescape_segment};
use crate::transport::HttpError;

/// What a URL under `/public` names. Existence is looked up separately.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    /// `/public/`
    Root,
    /// `/public/NON_IPM_SUBTREE/`
    NonIpm,
    /// `/public/NON_IPM_SUBTREE/SCHEDULE+ FREE BUSY/`
    FbRoot,
    /// An admin-group folder.
    FbFolder(AdminGroup),
    /// A free/busy message: its folder and its decoded URL leaf.
    FbItem(AdminGroup, String),
    /// Under `SCHEDULE+ FREE BUSY` but no admin group or message can live there (a folder
    /// name that is not `EX:/o=…`, or anything below a message). The text says why.
    FbInvalid(String),
    /// The ordinary area: decoded names below `/public/`.
    Ordinary(Vec<String>),
}

impl Resource {
    pub fn is_free_busy(&self) -> bool {
        matches!(
            self,
            Resource::FbRoot
                | Resource::FbFolder(_)
                | Resource::FbItem(..)
                | Resource::FbInvalid(_)
        )
    }
}

/// Resolve a URL path (no query) that starts with `/public`.
pub fn resolve(raw: &str) -> Result<Resource, HttpError> {
    // A fragment never belongs in a request URI (RFC 9112 §3.2). hyper drops one before
    // it gets here (litmus `delete_fragment` warns about that); one that does arrive is
    // refused rather than guessed at. A `#` in a name travels as `%23`.
    if raw.contains('#') {
        return Err(HttpError::bad_request(
            "the request URI holds a fragment (#); send names with # as %23",
        ));
    }
    let mut names = Vec::new();
    for seg in raw.split('/').filter(|s| !s.is_empty()) {
        let name = unescape_segment(seg).map_err(|e| HttpError::bad_request(e.to_string()))?;
        if name == "." || name == ".." {
            return Err(HttpError::bad_request(
                "'.' and '..' path segments are not accepted",
            ));
        }
        names.push(name);
    }
    let mut it = names.into_iter();
    match it.next() {
        Some(first) if first.eq_ignore_ascii_case("public") => {}
        _ => return Err(HttpError::not_found("WebDAV is served under /public/")),
    }
    let rest: Vec<String> = it.collect();
    if rest.len() > MAX_PATH_DEPTH {
        return Err(HttpError::bad_request(format!(
            "paths are limited to {MAX_PATH_DEPTH} levels below /public/"
        )));
    }
    let is_non_ipm = |s: &String| s.eq_ignore_ascii_case(NON_IPM_SUBTREE);
    let is_fb = |s: &String| s.eq_ignore_ascii_case(FREE_BUSY_FOLDER);
    Ok(match rest.as_slice() {
        [] => Resource::Root,
        [a] if is_non_ipm(a) => Resource::NonIpm,
        [a, b] if is_non_ipm(a) && is_fb(b) => Resource::FbRoot,
        [a, b, tail @ ..] if is_non_ipm(a) && is_fb(b) => {
            let folder = match AdminGroup::parse(&tail[0]) {
                Ok(f) => f,
                Err(e) => return Ok(Resource::FbInvalid(e.to_string())),
            };
            match &tail[1..] {
                [] => Resource::FbFolder(folder),
                [leaf] => Resource::FbItem(folder, leaf.clone()),
                _ => Resource::FbInvalid(
                    "free/busy messages hold no members; nothing lives below one".into(),
                ),
            }
        }
        _ => Resource::Ordinary(rest),
    })
}

/// The path of an absolute URL (any host) or of an absolute path, without its query.
fn url_path(url: &str) -> &str {
    let h = url.trim();
    let path = match h.find("://") {
        Some(i) => {
            let after = &h[i + 3..];
            match after.find('/') {
                Some(j) => &after[j..],
                None => "/",
            }
        }
        None => h,
    };
    path.split('?').next().unwrap_or(path)
}

/// The resource an absolute URL (any host: a client names us as it reached us) or absolute
/// path names: `Destination` headers and SEARCH's `FROM`.
pub fn resolve_url(header: &str) -> Result<Resource, HttpError> {
    let path = url_path(header);
    if !path.starts_with('/') {
        return Err(HttpError::bad_request(
            "expected an absolute URL or an absolute path",
        ));
    }
    resolve(path)
}

pub const ROOT_HREF: &str = "/public/";

fn non_ipm_href() -> String {
    format!("{ROOT_HREF}{NON_IPM_SUBTREE}/")
}

pub fn fb_root_href() -> String {
    format!("{}{}/", non_ipm_href(), escape_segment(FREE_BUSY_FOLDER))
}

pub fn fb_folder_href(folder: &AdminGroup) -> String {
    format!("{}{}/", fb_root_href(), escape_segment(folder.as_str()))
}

pub fn fb_item_href(folder: &AdminGroup, leaf: &str) -> String {
    format!("{}{}", fb_folder_href(folder), escape_segment(leaf))
}

/// The href of an ordinary node; folders end in `/`.
pub fn ordinary_href(path: &[String], folder: bool) -> String {
    let mut h = ROOT_HREF.to_string();
    for (i, name) in path.iter().enumerate() {
        if i > 0 {
            h.push('/');
        }
        h.push_str(&escape_segment(name));
    }
    if folder && !path.is_empty() {
        h.push('/');
    }
    h
}

/// The href of the system folders.
pub fn system_href(r: &Resource) -> Option<String> {
    match r {
        Resource::Root => Some(ROOT_HREF.to_string()),
        Resource::NonIpm => Some(non_ipm_href()),
        Resource::FbRoot => Some(fb_root_href()),
        _ => None,
    }
}

/// The client's own spelling of the resource it named, to echo in the hrefs of an answer.
///
/// A client finds the resource it asked for (and tells it apart from its members) by
/// comparing each href with the path it sent. neon, and so cadaver, escapes every byte that is
/// not unreserved (`EX%3a_xF8FF_o%3dOrg…`) and compares case-insensitively but byte for
/// byte otherwise, so the canonical `EX:_xF8FF_o=Org…` never matched and `cd` failed. As
/// Apache and most WebDAV servers do, the target's segments are written back as they were
/// sent, wherever they decode to exactly the stored name (only the escaping differs) and
/// are well-formed URI path segments; any other segment keeps its canonical spelling, so an
/// href always names the stored resource and never carries bytes an href may not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestSpelling {
    canonical: String,
    requested: String,
}

impl RequestSpelling {
    /// From the request's path (raw, still escaped; for SEARCH the `FROM` URL) and the
    /// canonical href of the resource it resolved to. `None` when there is nothing to echo.
    pub fn new(request_url: &str, canonical_href: &str) -> Option<RequestSpelling> {
        let sent: Vec<&str> = url_path(request_url)
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let canon: Vec<&str> = canonical_href
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        if sent.len() != canon.len() || !canonical_href.starts_with('/') {
            return None;
        }
        let mut requested = String::with_capacity(canonical_href.len() + 16);
        for (s, c) in sent.iter().zip(&canon) {
            requested.push('/');
            let same_name = is_path_segment(s)
                && matches!((unescape_segment(s), unescape_segment(c)), (Ok(a), Ok(b)) if a == b);
            requested.push_str(if same_name { s } else { c });
        }
        if canonical_href.ends_with('/') {
            requested.push('/');
        }
        (requested != canonical_href).then(|| RequestSpelling {
            canonical: canonical_href.to_string(),
            requested,
        })
    }

    /// `href` with the target's canonical spelling replaced by the client's; hrefs outside
    /// the target (a parent, another folder) are returned unchanged.
    pub fn apply(&self, href: &str) -> String {
        match href.strip_prefix(&self.canonical) {
            Some(rest) => format!("{}{rest}", self.requested),
            None => href.to_string(),
        }
    }
}

/// RFC 3986 `segment`: pchars and well-formed `%HH` only.
fn is_path_segment(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(i + 1) && hex(i + 2)) {
                    return false;
                }
                i += 3;
                continue;
            }
            c if c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&c) => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_spellings_resolve() {
        assert_eq!(resolve("/public").unwrap(), Resource::Root);
        assert_eq!(
            resolve("/Public/Non_IPM_Subtree").unwrap(),
            Resource::NonIpm
        );
        assert_eq!(
            resolve("/Public/Non_IPM_Subtree/SCHEDULE%2B%20FREE%20BUSY/").unwrap(),
            Resource::FbRoot
        );
        let item = resolve(
            "/public/NON_IPM_SUBTREE/schedule%2b%20free%20busy/EX:_xf8ff_o=Org_xF8FF_ou=AG/USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=ALIAS.EML",
        )
        .unwrap();
        assert_eq!(
            item,
            Resource::FbItem(
                AdminGroup::parse("EX:/o=Org/ou=AG").unwrap(),
                "USER-/CN=RECIPIENTS/CN=ALIAS.EML".into()
            )
        );
        assert!(matches!(
            resolve("/public/NON_IPM_SUBTREE/SCHEDULE+ FREE BUSY/notes").unwrap(),
            Resource::FbInvalid(_)
        ));
        assert_eq!(
            resolve("/public/litmus/a%20b").unwrap(),
            Resource::Ordinary(vec!["litmus".into(), "a b".into()])
        );
        assert_eq!(
            resolve("/public/NON_IPM_SUBTREE/mine").unwrap(),
            Resource::Ordinary(vec!["NON_IPM_SUBTREE".into(), "mine".into()])
        );
    }

    #[test]
    fn dot_segments_are_refused_however_spelt() {
        for p in [
            "/public/../etc",
            "/public/a/%2e%2e/b",
            "/public/%2E",
            "/public/_x002E__x002E_/x",
            "/public/frag/#ment",
        ] {
            assert_eq!(resolve(p).unwrap_err().status.as_u16(), 400, "{p}");
        }
        assert_eq!(resolve("/other").unwrap_err().status.as_u16(), 404);
    }

    #[test]
    fn hrefs_escape_names() {
        let ag = AdminGroup::parse("EX:/o=Org/ou=AG").unwrap();
        assert_eq!(
            fb_item_href(&ag, "USER-/CN=RECIPIENTS/CN=ALIAS.EML"),
            "/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=Org_xF8FF_ou=AG/USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=ALIAS.EML"
        );
        assert_eq!(
            ordinary_href(&["litmus".into(), "a b".into()], true),
            "/public/litmus/a%20b/"
        );
        assert_eq!(
            resolve_url("http://127.0.0.1:8080/public/litmus/x?y").unwrap(),
            Resource::Ordinary(vec!["litmus".into(), "x".into()])
        );
    }
}

#[cfg(test)]
mod spelling_tests {
    use super::*;

    const AG_HREF: &str =
        "/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=Org_xF8FF_ou=First%20AG/";

    #[test]
    fn neon_escaping_is_echoed_below_the_target() {
        // What cadaver sends for `cd "EX:_xF8FF_o=Org_xF8FF_ou=First AG"`.
        let sent = "/public/NON_IPM_SUBTREE/SCHEDULE%2b%20FREE%20BUSY/EX%3a_xF8FF_o%3dOrg_xF8FF_ou%3dFirst%20AG/";
        let sp = RequestSpelling::new(sent, AG_HREF).unwrap();
        assert_eq!(sp.apply(AG_HREF), sent);
        assert_eq!(
            sp.apply(&format!(
                "{AG_HREF}USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=A.EML"
            )),
            format!("{sent}USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=A.EML")
        );
        // The parent is outside the target: unchanged.
        let parent = "/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/";
        assert_eq!(sp.apply(parent), parent);
        // Without the trailing slash the collection still answers with one.
        let sp = RequestSpelling::new(sent.trim_end_matches('/'), AG_HREF).unwrap();
        assert_eq!(sp.apply(AG_HREF), sent);
    }

    #[test]
    fn canonical_requests_and_other_names_keep_the_canonical_spelling() {
        assert_eq!(RequestSpelling::new(AG_HREF, AG_HREF), None);
        // Another case names the same folder, but the href keeps the stored name's case.
        let sent = "/Public/non_ipm_subtree/SCHEDULE%2B%20FREE%20BUSY/EX%3A_xF8FF_o%3Dorg_xF8FF_ou%3DFirst%20AG";
        assert_eq!(RequestSpelling::new(sent, AG_HREF), None);
        // Segment by segment: the escaping is echoed where the name is the same.
        let sent = "/Public/non_ipm_subtree/SCHEDULE%2B%20FREE%20BUSY/EX%3A_xF8FF_o%3DOrg_xF8FF_ou%3DFirst%20AG";
        let sp = RequestSpelling::new(sent, AG_HREF).unwrap();
        assert_eq!(
            sp.apply(AG_HREF),
            "/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX%3A_xF8FF_o%3DOrg_xF8FF_ou%3DFirst%20AG/"
        );
        // A spelling that is no well-formed path segment (SEARCH's FROM may hold raw
        // spaces) is never echoed.
        let sent = "http://h/public/NON_IPM_SUBTREE/SCHEDULE+ FREE BUSY/EX%3a_xF8FF_o=Org_xF8FF_ou=First AG/";
        let sp = RequestSpelling::new(sent, AG_HREF);
        assert_eq!(sp, None);
        // A different depth is a different resource: nothing to echo.
        assert_eq!(RequestSpelling::new("/public/a/b/", "/public/a/"), None);
    }

    /// neon's `ne_path_escape`: every byte but unreserved ones and `/`, as lower-case `%hh`.
    fn neon_escape(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect()
    }

    proptest::proptest! {
        /// However a client escapes the names of a folder, the hrefs of the answer resolve to
        /// what the canonical ones resolve to, and the target's href is the client's own
        /// spelling whenever it is a well-formed one.
        #[test]
        fn echoed_hrefs_resolve_to_the_same_resources(
            org in "[A-Za-z][A-Za-z0-9 ()=:+&,;'é]{0,12}",
            ag in "[A-Za-z][A-Za-z0-9 ()=:+&,;'é]{0,12}",
            leaf in "[A-Za-z0-9 =:+.é-]{1,12}",
            neon in proptest::bool::ANY,
        ) {
            let folder = match AdminGroup::parse(&format!("EX:/o={org}/ou={ag}")) {
                Ok(f) => f,
                Err(_) => return Ok(()),
            };
            let canonical = fb_folder_href(&folder);
            let name = folder.as_str().replace('/', "_xF8FF_");
            let sent = if neon {
                format!("/public/NON_IPM_SUBTREE/SCHEDULE%2b%20FREE%20BUSY/{}/", neon_escape(&name))
            } else {
                canonical.clone()
            };
            proptest::prop_assert_eq!(resolve(&sent).unwrap(), Resource::FbFolder(folder.clone()));
            proptest::prop_assume!(!leaf.trim_matches('.').is_empty());
            let item = fb_item_href(&folder, &leaf);
            match RequestSpelling::new(&sent, &canonical) {
                None => proptest::prop_assert!(!neon || sent.eq_ignore_ascii_case(&canonical)),
                Some(sp) => {
                    proptest::prop_assert_eq!(sp.apply(&canonical), sent.clone());
                    proptest::prop_assert_eq!(resolve(&sp.apply(&item)).unwrap(), resolve(&item).unwrap());
                }
            }
        }
    }

    #[test]
    fn segments_must_be_well_formed() {
        for ok in ["EX%3a_xF8FF_o%3dOrg", "a(b)+c", "%2B", ""] {
            assert!(is_path_segment(ok), "{ok}");
        }
        for bad in ["a b", "a%2", "a%zz", "é", "a\"b", "a<b"] {
            assert!(!is_path_segment(bad), "{bad}");
        }
    }
}
