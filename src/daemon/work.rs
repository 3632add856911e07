//! One pass over the unfinished records, in arrival order, where one slow
//! record never holds back the others.
//!
//! Messages are opened (decrypted, normalised) a few records ahead on the
//! blocking pool, one per core ([`open_ahead`]). When a record's turn comes and its
//! opening has not finished within [`PATIENCE`], the opening is *parked*:
//! it runs on, and the pass goes on with the later records, which are
//! classified, filed and acknowledged meanwhile. Later passes (the daemon
//! comes back within [`BUSY_POLL`] while anything is parked) pick the record
//! up once its opening finished, or count the opening as failed once it ran
//! past its budget (see [`crate::pipeline::opening`]).
//!
//! After a crash, a message that was being opened at the time is opened
//! alone: no look-ahead starts beside it, and its turn waits for its opening
//! (at most its budget) instead of parking it. That is the one case where a
//! record can hold back the others, for at most the budget, once per crash.
//!
//! Order: classification looks at earlier records (duplicates, follow-ups,
//! resubmissions, related reports), so records are classified in arrival
//! order, except that a record whose opening was parked is classified when
//! the opening finishes, after records that arrived later. Of two related
//! reports the quick one then counts as the earlier; nothing is lost or
//! filed twice either way, and every state is still written before the side
//! effect it precedes.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tracing::Instrument;

use super::SHUTDOWN_GRACE;
use crate::intake::Source;
use crate::ops::metrics;
use crate::pipeline::{Begun, Finished, Opening, Pipeline};
use crate::record::{Record, State};
use crate::support::shutdown::Shutdown;

/// How many records ahead of the current one have their message decrypted
/// already, at least: enough to keep a second core busy while the current
/// record waits on GitHub, SMTP or IMAP. [`open_ahead`] raises it to the
/// number of cores, few enough to bound the memory held.
const OPEN_AHEAD: usize = 2;

/// Openings under way ahead of the current record: one per core (at least
/// [`OPEN_AHEAD`]), so a backlog keeps every core decrypting. Side effects
/// still happen one record at a time, in record order.
fn open_ahead() -> usize {
    std::thread::available_parallelism().map_or(OPEN_AHEAD, |n| n.get().max(OPEN_AHEAD))
}

/// How long a record's turn waits for its opening before parking it. An
/// ordinary report opens in milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(2);

/// Openings parked at once. Beyond that a record's turn waits for its
/// opening (at most its budget): the cores stay shared with the others.
const MAX_PARKED: usize = 2;

/// Records archived together (one wait for the disk each batch): enough to
/// spread the `fdatasync`, few enough that their raw messages do not pile
/// up in the store before they are dropped.
const ARCHIVE_BATCH: usize = 32;

/// How soon the next pass comes while openings are parked or to be retried.
pub const BUSY_POLL: Duration = Duration::from_millis(500);

/// Openings that outlived their record's turn, kept across passes.
#[derive(Default)]
pub struct Parked {
    running: HashMap<String, Opening>,
}

impl Parked {
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }
}

/// What a pass did.
pub struct Worked {
    pub records: Vec<Record>,
    /// Openings are parked, or failed and are to be tried again: come back
    /// soon (and `--once` must not stop yet).
    pub busy: bool,
}

/// A record's opening as it stands when its turn comes.
enum Slot {
    /// Nothing to open.
    None,
    Begun(Begun),
    /// Parked in an earlier pass.
    Parked(Opening),
}

/// A record to be opened alone is queued: nothing more starts until its turn.
fn solo_waiting(ahead: &VecDeque<(Record, Slot)>) -> bool {
    ahead
        .iter()
        .any(|(_, s)| matches!(s, Slot::Begun(Begun::Alone)))
}

/// How a record's turn ended.
enum Turn {
    /// Advanced; with `archive`, filed and acknowledged, to be archived
    /// at the end of the pass.
    Done {
        archive: bool,
    },
    Park(Opening),
    /// The opening failed (counted); the next pass tries again or files the stub.
    Retry,
}

async fn turn(
    p: &Pipeline,
    mut rec: Record,
    slot: Slot,
    wait: Option<Duration>,
) -> Result<Turn, crate::store::StoreError> {
    let (slot, wait) = match slot {
        // Its turn: nothing of this pass runs beside it now.
        Slot::Begun(Begun::Alone) => (Slot::Begun(p.begin_opening(&mut rec, true)?), None),
        other => (other, wait),
    };
    let opening = match slot {
        Slot::None | Slot::Begun(Begun::Gone) => None,
        // Parked openings still run: next pass.
        Slot::Begun(Begun::Alone) => return Ok(Turn::Retry),
        Slot::Begun(Begun::Stub(stub)) => {
            let rec = p.advance_opening(rec, Some(*stub)).await?;
            return Ok(Turn::Done {
                archive: p.archive_due(&rec),
            });
        }
        Slot::Begun(Begun::Running(o)) | Slot::Parked(o) => Some(o),
    };
    let opened = match opening {
        None => None,
        Some(o) => match p.finish_opening(&mut rec, o, wait).await? {
            Finished::Opened(o) => Some(*o),
            Finished::Failed => return Ok(Turn::Retry),
            Finished::Pending(o) => return Ok(Turn::Park(o)),
        },
    };
    let rec = p.advance_opening(rec, opened).await?;
    Ok(Turn::Done {
        archive: p.archive_due(&rec),
    })
}

/// Archives the records in `done` (flushes the store when there are none)
/// and empties it.
async fn archive_batch(p: &Pipeline, done: &mut Vec<String>, source: &mut Source) {
    if let Err(e) = p.archive_done(done, source).await {
        tracing::error!(error = %e, "state store failure; the messages stay in the inbox");
    }
    done.clear();
}

/// Advances every unfinished record once, and archives those that are
/// done in batches of [`ARCHIVE_BATCH`] and at the end (see
/// [`Pipeline::archive_done`]). After shutdown no new step
/// starts, the one in flight is dropped at the grace deadline, and the
/// openings left unfinished are marked as not in progress (they were
/// stopped by us, not by their message).
pub async fn work(
    p: &Pipeline,
    source: &mut Source,
    shutdown: &Shutdown,
    parked: &mut Parked,
) -> anyhow::Result<Worked> {
    let mut pending: VecDeque<Record> = VecDeque::new();
    p.store.scan(&mut |r| {
        if r.state != State::Archived {
            pending.push_back(r.clone());
        }
        std::ops::ControlFlow::Continue(())
    })?;
    let mut ahead: VecDeque<(Record, Slot)> = VecDeque::new();
    let mut retry = false;
    let mut interrupted: Vec<String> = Vec::new();
    let mut done: Vec<String> = Vec::new();
    let open_ahead = open_ahead();
    loop {
        while ahead.len() <= open_ahead && !shutdown.is_triggered() && !solo_waiting(&ahead) {
            let Some(mut rec) = pending.pop_front() else {
                break;
            };
            let slot = match parked.running.remove(&rec.tracking_id) {
                Some(o) => Slot::Parked(o),
                None => p.open_ahead(&mut rec)?.map_or(Slot::None, Slot::Begun),
            };
            ahead.push_back((rec, slot));
        }
        let Some((rec, slot)) = ahead.pop_front() else {
            break;
        };
        if shutdown.is_triggered() {
            interrupted.push(rec.tracking_id.clone());
            break;
        }
        let wait = match &slot {
            Slot::Parked(_) => Some(Duration::ZERO),
            _ if parked.running.len() < MAX_PARKED => Some(PATIENCE),
            _ => None,
        };
        let id = rec.tracking_id.clone();
        let span = tracing::info_span!("record", tracking_id = %id);
        tokio::select! {
            r = turn(p, rec, slot, wait).instrument(span) => match r {
                Ok(Turn::Done { archive }) => {
                    if archive {
                        done.push(id);
                    }
                    if done.len() >= ARCHIVE_BATCH {
                        archive_batch(p, &mut done, source).await;
                    }
                }
                Ok(Turn::Park(o)) => {
                    tracing::info!(tracking_id = %id, "still opening the message; later reports go first");
                    parked.running.insert(id, o);
                }
                Ok(Turn::Retry) => retry = true,
                Err(e) => tracing::error!(tracking_id = %id, error = %e, "state store failure"),
            },
            _ = shutdown.deadline(SHUTDOWN_GRACE) => {
                tracing::warn!(tracking_id = %id, grace_secs = SHUTDOWN_GRACE.as_secs(), "step abandoned at the shutdown deadline; it resumes on the next start");
                interrupted.push(id);
                break;
            }
        }
        metrics::global().progress();
    }
    // After a shutdown began nothing is moved (the next start does it);
    // the states written this pass are flushed either way.
    if shutdown.is_triggered() {
        done.clear();
    }
    archive_batch(p, &mut done, source).await;
    if shutdown.is_triggered() {
        interrupted.extend(ahead.into_iter().map(|(r, _)| r.tracking_id));
        interrupted.extend(parked.running.drain().map(|(id, _)| id));
        for id in interrupted {
            if let Some(mut rec) = p.store.get(&id)? {
                p.abandon_opening(&mut rec)?;
            }
        }
    }
    Ok(Worked {
        records: p.store.all()?,
        busy: retry || !parked.is_empty(),
    })
}
