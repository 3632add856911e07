//! Where reports are filed: GitHub issues in production, a directory of
//! Markdown files for the demo and local trials.
//!
//! Every issue and comment starts with the report's marker line
//! (`<!-- secintake:ID -->`). Reporter text is always rendered after it and
//! sanitised, so a marker at the start of a body can only be ours; after a
//! crash, [`Tracker::find`] looks for it before anything is created again.

pub mod directory;
pub mod github;

use chrono::{DateTime, Utc};

use crate::effect::Effect;
use crate::record::Filing;

pub fn marker(tracking_id: &str) -> String {
    format!("<!-- secintake:{tracking_id} -->")
}

/// Whether a body was created for this tracking ID.
pub fn has_marker(body: &str, tracking_id: &str) -> bool {
    body.lines().next().map(str::trim) == Some(marker(tracking_id).as_str())
}

#[derive(Debug, Clone)]
pub struct IssueDraft {
    pub tracking_id: String,
    pub title: String,
    /// Starts with the marker line.
    pub body: String,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct CommentDraft {
    pub tracking_id: String,
    pub issue: u64,
    /// Starts with the marker line.
    pub body: String,
}

pub enum Tracker {
    Github(Box<github::GithubTracker>),
    Directory(directory::DirectoryTracker),
}

impl Tracker {
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

    pub async fn comment(&self, draft: &CommentDraft) -> Effect<Filing> {
        match self {
            Tracker::Github(t) => t.comment(draft).await,
            Tracker::Directory(t) => t.comment(draft),
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
