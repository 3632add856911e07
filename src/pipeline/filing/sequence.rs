//! Filing one record, idempotently: look for its marker, keep its
//! attachments beside the issue, create the issue (or the follow-up
//! comment) only when the marker was not found, then post whatever
//! continuation parts are missing. Every step can be repeated after a crash
//! or a lost answer without creating anything twice.

use chrono::{DateTime, Utc};

use crate::compose::Composer;
use crate::normalize::Opened;
use crate::record::{Filing, Record};
use crate::support::effect::{Effect, EffectError};
use crate::tracker::{attachment_path, IssueDraft, StoredFile, Tracker};

/// Stores the attachments the report keeps ([`Composer::upload_plan`]:
/// at most `max_attachments`, `max_upload_bytes` together, each within the
/// per-file limit) under `reports/<ID>/`, in order. The others: `None` (the
/// issue lists their name, size and hash). `look`: an earlier attempt may
/// have stored some already, so check before writing.
pub async fn store_attachments(
    tracker: &Tracker,
    composer: &Composer<'_>,
    rec: &Record,
    opened: &Opened,
    look: bool,
) -> Effect<Vec<Option<StoredFile>>> {
    let plan = composer.upload_plan(opened);
    let mut out = Vec::with_capacity(opened.attachments.len());
    for (i, a) in opened.attachments.iter().enumerate() {
        if plan.get(i).is_none_or(Option::is_some) {
            out.push(None);
            continue;
        }
        let path = attachment_path(&rec.tracking_id, i + 1, &a.name);
        let message = format!("secintake: attachment {} of {}", i + 1, rec.tracking_id);
        out.push(tracker.store_file(&path, &a.data, &message, look).await?);
    }
    Ok(out)
}

fn template_error(e: impl std::fmt::Display) -> EffectError {
    EffectError::Permanent(format!("rendering the issue: {e}"))
}

/// A new (or unreadable) report as an issue; `amend` may add to the draft
/// (e.g. a "possibly related" note) with [`IssueDraft::append`].
///
/// `look_since`: look for the record's marker in issues updated since then
/// first — when an earlier attempt may have created the issue. None on the
/// very first attempt: nothing can carry the marker yet, and the look-up
/// (a search plus a listing of every recent issue) grows with the tracker.
pub async fn file_issue(
    tracker: &Tracker,
    composer: &Composer<'_>,
    rec: &Record,
    opened: &Opened,
    look_since: Option<DateTime<Utc>>,
    amend: impl FnOnce(&mut IssueDraft),
) -> Effect<Filing> {
    let found = match look_since {
        Some(since) => tracker.find(&rec.tracking_id, None, since).await?,
        None => None,
    };
    let stored = store_attachments(tracker, composer, rec, opened, look_since.is_some()).await?;
    let mut draft = composer
        .issue_with(rec, opened, &stored)
        .map_err(template_error)?;
    amend(&mut draft);
    let filing = match found {
        Some(f) => f,
        None => tracker.create_issue(&draft).await?,
    };
    tracker
        .continue_parts(filing.issue, &draft.continuation)
        .await?;
    Ok(filing)
}

/// A follow-up as a comment on issue `issue`.
pub async fn file_comment(
    tracker: &Tracker,
    composer: &Composer<'_>,
    rec: &Record,
    opened: &Opened,
    issue: u64,
    since: DateTime<Utc>,
) -> Effect<Filing> {
    let found = tracker.find(&rec.tracking_id, Some(issue), since).await?;
    let stored = store_attachments(tracker, composer, rec, opened, true).await?;
    let draft = composer
        .comment_with(rec, opened, issue, &stored)
        .map_err(template_error)?;
    let filing = match found {
        Some(f) => f,
        None => tracker.comment(&draft).await?,
    };
    tracker.continue_parts(issue, &draft.continuation).await?;
    Ok(filing)
}
