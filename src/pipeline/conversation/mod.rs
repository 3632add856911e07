//! The team talks to the reporter from the tracking issue: once per daemon
//! pass, with `[conversation] enabled`,
//!
//! 1. **discover**: one repository-wide listing of the comments updated
//!    since the high-water mark (GitHub's own `updated_at` of the newest
//!    comment seen, kept in the store; `since` is inclusive, so the newest
//!    is seen again and recognised by its intent). No new comment: one
//!    request per pass.
//! 2. **judge** each comment whose first line is a command
//!    ([`crate::pipeline::commands`]): secintake's own comments (marker
//!    line first) never command; only authors GitHub calls `OWNER`,
//!    `MEMBER` or `COLLABORATOR`, and with `[conversation]
//!    allowed_logins` only those logins, do. A durable [`Intent`] keyed by
//!    the comment ID is written for each command comment before anything
//!    else, so editing or deleting the comment later changes nothing and
//!    none is acted on twice. Outsiders' commands are ignored and logged by
//!    comment ID.
//! 3. **send** ([`send`]): the mail to the report's reply address, signed
//!    and encrypted to the reporter's key when one is known; a report that
//!    came encrypted gets nothing in clear without `/reply plain`.
//!    `/ghsa draft` mails nothing: it creates a draft security advisory
//!    instead ([`ghsa_draft`]), once per comment.
//! 4. **answer** on the issue, once (marker line first, looked for before
//!    posting): what went where, or why nothing did.
//!
//! Failures are retried with the pipeline's backoff. The daemon runs a pass
//! every `[conversation] poll_interval` (waking from IMAP IDLE for it), or
//! sooner when a retry is due.

mod ghsa_draft;
pub mod intent;
mod send;

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use super::{due, record_failure, record_success, Pipeline};
use crate::compose::reply::Outcome;
use crate::ops::metrics::conversation::Commands;
use crate::pipeline::commands::{self, Command};
use crate::pipeline::lifecycle;
use crate::record::{Attempts, Record};
use crate::store::StoreError;
use crate::support::effect::Effect;
use crate::tracker::comments::IssueComment;
use crate::tracker::{marker, CommentDraft};
pub use intent::{Intent, Mail};

/// Looking for our answer starts this long before the comment was seen.
const ANSWER_LOOKBACK: i64 = 60;

/// One pass: discover, judge, send, answer. Returns when the next pass is
/// due (`[conversation] poll_interval` from now, or a retry before it);
/// None when conversation is off.
pub async fn pass(p: &Pipeline, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError> {
    let conv = &p.settings.conversation;
    if !conv.enabled {
        return Ok(None);
    }
    let mut next = now + crate::config::duration::to_chrono(conv.poll_interval);
    if p.tracker.held().is_some() {
        return Ok(Some(next));
    }
    // A new comment changes its issue: with no changed issue, no comment
    // listing (one request per quiet pass).
    let follow = p.settings.lifecycle.enabled;
    let listing = if follow && p.tracker.lists_issue_states() {
        lifecycle::sync(p, now).await?
    } else {
        lifecycle::Listing::UNKNOWN
    };
    if listing.news && discover(p, now).await? {
        if let Some(t) = listing.listed_at {
            lifecycle::settle(p, t)?;
        }
    }
    let mut counts = Commands::default();
    for mut i in Intent::all(p.store.as_ref())? {
        if i.finished() {
            count(&mut counts, &i);
            continue;
        }
        let drafts = matches!(i.command, Some(commands::Command::GhsaDraft { .. }));
        if matches!(i.mail, Mail::Pending) && drafts && due(&i.mail_attempts, now) {
            ghsa_draft::act(p, &mut i).await?;
        } else if matches!(i.mail, Mail::Pending | Mail::Sending { .. })
            && due(&i.mail_attempts, now)
        {
            p.send_reply(&mut i).await?;
        }
        if matches!(i.mail, Mail::Pending) && i.mail_attempts.count > 0 && !i.failure_said {
            say_failure(p, &mut i).await?;
        }
        if matches!(
            i.mail,
            Mail::Sent { .. } | Mail::Refused { .. } | Mail::Done { .. }
        ) && !i.answered
            && due(&i.answer_attempts, now)
        {
            answer(p, &mut i).await?;
        }
        count(&mut counts, &i);
        let retry = match i.mail {
            Mail::Pending | Mail::Sending { .. } => i.mail_attempts.next_at,
            _ if !i.answered => i.answer_attempts.next_at,
            _ => None,
        };
        next = next.min(retry.unwrap_or(next));
    }
    first_reply_times(p.store.as_ref(), &mut counts)?;
    crate::ops::metrics::global().commands(counts);
    if follow {
        lifecycle::after_close(p).await?;
        lifecycle::blocks(p).await?;
    }
    Ok(Some(next))
}

/// The command comments in the store, by where their mail stands (for
/// `status` when no daemon runs).
pub fn counts(store: &dyn crate::store::Store) -> Result<Commands, StoreError> {
    let mut c = Commands::default();
    for i in Intent::all(store)? {
        count(&mut c, &i);
    }
    first_reply_times(store, &mut c)?;
    Ok(c)
}

/// When each report's first command mail (a human's words) went out, by
/// tracking ID.
pub fn first_replies(
    store: &dyn crate::store::Store,
) -> Result<std::collections::BTreeMap<String, DateTime<Utc>>, StoreError> {
    let mut first = std::collections::BTreeMap::new();
    for i in Intent::all(store)? {
        if let (Mail::Sent { at, .. }, Some(tid)) = (&i.mail, i.tracking_id) {
            first
                .entry(tid)
                .and_modify(|t: &mut DateTime<Utc>| *t = (*t).min(*at))
                .or_insert(*at);
        }
    }
    Ok(first)
}

/// Fills in how long reports waited for their first human reply.
fn first_reply_times(store: &dyn crate::store::Store, c: &mut Commands) -> Result<(), StoreError> {
    let mut waits = Vec::new();
    for (tid, at) in first_replies(store)? {
        if let Some(r) = store.get(&tid)? {
            waits.push((at - r.received_at).num_seconds().max(0));
        }
    }
    use crate::ops::quantile::nearest_rank;
    c.replied_reports = waits.len() as u64;
    c.first_reply_p50_secs = nearest_rank(&waits, 0.5);
    c.first_reply_p90_secs = nearest_rank(&waits, 0.9);
    Ok(())
}

fn count(c: &mut Commands, i: &Intent) {
    let n = match i.mail {
        Mail::Pending | Mail::Sending { .. } => &mut c.pending,
        Mail::Sent { .. } | Mail::Done { .. } => &mut c.sent,
        Mail::Refused { .. } => &mut c.refused,
        Mail::Ignored { .. } => &mut c.ignored,
        Mail::Applied { .. } => &mut c.applied,
    };
    *n += 1;
}

/// Where the listing starts: the high-water mark, or, before the first
/// listing, the first report's arrival (no comment on a report's issue
/// is older). None: no report yet, nothing to look at.
fn start(p: &Pipeline) -> Result<Option<DateTime<Utc>>, StoreError> {
    if let Some(t) = intent::since(p.store.as_ref())? {
        return Ok(Some(t));
    }
    let mut first = None;
    p.store.scan(&mut |r| {
        first = Some(r.received_at);
        std::ops::ControlFlow::Break(())
    })?;
    Ok(first.map(|t| t - ChronoDuration::minutes(1)))
}

/// Lists and judges the new comments; false when the listing failed.
async fn discover(p: &Pipeline, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let Some(since) = start(p)? else {
        return Ok(true);
    };
    let batch = match p
        .tracker
        .comments_since(since, p.settings.conversation.max_pages)
        .await
    {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "listing the tracker's comments failed; next pass");
            crate::ops::metrics::global().tracker_error(&e);
            return Ok(false);
        }
    };
    if batch.truncated {
        tracing::info!("more comments than one pass reads: the rest next pass");
    }
    let mut newest = since;
    for c in &batch.comments {
        judge(p, c, now)?;
        newest = newest.max(c.updated_at);
    }
    if newest > since {
        intent::set_since(p.store.as_ref(), newest)?;
    }
    Ok(true)
}

/// The report filed as issue `number` (not as a comment on it).
fn report_of_issue(p: &Pipeline, number: u64) -> Result<Option<Record>, StoreError> {
    let mut found = None;
    p.store.scan(&mut |r| {
        if r.filing
            .as_ref()
            .is_some_and(|f| f.issue == number && f.comment_id.is_none())
        {
            found = Some(r.clone());
            return std::ops::ControlFlow::Break(());
        }
        std::ops::ControlFlow::Continue(())
    })?;
    Ok(found)
}

/// Records what a newly seen comment is; nothing for comments that are no
/// commands, ours, or already seen.
fn judge(p: &Pipeline, c: &IssueComment, now: DateTime<Utc>) -> Result<(), StoreError> {
    let first = c.body.lines().next().unwrap_or("");
    if marker::is_ours(first) {
        return Ok(());
    }
    let Some(parsed) = commands::parse(&c.body) else {
        return link_pasted_advisories(p, c);
    };
    if Intent::load(p.store.as_ref(), c.id)?.is_some() {
        // Seen before: an edit (or the mark's own comment) changes nothing.
        return Ok(());
    }
    let record = report_of_issue(p, c.issue)?;
    let mut i = Intent {
        comment_id: c.id,
        issue: c.issue,
        tracking_id: record.as_ref().map(|r| r.tracking_id.clone()),
        login: c.login.clone(),
        seen_at: now,
        command: None,
        text: None,
        mail: Mail::Pending,
        mail_attempts: Attempts::default(),
        answered: false,
        failure_said: false,
        answer_attempts: Attempts::default(),
        drafting_since: None,
    };
    let conv = &p.settings.conversation;
    i.mail = if !c.by_collaborator() {
        Mail::Ignored {
            reason: format!("author association {}", c.association),
        }
    } else if !conv.allows(&c.login) {
        Mail::Ignored {
            reason: "login not in [conversation] allowed_logins".into(),
        }
    } else if let Some(report) = record.as_ref() {
        match parsed {
            Ok(commands::Parsed {
                command: Command::Change(change),
                ..
            }) => {
                let mut rec = report.clone();
                let what = lifecycle::apply(&mut rec, &change, now);
                p.store.put(&rec)?;
                if let commands::Change::Credit { name } = &change {
                    // What `/ghsa draft` credits (a GitHub login only).
                    crate::pipeline::credit::Consent::from_credit_line(name, now)
                        .save(p.store.as_ref(), &rec.tracking_id)?;
                }
                i.command = Some(Command::Change(change));
                i.answered = true;
                Mail::Applied { what }
            }
            Ok(parsed) => {
                i.command = Some(parsed.command);
                i.text = Some(parsed.text);
                Mail::Pending
            }
            Err(e) => Mail::Refused {
                reason: format!(
                    "The command was not understood: {}. Syntax: `{}`",
                    e.problem, e.usage
                ),
            },
        }
    } else {
        Mail::Ignored {
            reason: "the issue is no report's".into(),
        }
    };
    match &i.mail {
        Mail::Ignored { reason } => {
            tracing::warn!(comment_id = c.id, issue = c.issue, reason = %reason, "command comment ignored");
        }
        _ => {
            tracing::info!(
                comment_id = c.id,
                issue = c.issue,
                command = i
                    .command
                    .as_ref()
                    .map(|c| c.label())
                    .as_deref()
                    .unwrap_or("-"),
                "command comment taken"
            );
        }
    }
    i.save(p.store.as_ref(), false)
}

/// A coordinator's ordinary comment that names an advisory
/// (`GHSA-…`, or its URL) links it to the report.
fn link_pasted_advisories(p: &Pipeline, c: &IssueComment) -> Result<(), StoreError> {
    if !c.by_collaborator() || !p.settings.conversation.allows(&c.login) {
        return Ok(());
    }
    let ids = crate::lifecycle::ghsa_ids_in(&c.body);
    if ids.is_empty() {
        return Ok(());
    }
    let Some(mut rec) = report_of_issue(p, c.issue)? else {
        return Ok(());
    };
    let mut changed = false;
    for id in &ids {
        changed |= crate::lifecycle::Lifecycle::link(&mut rec.lifecycle.ghsa, id);
    }
    if changed {
        tracing::info!(tracking_id = %rec.tracking_id, comment_id = c.id, "advisory linked from a comment");
        p.store.put(&rec)?;
    }
    Ok(())
}

/// Posts our answer about the command, unless it is there already.
async fn answer(p: &Pipeline, i: &mut Intent) -> Result<(), StoreError> {
    let Some(record) = i
        .tracking_id
        .as_deref()
        .map(|t| p.store.get(t))
        .transpose()?
        .flatten()
    else {
        i.answered = true;
        return i.save(p.store.as_ref(), false);
    };
    let label = i
        .command
        .as_ref()
        .map(|c| format!("/{}", c.label()))
        .unwrap_or_else(|| "command".into());
    let outcome = match &i.mail {
        Mail::Sent {
            message_id,
            at,
            to,
            encrypted_to,
        } => Outcome::Sent {
            to,
            encrypted_to: encrypted_to.as_deref(),
            message_id,
            at: *at,
        },
        Mail::Refused { reason } => Outcome::Refused { reason },
        Mail::Done { note } => Outcome::Done { note },
        _ => return Ok(()),
    };
    let body = p
        .composer()
        .command_outcome(&record, i.comment_id, &label, &outcome);
    let line = marker::command(&record.tracking_id, i.comment_id);
    let since = i.seen_at - ChronoDuration::seconds(ANSWER_LOOKBACK);
    let posted = post_once(p, record.tracking_id.clone(), i.issue, &line, since, body).await;
    match posted {
        Ok(()) => {
            crate::ops::failpoint::hit("effect.command.answered");
            i.answered = true;
            record_success(&mut i.answer_attempts);
            tracing::info!(tracking_id = %record.tracking_id, comment_id = i.comment_id, "answered the command on the issue");
        }
        Err(e) => {
            tracing::warn!(tracking_id = %record.tracking_id, comment_id = i.comment_id, error = %e, "answering the command on the issue failed");
            record_failure(&mut i.answer_attempts, &e, crate::support::clock::now());
        }
    }
    i.save(p.store.as_ref(), false)
}

/// Says once on the issue that the command's mail failed, why, and when
/// it is tried again. Best effort: if this fails too, the next failure
/// tries again.
async fn say_failure(p: &Pipeline, i: &mut Intent) -> Result<(), StoreError> {
    let Some(tid) = i.tracking_id.clone() else {
        return Ok(());
    };
    let line = marker::command_failed(&tid, i.comment_id);
    let since = i.seen_at - ChronoDuration::seconds(ANSWER_LOOKBACK);
    let label = i
        .command
        .as_ref()
        .map(|c| format!("/{}", c.label()))
        .unwrap_or_default();
    let body = p.composer().command_failure(
        &tid,
        i.comment_id,
        &label,
        i.mail_attempts
            .last_error
            .as_deref()
            .unwrap_or("unknown error"),
        i.mail_attempts.next_at,
    );
    let posted = post_once(p, tid.clone(), i.issue, &line, since, body).await;
    match posted {
        Ok(()) => {
            i.failure_said = true;
            i.save(p.store.as_ref(), false)
        }
        Err(e) => {
            tracing::warn!(tracking_id = %tid, comment_id = i.comment_id, error = %e, "saying on the issue that the command mail failed failed");
            Ok(())
        }
    }
}

/// Posts `body` on `issue` unless a comment starting with `line` (ours,
/// from an earlier attempt) is already there since `since`.
async fn post_once(
    p: &Pipeline,
    tracking_id: String,
    issue: u64,
    line: &str,
    since: DateTime<Utc>,
    body: String,
) -> Effect<()> {
    if p.tracker.has_marked_comment(issue, line, since).await? {
        return Ok(());
    }
    p.tracker
        .comment(&CommentDraft {
            tracking_id,
            issue,
            body,
            labels: Vec::new(),
            continuation: Vec::new(),
        })
        .await
        .map(|_| ())
}
