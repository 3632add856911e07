//! `GET /repos/{owner}/{repo}/issues/comments`: the comments of every
//! issue in one listing (`since` on `updated_at`, `sort` created|updated,
//! `direction` asc|desc), each with its author's `author_association`;
//! and the test helpers that make coordinators and edit comments.

use chrono::DateTime;

use super::json as gj;
use super::routes::{page_reply, repo, Ctx, Handled, Reply};
use super::state::{now, State};
use super::GithubFake;

pub(crate) fn list(st: &mut State, cx: &Ctx, o: &str, r: &str) -> Handled {
    let since = match cx.param("since").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| Reply::unprocessable("IssueComment", "since", "invalid"))?,
        ),
    };
    let repo = repo(st, o, r)?;
    let mut found: Vec<_> = repo
        .issues
        .iter()
        .flat_map(|i| i.comments.iter().map(move |c| (i, c)))
        .filter(|(_, c)| since.is_none_or(|s| c.updated_at >= s))
        .collect();
    match cx.param("sort").unwrap_or("created") {
        "created" => found.sort_by_key(|(_, c)| (c.created_at, c.id)),
        "updated" => found.sort_by_key(|(_, c)| (c.updated_at, c.id)),
        _ => return Err(Reply::unprocessable("IssueComment", "sort", "invalid")),
    }
    match cx.param("direction").unwrap_or("asc") {
        "asc" => {}
        "desc" => found.reverse(),
        _ => return Err(Reply::unprocessable("IssueComment", "direction", "invalid")),
    }
    let items = found
        .iter()
        .map(|(i, c)| gj::comment(&cx.base, repo, i, c))
        .collect();
    page_reply(cx, items)
}

impl GithubFake {
    /// Makes `login` an `association` of `repo` (`OWNER`, `MEMBER`,
    /// `COLLABORATOR`, `CONTRIBUTOR`, …) as comments' `author_association`
    /// shows it; logins never set are `NONE`.
    pub fn set_association(&self, repo: &str, login: &str, association: &str) {
        self.with_repo(repo, |r| {
            r.associations
                .insert(login.to_ascii_lowercase(), association.to_string());
        })
    }

    /// Replaces the body of comment `id` as its author would (web UI edit).
    pub fn edit_comment(&self, repo: &str, id: u64, body: &str) {
        self.with_repo(repo, |r| {
            let c = r
                .issues
                .iter_mut()
                .flat_map(|i| i.comments.iter_mut())
                .find(|c| c.id == id)
                .unwrap_or_else(|| panic!("GitHub fake: no comment {id} in {repo}"));
            c.body = body.to_string();
            c.updated_at = now();
        })
    }
}
