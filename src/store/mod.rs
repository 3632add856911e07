//! The durable state store: report records, their raw messages until archived,
//! and the indexes that make intake idempotent. Behind the [`Store`] trait so
//! the sled implementation (0.34, unmaintained) can be replaced; every write
//! that precedes a side effect is flushed to disk before it returns.
//!
//! Message identity at intake ([`Store::admit`]):
//! * the same source position (mailbox, UIDVALIDITY, UID) is taken in once;
//! * the same bytes at a position with a *different* UIDVALIDITY are the same
//!   message renumbered: the unfinished record follows it ([`Admission::Moved`]);
//! * the same bytes at another position of the same numbering (an IMAP COPY,
//!   a second delivery) get a record of their own, which classification marks
//!   as a duplicate, so every copy is archived and none is filed twice.
//!
//! [`Store::check`] runs at start-up: it reports and repairs half-finished
//! records and stale indexes (see [`consistency`]).
//!
//! Layout: this file is the interface (trait, admission, errors);
//! [`consistency`] the check's report; `sled/` everything that knows sled
//! (the store, its in-memory record cache, its consistency check).

pub mod consistency;
pub mod meta;
mod sled;
#[cfg(test)]
mod tests;

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};

use crate::record::{Facts, Record, SourceRef};

pub use consistency::Consistency;
pub use sled::SledStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store: {0}")]
    Sled(#[from] ::sled::Error),
    #[error("state store record {0} is corrupt: {1}")]
    Corrupt(String, String),
    #[error("state store is in use by another process (is the daemon running?): {0}")]
    Locked(String),
}

/// What intake of one fetched message led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// A new record was created and is durable.
    New(Box<Record>),
    /// This source position was already taken in.
    Known(String),
    /// The same bytes are already held under another record, which now points here.
    Moved(String),
}

/// The message as it arrived, and what we can say about it before opening it.
pub struct Intake<'a> {
    pub source: SourceRef,
    pub raw: &'a [u8],
    pub facts: Facts,
    pub received_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub disclose_by: DateTime<Utc>,
}

pub trait Store: Send + Sync {
    /// Records a fetched message, assigning a tracking ID, unless it is
    /// known. Not flushed: the caller flushes once after a batch
    /// ([`Store::flush`]), before anything is done with them.
    fn admit(&self, prefix: &str, intake: Intake<'_>) -> Result<Admission, StoreError>;
    fn get(&self, tracking_id: &str) -> Result<Option<Record>, StoreError>;
    /// Writes a record durably (flushed before returning): it survives a
    /// crash or kill of the daemon.
    fn put(&self, record: &Record) -> Result<(), StoreError>;
    /// [`Store::put`], and it survives a power cut too (`fdatasync`). For the
    /// writes whose loss could repeat an external effect: the intent written
    /// right before a tracker filing or an acknowledgement is attempted.
    /// Waits first for the files of the directory tracker and the outbox
    /// written so far ([`crate::support::durable_file::settle`]), so a state
    /// that survived never refers to a file that did not.
    fn put_synced(&self, record: &Record) -> Result<(), StoreError>;
    /// Writes a record without flushing it: a crash before the next flush
    /// (any [`Store::put`], [`Store::flush`], [`Store::sync`]) loses it. Only
    /// for writes whose loss a crash can cost no more than a repetition
    /// that is recognised: a local effect done again (the directory tracker
    /// finds its file by tracking ID, the outbox its message by label) or
    /// an opening counted once more.
    fn put_deferred(&self, record: &Record) -> Result<(), StoreError>;
    /// Everything written so far survives a crash or kill of the daemon.
    fn flush(&self) -> Result<(), StoreError>;
    /// Everything written so far survives a power cut too, after the local
    /// files written so far (as [`Store::put_synced`]).
    fn sync(&self) -> Result<(), StoreError>;
    fn raw(&self, tracking_id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Marks the record archived and drops its raw bytes; flushed by the
    /// caller ([`Store::flush`]) after a batch (a crash before then only
    /// repeats the archiving, which finds the message moved already).
    fn archive(&self, record: &Record) -> Result<(), StoreError>;
    /// Every record, in arrival order (received time, then tracking ID).
    fn all(&self) -> Result<Vec<Record>, StoreError>;
    /// Shows every record to `visit`, in the order of [`Store::all`], without
    /// copying; stops when `visit` breaks. `visit` must not call the store.
    fn scan(&self, visit: &mut dyn FnMut(&Record) -> ControlFlow<()>) -> Result<(), StoreError>;
    /// The first record taken in with this Message-ID.
    fn by_message_id(&self, message_id: &str) -> Result<Option<String>, StoreError>;
    /// The first record taken in with these exact bytes (SHA-256, hex).
    fn by_raw_hash(&self, raw_sha256: &str) -> Result<Option<String>, StoreError>;
    /// Whether a message at this source position was already taken in.
    fn knows_source(&self, source: &SourceRef) -> Result<bool, StoreError>;
    /// This installation's random key for similarity fingerprints (created once).
    fn similarity_key(&self) -> Result<Vec<u8>, StoreError>;
    /// A small value kept under `key` beside the records (high-water marks,
    /// coordinator command intents: `conversation/…`).
    fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes `value` under `key` durably (flushed); with `synced`, as
    /// [`Store::put_synced`] (an intent before a side effect).
    fn meta_put(&self, key: &str, value: &[u8], synced: bool) -> Result<(), StoreError>;
    /// Every `(key, value)` whose key starts with `prefix`, in key order.
    fn meta_scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Checks every record and index; with `repair`, fixes what can be fixed.
    fn check(&self, repair: bool) -> Result<Consistency, StoreError>;
}
