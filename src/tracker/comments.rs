//! Comments as coordinators write them, read repository-wide for commands
//! (see [`crate::pipeline::conversation`]): one request per pass with a
//! high-water mark, not one per issue.

use chrono::{DateTime, Utc};

use super::Tracker;
use crate::support::effect::Effect;

/// One comment on an issue of the tracking repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueComment {
    pub id: u64,
    /// The issue it is on.
    pub issue: u64,
    /// The author's login.
    pub login: String,
    /// GitHub's `author_association`: `OWNER`, `MEMBER`, `COLLABORATOR`,
    /// `CONTRIBUTOR`, `NONE`, …
    pub association: String,
    pub body: String,
    pub updated_at: DateTime<Utc>,
}

impl IssueComment {
    /// GitHub says the author belongs to the repository.
    pub fn by_collaborator(&self) -> bool {
        matches!(
            self.association.as_str(),
            "OWNER" | "MEMBER" | "COLLABORATOR"
        )
    }
}

/// The comments read in one pass.
#[derive(Debug, Clone, Default)]
pub struct CommentBatch {
    /// Oldest update first.
    pub comments: Vec<IssueComment>,
    /// The reading stopped at the page limit: more are waiting.
    pub truncated: bool,
}

impl Tracker {
    /// Comments of every issue created or edited at or after `since`, by
    /// update time (oldest first), at most `max_pages` pages of 100. The
    /// directory tracker lists all of its comments (local files).
    pub async fn comments_since(
        &self,
        since: DateTime<Utc>,
        max_pages: u32,
    ) -> Effect<CommentBatch> {
        match self {
            Tracker::Github(t) => t.comments_since(since, max_pages).await,
            Tracker::Directory(t) => t.comments(),
        }
    }

    /// Whether issue `number` has one of our comments starting with the
    /// marker line `marker`, posted at or after `since`.
    pub async fn has_marked_comment(
        &self,
        number: u64,
        marker: &str,
        since: DateTime<Utc>,
    ) -> Effect<bool> {
        match self {
            Tracker::Github(t) => t.has_marked_comment(number, marker, since).await,
            Tracker::Directory(t) => Ok(t.activity(number)?.has_marker(marker)),
        }
    }
}
