//! The supervisor: builds the pipeline from settings, then fetches, admits
//! and advances records until shutdown. With `--once` it drains the inbox
//! and returns.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::config::{MailerSettings, Settings, SourceSettings, TrackerSettings};
use crate::intake::{imap::ImapSource, maildir::MaildirSource, Source, Wake};
use crate::mailer::{outbox::OutboxMailer, smtp::SmtpMailer, Mailer};
use crate::normalize::sha256_hex;
use crate::openpgp::Keyring;
use crate::pipeline::Pipeline;
use crate::record::{Facts, Record, State};
use crate::render::Templates;
use crate::shutdown::Shutdown;
use crate::status;
use crate::store::{Admission, Intake, SledStore};
use crate::tracker::{directory::DirectoryTracker, github::GithubTracker, Tracker};

/// What one run did, for `--once` summaries.
#[derive(Debug, Default)]
pub struct RunSummary {
    pub admitted: Vec<String>,
    pub records: Vec<Record>,
}

pub fn build_source(settings: &Settings) -> Source {
    match &settings.source {
        SourceSettings::Imap(s) => Source::Imap(Box::new(ImapSource::new(s.clone()))),
        SourceSettings::Maildir(s) => {
            Source::Maildir(MaildirSource::new(s, settings.limits.max_message_bytes))
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

pub fn build_pipeline(settings: &Settings) -> anyhow::Result<Pipeline> {
    let keyring = Keyring::load(&settings.openpgp)?;
    let templates = Templates::load(&settings.ack.templates).map_err(|errs| {
        anyhow::anyhow!(errs
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; "))
    })?;
    let store = SledStore::open(&settings.instance.state_dir)?;
    Ok(Pipeline {
        tracker: build_tracker(settings)?,
        mailer: build_mailer(settings)?,
        settings: settings.clone(),
        store: Arc::new(store),
        keyring: Arc::new(keyring),
        templates,
    })
}

fn admit(p: &Pipeline, source: crate::record::SourceRef, raw: &[u8]) -> anyhow::Result<Admission> {
    let now = Utc::now();
    let ack = &p.settings.ack;
    // Only the outer Message-ID is read here; the rest waits for classification.
    let message_id = mail_parser::MessageParser::default()
        .parse_headers(raw)
        .and_then(|m| m.message_id().map(|s| s.trim().to_string()));
    let facts = Facts {
        message_id,
        raw_sha256: sha256_hex(raw),
        raw_size: raw.len() as u64,
        ..Facts::default()
    };
    let intake = Intake {
        source,
        raw,
        facts,
        received_at: now,
        respond_by: now + chrono::Duration::from_std(ack.response_window).unwrap_or_default(),
        disclose_by: now + chrono::Duration::from_std(ack.disclosure_window).unwrap_or_default(),
    };
    Ok(p.store
        .admit(&p.settings.instance.tracking_prefix, intake)?)
}

/// Fetches what is new and records it durably. Returns how many were new.
async fn intake(p: &Pipeline, source: &mut Source, summary: &mut RunSummary) -> usize {
    let store = p.store.clone();
    let known = move |r: &crate::record::SourceRef| store.knows_source(r).unwrap_or(false);
    let fetched = match source.fetch_new(&known).await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "fetching mail failed");
            return 0;
        }
    };
    let mut new = 0;
    for f in fetched {
        match admit(p, f.source, &f.raw) {
            Ok(Admission::New(rec)) => {
                tracing::info!(tracking_id = %rec.tracking_id, size = rec.facts.raw_size, "received");
                summary.admitted.push(rec.tracking_id);
                new += 1;
            }
            Ok(Admission::Moved(id)) => {
                tracing::info!(tracking_id = %id, "message seen again at a new position")
            }
            Ok(Admission::Known(_)) => {}
            Err(e) => {
                tracing::error!(error = %e, "could not record a fetched message; it stays in the inbox")
            }
        }
    }
    new
}

/// Advances every unfinished record once.
async fn work(
    p: &Pipeline,
    source: &mut Source,
    shutdown: &Shutdown,
) -> anyhow::Result<Vec<Record>> {
    let pending: Vec<Record> = p
        .store
        .all()?
        .into_iter()
        .filter(|r| r.state != State::Archived)
        .collect();
    for rec in pending {
        if shutdown.is_triggered() {
            break;
        }
        let id = rec.tracking_id.clone();
        if let Err(e) = p.advance(rec, source).await {
            tracing::error!(tracking_id = %id, error = %e, "state store failure");
        }
    }
    Ok(p.store.all()?)
}

pub async fn run(settings: Settings, once: bool, shutdown: Shutdown) -> anyhow::Result<RunSummary> {
    let pipeline = build_pipeline(&settings)?;
    let mut source = build_source(&settings);
    let mut summary = RunSummary::default();
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    tracing::info!(keys = pipeline.keyring.certs().len(), "secintake running");
    let mut rounds = 0;
    loop {
        let new = intake(&pipeline, &mut source, &mut summary).await;
        let records = work(&pipeline, &mut source, &shutdown).await?;
        status::publish(&settings.instance.state_dir, &records);
        if shutdown.is_triggered() {
            break;
        }
        if once {
            rounds += 1;
            if new == 0 || rounds >= 20 {
                summary.records = records;
                break;
            }
            continue;
        }
        let idle_cap = source.poll_interval().max(Duration::from_secs(1));
        let timeout = match pipeline.next_due(&records) {
            Some(t) => (t - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(200), idle_cap),
            None => idle_cap,
        };
        if source.wait(timeout, &shutdown).await == Wake::Shutdown {
            break;
        }
    }
    source.close().await;
    tracing::info!("secintake stopped");
    Ok(summary)
}
