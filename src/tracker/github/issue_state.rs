//! `GET /repos/{owner}/{repo}/issues?state=all&since=…&sort=updated&direction=asc`
//! and the issue edits of the lifecycle (see [`crate::tracker::issue_state`]).

use std::ops::ControlFlow;

use ::http::Method;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::http::{query_escape, str_field, u64_field};
use super::pages::Read;
use super::GithubTracker;
use crate::support::effect::{Effect, EffectError};
use crate::tracker::issue_state::{IssueBatch, IssueState};

fn time(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(str_field(v, key)?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn issue_state(v: &Value) -> Option<IssueState> {
    Some(IssueState {
        number: u64_field(v, "number")?,
        open: str_field(v, "state")? == "open",
        state_reason: str_field(v, "state_reason").map(str::to_string),
        closed_at: time(v, "closed_at"),
        labels: v
            .get("labels")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| str_field(l, "name").or_else(|| l.as_str()))
            .map(str::to_string)
            .collect(),
        updated_at: time(v, "updated_at")?,
    })
}

impl GithubTracker {
    pub async fn issues_since(&self, since: DateTime<Utc>, max_pages: u32) -> Effect<IssueBatch> {
        let since = since.to_rfc3339_opts(SecondsFormat::Secs, true);
        let path = format!(
            "{}/issues?state=all&sort=updated&direction=asc&since={}",
            self.repo_path(),
            query_escape(&since)
        );
        let mut batch = IssueBatch::default();
        let read = self
            .pages("listing issues", &path, max_pages, |v| {
                if v.get("pull_request").is_none() {
                    match issue_state(v) {
                        Some(i) => batch.issues.push(i),
                        None => tracing::warn!(
                            issue = u64_field(v, "number"),
                            "a listed issue lacks its number, state or time: skipped"
                        ),
                    }
                }
                ControlFlow::Continue(())
            })
            .await?;
        batch.truncated = read == Read::Truncated;
        Ok(batch)
    }

    pub async fn issue_body(&self, number: u64) -> Effect<String> {
        let got = self
            .api
            .call(
                "reading an issue",
                Method::GET,
                &format!("{}/issues/{number}", self.repo_path()),
                None,
                &[],
            )
            .await?;
        match got.json.get("body") {
            Some(Value::String(b)) => Ok(b.clone()),
            Some(Value::Null) | None => Ok(String::new()),
            Some(_) => Err(EffectError::Transient(format!(
                "issue #{number}: its body is not text"
            ))),
        }
    }

    async fn patch_issue(&self, what: &str, number: u64, patch: Value) -> Effect<()> {
        self.api
            .call(
                what,
                Method::PATCH,
                &format!("{}/issues/{number}", self.repo_path()),
                Some(&patch),
                &[],
            )
            .await
            .map(|_| ())
    }

    pub async fn set_issue_body(&self, number: u64, body: &str) -> Effect<()> {
        self.patch_issue(
            "editing an issue's status block",
            number,
            json!({ "body": body }),
        )
        .await
    }

    pub async fn reopen(&self, number: u64) -> Effect<()> {
        self.patch_issue("reopening an issue", number, json!({ "state": "open" }))
            .await
    }
}
