//! `[conversation]`: coordinator commands in tracking-issue comments
//! (`/reply`, `/notice`; see [`crate::pipeline::commands`] and
//! [`crate::pipeline::conversation`]).

use std::time::Duration;

use super::reader::{Problems, Section};

#[derive(Debug, Clone)]
pub struct ConversationSettings {
    /// Off when false: comments are not polled, commands not acted on.
    pub enabled: bool,
    /// When not empty, only these GitHub logins may command (besides being
    /// an owner, member or collaborator of the repository).
    pub allowed_logins: Vec<String>,
    /// Pages of 100 comments read at most per pass (the rest next pass).
    pub max_pages: u32,
    /// How often comments are listed (the daemon wakes for it even while
    /// IMAP IDLE waits for mail).
    pub poll_interval: Duration,
}

impl Default for ConversationSettings {
    fn default() -> Self {
        ConversationSettings {
            enabled: false,
            allowed_logins: Vec::new(),
            max_pages: 10,
            poll_interval: Duration::from_secs(60),
        }
    }
}

/// A GitHub login: 1 to 39 letters, digits or dashes (an App's bot user
/// ends in `[bot]`).
fn login(text: &str) -> bool {
    let name = text.strip_suffix("[bot]").unwrap_or(text);
    (1..=39).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl ConversationSettings {
    pub(super) fn read(mut s: Section, p: &mut Problems) -> ConversationSettings {
        let d = ConversationSettings::default();
        let allowed_logins = s.string_list("allowed_logins", p).unwrap_or_default();
        if allowed_logins.iter().any(|l| !login(l)) {
            p.add(
                s.key("allowed_logins"),
                "must be GitHub logins (letters, digits and dashes, at most 39)",
            );
        }
        let poll_interval = s.duration_or("poll_interval", d.poll_interval, p);
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&poll_interval) {
            p.add(s.key("poll_interval"), "must be from 1s to 1h");
        }
        let settings = ConversationSettings {
            enabled: s.bool_or("enabled", d.enabled, p),
            allowed_logins,
            max_pages: s.number_or("max_pages", 1..=100, d.max_pages, p),
            poll_interval,
        };
        s.finish(p);
        settings
    }

    /// Whether `login` may command, given that GitHub calls them an owner,
    /// member or collaborator.
    pub fn allows(&self, login: &str) -> bool {
        self.allowed_logins.is_empty()
            || self
                .allowed_logins
                .iter()
                .any(|l| l.eq_ignore_ascii_case(login))
    }
}
