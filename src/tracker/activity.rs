//! What has happened on a filed issue since secintake filed it: is it still
//! open, has a coordinator (anyone but us) commented on, labelled or
//! assigned it, and which of our reminders are already there. The
//! reminders ([`crate::pipeline::reminders`]) ask this, once per deadline.

use super::Tracker;
use crate::support::effect::Effect;

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

impl Tracker {
    /// What happened on issue `number` (see [`Activity`]).
    pub async fn activity(&self, number: u64) -> Effect<Activity> {
        match self {
            Tracker::Github(t) => t.activity(number).await,
            Tracker::Directory(t) => t.activity(number),
        }
    }
}
