//! Filing in the tracker, once: every issue and comment starts with a marker
//! line, and the tracker is searched for it before anything is created, so a
//! crash between GitHub's answer and our state write files nothing twice.
//!
//! * new and unreadable reports: an issue;
//! * follow-ups: a comment with the (decrypted, sanitised) text on the issue
//!   of the report they belong to; a team member's mail with the report's
//!   references the same, marked "from the team";
//! * resubmissions: a short "resubmitted" comment on that issue;
//! * related reports: an issue of their own that says "possibly related to
//!   #N", then a comment on #N pointing back (marker `ID/related`). The
//!   issue is recorded before the comment is made. A claimed follow-up
//!   ([`crate::classify::CLAIMS_FOLLOW_UP`]) is linked the same way, worded
//!   "claims to follow up #N".

mod sequence;

use chrono::Duration as ChronoDuration;

use super::{record_failure, record_success, Pipeline};
use crate::classify::is_claimed_follow_up;
use crate::classify::similarity;
use crate::compose::when;
use crate::normalize::Opened;
use crate::ops::failpoint;
use crate::ops::metrics::tracker_result;
use crate::record::{Filing, Kind, Record};
use crate::render::sanitize::code_span;
use crate::store::StoreError;
use crate::support::effect::{Effect, EffectError};
use crate::tracker::{marker, CommentDraft};
use sequence as tracker_filing;

/// The marker of the "possibly related" comment a record leaves on #N.
pub fn related_marker_id(tracking_id: &str) -> String {
    format!("{tracking_id}/related")
}

impl Pipeline {
    /// The issue the record `of` lives in, once it is filed.
    fn issue_of(&self, of: &str) -> Effect<u64> {
        self.store
            .get(of)
            .map_err(|e| EffectError::Transient(e.to_string()))?
            .and_then(|r| r.filing.map(|f| f.issue))
            .ok_or_else(|| EffectError::Transient(format!("waiting for {of} to be filed")))
    }

    /// Creates a comment unless one with this marker is already there.
    async fn comment_once(&self, marker_id: &str, issue: u64, body: String) -> Effect<Filing> {
        let since = crate::support::clock::now() - ChronoDuration::days(30);
        if let Some(f) = tracker_result(self.tracker.find(marker_id, Some(issue), since).await)? {
            return Ok(f);
        }
        let draft = CommentDraft {
            tracking_id: marker_id.to_string(),
            issue,
            body: format!("{}\n{body}", marker(marker_id)),
            labels: Vec::new(),
            continuation: Vec::new(),
        };
        tracker_result(self.tracker.comment(&draft).await)
    }

    /// What links this record's text to `of`: the reason, and the shared
    /// identifiers as they appear in this report (code spans).
    fn related_reason(&self, opened: &Opened, of: &str, reason: &str) -> String {
        let shared = self
            .store
            .similarity_key()
            .ok()
            .zip(self.store.get(of).ok().flatten())
            .and_then(|(key, r)| {
                r.facts
                    .fingerprint
                    .map(|fp| similarity::shared_identifiers(&opened.text, &key, &fp))
            })
            .unwrap_or_default();
        if shared.is_empty() {
            return reason.to_string();
        }
        let list: Vec<String> = shared.iter().map(|i| code_span(&i.value)).collect();
        format!("{reason}: {}", list.join(", "))
    }

    async fn file_issue(
        &self,
        rec: &Record,
        opened: &Opened,
        related: Option<(u64, &str, &str)>,
        look: bool,
    ) -> Effect<Filing> {
        // Only an earlier attempt can have left an issue with our marker.
        let since = look.then(|| rec.received_at - ChronoDuration::days(1));
        let note = related.map(|(issue, of, reason)| {
            if is_claimed_follow_up(reason) {
                format!(
                    "\n\n---\n**Claims to follow up #{issue}** ({of}): it names that report, but not from its reporter's address and without one of our Message-IDs, so it is filed separately and not added to #{issue}.\n"
                )
            } else {
                format!(
                    "\n\n---\n**Possibly related to #{issue}** ({of}): {}. Filed separately so that each reporter is credited.\n",
                    self.related_reason(opened, of, reason)
                )
            }
        });
        let filed =
            tracker_filing::file_issue(&self.tracker, &self.composer(), rec, opened, since, |d| {
                if let Some(n) = &note {
                    d.append(n);
                }
            })
            .await;
        tracker_result(filed)
    }

    async fn file_follow_up(&self, rec: &Record, opened: &Opened, of: &str) -> Effect<Filing> {
        let issue = self.issue_of(of)?;
        let since = rec.received_at - ChronoDuration::days(1);
        let filed = tracker_filing::file_comment(
            &self.tracker,
            &self.composer(),
            rec,
            opened,
            issue,
            since,
        )
        .await;
        tracker_result(filed)
    }

    async fn file_resubmission(&self, rec: &Record, opened: &Opened, of: &str) -> Effect<Filing> {
        let issue = self.issue_of(of)?;
        let from = code_span(opened.headers.from.as_deref().unwrap_or("(unknown)"));
        let body = format!(
            "**Resubmitted** as {} on {} by {from}: the same normalised content as {of}; not filed again.",
            rec.tracking_id,
            when(rec.received_at),
        );
        self.comment_once(&rec.tracking_id, issue, body).await
    }

    /// Files what is due for `rec`, recording each step before the next.
    pub(super) async fn file(&self, rec: &mut Record, opened: &Opened) -> Result<(), StoreError> {
        // What this attempt does next must be looked for by the next one, so
        // say durably that an attempt began; the flag read before this tells
        // whether one already had (then the tracker is searched first).
        let look = rec.file_attempts.started;
        if !look {
            rec.file_attempts.started = true;
            self.put_filing(rec, true)?;
        } else if !self.tracker.is_local() {
            // Whatever was written since (a new classification) goes first.
            self.store.flush()?;
        }
        failpoint::hit_keyed("file.hang", &rec.tracking_id);
        let result: Effect<()> = match rec.kind.clone() {
            Some(Kind::FollowUp { of }) | Some(Kind::TeamComment { of }) => self
                .file_follow_up(rec, opened, &of)
                .await
                .map(|f| rec.filing = Some(f)),
            Some(Kind::Resubmitted { of }) => self
                .file_resubmission(rec, opened, &of)
                .await
                .map(|f| rec.filing = Some(f)),
            Some(Kind::New) | Some(Kind::Unreadable { .. }) => self
                .file_issue(rec, opened, None, look)
                .await
                .map(|f| rec.filing = Some(f)),
            Some(Kind::Related { of, reason }) => {
                self.file_related(rec, opened, &of, &reason, look).await
            }
            _ => return Ok(()),
        };
        failpoint::hit("effect.filed");
        match result {
            Ok(()) => {
                if let Some(f) = &rec.filing {
                    tracing::info!(tracking_id = %rec.tracking_id, issue = f.issue, comment = ?f.comment_id, "filed");
                }
                record_success(&mut rec.file_attempts);
            }
            Err(e) => {
                tracing::warn!(tracking_id = %rec.tracking_id, error = %e, "filing failed");
                record_failure(&mut rec.file_attempts, &e, crate::support::clock::now());
            }
        }
        rec.state = rec.derived_state();
        self.put_filing(rec, false)
    }

    async fn file_related(
        &self,
        rec: &mut Record,
        opened: &Opened,
        of: &str,
        reason: &str,
        look: bool,
    ) -> Effect<()> {
        let their_issue = self.issue_of(of)?;
        if rec.filing.is_none() {
            let f = self
                .file_issue(rec, opened, Some((their_issue, of, reason)), look)
                .await?;
            failpoint::hit("effect.filed");
            rec.filing = Some(f);
            // Durable before the second side effect.
            self.put_filing(rec, false)
                .map_err(|e| EffectError::Transient(e.to_string()))?;
        }
        let ours = rec.filing.as_ref().map(|f| f.issue).unwrap_or_default();
        let body = if is_claimed_follow_up(reason) {
            format!(
                "**#{ours} ({}) claims to follow up #{their_issue}** ({of}): it names this report, but not from its reporter's address and without one of our Message-IDs, so it was filed separately and not added here.",
                rec.tracking_id,
            )
        } else {
            format!(
                "**Possibly related:** #{ours} ({}), filed separately so that each reporter is credited — {}.",
                rec.tracking_id,
                self.related_reason(opened, of, reason)
            )
        };
        let note = self
            .comment_once(&related_marker_id(&rec.tracking_id), their_issue, body)
            .await?;
        rec.related_note = note.comment_id.or(Some(0));
        Ok(())
    }
}
