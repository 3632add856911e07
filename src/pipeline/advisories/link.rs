//! The same bug reported by mail and as a GitHub Security Advisory: each
//! pass compares every filed advisory's fingerprint with every filed mail
//! report that owns an issue (text similarity, shared CVE/GHSA ID,
//! package or URL, as [`crate::classify`] does between mails), whichever
//! came first, and links a resembling pair both ways: a note on the
//! advisory's issue (marker `GHSA-…/related:ID`) and one on the report's
//! (marker `ID/related:GHSA-…`), each looked for before it is posted. The
//! pair is recorded once both are there.

use std::ops::ControlFlow;

use chrono::{Duration as ChronoDuration, Utc};

use super::record::{AdvisoryRecord, Link};
use super::{due, record_failure, record_success, Pipeline};
use crate::classify::{describe, similarity};
use crate::ops::metrics::tracker_result;
use crate::record::Kind;
use crate::store::StoreError;
use crate::support::effect::Effect;
use crate::tracker::{marker, CommentDraft};

/// A mail report that resembles an advisory.
struct Candidate {
    tracking_id: String,
    issue: u64,
    reason: String,
}

pub async fn link_all(p: &Pipeline) -> Result<(), StoreError> {
    let now = Utc::now();
    for mut rec in AdvisoryRecord::all(p.store.as_ref())? {
        if rec.filing.is_none() || !due(&rec.link_attempts, now) {
            continue;
        }
        for c in candidates(p, &rec)? {
            match link_pair(p, &rec, &c).await {
                Ok(()) => {
                    tracing::info!(ghsa_id = %rec.ghsa_id, tracking_id = %c.tracking_id, "advisory and mail report linked");
                    rec.links.push(Link {
                        tracking_id: c.tracking_id,
                        reason: c.reason,
                    });
                    record_success(&mut rec.link_attempts);
                }
                Err(e) => {
                    tracing::warn!(ghsa_id = %rec.ghsa_id, tracking_id = %c.tracking_id, error = %e, "linking the advisory and the mail report failed");
                    record_failure(&mut rec.link_attempts, &e, Utc::now());
                    rec.save(p.store.as_ref(), false)?;
                    break;
                }
            }
            rec.save(p.store.as_ref(), false)?;
        }
    }
    Ok(())
}

/// Filed mail reports with an issue of their own that resemble `rec` and
/// are not linked to it yet.
fn candidates(p: &Pipeline, rec: &AdvisoryRecord) -> Result<Vec<Candidate>, StoreError> {
    let Some(fp) = &rec.fingerprint else {
        return Ok(Vec::new());
    };
    let threshold = p.settings.dedupe.similar_text();
    let mut out = Vec::new();
    p.store.scan(&mut |r| {
        let own = matches!(r.kind, Some(Kind::New) | Some(Kind::Related { .. }));
        let issue = r
            .filing
            .as_ref()
            .filter(|f| f.comment_id.is_none())
            .map(|f| f.issue);
        let (Some(issue), Some(theirs)) = (issue, &r.facts.fingerprint) else {
            return ControlFlow::Continue(());
        };
        if !own || rec.links.iter().any(|l| l.tracking_id == r.tracking_id) {
            return ControlFlow::Continue(());
        }
        if let Some(m) = similarity::resemble(fp, theirs, threshold) {
            let text = if m.text >= threshold { m.text } else { 0.0 };
            out.push(Candidate {
                tracking_id: r.tracking_id.clone(),
                issue,
                reason: describe(&m.shared, text),
            });
        }
        ControlFlow::Continue(())
    })?;
    Ok(out)
}

async fn link_pair(p: &Pipeline, rec: &AdvisoryRecord, c: &Candidate) -> Effect<()> {
    let ours = rec.filing.as_ref().map(|f| f.issue).unwrap_or_default();
    let composer = p.composer();
    let since = rec.seen_at - ChronoDuration::days(1);
    note_once(
        p,
        &format!("{}/related:{}", rec.ghsa_id, c.tracking_id),
        ours,
        composer.possibly_related(c.issue, &c.tracking_id, &c.reason),
        since,
    )
    .await?;
    note_once(
        p,
        &format!("{}/related:{}", c.tracking_id, rec.ghsa_id),
        c.issue,
        composer.possibly_related(ours, &rec.ghsa_id, &c.reason),
        since,
    )
    .await
}

async fn note_once(
    p: &Pipeline,
    marker_id: &str,
    issue: u64,
    body: String,
    since: chrono::DateTime<Utc>,
) -> Effect<()> {
    if tracker_result(p.tracker.find(marker_id, Some(issue), since).await)?.is_some() {
        return Ok(());
    }
    let draft = CommentDraft {
        tracking_id: marker_id.to_string(),
        issue,
        body: format!("{}\n{body}", marker(marker_id)),
        labels: Vec::new(),
        continuation: Vec::new(),
    };
    tracker_result(p.tracker.comment(&draft).await).map(|_| ())
}
