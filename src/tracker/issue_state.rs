//! Issues as coordinators leave them, read repository-wide for the
//! lifecycle ([`crate::pipeline::lifecycle`]): open or closed and why,
//! labels; one listing per pass with a high-water mark. And the two
//! writes the lifecycle makes: the issue body's status block, reopening.

use chrono::{DateTime, Utc};

use super::Tracker;
use crate::support::effect::Effect;

/// One issue's state as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueState {
    pub number: u64,
    pub open: bool,
    /// GitHub's `state_reason`: `completed`, `not_planned`, `duplicate`,
    /// `reopened`, or none.
    pub state_reason: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub labels: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

/// The issues read in one pass.
#[derive(Debug, Clone, Default)]
pub struct IssueBatch {
    /// Oldest update first.
    pub issues: Vec<IssueState>,
    /// The reading stopped at the page limit: more are waiting.
    pub truncated: bool,
}

impl Tracker {
    /// Whether the tracker has issue states to list (GitHub); the
    /// directory tracker's files are never closed.
    pub fn lists_issue_states(&self) -> bool {
        matches!(self, Tracker::Github(_))
    }

    /// Issues (not pull requests) updated at or after `since`, oldest
    /// update first, at most `max_pages` pages of 100. The directory
    /// tracker has no issue states (its files are never closed): none.
    pub async fn issues_since(&self, since: DateTime<Utc>, max_pages: u32) -> Effect<IssueBatch> {
        match self {
            Tracker::Github(t) => t.issues_since(since, max_pages).await,
            Tracker::Directory(_) => Ok(IssueBatch::default()),
        }
    }

    /// The issue's body (the directory tracker: its file up to the first
    /// comment).
    pub async fn issue_body(&self, number: u64) -> Effect<String> {
        match self {
            Tracker::Github(t) => t.issue_body(number).await,
            Tracker::Directory(t) => t.issue_body(number),
        }
    }

    /// Replaces the issue's body.
    pub async fn set_issue_body(&self, number: u64, body: &str) -> Effect<()> {
        match self {
            Tracker::Github(t) => t.set_issue_body(number, body).await,
            Tracker::Directory(t) => t.set_issue_body(number, body),
        }
    }

    /// Reopens a closed issue (the directory tracker's never close).
    pub async fn reopen(&self, number: u64) -> Effect<()> {
        match self {
            Tracker::Github(t) => t.reopen(number).await,
            Tracker::Directory(_) => Ok(()),
        }
    }

    /// Adds labels to an issue (the directory tracker: to its Labels line).
    pub async fn add_labels(&self, number: u64, labels: &[String]) -> Effect<()> {
        match self {
            Tracker::Github(t) => t.add_labels(number, labels).await,
            Tracker::Directory(t) => t.add_labels(number, labels),
        }
    }
}
