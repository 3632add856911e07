//! Reminder comments on a report's issue (see [`crate::pipeline::reminders`]).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{when, Composer};
use crate::record::{Ack, Record};
use crate::tracker::marker;

/// Which deadline a reminder is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderKind {
    /// No coordinator has responded `[reminders] after` the report came in.
    Response,
    /// The default disclosure date is `[reminders] disclosure_before` away.
    Disclosure,
}

impl ReminderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::Response => "response",
            ReminderKind::Disclosure => "disclosure",
        }
    }
}

/// "2d 3h", "45m": a coarse span for people.
fn span(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let mins = (to - from).num_minutes().max(0);
    let (d, h, m) = (mins / 1440, (mins % 1440) / 60, mins % 60);
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

impl Composer<'_> {
    /// The reminder comment's body, marker line first.
    pub fn reminder(
        &self,
        record: &Record,
        kind: ReminderKind,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        #[derive(Serialize)]
        struct View<'a> {
            kind: &'static str,
            team: &'a str,
            tracking_id: &'a str,
            received: String,
            waited: String,
            respond_by: String,
            disclose_by: String,
            ack: String,
        }
        let view = View {
            kind: kind.as_str(),
            team: &self.settings.reminders.team,
            tracking_id: &record.tracking_id,
            received: when(record.received_at),
            waited: span(record.received_at, now),
            respond_by: when(record.respond_by),
            disclose_by: when(record.disclose_by),
            ack: match &record.ack {
                Ack::Sent { at, .. } => format!("sent {}", when(*at)),
                Ack::Suppressed { .. } => "not sent".into(),
                Ack::Pending | Ack::Sending { .. } => "not yet sent".into(),
            },
        };
        let text = self
            .templates
            .render("reminder.md.j2", &view)
            .map_err(|e| e.to_string())?;
        Ok(format!(
            "{}\n{}",
            marker::reminder(&record.tracking_id, kind.as_str()),
            text.trim_start()
        ))
    }
}
