//! The directory: who the users are and every name they can be asked for by.
//!
//! A user is keyed by legacyDN; the `addresses` tree maps each primary SMTP address, each
//! `smtp:` proxy address and the alias to that key, so a lookup is one or two point reads.
//! Import is all users of a file or none, written in chunks of [`IMPORT_CHUNK`] users with
//! an undo journal, so that memory does not grow with the file (see [`Store::import_users`]).

use serde::{Deserialize, Serialize};
use sled::Transactional;

use sled::transaction::{TransactionalTree, UnabortableTransactionError};

use super::durability::WriteGuard;
use super::{Store, StoreError, TxError, abort, codec, codec_abort, tagged, tx_result};
use crate::protocol::address::UserAddress;
use crate::protocol::directory_file::{self, DirectoryEntry, ParsedGroups};
use crate::protocol::legacy_dn::{LegacyDn, fold_key as fold};

/// A directory user as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub legacy_dn: LegacyDn,
    pub mail: String,
    pub display_name: String,
    pub alias: String,
    /// As given: `SMTP:…`, `smtp:…`, `X500:…`, …
    pub proxy_addresses: Vec<String>,
}

impl UserRecord {
    /// Primary address first, then every `smtp:` proxy, without duplicates.
    pub fn smtp_addresses(&self) -> Vec<String> {
        directory_file::smtp_addresses(&self.mail, &self.proxy_addresses)
    }

    pub(super) fn index_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .smtp_addresses()
            .iter()
            .map(|a| format!("smtp:{}", fold(a)))
            .collect();
        keys.push(format!("alias:{}", fold(&self.alias)));
        keys
    }
}

impl From<DirectoryEntry> for UserRecord {
    fn from(e: DirectoryEntry) -> Self {
        UserRecord {
            legacy_dn: e.legacy_dn,
            mail: e.mail,
            display_name: e.display_name,
            alias: e.alias,
            proxy_addresses: e.proxy_addresses,
        }
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub folders_created: usize,
}

/// Users written per sled transaction by an import. A sled transaction keeps every read and
/// write in memory until it commits (about 17.5 KB a user: a million-user file in one
/// transaction peaked at 17.5 GB), so an import writes its file in chunks of this many.
pub(crate) const IMPORT_CHUNK: usize = 1000;

/// The `meta` key present while an import is being written: the user count before it
/// (i64 BE). While it is there, `import_undo` holds what the import overwrote.
const IMPORT_PENDING: &[u8] = b"import_pending";

/// The tree of an import's undo journal: `tag ++ key` → `0` (the key was absent) or
/// `1 ++ old value`, the first value each key had before the import touched it. Made by an
/// import and dropped when it ends, so a store that never imports has no such tree.
const UNDO_TREE: &str = "import_undo";
const TAG_USERS: u8 = b'u';
const TAG_ADDRESSES: u8 = b'a';
const TAG_FOLDERS: u8 = b'f';

/// Keep in the journal what `key` held before the import, unless it is already kept (an
/// earlier chunk wrote it: the journal must keep the value from before the import).
fn journal_tx(
    tj: &TransactionalTree,
    tag: u8,
    key: &[u8],
    old: Option<&[u8]>,
) -> Result<(), UnabortableTransactionError> {
    let mut jk = Vec::with_capacity(key.len() + 1);
    jk.push(tag);
    jk.extend_from_slice(key);
    if tj.get(&jk)?.is_none() {
        let mut v = Vec::with_capacity(old.map_or(1, |o| o.len() + 1));
        match old {
            None => v.push(0),
            Some(o) => {
                v.push(1);
                v.extend_from_slice(o);
            }
        }
        tj.insert(jk, v)?;
    }
    Ok(())
}

fn conflict(key: &str, user: &LegacyDn, owner: &str) -> StoreError {
    StoreError::Conflict(format!(
        "{} ({user}) is already used by {owner}; addresses and aliases must be unique",
        key.split_once(':').map_or(key, |(_, v)| v),
    ))
}

/// The journal's tag of a name an import took from a user it had not named yet (`tag ++
/// sequence number (u64 BE)` → [`TakenName`]): a conflict unless the file names that user
/// later, checked when the import ends.
const TAG_TAKEN: u8 = b't';

/// A name an import gave to `taker` while `owner`, whom the import had not named yet,
/// held it.
#[derive(Serialize, Deserialize)]
struct TakenName {
    key: String,
    taker: LegacyDn,
    owner: String,
}

/// An import being written, user by user: [`Store::begin_import`], then
/// [`DirectoryImport::add`] for each user, then [`DirectoryImport::finish`] (the switch:
/// the import stands) or [`DirectoryImport::abandon`] (everything it wrote is put back;
/// dropping it unfinished does the same). It holds the store's write lock throughout.
///
/// Users are written [`IMPORT_CHUNK`] to a transaction, each chunk keeping in the undo
/// journal what it overwrote, so memory holds one chunk whatever the size of the file.
/// Names are checked as they are written: a name another user of the same import holds
/// is a conflict at once (that user came earlier); a name held by a user the import has
/// not named is taken and noted, and is a conflict at the end unless the import named
/// that user after all (who then gave it up).
pub struct DirectoryImport<'a> {
    store: &'a Store,
    _write: WriteGuard<'a>,
    journal: sled::Tree,
    now_us: i64,
    chunk: Vec<UserRecord>,
    chunk_size: usize,
    chunks: usize,
    taken: u64,
    summary: ImportSummary,
    /// A failure met while writing: the import can only be abandoned.
    failed: bool,
    done: bool,
    after_chunk: Option<&'a mut dyn FnMut(usize) -> Result<(), StoreError>>,
}

impl Store {
    /// Start an import (see [`DirectoryImport`]); an earlier one that failed and could not
    /// be undone then is undone first.
    pub fn begin_import(&self, now_us: i64) -> Result<DirectoryImport<'_>, StoreError> {
        let write = self.begin_write()?;
        undo_import(self)?;
        let i = &self.inner;
        let before = self.stats().users as i64;
        i.meta.insert(IMPORT_PENDING, &before.to_be_bytes())?;
        let journal = i.db.open_tree(UNDO_TREE)?;
        Ok(DirectoryImport {
            store: self,
            _write: write,
            journal,
            now_us,
            chunk: Vec::new(),
            chunk_size: IMPORT_CHUNK,
            chunks: 0,
            taken: 0,
            summary: ImportSummary::default(),
            failed: false,
            done: false,
            after_chunk: None,
        })
    }
}

impl Store {
    /// Add or update users, creating each one's admin-group folder. All or nothing: an
    /// address that already belongs to another user aborts the whole import.
    ///
    /// A [`DirectoryImport`] of the list: written [`IMPORT_CHUNK`] users a transaction,
    /// each chunk keeping in an undo journal what it overwrote. The import ends with one
    /// small write (the `import_pending` mark removed); a failure before it puts back what
    /// the journal kept, and so does the next open after a crash.
    pub fn import_users(
        &self,
        users: &[UserRecord],
        now_us: i64,
    ) -> Result<ImportSummary, StoreError> {
        self.import_directory(users, &ParsedGroups::default(), now_us)
            .map(|(summary, _)| summary)
    }

    /// [`Store::import_users`] with the file's groups, written by the import's last step
    /// (see [`super::groups`]): the summary and how many groups were written.
    pub fn import_directory(
        &self,
        users: &[UserRecord],
        groups: &ParsedGroups,
        now_us: i64,
    ) -> Result<(ImportSummary, usize), StoreError> {
        self.import_users_chunked_with(users, groups, now_us, IMPORT_CHUNK, &mut |_| Ok(()))
    }

    /// [`Store::import_users`] with the chunk size and a call after each chunk's commit
    /// (tests fail or stop there).
    #[cfg(test)]
    pub(crate) fn import_users_chunked(
        &self,
        users: &[UserRecord],
        now_us: i64,
        chunk: usize,
        after_chunk: &mut dyn FnMut(usize) -> Result<(), StoreError>,
    ) -> Result<ImportSummary, StoreError> {
        self.import_users_chunked_with(users, &ParsedGroups::default(), now_us, chunk, after_chunk)
            .map(|(summary, _)| summary)
    }

    fn import_users_chunked_with(
        &self,
        users: &[UserRecord],
        groups: &ParsedGroups,
        now_us: i64,
        chunk: usize,
        after_chunk: &mut dyn FnMut(usize) -> Result<(), StoreError>,
    ) -> Result<(ImportSummary, usize), StoreError> {
        let mut import = self.begin_import(now_us)?;
        import.chunk_size = chunk.max(1);
        import.after_chunk = Some(after_chunk);
        for user in users {
            if let Err(e) = import.add(user.clone()) {
                import.abandon();
                return Err(e);
            }
        }
        import.finish_with(groups)
    }

    /// One chunk of an import in one transaction, journaling what it overwrites.
    fn import_chunk(
        &self,
        journal: &sled::Tree,
        users: &[UserRecord],
        now_us: i64,
        first_taken: u64,
    ) -> Result<(ImportSummary, u64), StoreError> {
        let i = &self.inner;
        tx_result(
            (&i.users, &i.addresses, &i.folders, &i.meta, journal).transaction(
                |(tu, ta, tf, tmeta, tj)| {
                    let mut s = ImportSummary::default();
                    let mut taken = 0;
                    for user in users {
                        let key = user.legacy_dn.key();
                        let old_bytes = tu.get(key.as_bytes())?;
                        let is_new = old_bytes.is_none();
                        // A new user's journal entry is its key alone: undoing it removes the
                        // record and the names it holds then. Only names taken from someone
                        // else, and everything an update touches, need their old values.
                        if is_new {
                            // Absent until now, so not yet in the journal either.
                            tj.insert(tagged(TAG_USERS, key.as_bytes()), &[0])?;
                        } else {
                            journal_tx(tj, TAG_USERS, key.as_bytes(), old_bytes.as_deref())?;
                        }
                        let old: Option<UserRecord> = old_bytes
                            .map(|v| codec::decode(&v))
                            .transpose()
                            .map_err(codec_abort)?;
                        if let Some(old) = &old {
                            for k in old.index_keys() {
                                // A name this user gave up may already be another's (a user
                                // earlier in the file took it over): that stays.
                                let was = ta.get(k.as_bytes())?;
                                if was.as_deref() == Some(key.as_bytes()) {
                                    ta.remove(k.as_bytes())?;
                                    journal_tx(tj, TAG_ADDRESSES, k.as_bytes(), was.as_deref())?;
                                }
                            }
                        }
                        for k in user.index_keys() {
                            let was = ta.insert(k.as_bytes(), key.as_bytes())?;
                            if let Some(owner) = was.as_deref().filter(|o| *o != key.as_bytes()) {
                                let owner = String::from_utf8_lossy(owner).into_owned();
                                if tj.get(tagged(TAG_USERS, owner.as_bytes()))?.is_some() {
                                    // A user this import wrote before holds it.
                                    return Err(abort(conflict(&k, &user.legacy_dn, &owner)));
                                }
                                taken += 1;
                                let note = TakenName {
                                    key: k.clone(),
                                    taker: user.legacy_dn.clone(),
                                    owner,
                                };
                                tj.insert(
                                    tagged(TAG_TAKEN, &(first_taken + taken).to_be_bytes()),
                                    codec::encode(&note).map_err(codec_abort)?,
                                )?;
                            }
                            if !is_new || was.is_some() {
                                journal_tx(tj, TAG_ADDRESSES, k.as_bytes(), was.as_deref())?;
                            }
                        }
                        match &old {
                            Some(o) if o == user => s.unchanged += 1,
                            Some(_) => s.updated += 1,
                            None => s.added += 1,
                        }
                        tu.insert(key.as_bytes(), codec::encode(user).map_err(codec_abort)?)?;
                        let group = user.legacy_dn.admin_group();
                        if super::messages::ensure_folder_tx(tf, &group, now_us)? {
                            journal_tx(tj, TAG_FOLDERS, group.key().as_bytes(), None)?;
                            s.folders_created += 1;
                        }
                    }
                    super::count_tx(tmeta, s.added as i64, 0)?;
                    Ok::<_, TxError>((s, taken))
                },
            ),
        )
    }

    /// Find a user by any name a query may use: `SMTP:`/bare address (primary or proxy,
    /// then alias when the value has no `@`), or `EX:` legacyDN. Case-insensitive.
    pub fn find_user(&self, addr: &UserAddress) -> Result<Option<UserRecord>, StoreError> {
        let dn_key = match addr {
            UserAddress::Ex(dn) => Some(fold(dn).into_bytes().into()),
            UserAddress::Smtp(a) => {
                let hit = self
                    .inner
                    .addresses
                    .get(format!("smtp:{}", fold(a)).as_bytes())?;
                match hit {
                    Some(k) => Some(k),
                    None if !a.contains('@') => self
                        .inner
                        .addresses
                        .get(format!("alias:{}", fold(a)).as_bytes())?,
                    None => None,
                }
            }
        };
        let Some(dn_key) = dn_key else {
            return Ok(None);
        };
        match self.inner.users.get(dn_key)? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Resolve a name typed by an admin: an SMTP address, an alias or a legacyDN.
    pub fn resolve_user(&self, name: &str) -> Result<UserRecord, StoreError> {
        let addr = if name.trim_start().starts_with('/') {
            UserAddress::Ex(name.trim().to_string())
        } else {
            UserAddress::parse(name)
        };
        self.find_user(&addr)?.ok_or_else(|| {
            StoreError::NotFound(format!(
                "no directory user is named '{name}' (give an SMTP address, an alias or a legacyExchangeDN; `schedplus directory list` shows them)"
            ))
        })
    }

    /// Call `f` with every user, in legacyDN key order, one at a time.
    pub fn each_user(&self, mut f: impl FnMut(UserRecord)) -> Result<(), StoreError> {
        for v in self.inner.users.iter().values() {
            f(codec::decode(&v?)?);
        }
        Ok(())
    }

    /// Every user, ordered by legacyDN. An admin listing, not for request paths.
    pub fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.inner
            .users
            .iter()
            .values()
            .map(|v| Ok(codec::decode(&v?)?))
            .collect()
    }
}

impl DirectoryImport<'_> {
    /// Add or update one user (written with its chunk).
    pub fn add(&mut self, user: UserRecord) -> Result<(), StoreError> {
        if self.failed {
            return Err(StoreError::Conflict(
                "the import failed already; nothing more is written".into(),
            ));
        }
        self.chunk.push(user);
        if self.chunk.len() >= self.chunk_size {
            self.write_chunk()?;
        }
        Ok(())
    }

    fn write_chunk(&mut self) -> Result<(), StoreError> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let users = std::mem::take(&mut self.chunk);
        let store = self.store;
        let written = store
            .import_chunk(&self.journal, &users, self.now_us, self.taken)
            .and_then(|(s, taken)| {
                self.taken += taken;
                self.summary.added += s.added;
                self.summary.updated += s.updated;
                self.summary.unchanged += s.unchanged;
                self.summary.folders_created += s.folders_created;
                store.count_changed(s.added as i64, 0);
                let n = self.chunks;
                self.chunks += 1;
                match self.after_chunk.as_mut() {
                    Some(after) => after(n),
                    None => Ok(()),
                }
            });
        self.failed = written.is_err();
        self.chunk = users;
        self.chunk.clear();
        written
    }

    /// Write what is left and make the import stand: the switch. A name taken from a user
    /// the file never named is a conflict, and the import is undone.
    pub fn finish(self) -> Result<ImportSummary, StoreError> {
        self.finish_with(&ParsedGroups::default())
            .map(|(summary, _)| summary)
    }

    /// [`DirectoryImport::finish`] with the file's groups, checked against the users as the
    /// import left them and written by the switch itself (see [`super::groups`]): the
    /// summary and how many groups were written.
    pub fn finish_with(
        mut self,
        groups: &ParsedGroups,
    ) -> Result<(ImportSummary, usize), StoreError> {
        let ended = self
            .write_chunk()
            .and_then(|()| self.check_taken())
            .and_then(|()| super::groups::check_import(self.store, groups));
        if let Err(e) = ended {
            self.abandon();
            return Err(e);
        }
        // The switch: once the mark is gone the import stands (its groups with it).
        let written = match super::groups::finish_import(self.store, IMPORT_PENDING, groups) {
            Ok(written) => written,
            Err(e) => {
                self.abandon();
                return Err(e);
            }
        };
        self.done = true;
        self.store.inner.db.drop_tree(UNDO_TREE)?;
        self.store.flush()?;
        Ok((std::mem::take(&mut self.summary), written))
    }

    /// The names taken from users the import had not named when it wrote them, in file
    /// order: each must be of a user the import named later.
    fn check_taken(&self) -> Result<(), StoreError> {
        for kv in self.journal.scan_prefix([TAG_TAKEN]) {
            let (_, v) = kv?;
            let note: TakenName = codec::decode(&v)?;
            let named = self.journal.get(tagged(TAG_USERS, note.owner.as_bytes()))?;
            if named.is_none() {
                return Err(conflict(&note.key, &note.taker, &note.owner));
            }
        }
        Ok(())
    }

    /// Put back everything the import wrote. If that fails too, the mark stays and the
    /// next open does it.
    pub fn abandon(mut self) {
        self.undo();
    }

    fn undo(&mut self) {
        if !std::mem::replace(&mut self.done, true) {
            let _ = undo_import(self.store);
        }
    }
}

impl Drop for DirectoryImport<'_> {
    /// An import left unfinished is undone; one left by a panic is left to the next open,
    /// as after a crash (the panic may have come from the store itself).
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.undo();
        }
    }
}

fn has_journal(store: &Store) -> bool {
    let names = store.inner.db.tree_names();
    names.iter().any(|n| n.as_ref() == UNDO_TREE.as_bytes())
}

/// Put back what an unfinished import overwrote (its journal), restore the user count it
/// started from, and remove its mark: after a failed import, and at open after a crash
/// mid-import. Each step can be repeated, so a crash while undoing is undone again at the
/// next open. Returns whether there was an import to undo.
pub(super) fn undo_import(store: &Store) -> Result<bool, StoreError> {
    let i = &store.inner;
    let Some(before) = i.meta.get(IMPORT_PENDING)? else {
        if has_journal(store) {
            // The import finished; only dropping its journal was left.
            i.db.drop_tree(UNDO_TREE)?;
        }
        return Ok(false);
    };
    let journal = i.db.open_tree(UNDO_TREE)?;
    // First the users the import added, with the names they hold; then every old value
    // the journal kept (a name an added user took from another goes back to its owner).
    let mut added = sled::Batch::default();
    let mut names = sled::Batch::default();
    let mut pending = 0;
    for kv in journal.scan_prefix([TAG_USERS]) {
        let (k, v) = kv?;
        if v.as_ref() != [0] {
            continue;
        }
        let key = &k[1..];
        if let Some(now) = i.users.get(key)? {
            let user: UserRecord = codec::decode(&now)?;
            for name in user.index_keys() {
                names.remove(name.as_bytes());
            }
        }
        added.remove(key);
        pending += 1;
        if pending == IMPORT_CHUNK {
            i.addresses.apply_batch(std::mem::take(&mut names))?;
            i.users.apply_batch(std::mem::take(&mut added))?;
            pending = 0;
        }
    }
    i.addresses.apply_batch(names)?;
    i.users.apply_batch(added)?;
    let mut batches: [(u8, &sled::Tree, sled::Batch); 3] = [
        (TAG_USERS, &i.users, sled::Batch::default()),
        (TAG_ADDRESSES, &i.addresses, sled::Batch::default()),
        (TAG_FOLDERS, &i.folders, sled::Batch::default()),
    ];
    for kv in journal.iter() {
        let (k, v) = kv?;
        let Some((tag, key)) = k.split_first() else {
            continue;
        };
        let Some((_, _, batch)) = batches.iter_mut().find(|b| b.0 == *tag) else {
            continue;
        };
        match v.split_first() {
            Some((1, old)) => batch.insert(key, old),
            _ => batch.remove(key),
        }
        pending += 1;
        if pending == IMPORT_CHUNK * 4 {
            for (_, tree, batch) in &mut batches {
                tree.apply_batch(std::mem::take(batch))?;
            }
            pending = 0;
        }
    }
    for (_, tree, batch) in batches {
        tree.apply_batch(batch)?;
    }
    let before = super::count_value(Some(&before)).unwrap_or(0);
    tx_result(i.meta.transaction(|tmeta| {
        tmeta.insert(super::USERS_COUNT, &before.to_be_bytes())?;
        tmeta.remove(IMPORT_PENDING)?;
        Ok::<_, TxError>(())
    }))?;
    store.set_user_count(before);
    drop(journal);
    i.db.drop_tree(UNDO_TREE)?;
    i.db.flush()?;
    Ok(true)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::testutil::{stamp, temp_store};

    pub(crate) fn user(alias: &str, ag: &str) -> UserRecord {
        UserRecord {
            legacy_dn: LegacyDn::parse(&format!("/o=Org/ou={ag}/cn=Recipients/cn={alias}"))
                .unwrap(),
            mail: format!("{alias}@org.example"),
            display_name: format!("User {alias}"),
            alias: alias.to_string(),
            proxy_addresses: vec![
                format!("SMTP:{alias}@org.example"),
                format!("smtp:{alias}.alt@org.example"),
                "X500:/o=Old/cn=x".into(),
            ],
        }
    }

    #[test]
    fn lookup_by_every_name_case_insensitively() {
        let (_d, s) = temp_store();
        let u = user("dan", "AG");
        let sum = s.import_users(std::slice::from_ref(&u), stamp()).unwrap();
        assert_eq!(
            sum,
            ImportSummary {
                added: 1,
                folders_created: 1,
                ..Default::default()
            }
        );
        for name in [
            "SMTP:DAN@org.example",
            "dan@ORG.example",
            "smtp:dan.alt@org.example",
            "DAN",
            "EX:/O=ORG/OU=ag/cn=recipients/cn=dan",
        ] {
            let found = s.find_user(&UserAddress::parse(name)).unwrap();
            assert_eq!(found.as_ref(), Some(&u), "{name}");
        }
        assert_eq!(
            s.find_user(&UserAddress::parse("nobody@org.example"))
                .unwrap(),
            None
        );
        assert_eq!(
            s.resolve_user("/o=Org/ou=AG/cn=Recipients/cn=dan").unwrap(),
            u
        );
        assert!(
            s.resolve_user("ghost")
                .unwrap_err()
                .to_string()
                .contains("'ghost'")
        );
    }

    #[test]
    fn reimport_updates_and_drops_stale_addresses() {
        let (_d, s) = temp_store();
        let mut u = user("dan", "AG");
        s.import_users(std::slice::from_ref(&u), stamp()).unwrap();
        let again = s.import_users(std::slice::from_ref(&u), stamp()).unwrap();
        assert_eq!(again.unchanged, 1);
        u.proxy_addresses.retain(|p| !p.contains(".alt"));
        u.display_name = "Dan W".into();
        assert_eq!(
            s.import_users(std::slice::from_ref(&u), stamp())
                .unwrap()
                .updated,
            1
        );
        assert_eq!(
            s.find_user(&UserAddress::parse("dan.alt@org.example"))
                .unwrap(),
            None
        );
        assert_eq!(s.list_users().unwrap(), vec![u]);
    }

    #[test]
    fn conflicting_address_aborts_whole_import() {
        let (_d, s) = temp_store();
        let a = user("dan", "AG");
        let mut b = user("bob", "AG");
        b.proxy_addresses.push("smtp:dan@org.example".into());
        let c = user("carol", "AG2");
        let e = s
            .import_users(&[a.clone(), c.clone(), b], stamp())
            .unwrap_err();
        assert!(e.to_string().contains("dan@org.example"), "{e}");
        assert_eq!(
            s.list_users().unwrap(),
            vec![],
            "nothing of a failed import is kept"
        );
        assert_eq!(s.stats().users, 0);
    }

    /// Issue 11: keys were Unicode-lower-cased, so `cn=\u{212A}` (the Kelvin sign) was the
    /// key of `cn=k` and importing one replaced the other.
    #[test]
    fn kelvin_sign_is_not_the_letter_k() {
        let (_d, s) = temp_store();
        let k = user("k", "AG");
        let mut kelvin = user("\u{212A}", "AG");
        kelvin.mail = "kelvin@org.example".into();
        kelvin.proxy_addresses = vec!["SMTP:kelvin@org.example".into()];
        s.import_users(std::slice::from_ref(&k), stamp()).unwrap();
        let sum = s
            .import_users(std::slice::from_ref(&kelvin), stamp())
            .unwrap();
        assert_eq!((sum.added, sum.updated), (1, 0));
        assert_eq!(s.stats().users, 2);
        let by_dn = |u: &UserRecord| {
            s.find_user(&UserAddress::Ex(u.legacy_dn.as_str().into()))
                .unwrap()
                .unwrap()
        };
        assert_eq!(by_dn(&k), k);
        assert_eq!(by_dn(&kelvin), kelvin);
        // ASCII case still does not matter.
        let upper = s
            .find_user(&UserAddress::Ex("/O=ORG/OU=AG/CN=RECIPIENTS/CN=K".into()))
            .unwrap()
            .unwrap();
        assert_eq!(upper, k);
        assert_ne!(
            k.legacy_dn.subject().key(),
            kelvin.legacy_dn.subject().key()
        );
    }

    type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

    /// No journal and no mark: the import finished or was undone.
    fn assert_no_import_left(s: &Store) {
        assert!(!has_journal(s));
        assert_eq!(s.inner.meta.get(IMPORT_PENDING).unwrap(), None);
    }

    /// Every tree an import writes, byte for byte, and the stored user count.
    fn directory_state(s: &Store) -> (Pairs, Pairs, Vec<Vec<u8>>, u64) {
        let i = &s.inner;
        let all = |t: &sled::Tree| {
            t.iter()
                .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap())
                .collect::<Vec<_>>()
        };
        let folders = i
            .folders
            .iter()
            .keys()
            .map(|k| k.unwrap().to_vec())
            .collect();
        (all(&i.users), all(&i.addresses), folders, s.stats().users)
    }

    /// A directory with updates, an address moving between users and new users, for the
    /// chunked writes to get right.
    fn before_and_file() -> (Vec<UserRecord>, Vec<UserRecord>) {
        let before = vec![user("ann", "AG"), user("bob", "AG"), user("cy", "AG")];
        let mut bob = user("bob", "AG");
        bob.proxy_addresses.retain(|p| !p.contains(".alt"));
        bob.display_name = "Bob B".into();
        // A new user earlier in the file takes over the address bob gives up.
        let mut eve = user("eve", "AG3");
        eve.proxy_addresses.push("smtp:bob.alt@org.example".into());
        let file = vec![
            eve,
            user("dan", "AG2"),
            bob,
            user("ann", "AG"),
            user("fay", "AG2"),
        ];
        (before, file)
    }

    #[test]
    fn chunked_import_writes_what_one_chunk_writes() {
        let (before, file) = before_and_file();
        let mut states = Vec::new();
        let mut sums = Vec::new();
        for chunk in [1, 2, file.len()] {
            let (_d, s) = temp_store();
            s.import_users(&before, 1).unwrap();
            sums.push(
                s.import_users_chunked(&file, 1, chunk, &mut |_| Ok(()))
                    .unwrap(),
            );
            assert_no_import_left(&s);
            states.push(directory_state(&s));
        }
        assert_eq!(
            sums[0],
            ImportSummary {
                added: 3,
                updated: 1,
                unchanged: 1,
                folders_created: 2
            }
        );
        assert!(sums.iter().all(|x| x == &sums[0]));
        assert!(states.iter().all(|x| x == &states[0]));
        let (_d, s) = temp_store();
        s.import_users(&before, 1).unwrap();
        s.import_users_chunked(&file, 1, 2, &mut |_| Ok(()))
            .unwrap();
        let found = s
            .find_user(&UserAddress::parse("bob.alt@org.example"))
            .unwrap()
            .unwrap();
        assert_eq!(found.alias, "eve");
        assert_eq!(s.stats().users, 6);
    }

    #[test]
    fn a_failure_after_some_chunks_leaves_the_directory_as_it_was() {
        let (before, file) = before_and_file();
        let (_d, s) = temp_store();
        s.import_users(&before, 1).unwrap();
        let was = directory_state(&s);
        let e = s
            .import_users_chunked(&file, 1, 2, &mut |n| {
                if n == 1 {
                    Err(StoreError::Stalled("the disk stopped".into()))
                } else {
                    Ok(())
                }
            })
            .unwrap_err();
        assert!(e.to_string().contains("the disk stopped"), "{e}");
        assert_eq!(directory_state(&s), was);
        assert_eq!(s.stats().users, 3);
        // The next import starts clean.
        s.import_users(&file, 1).unwrap();
        assert_eq!(s.stats().users, 6);
    }

    /// A crash mid-import (the process dies after some chunks committed): the next open
    /// puts the directory back as it was before the import, count included.
    #[test]
    fn a_crash_mid_import_is_undone_at_the_next_open() {
        let (before, file) = before_and_file();
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::store::StoreConfig::new(dir.path());
        let was = {
            let s = Store::open(&cfg).unwrap();
            s.import_users(&before, 1).unwrap();
            let was = directory_state(&s);
            let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = s.import_users_chunked(&file, 1, 2, &mut |n| {
                    if n == 1 {
                        panic!("killed mid-import");
                    }
                    Ok(())
                });
            }));
            assert!(crashed.is_err());
            assert_ne!(
                directory_state(&s).0,
                was.0,
                "the chunks written are in the store"
            );
            s.inner.db.flush().unwrap();
            was
        };
        let s = Store::open(&cfg).unwrap();
        assert_eq!(directory_state(&s), was);
        assert_eq!(s.stats().users, 3);
        assert_no_import_left(&s);
    }

    /// A name held by a user the file does not name is found only once the whole file is
    /// written (the user could still come): then the import is undone, every chunk.
    #[test]
    fn a_name_held_by_a_user_the_file_never_names_undoes_every_chunk() {
        let (_d, s) = temp_store();
        s.import_users(&[user("dan", "AG"), user("bob", "AG")], 1)
            .unwrap();
        let was = directory_state(&s);
        let mut eve = user("eve", "AG3");
        eve.proxy_addresses.push("smtp:dan.alt@org.example".into());
        // bob is named (after eve); dan, who holds dan.alt, is not.
        let file = [
            user("ann", "AG"),
            eve,
            user("fay", "AG2"),
            user("bob", "AG"),
        ];
        let mut chunks = 0;
        let e = s
            .import_users_chunked(&file, 1, 1, &mut |_| {
                chunks += 1;
                Ok(())
            })
            .unwrap_err();
        assert_eq!(chunks, 4, "every chunk was written before the check");
        assert_eq!(
            e.to_string(),
            "dan.alt@org.example (/o=Org/ou=AG3/cn=Recipients/cn=eve) is already used by \
             /o=org/ou=ag/cn=recipients/cn=dan; addresses and aliases must be unique"
        );
        assert_eq!(directory_state(&s), was);
        assert_no_import_left(&s);
    }

    #[test]
    fn an_alias_two_users_of_one_file_claim_aborts_the_import() {
        let (_d, s) = temp_store();
        let bob = UserRecord {
            alias: "dan".into(),
            ..user("bob", "AG")
        };
        let e = s
            .import_users(&[user("cy", "AG"), user("dan", "AG"), bob], stamp())
            .unwrap_err();
        assert!(e.to_string().contains("dan (/o=Org/ou=AG/cn=Recipients/cn=bob) is already used by /o=org/ou=ag/cn=recipients/cn=dan"), "{e}");
        assert_eq!(s.list_users().unwrap(), vec![]);
        // The same user twice is one user written twice, not a conflict.
        let mut d2 = user("dan", "AG");
        d2.display_name = "Dan 2".into();
        let sum = s
            .import_users(&[user("dan", "AG"), d2.clone()], stamp())
            .unwrap();
        assert_eq!((sum.added, sum.updated), (1, 1));
        assert_eq!(s.list_users().unwrap(), vec![d2]);
        assert_eq!(s.stats().users, 1);
    }
}
