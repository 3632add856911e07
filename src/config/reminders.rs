//! `[reminders]`: nudges in the tracker when a report waits too long (see
//! [`crate::pipeline::reminders`]).

use std::time::Duration;

use super::reader::{Problems, Section};

#[derive(Debug, Clone)]
pub struct ReminderSettings {
    /// Off when false: no activity look-ups, no reminder comments.
    pub enabled: bool,
    /// Who the reminder mentions, e.g. `@jupyter/security`; empty: nobody.
    pub team: String,
    /// A new report whose issue no coordinator has commented on or labelled
    /// this long after it was received gets one reminder comment.
    pub after: Duration,
    /// A reminder this long before the default disclosure date.
    pub disclosure_before: Duration,
}

impl Default for ReminderSettings {
    fn default() -> Self {
        ReminderSettings {
            enabled: true,
            team: String::new(),
            after: Duration::from_secs(2 * 86_400),
            disclosure_before: Duration::from_secs(14 * 86_400),
        }
    }
}

impl ReminderSettings {
    pub(super) fn read(mut s: Section, p: &mut Problems) -> ReminderSettings {
        let d = ReminderSettings::default();
        let team = s.string_or("team", "", p);
        let mention = team.strip_prefix('@').is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_/.".contains(c))
        });
        if !team.is_empty() && !mention {
            p.add(
                s.key("team"),
                "must be a GitHub mention such as \"@jupyter/security\" or \"@login\"",
            );
        }
        let settings = ReminderSettings {
            enabled: s.bool_or("enabled", d.enabled, p),
            team,
            after: s.duration_or("after", d.after, p),
            disclosure_before: s.duration_or("disclosure_before", d.disclosure_before, p),
        };
        s.finish(p);
        settings
    }
}
