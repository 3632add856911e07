//! Repository security advisories, kept per repository:
//!
//! * `GET /orgs/{org}/security-advisories` (every repository of `org`) and
//!   `GET /repos/{owner}/{repo}/security-advisories`: `state` filter,
//!   `sort` created|updated|published, `direction` asc|desc (default desc),
//!   `per_page`, and cursor paging like GitHub's (`after`/`before` cursors
//!   in the `Link` header, never `page`);
//! * `POST /repos/{owner}/{repo}/security-advisories`: a draft (summary,
//!   description and vulnerabilities required, credits by login);
//! * a token denied a scope ([`GithubFake::deny_advisories`]) gets 404 on
//!   its listing (as GitHub hides what a token may not see; the listings'
//!   description names 200, 400 and 404 only, and Prism flags a 403 there)
//!   and 403 on a create.
//!
//! The JSON is the whole `repository-advisory` object of GitHub's OpenAPI
//! description, so Prism validates it.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::codec::{percent_encode, random_alnum};
use super::json as gj;
use super::routes::{repo, Ctx, Handled, Reply};
use super::state::{now, ts, State, BOT_LOGIN};
use super::GithubFake;

const WEB: &str = "https://github.com";

/// One advisory as the fake keeps it.
#[derive(Debug, Clone)]
pub(crate) struct AdvisoryRec {
    pub ghsa_id: String,
    /// `owner/name` as the repository was created.
    pub repo: String,
    pub summary: String,
    pub description: String,
    pub severity: Option<String>,
    pub state: String,
    pub cve_id: Option<String>,
    pub author: String,
    /// `submission.accepted`; None: not a private vulnerability report.
    pub accepted: Option<bool>,
    /// (ecosystem, name, vulnerable range)
    pub packages: Vec<(String, String, String)>,
    /// (login, type)
    pub credits: Vec<(String, String)>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// An advisory as tests see and seed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeAdvisory {
    pub ghsa_id: String,
    pub repo: String,
    pub summary: String,
    pub description: String,
    pub severity: Option<String>,
    /// `triage`, `draft`, `published`, `closed`, `withdrawn`.
    pub state: String,
    pub cve_id: Option<String>,
    pub author: String,
    /// (login, type) of every credit.
    pub credits: Vec<(String, String)>,
    /// (ecosystem, name, vulnerable range) of every affected package.
    pub packages: Vec<(String, String, String)>,
}

impl From<&AdvisoryRec> for FakeAdvisory {
    fn from(a: &AdvisoryRec) -> FakeAdvisory {
        FakeAdvisory {
            ghsa_id: a.ghsa_id.clone(),
            repo: a.repo.clone(),
            summary: a.summary.clone(),
            description: a.description.clone(),
            severity: a.severity.clone(),
            state: a.state.clone(),
            cve_id: a.cve_id.clone(),
            author: a.author.clone(),
            credits: a.credits.clone(),
            packages: a.packages.clone(),
        }
    }
}

/// A GHSA ID: three groups of four of GitHub's alphabet.
fn ghsa_id() -> String {
    let alphabet: Vec<char> = "23456789cfghjmpqrvwx".chars().collect();
    let pick = random_alnum(12)
        .bytes()
        .map(|b| alphabet[usize::from(b) % alphabet.len()])
        .collect::<String>();
    format!("GHSA-{}-{}-{}", &pick[0..4], &pick[4..8], &pick[8..12])
}

fn json(base: &str, a: &AdvisoryRec) -> Value {
    let t = |x: Option<DateTime<Utc>>| x.map(ts);
    let user = |login: &str| gj::user(base, login);
    json!({
        "ghsa_id": a.ghsa_id,
        "cve_id": a.cve_id,
        "url": format!("{base}repos/{}/security-advisories/{}", a.repo, a.ghsa_id),
        "html_url": format!("{WEB}/{}/security/advisories/{}", a.repo, a.ghsa_id),
        "summary": a.summary,
        "description": a.description,
        "severity": a.severity,
        "author": user(&a.author),
        "publisher": a.published_at.map(|_| user(BOT_LOGIN)),
        "identifiers": std::iter::once(json!({"type": "GHSA", "value": a.ghsa_id}))
            .chain(a.cve_id.iter().map(|c| json!({"type": "CVE", "value": c})))
            .collect::<Vec<_>>(),
        "state": a.state,
        "created_at": ts(a.created_at),
        "updated_at": ts(a.updated_at),
        "published_at": t(a.published_at),
        "closed_at": t(a.closed_at),
        "withdrawn_at": null,
        "submission": a.accepted.map(|x| json!({"accepted": x})),
        "vulnerabilities": a.packages.iter().map(|(eco, name, range)| json!({
            "package": {"ecosystem": eco, "name": name},
            "vulnerable_version_range": range,
            "patched_versions": null,
            "vulnerable_functions": [],
        })).collect::<Vec<_>>(),
        "cvss": null,
        "cwes": [],
        "cwe_ids": [],
        "credits": a.credits.iter().map(|(l, ty)| json!({"login": l, "type": ty})).collect::<Vec<_>>(),
        "credits_detailed": a.credits.iter().map(|(l, ty)| json!({
            "user": user(l), "type": ty, "state": "pending",
        })).collect::<Vec<_>>(),
        "collaborating_users": [],
        "collaborating_teams": [],
        "private_fork": null,
    })
}

fn denied(st: &State, cx: &Ctx, scope: &str) -> bool {
    cx.token.as_ref().is_some_and(|t| {
        st.advisory_denied
            .iter()
            .any(|(tok, s)| tok == t && s.eq_ignore_ascii_case(scope))
    })
}

/// `GET /orgs/{org}/security-advisories`
pub(crate) fn list_org(st: &mut State, cx: &Ctx, org: &str) -> Handled {
    let exists = st
        .repos
        .values()
        .any(|r| !r.hidden && r.owner.eq_ignore_ascii_case(org));
    if !exists || denied(st, cx, org) {
        return Err(Reply::not_found());
    }
    let prefix = format!("{}/", org.to_ascii_lowercase());
    let items: Vec<AdvisoryRec> = st
        .advisories
        .iter()
        .filter(|a| a.repo.to_ascii_lowercase().starts_with(&prefix))
        .cloned()
        .collect();
    listing(cx, items)
}

/// `GET|POST /repos/{owner}/{repo}/security-advisories`
pub(crate) fn repo_advisories(st: &mut State, cx: &Ctx, o: &str, r: &str) -> Handled {
    let full = repo(st, o, r)?.full_name();
    let scope_denied = denied(st, cx, &full) || denied(st, cx, o);
    if cx.method == "POST" {
        if scope_denied {
            return Err(Reply::new(
                403,
                gj::error("Resource not accessible by personal access token"),
            ));
        }
        return create(st, cx, &full);
    }
    if scope_denied {
        return Err(Reply::not_found());
    }
    let items: Vec<AdvisoryRec> = st
        .advisories
        .iter()
        .filter(|a| a.repo.eq_ignore_ascii_case(&full))
        .cloned()
        .collect();
    listing(cx, items)
}

fn create(st: &mut State, cx: &Ctx, full: &str) -> Handled {
    let body = cx.json()?;
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(summary), Some(description)) = (text("summary"), text("description")) else {
        return Err(Reply::unprocessable(
            "RepositoryAdvisory",
            "summary",
            "missing_field",
        ));
    };
    let Some(vulns) = body.get("vulnerabilities").and_then(Value::as_array) else {
        return Err(Reply::unprocessable(
            "RepositoryAdvisory",
            "vulnerabilities",
            "missing_field",
        ));
    };
    let packages = vulns
        .iter()
        .filter_map(|v| {
            let p = v.get("package")?;
            Some((
                p.get("ecosystem")?.as_str()?.to_string(),
                p.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                v.get("vulnerable_version_range")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            ))
        })
        .collect();
    let credits = body
        .get("credits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some((
                c.get("login")?.as_str()?.to_string(),
                c.get("type")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let t = now();
    let a = AdvisoryRec {
        ghsa_id: ghsa_id(),
        repo: full.to_string(),
        summary,
        description,
        severity: text("severity"),
        state: "draft".into(),
        cve_id: text("cve_id"),
        author: BOT_LOGIN.into(),
        accepted: None,
        packages,
        credits,
        created_at: t,
        updated_at: t,
        published_at: None,
        closed_at: None,
    };
    let out = json(&cx.base, &a);
    st.advisories.push(a);
    Ok(Reply::created(out))
}

/// Filter, sort and one page after/before a cursor, with a `Link` header.
fn listing(cx: &Ctx, mut items: Vec<AdvisoryRec>) -> Handled {
    if let Some(s) = cx.param("state").filter(|s| !s.is_empty()) {
        if !["triage", "draft", "published", "closed"].contains(&s) {
            return Err(Reply::unprocessable(
                "RepositoryAdvisory",
                "state",
                "invalid",
            ));
        }
        items.retain(|a| a.state == s);
    }
    let key = |a: &AdvisoryRec| -> (DateTime<Utc>, String) {
        let t = match cx.param("sort").unwrap_or("created") {
            "updated" => a.updated_at,
            "published" => a.published_at.unwrap_or(a.created_at),
            _ => a.created_at,
        };
        (t, a.ghsa_id.clone())
    };
    if !["created", "updated", "published"].contains(&cx.param("sort").unwrap_or("created")) {
        return Err(Reply::unprocessable(
            "RepositoryAdvisory",
            "sort",
            "invalid",
        ));
    }
    items.sort_by_key(key);
    match cx.param("direction").unwrap_or("desc") {
        "desc" => items.reverse(),
        "asc" => {}
        _ => {
            return Err(Reply::unprocessable(
                "RepositoryAdvisory",
                "direction",
                "invalid",
            ))
        }
    }
    let per_page = cx
        .param("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let pos = |cursor: &str| items.iter().position(|a| cursor_of(a) == cursor);
    let (start, end) = match (cx.param("after"), cx.param("before")) {
        (Some(c), _) => {
            let s = pos(c).map(|i| i + 1).ok_or_else(bad_cursor)?;
            (s, (s + per_page).min(items.len()))
        }
        (None, Some(c)) => {
            let e = pos(c).ok_or_else(bad_cursor)?;
            (e.saturating_sub(per_page), e)
        }
        (None, None) => (0, per_page.min(items.len())),
    };
    let page: Vec<&AdvisoryRec> = items.get(start..end).unwrap_or(&[]).iter().collect();
    let link = |rel: &str, key: &str, cursor: String| {
        let mut q: Vec<String> = cx
            .query
            .iter()
            .filter(|(k, _)| k != "after" && k != "before")
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        q.push(format!("{key}={}", percent_encode(&cursor)));
        format!(
            "<{}{}?{}>; rel=\"{rel}\"",
            cx.base,
            cx.path.trim_start_matches('/'),
            q.join("&")
        )
    };
    let mut links = Vec::new();
    if end < items.len() {
        if let Some(last) = page.last() {
            links.push(link("next", "after", cursor_of(last)));
        }
    }
    if start > 0 {
        if let Some(first) = page.first() {
            links.push(link("prev", "before", cursor_of(first)));
        }
    }
    let body = Value::Array(page.iter().map(|a| json(&cx.base, a)).collect());
    let mut reply = Reply::ok(body);
    if !links.is_empty() {
        reply = reply.with_header("link", links.join(", "));
    }
    Ok(reply)
}

/// An opaque-looking cursor naming one advisory.
fn cursor_of(a: &AdvisoryRec) -> String {
    format!("Y3Vyc29y{}", a.ghsa_id.replace('-', "_"))
}

fn bad_cursor() -> Reply {
    Reply::new(400, gj::error("Invalid cursor"))
}

impl GithubFake {
    /// Opens an advisory in `repo` (which must exist), as a reporter's
    /// private vulnerability report does (`state` `triage`, `accepted`
    /// false) or as maintainers do (`draft`, `published`, …). Returns its
    /// GHSA ID.
    pub fn add_advisory(&self, repo: &str, a: FakeAdvisory) -> String {
        let full = self.with_repo(repo, |r| r.full_name());
        let t = now();
        let ghsa = if a.ghsa_id.is_empty() {
            ghsa_id()
        } else {
            a.ghsa_id.clone()
        };
        let rec = AdvisoryRec {
            ghsa_id: ghsa.clone(),
            repo: full,
            accepted: (a.state == "triage").then_some(false),
            published_at: (a.state == "published").then_some(t),
            closed_at: (a.state == "closed").then_some(t),
            summary: a.summary,
            description: a.description,
            severity: a.severity,
            state: a.state,
            cve_id: a.cve_id,
            author: a.author,
            packages: a.packages,
            credits: a.credits,
            created_at: t,
            updated_at: t,
        };
        self.st().advisories.push(rec);
        ghsa
    }

    /// Moves advisory `ghsa_id` on, as its maintainers do: `draft`
    /// (accepting a private report), `closed`, `published`; `cve_id` when
    /// one was assigned. Its `updated_at` becomes now (at least a second
    /// after the last update, as GitHub's whole-second times would show).
    pub fn update_advisory(&self, ghsa_id: &str, state: &str, cve_id: Option<&str>) {
        let mut st = self.st();
        let a = st
            .advisories
            .iter_mut()
            .find(|a| a.ghsa_id == ghsa_id)
            .unwrap_or_else(|| panic!("GitHub fake: no advisory {ghsa_id}"));
        let t = now().max(a.updated_at + chrono::Duration::seconds(1));
        if a.state == "triage" && state == "draft" {
            a.accepted = Some(true);
        }
        a.state = state.to_string();
        if let Some(c) = cve_id {
            a.cve_id = Some(c.to_string());
        }
        match state {
            "published" => a.published_at = Some(t),
            "closed" => a.closed_at = Some(t),
            _ => {}
        }
        a.updated_at = t;
    }

    /// Every advisory, in the order they were opened.
    pub fn advisories(&self) -> Vec<FakeAdvisory> {
        self.st()
            .advisories
            .iter()
            .map(FakeAdvisory::from)
            .collect()
    }

    /// Makes `token` unable to read or create the advisories of `scope`
    /// (an organisation login or `owner/name`).
    pub fn deny_advisories(&self, token: &str, scope: &str) {
        self.st()
            .advisory_denied
            .push((token.to_string(), scope.to_string()));
    }
}

/// A fresh fake advisory to seed with [`GithubFake::add_advisory`].
pub fn triage_report(summary: &str, description: &str, author: &str) -> FakeAdvisory {
    FakeAdvisory {
        ghsa_id: String::new(),
        repo: String::new(),
        summary: summary.to_string(),
        description: description.to_string(),
        severity: Some("high".into()),
        state: "triage".into(),
        cve_id: None,
        author: author.to_string(),
        credits: vec![(author.to_string(), "reporter".into())],
        packages: Vec::new(),
    }
}
