//! Advancing one record through the state machine: classify, file,
//! acknowledge, archive. Each step's outcome is written durably before the
//! next side effect starts; a failed step is retried later with backoff and
//! never blocks the independent one (an acknowledgement does not wait for
//! GitHub).

mod ack;
pub mod advisories;
pub mod commands;
pub mod conversation;
pub mod credit;
mod filing;
pub mod lifecycle;
pub mod opening;
pub mod ratecap;
pub mod reminders;

use std::sync::Arc;

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use crate::classify::classify;
use crate::compose::Composer;
use crate::config::Settings;
use crate::intake::Source;
use crate::mailer::Mailer;
use crate::normalize::Opened;
use crate::openpgp::Keyring;
use crate::ops::failpoint;
use crate::record::{Ack, Attempts, Kind, Record};

use crate::store::{Store, StoreError};
use crate::support::effect::EffectError;
use crate::tracker::Tracker;
pub use opening::{openings_running, Begun, Finished, Opening, MAX_FAILED_OPENINGS};

pub struct Pipeline {
    pub settings: Settings,
    pub store: Arc<dyn Store>,
    pub keyring: Arc<Keyring>,
    pub templates: crate::render::Templates,
    pub tracker: Tracker,
    pub mailer: Mailer,
    /// One client per `[[advisories.source]]`, each with its credentials.
    pub advisories: Vec<crate::tracker::github::advisories::AdvisoryClient>,
}

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

impl Pipeline {
    /// Where our own copy of a mail goes (`[acknowledgement] sent_copy`):
    /// the first of our addresses, or nowhere.
    pub(crate) fn sent_copy_address(&self) -> Option<&str> {
        if !self.settings.ack.sent_copy {
            return None;
        }
        self.settings.instance.addresses.first().map(String::as_str)
    }

    pub(crate) fn composer(&self) -> Composer<'_> {
        Composer {
            settings: &self.settings,
            templates: &self.templates,
            key_fingerprint: self.keyring.primary_fingerprint(),
        }
    }

    /// Decrypts and normalises the record's raw message (CPU-bound, off the
    /// runtime), waiting up to its budget; None when the raw bytes are gone
    /// or the opening failed (counted, see [`opening`]). The work loop opens
    /// ahead of time whatever [`Pipeline::will_open`] says, so this waits
    /// inline only outside it.
    async fn open(&self, rec: &mut Record) -> Result<Option<Opened>, StoreError> {
        match self.begin_opening(rec, true)? {
            Begun::Running(o) => match self.finish_opening(rec, o, None).await? {
                Finished::Opened(o) => Ok(Some(*o)),
                Finished::Failed | Finished::Pending(_) => Ok(None),
            },
            Begun::Stub(o) => Ok(Some(*o)),
            Begun::Gone | Begun::Alone => Ok(None),
        }
    }

    /// Whether [`Pipeline::advance`] will open this record's message now:
    /// to classify it, to file it, or to seal its acknowledgement.
    fn will_open(&self, rec: &Record, now: DateTime<Utc>) -> bool {
        rec.kind.is_none()
            || self.filing_due(rec, now)
            || (rec.facts.encrypted && !rec.ack_done() && due(&rec.ack_attempts, now))
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
    /// classification, which depends on earlier records, happens when the
    /// record is advanced.
    pub fn open_ahead(&self, rec: &mut Record) -> Result<Option<Begun>, StoreError> {
        if self.will_open(rec, crate::support::clock::now()) {
            self.begin_opening(rec, false).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Moves a record as far as it can go now, short of archiving it (see
    /// [`Pipeline::archive_done`]), with the message perhaps already opened
    /// (see [`Pipeline::open_ahead`]). Returns the record as stored.
    pub async fn advance_opening(
        &self,
        mut rec: Record,
        mut opened: Option<Opened>,
    ) -> Result<Record, StoreError> {
        if rec.kind.is_none() {
            let o = match opened.take() {
                Some(o) => o,
                None => match self.open(&mut rec).await? {
                    Some(o) => o,
                    None => return Ok(rec),
                },
            };
            // A stub of a message that failed to open comes classified.
            if rec.kind.is_none() {
                self.classify(&mut rec, &o)?;
            }
            opened = Some(o);
        }
        let now = crate::support::clock::now();
        if self.filing_due(&rec, now) {
            if opened.is_none() {
                opened = self.open(&mut rec).await?;
            }
            if let Some(o) = &opened {
                self.file(&mut rec, o).await?;
            }
        }
        if !rec.ack_done() && due(&rec.ack_attempts, now) {
            self.acknowledge(&mut rec, opened.as_ref()).await?;
        }
        Ok(rec)
    }

    /// Whether `rec` is filed and acknowledged, and its archiving due.
    pub fn archive_due(&self, rec: &Record) -> bool {
        rec.filing_done()
            && rec.ack_done()
            && due(&rec.archive_attempts, crate::support::clock::now())
    }

    /// Moves the messages of `done` (records [`Pipeline::archive_due`] said
    /// yes to, in order) out of the inbox, after making every state and
    /// local file written so far survive a power cut: one `fdatasync` and
    /// one wait for the disk per batch instead of one per record. Nothing is
    /// moved when that fails (the records wait for the next pass).
    pub async fn archive_done(
        &self,
        done: &[String],
        source: &mut Source,
    ) -> Result<(), StoreError> {
        if done.is_empty() {
            return self.store.flush();
        }
        self.store.sync()?;
        for id in done {
            let Some(mut rec) = self.store.get(id)? else {
                continue;
            };
            match source
                .archive(&rec.source, rec.facts.message_id.as_deref())
                .await
            {
                Ok(()) => {
                    failpoint::hit("effect.archive.moved");
                    self.store.archive(&rec)?;
                    tracing::info!(tracking_id = %rec.tracking_id, "archived");
                }
                Err(e) => {
                    tracing::warn!(tracking_id = %rec.tracking_id, error = %e, "archiving failed");
                    record_failure(&mut rec.archive_attempts, &e, crate::support::clock::now());
                    self.store.put_deferred(&rec)?;
                }
            }
        }
        failpoint::hit("store.archive.flush");
        self.store.flush()
    }

    /// Writes `rec` before or after a filing: synced before a GitHub
    /// request (its loss could file twice), flushed after it; not flushed at
    /// all for the directory tracker, whose files are found again by
    /// tracking ID (see [`crate::tracker::directory`]).
    pub(crate) fn put_filing(&self, rec: &Record, before: bool) -> Result<(), StoreError> {
        match (self.tracker.is_local(), before) {
            (true, _) => self.store.put_deferred(rec),
            (false, true) => self.store.put_synced(rec),
            (false, false) => self.store.put(rec),
        }
    }

    /// [`Pipeline::put_filing`] for the acknowledgement: the intent synced
    /// before an SMTP submission; before an outbox write only flushed (a
    /// message written again under its label is not written twice, but the
    /// intent's Message-ID is what a copy of ours that arrives later is
    /// matched against, so it must outlive a crash); the outcome flushed
    /// after SMTP, not by itself after the outbox.
    pub(crate) fn put_sending(&self, rec: &Record, before: bool) -> Result<(), StoreError> {
        match (self.mailer.is_local(), before) {
            (true, true) => self.store.put(rec),
            (true, false) => self.store.put_deferred(rec),
            (false, true) => self.store.put_synced(rec),
            (false, false) => self.store.put(rec),
        }
    }

    fn classify(&self, rec: &mut Record, opened: &Opened) -> Result<(), StoreError> {
        let s = &self.settings.instance;
        let key = self.store.similarity_key()?;
        let ids = crate::mailer::message_id::MessageIds::derive(&key);
        let reporter = self.ack_address(rec, opened);
        let ctx = crate::classify::Context {
            store: self.store.as_ref(),
            prefix: &s.tracking_prefix,
            own_addresses: &s.addresses,
            channels: &s.channels,
            dedupe: &self.settings.dedupe,
            key: &key,
            ids: &ids,
            reporter: reporter.as_deref(),
        };
        let decision = classify(opened, rec, &ctx)?;
        let kind = decision.kind;
        rec.facts.encrypted = opened.is_encrypted();
        rec.facts.reply_address = reporter;
        if let Some(sender) = decision.forwarded_from {
            // A report a team member forwarded: its reporter is the
            // forwarded message's sender.
            rec.facts.forwarded_by = opened.headers.from.clone();
            rec.facts.reply_address = Some(sender);
        }
        rec.facts.in_reply_to = opened.headers.in_reply_to.clone();
        rec.facts.text_sha256 = decision.text_sha256;
        rec.facts.fingerprint = decision.fingerprint;
        rec.ack = self.initial_ack(&kind, rec.facts.reply_address.as_deref());
        if rec.facts.forwarded_by.is_some() && !s.channels.acknowledge_team_forwards {
            rec.ack = Ack::Suppressed {
                reason: "forwarded by the team (instance.acknowledge_team_forwards is off)".into(),
            };
        }
        tracing::info!(tracking_id = %rec.tracking_id, kind = kind.name(), encrypted = rec.facts.encrypted, "classified");
        let failure = match &opened.encryption {
            crate::normalize::Encryption::Failed { reason, .. } if opened.malformed.is_none() => {
                Some(reason)
            }
            _ => None,
        };
        crate::ops::metrics::global().classified(&kind, failure);
        rec.kind = Some(kind);
        rec.state = rec.derived_state();
        // Flushed with the filing's intent, before any effect: a crash
        // before then classifies the message again.
        self.store.put_deferred(rec)
    }

    /// Whether a report of this kind is to be acknowledged, and to where.
    fn initial_ack(&self, kind: &Kind, reply_address: Option<&str>) -> Ack {
        let s = &self.settings.instance;
        match kind {
            Kind::Automatic { reason } => Ack::Suppressed {
                reason: format!("automatic mail: {reason}"),
            },
            Kind::Duplicate { of } => Ack::Suppressed {
                reason: format!("duplicate of {of}"),
            },
            Kind::TeamComment { .. } | Kind::Team { .. } => Ack::Suppressed {
                reason: "team mail".into(),
            },
            _ => match reply_address {
                None => Ack::Suppressed {
                    reason: "no reply address".into(),
                },
                Some(a) if s.addresses.iter().any(|o| o.eq_ignore_ascii_case(a)) => {
                    Ack::Suppressed {
                        reason: "reply address is our own".into(),
                    }
                }
                Some(_) => Ack::Pending,
            },
        }
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
