//! Opening a record's message (decrypting and normalising its raw bytes)
//! within a budget, with a durable count of the openings that failed.
//!
//! Opening is the one step that runs on bytes an attacker chose, so it may
//! crash the process, panic, or run for ever. Hence:
//!
//! * Before an opening touches the message, `opening.in_progress` is
//!   written and flushed to the operating system, by the opening's own
//!   thread (so the flush does not hold up the record being worked on; no
//!   `fdatasync`: what it guards against is the process dying, which loses
//!   nothing the OS holds; a power cut that loses the flag costs at most
//!   one more try of the message). Found set later, when nothing runs, the
//!   process died during it (abort, OOM kill, SIGKILL). Clearing it after a
//!   successful opening is not flushed by itself (the next flush takes it
//!   along; a crash before then makes the message a suspect once, opened
//!   alone next time, see below); failures, suspicions and stubs are synced.
//! * A crash takes every opening running at the time with it, and whatever
//!   else the process was doing (another record's side effect, an external
//!   SIGKILL) may have caused it. So it is counted as a failure of the
//!   message only when its opening ran alone (`opening.alone`: started by
//!   the work loop with nothing else running beside it, the loop waiting
//!   for it); otherwise each message that was being opened becomes a
//!   suspect and is next opened alone: the innocent ones then open, the
//!   guilty one crashes again, alone. A suspicion never counts towards the
//!   stub by itself, so a report is not given up because the process was
//!   killed while it happened to be open.
//! * It runs on the blocking pool with a cooperative deadline (`[limits]
//!   open_budget`, checked before every private-key operation and encrypted
//!   part) and is waited for at most half as long again from outside; a
//!   panic is caught by the join (logged by tracking ID, never its payload,
//!   and counted in `secintake_open_failures_total`).
//! * After [`MAX_FAILED_OPENINGS`] failed openings (panics, budget overruns,
//!   crashes while it was opened alone) the message is never opened again:
//!   a record not yet filed becomes [`Kind::Unreadable`] and is filed as a
//!   stub from the record's facts and the outer headers (size, SHA-256,
//!   reason), and the reporter is told how to resend. Every later opening of
//!   the record (filing retries, the acknowledgement) gets the same stub, so
//!   nothing opens the message behind the counter's back.
//!
//! An opening interrupted by our own shutdown is not a failure: the flag is
//! cleared ([`Pipeline::abandon_opening`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::Pipeline;
use crate::normalize::{self, Opened};
use crate::openpgp::Budget;
use crate::ops::failpoint;
use crate::record::{Kind, Record};
use crate::store::StoreError;

/// Failed openings after which a message is filed as a stub, unopened.
pub const MAX_FAILED_OPENINGS: u32 = 2;

const CRASHED: &str = "the process stopped while opening it (crash or kill)";

/// Openings running in this process and waited for (a thread that ran
/// past its limit and was left to finish on its own is not counted, so
/// a thread that never returns cannot keep suspects from being opened).
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Counts one running opening from its start until it is settled.
struct Running;

impl Running {
    fn start() -> Running {
        RUNNING.fetch_add(1, Ordering::SeqCst);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether any opening runs in this process.
pub fn openings_running() -> bool {
    RUNNING.load(Ordering::SeqCst) > 0
}
const PANICKED: &str = "opening it panicked";

/// What the opening thread hands back.
struct Outcome {
    opened: Opened,
    /// The cooperative deadline stopped it (the reason).
    over_budget: Option<String>,
}

/// An opening running on the blocking pool.
pub struct Opening {
    /// Err: the flag could not be flushed, so the message was not touched.
    task: JoinHandle<Result<Outcome, StoreError>>,
    started: Instant,
    _running: Running,
}

impl Opening {
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// What [`Pipeline::begin_opening`] did.
pub enum Begun {
    Running(Opening),
    /// Not started: the message is to be opened alone, and others run (or
    /// the caller cannot keep others from starting beside it).
    Alone,
    /// Not opened: the stub of a message that failed too often.
    Stub(Box<Opened>),
    /// The raw bytes are gone (archived).
    Gone,
}

/// What [`Pipeline::finish_opening`] found.
pub enum Finished {
    Opened(Box<Opened>),
    /// Failed (counted); the record waits for the next pass.
    Failed,
    /// Still running, within its budget.
    Pending(Opening),
}

impl Pipeline {
    /// How long an opening is waited for in all, from its start.
    fn open_limit(&self) -> Duration {
        let budget = self.settings.limits.open_budget;
        budget + budget / 2
    }

    /// Starts opening `rec`'s message, marking the attempt durably first;
    /// or, after [`MAX_FAILED_OPENINGS`], hands back the stub instead. With
    /// `solo`, the caller starts no other opening until this one is
    /// settled, so a message that is to be opened alone may start (when
    /// nothing else runs).
    pub fn begin_opening(&self, rec: &mut Record, solo: bool) -> Result<Begun, StoreError> {
        if rec.opening.in_progress {
            // Nothing of ours runs it (the caller asks only then): the
            // process that started it died.
            crate::ops::metrics::global().open_failed("crash");
            let o = &mut rec.opening;
            o.in_progress = false;
            if o.alone {
                o.failed = o.failed.saturating_add(1);
                o.last_failure = Some(CRASHED.into());
            } else {
                o.suspect = o.suspect.saturating_add(1);
            }
            tracing::warn!(tracking_id = %rec.tracking_id, alone = o.alone, "an earlier opening of this message did not finish (crash or kill)");
            self.store.put_synced(rec)?;
        }
        let Some(raw) = self.store.raw(&rec.tracking_id)? else {
            return Ok(Begun::Gone);
        };
        let o = &rec.opening;
        if o.failed >= MAX_FAILED_OPENINGS {
            let stub = self.stub(rec, &raw)?;
            return Ok(Begun::Stub(Box::new(stub)));
        }
        let alone = !openings_running();
        if (o.suspect > 0 || o.failed > 0) && !(solo && alone) {
            return Ok(Begun::Alone);
        }
        rec.opening.in_progress = true;
        rec.opening.alone = solo && alone;
        self.store.put_deferred(rec)?;
        let store = self.store.clone();
        let similarity_key = self.store.similarity_key()?;
        let dedupe = self.settings.dedupe.clone();
        let keyring = self.keyring.clone();
        let limits = self.settings.limits.clone();
        let id = rec.tracking_id.clone();
        let oversized = rec.facts.oversized;
        let running = Running::start();
        let task = tokio::task::spawn_blocking(move || {
            // The flag reaches the OS before the message is touched.
            failpoint::hit("store.put.flush");
            store.flush()?;
            failpoint::hit_keyed("open.panic", &id);
            failpoint::hit_keyed("open.abort", &id);
            failpoint::hit_keyed("open.hang", &id);
            let mut budget = Budget::new(limits.max_key_attempts, limits.max_wildcard_attempts)
                .with_deadline(limits.open_budget);
            let mut opened =
                normalize::open_stored(&keyring, &raw, oversized, &limits, &mut budget);
            // Classification needs it and it needs only the text: worked
            // out here, beside the other openings, not in the record's turn.
            opened.prepared = Some(crate::classify::prepare(
                &opened.text,
                &similarity_key,
                &dedupe,
            ));
            Ok(Outcome {
                opened,
                over_budget: budget.over_time().then(|| budget.over_time_reason()),
            })
        });
        Ok(Begun::Running(Opening {
            task,
            started: Instant::now(),
            _running: running,
        }))
    }

    /// Waits for `opening` at most `wait` (None: until its limit) and
    /// settles the attempt counter: cleared when it finished normally,
    /// counted when it panicked or ran past its budget.
    pub async fn finish_opening(
        &self,
        rec: &mut Record,
        mut opening: Opening,
        wait: Option<Duration>,
    ) -> Result<Finished, StoreError> {
        let limit = self.open_limit();
        let left = limit.saturating_sub(opening.started.elapsed());
        let wait = wait.map_or(left, |w| w.min(left));
        match tokio::time::timeout(wait, &mut opening.task).await {
            Ok(Ok(Ok(Outcome {
                opened,
                over_budget: None,
            }))) => {
                // Opened: whatever crashed beside it earlier was not this.
                rec.opening.in_progress = false;
                rec.opening.suspect = 0;
                self.store.put_deferred(rec)?;
                let mut opened = opened;
                self.our_list_copy(&mut opened);
                Ok(Finished::Opened(Box::new(opened)))
            }
            Ok(Ok(Ok(Outcome {
                over_budget: Some(reason),
                ..
            }))) => self.opening_failed(rec, "budget", reason),
            Ok(Ok(Err(e))) => {
                // Not opened: the flag is not set on the disk either.
                rec.opening.in_progress = false;
                self.store.put_deferred(rec)?;
                Err(e)
            }
            Ok(Err(e)) if e.is_panic() => {
                // The payload may quote the mail: only the tracking ID is logged.
                tracing::error!(tracking_id = %rec.tracking_id, "opening the message panicked");
                self.opening_failed(rec, "panic", PANICKED.into())
            }
            Ok(Err(_)) => {
                // Cancelled: the runtime is shutting down.
                self.abandon_opening(rec)?;
                Ok(Finished::Failed)
            }
            Err(_) if opening.started.elapsed() >= limit => {
                // The thread did not stop at its deadline; it is left to
                // finish on its own (a blocking thread cannot be killed) and
                // its result is ignored.
                let reason = format!(
                    "opening the message did not stop within {:.1} s (1.5 x limits.open_budget)",
                    limit.as_secs_f64()
                );
                self.opening_failed(rec, "budget", reason)
            }
            Err(_) => Ok(Finished::Pending(opening)),
        }
    }

    fn opening_failed(
        &self,
        rec: &mut Record,
        metric: &'static str,
        reason: String,
    ) -> Result<Finished, StoreError> {
        crate::ops::metrics::global().open_failed(metric);
        rec.opening.in_progress = false;
        rec.opening.failed = rec.opening.failed.saturating_add(1);
        tracing::warn!(tracking_id = %rec.tracking_id, failed = rec.opening.failed, reason = %reason, "opening the message failed");
        rec.opening.last_failure = Some(reason);
        self.store.put_synced(rec)?;
        Ok(Finished::Failed)
    }

    /// A copy from one of our own lists is a report like any other
    /// ([`crate::classify::lists`]): every opening, and so classification,
    /// filing and the acknowledgement, sees it so.
    fn our_list_copy(&self, opened: &mut Opened) {
        let i = &self.settings.instance;
        crate::classify::lists::apply(opened, &i.addresses, &i.channels);
    }

    /// An opening stopped by our own shutdown: not a failure of the message.
    pub fn abandon_opening(&self, rec: &mut Record) -> Result<(), StoreError> {
        if rec.opening.in_progress {
            rec.opening.in_progress = false;
            self.store.put_synced(rec)?;
        }
        Ok(())
    }

    /// The stub of a message that is not opened again. A record that is not
    /// yet filed becomes unreadable (classified here, not by the classifier:
    /// there is no text to classify).
    fn stub(&self, rec: &mut Record, raw: &[u8]) -> Result<Opened, StoreError> {
        let limits = &self.settings.limits;
        // Only headers are parsed, as at intake; should even that panic,
        // the stub goes without them (and without a reply address).
        let mut stub = std::panic::catch_unwind(|| normalize::headers_only(raw, limits))
            .unwrap_or_else(|_| normalize::headers_only(b"", limits));
        self.our_list_copy(&mut stub);
        stub.raw_size = rec.facts.raw_size;
        stub.raw_sha256 = rec.facts.raw_sha256.clone();
        let last = rec.opening.last_failure.as_deref().unwrap_or("unknown");
        let o = &rec.opening;
        let reason = format!(
            "it could not be processed safely: opening it failed {} times (last: {last}), so it was not opened again",
            o.failed
        );
        let unfiled = !rec.filing_done() && !matches!(rec.kind, Some(Kind::Unreadable { .. }));
        if rec.kind.is_none() || unfiled {
            let kind = Kind::Unreadable { reason };
            if rec.kind.is_none() {
                // The acknowledgement is decided here, as classification
                // would have; a classified record keeps its own.
                rec.facts.reply_address = stub.headers.reply_address();
                rec.ack = self.initial_ack(&kind, rec.facts.reply_address.as_deref());
                let own = &self.settings.instance.addresses;
                if let Some(why) = crate::classify::automatic_reason(&stub, own) {
                    rec.ack = crate::record::Ack::Suppressed {
                        reason: format!("automatic mail: {why}"),
                    };
                }
            }
            tracing::info!(tracking_id = %rec.tracking_id, kind = kind.name(), failed_openings = rec.opening.failed, "classified without opening");
            crate::ops::metrics::global().classified(&kind, None);
            rec.kind = Some(kind);
            rec.state = rec.derived_state();
            self.store.put_synced(rec)?;
        }
        Ok(stub)
    }
}
