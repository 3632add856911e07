//! Finding, creating and commenting on issues.

use ::http::Method;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::http::{malformed, query_escape, str_field, u64_field};
use super::GithubTracker;
use crate::record::Filing;
use crate::support::effect::Effect;
use crate::tracker::{has_marker, CommentDraft, IssueDraft};

/// Listing stops after this many pages of 100 (then search is all we have).
const MAX_PAGES: u32 = 50;

fn body_first_line(v: &Value) -> Option<&str> {
    str_field(v, "body")
        .and_then(|b| b.lines().next())
        .map(str::trim)
}

impl GithubTracker {
    /// An issue (or, with `issue`, a comment on it) whose body starts with
    /// the marker of `tracking_id`. Search is one cheap request but lags
    /// behind creation, so a miss is confirmed by listing what changed since
    /// `since`, which is strongly consistent.
    pub async fn find(
        &self,
        tracking_id: &str,
        issue: Option<u64>,
        since: DateTime<Utc>,
    ) -> Effect<Option<Filing>> {
        if let Some(number) = issue {
            return self.find_comment(tracking_id, number, since).await;
        }
        if let Some(f) = self.search(tracking_id).await? {
            return Ok(Some(f));
        }
        let since = since.to_rfc3339_opts(SecondsFormat::Secs, true);
        let path = format!(
            "{}/issues?state=all&since={}",
            self.repo_path(),
            query_escape(&since)
        );
        let mut found = None;
        self.pages("listing issues", &path, MAX_PAGES, |i| {
            let ours = i.get("pull_request").is_none()
                && i.get("body")
                    .and_then(Value::as_str)
                    .is_some_and(|b| has_marker(b, tracking_id));
            if ours {
                found = Some(i.clone());
                return std::ops::ControlFlow::Break(());
            }
            std::ops::ControlFlow::Continue(())
        })
        .await?;
        if let Some(i) = found {
            return Ok(Some(issue_filing(&i, "listing issues")?));
        }
        Ok(None)
    }

    /// `GET /search/issues` for the marker. Failures other than GitHub
    /// being down or limiting us count as a miss: listing decides.
    async fn search(&self, tracking_id: &str) -> Effect<Option<Filing>> {
        let q = format!(
            "repo:{} in:body \"{}\"",
            self.full_name(),
            crate::tracker::marker::search_phrase(tracking_id)
        );
        let path = format!("/search/issues?q={}&per_page=20", query_escape(&q));
        let found = match self
            .api
            .call("searching issues", Method::GET, &path, None, &[])
            .await
        {
            Ok(a) => a,
            Err(e) if e.retry_at().is_some() => return Err(e),
            Err(_) => return Ok(None),
        };
        let items = found.json.get("items").and_then(Value::as_array);
        for i in items.into_iter().flatten() {
            if i.get("pull_request").is_none()
                && i.get("body")
                    .and_then(Value::as_str)
                    .is_some_and(|b| has_marker(b, tracking_id))
            {
                return Ok(Some(issue_filing(i, "searching issues")?));
            }
        }
        Ok(None)
    }

    async fn find_comment(
        &self,
        tracking_id: &str,
        number: u64,
        since: DateTime<Utc>,
    ) -> Effect<Option<Filing>> {
        let comments = self.comments(number, Some(since)).await?;
        for c in &comments {
            if c.get("body")
                .and_then(Value::as_str)
                .is_some_and(|b| has_marker(b, tracking_id))
            {
                return Ok(Some(comment_filing(number, c, "listing comments")?));
            }
        }
        Ok(None)
    }

    /// Comments on an issue, oldest first.
    pub(super) async fn comments(
        &self,
        number: u64,
        since: Option<DateTime<Utc>>,
    ) -> Effect<Vec<Value>> {
        let since = since
            .map(|s| {
                format!(
                    "&since={}",
                    query_escape(&s.to_rfc3339_opts(SecondsFormat::Secs, true))
                )
            })
            .unwrap_or_default();
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let path = format!(
                "{}/issues/{number}/comments?per_page=100&page={page}{since}",
                self.repo_path()
            );
            let list = self
                .api
                .call("listing comments", Method::GET, &path, None, &[])
                .await?;
            out.extend(list.json.as_array().into_iter().flatten().cloned());
            if !list.has_next() {
                break;
            }
        }
        Ok(out)
    }

    pub async fn create_issue(&self, draft: &IssueDraft) -> Effect<Filing> {
        let mut labels = self.labels.clone();
        for l in &draft.labels {
            if !labels.contains(l) {
                labels.push(l.clone());
            }
        }
        self.ensure_labels(&labels).await?;
        let body = json!({"title": draft.title, "body": draft.body, "labels": labels});
        let created = self
            .api
            .call(
                "creating an issue",
                Method::POST,
                &format!("{}/issues", self.repo_path()),
                Some(&body),
                &[],
            )
            .await?;
        issue_filing(&created.json, "creating an issue")
    }

    /// The title of issue `number`.
    pub async fn issue_title(&self, number: u64) -> Effect<String> {
        let what = "reading an issue's title";
        let issue = self
            .api
            .call(
                what,
                Method::GET,
                &format!("{}/issues/{number}", self.repo_path()),
                None,
                &[],
            )
            .await?;
        str_field(&issue.json, "title")
            .map(str::to_string)
            .ok_or_else(|| malformed(what, "title"))
    }

    /// Labels first: repeating them is harmless, repeating the comment is not.
    pub async fn comment(&self, draft: &CommentDraft) -> Effect<Filing> {
        if !draft.labels.is_empty() {
            self.add_labels(draft.issue, &draft.labels).await?;
        }
        self.post_comment(draft.issue, &draft.body).await
    }

    async fn post_comment(&self, number: u64, body: &str) -> Effect<Filing> {
        let created = self
            .api
            .call(
                "commenting",
                Method::POST,
                &format!("{}/issues/{number}/comments", self.repo_path()),
                Some(&json!({ "body": body })),
                &[],
            )
            .await?;
        comment_filing(number, &created.json, "commenting")
    }

    /// Posts the continuation comments of a long body that are not there yet,
    /// in order. Each starts with its own part marker line, so a repeat after
    /// a crash posts only what is missing.
    pub async fn continue_parts(&self, number: u64, parts: &[String]) -> Effect<()> {
        if parts.is_empty() {
            return Ok(());
        }
        let existing: Vec<String> = self
            .comments(number, None)
            .await?
            .iter()
            .filter_map(|c| body_first_line(c).map(str::to_string))
            .collect();
        for part in parts {
            let first = part.lines().next().unwrap_or("").trim();
            if !existing.iter().any(|e| e == first) {
                self.post_comment(number, part).await?;
            }
        }
        Ok(())
    }
}

fn issue_filing(v: &Value, what: &str) -> Effect<Filing> {
    Ok(Filing {
        issue: u64_field(v, "number").ok_or_else(|| malformed(what, "number"))?,
        comment_id: None,
        url: str_field(v, "html_url").unwrap_or_default().to_string(),
    })
}

fn comment_filing(issue: u64, v: &Value, what: &str) -> Effect<Filing> {
    Ok(Filing {
        issue,
        comment_id: Some(u64_field(v, "id").ok_or_else(|| malformed(what, "id"))?),
        url: str_field(v, "html_url").unwrap_or_default().to_string(),
    })
}
