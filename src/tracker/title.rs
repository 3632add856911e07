//! An issue's title as the tracker shows it, without our `[ID] ` prefix
//! and the word joiners that defuse mentions: what `/ghsa draft` takes as
//! the advisory's summary.

use super::Tracker;
use crate::support::effect::Effect;

/// `[JUPSEC-2026-0001] Token leak` → `Token leak`.
pub fn summary_of(title: &str) -> String {
    let t = title.replace('\u{2060}', "");
    let t = match t.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        Some((_, rest)) => rest.to_string(),
        None => t,
    };
    t.trim().to_string()
}

impl Tracker {
    /// The title of issue `number`.
    pub async fn issue_title(&self, number: u64) -> Effect<String> {
        match self {
            Tracker::Github(t) => t.issue_title(number).await,
            Tracker::Directory(t) => t.issue_title(number),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn our_prefix_and_joiners_go() {
        assert_eq!(
            super::summary_of("[JUPSEC-2026-0001] Token leak in @\u{2060}hub"),
            "Token leak in @hub"
        );
        assert_eq!(super::summary_of("Plain"), "Plain");
    }
}
