//! `GET /repos/{owner}/{repo}/issues/comments?since=…&sort=updated&direction=asc`:
//! every issue's comments in one listing (see [`crate::tracker::comments`]).

use std::ops::ControlFlow;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::http::{query_escape, str_field, u64_field};
use super::pages::Read;
use super::GithubTracker;
use crate::support::effect::Effect;
use crate::tracker::comments::{CommentBatch, IssueComment};

/// The issue number at the end of a comment's `issue_url`.
fn issue_number(c: &Value) -> Option<u64> {
    str_field(c, "issue_url")?.rsplit('/').next()?.parse().ok()
}

fn comment(c: &Value) -> Option<IssueComment> {
    Some(IssueComment {
        id: u64_field(c, "id")?,
        issue: issue_number(c)?,
        login: c
            .get("user")
            .and_then(|u| str_field(u, "login"))?
            .to_string(),
        association: str_field(c, "author_association")
            .unwrap_or("NONE")
            .to_string(),
        body: str_field(c, "body").unwrap_or("").to_string(),
        updated_at: DateTime::parse_from_rfc3339(str_field(c, "updated_at")?)
            .ok()?
            .with_timezone(&Utc),
    })
}

impl GithubTracker {
    pub async fn comments_since(
        &self,
        since: DateTime<Utc>,
        max_pages: u32,
    ) -> Effect<CommentBatch> {
        let since = since.to_rfc3339_opts(SecondsFormat::Secs, true);
        let path = format!(
            "{}/issues/comments?sort=updated&direction=asc&since={}",
            self.repo_path(),
            query_escape(&since)
        );
        let mut batch = CommentBatch::default();
        let read = self
            .pages("listing comments", &path, max_pages, |c| {
                match comment(c) {
                    Some(c) => batch.comments.push(c),
                    None => tracing::warn!(
                        comment_id = u64_field(c, "id"),
                        "a listed comment lacks its id, issue, author or time: skipped"
                    ),
                }
                ControlFlow::Continue(())
            })
            .await?;
        batch.truncated = read == Read::Truncated;
        Ok(batch)
    }

    pub async fn has_marked_comment(
        &self,
        number: u64,
        marker: &str,
        since: DateTime<Utc>,
    ) -> Effect<bool> {
        let comments = self.comments(number, Some(since)).await?;
        Ok(comments.iter().any(|c| {
            str_field(c, "body")
                .and_then(|b| b.lines().next())
                .is_some_and(|l| l.trim() == marker)
        }))
    }
}
