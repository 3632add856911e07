//! The supervisor: builds the pipeline from settings, then fetches, admits
//! and advances records until shutdown. With `--once` it drains the inbox
//! and returns.
//!
//! Shutdown (SIGTERM/SIGINT): no new mail is taken in, the step in flight
//! gets [`SHUTDOWN_GRACE`] to finish and is otherwise abandoned — safe,
//! because every state is durable before its side effect starts and side
//! effects are idempotent, so the next start redoes exactly that step — and
//! the IMAP connection is logged out. SIGHUP re-reads the configuration and
//! templates between passes ([`reload`]); records in the store are untouched.
//! systemd hears about all of it ([`notify`]).

mod notify;
mod reload;
pub mod work;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::config::duration::to_chrono;
use crate::config::{MailerSettings, Settings, SourceSettings, TrackerSettings};
use crate::intake::{imap::ImapSource, maildir::MaildirSource, FetchBounds, Source, Wake};
use crate::mailer::{outbox::OutboxMailer, smtp::SmtpMailer, Mailer};
use crate::normalize::sha256_hex;
use crate::openpgp::Keyring;
use crate::ops::metrics;
use crate::ops::status::{self, DaemonInfo, Phase};
use crate::pipeline::Pipeline;
use crate::record::{Facts, Record, State};
use crate::render::Templates;
use crate::store::{Admission, Intake, SledStore, Store};
use crate::support::shutdown::{Reload, Shutdown};
use crate::tracker::github::advisories::AdvisoryClient;
use crate::tracker::{directory::DirectoryTracker, github::GithubTracker, Tracker};

/// How long the step in flight may run on after shutdown was requested.
/// With the IMAP logout (at most 5 s) this stays inside the unit's
/// `TimeoutStopSec=30s`.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);

/// What one run did, for `--once` summaries.
#[derive(Debug, Default)]
pub struct RunSummary {
    pub admitted: Vec<String>,
    pub records: Vec<Record>,
}

pub fn build_source(settings: &Settings) -> Source {
    match &settings.source {
        SourceSettings::Imap(s) => Source::Imap(Box::new(ImapSource::new(
            s.clone(),
            FetchBounds::new(&settings.limits),
        ))),
        SourceSettings::Maildir(s) => {
            Source::Maildir(MaildirSource::new(s, FetchBounds::new(&settings.limits)))
        }
    }
}

pub fn build_tracker(settings: &Settings) -> anyhow::Result<Tracker> {
    Ok(match &settings.tracker {
        TrackerSettings::Github(g) => Tracker::Github(Box::new(GithubTracker::new(g)?)),
        TrackerSettings::Directory(d) => Tracker::Directory(DirectoryTracker::new(d.path.clone())),
    })
}

pub fn build_mailer(settings: &Settings) -> anyhow::Result<Mailer> {
    Ok(match &settings.mailer {
        MailerSettings::Smtp(s) => Mailer::Smtp(SmtpMailer::new(s)?),
        MailerSettings::Outbox(o) => Mailer::Outbox(OutboxMailer::new(o.path.clone())),
    })
}

/// A client per `[[advisories.source]]`.
pub fn build_advisory_clients(settings: &Settings) -> anyhow::Result<Vec<AdvisoryClient>> {
    let api_url = settings.advisories_api_url();
    settings
        .advisories
        .sources
        .iter()
        .map(|s| AdvisoryClient::new(&api_url, s))
        .collect()
}

pub fn build_pipeline(settings: &Settings) -> anyhow::Result<Pipeline> {
    let store = SledStore::open(&settings.instance.state_dir)?;
    crate::store::consistency::at_startup(&store)?;
    build_pipeline_with(settings, Arc::new(store))
}

/// The pipeline around an already open store (sled allows one opener).
pub fn build_pipeline_with(settings: &Settings, store: Arc<dyn Store>) -> anyhow::Result<Pipeline> {
    let keyring = Keyring::load(&settings.openpgp)?;
    let templates = Templates::load(&settings.ack.templates).map_err(|errs| {
        anyhow::anyhow!(errs
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; "))
    })?;
    Ok(Pipeline {
        tracker: build_tracker(settings)?,
        mailer: build_mailer(settings)?,
        advisories: build_advisory_clients(settings)?,
        settings: settings.clone(),
        store,
        keyring: Arc::new(keyring),
        templates,
    })
}

fn admit(p: &Pipeline, f: &crate::intake::Fetched) -> anyhow::Result<Admission> {
    let (source, raw) = (f.source.clone(), f.raw.as_slice());
    let now = crate::support::clock::now();
    let ack = &p.settings.ack;
    // Only the outer Message-ID is read here; the rest waits for classification.
    let message_id = mail_parser::MessageParser::default()
        .parse_headers(raw)
        .and_then(|m| m.message_id().map(|s| s.trim().to_string()));
    let facts = Facts {
        message_id,
        raw_sha256: sha256_hex(raw),
        raw_size: f.oversized.unwrap_or(raw.len() as u64),
        oversized: f.oversized,
        ..Facts::default()
    };
    let intake = Intake {
        source,
        raw,
        facts,
        received_at: now,
        respond_by: now + to_chrono(ack.response_window),
        disclose_by: now + to_chrono(ack.disclosure_window),
    };
    Ok(p.store
        .admit(&p.settings.instance.tracking_prefix, intake)?)
}

/// How many messages one pass takes in. A backlog is worked through in
/// slices of this size, so the raw bytes held in memory at once stay
/// bounded however much mail is waiting.
const INTAKE_PER_PASS: usize = 100;

/// What a pass of intake did.
#[derive(Default)]
struct Taken {
    /// New records.
    new: usize,
    /// The pass took in as much as it may: more mail may be waiting.
    full: bool,
}

/// Fetches what is new (at most [`INTAKE_PER_PASS`] messages) and records
/// it, flushed once for the slice.
async fn intake(p: &Pipeline, source: &mut Source, summary: &mut RunSummary) -> Taken {
    let store = p.store.clone();
    let known = move |r: &crate::record::SourceRef| store.knows_source(r).unwrap_or(false);
    let fetched = match source.fetch_new(&known, INTAKE_PER_PASS).await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "fetching mail failed");
            return Taken::default();
        }
    };
    let slice = fetched.len();
    let (mut new, mut recorded) = (0, 0);
    for f in fetched {
        match admit(p, &f) {
            Ok(Admission::New(rec)) => {
                tracing::info!(tracking_id = %rec.tracking_id, size = rec.facts.raw_size, "received");
                summary.admitted.push(rec.tracking_id);
                new += 1;
                recorded += 1;
            }
            Ok(Admission::Moved(id)) => {
                tracing::info!(tracking_id = %id, "message seen again at a new position");
                recorded += 1;
            }
            Ok(Admission::Known(_)) => {}
            Err(e) => {
                tracing::error!(error = %e, "could not record a fetched message; it stays in the inbox")
            }
        }
    }
    // One flush for the slice: before anything is done with its records.
    if recorded > 0 {
        crate::ops::failpoint::hit("store.admit.flush");
        if let Err(e) = p.store.flush() {
            tracing::error!(error = %e, "could not record the fetched messages; they stay in the inbox");
            return Taken::default();
        }
    }
    // A full slice of which nothing could be recorded (store failing) is
    // not a reason to fetch again at once.
    Taken {
        new,
        full: (slice >= INTAKE_PER_PASS || source.more_waiting()) && recorded > 0,
    }
}

/// Counts IMAP connections opened after the first one of the process.
struct ReconnectCounter {
    seen: u64,
    first_pending: bool,
}

impl ReconnectCounter {
    fn account(&mut self, source: &Source) {
        let Source::Imap(imap) = source else {
            return;
        };
        let mut delta = imap.reconnects.saturating_sub(self.seen);
        self.seen = imap.reconnects;
        if delta > 0 && self.first_pending {
            delta -= 1;
            self.first_pending = false;
        }
        metrics::global().imap_reconnects(delta);
    }

    /// A new source object (after a reload) counts from zero again.
    fn replaced(&mut self) {
        self.seen = 0;
    }
}

/// STATUS= line for systemd: what is open and what is late.
fn status_line(records: &[Record]) -> String {
    let now = crate::support::clock::now();
    let open = records
        .iter()
        .filter(|r| r.state != State::Archived)
        .count();
    let late = records
        .iter()
        .filter(|r| !r.ack_done() && now > r.respond_by)
        .count();
    let failing = records
        .iter()
        .filter(|r| r.state != State::Archived)
        .filter(|r| {
            [&r.file_attempts, &r.ack_attempts, &r.archive_attempts]
                .iter()
                .any(|a| a.last_error.is_some())
        })
        .count();
    format!("{open} open report(s), {late} past the response deadline, {failing} retrying")
}

async fn start_metrics(settings: &Settings, shutdown: &Shutdown) -> anyhow::Result<Option<String>> {
    let Some(addr) = settings.metrics.listen else {
        return Ok(None);
    };
    let listener = metrics::http::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("metrics.listen: cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr()?.to_string();
    tracing::info!(listen = %bound, "metrics endpoint up");
    tokio::spawn(metrics::http::serve(listener, shutdown.clone()));
    Ok(Some(bound))
}

pub async fn run(settings: Settings, once: bool, shutdown: Shutdown) -> anyhow::Result<RunSummary> {
    run_with_reload(settings, once, shutdown, Reload::never()).await
}

pub async fn run_with_reload(
    mut settings: Settings,
    once: bool,
    shutdown: Shutdown,
    mut reload: Reload,
) -> anyhow::Result<RunSummary> {
    notify::status("starting");
    let mut pipeline = build_pipeline(&settings)?;
    metrics::global().configure(&pipeline.tracker, &pipeline.mailer);
    let mut source = build_source(&settings);
    let mut summary = RunSummary::default();
    let mut info = DaemonInfo::new(start_metrics(&settings, &shutdown).await?);
    if !once {
        notify::spawn_keepalive();
    }
    tracing::info!(
        keys = pipeline.keyring.certs().len(),
        pid = info.pid,
        "secintake running"
    );
    let mut reconnects = ReconnectCounter {
        seen: 0,
        first_pending: true,
    };
    let mut rounds = 0;
    let mut ready = false;
    let mut records;
    // Openings still running at the end of a pass (see `work`).
    let mut parked = work::Parked::default();
    // When the conversation pass is due next (None: at once).
    let mut talk_at: Option<chrono::DateTime<Utc>> = None;
    // When the advisory sources are listed next (None: at once).
    let mut advisories_at: Option<chrono::DateTime<Utc>> = None;
    loop {
        if reload.take() {
            reload::apply(&mut settings, &mut pipeline, &mut source, &mut reconnects).await;
        }
        metrics::global().pass_started();
        // Stop taking in new mail once shutdown was asked for.
        let taken = if shutdown.is_triggered() {
            Taken::default()
        } else {
            tokio::select! {
                t = intake(&pipeline, &mut source, &mut summary) => t,
                _ = shutdown.deadline(SHUTDOWN_GRACE) => Taken::default(),
            }
        };
        metrics::global().progress();
        // At start, periodically, and after a 404/403: filing waits while
        // the tracking repository is not known to be private.
        if !shutdown.is_triggered() {
            tokio::select! {
                _ = pipeline.tracker.verify_private() => {}
                _ = shutdown.deadline(SHUTDOWN_GRACE) => {
                    tracing::warn!(step = "tracker privacy check", grace_secs = SHUTDOWN_GRACE.as_secs(), "step abandoned at the shutdown deadline; it resumes on the next start");
                }
            }
        }
        metrics::global().tracker_privacy(&pipeline.tracker.privacy());
        let worked = work::work(&pipeline, &mut source, &shutdown, &mut parked).await?;
        records = worked.records;
        // A 404/403 during the work may have changed the verdict.
        metrics::global().tracker_privacy(&pipeline.tracker.privacy());
        // The response window: deadline alerts and tracker reminders.
        if !shutdown.is_triggered() {
            tokio::select! {
                r = crate::pipeline::reminders::pass(&pipeline, crate::support::clock::now()) => match r {
                    Ok(r) => records = r,
                    Err(e) => tracing::error!(error = %e, "state store failure in the reminder pass"),
                },
                _ = shutdown.deadline(SHUTDOWN_GRACE) => {}
            }
        }
        // Coordinator commands on the tracking issues, when due.
        if !shutdown.is_triggered() && talk_at.is_none_or(|t| t <= crate::support::clock::now()) {
            tokio::select! {
                r = crate::pipeline::conversation::pass(&pipeline, crate::support::clock::now()) => match r {
                    Ok(next) => talk_at = next,
                    Err(e) => {
                        tracing::error!(error = %e, "state store failure in the conversation pass");
                        talk_at = Some(crate::support::clock::now() + chrono::Duration::seconds(60));
                    }
                },
                _ = shutdown.deadline(SHUTDOWN_GRACE) => {}
            }
        }
        // GitHub Security Advisories of the configured sources, when due.
        if !shutdown.is_triggered() && advisories_at.is_none_or(|t| t <= Utc::now()) {
            tokio::select! {
                r = crate::pipeline::advisories::pass(&pipeline, Utc::now()) => match r {
                    Ok(next) => {
                        advisories_at = next;
                        match status::advisories::rows(pipeline.store.as_ref()) {
                            Ok(rows) => status::advisories::remember(rows),
                            Err(e) => tracing::error!(error = %e, "state store failure reading the advisories"),
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "state store failure in the advisories pass");
                        advisories_at = Some(Utc::now() + chrono::Duration::seconds(60));
                    }
                },
                _ = shutdown.deadline(SHUTDOWN_GRACE) => {}
            }
        }
        reconnects.account(&source);
        metrics::global().pass_finished(&records);
        info.passes += 1;
        info.last_pass_at = Some(crate::support::clock::now());
        status::publish(
            &settings.instance.state_dir,
            pipeline.store.as_ref(),
            &records,
            &info,
        );
        let line = status_line(&records);
        if ready {
            notify::status(&line);
        } else {
            notify::ready(&line);
            ready = true;
        }
        if shutdown.is_triggered() {
            break;
        }
        if taken.full {
            // More is waiting: the next slice, without waiting for news.
            continue;
        }
        if once {
            if worked.busy {
                // A parked or failed opening is still to be settled.
                tokio::select! {
                    _ = tokio::time::sleep(work::BUSY_POLL) => {}
                    _ = shutdown.wait() => {}
                }
                continue;
            }
            rounds += 1;
            if taken.new == 0 || rounds >= 20 {
                break;
            }
            continue;
        }
        let idle_cap = source.poll_interval().max(Duration::from_secs(1));
        // A record's retry, or the tracking repository's privacy check.
        let next = [
            pipeline.next_due(&records),
            pipeline.tracker.next_privacy_check(),
            talk_at.filter(|_| pipeline.settings.conversation.enabled),
            advisories_at.filter(|_| !pipeline.advisories.is_empty()),
        ];
        let timeout = match next.into_iter().flatten().min() {
            Some(t) => (t - crate::support::clock::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(200), idle_cap),
            None => idle_cap,
        };
        let timeout = if worked.busy {
            timeout.min(work::BUSY_POLL)
        } else {
            timeout
        };
        let wake = tokio::select! {
            w = source.wait(timeout, &shutdown) => w,
            // Abandoning IDLE here drops that connection; the reload
            // reconnects with the new settings anyway.
            _ = reload.wait() => {
                reload::apply(&mut settings, &mut pipeline, &mut source, &mut reconnects).await;
                Wake::Timeout
            }
        };
        if wake == Wake::Shutdown {
            break;
        }
    }
    notify::stopping();
    metrics::global().stopping();
    info.phase = Phase::Stopping;
    status::publish(
        &settings.instance.state_dir,
        pipeline.store.as_ref(),
        &records,
        &info,
    );
    source.close().await;
    info.phase = Phase::Stopped;
    status::publish(
        &settings.instance.state_dir,
        pipeline.store.as_ref(),
        &records,
        &info,
    );
    tracing::info!("secintake stopped");
    summary.records = records;
    Ok(summary)
}
