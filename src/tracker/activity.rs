//! What has happened on a filed issue since secintake filed it: is it still
//! open, has a coordinator (anyone but us) commented on, labelled or
//! assigned it, and which of our reminders are already there. The
//! reminders ([`crate::reminders`]) ask this, once per deadline.

use std::path::Path;

use super::Tracker;
use crate::effect::{Effect, EffectError};

/// Reminder comments start with `<!-- secintake:ID reminder:KIND -->`.
pub const REMINDER_MARKER_PREFIX: &str = "<!-- secintake:";

/// The marker line of reminder `kind` (`response`, `disclosure`) for a report.
pub fn reminder_marker(tracking_id: &str, kind: &str) -> String {
    format!("{REMINDER_MARKER_PREFIX}{tracking_id} reminder:{kind} -->")
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    pub open: bool,
    /// Someone other than secintake commented, labelled or assigned.
    pub coordinator: bool,
    /// First lines of our comments that are reminder-like markers.
    pub our_markers: Vec<String>,
}

impl Activity {
    pub fn has_marker(&self, marker: &str) -> bool {
        self.our_markers.iter().any(|m| m == marker)
    }
}

/// The directory tracker: comments are the file's chunks after the first;
/// ours start with a secintake marker, anything else was added by a person.
/// Labels are not tracked there (a label line edited by hand is not seen).
fn directory_activity(dir: &Path, number: u64) -> Effect<Activity> {
    let prefix = format!("{number:04}-");
    let entries = std::fs::read_dir(dir)
        .map_err(|e| EffectError::Transient(format!("cannot list {}: {e}", dir.display())))?;
    let path = entries
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".md"))
        })
        .ok_or_else(|| EffectError::Permanent(format!("issue {number} does not exist")))?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| EffectError::Transient(format!("cannot read {}: {e}", path.display())))?;
    let mut activity = Activity {
        open: true,
        ..Activity::default()
    };
    for chunk in text.split(super::directory::COMMENT_SEPARATOR).skip(1) {
        let first = chunk.lines().next().unwrap_or("").trim();
        if first.starts_with(REMINDER_MARKER_PREFIX) {
            activity.our_markers.push(first.to_string());
        } else if !chunk.trim().is_empty() {
            activity.coordinator = true;
        }
    }
    Ok(activity)
}

impl Tracker {
    /// What happened on issue `number` (see [`Activity`]).
    pub async fn activity(&self, number: u64) -> Effect<Activity> {
        match self {
            Tracker::Github(t) => t.activity(number).await,
            Tracker::Directory(t) => directory_activity(t.path(), number),
        }
    }
}
