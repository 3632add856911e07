//! Where reports are filed: GitHub issues in production, a directory of
//! Markdown files for the demo and local trials.
//!
//! Every issue and comment starts with the report's marker line
//! (`<!-- secintake:ID -->`). Reporter text is always rendered after it and
//! sanitised, so a marker at the start of a body can only be ours; after a
//! crash, [`Tracker::find`] looks for it before anything is created again.
//! A body too long for GitHub continues in comments that start with a part
//! marker (`<!-- secintake:ID part 2/3 -->`), posted in order and only when
//! missing. [`filing`] runs the whole sequence for one record. Nothing is
//! filed unless the tracking repository was last seen private
//! ([`privacy`]).

pub mod activity;
pub mod comments;
pub mod directory;
pub mod github;
pub mod issue_state;
pub mod marker;
pub mod privacy;
pub mod title;

use chrono::{DateTime, Utc};

use crate::record::Filing;
use crate::support::effect::{Effect, EffectError};

pub use marker::{part as part_marker, report as marker, starts_report as has_marker};

/// Where attachment `index` (from 1) of a report is stored in the tracking
/// repository: `reports/<ID>/<NN>-<name>` with the name reduced to
/// `[A-Za-z0-9._-]`, so a reporter's file name cannot leave the folder or
/// break a Markdown link.
pub fn attachment_path(tracking_id: &str, index: usize, name: &str) -> String {
    let mut safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    safe = safe.trim_start_matches('.').to_string();
    if safe.is_empty() {
        safe = "attachment".into();
    }
    format!("reports/{tracking_id}/{index:02}-{safe}")
}

#[derive(Debug, Clone)]
pub struct IssueDraft {
    pub tracking_id: String,
    pub title: String,
    /// Starts with the marker line.
    pub body: String,
    pub labels: Vec<String>,
    /// Continuation comments, each starting with its part marker.
    pub continuation: Vec<String>,
}

impl IssueDraft {
    /// Adds our own Markdown after the body, or, when the body has no room
    /// left under GitHub's limit, as one more continuation part.
    pub fn append(&mut self, text: &str) {
        use crate::render::sanitize::{body_len, GITHUB_BODY_LIMIT};
        if body_len(&self.body) + body_len(text) <= GITHUB_BODY_LIMIT {
            self.body.push_str(text);
        } else {
            let k = self.continuation.len() + 2;
            self.continuation.push(format!(
                "{}\n{}",
                marker::extra_part(&self.tracking_id, k),
                text.trim_start()
            ));
        }
    }
}

#[derive(Debug, Clone)]
pub struct CommentDraft {
    pub tracking_id: String,
    pub issue: u64,
    /// Starts with the marker line.
    pub body: String,
    /// Labels to add to the issue (e.g. `follow-up`).
    pub labels: Vec<String>,
    /// Continuation comments, each starting with its part marker.
    pub continuation: Vec<String>,
}

/// An attachment kept beside the issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// Path in the tracking repository (or directory).
    pub path: String,
    /// Where a coordinator opens it, when the tracker says.
    pub url: Option<String>,
}

pub enum Tracker {
    Github(Box<github::GithubTracker>),
    Directory(directory::DirectoryTracker),
}

impl Tracker {
    /// The directory tracker: its effects are local files, found again by
    /// tracking ID, so the state written around them need not be flushed
    /// first (see [`crate::pipeline::Pipeline::put_filing`]).
    pub fn is_local(&self) -> bool {
        matches!(self, Tracker::Directory(_))
    }

    /// An issue or comment already filed for this tracking ID (after a crash).
    /// `issue` narrows the search to one issue's comments.
    pub async fn find(
        &self,
        tracking_id: &str,
        issue: Option<u64>,
        since: DateTime<Utc>,
    ) -> Effect<Option<Filing>> {
        match self {
            Tracker::Github(t) => t.find(tracking_id, issue, since).await,
            Tracker::Directory(t) => t.find(tracking_id, issue),
        }
    }

    pub async fn create_issue(&self, draft: &IssueDraft) -> Effect<Filing> {
        match self {
            Tracker::Github(t) => t.create_issue(draft).await,
            Tracker::Directory(t) => t.create_issue(draft),
        }
    }

    /// Posts the comment and adds its labels to the issue.
    pub async fn comment(&self, draft: &CommentDraft) -> Effect<Filing> {
        match self {
            Tracker::Github(t) => t.comment(draft).await,
            Tracker::Directory(t) => t.comment(draft),
        }
    }

    /// Posts the continuation parts of issue or comment `number` that are
    /// missing, in order.
    pub async fn continue_parts(&self, number: u64, parts: &[String]) -> Effect<()> {
        match self {
            Tracker::Github(t) => t.continue_parts(number, parts).await,
            Tracker::Directory(t) => t.continue_parts(number, parts),
        }
    }

    /// Keeps an attachment beside the issue; `None` when it is over the
    /// configured size limit (or the tracker keeps none). `look`: the path
    /// may hold a copy from an earlier attempt.
    pub async fn store_file(
        &self,
        path: &str,
        data: &[u8],
        message: &str,
        look: bool,
    ) -> Effect<Option<StoredFile>> {
        match self {
            Tracker::Github(t) => t.store_file(path, data, message, look).await,
            Tracker::Directory(t) => t.store_file(path, data),
        }
    }

    /// Checks that the repository is private when a check is due (at
    /// start, periodically, after a 404/403); the daemon calls it every
    /// pass. The directory tracker is local files: always private.
    pub async fn verify_private(&self) {
        if let Tracker::Github(t) = self {
            t.verify_private().await;
        }
    }

    /// When [`Tracker::verify_private`] has a check to make next (the
    /// daemon wakes for it); None for the directory tracker.
    pub fn next_privacy_check(&self) -> Option<DateTime<Utc>> {
        match self {
            Tracker::Github(t) => Some(t.next_privacy_check()),
            Tracker::Directory(_) => None,
        }
    }

    /// Why filing (and every other tracker request) waits now, while the
    /// repository is not known to be private; the error's retry time is
    /// the next check. None: go ahead.
    pub fn held(&self) -> Option<EffectError> {
        match self {
            Tracker::Github(t) => t.held(),
            Tracker::Directory(_) => None,
        }
    }

    /// The last privacy verdict (for metrics, `/healthz` and `status`).
    pub fn privacy(&self) -> privacy::Standing {
        match self {
            Tracker::Github(t) => t.privacy(),
            Tracker::Directory(t) => {
                privacy::Standing::always_private(t.path().display().to_string())
            }
        }
    }

    /// Connectivity and permission check for `secintake check`.
    pub async fn check(&self) -> Effect<String> {
        match self {
            Tracker::Github(t) => t.check().await,
            Tracker::Directory(t) => t.check(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_paths_stay_in_their_folder() {
        assert_eq!(
            attachment_path("X-2026-0001", 1, "../../.github/workflows/x.yml"),
            "reports/X-2026-0001/01-_.._.github_workflows_x.yml"
        );
        assert_eq!(
            attachment_path("X-2026-0001", 2, "a b)](javascript:x)"),
            "reports/X-2026-0001/02-a_b___javascript_x_"
        );
        assert_eq!(
            attachment_path("X-2026-0001", 3, "..."),
            "reports/X-2026-0001/03-attachment"
        );
        assert!(!has_marker(
            &part_marker("X-2026-0001", 2, 3),
            "X-2026-0001"
        ));
    }
}
