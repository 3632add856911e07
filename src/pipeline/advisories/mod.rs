//! GitHub Security Advisories in: every `[advisories] poll_interval`, each
//! `[[advisories.source]]` (an organisation or a repository, its own
//! credentials) is listed newest update first down to its high-water mark
//! ([`crate::tracker::github::advisories`]), and
//!
//! 1. every private vulnerability report in `triage` not seen before gets
//!    a durable [`AdvisoryRecord`] keyed by its GHSA ID, then an issue in
//!    the tracking repository whose marker is the GHSA ID: the attempt is
//!    recorded (synced) before the create request, and a later attempt
//!    looks for the marker first, so restarts and SIGKILL never file twice
//!    (as for mail, see [`crate::pipeline`]'s filing). Its response window
//!    starts when the reporter opened the advisory.
//! 2. a later state of a filed advisory (accepted, closed, published, CVE
//!    assigned) is mirrored on its issue: a comment (marker
//!    `GHSA-…/state:N`, the change written synced before it) and a
//!    `ghsa-STATE` label.
//! 3. ([`remind`]) an advisory no coordinator has answered `[reminders]
//!    after` it was opened gets one reminder on its issue.
//! 4. ([`link`]) filed advisories and filed mail reports that resemble
//!    each other (text, CVE/GHSA ID, package, URL; the keyed fingerprints
//!    of [`crate::classify::similarity`]) are linked both ways, whichever
//!    came first.
//!
//! Advisories that were never in triage when first seen (drafts the
//! maintainers opened, published ones) are not reports and are left
//! alone. A source whose credentials cannot read it is logged each pass
//! and named by `secintake check`. The high-water mark advances only when
//! everything listed is filed and mirrored, so what failed is listed (and
//! its text read from GitHub) again next pass: the store keeps no
//! advisory text.

mod link;
pub mod record;
mod remind;

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use super::{due, record_failure, record_success, Pipeline};
use crate::classify::similarity;
use crate::compose::advisory::{state_label, AdvisoryState, GHSA_LABEL};
use crate::config::duration::to_chrono;
use crate::ops::failpoint;
use crate::ops::metrics::tracker_result;
use crate::record::{Attempts, Fingerprint};
use crate::store::StoreError;
use crate::support::effect::Effect;
use crate::tracker::github::advisories::{Advisory, AdvisoryClient};
use crate::tracker::{marker, CommentDraft};
pub use record::AdvisoryRecord;

/// One pass over every source; returns when the next is due (None: no
/// sources configured).
pub async fn pass(p: &Pipeline, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError> {
    if p.advisories.is_empty() {
        return Ok(None);
    }
    let mut next = now + to_chrono(p.settings.advisories.poll_interval);
    if p.tracker.held().is_some() {
        return Ok(Some(next));
    }
    for client in &p.advisories {
        if let Some(wait) = client.waiting() {
            next = next.min(wait.retry_at().unwrap_or(next));
            continue;
        }
        take_in(p, client, now).await?;
    }
    link::link_all(p).await?;
    remind::remind_all(p, now).await?;
    Ok(Some(next))
}

/// Lists one source and handles what changed.
async fn take_in(
    p: &Pipeline,
    client: &AdvisoryClient,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let source = client.scope.label();
    let store = p.store.as_ref();
    let since = record::since(store, &source)?;
    // GitHub's times are whole seconds; re-reading the newest is harmless.
    let listing = match client
        .updated_since(since, p.settings.advisories.max_pages)
        .await
    {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(source = %source, error = %e, "listing security advisories failed; next pass");
            crate::ops::metrics::global().tracker_error(&e);
            return Ok(());
        }
    };
    if listing.unreadable > 0 {
        tracing::warn!(source = %source, count = listing.unreadable, "advisories without an ID, URL, state or times: skipped");
    }
    if !listing.complete {
        tracing::warn!(source = %source, "more advisories changed than one pass reads ([advisories] max_pages): the rest next pass");
    }
    let mut settled = listing.complete;
    let mut newest = since;
    // Oldest first, as the reports arrived.
    for a in listing.advisories.iter().rev() {
        newest = newest.max(Some(a.updated_at));
        settled &= handle(p, &source, a, now).await?;
    }
    if settled {
        if let Some(t) = newest.filter(|t| Some(*t) != since) {
            record::set_since(store, &source, t)?;
        }
    }
    Ok(())
}

/// Files or mirrors one listed advisory. Ok(true): nothing left to do
/// for it now.
async fn handle(
    p: &Pipeline,
    source: &str,
    a: &Advisory,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let store = p.store.as_ref();
    let mut rec = match AdvisoryRecord::load(store, &a.ghsa_id)? {
        Some(r) => r,
        // Not a private vulnerability report waiting for us: not a report.
        None if !a.in_triage() => return Ok(true),
        None => {
            let rec = new_record(p, source, a, now)?;
            tracing::info!(ghsa_id = %a.ghsa_id, source = %source, "advisory taken in");
            rec.save(store, false)?;
            rec
        }
    };
    if rec.filing.is_none() {
        if !due(&rec.file_attempts, now) {
            return Ok(false);
        }
        file(p, &mut rec, a).await?;
        if rec.filing.is_none() {
            return Ok(false);
        }
    }
    let seen = AdvisoryState::of(a);
    if seen == rec.mirrored && rec.mirroring.is_none() {
        return Ok(true);
    }
    if !due(&rec.mirror_attempts, now) {
        return Ok(false);
    }
    mirror(p, &mut rec, a, seen, now).await
}

fn new_record(
    p: &Pipeline,
    source: &str,
    a: &Advisory,
    now: DateTime<Utc>,
) -> Result<AdvisoryRecord, StoreError> {
    let key = p.store.similarity_key()?;
    let dedupe = &p.settings.dedupe;
    let mut fp: Fingerprint = similarity::fingerprint(
        &fingerprint_text(a),
        &key,
        dedupe.min_words,
        &dedupe.ignore_identifiers,
    );
    if !dedupe.link_identifiers {
        fp.identifiers.clear();
    }
    Ok(AdvisoryRecord {
        ghsa_id: a.ghsa_id.clone(),
        source: source.to_string(),
        repository: a.repository.clone(),
        html_url: a.html_url.clone(),
        created_at: a.created_at,
        seen_at: now,
        respond_by: a.created_at + to_chrono(p.settings.ack.response_window),
        filing: None,
        file_attempts: Attempts {
            started: false,
            ..Attempts::default()
        },
        mirrored: AdvisoryState::of(a),
        changes: 0,
        mirroring: None,
        mirror_attempts: Attempts::default(),
        fingerprint: Some(fp),
        links: Vec::new(),
        link_attempts: Attempts::default(),
        watch: crate::record::Watch::default(),
    })
}

/// What is compared with mail reports: the reporter's words, the
/// advisory's own IDs and the affected packages.
fn fingerprint_text(a: &Advisory) -> String {
    let mut t = format!("{}\n\n{}\n\n{}", a.summary, a.description, a.ghsa_id);
    if let Some(c) = &a.cve_id {
        t.push_str(&format!("\n{c}"));
    }
    for pkg in &a.packages {
        t.push_str(&format!("\n{pkg}"));
    }
    t
}

async fn file(p: &Pipeline, rec: &mut AdvisoryRecord, a: &Advisory) -> Result<(), StoreError> {
    let store = p.store.as_ref();
    let look = rec.file_attempts.started;
    if !look {
        rec.file_attempts.started = true;
        rec.save(store, true)?;
    }
    let result = file_issue(p, rec, a, look).await;
    failpoint::hit("effect.advisory.filed");
    match result {
        Ok(f) => {
            tracing::info!(ghsa_id = %rec.ghsa_id, issue = f.issue, "advisory filed");
            rec.filing = Some(f);
            record_success(&mut rec.file_attempts);
        }
        Err(e) => {
            tracing::warn!(ghsa_id = %rec.ghsa_id, error = %e, "filing the advisory failed");
            record_failure(&mut rec.file_attempts, &e, Utc::now());
        }
    }
    rec.save(store, false)
}

async fn file_issue(
    p: &Pipeline,
    rec: &AdvisoryRecord,
    a: &Advisory,
    look: bool,
) -> Effect<crate::record::Filing> {
    let found = if look {
        let since = rec.seen_at - ChronoDuration::days(1);
        tracker_result(p.tracker.find(&rec.ghsa_id, None, since).await)?
    } else {
        None
    };
    let composer = p.composer();
    let mut labels = vec![GHSA_LABEL.to_string()];
    let text = format!("{}\n{}\n{}", a.summary, a.repository, a.packages.join("\n"));
    for l in composer.labels_for_text(&text) {
        if !labels.contains(&l) {
            labels.push(l);
        }
    }
    let draft = composer.advisory_issue(a, &rec.source, rec.respond_by, labels);
    let filing = match found {
        Some(f) => f,
        None => tracker_result(p.tracker.create_issue(&draft).await)?,
    };
    tracker_result(
        p.tracker
            .continue_parts(filing.issue, &draft.continuation)
            .await,
    )?;
    Ok(filing)
}

/// Says the advisory's new state on its issue, once.
async fn mirror(
    p: &Pipeline,
    rec: &mut AdvisoryRecord,
    a: &Advisory,
    seen: AdvisoryState,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let store = p.store.as_ref();
    let Some(issue) = rec.filing.as_ref().map(|f| f.issue) else {
        return Ok(false);
    };
    // The change in flight (after a crash: the one its comment may carry).
    let to = match &rec.mirroring {
        Some(t) => t.clone(),
        None => {
            rec.mirroring = Some(seen.clone());
            rec.save(store, true)?;
            seen.clone()
        }
    };
    let n = rec.changes + 1;
    let marker_id = rec.change_marker(n);
    let body = p
        .composer()
        .advisory_change(&rec.ghsa_id, &a.html_url, &rec.mirrored, &to, now);
    let since = rec.seen_at - ChronoDuration::days(1);
    let result: Effect<()> = async {
        if tracker_result(p.tracker.find(&marker_id, Some(issue), since).await)?.is_none() {
            let draft = CommentDraft {
                tracking_id: marker_id.clone(),
                issue,
                body: format!("{}\n{body}", marker(&marker_id)),
                labels: vec![state_label(&to.state)],
                continuation: Vec::new(),
            };
            tracker_result(p.tracker.comment(&draft).await)?;
        }
        Ok(())
    }
    .await;
    failpoint::hit("effect.advisory.mirrored");
    let done = match result {
        Ok(()) => {
            tracing::info!(ghsa_id = %rec.ghsa_id, issue, state = %to.state, "advisory state mirrored");
            rec.mirrored = to.clone();
            rec.changes = n;
            rec.mirroring = None;
            record_success(&mut rec.mirror_attempts);
            // A further change since the one just said: next pass.
            to == seen
        }
        Err(e) => {
            tracing::warn!(ghsa_id = %rec.ghsa_id, error = %e, "mirroring the advisory's state failed");
            record_failure(&mut rec.mirror_attempts, &e, Utc::now());
            false
        }
    };
    rec.save(store, false)?;
    Ok(done)
}
