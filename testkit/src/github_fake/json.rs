//! GitHub-shaped JSON for the fake's resources. Every field octocrab 0.54's
//! models require (non-`Option`) is present.

use serde_json::{json, Value};

use super::codec::{base64_encode_wrapped, percent_encode};
use super::state::{ts, CommentRec, FileRec, IssueRec, LabelRec, RepoState, BOT_ID, BOT_LOGIN};

const WEB: &str = "https://github.com";

/// A user id that is stable for a login.
pub fn user_id(login: &str) -> u64 {
    if login == BOT_LOGIN {
        return BOT_ID;
    }
    2000 + login
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        % 1_000_000
}

/// The full `simple-user` object (octocrab `models::Author`).
pub fn user(base: &str, login: &str) -> Value {
    let u = format!("{base}users/{login}");
    let id = user_id(login);
    json!({
        "login": login,
        "id": id,
        "node_id": format!("U_fake{id}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "",
        "url": u,
        "html_url": format!("{WEB}/{login}"),
        "followers_url": format!("{u}/followers"),
        "following_url": format!("{u}/following{{/other_user}}"),
        "gists_url": format!("{u}/gists{{/gist_id}}"),
        "starred_url": format!("{u}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{u}/subscriptions"),
        "organizations_url": format!("{u}/orgs"),
        "repos_url": format!("{u}/repos"),
        "events_url": format!("{u}/events{{/privacy}}"),
        "received_events_url": format!("{u}/received_events"),
        "type": if login.ends_with("[bot]") { "Bot" } else { "User" },
        "site_admin": false,
        "user_view_type": "public",
    })
}

fn repo_api(base: &str, repo: &RepoState) -> String {
    format!("{base}repos/{}", repo.full_name())
}

pub fn label(base: &str, repo: &RepoState, l: &LabelRec) -> Value {
    json!({
        "id": l.id,
        "node_id": format!("LA_fake{}", l.id),
        "url": format!("{}/labels/{}", repo_api(base, repo), percent_encode(&l.name)),
        "name": l.name,
        "color": l.color,
        "default": false,
        "description": l.description,
    })
}

fn issue_labels(base: &str, repo: &RepoState, names: &[String]) -> Vec<Value> {
    names
        .iter()
        .filter_map(|n| repo.label_index(n))
        .map(|i| label(base, repo, &repo.labels[i]))
        .collect()
}

/// The labels of an issue, as the issue-labels endpoints return them.
pub fn labels_of(base: &str, repo: &RepoState, issue: &IssueRec) -> Value {
    Value::Array(issue_labels(base, repo, &issue.labels))
}

pub fn issue(base: &str, repo: &RepoState, i: &IssueRec) -> Value {
    let api = format!("{}/issues/{}", repo_api(base, repo), i.number);
    let assignees: Vec<Value> = i.assignees.iter().map(|a| user(base, a)).collect();
    let state = if i.open { "open" } else { "closed" };
    json!({
        "id": i.id,
        "node_id": format!("I_fake{}", i.id),
        "url": api,
        "repository_url": repo_api(base, repo),
        "labels_url": format!("{api}/labels{{/name}}"),
        "comments_url": format!("{api}/comments"),
        "events_url": format!("{api}/events"),
        "html_url": format!("{WEB}/{}/issues/{}", repo.full_name(), i.number),
        "timeline_url": format!("{api}/timeline"),
        "number": i.number,
        "state": state,
        "state_reason": i.state_reason,
        "title": i.title,
        "body": i.body,
        "user": user(base, &i.user),
        "labels": issue_labels(base, repo, &i.labels),
        "assignee": assignees.first().cloned(),
        "assignees": assignees,
        "milestone": null,
        "locked": false,
        "active_lock_reason": null,
        "comments": i.comments.len(),
        "closed_at": i.closed_at.map(ts),
        "closed_by": i.closed_at.map(|_| user(base, BOT_LOGIN)),
        "created_at": ts(i.created_at),
        "updated_at": ts(i.updated_at),
        "author_association": "MEMBER",
        "performed_via_github_app": null,
        "reactions": reactions(&format!("{api}/reactions")),
    })
}

pub fn comment(base: &str, repo: &RepoState, issue: &IssueRec, c: &CommentRec) -> Value {
    let api = repo_api(base, repo);
    json!({
        "id": c.id,
        "node_id": format!("IC_fake{}", c.id),
        "url": format!("{api}/issues/comments/{}", c.id),
        "html_url": format!("{WEB}/{}/issues/{}#issuecomment-{}", repo.full_name(), issue.number, c.id),
        "issue_url": format!("{api}/issues/{}", issue.number),
        "body": c.body,
        "user": user(base, &c.user),
        "author_association": repo.association(&c.user),
        "created_at": ts(c.created_at),
        "updated_at": ts(c.updated_at),
        "performed_via_github_app": null,
        "reactions": reactions(&format!("{api}/issues/comments/{}/reactions", c.id)),
    })
}

fn reactions(url: &str) -> Value {
    json!({
        "url": url, "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
        "confused": 0, "heart": 0, "rocket": 0, "eyes": 0,
    })
}

/// `GET /repos/{owner}/{repo}`: a `full-repository` with every field
/// GitHub's description requires (Prism checks it), `private` and
/// `visibility` as set by [`crate::github_fake::GithubFake::set_visibility`].
pub fn repository(base: &str, repo: &RepoState) -> Value {
    let api = repo_api(base, repo);
    let full = repo.full_name();
    let open = repo.issues.iter().filter(|i| i.open).count();
    let mut v = json!({
        "id": repo.id,
        "node_id": format!("R_fake{}", repo.id),
        "name": repo.name,
        "full_name": full,
        "owner": user(base, &repo.owner),
        "private": repo.visibility != "public",
        "html_url": format!("{WEB}/{full}"),
        "description": null,
        "fork": false,
        "url": api,
        "git_url": format!("git://github.com/{full}.git"),
        "ssh_url": format!("git@github.com:{full}.git"),
        "clone_url": format!("{WEB}/{full}.git"),
        "svn_url": format!("{WEB}/{full}"),
        "homepage": null,
        "language": null,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "size": 0,
        "default_branch": "main",
        "open_issues_count": open,
        "is_template": false,
        "topics": [],
        "has_issues": true,
        "has_projects": false,
        "has_wiki": false,
        "has_pages": false,
        "has_downloads": false,
        "archived": false,
        "disabled": false,
        "visibility": repo.visibility,
        "pushed_at": ts(repo.created_at),
        "created_at": ts(repo.created_at),
        "updated_at": ts(repo.created_at),
        "permissions": {"admin": false, "maintain": false, "push": true, "triage": true, "pull": true},
    });
    // Beyond what one json! call can expand.
    for (key, value) in [
        ("forks", json!(0)),
        ("watchers", json!(0)),
        ("open_issues", json!(open)),
        ("network_count", json!(0)),
        ("subscribers_count", json!(0)),
        ("has_discussions", json!(false)),
        ("license", Value::Null),
        ("mirror_url", Value::Null),
    ] {
        v[key] = value;
    }
    let links = [
        ("archive_url", "{archive_format}{/ref}"),
        ("assignees_url", "assignees{/user}"),
        ("blobs_url", "git/blobs{/sha}"),
        ("collaborators_url", "collaborators{/collaborator}"),
        ("compare_url", "compare/{base}...{head}"),
        ("contributors_url", "contributors"),
        ("deployments_url", "deployments"),
        ("downloads_url", "downloads"),
        ("forks_url", "forks"),
        ("git_commits_url", "git/commits{/sha}"),
        ("git_refs_url", "git/refs{/sha}"),
        ("git_tags_url", "git/tags{/sha}"),
        ("keys_url", "keys{/key_id}"),
        ("languages_url", "languages"),
        ("merges_url", "merges"),
        ("milestones_url", "milestones{/number}"),
        (
            "notifications_url",
            "notifications{?since,all,participating}",
        ),
        ("releases_url", "releases{/id}"),
        ("stargazers_url", "stargazers"),
        ("statuses_url", "statuses/{sha}"),
        ("subscribers_url", "subscribers"),
        ("subscription_url", "subscription"),
        ("teams_url", "teams"),
        ("trees_url", "git/trees{/sha}"),
        ("issues_url", "issues{/number}"),
        ("labels_url", "labels{/name}"),
        ("contents_url", "contents/{+path}"),
        ("comments_url", "comments{/number}"),
        ("issue_comment_url", "issues/comments{/number}"),
        ("issue_events_url", "issues/events{/number}"),
        ("events_url", "events"),
        ("hooks_url", "hooks"),
        ("pulls_url", "pulls{/number}"),
        ("commits_url", "commits{/sha}"),
        ("branches_url", "branches{/branch}"),
        ("tags_url", "tags"),
    ];
    for (key, tail) in links {
        v[key] = Value::String(format!("{api}/{tail}"));
    }
    v
}

/// A `content-file` object; `with_content` is false in directory listings.
pub fn content(base: &str, repo: &RepoState, path: &str, f: &FileRec, with_content: bool) -> Value {
    let api = repo_api(base, repo);
    let full = repo.full_name();
    let self_url = format!("{api}/contents/{path}?ref=main");
    let git_url = format!("{api}/git/blobs/{}", f.sha);
    let html_url = format!("{WEB}/{full}/blob/main/{path}");
    let mut v = json!({
        "type": "file",
        "name": path.rsplit('/').next().unwrap_or(path),
        "path": path,
        "sha": f.sha,
        "size": f.content.len(),
        "url": self_url,
        "html_url": html_url,
        "git_url": git_url,
        "download_url": format!("https://raw.githubusercontent.com/{full}/main/{path}"),
        "_links": {"self": self_url, "git": git_url, "html": html_url},
    });
    if with_content {
        v["encoding"] = json!("base64");
        v["content"] = json!(base64_encode_wrapped(&f.content));
    }
    v
}

/// A directory entry in a contents listing.
pub fn dir_entry(base: &str, repo: &RepoState, path: &str) -> Value {
    let api = repo_api(base, repo);
    let full = repo.full_name();
    let self_url = format!("{api}/contents/{path}?ref=main");
    let html_url = format!("{WEB}/{full}/tree/main/{path}");
    json!({
        "type": "dir",
        "name": path.rsplit('/').next().unwrap_or(path),
        "path": path,
        "sha": super::codec::sha1_hex(path.as_bytes()),
        "size": 0,
        "url": self_url,
        "html_url": html_url,
        "git_url": null,
        "download_url": null,
        "_links": {"self": self_url, "git": null, "html": html_url},
    })
}

/// The `commit` part of a contents PUT/DELETE answer.
pub fn commit(base: &str, repo: &RepoState, sha: &str, message: &str) -> Value {
    let api = repo_api(base, repo);
    let who = json!({
        "name": BOT_LOGIN,
        "email": format!("{BOT_ID}+{BOT_LOGIN}@users.noreply.github.com"),
        "date": ts(super::state::now()),
    });
    json!({
        "sha": sha,
        "node_id": format!("C_fake{sha}"),
        "url": format!("{api}/git/commits/{sha}"),
        "html_url": format!("{WEB}/{}/commit/{sha}", repo.full_name()),
        "author": who,
        "committer": who,
        "message": message,
        "tree": {"sha": super::codec::sha1_hex(format!("tree{sha}").as_bytes()), "url": format!("{api}/git/trees/{sha}")},
        "parents": [],
        "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null},
    })
}

/// GitHub's error body.
pub fn error(message: &str) -> Value {
    json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
    })
}

/// GitHub's 422 "Validation Failed" body with one error entry.
pub fn validation(resource: &str, field: &str, code: &str) -> Value {
    json!({
        "message": "Validation Failed",
        "errors": [{"resource": resource, "code": code, "field": field}],
        "documentation_url": "https://docs.github.com/rest",
    })
}
