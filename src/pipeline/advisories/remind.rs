//! The response window of an advisory, as for a mail report
//! ([`crate::pipeline::reminders`]): an advisory's issue on which no one
//! but secintake has commented, labelled or assigned `[reminders] after`
//! the reporter opened the advisory gets one reminder comment mentioning
//! `[reminders] team` (marker `GHSA-… reminder:response`, looked for
//! before posting). A coordinator seen at work, or the reminder posted,
//! ends the watch; a failed look-up is retried after five minutes.

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use super::record::AdvisoryRecord;
use super::Pipeline;
use crate::compose::when;
use crate::config::duration::to_chrono;
use crate::render::sanitize::code_span;
use crate::store::StoreError;
use crate::support::effect::Effect;
use crate::tracker::{marker, CommentDraft};

pub async fn remind_all(p: &Pipeline, now: DateTime<Utc>) -> Result<(), StoreError> {
    let s = &p.settings.reminders;
    if !s.enabled {
        return Ok(());
    }
    for mut rec in AdvisoryRecord::all(p.store.as_ref())? {
        let Some(issue) = rec.filing.as_ref().map(|f| f.issue) else {
            continue;
        };
        let w = &rec.watch;
        let waiting = w.reminded_at.is_none()
            && w.coordinator_seen_at.is_none()
            && w.next_check_at.is_none_or(|t| t <= now)
            && now >= rec.created_at + to_chrono(s.after);
        if !waiting {
            continue;
        }
        match remind(p, &mut rec, issue, now).await {
            Ok(()) => rec.watch.last_error = None,
            Err(e) => {
                tracing::warn!(ghsa_id = %rec.ghsa_id, error = %e, "advisory reminder check failed");
                rec.watch.last_error = Some(e.to_string());
                rec.watch.next_check_at = Some(now + ChronoDuration::minutes(5));
            }
        }
        rec.save(p.store.as_ref(), false)?;
    }
    Ok(())
}

async fn remind(
    p: &Pipeline,
    rec: &mut AdvisoryRecord,
    issue: u64,
    now: DateTime<Utc>,
) -> Effect<()> {
    let activity = p.tracker.activity(issue).await?;
    if !activity.open {
        // Closed: handled. Look again in a day in case it is reopened.
        rec.watch.next_check_at = Some(now + ChronoDuration::days(1));
        return Ok(());
    }
    if activity.coordinator {
        rec.watch.coordinator_seen_at = Some(now);
        return Ok(());
    }
    let line = marker::reminder(&rec.ghsa_id, "response");
    if !activity.has_marker(&line) {
        let team = &p.settings.reminders.team;
        let body = format!(
            "{line}\n{}**No response yet** to the GitHub Security Advisory {} that the reporter opened {} in {}: respond by {}.",
            if team.is_empty() { String::new() } else { format!("{team} ") },
            code_span(&rec.ghsa_id),
            when(rec.created_at),
            code_span(&rec.repository),
            when(rec.respond_by),
        );
        let draft = CommentDraft {
            tracking_id: rec.ghsa_id.clone(),
            issue,
            body,
            labels: Vec::new(),
            continuation: Vec::new(),
        };
        p.tracker.comment(&draft).await?;
        tracing::info!(ghsa_id = %rec.ghsa_id, issue, "advisory reminder posted");
    }
    rec.watch.reminded_at = Some(now);
    Ok(())
}
