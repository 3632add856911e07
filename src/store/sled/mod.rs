//! The sled implementation of [`Store`]. Each tree is one concern: records
//! (JSON), raw message bytes, and the indexes by source position, raw hash and
//! Message-ID. Writes that precede a side effect are flushed before returning.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::Datelike;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

mod cache;
mod check;

use self::cache::RecordCache;
use super::{Admission, Consistency, Intake, Store, StoreError};
use crate::ops::failpoint;
use crate::record::{Ack, Attempts, Record, SourceRef, State};

pub struct SledStore {
    pub(super) db: sled::Db,
    pub(super) records: sled::Tree,
    pub(super) raw: sled::Tree,
    pub(super) by_source: sled::Tree,
    pub(super) by_hash: sled::Tree,
    pub(super) by_message_id: sled::Tree,
    pub(super) meta: sled::Tree,
    /// Decoded records, loaded on first use, written through; `None` also
    /// after a repair wrote to the trees directly.
    cache: RwLock<Option<RecordCache>>,
    /// sled's log file, for `fdatasync` (see [`Store::put_synced`]).
    pub(super) log_file: Option<std::fs::File>,
}

impl SledStore {
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Sled(sled::Error::Io(e)))?;
        // No flusher thread: the log is written when we flush (before
        // each side effect that needs it, after each batch), so it never
        // runs ahead of the local files a state refers to.
        let db = sled::Config::new()
            .path(dir.join("db"))
            .flush_every_ms(None)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(io)
                    if io.kind() == std::io::ErrorKind::WouldBlock
                        || io.raw_os_error() == Some(11) =>
                {
                    StoreError::Locked(dir.display().to_string())
                }
                other => StoreError::Sled(other),
            })?;
        // sled 0.34 keeps its log in `<path>/db`. Its flush writes with
        // sync_file_range, which survives a crash of this process but not
        // a power cut (no file-size metadata, no device cache flush).
        let log_file = std::fs::File::open(dir.join("db").join("db")).ok();
        if log_file.is_none() {
            tracing::warn!("state store: sled's log file was not found; writes before side effects survive a crash of the daemon but may not survive a power cut");
        }
        Ok(SledStore {
            log_file,
            records: db.open_tree("records")?,
            raw: db.open_tree("raw")?,
            by_source: db.open_tree("by_source")?,
            by_hash: db.open_tree("by_hash")?,
            by_message_id: db.open_tree("by_message_id")?,
            meta: db.open_tree("meta")?,
            db,
            cache: RwLock::new(None),
        })
    }

    /// The cache, loaded from the records tree if it is not yet.
    fn cached(&self) -> Result<RwLockReadGuard<'_, Option<RecordCache>>, StoreError> {
        {
            let guard = self.cache.read().unwrap_or_else(|e| e.into_inner());
            if guard.is_some() {
                return Ok(guard);
            }
        }
        let mut loaded = RecordCache::default();
        for item in self.records.iter() {
            let (k, v) = item?;
            loaded.upsert(Self::decode(&String::from_utf8_lossy(&k), &v)?);
        }
        let mut guard = self.cache_mut();
        if guard.is_none() {
            *guard = Some(loaded);
        }
        drop(guard);
        Ok(self.cache.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn cache_mut(&self) -> RwLockWriteGuard<'_, Option<RecordCache>> {
        self.cache.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps a loaded cache in step with a record just written to the tree.
    fn remember(&self, record: Record) {
        if let Some(cache) = self.cache_mut().as_mut() {
            cache.upsert(record);
        }
    }

    pub(super) fn decode(id: &str, bytes: &[u8]) -> Result<Record, StoreError> {
        serde_json::from_slice(bytes)
            .map_err(|e| StoreError::Corrupt(id.to_string(), e.to_string()))
    }

    pub(super) fn encode(record: &Record) -> Vec<u8> {
        // Serialising a plain struct of strings, numbers and dates cannot fail.
        serde_json::to_vec(record).unwrap_or_default()
    }

    pub(super) fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// `fdatasync` of sled's log (its flush alone does not survive a power cut).
    fn sync_log(&self) -> Result<(), StoreError> {
        if let Some(f) = &self.log_file {
            f.sync_data()
                .map_err(|e| StoreError::Sled(sled::Error::Io(e)))?;
        }
        Ok(())
    }
}

fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

impl Store for SledStore {
    fn admit(&self, prefix: &str, intake: Intake<'_>) -> Result<Admission, StoreError> {
        let source_key = intake.source.key();
        let hash_key = intake.facts.raw_sha256.clone();
        let year = intake.received_at.year();
        let result = (
            &self.records,
            &self.raw,
            &self.by_source,
            &self.by_hash,
            &self.by_message_id,
            &self.meta,
        )
            .transaction(|(records, raw, by_source, by_hash, by_mid, meta)| {
                if let Some(id) = by_source.get(source_key.as_bytes())? {
                    return Ok(Admission::Known(String::from_utf8_lossy(&id).into_owned()));
                }
                if let Some(id) = by_hash.get(hash_key.as_bytes())? {
                    let id = String::from_utf8_lossy(&id).into_owned();
                    if let Some(bytes) = records.get(id.as_bytes())? {
                        let mut rec = Self::decode(&id, &bytes).map_err(abort)?;
                        if rec.state != State::Archived && renumbered(&rec.source, &intake.source) {
                            // Same bytes, renumbered mailbox (UIDVALIDITY
                            // change): follow the message. A copy in the same
                            // numbering gets its own record below, classified
                            // as a duplicate, so that both get archived.
                            rec.source = intake.source.clone();
                            records.insert(id.as_bytes(), Self::encode(&rec))?;
                            by_source.insert(source_key.as_bytes(), id.as_bytes())?;
                            return Ok(Admission::Moved(id));
                        }
                    }
                }
                let seq_key = format!("seq/{year}");
                let next = match meta.get(seq_key.as_bytes())? {
                    Some(v) => u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8])) + 1,
                    None => 1,
                };
                meta.insert(seq_key.as_bytes(), &next.to_be_bytes())?;
                let tracking_id = format!("{prefix}-{year}-{next:04}");
                let record = Record {
                    tracking_id: tracking_id.clone(),
                    state: State::Received,
                    received_at: intake.received_at,
                    source: intake.source.clone(),
                    facts: intake.facts.clone(),
                    kind: None,
                    filing: None,
                    file_attempts: Attempts::default(),
                    ack: Ack::Pending,
                    ack_attempts: Attempts::default(),
                    archive_attempts: Attempts::default(),
                    respond_by: intake.respond_by,
                    disclose_by: intake.disclose_by,
                    related_note: None,
                    watch: Default::default(),
                    opening: Default::default(),
                    lifecycle: Default::default(),
                };
                records.insert(tracking_id.as_bytes(), Self::encode(&record))?;
                raw.insert(tracking_id.as_bytes(), intake.raw)?;
                by_source.insert(source_key.as_bytes(), tracking_id.as_bytes())?;
                if by_hash.get(hash_key.as_bytes())?.is_none() {
                    by_hash.insert(hash_key.as_bytes(), tracking_id.as_bytes())?;
                }
                if let Some(mid) = &intake.facts.message_id {
                    if by_mid.get(mid.as_bytes())?.is_none() {
                        by_mid.insert(mid.as_bytes(), tracking_id.as_bytes())?;
                    }
                }
                failpoint::hit("store.admit.txn");
                Ok(Admission::New(Box::new(record)))
            });
        let admission = match result {
            Ok(a) => a,
            Err(TransactionError::Abort(e)) => return Err(e),
            Err(TransactionError::Storage(e)) => return Err(e.into()),
        };
        match &admission {
            Admission::New(record) => self.remember(record.as_ref().clone()),
            Admission::Moved(id) => {
                if let Some(bytes) = self.records.get(id.as_bytes())? {
                    self.remember(Self::decode(id, &bytes)?);
                }
            }
            Admission::Known(_) => {}
        }
        Ok(admission)
    }

    fn get(&self, tracking_id: &str) -> Result<Option<Record>, StoreError> {
        Ok(self
            .cached()?
            .as_ref()
            .and_then(|c| c.get(tracking_id))
            .cloned())
    }

    fn put(&self, record: &Record) -> Result<(), StoreError> {
        self.put_deferred(record)?;
        failpoint::hit("store.put.flush");
        self.flush()
    }

    fn put_synced(&self, record: &Record) -> Result<(), StoreError> {
        self.put_deferred(record)?;
        failpoint::hit("store.put.flush");
        self.sync()
    }

    fn put_deferred(&self, record: &Record) -> Result<(), StoreError> {
        self.records
            .insert(record.tracking_id.as_bytes(), Self::encode(record))?;
        self.remember(record.clone());
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        SledStore::flush(self)
    }

    fn sync(&self) -> Result<(), StoreError> {
        crate::support::durable_file::settle()
            .map_err(|e| StoreError::Sled(sled::Error::Io(std::io::Error::other(e))))?;
        self.flush()?;
        self.sync_log()
    }

    fn raw(&self, tracking_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.raw.get(tracking_id.as_bytes())?.map(|v| v.to_vec()))
    }

    fn archive(&self, record: &Record) -> Result<(), StoreError> {
        let mut rec = record.clone();
        rec.state = State::Archived;
        let bytes = Self::encode(&rec);
        let id = rec.tracking_id.as_bytes();
        let result: Result<(), TransactionError<StoreError>> = (&self.records, &self.raw)
            .transaction(|(records, raw)| {
                records.insert(id, bytes.clone())?;
                raw.remove(id)?;
                Ok(())
            });
        match result {
            Ok(()) => {}
            Err(TransactionError::Abort(e)) => return Err(e),
            Err(TransactionError::Storage(e)) => return Err(e.into()),
        }
        self.remember(rec);
        Ok(())
    }

    fn all(&self) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        self.scan(&mut |r| {
            out.push(r.clone());
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    fn scan(&self, visit: &mut dyn FnMut(&Record) -> ControlFlow<()>) -> Result<(), StoreError> {
        if let Some(cache) = self.cached()?.as_ref() {
            cache.visit(visit);
        }
        Ok(())
    }

    fn by_message_id(&self, message_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .by_message_id
            .get(message_id.as_bytes())?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn by_raw_hash(&self, raw_sha256: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .by_hash
            .get(raw_sha256.as_bytes())?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn knows_source(&self, source: &SourceRef) -> Result<bool, StoreError> {
        Ok(self.by_source.contains_key(source.key().as_bytes())?)
    }

    fn similarity_key(&self) -> Result<Vec<u8>, StoreError> {
        const KEY: &[u8] = b"similarity_key";
        if let Some(k) = self.meta.get(KEY)? {
            return Ok(k.to_vec());
        }
        let fresh = random_key()?;
        // Two processes cannot hold the store; compare-and-swap anyway.
        let _ = self
            .meta
            .compare_and_swap(KEY, None as Option<&[u8]>, Some(fresh.as_slice()))?;
        self.flush()?;
        Ok(self.meta.get(KEY)?.map(|k| k.to_vec()).unwrap_or(fresh))
    }

    fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.get(key.as_bytes())?.map(|v| v.to_vec()))
    }

    fn meta_put(&self, key: &str, value: &[u8], synced: bool) -> Result<(), StoreError> {
        self.meta.insert(key.as_bytes(), value)?;
        if synced {
            self.sync()
        } else {
            self.flush()
        }
    }

    fn meta_scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.meta
            .scan_prefix(prefix.as_bytes())
            .map(|item| {
                let (k, v) = item?;
                Ok((String::from_utf8_lossy(&k).into_owned(), v.to_vec()))
            })
            .collect()
    }

    fn check(&self, repair: bool) -> Result<Consistency, StoreError> {
        let checked = check::check(self, repair);
        if repair {
            // The repair wrote to the trees directly: reload on next use.
            *self.cache_mut() = None;
        }
        checked
    }
}

/// Whether `now` is the same mailbox as `before` under a new UIDVALIDITY.
fn renumbered(before: &SourceRef, now: &SourceRef) -> bool {
    match (before, now) {
        (
            SourceRef::Imap {
                mailbox: m1,
                uidvalidity: v1,
                ..
            },
            SourceRef::Imap {
                mailbox: m2,
                uidvalidity: v2,
                ..
            },
        ) => m1 == m2 && v1 != v2,
        _ => false,
    }
}

fn random_key() -> Result<Vec<u8>, StoreError> {
    use std::io::Read;
    let mut key = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(|e| StoreError::Sled(sled::Error::Io(e)))?;
    Ok(key)
}
