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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::Scope;
    use crate::config::Settings;

    const DEMO: &str = include_str!("../../config/demo.toml");

    fn parse(extra: &str) -> (tempfile::TempDir, Result<Settings, Vec<String>>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("lab-token"), "ghp_lab\n").unwrap();
        let path = dir.path().join("secintake.toml");
        let key = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/DEMO-ONLY-security.sec.asc");
        let demo = DEMO.replace(
            "../keys/DEMO-ONLY-security.sec.asc",
            &key.display().to_string(),
        );
        let r = Settings::parse(&format!("{demo}\n{extra}"), Path::new(&path))
            .map_err(|e| e.problems.iter().map(|p| p.to_string()).collect());
        (dir, r)
    }

    #[test]
    fn sources_are_organisations_or_repositories_with_their_own_credentials() {
        let (_d, s) = parse(
            "[advisories]\npoll_interval = \"2m\"\n\n[[advisories.source]]\norg = \"jupyterlab\"\ntoken_file = \"lab-token\"\n\n[[advisories.source]]\nrepo = \"jupyter/notebook\"\ntoken_file = \"lab-token\"\n",
        );
        let s = s.expect("valid");
        let scopes: Vec<Scope> = s
            .advisories
            .sources
            .iter()
            .map(|x| x.scope.clone())
            .collect();
        assert_eq!(
            scopes,
            [
                Scope::Org("jupyterlab".into()),
                Scope::Repo {
                    owner: "jupyter".into(),
                    name: "notebook".into()
                }
            ]
        );
        assert_eq!(s.advisories.poll_interval.as_secs(), 120);
        // The demo tracks in a directory: the sources ask GitHub itself.
        assert_eq!(s.advisories_api_url(), "https://api.github.com/");
        assert_eq!(
            scopes[1].list_path(),
            "/repos/jupyter/notebook/security-advisories"
        );
    }

    #[test]
    fn every_problem_of_every_source_is_named() {
        let (_d, s) = parse(
            "[[advisories.source]]\norg = \"a\"\nrepo = \"b/c\"\ntoken_file = \"lab-token\"\n\n[[advisories.source]]\nrepo = \"nope\"\n\n[[advisories.source]]\norg = \"x\"\ntoken_file = \"missing-token\"\ncolour = 1\n\n[[advisories.source]]\norg = \"dup\"\ntoken_file = \"lab-token\"\n\n[[advisories.source]]\norg = \"dup\"\ntoken_file = \"lab-token\"\n",
        );
        let p = s.expect_err("invalid");
        for want in [
            "advisories.source[0].org: give either org or repo, not both",
            "advisories.source[1].repo: must be \"owner/name\"",
            "advisories.source[1].token_file: is required",
            "advisories.source[2].token_file: cannot read file",
            "advisories.source[2].colour: is not a known setting",
            "advisories.source: org dup is listed twice",
        ] {
            assert!(p.iter().any(|x| x.starts_with(want)), "{want} not in {p:?}");
        }
        assert!(
            !p.iter().any(|x| x.contains("ghp_lab")),
            "a value leaked: {p:?}"
        );
    }
}
