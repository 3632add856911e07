//! The report's lifecycle, followed from its tracking issue once per
//! conversation pass (see [`crate::lifecycle`] for what is kept):
//!
//! 1. **issues**: one repository-wide listing of the issues updated since
//!    the high-water mark (`lifecycle/since`, see [`Mark`]): open or closed
//!    and GitHub's close reason, labels that mean a decision. The comment
//!    listing of the conversation is made only when an issue changed (a
//!    new comment changes its issue), so a pass with no news is one
//!    request.
//! 2. **commands**: `/accept`, `/disclose-by`, … are applied when their
//!    comment is judged ([`apply`]), before their intent is written, so a
//!    crash re-applies the same change (each is idempotent).
//! 3. **after close**: a reporter's follow-up that arrived after the issue
//!    was closed reopens it (or labels it, `[lifecycle] after_close`),
//!    once per follow-up.
//! 4. **status block**: rendered from the record; written on the issue
//!    when it differs from the one last written (its hash is kept), at most
//!    `[lifecycle] max_block_edits` per pass.

mod block_pass;

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use super::Pipeline;
use crate::lifecycle::{end_of_day, CloseReason, Closed, Decision, Lifecycle};
use crate::pipeline::commands::Change;
use crate::record::{Kind, Record};
use crate::store::StoreError;
use crate::tracker::issue_state::IssueState;

pub use block_pass::{blocks, notified};

/// The high-water mark of the issue listing (see [`Mark`]).
const SINCE_KEY: &str = "lifecycle/since";

/// How long after a new mark an update within the mark's second may still
/// appear (GitHub's times have whole seconds), with a margin.
const SAME_SECOND: i64 = 2;

/// Issues per page of the listing.
const PAGE: usize = 100;

/// GitHub's `updated_at` of the newest issue seen. GitHub's times have
/// whole seconds, so an issue may be updated again within the mark's own
/// second after it was listed: issues at exactly the mark count as news
/// until an issue listing that began at least [`SAME_SECOND`] seconds
/// after the one that found the mark succeeded, and the comments were
/// listed after it. A quiet pass is then one request.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Mark {
    at: Option<DateTime<Utc>>,
    /// When (real time, whatever the pipeline's clock says) the listing
    /// that found `at` began: elapsed time on our own clock is what counts,
    /// so a skew between our clock and GitHub's does not matter.
    #[serde(default)]
    set_at: Option<DateTime<Utc>>,
    /// The comments were listed late enough after `set_at`.
    #[serde(default)]
    settled: bool,
}

fn save_mark(p: &Pipeline, mark: &Mark) -> Result<(), StoreError> {
    crate::store::meta::save(p.store.as_ref(), SINCE_KEY, mark, false)
}

/// What one issue listing found.
#[derive(Debug, Clone, Copy)]
pub struct Listing {
    /// An issue changed (or the listing failed): list the comments.
    pub news: bool,
    /// When (real time) the issue listing began, if it succeeded.
    pub listed_at: Option<DateTime<Utc>>,
}

impl Listing {
    /// No listing to go by (it failed, or the tracker has no issue
    /// states): look at the comments.
    pub const UNKNOWN: Listing = Listing {
        news: true,
        listed_at: None,
    };
}

/// The issues listed from `listed_at` on and the comments after them were
/// both read: issues at the mark stop being news once that listing began
/// late enough after the mark was set.
pub fn settle(p: &Pipeline, listed_at: DateTime<Utc>) -> Result<(), StoreError> {
    let mut mark = load_mark(p)?;
    let late = mark
        .set_at
        .is_some_and(|t| listed_at >= t + ChronoDuration::seconds(SAME_SECOND));
    if mark.at.is_some() && late && !mark.settled {
        mark.settled = true;
        save_mark(p, &mark)?;
    }
    Ok(())
}

fn load_mark(p: &Pipeline) -> Result<Mark, StoreError> {
    Ok(p.store
        .meta_get(SINCE_KEY)?
        .and_then(|v| serde_json::from_slice(&v).ok())
        .unwrap_or_default())
}

/// Applies a lifecycle command to `rec`; returns what changed, in words
/// (for the log and the bot's answer).
pub fn apply(rec: &mut Record, change: &Change, now: DateTime<Utc>) -> String {
    let l = &mut rec.lifecycle;
    let decide = |l: &mut Lifecycle, d: Decision| {
        if l.decision != Some(d) {
            l.decision = Some(d);
            l.decided_at = Some(now);
        }
    };
    match change {
        Change::Accept => {
            decide(l, Decision::Accepted);
            "accepted".into()
        }
        Change::Reject => {
            decide(l, Decision::Rejected);
            "not accepted".into()
        }
        Change::Duplicate { of } => {
            decide(l, Decision::Duplicate { of: *of });
            format!("duplicate of #{of}")
        }
        Change::DiscloseBy { date } => {
            if l.disclose_by_set != Some(*date) {
                l.disclose_by_set = Some(*date);
                rec.disclose_by = end_of_day(*date);
                // A new date gets its own reminder.
                rec.watch.disclosure_reminded_at = None;
            }
            format!("disclosure date {date}")
        }
        Change::ReleaseDate { date } => {
            l.release_date = Some(*date);
            format!("release date {date}")
        }
        Change::AnnounceDate { date } => {
            l.announce_date = Some(*date);
            format!("announcement date {date}")
        }
        Change::Ghsa { id } => {
            Lifecycle::link(&mut l.ghsa, id);
            format!("advisory {id} linked")
        }
        Change::Cve { id } => {
            Lifecycle::link(&mut l.cve, id);
            format!("{id} linked")
        }
        Change::Credit { name } => {
            l.credit = Some(name.clone());
            "credit line set".into()
        }
    }
}

/// Mirrors one listed issue onto its report; true when anything changed.
fn mirror(p: &Pipeline, rec: &mut Record, i: &IssueState, now: DateTime<Utc>) -> bool {
    let before = rec.lifecycle.clone();
    let l = &mut rec.lifecycle;
    if i.open {
        l.closed = None;
    } else if l.closed.is_none() {
        // When it was closed, as GitHub says, but never later than now.
        let at = i.closed_at.unwrap_or(now).min(now);
        l.closed = Some(Closed {
            at,
            reason: CloseReason::from_github(i.state_reason.as_deref()),
        });
    }
    // Only labels put on since the last look decide: a label that was
    // already there does not overrule a later command.
    let added: Vec<String> = i
        .labels
        .iter()
        .filter(|n| !l.labels.iter().any(|o| o.eq_ignore_ascii_case(n)))
        .cloned()
        .collect();
    l.labels = i.labels.clone();
    if let Some(d) = p.settings.lifecycle.decision_of(&added) {
        // A label says no more than a command did (`/duplicate #N` keeps N).
        let same_kind = matches!(
            (l.decision, d),
            (Some(Decision::Duplicate { .. }), Decision::Duplicate { .. })
        );
        if l.decision != Some(d) && !same_kind {
            l.decision = Some(d);
            l.decided_at = Some(now);
        }
    }
    rec.lifecycle != before
}

/// Tracking IDs of the reports by the number of their own issue.
fn reports_by_issue(p: &Pipeline) -> Result<std::collections::BTreeMap<u64, String>, StoreError> {
    let mut map = std::collections::BTreeMap::new();
    p.store.scan(&mut |r| {
        if let Some(f) = r.filing.as_ref().filter(|f| f.comment_id.is_none()) {
            if r.kind.as_ref().is_some_and(Kind::owns_issue) {
                map.insert(f.issue, r.tracking_id.clone());
            }
        }
        std::ops::ControlFlow::Continue(())
    })?;
    Ok(map)
}

/// Lists the issues changed since the mark and mirrors them. Says whether
/// any changed (or the listing failed: the caller then looks at the
/// comments anyway) and when the listing began.
pub async fn sync(p: &Pipeline, now: DateTime<Utc>) -> Result<Listing, StoreError> {
    let mut mark = load_mark(p)?;
    let since = match mark.at {
        Some(t) => t,
        None => {
            let mut first = None;
            p.store.scan(&mut |r| {
                first = Some(r.received_at);
                std::ops::ControlFlow::Break(())
            })?;
            match first {
                Some(t) => t - ChronoDuration::minutes(1),
                None => {
                    return Ok(Listing {
                        news: false,
                        listed_at: None,
                    })
                }
            }
        }
    };
    // Real time, not the pipeline's clock: this is about GitHub's seconds.
    let listed_at = Utc::now();
    let batch = match p
        .tracker
        .issues_since(since, p.settings.conversation.max_pages)
        .await
    {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "listing the tracker's issues failed; next pass");
            crate::ops::metrics::global().tracker_error(&e);
            return Ok(Listing::UNKNOWN);
        }
    };
    let listed = |news| Listing {
        news,
        listed_at: Some(listed_at),
    };
    // Issues updated after the mark, and those at the mark while it is
    // not settled (see [`Mark`]).
    let news: Vec<&IssueState> = batch
        .issues
        .iter()
        .filter(|i| {
            mark.at
                .is_none_or(|t| i.updated_at > t || (i.updated_at == t && !mark.settled))
        })
        .collect();
    if news.is_empty() {
        return Ok(listed(false));
    }
    let reports = reports_by_issue(p)?;
    for i in &news {
        let Some(tid) = reports.get(&i.number) else {
            continue;
        };
        let Some(mut rec) = p.store.get(tid)? else {
            continue;
        };
        if mirror(p, &mut rec, i, now) {
            tracing::info!(
                tracking_id = %rec.tracking_id,
                issue = i.number,
                phase = rec.lifecycle.phase().name(),
                "lifecycle mirrored from the issue"
            );
            p.store.put(&rec)?;
        }
    }
    let mut newest = news.iter().map(|i| i.updated_at).max().unwrap_or(since);
    // Pages are read by offset: an issue updated during a listing of
    // several pages moves to the end and shifts the next page by one, so
    // one issue can go unread. The mark then moves only to the end of the
    // first page; the rest is listed again (and mirrored again, which
    // changes nothing) next pass.
    if let Some(first_page_end) = batch
        .issues
        .get(PAGE - 1)
        .filter(|_| batch.issues.len() > PAGE)
    {
        newest = newest.min(first_page_end.updated_at);
    }
    if mark.at.is_none_or(|t| newest > t) {
        mark = Mark {
            at: Some(newest),
            set_at: Some(listed_at),
            settled: false,
        };
        save_mark(p, &mark)?;
    }
    if batch.truncated {
        tracing::info!("more issues changed than one pass reads: the rest next pass");
    }
    Ok(listed(true))
}

/// Reopens (or labels) a closed report's issue when its reporter wrote
/// after the close, once per follow-up.
pub async fn after_close(p: &Pipeline) -> Result<(), StoreError> {
    let mut late: Vec<(String, String)> = Vec::new();
    p.store.scan(&mut |r| {
        if let (Some(Kind::FollowUp { of }), Some(_)) = (&r.kind, &r.filing) {
            late.push((of.clone(), r.tracking_id.clone()));
        }
        std::ops::ControlFlow::Continue(())
    })?;
    for (of, follow_up) in late {
        let Some(mut rec) = p.store.get(&of)? else {
            continue;
        };
        let Some(closed) = rec.lifecycle.closed else {
            continue;
        };
        if rec.lifecycle.after_close.contains(&follow_up) {
            continue;
        }
        let Some(fu) = p.store.get(&follow_up)? else {
            continue;
        };
        let Some(issue) = rec.filing.as_ref().map(|f| f.issue) else {
            continue;
        };
        if fu.received_at <= closed.at {
            continue;
        }
        let s = &p.settings.lifecycle;
        let done = match s.after_close {
            crate::config::AfterClose::Reopen => p.tracker.reopen(issue).await,
            crate::config::AfterClose::Label => {
                p.tracker
                    .add_labels(issue, std::slice::from_ref(&s.after_close_label))
                    .await
            }
        };
        match done {
            Ok(()) => {
                tracing::info!(tracking_id = %rec.tracking_id, follow_up = %follow_up, issue, "the reporter wrote after the issue was closed: {}", match s.after_close {
                    crate::config::AfterClose::Reopen => "reopened",
                    crate::config::AfterClose::Label => "labelled",
                });
                rec.lifecycle.after_close.push(follow_up);
                if s.after_close == crate::config::AfterClose::Reopen {
                    rec.lifecycle.closed = None;
                }
                p.store.put(&rec)?;
            }
            Err(e) => {
                tracing::warn!(tracking_id = %rec.tracking_id, error = %e, "reopening or labelling after the reporter wrote failed; next pass");
            }
        }
    }
    Ok(())
}
