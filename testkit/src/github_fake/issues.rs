//! Issues, issue comments and labels.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::json as gj;
use super::labels::{ensure_labels, names_of};
use super::routes::{page_reply, repo, Ctx, Handled, Reply};
use super::state::{next_id, now, CommentRec, IssueRec, RepoState, State, BOT_LOGIN};

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn parse_number(n: &str) -> Result<u64, Reply> {
    n.parse().map_err(|_| Reply::not_found())
}

fn parse_since(cx: &Ctx) -> Result<Option<DateTime<Utc>>, Reply> {
    cx.param("since")
        .filter(|s| !s.is_empty())
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| Reply::unprocessable("Issue", "since", "invalid"))
        })
        .transpose()
}

/// Inserts a new issue and returns its number.
pub(crate) fn insert(
    repo: &mut RepoState,
    title: &str,
    body: Option<String>,
    labels: &[String],
    assignees: Vec<String>,
) -> u64 {
    let number = repo.issues.iter().map(|i| i.number).max().unwrap_or(0) + 1;
    let labels = ensure_labels(repo, labels);
    let t = now();
    // Labels given at creation show up as `labeled` events by the creator.
    let events = labels
        .iter()
        .map(|l| super::events::labeled(BOT_LOGIN, "labeled", l, t))
        .collect();
    repo.issues.push(IssueRec {
        id: next_id(),
        number,
        title: title.to_string(),
        body,
        open: true,
        state_reason: None,
        labels,
        assignees,
        user: BOT_LOGIN.to_string(),
        comments: Vec::new(),
        events,
        created_at: t,
        updated_at: t,
        closed_at: None,
        created_instant: Instant::now(),
    });
    number
}

/// GitHub rejects longer issue titles and issue or comment bodies (422).
const TITLE_LIMIT: usize = 256;
const BODY_LIMIT: usize = 65_536;

/// Length in UTF-16 code units, as GitHub counts.
fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

pub(crate) fn create(st: &mut State, cx: &Ctx, o: &str, r: &str) -> Handled {
    let body = cx.json()?;
    let repo = repo(st, o, r)?;
    let title = match body.get("title") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(Reply::unprocessable("Issue", "title", "missing_field")),
    };
    let labels = match body.get("labels") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => names_of(v)?,
    };
    let text = body.get("body").and_then(Value::as_str).map(str::to_string);
    // GitHub's limits, in UTF-16 code units.
    if units(&title) > TITLE_LIMIT {
        return Err(Reply::unprocessable("Issue", "title", "custom"));
    }
    if text.as_deref().is_some_and(|t| units(t) > BODY_LIMIT) {
        return Err(Reply::unprocessable("Issue", "body", "custom"));
    }
    let number = insert(
        repo,
        &title,
        text,
        &labels,
        string_list(body.get("assignees")),
    );
    let issue = repo
        .issues
        .iter()
        .find(|i| i.number == number)
        .expect("just inserted");
    let url = format!("{}repos/{}/issues/{number}", cx.base, repo.full_name());
    Ok(Reply::created(gj::issue(&cx.base, repo, issue)).with_header("location", url))
}

pub(crate) fn list(st: &mut State, cx: &Ctx, o: &str, r: &str) -> Handled {
    let since = parse_since(cx)?;
    let repo = repo(st, o, r)?;
    let state = cx.param("state").unwrap_or("open");
    if !matches!(state, "open" | "closed" | "all") {
        return Err(Reply::unprocessable("Issue", "state", "invalid"));
    }
    let wanted_labels: Vec<&str> = cx
        .param("labels")
        .map(|l| {
            l.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut found: Vec<&IssueRec> = repo
        .issues
        .iter()
        .filter(|i| state == "all" || i.open == (state == "open"))
        .filter(|i| {
            wanted_labels
                .iter()
                .all(|w| i.labels.iter().any(|l| l.eq_ignore_ascii_case(w)))
        })
        .filter(|i| {
            cx.param("creator")
                .is_none_or(|c| i.user.eq_ignore_ascii_case(c))
        })
        .filter(|i| since.is_none_or(|s| i.updated_at >= s))
        .collect();
    match cx.param("sort").unwrap_or("created") {
        "created" => found.sort_by_key(|i| (i.created_at, i.number)),
        "updated" => found.sort_by_key(|i| (i.updated_at, i.number)),
        "comments" => found.sort_by_key(|i| (i.comments.len(), i.number)),
        _ => return Err(Reply::unprocessable("Issue", "sort", "invalid")),
    }
    match cx.param("direction").unwrap_or("desc") {
        "desc" => found.reverse(),
        "asc" => {}
        _ => return Err(Reply::unprocessable("Issue", "direction", "invalid")),
    }
    let items = found.iter().map(|i| gj::issue(&cx.base, repo, i)).collect();
    page_reply(cx, items)
}

pub(crate) fn get_or_update(st: &mut State, cx: &Ctx, o: &str, r: &str, n: &str) -> Handled {
    let number = parse_number(n)?;
    let body = cx.json()?;
    let repo = repo(st, o, r)?;
    repo.issue_mut(number).ok_or_else(Reply::not_found)?;
    if cx.method == "PATCH" {
        let labels = match body.get("labels") {
            None | Some(Value::Null) => None,
            Some(v) => Some(ensure_labels(repo, &names_of(v)?)),
        };
        let issue = repo.issue_mut(number).expect("checked above");
        match body.get("title") {
            Some(Value::String(t)) if units(t) > TITLE_LIMIT => {
                return Err(Reply::unprocessable("Issue", "title", "custom"))
            }
            Some(Value::String(t)) if !t.is_empty() => issue.title = t.clone(),
            None | Some(Value::Null) => {}
            _ => return Err(Reply::unprocessable("Issue", "title", "invalid")),
        }
        if body
            .get("body")
            .and_then(Value::as_str)
            .is_some_and(|b| units(b) > BODY_LIMIT)
        {
            return Err(Reply::unprocessable("Issue", "body", "custom"));
        }
        if let Some(b) = body.get("body") {
            issue.body = b.as_str().map(str::to_string);
        }
        match body.get("state").and_then(Value::as_str) {
            Some("closed") if issue.open => {
                issue.open = false;
                issue.closed_at = Some(now());
                issue.state_reason = Some(
                    body.get("state_reason")
                        .and_then(Value::as_str)
                        .unwrap_or("completed")
                        .to_string(),
                );
            }
            Some("open") if !issue.open => {
                issue.open = true;
                issue.closed_at = None;
                issue.state_reason = Some("reopened".to_string());
            }
            Some("open" | "closed") | None => {}
            Some(_) => return Err(Reply::unprocessable("Issue", "state", "invalid")),
        }
        if let Some(labels) = labels {
            issue.labels = labels;
        }
        if body.get("assignees").is_some() {
            issue.assignees = string_list(body.get("assignees"));
        }
        issue.updated_at = now();
    }
    let issue = repo
        .issues
        .iter()
        .find(|i| i.number == number)
        .expect("checked above");
    Ok(Reply::ok(gj::issue(&cx.base, repo, issue)))
}

pub(crate) fn comments(st: &mut State, cx: &Ctx, o: &str, r: &str, n: &str) -> Handled {
    let number = parse_number(n)?;
    let since = parse_since(cx)?;
    let body = cx.json()?;
    let repo = repo(st, o, r)?;
    let issue = repo.issue_mut(number).ok_or_else(Reply::not_found)?;
    if cx.method == "POST" {
        let text = match body.get("body") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(Reply::unprocessable(
                    "IssueComment",
                    "body",
                    "missing_field",
                ))
            }
        };
        if units(&text) > BODY_LIMIT {
            return Err(Reply::unprocessable("IssueComment", "body", "custom"));
        }
        let t = now();
        issue.comments.push(CommentRec {
            id: next_id(),
            user: BOT_LOGIN.to_string(),
            body: text,
            created_at: t,
            updated_at: t,
        });
        issue.updated_at = t;
        let issue = repo
            .issues
            .iter()
            .find(|i| i.number == number)
            .expect("exists");
        let c = issue.comments.last().expect("just pushed");
        return Ok(Reply::created(gj::comment(&cx.base, repo, issue, c)));
    }
    let issue = repo
        .issues
        .iter()
        .find(|i| i.number == number)
        .expect("exists");
    let items = issue
        .comments
        .iter()
        .filter(|c| since.is_none_or(|s| c.updated_at >= s))
        .map(|c| gj::comment(&cx.base, repo, issue, c))
        .collect();
    page_reply(cx, items)
}

pub(crate) fn comment_by_id(st: &mut State, cx: &Ctx, o: &str, r: &str, id: &str) -> Handled {
    let id: u64 = id.parse().map_err(|_| Reply::not_found())?;
    let body = cx.json()?;
    let repo = repo(st, o, r)?;
    let (ii, ci) = repo
        .issues
        .iter()
        .enumerate()
        .find_map(|(ii, i)| {
            i.comments
                .iter()
                .position(|c| c.id == id)
                .map(|ci| (ii, ci))
        })
        .ok_or_else(Reply::not_found)?;
    if cx.method == "PATCH" {
        let text = match body.get("body") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(Reply::unprocessable(
                    "IssueComment",
                    "body",
                    "missing_field",
                ))
            }
        };
        let c = &mut repo.issues[ii].comments[ci];
        c.body = text;
        c.updated_at = now();
    }
    let issue = &repo.issues[ii];
    Ok(Reply::ok(gj::comment(
        &cx.base,
        repo,
        issue,
        &issue.comments[ci],
    )))
}
