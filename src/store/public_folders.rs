//! The ordinary public-folder area: folders and items that WebDAV clients create anywhere
//! under `/public/` outside `SCHEDULE+ FREE BUSY`, as they could on Exchange.
//!
//! Owns [`PfNode`] (a folder or an item: its names, times, version, content type and dead
//! properties), the trees `pf_nodes` (key → node) and `pf_bodies` (key → item body, apart so
//! that listings never load bodies), and the operations WebDAV needs: get, list children
//! (streaming), PUT, MKCOL, PROPPATCH, recursive DELETE, COPY and MOVE. A path is a list of
//! decoded names (`["litmus", "coll", "res"]`); the empty path is `/public/` itself and
//! `NON_IPM_SUBTREE` is a system folder that always exists. Names match case-insensitively
//! and keep the case they were created with.
//!
//! Key layout: `[depth] ++ name₁ ++ 0 ++ name₂ ++ 0 ++ … ++ nameₙ`, names folded to lower
//! case. Putting the depth first makes the direct children of a folder one contiguous
//! prefix (`[d+1] ++ folder ++ 0`), so a listing reads only the children, never the whole
//! subtree, and a subtree is the same prefix at each deeper depth. `0` cannot occur in a
//! name (URL decoding refuses NUL).
//!
//! `pf_owners` (key → legacyDN key) records who created each node, for the owner rule of
//! `auth`; a node created without authentication has no owner. A copy belongs to whoever
//! copied it, a moved node keeps its owner.
//!
//! Every write is one sled transaction over the trees it touches, flushed before it returns, under
//! the store's write lock (the pre-transaction reads that recursive operations need stay
//! exact because writers are serialised). A recursive DELETE, COPY or MOVE touches at most
//! [`MAX_TREE_ENTRIES`] nodes: sled holds a transaction's writes in memory, so a bigger
//! operation is refused ([`PfError::TooLarge`]) rather than run partly. This module must not
//! know about HTTP or URLs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::writer::{OwnerRule, Writer};
use super::{Store, StoreError, codec, fold};
use crate::protocol::mapi::{PropChange, PropName, PropValue};
use crate::protocol::public_tree::{MAX_PATH_DEPTH, NON_IPM_SUBTREE};

/// Most nodes one recursive DELETE, COPY or MOVE may touch (one transaction, in memory).
pub const MAX_TREE_ENTRIES: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PfKind {
    Folder,
    Item,
}

/// A folder or item of the ordinary area.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PfNode {
    /// The names from `/public/` down to this node, case as created.
    pub path: Vec<String>,
    pub kind: PfKind,
    pub created_us: i64,
    pub modified_us: i64,
    /// Changes on every write of the node (the ETag).
    pub version: u64,
    /// Items only: the Content-Type the body was PUT with.
    pub content_type: Option<String>,
    /// Items only: the body's length in bytes.
    pub content_length: u64,
    /// Dead properties, by name.
    pub props: BTreeMap<PropName, PropValue>,
}

impl PfNode {
    pub fn is_folder(&self) -> bool {
        self.kind == PfKind::Folder
    }

    pub fn name(&self) -> &str {
        self.path.last().map(String::as_str).unwrap_or("")
    }
}

/// Why an operation on the ordinary area was refused; each maps to one status upstream.
#[derive(Debug, thiserror::Error)]
pub enum PfError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the parent folder does not exist; create it first (MKCOL)")]
    NoParent,
    #[error("the parent is an item, not a folder")]
    ParentNotFolder,
    #[error("something already exists at this path")]
    Exists,
    #[error("nothing exists at this path")]
    NotFound,
    #[error("this path is a folder")]
    IsFolder,
    #[error("paths are limited to {MAX_PATH_DEPTH} levels")]
    TooDeep,
    #[error(
        "the operation would touch more than {0} entries in one transaction; work on smaller subtrees"
    )]
    TooLarge(usize),
    #[error("the destination exists and Overwrite is F")]
    DestinationExists,
    #[error("the destination is inside the source")]
    IntoItself,
}

type PfTx = ConflictableTransactionError<PfError>;

/// A node for [`Store::pf_commit`] to write: its key, the node, its body (`None` leaves the
/// stored body as it is) and its owner (`None` leaves the stored owner).
type NodeWrite<'a> = (&'a [u8], &'a PfNode, Option<&'a [u8]>, Option<&'a [u8]>);

fn pf_tx<T>(r: Result<T, TransactionError<PfError>>) -> Result<T, PfError> {
    r.map_err(|e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => PfError::Store(StoreError::from(e)),
    })
}

fn enc<T: Serialize>(v: &T) -> Result<Vec<u8>, PfTx> {
    codec::encode(v).map_err(|e| ConflictableTransactionError::Abort(StoreError::Codec(e).into()))
}

/// What a write did to its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PfWrite {
    Created,
    Replaced,
}

/// How much of a folder COPY takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyDepth {
    /// The folder itself with its properties, no members (`Depth: 0`).
    Zero,
    Infinity,
}

fn body_of(path: &[String]) -> Vec<u8> {
    let mut k = Vec::new();
    for (i, name) in path.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(fold(name).as_bytes());
    }
    k
}

fn node_key(path: &[String]) -> Vec<u8> {
    let mut k = vec![path.len() as u8];
    k.extend_from_slice(&body_of(path));
    k
}

/// The prefix of `path`'s descendants at `depth` (> path.len()).
fn descendants_prefix(path: &[String], depth: usize) -> Vec<u8> {
    let mut k = vec![depth as u8];
    if !path.is_empty() {
        k.extend_from_slice(&body_of(path));
        k.push(0);
    }
    k
}

fn is_system_folder(path: &[String]) -> bool {
    path.len() == 1 && path[0].eq_ignore_ascii_case(NON_IPM_SUBTREE)
}

/// A lazy listing of a folder's direct children; nothing is read before it is asked for.
pub type PfChildren = super::tree::Values<PfNode>;

impl Store {
    /// The node at `path`, if any. The root and `NON_IPM_SUBTREE` are not nodes.
    pub fn pf_get(&self, path: &[String]) -> Result<Option<PfNode>, StoreError> {
        if path.is_empty() || path.len() > MAX_PATH_DEPTH {
            return Ok(None);
        }
        super::tree::get(&self.inner.pf_nodes, node_key(path))
    }

    /// The direct children of the folder at `path` (the root for `[]`), by folded name.
    pub fn pf_children(&self, path: &[String]) -> PfChildren {
        let iter = self
            .inner
            .pf_nodes
            .scan_prefix(descendants_prefix(path, path.len() + 1));
        PfChildren::new(iter, codec::decode)
    }

    /// The legacyDN key of the user who created the node at `path`, if it was created by a
    /// signed-in user.
    pub fn pf_owner(&self, path: &[String]) -> Result<Option<String>, StoreError> {
        if path.is_empty() || path.len() > MAX_PATH_DEPTH {
            return Ok(None);
        }
        Ok(self
            .inner
            .pf_owners
            .get(node_key(path))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// May `writer` change the existing node at `path` (none there: yes)? The owner rule
    /// the writes apply under the write lock, asked early and read-only (before a PUT's
    /// body is read).
    pub fn pf_may_change(&self, path: &[String], writer: &Writer) -> Result<(), PfError> {
        if writer.must_own().is_none() {
            return Ok(());
        }
        match self.pf_get(path)? {
            Some(node) => self.check_owned(writer, [(node_key(path).as_slice(), &node)]),
            None => Ok(()),
        }
    }

    /// Refuse unless every node of `nodes` may be changed by `writer` (an admin's or their
    /// own). Plain reads, under the caller's write lock.
    fn check_owned<'n>(
        &self,
        writer: &Writer,
        nodes: impl IntoIterator<Item = (&'n [u8], &'n PfNode)>,
    ) -> Result<(), PfError> {
        let Some(user) = writer.must_own() else {
            return Ok(());
        };
        for (key, node) in nodes {
            let owner = self.inner.pf_owners.get(key).map_err(StoreError::from)?;
            if owner.as_deref() != Some(user.as_bytes()) {
                let what = format!("/public/{}", node.path.join("/"));
                return Err(StoreError::Refused(writer.refused(OwnerRule::Item, what)).into());
            }
        }
        Ok(())
    }

    /// An item's body.
    pub fn pf_body(&self, path: &[String]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .inner
            .pf_bodies
            .get(node_key(path))?
            .map(|v| v.to_vec()))
    }

    /// Is there a folder that can hold a new member at `path`? Returns `path` spelt as
    /// stored (ancestors keep the case they were created with; the new name as given).
    fn check_parent(&self, path: &[String]) -> Result<Vec<String>, PfError> {
        let Some((name, parent)) = path.split_last() else {
            return Err(PfError::Exists);
        };
        if path.len() > MAX_PATH_DEPTH {
            return Err(PfError::TooDeep);
        }
        let mut stored = if parent.is_empty() {
            Vec::new()
        } else if is_system_folder(parent) {
            vec![NON_IPM_SUBTREE.to_string()]
        } else {
            match self.pf_get(parent)? {
                Some(n) if n.is_folder() => n.path,
                Some(_) => return Err(PfError::ParentNotFolder),
                None => return Err(PfError::NoParent),
            }
        };
        stored.push(name.clone());
        Ok(stored)
    }

    /// Create or replace the item at `path` with `body`. A replaced item keeps its dead
    /// properties, creation time and owner; a new one belongs to `owner` (a legacyDN key).
    pub fn pf_put(
        &self,
        path: &[String],
        body: &[u8],
        content_type: Option<String>,
        writer: &Writer,
        now_us: i64,
    ) -> Result<PfWrite, PfError> {
        let _w = self.begin_write_of(body.len() as u64)?;
        let stored_path = self.check_parent(path)?;
        let existing = self.pf_get(path)?;
        if existing.as_ref().is_some_and(PfNode::is_folder) || is_system_folder(path) {
            return Err(PfError::IsFolder);
        }
        let key = node_key(path);
        if let Some(old) = &existing {
            self.check_owned(writer, [(key.as_slice(), old)])?;
        }
        let now = now_us;
        let version = self.inner.db.generate_id().map_err(StoreError::from)?;
        let outcome = if existing.is_some() {
            PfWrite::Replaced
        } else {
            PfWrite::Created
        };
        let owner = writer.key.as_deref().filter(|_| existing.is_none());
        let node = match existing {
            Some(old) => PfNode {
                modified_us: now,
                version,
                content_type,
                content_length: body.len() as u64,
                ..old
            },
            None => PfNode {
                path: stored_path,
                kind: PfKind::Item,
                created_us: now,
                modified_us: now,
                version,
                content_type,
                content_length: body.len() as u64,
                props: BTreeMap::new(),
            },
        };
        self.pf_commit(&[], &[(&key, &node, Some(body), owner.map(str::as_bytes))])?;
        Ok(outcome)
    }

    /// Create the folder at `path`, belonging to `owner` (a legacyDN key).
    pub fn pf_mkcol(&self, path: &[String], writer: &Writer, now_us: i64) -> Result<(), PfError> {
        let owner = writer.key.as_deref();
        let _w = self.begin_write()?;
        if is_system_folder(path) || self.pf_get(path)?.is_some() {
            return Err(PfError::Exists);
        }
        let stored_path = self.check_parent(path)?;
        let now = now_us;
        let node = PfNode {
            path: stored_path,
            kind: PfKind::Folder,
            created_us: now,
            modified_us: now,
            version: self.inner.db.generate_id().map_err(StoreError::from)?,
            content_type: None,
            content_length: 0,
            props: BTreeMap::new(),
        };
        let key = node_key(path);
        self.pf_commit(&[], &[(&key, &node, None, owner.map(str::as_bytes))])
    }

    /// Apply PROPPATCH instructions in order to the node's dead properties, all at once.
    /// The caller has already refused protected (live) properties.
    pub fn pf_patch(
        &self,
        path: &[String],
        ops: &[PropChange],
        writer: &Writer,
    ) -> Result<PfNode, PfError> {
        let _w = self.begin_write()?;
        let mut node = self.pf_get(path)?.ok_or(PfError::NotFound)?;
        self.check_owned(writer, [(node_key(path).as_slice(), &node)])?;
        for op in ops {
            match op {
                PropChange::Set(name, value) => {
                    node.props.insert(name.clone(), value.clone());
                }
                PropChange::Remove(name) => {
                    node.props.remove(name);
                }
            }
        }
        node.version = self.inner.db.generate_id().map_err(StoreError::from)?;
        let key = node_key(path);
        self.pf_commit(&[], &[(&key, &node, None, None)])?;
        Ok(node)
    }

    /// The node at `path` and every node below it, parents before children. Read outside
    /// any transaction; callers hold the write lock, which keeps the list exact.
    fn subtree(&self, path: &[String]) -> Result<Vec<(Vec<u8>, PfNode)>, PfError> {
        let root = self.pf_get(path)?.ok_or(PfError::NotFound)?;
        let mut out = vec![(node_key(path), root)];
        if !out[0].1.is_folder() {
            return Ok(out);
        }
        for depth in path.len() + 1..=MAX_PATH_DEPTH {
            let before = out.len();
            for kv in self
                .inner
                .pf_nodes
                .scan_prefix(descendants_prefix(path, depth))
            {
                let (k, v) = kv.map_err(StoreError::from)?;
                out.push((k.to_vec(), codec::decode(&v).map_err(StoreError::from)?));
                if out.len() > MAX_TREE_ENTRIES {
                    return Err(PfError::TooLarge(MAX_TREE_ENTRIES));
                }
            }
            // The tree is connected: no node at this depth means none deeper.
            if out.len() == before {
                break;
            }
        }
        Ok(out)
    }

    /// Delete the node at `path` and everything below it; returns how many nodes went.
    /// Unless the writer may change anything, every node of the subtree must be theirs.
    pub fn pf_delete(&self, path: &[String], writer: &Writer) -> Result<usize, PfError> {
        let _w = self.begin_write()?;
        let nodes = self.subtree(path)?;
        self.check_owned(writer, nodes.iter().map(|(k, n)| (k.as_slice(), n)))?;
        let removes: Vec<&[u8]> = nodes.iter().map(|(k, _)| k.as_slice()).collect();
        self.pf_commit(&removes, &[])?;
        Ok(nodes.len())
    }

    /// COPY (`keep_source`) or MOVE `from` to `to`. With `overwrite`, whatever is at `to`
    /// is deleted first (RFC 4918 §9.8.4, §9.9.3), in the same transaction. Dead properties
    /// travel; a copy gets new times and versions and belongs to `owner` (a legacyDN key),
    /// a move keeps times, versions and owners.
    // COPY and MOVE's own options (depth, overwrite, copy or move), who and when: a struct
    // of them would only be unpacked again on the next line.
    #[allow(clippy::too_many_arguments)]
    pub fn pf_transfer(
        &self,
        from: &[String],
        to: &[String],
        depth: CopyDepth,
        overwrite: bool,
        keep_source: bool,
        writer: &Writer,
        now_us: i64,
    ) -> Result<PfWrite, PfError> {
        let owner = writer.key.as_deref();
        let _w = self.begin_write()?;
        if to.len() >= from.len() && body_of(&to[..from.len()]) == body_of(from) {
            return Err(PfError::IntoItself);
        }
        let mut source = self.subtree(from)?;
        if depth == CopyDepth::Zero {
            source.truncate(1);
        }
        let to = self.check_parent(to)?;
        let to = to.as_slice();
        if is_system_folder(to) {
            return Err(PfError::Exists);
        }
        let existing = match self.subtree(to) {
            Ok(nodes) => nodes,
            Err(PfError::NotFound) => Vec::new(),
            Err(e) => return Err(e),
        };
        if !existing.is_empty() && !overwrite {
            return Err(PfError::DestinationExists);
        }
        // What goes away must be the writer's: what is overwritten, and what a MOVE takes.
        self.check_owned(writer, existing.iter().map(|(k, n)| (k.as_slice(), n)))?;
        if !keep_source {
            self.check_owned(writer, source.iter().map(|(k, n)| (k.as_slice(), n)))?;
        }
        let removed_source = if keep_source {
            Vec::new()
        } else {
            source.clone()
        };
        if source.len() + existing.len() + removed_source.len() > 3 * MAX_TREE_ENTRIES {
            return Err(PfError::TooLarge(MAX_TREE_ENTRIES));
        }
        // Bodies are read before the transaction too (sled deadlocks on plain reads
        // inside one).
        let now = now_us;
        let mut writes = Vec::with_capacity(source.len());
        for (k, node) in &source {
            let body = if node.is_folder() {
                None
            } else {
                Some(
                    self.inner
                        .pf_bodies
                        .get(k)
                        .map_err(StoreError::from)?
                        .map(|b| b.to_vec())
                        .unwrap_or_default(),
                )
            };
            let node_owner = if keep_source {
                owner.map(|o| o.as_bytes().to_vec())
            } else {
                self.inner
                    .pf_owners
                    .get(k)
                    .map_err(StoreError::from)?
                    .map(|v| v.to_vec())
            };
            let mut moved = node.clone();
            moved.path = [to, &node.path[from.len()..]].concat();
            if moved.path.len() > MAX_PATH_DEPTH {
                return Err(PfError::TooDeep);
            }
            if keep_source {
                moved.created_us = now;
                moved.modified_us = now;
                moved.version = self.inner.db.generate_id().map_err(StoreError::from)?;
            }
            writes.push((node_key(&moved.path), moved, body, node_owner));
        }
        let outcome = if existing.is_empty() {
            PfWrite::Created
        } else {
            PfWrite::Replaced
        };
        let removes: Vec<&[u8]> = existing
            .iter()
            .chain(&removed_source)
            .map(|(k, _)| k.as_slice())
            .collect();
        let writes: Vec<NodeWrite<'_>> = writes
            .iter()
            .map(|(k, node, body, owner)| (k.as_slice(), node, body.as_deref(), owner.as_deref()))
            .collect();
        self.pf_commit(&removes, &writes)?;
        Ok(outcome)
    }

    /// Remove the nodes at `removes` (with their bodies and owners), then write `writes`,
    /// in one transaction, flushed before it returns: every change to the tree goes
    /// through here, so each is all-or-nothing.
    fn pf_commit(&self, removes: &[&[u8]], writes: &[NodeWrite<'_>]) -> Result<(), PfError> {
        let i = &self.inner;
        pf_tx(
            (&i.pf_nodes, &i.pf_bodies, &i.pf_owners).transaction(|(tn, tb, to)| {
                for k in removes {
                    tn.remove(*k)?;
                    tb.remove(*k)?;
                    to.remove(*k)?;
                }
                for (k, node, body, owner) in writes {
                    tn.insert(*k, enc(*node)?)?;
                    if let Some(b) = body {
                        tb.insert(*k, *b)?;
                    }
                    if let Some(o) = owner {
                        to.insert(*k, *o)?;
                    }
                }
                Ok::<_, PfTx>(())
            }),
        )?;
        self.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testutil::stamp;
    use crate::store::testutil::temp_store;

    fn p(s: &str) -> Vec<String> {
        s.split('/')
            .filter(|x| !x.is_empty())
            .map(String::from)
            .collect()
    }

    fn names(s: &Store, path: &str) -> Vec<String> {
        s.pf_children(&p(path))
            .map(|n| n.unwrap().name().to_string())
            .collect()
    }

    #[test]
    fn mkcol_put_list_and_case_insensitive_lookup() {
        let (_d, s) = temp_store();
        s.pf_mkcol(&p("Lab"), &Writer::ANYONE, stamp()).unwrap();
        assert!(matches!(
            s.pf_mkcol(&p("lab"), &Writer::ANYONE, stamp()),
            Err(PfError::Exists)
        ));
        assert!(matches!(
            s.pf_mkcol(&p("x/y"), &Writer::ANYONE, stamp()),
            Err(PfError::NoParent)
        ));
        assert_eq!(
            s.pf_put(&p("LAB/a.txt"), b"hello", None, &Writer::ANYONE, stamp())
                .unwrap(),
            PfWrite::Created
        );
        assert!(matches!(
            s.pf_mkcol(&p("lab/a.txt/b"), &Writer::ANYONE, stamp()),
            Err(PfError::ParentNotFolder)
        ));
        s.pf_mkcol(&p("lab/sub"), &Writer::ANYONE, stamp()).unwrap();
        s.pf_put(&p("lab/sub/deep"), b"x", None, &Writer::ANYONE, stamp())
            .unwrap();
        assert_eq!(names(&s, "lab"), ["a.txt", "sub"]);
        assert_eq!(names(&s, ""), ["Lab"]);
        assert_eq!(
            s.pf_get(&p("lab/A.TXT")).unwrap().unwrap().path,
            p("Lab/a.txt")
        );
        assert_eq!(s.pf_body(&p("lab/a.txt")).unwrap().unwrap(), b"hello");
        assert_eq!(
            s.pf_put(&p("lab/a.txt"), b"bye", None, &Writer::ANYONE, stamp())
                .unwrap(),
            PfWrite::Replaced
        );
        // NON_IPM_SUBTREE always exists and can hold ordinary folders.
        s.pf_mkcol(&p("NON_IPM_SUBTREE/mine"), &Writer::ANYONE, stamp())
            .unwrap();
        assert!(matches!(
            s.pf_mkcol(&p("non_ipm_subtree"), &Writer::ANYONE, stamp()),
            Err(PfError::Exists)
        ));
    }

    #[test]
    fn delete_is_recursive_and_copy_move_carry_props() {
        let (_d, s) = temp_store();
        s.pf_mkcol(&p("a"), &Writer::ANYONE, stamp()).unwrap();
        s.pf_mkcol(&p("a/b"), &Writer::ANYONE, stamp()).unwrap();
        s.pf_put(
            &p("a/b/c"),
            b"body",
            Some("text/plain".into()),
            &Writer::ANYONE,
            stamp(),
        )
        .unwrap();
        let name = PropName::new("urn:x:", "colour");
        s.pf_patch(
            &p("a/b/c"),
            &[PropChange::Set(
                name.clone(),
                PropValue::String("red".into()),
            )],
            &Writer::ANYONE,
        )
        .unwrap();
        assert_eq!(
            transfer(&s, COPY, "a", "z", false, &Writer::ANYONE).unwrap(),
            PfWrite::Created
        );
        let c = s.pf_get(&p("z/b/c")).unwrap().unwrap();
        assert_eq!(c.props.get(&name), Some(&PropValue::String("red".into())));
        assert_eq!(s.pf_body(&p("z/b/c")).unwrap().unwrap(), b"body");
        assert!(matches!(
            transfer(&s, COPY, "a", "z", false, &Writer::ANYONE),
            Err(PfError::DestinationExists)
        ));
        assert!(matches!(
            transfer(&s, COPY, "a", "a/b/x", true, &Writer::ANYONE),
            Err(PfError::IntoItself)
        ));
        // Move with overwrite replaces the destination wholesale.
        assert_eq!(
            transfer(&s, MOVE, "a/b", "z", true, &Writer::ANYONE).unwrap(),
            PfWrite::Replaced
        );
        assert!(s.pf_get(&p("a/b")).unwrap().is_none());
        assert!(s.pf_get(&p("z/b")).unwrap().is_none());
        assert!(s.pf_get(&p("z/c")).unwrap().is_some());
        // Depth 0 copies the folder alone.
        s.pf_transfer(
            &p("z"),
            &p("y"),
            CopyDepth::Zero,
            false,
            true,
            &Writer::ANYONE,
            stamp(),
        )
        .unwrap();
        assert!(names(&s, "y").is_empty());
        assert_eq!(s.pf_delete(&p("z"), &Writer::ANYONE).unwrap(), 2);
        assert!(s.pf_get(&p("z/c")).unwrap().is_none());
        assert!(s.pf_body(&p("z/c")).unwrap().is_none());
        assert!(matches!(
            s.pf_delete(&p("z"), &Writer::ANYONE),
            Err(PfError::NotFound)
        ));
    }

    #[test]
    fn owners_follow_creation_copy_and_move() {
        let (_d, s) = temp_store();
        s.pf_mkcol(&p("lab"), &ann(), stamp()).unwrap();
        s.pf_put(&p("lab/x"), b"1", None, &ann(), stamp()).unwrap();
        s.pf_put(&p("anon"), b"1", None, &Writer::ANYONE, stamp())
            .unwrap();
        assert_eq!(
            s.pf_owner(&p("LAB")).unwrap().as_deref(),
            Some("/o=org/cn=ann")
        );
        assert_eq!(s.pf_owner(&p("anon")).unwrap(), None);
        // Replacing a body does not change hands.
        s.pf_put(&p("lab/x"), b"2", None, &bob(), stamp()).unwrap();
        assert_eq!(
            s.pf_owner(&p("lab/x")).unwrap().as_deref(),
            Some("/o=org/cn=ann")
        );
        // A copy belongs to the copier, a move keeps its owners.
        transfer(&s, COPY, "lab", "copy", false, &bob()).unwrap();
        assert_eq!(
            s.pf_owner(&p("copy/x")).unwrap().as_deref(),
            Some("/o=org/cn=bob")
        );
        transfer(&s, MOVE, "lab", "moved", false, &bob()).unwrap();
        assert_eq!(
            s.pf_owner(&p("moved/x")).unwrap().as_deref(),
            Some("/o=org/cn=ann")
        );
        assert_eq!(s.pf_owner(&p("lab/x")).unwrap(), None);
        // Deleting forgets the owners of the whole subtree.
        s.pf_delete(&p("moved"), &Writer::ANYONE).unwrap();
        assert_eq!(s.pf_owner(&p("moved/x")).unwrap(), None);
        assert_eq!(s.inner.pf_owners.len(), 2, "copy and copy/x are left");
    }

    /// `keep_source` of [`Store::pf_transfer`], named.
    const COPY: bool = true;
    const MOVE: bool = false;

    /// COPY or MOVE `from` to `to` at depth infinity as `who`; `overwrite` as the header says.
    fn transfer(
        s: &Store,
        keep_source: bool,
        from: &str,
        to: &str,
        overwrite: bool,
        who: &Writer,
    ) -> Result<PfWrite, PfError> {
        let (from, to) = (p(from), p(to));
        s.pf_transfer(
            &from,
            &to,
            CopyDepth::Infinity,
            overwrite,
            keep_source,
            who,
            stamp(),
        )
    }

    fn user(key: &str, any: bool) -> Writer {
        Writer {
            key: Some(key.to_string()),
            any,
            who: key.to_string(),
        }
    }
    fn ann() -> Writer {
        user("/o=org/cn=ann", true)
    }
    fn bob() -> Writer {
        user("/o=org/cn=bob", true)
    }
    /// Bob, not an admin: may change only what he created.
    fn bob_user() -> Writer {
        user("/o=org/cn=bob", false)
    }

    #[test]
    fn a_non_admin_changes_only_nodes_that_are_all_theirs() {
        let (_d, s) = temp_store();
        s.pf_mkcol(&p("lab"), &bob(), stamp()).unwrap();
        s.pf_put(&p("lab/bob.txt"), b"b", None, &bob(), stamp())
            .unwrap();
        s.pf_put(&p("lab/ann.txt"), b"a", None, &ann(), stamp())
            .unwrap();
        s.pf_put(&p("mine.txt"), b"m", None, &bob(), stamp())
            .unwrap();
        let before = s.dump_digest().unwrap();
        fn not_owner<T>(r: Result<T, PfError>) -> bool {
            matches!(r, Err(PfError::Store(StoreError::Refused(_))))
        }
        // Ann's item: not replaced, patched, deleted, moved or overwritten by Bob.
        assert!(not_owner(s.pf_put(
            &p("lab/ann.txt"),
            b"x",
            None,
            &bob_user(),
            stamp()
        )));
        assert!(not_owner(s.pf_patch(&p("lab/ann.txt"), &[], &bob_user())));
        assert!(not_owner(s.pf_delete(&p("lab/ann.txt"), &bob_user())));
        // His own folder, but with Ann's item inside.
        assert!(not_owner(s.pf_delete(&p("lab"), &bob_user())));
        assert!(not_owner(transfer(
            &s,
            MOVE,
            "lab",
            "elsewhere",
            false,
            &bob_user()
        )));
        assert!(not_owner(transfer(
            &s,
            COPY,
            "mine.txt",
            "lab/ann.txt",
            true,
            &bob_user()
        )));
        assert!(not_owner(transfer(
            &s,
            COPY,
            "mine.txt",
            "lab",
            true,
            &bob_user()
        )));
        assert_eq!(s.dump_digest().unwrap(), before, "refusals changed nothing");
        // What is all his, he may.
        s.pf_put(&p("lab/bob.txt"), b"b2", None, &bob_user(), stamp())
            .unwrap();
        transfer(&s, COPY, "lab/ann.txt", "copy.txt", false, &bob_user()).unwrap();
        transfer(&s, MOVE, "mine.txt", "copy.txt", true, &bob_user()).unwrap();
        s.pf_delete(&p("lab/bob.txt"), &bob_user()).unwrap();
        assert!(
            not_owner(s.pf_delete(&p("lab"), &bob_user())),
            "Ann's item is still in it"
        );
    }
}
