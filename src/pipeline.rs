//! Advancing one record through the state machine: classify, file,
//! acknowledge, archive. Each step's outcome is written durably before the
//! next side effect starts; a failed step is retried later with backoff and
//! never blocks the independent one (an acknowledgement does not wait for
//! GitHub).

mod ack;
mod filing;

use std::sync::Arc;

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use crate::classify::classify;
use crate::compose::Composer;
use crate::config::Settings;
use crate::effect::EffectError;
use crate::failpoint;
use crate::intake::Source;
use crate::mailer::Mailer;
use crate::normalize::{self, Opened};
use crate::openpgp::Keyring;
use crate::record::{Ack, Attempts, Kind, Record};
use crate::store::{Store, StoreError};
use crate::tracker::Tracker;

pub struct Pipeline {
    pub settings: Settings,
    pub store: Arc<dyn Store>,
    pub keyring: Arc<Keyring>,
    pub templates: crate::render::Templates,
    pub tracker: Tracker,
    pub mailer: Mailer,
}

/// A message being decrypted and normalised on the blocking pool.
pub type Opening = tokio::task::JoinHandle<Opened>;

fn due(a: &Attempts, now: DateTime<Utc>) -> bool {
    a.next_at.is_none_or(|t| t <= now)
}

/// 5 s, 10 s, 20 s … capped at 10 minutes; permanent failures wait an hour.
fn record_failure(a: &mut Attempts, e: &EffectError, now: DateTime<Utc>) {
    a.count = a.count.saturating_add(1);
    a.permanent = e.is_permanent();
    let secs = if a.permanent {
        3600
    } else {
        (5u64 << a.count.min(7).saturating_sub(1)).min(600)
    };
    a.next_at = Some(now + ChronoDuration::seconds(secs as i64));
    // The service said when (Retry-After, rate-limit reset, shared backoff).
    if let Some(at) = e.retry_at() {
        a.next_at = Some(at.max(now));
    }
    a.last_error = Some(e.to_string());
}

fn record_success(a: &mut Attempts) {
    a.next_at = None;
    a.last_error = None;
    a.permanent = false;
}

fn kind_name(k: &Kind) -> &'static str {
    match k {
        Kind::New => "new",
        Kind::Unreadable { .. } => "unreadable",
        Kind::FollowUp { .. } => "follow-up",
        Kind::Duplicate { .. } => "duplicate",
        Kind::Automatic { .. } => "automatic",
        Kind::Resubmitted { .. } => "resubmission",
        Kind::Related { .. } => "related",
    }
}

impl Pipeline {
    fn composer(&self) -> Composer<'_> {
        Composer {
            settings: &self.settings,
            templates: &self.templates,
            key_fingerprint: self.keyring.primary_fingerprint(),
        }
    }

    /// Decrypts and normalises the record's raw message (CPU-bound, off the runtime).
    async fn open(&self, record: &Record) -> Result<Option<Opened>, StoreError> {
        match self.start_opening(record)? {
            Some(task) => Ok(task.await.ok()),
            None => Ok(None),
        }
    }

    /// Starts decrypting and normalising the record's raw message on the
    /// blocking pool; None when the raw bytes are gone (archived).
    fn start_opening(&self, record: &Record) -> Result<Option<Opening>, StoreError> {
        let Some(raw) = self.store.raw(&record.tracking_id)? else {
            return Ok(None);
        };
        let keyring = self.keyring.clone();
        let limits = self.settings.limits.clone();
        Ok(Some(tokio::task::spawn_blocking(move || {
            normalize::open(&keyring, &raw, &limits)
        })))
    }

    /// Whether [`Pipeline::advance`] will open this record's message now.
    fn will_open(&self, rec: &Record, now: DateTime<Utc>) -> bool {
        rec.kind.is_none() || self.filing_due(rec, now)
    }

    /// Whether filing is due for `rec`: not done, its retry time reached,
    /// and the tracker not held (repository not known to be private; the
    /// record then waits untouched, see [`crate::tracker::privacy`]).
    fn filing_due(&self, rec: &Record, now: DateTime<Utc>) -> bool {
        !rec.filing_done() && due(&rec.file_attempts, now) && self.tracker.held().is_none()
    }

    /// Starts opening `rec` ahead of its turn when its turn will need it, so
    /// that decryption (CPU) overlaps the network waits of the records
    /// before it. Opening reads only the record's own bytes and the keys;
    /// classification, which depends on earlier records, still runs in
    /// order inside [`Pipeline::advance`].
    pub fn open_ahead(&self, rec: &Record) -> Result<Option<Opening>, StoreError> {
        if self.will_open(rec, Utc::now()) {
            self.start_opening(rec)
        } else {
            Ok(None)
        }
    }

    /// Moves a record as far as it can go now. Returns the record as stored.
    pub async fn advance(&self, rec: Record, source: &mut Source) -> Result<Record, StoreError> {
        self.advance_opening(rec, source, None).await
    }

    /// [`Pipeline::advance`], with the opening of the message perhaps
    /// already started by [`Pipeline::open_ahead`].
    pub async fn advance_opening(
        &self,
        mut rec: Record,
        source: &mut Source,
        ahead: Option<Opening>,
    ) -> Result<Record, StoreError> {
        let mut opened: Option<Opened> = match ahead {
            Some(task) => task.await.ok(),
            None => None,
        };
        if rec.kind.is_none() {
            let o = match opened.take() {
                Some(o) => o,
                None => match self.open(&rec).await? {
                    Some(o) => o,
                    None => return Ok(rec),
                },
            };
            self.classify(&mut rec, &o)?;
            opened = Some(o);
        }
        let now = Utc::now();
        if self.filing_due(&rec, now) {
            if opened.is_none() {
                opened = self.open(&rec).await?;
            }
            if let Some(o) = &opened {
                self.file(&mut rec, o).await?;
            }
        }
        if !rec.ack_done() && due(&rec.ack_attempts, now) {
            self.acknowledge(&mut rec, opened.as_ref()).await?;
        }
        if rec.filing_done() && rec.ack_done() && due(&rec.archive_attempts, now) {
            match source
                .archive(&rec.source, rec.facts.message_id.as_deref())
                .await
            {
                Ok(()) => {
                    failpoint::hit("effect.archive.moved");
                    self.store.archive(&rec)?;
                    rec.state = crate::record::State::Archived;
                    tracing::info!(tracking_id = %rec.tracking_id, "archived");
                }
                Err(e) => {
                    tracing::warn!(tracking_id = %rec.tracking_id, error = %e, "archiving failed");
                    record_failure(&mut rec.archive_attempts, &e, Utc::now());
                    self.store.put(&rec)?;
                }
            }
        }
        Ok(rec)
    }

    fn classify(&self, rec: &mut Record, opened: &Opened) -> Result<(), StoreError> {
        let s = &self.settings.instance;
        let key = self.store.similarity_key()?;
        let ctx = crate::classify::Context {
            store: self.store.as_ref(),
            prefix: &s.tracking_prefix,
            own_addresses: &s.addresses,
            dedupe: &self.settings.dedupe,
            key: &key,
        };
        let decision = classify(opened, rec, &ctx)?;
        let kind = decision.kind;
        rec.facts.encrypted = opened.is_encrypted();
        rec.facts.reply_address = opened.headers.reply_address();
        rec.facts.in_reply_to = opened.headers.in_reply_to.clone();
        rec.facts.text_sha256 = decision.text_sha256;
        rec.facts.fingerprint = decision.fingerprint;
        rec.ack = match &kind {
            Kind::Automatic { reason } => Ack::Suppressed {
                reason: format!("automatic mail: {reason}"),
            },
            Kind::Duplicate { of } => Ack::Suppressed {
                reason: format!("duplicate of {of}"),
            },
            _ => match &rec.facts.reply_address {
                None => Ack::Suppressed {
                    reason: "no reply address".into(),
                },
                Some(a) if s.addresses.contains(a) => Ack::Suppressed {
                    reason: "reply address is our own".into(),
                },
                Some(_) => Ack::Pending,
            },
        };
        tracing::info!(tracking_id = %rec.tracking_id, kind = kind_name(&kind), encrypted = rec.facts.encrypted, "classified");
        crate::metrics::global().classified(&kind);
        rec.kind = Some(kind);
        rec.state = rec.derived_state();
        self.store.put(rec)
    }

    /// The earliest time any unfinished record wants another attempt.
    pub fn next_due(&self, records: &[Record]) -> Option<DateTime<Utc>> {
        records
            .iter()
            .filter(|r| r.state != crate::record::State::Archived)
            .flat_map(|r| {
                [
                    (!r.filing_done())
                        .then_some(r.file_attempts.next_at)
                        .flatten(),
                    (!r.ack_done()).then_some(r.ack_attempts.next_at).flatten(),
                    (r.filing_done() && r.ack_done())
                        .then_some(r.archive_attempts.next_at)
                        .flatten(),
                ]
            })
            .flatten()
            .min()
    }
}
