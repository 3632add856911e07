//! `[advisories]` and `[[advisories.source]]`: GitHub Security Advisories
//! taken in as reports (see [`crate::pipeline::advisories`]).
//!
//! ```toml
//! [advisories]
//! poll_interval = "5m"        # how often every source is listed
//! api_url = "https://api.github.com/"   # default: [tracker.github] api_url
//!
//! [[advisories.source]]
//! org = "jupyterlab"           # GET /orgs/jupyterlab/security-advisories
//! token_file = "ghsa-jupyterlab-token"
//!
//! [[advisories.source]]
//! repo = "jupyter/notebook"    # GET /repos/jupyter/notebook/security-advisories
//! app_id = 12345               # or a GitHub App installation
//! installation_id = 678
//! private_key_file = "app.pem"
//! ```

use std::time::Duration;

use super::reader::{Problems, Section};
use super::tracker::read_auth;
use super::{GithubAuth, Resolver};

/// What one source lists: an organisation's or one repository's
/// advisories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Org(String),
    Repo { owner: String, name: String },
}

impl Scope {
    /// `org jupyterlab` or `repo jupyter/notebook`: how logs, `check` and
    /// the store name the source.
    pub fn label(&self) -> String {
        match self {
            Scope::Org(o) => format!("org {o}"),
            Scope::Repo { owner, name } => format!("repo {owner}/{name}"),
        }
    }

    /// The listing's path (without query).
    pub fn list_path(&self) -> String {
        match self {
            Scope::Org(o) => format!("/orgs/{o}/security-advisories"),
            Scope::Repo { owner, name } => format!("/repos/{owner}/{name}/security-advisories"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AdvisorySourceSettings {
    pub scope: Scope,
    pub auth: GithubAuth,
}

#[derive(Debug, Clone)]
pub struct AdvisorySettings {
    /// Empty: no advisories are taken in.
    pub sources: Vec<AdvisorySourceSettings>,
    pub poll_interval: Duration,
    /// Where the sources' API is; None: the tracker's (`[tracker.github]
    /// api_url`), else GitHub's.
    pub api_url: Option<String>,
    /// Pages of 100 read at most per source and pass.
    pub max_pages: u32,
}

impl Default for AdvisorySettings {
    fn default() -> Self {
        AdvisorySettings {
            sources: Vec::new(),
            poll_interval: Duration::from_secs(300),
            api_url: None,
            max_pages: 20,
        }
    }
}

/// An owner or repository name as GitHub allows it.
fn github_name(x: &str) -> bool {
    (1..=100).contains(&x.len())
        && x.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

impl AdvisorySettings {
    pub(super) fn read(mut s: Section, r: &Resolver, p: &mut Problems) -> AdvisorySettings {
        let d = AdvisorySettings::default();
        let poll_interval = s.duration_or("poll_interval", d.poll_interval, p);
        if !(Duration::from_secs(1)..=Duration::from_secs(86_400)).contains(&poll_interval) {
            p.add(s.key("poll_interval"), "must be from 1s to 1d");
        }
        let api_url = s.opt_string("api_url", p);
        if let Some(u) = &api_url {
            if !(u.starts_with("https://")
                || u.starts_with("http://127.")
                || u.starts_with("http://localhost"))
            {
                p.add(
                    s.key("api_url"),
                    "must be an https:// URL (http:// only for loopback)",
                );
            }
        }
        let max_pages = s.number_or("max_pages", 1..=100, d.max_pages, p);
        let mut sources = Vec::new();
        for mut t in s.tables("source", p) {
            let org = t.opt_string("org", p);
            let repo = t.opt_string("repo", p);
            let scope = match (org, repo) {
                (Some(o), None) if github_name(&o) => Some(Scope::Org(o)),
                (Some(_), None) => {
                    p.add(t.key("org"), "must be an organisation's login");
                    None
                }
                (None, Some(full)) => match full.split_once('/') {
                    Some((o, n)) if github_name(o) && github_name(n) => Some(Scope::Repo {
                        owner: o.to_string(),
                        name: n.to_string(),
                    }),
                    _ => {
                        p.add(t.key("repo"), "must be \"owner/name\"");
                        None
                    }
                },
                (Some(_), Some(_)) => {
                    p.add(t.key("org"), "give either org or repo, not both");
                    None
                }
                (None, None) => {
                    p.add(t.key("org"), "org or repo is required");
                    None
                }
            };
            let auth = read_auth(&mut t, r, p);
            t.finish(p);
            if let (Some(scope), Some(auth)) = (scope, auth) {
                if sources
                    .iter()
                    .any(|x: &AdvisorySourceSettings| x.scope == scope)
                {
                    p.add(
                        s.key("source"),
                        format!("{} is listed twice", scope.label()),
                    );
                } else {
                    sources.push(AdvisorySourceSettings { scope, auth });
                }
            }
        }
        s.finish(p);
        AdvisorySettings {
            sources,
            poll_interval,
            api_url,
            max_pages,
        }
    }
}
