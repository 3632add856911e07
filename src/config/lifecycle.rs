//! `[lifecycle]`: how a report's decision and close are read from its
//! tracking issue, and what secintake writes back (see
//! [`crate::pipeline::lifecycle`]). Issues are followed in the same poll
//! as the comments, so only while `[conversation] enabled`.

use super::reader::{Problems, Section};

/// What to do when a reporter writes about a report whose issue is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterClose {
    /// Reopen the issue.
    Reopen,
    /// Leave it closed and add `after_close_label`.
    Label,
}

#[derive(Debug, Clone)]
pub struct LifecycleSettings {
    /// Off when false: issues are not listed, no status block is kept;
    /// the lifecycle commands are still taken.
    pub enabled: bool,
    /// Labels meaning "accepted", "not accepted" and "duplicate" when a
    /// coordinator puts them on the issue (case-insensitive).
    pub accepted_labels: Vec<String>,
    pub rejected_labels: Vec<String>,
    pub duplicate_labels: Vec<String>,
    pub after_close: AfterClose,
    pub after_close_label: String,
    /// Keep the status block in the issue body.
    pub status_block: bool,
    /// Status blocks written at most per pass (the rest next pass).
    pub max_block_edits: u32,
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        LifecycleSettings {
            enabled: true,
            accepted_labels: vec!["accepted".into()],
            rejected_labels: vec!["not-accepted".into(), "invalid".into(), "wontfix".into()],
            duplicate_labels: vec!["duplicate".into()],
            after_close: AfterClose::Reopen,
            after_close_label: "reporter-wrote-after-close".into(),
            status_block: true,
            max_block_edits: 20,
        }
    }
}

fn label_ok(l: &str) -> bool {
    !l.trim().is_empty() && l.chars().count() <= 50 && !l.contains(',')
}

impl LifecycleSettings {
    pub(super) fn read(mut s: Section, p: &mut Problems) -> LifecycleSettings {
        let d = LifecycleSettings::default();
        let mut labels = |key: &str, default: &[String], p: &mut Problems| {
            let v = s.string_list(key, p).unwrap_or_else(|| default.to_vec());
            if v.iter().any(|l| !label_ok(l)) {
                p.add(s.key(key), "labels are 1 to 50 characters without commas");
            }
            v
        };
        let accepted_labels = labels("accepted_labels", &d.accepted_labels, p);
        let rejected_labels = labels("rejected_labels", &d.rejected_labels, p);
        let duplicate_labels = labels("duplicate_labels", &d.duplicate_labels, p);
        let after_close = match s.string_or("after_close", "reopen", p).as_str() {
            "reopen" => AfterClose::Reopen,
            "label" => AfterClose::Label,
            _ => {
                p.add(s.key("after_close"), "must be \"reopen\" or \"label\"");
                AfterClose::Reopen
            }
        };
        let after_close_label = s.string_or("after_close_label", &d.after_close_label, p);
        if !label_ok(&after_close_label) {
            p.add(
                s.key("after_close_label"),
                "a label is 1 to 50 characters without commas",
            );
        }
        let settings = LifecycleSettings {
            enabled: s.bool_or("enabled", d.enabled, p),
            accepted_labels,
            rejected_labels,
            duplicate_labels,
            after_close,
            after_close_label,
            status_block: s.bool_or("status_block", d.status_block, p),
            max_block_edits: s.number_or("max_block_edits", 1..=1000, d.max_block_edits, p),
        };
        s.finish(p);
        settings
    }

    fn has(list: &[String], labels: &[String]) -> bool {
        labels
            .iter()
            .any(|l| list.iter().any(|x| x.eq_ignore_ascii_case(l)))
    }

    /// The decision the labels say, if any (not accepted and
    /// duplicate win over accepted).
    pub fn decision_of(&self, labels: &[String]) -> Option<crate::lifecycle::Decision> {
        use crate::lifecycle::Decision;
        if Self::has(&self.rejected_labels, labels) {
            Some(Decision::Rejected)
        } else if Self::has(&self.duplicate_labels, labels) {
            Some(Decision::Duplicate { of: 0 })
        } else if Self::has(&self.accepted_labels, labels) {
            Some(Decision::Accepted)
        } else {
            None
        }
    }
}
