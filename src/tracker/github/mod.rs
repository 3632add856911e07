//! The GitHub tracker: issues and comments in the private tracking
//! repository, attachments stored in it through the contents API, labels
//! created when missing; token or GitHub App authentication.
//!
//! Requests go out through octocrab (auth, App token refresh, headers) with
//! its retry switched off: a retried POST whose first answer was lost would
//! file twice. Retries belong to the supervisor, after [`GithubTracker::find`]
//! has looked for the marker; [`rate::Gate`] tells it when (Retry-After,
//! rate-limit reset, outage backoff). No request goes out unless the
//! repository was last seen private ([`crate::tracker::privacy`]).

mod activity;
pub mod advisories;
mod auth;
mod comments;
mod contents;
mod http;
mod issue_state;
mod issues;
mod labels;
mod pages;
pub mod rate;

use std::collections::HashSet;
use std::sync::Mutex;

use ::http::{Method, StatusCode};
use serde_json::Value;

use crate::config::GithubSettings;
use crate::support::effect::{Effect, EffectError};
use crate::tracker::privacy::{Verdict, Watch};

pub use auth::API_VERSION;
use http::Api;

pub struct GithubTracker {
    api: Api,
    owner: String,
    repo: String,
    /// Configured labels, put on every issue.
    labels: Vec<String>,
    /// Labels known to exist in the repository (filled on first use).
    known_labels: Mutex<Option<HashSet<String>>>,
    attachment_max_bytes: u64,
}

impl GithubTracker {
    pub fn new(settings: &GithubSettings) -> anyhow::Result<GithubTracker> {
        Ok(GithubTracker {
            api: Api {
                client: auth::client(settings)?,
                gate: rate::Gate::new(settings.retry_base, settings.retry_max),
                privacy: Watch::new(
                    format!("{}/{}", settings.owner, settings.repo),
                    settings.privacy_check_interval,
                ),
                repo_path: format!("/repos/{}/{}", settings.owner, settings.repo),
            },
            owner: settings.owner.clone(),
            repo: settings.repo.clone(),
            labels: settings.labels.clone(),
            known_labels: Mutex::new(None),
            attachment_max_bytes: settings.attachment_max_bytes,
        })
    }

    fn repo_path(&self) -> String {
        self.api.repo_path.clone()
    }

    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    /// `secintake check`: the repository is reachable, private and writable.
    pub async fn check(&self) -> Effect<String> {
        let what = format!("reading repository {}", self.full_name());
        let repo = self
            .api
            .send(&what, Method::GET, &self.repo_path(), None, &[])
            .await?;
        match Verdict::from_github(&repo.json) {
            Verdict::Private | Verdict::Unchecked => {}
            Verdict::Public { visibility } => {
                return Err(EffectError::Permanent(format!(
                    "repository {} is not private (visibility {visibility}): reports must go to a private repository",
                    self.full_name()
                )))
            }
            Verdict::Unknown { reason } => {
                return Err(EffectError::Permanent(format!(
                    "repository {}: {reason}",
                    self.full_name()
                )))
            }
        }
        // Present for tokens (absent for some App installations).
        if let Some(perms) = repo.json.get("permissions") {
            if perms.get("push").and_then(Value::as_bool) == Some(false) {
                return Err(EffectError::Permanent(format!(
                    "the credentials cannot write to {} (issues and contents need write access)",
                    self.full_name()
                )));
            }
        }
        Ok(format!("GitHub repository {} reachable", self.full_name()))
    }

    /// Whether the gate lets requests through now (for status and tests).
    pub fn accepting(&self) -> bool {
        self.api.gate.check(chrono::Utc::now()).is_ok()
    }

    /// Checks the repository's visibility when a check is due.
    pub async fn verify_private(&self) {
        if self.api.privacy.due(chrono::Utc::now()) {
            self.api.check_privacy().await;
        }
    }

    /// When the repository's visibility is to be checked next.
    pub fn next_privacy_check(&self) -> chrono::DateTime<chrono::Utc> {
        self.api.privacy.next_check()
    }

    /// The last privacy verdict.
    pub fn privacy(&self) -> crate::tracker::privacy::Standing {
        self.api.privacy.standing()
    }

    /// Why filing waits, while the repository is not known to be private.
    pub fn held(&self) -> Option<EffectError> {
        self.api.privacy.hold()
    }
}

/// Statuses that mean "not there" rather than failure, for existence checks.
const NOT_FOUND: &[StatusCode] = &[StatusCode::NOT_FOUND];
