//! The response window, watched once per daemon pass:
//!
//! * **Acknowledgement at risk.** An acknowledgement still unsent
//!   `[acknowledgement] alert_before` its response deadline (SMTP down for
//!   hours, a permanent refusal) raises an operator alert once: an error in
//!   the log, the record's `watch.ack_alerted_at` (shown by `secintake
//!   status`), `secintake_ack_deadline_alerts_total`; the
//!   `secintake_acks_at_risk` gauge counts them now.
//! * **No coordinator yet.** A report's issue on which no one but secintake
//!   has commented, labelled or assigned `[reminders] after` it was received
//!   gets one reminder comment mentioning `[reminders] team`. The tracker is
//!   asked once that time has come and, after a failure, again with backoff;
//!   never again once a coordinator was seen or the reminder is posted.
//!   A team member's mail filed as a comment on the issue
//!   ([`Kind::TeamComment`]) is a coordinator's response too: secintake
//!   posts it, so the tracker would not show it as anyone else's.
//! * **Disclosure.** One reminder `[reminders] disclosure_before` the
//!   disclosure date (received + 90 days, or as `/disclose-by` moved it;
//!   a moved date gets a reminder of its own).
//!
//! Neither for a report that is closed, not accepted or a duplicate
//! ([`Record::disclosure_applies`]).
//!
//! Each reminder starts with its marker line (`<!-- secintake:ID
//! reminder:KIND -->`), and the tracker is searched for it before posting,
//! so a crash between posting and recording never posts it twice.

use std::collections::HashMap;

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use crate::compose::{Composer, ReminderKind};
use crate::ops::metrics::window::Reminder;
use crate::pipeline::Pipeline;
use crate::record::{Kind, Record, State};
use crate::store::StoreError;
use crate::support::effect::EffectError;
use crate::tracker::marker;
use crate::tracker::CommentDraft;

fn chrono(d: std::time::Duration) -> ChronoDuration {
    crate::config::duration::to_chrono(d)
}

/// One pass over every record. Returns the records as stored afterwards.
pub async fn pass(p: &Pipeline, now: DateTime<Utc>) -> Result<Vec<Record>, StoreError> {
    let mut records = p.store.all()?;
    let alert_before = chrono(p.settings.ack.alert_before);
    let mut at_risk = 0u64;
    let mut postponed = 0u64;
    let answered = team_answered(&records);
    for rec in &mut records {
        let mut changed = false;
        if rec.watch.coordinator_seen_at.is_none() && own_issue(rec).is_some() {
            if let Some(at) = answered.get(&rec.tracking_id) {
                tracing::info!(tracking_id = %rec.tracking_id, "a team member has responded by mail; no reminder");
                rec.watch.coordinator_seen_at = Some(*at);
                changed = true;
            }
        }
        let unsent = !rec.ack_done() && rec.state != State::Archived;
        if unsent && rec.watch.ack_postponed_until.is_some() {
            postponed += 1;
        }
        if unsent && now >= rec.respond_by - alert_before {
            at_risk += 1;
            if rec.watch.ack_alerted_at.is_none() {
                tracing::error!(
                    tracking_id = %rec.tracking_id,
                    respond_by = %rec.respond_by.format("%Y-%m-%d %H:%M UTC"),
                    attempts = rec.ack_attempts.count,
                    last_error = rec.ack_attempts.last_error.as_deref().unwrap_or("-"),
                    "ALERT: acknowledgement still unsent close to the response deadline"
                );
                crate::ops::metrics::global().ack_deadline_alert();
                rec.watch.ack_alerted_at = Some(now);
                changed = true;
            }
        }
        if p.settings.reminders.enabled {
            changed |= remind(p, rec, now).await;
        }
        if changed {
            p.store.put(rec)?;
        }
    }
    crate::ops::metrics::global().acks_at_risk(at_risk);
    crate::ops::metrics::global().acks_postponed(postponed);
    Ok(records)
}

/// The reports a team member answered by mail (a filed
/// [`Kind::TeamComment`]), with the time of the first answer.
fn team_answered(records: &[Record]) -> HashMap<String, DateTime<Utc>> {
    let mut out: HashMap<String, DateTime<Utc>> = HashMap::new();
    for r in records {
        if let (Some(Kind::TeamComment { of }), Some(_)) = (&r.kind, &r.filing) {
            let at = out.entry(of.clone()).or_insert(r.received_at);
            *at = (*at).min(r.received_at);
        }
    }
    out
}

/// Whether `rec` has an issue of its own that reminders are about.
fn own_issue(rec: &Record) -> Option<u64> {
    let f = rec.filing.as_ref()?;
    let own = rec.kind.as_ref().is_some_and(Kind::owns_issue);
    (own && f.comment_id.is_none()).then_some(f.issue)
}

fn failed(rec: &mut Record, e: &EffectError, now: DateTime<Utc>) {
    tracing::warn!(tracking_id = %rec.tracking_id, error = %e, "reminder check failed");
    crate::ops::metrics::global().reminder_error();
    rec.watch.last_error = Some(e.to_string());
    let wait = e.retry_at().unwrap_or(now + ChronoDuration::minutes(5));
    rec.watch.next_check_at = Some(wait.max(now + ChronoDuration::seconds(5)));
}

/// Checks and posts what is due for `rec`; true when the record changed.
async fn remind(p: &Pipeline, rec: &mut Record, now: DateTime<Utc>) -> bool {
    let Some(issue) = own_issue(rec) else {
        return false;
    };
    // The tracking repository is not known to be private: reminders wait
    // with the filing.
    if p.tracker.held().is_some() {
        return false;
    }
    if rec.watch.next_check_at.is_some_and(|t| t > now) {
        return false;
    }
    let s = &p.settings.reminders;
    // Closed, rejected or duplicate reports get no reminders.
    let open = rec.disclosure_applies();
    let response_due = open
        && rec.watch.reminded_at.is_none()
        && rec.watch.coordinator_seen_at.is_none()
        && now >= rec.received_at + chrono(s.after);
    let disclosure_due = open
        && rec.watch.disclosure_reminded_at.is_none()
        && now >= rec.disclose_by - chrono(s.disclosure_before);
    if !response_due && !disclosure_due {
        return false;
    }
    let activity = match p.tracker.activity(issue).await {
        Ok(a) => a,
        Err(e) => {
            failed(rec, &e, now);
            return true;
        }
    };
    rec.watch.last_error = None;
    rec.watch.next_check_at = None;
    if !activity.open {
        // Closed: handled. Look again in a day in case it is reopened.
        rec.watch.next_check_at = Some(now + ChronoDuration::days(1));
        return true;
    }
    let mut due = Vec::new();
    if response_due {
        if activity.coordinator {
            tracing::info!(tracking_id = %rec.tracking_id, "a coordinator has responded; no reminder");
            rec.watch.coordinator_seen_at = Some(now);
        } else {
            due.push(ReminderKind::Response);
        }
    }
    if disclosure_due {
        due.push(ReminderKind::Disclosure);
    }
    let composer = Composer {
        settings: &p.settings,
        templates: &p.templates,
        key_fingerprint: p.keyring.primary_fingerprint(),
    };
    for kind in due {
        let marker = marker::reminder(&rec.tracking_id, kind.as_str());
        let comment = if activity.has_marker(&marker) {
            None
        } else {
            let body = match composer.reminder(rec, kind, now) {
                Ok(b) => b,
                Err(e) => {
                    failed(rec, &EffectError::Permanent(e), now);
                    return true;
                }
            };
            let draft = CommentDraft {
                tracking_id: rec.tracking_id.clone(),
                issue,
                body,
                labels: Vec::new(),
                continuation: Vec::new(),
            };
            match p.tracker.comment(&draft).await {
                Ok(f) => {
                    tracing::info!(tracking_id = %rec.tracking_id, issue, kind = kind.as_str(), "reminder posted");
                    crate::ops::metrics::global().reminder_posted(match kind {
                        ReminderKind::Response => Reminder::Response,
                        ReminderKind::Disclosure => Reminder::Disclosure,
                    });
                    f.comment_id
                }
                Err(e) => {
                    failed(rec, &e, now);
                    return true;
                }
            }
        };
        match kind {
            ReminderKind::Response => {
                rec.watch.reminded_at = Some(now);
                rec.watch.reminder_comment = comment;
            }
            ReminderKind::Disclosure => rec.watch.disclosure_reminded_at = Some(now),
        }
    }
    true
}
