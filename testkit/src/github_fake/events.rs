//! Issue events (`GET /repos/{o}/{r}/issues/{n}/events`) and the test hooks
//! that act as another user — a coordinator commenting or labelling — so
//! that "has anyone but the daemon responded?" can be exercised.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::issues::parse_number;
use super::json as gj;
use super::labels::ensure_labels;
use super::routes::{page_reply, repo, Ctx, Handled, Reply};
use super::state::{next_id, now, ts, CommentRec, EventRec, IssueRec, RepoState, State};
use super::GithubFake;

pub(crate) fn labeled(actor: &str, event: &str, label: &str, t: DateTime<Utc>) -> EventRec {
    EventRec {
        id: next_id(),
        event: event.to_string(),
        actor: actor.to_string(),
        label: Some(label.to_string()),
        created_at: t,
    }
}

/// The `issue-event` object of GitHub's REST description.
fn event_json(base: &str, repo: &RepoState, _issue: &IssueRec, e: &EventRec) -> Value {
    let mut v = json!({
        "id": e.id,
        "node_id": format!("LE_fake{}", e.id),
        "url": format!("{base}repos/{}/issues/events/{}", repo.full_name(), e.id),
        "actor": gj::user(base, &e.actor),
        "event": e.event,
        "commit_id": null,
        "commit_url": null,
        "created_at": ts(e.created_at),
        "performed_via_github_app": null,
    });
    if let (Some(name), Some(obj)) = (&e.label, v.as_object_mut()) {
        let color = repo
            .label_index(name)
            .map(|i| repo.labels[i].color.clone())
            .unwrap_or_else(|| "ededed".into());
        obj.insert("label".into(), json!({"name": name, "color": color}));
    }
    v
}

pub(crate) fn list(st: &mut State, cx: &Ctx, o: &str, r: &str, n: &str) -> Handled {
    let number = parse_number(n)?;
    let repo = repo(st, o, r)?;
    let issue = repo
        .issues
        .iter()
        .find(|i| i.number == number)
        .ok_or_else(Reply::not_found)?;
    let items = issue
        .events
        .iter()
        .map(|e| event_json(&cx.base, repo, issue, e))
        .collect();
    page_reply(cx, items)
}

impl GithubFake {
    /// Posts a comment on issue `number` as user `login` (a coordinator),
    /// as if through the web UI. Returns the comment id.
    pub fn comment_as(&self, repo: &str, number: u64, login: &str, body: &str) -> u64 {
        self.with_repo(repo, |r| {
            let issue = r
                .issue_mut(number)
                .unwrap_or_else(|| panic!("GitHub fake: no issue #{number} in {repo}"));
            let t = now();
            let id = next_id();
            issue.comments.push(CommentRec {
                id,
                user: login.to_string(),
                body: body.to_string(),
                created_at: t,
                updated_at: t,
            });
            issue.updated_at = t;
            id
        })
    }

    /// Adds `label` to issue `number` as user `login` (a coordinator
    /// triaging), recording the `labeled` event.
    pub fn label_as(&self, repo: &str, number: u64, login: &str, label: &str) {
        self.with_repo(repo, |r| {
            let names = ensure_labels(r, &[label.to_string()]);
            let issue = r
                .issue_mut(number)
                .unwrap_or_else(|| panic!("GitHub fake: no issue #{number} in {repo}"));
            let t = now();
            for name in names {
                if !issue.labels.contains(&name) {
                    issue.labels.push(name.clone());
                }
                issue.events.push(labeled(login, "labeled", &name, t));
            }
            issue.updated_at = t;
        })
    }

    /// Closes issue `number` as user `login` with GitHub's `state_reason`
    /// (`completed`, `not_planned`, `duplicate`), recording the `closed`
    /// event, as the web UI does.
    pub fn close_as(&self, repo: &str, number: u64, login: &str, reason: &str) {
        self.set_open_as(repo, number, login, false, reason)
    }

    /// Reopens issue `number` as user `login`.
    pub fn reopen_as(&self, repo: &str, number: u64, login: &str) {
        self.set_open_as(repo, number, login, true, "reopened")
    }

    fn set_open_as(&self, repo: &str, number: u64, login: &str, open: bool, reason: &str) {
        self.with_repo(repo, |r| {
            let issue = r
                .issue_mut(number)
                .unwrap_or_else(|| panic!("GitHub fake: no issue #{number} in {repo}"));
            let t = now();
            issue.open = open;
            issue.closed_at = (!open).then_some(t);
            issue.state_reason = Some(reason.to_string());
            let event = if open { "reopened" } else { "closed" };
            issue.events.push(EventRec {
                id: next_id(),
                event: event.to_string(),
                actor: login.to_string(),
                label: None,
                created_at: t,
            });
            issue.updated_at = t;
        })
    }

    /// (author login, body) of every comment on issue `number`, oldest first.
    pub fn comments_with_authors(&self, repo: &str, number: u64) -> Vec<(String, String)> {
        self.with_repo(repo, |r| {
            r.issues
                .iter()
                .find(|i| i.number == number)
                .map(|i| {
                    i.comments
                        .iter()
                        .map(|c| (c.user.clone(), c.body.clone()))
                        .collect()
                })
                .unwrap_or_default()
        })
    }
}
