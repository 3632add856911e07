//! Repository security advisories of one `[[advisories.source]]`, read and
//! drafted with that source's own credentials:
//!
//! * `GET /orgs/{org}/security-advisories` or
//!   `GET /repos/{owner}/{repo}/security-advisories`, newest update first
//!   (`sort=updated&direction=desc`), 100 a page, cursor paging (`after`
//!   from the `Link` header), read down to the source's high-water mark;
//! * `POST /repos/{owner}/{repo}/security-advisories` creates a draft.
//!
//! A source's repositories are usually public and their advisories are
//! not: requests go through [`Api::send`] (the gate and rate limits, no
//! privacy hold; the tracking repository's privacy guards only what is
//! written to the tracker). Answers are parsed, never logged.

use ::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::http::{query_escape, str_field, Api};
use super::{auth, rate};
use crate::config::{AdvisoryScope, AdvisorySourceSettings};
use crate::support::effect::{Effect, EffectError};
use crate::tracker::privacy::Watch;

/// An advisory as secintake uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisory {
    pub ghsa_id: String,
    /// `owner/name` of the repository it is about.
    pub repository: String,
    pub html_url: String,
    pub summary: String,
    pub description: String,
    /// `critical`, `high`, `medium`, `low`, or None.
    pub severity: Option<String>,
    /// `triage` (a private vulnerability report), `draft`, `published`,
    /// `closed`, `withdrawn`.
    pub state: String,
    pub cve_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `submission.accepted`: present for private vulnerability reports.
    pub accepted: Option<bool>,
    /// Who opened it (the reporter, for a private vulnerability report).
    pub author: Option<String>,
    /// `ecosystem name range`, one per affected package.
    pub packages: Vec<String>,
    /// `(login, type)` of every credit.
    pub credits: Vec<(String, String)>,
}

fn time(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(str_field(v, key)?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn login(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(|u| str_field(u, "login"))
        .map(str::to_string)
}

/// `owner/name` from `https://github.com/OWNER/NAME/security/advisories/GHSA-…`
/// (the listing names no repository field).
fn repository_of(html_url: &str) -> Option<String> {
    let path = html_url.split_once("://")?.1.split_once('/')?.1;
    let mut parts = path.split('/');
    let (owner, name) = (parts.next()?, parts.next()?);
    (parts.next() == Some("security") && !owner.is_empty() && !name.is_empty())
        .then(|| format!("{owner}/{name}"))
}

impl Advisory {
    /// None when a field secintake needs is missing.
    pub fn from_json(v: &Value) -> Option<Advisory> {
        let html_url = str_field(v, "html_url")?.to_string();
        let packages = v
            .get("vulnerabilities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|x| {
                let p = x.get("package")?;
                let eco = str_field(p, "ecosystem").unwrap_or("other");
                let name = str_field(p, "name")?;
                let range = str_field(x, "vulnerable_version_range").unwrap_or("");
                Some(format!("{eco} {name} {range}").trim_end().to_string())
            })
            .collect();
        let credits = v
            .get("credits_detailed")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| Some((login(c, "user")?, str_field(c, "type")?.to_string())))
            .collect();
        Some(Advisory {
            ghsa_id: str_field(v, "ghsa_id")?.to_string(),
            repository: repository_of(&html_url)?,
            html_url,
            summary: str_field(v, "summary").unwrap_or("").to_string(),
            description: str_field(v, "description").unwrap_or("").to_string(),
            severity: str_field(v, "severity").map(str::to_string),
            state: str_field(v, "state")?.to_string(),
            cve_id: str_field(v, "cve_id").map(str::to_string),
            created_at: time(v, "created_at")?,
            updated_at: time(v, "updated_at")?,
            accepted: v
                .get("submission")
                .and_then(|s| s.get("accepted"))
                .and_then(Value::as_bool),
            author: login(v, "author"),
            packages,
            credits,
        })
    }

    /// A private vulnerability report waiting for the maintainers.
    pub fn in_triage(&self) -> bool {
        self.state == "triage"
    }
}

/// One listing, newest update first.
#[derive(Debug, Default)]
pub struct Listing {
    pub advisories: Vec<Advisory>,
    /// Entries that lacked a field we need (skipped, counted).
    pub unreadable: usize,
    /// Read down to the high-water mark (or the end): nothing newer was
    /// left unread.
    pub complete: bool,
}

/// The `after` cursor of the `Link` header's next page.
fn next_cursor(headers: &::http::HeaderMap) -> Option<String> {
    headers
        .get_all(::http::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find(|l| l.contains("rel=\"next\""))
        .and_then(|l| {
            let url = l.split('<').nth(1)?.split('>').next()?;
            let query = url.split_once('?')?.1;
            query.split('&').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                (k == "after").then(|| v.to_string())
            })
        })
}

pub struct AdvisoryClient {
    api: Api,
    pub scope: AdvisoryScope,
}

impl AdvisoryClient {
    pub fn new(api_url: &str, source: &AdvisorySourceSettings) -> anyhow::Result<AdvisoryClient> {
        let label = source.scope.label();
        let client = auth::client_for(
            api_url,
            &source.auth,
            &format!("advisories.source ({label}) private_key_file"),
        )?;
        Ok(AdvisoryClient {
            api: Api {
                client,
                gate: rate::Gate::new(
                    std::time::Duration::from_secs(5),
                    std::time::Duration::from_secs(600),
                ),
                // Never consulted: advisory requests use `send`.
                privacy: Watch::new(label, std::time::Duration::from_secs(600)),
                repo_path: source.scope.list_path(),
            },
            scope: source.scope.clone(),
        })
    }

    /// Whether this source's credentials may act on `owner/name`.
    pub fn covers(&self, repository: &str) -> bool {
        match &self.scope {
            AdvisoryScope::Org(o) => repository
                .split_once('/')
                .is_some_and(|(owner, _)| owner.eq_ignore_ascii_case(o)),
            AdvisoryScope::Repo { owner, name } => {
                repository.eq_ignore_ascii_case(&format!("{owner}/{name}"))
            }
        }
    }

    /// Why requests wait now (rate limit, outage backoff), if they do.
    pub fn waiting(&self) -> Option<EffectError> {
        self.api.gate.check(Utc::now()).err()
    }

    /// The advisories updated at or after `since` (all when None), newest
    /// first, at most `max_pages` pages.
    pub async fn updated_since(
        &self,
        since: Option<DateTime<Utc>>,
        max_pages: u32,
    ) -> Effect<Listing> {
        let what = format!("listing the security advisories of {}", self.scope.label());
        let mut listing = Listing::default();
        let mut cursor: Option<String> = None;
        for _ in 0..max_pages {
            let mut path = format!(
                "{}?sort=updated&direction=desc&per_page=100",
                self.scope.list_path()
            );
            if let Some(c) = &cursor {
                path.push_str(&format!("&after={}", query_escape(c)));
            }
            let page = self.api.send(&what, Method::GET, &path, None, &[]).await?;
            for v in page.json.as_array().into_iter().flatten() {
                match Advisory::from_json(v) {
                    Some(a) => {
                        if since.is_some_and(|s| a.updated_at < s) {
                            listing.complete = true;
                            return Ok(listing);
                        }
                        listing.advisories.push(a);
                    }
                    None => listing.unreadable += 1,
                }
            }
            cursor = next_cursor(&page.headers);
            if cursor.is_none() {
                listing.complete = true;
                return Ok(listing);
            }
        }
        Ok(listing)
    }

    /// `secintake check`: the credentials can read this source's advisories.
    pub async fn check(&self) -> Effect<String> {
        let what = format!("reading the security advisories of {}", self.scope.label());
        let path = format!("{}?per_page=1", self.scope.list_path());
        match self.api.send(&what, Method::GET, &path, None, &[]).await {
            Ok(_) => Ok(format!(
                "advisories source {} readable",
                self.scope.label()
            )),
            Err(EffectError::Permanent(reason)) => Err(EffectError::Permanent(format!(
                "advisories source {}: the credentials cannot read its security advisories (they need \"Repository security advisories\" read access; an organisation's listing needs a security manager or owner): {reason}",
                self.scope.label()
            ))),
            Err(e) => Err(e),
        }
    }

    /// Creates a draft advisory in `owner/name` (`body`: summary,
    /// description, vulnerabilities, credits).
    pub async fn create_draft(&self, repository: &str, body: &Value) -> Effect<Advisory> {
        let what = format!("creating a draft security advisory in {repository}");
        let path = format!("/repos/{repository}/security-advisories");
        let answer = self
            .api
            .send(&what, Method::POST, &path, Some(body), &[])
            .await?;
        Advisory::from_json(&answer.json)
            .ok_or_else(|| super::http::malformed(&what, "ghsa_id/html_url/state"))
    }

    /// The drafts of `owner/name` (newest first, at most 5 pages): after a
    /// crash, where a draft we may have created is looked for.
    pub async fn drafts(&self, repository: &str) -> Effect<Vec<Advisory>> {
        let what = format!("listing the draft security advisories of {repository}");
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..5 {
            let mut path = format!(
                "/repos/{repository}/security-advisories?state=draft&sort=created&direction=desc&per_page=100"
            );
            if let Some(c) = &cursor {
                path.push_str(&format!("&after={}", query_escape(c)));
            }
            let page = self
                .api
                .send(&what, Method::GET, &path, None, &[StatusCode::NOT_FOUND])
                .await?;
            out.extend(
                page.json
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Advisory::from_json),
            );
            cursor = next_cursor(&page.headers);
            if cursor.is_none() {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_and_cursor_come_from_urls() {
        assert_eq!(
            repository_of(
                "https://github.com/jupyterlab/jupyterlab/security/advisories/GHSA-abcd-efgh-ijkl"
            ),
            Some("jupyterlab/jupyterlab".into())
        );
        assert_eq!(repository_of("https://github.com/x"), None);
        let mut h = ::http::HeaderMap::new();
        h.insert(
            ::http::header::LINK,
            "<https://api.github.com/orgs/o/security-advisories?per_page=100&after=Y3Vyc29y>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_cursor(&h), Some("Y3Vyc29y".into()));
        assert_eq!(next_cursor(&::http::HeaderMap::new()), None);
    }
}
