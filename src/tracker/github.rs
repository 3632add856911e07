//! The GitHub tracker (octocrab): issues and comments in the private tracking
//! repository, with token or GitHub App authentication.
//!
//! octocrab's own retry is switched off: a retried POST whose first response
//! was lost would file twice. Retries happen in the supervisor, after
//! [`GithubTracker::find`] has looked for the marker.

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::header::{HeaderName, ACCEPT};
use octocrab::models::{AppId, InstallationId};
use octocrab::params;
use octocrab::service::middleware::retry::RetryConfig;
use octocrab::Octocrab;

use crate::config::{GithubAuth, GithubSettings};
use crate::effect::{Effect, EffectError};
use crate::record::Filing;

use super::{has_marker, CommentDraft, IssueDraft};

pub struct GithubTracker {
    client: Octocrab,
    owner: String,
    repo: String,
    labels: Vec<String>,
}

/// Sorts octocrab errors into retry-later and give-up, without echoing bodies.
pub fn classify_error(e: &octocrab::Error) -> EffectError {
    match e {
        octocrab::Error::GitHub { source, .. } => {
            let status = source.status_code.as_u16();
            let secondary = source.message.to_ascii_lowercase().contains("rate limit");
            let what = format!("GitHub answered {status}: {}", first_line(&source.message));
            if status >= 500 || status == 429 || (status == 403 && secondary) {
                EffectError::Transient(what)
            } else {
                EffectError::Permanent(what)
            }
        }
        other => EffectError::Transient(format!(
            "GitHub unreachable: {}",
            first_line(&other.to_string())
        )),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

impl GithubTracker {
    pub fn new(settings: &GithubSettings) -> anyhow::Result<GithubTracker> {
        let builder = Octocrab::builder()
            .base_uri(settings.api_url.as_str())?
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)))
            .add_header(ACCEPT, "application/vnd.github+json".to_string())
            .add_header(
                HeaderName::from_static("x-github-api-version"),
                "2022-11-28".to_string(),
            );
        let client = match &settings.auth {
            GithubAuth::Token(token) => builder.personal_token(token.expose().clone()).build()?,
            GithubAuth::App {
                app_id,
                installation_id,
                private_key,
            } => {
                let key = octocrab::EncodingKey::from_rsa_pem(private_key.expose().as_bytes())
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "tracker.github.private_key_file is not an RSA private key in PEM form"
                        )
                    })?;
                builder
                    .app(AppId(*app_id), key)
                    .build()?
                    .installation(InstallationId(*installation_id))?
            }
        };
        Ok(GithubTracker {
            client,
            owner: settings.owner.clone(),
            repo: settings.repo.clone(),
            labels: settings.labels.clone(),
        })
    }

    pub async fn find(
        &self,
        tracking_id: &str,
        issue: Option<u64>,
        since: DateTime<Utc>,
    ) -> Effect<Option<Filing>> {
        let issues = self.client.issues(&self.owner, &self.repo);
        if let Some(number) = issue {
            let mut page = 1u32;
            loop {
                let comments = issues
                    .list_comments(number)
                    .since(since)
                    .per_page(100)
                    .page(page)
                    .send()
                    .await
                    .map_err(|e| classify_error(&e))?;
                for c in &comments.items {
                    if c.body
                        .as_deref()
                        .is_some_and(|b| has_marker(b, tracking_id))
                    {
                        return Ok(Some(Filing {
                            issue: number,
                            comment_id: Some(c.id.0),
                            url: c.html_url.to_string(),
                        }));
                    }
                }
                if comments.next.is_none() || page >= 50 {
                    return Ok(None);
                }
                page += 1;
            }
        }
        // Listing is strongly consistent, unlike search, which lags behind creation.
        let mut page = 1u32;
        loop {
            let list = issues
                .list()
                .state(params::State::All)
                .since(since)
                .per_page(100)
                .page(page)
                .send()
                .await
                .map_err(|e| classify_error(&e))?;
            for i in &list.items {
                if i.body
                    .as_deref()
                    .is_some_and(|b| has_marker(b, tracking_id))
                {
                    return Ok(Some(Filing {
                        issue: i.number,
                        comment_id: None,
                        url: i.html_url.to_string(),
                    }));
                }
            }
            if list.next.is_none() || page >= 50 {
                return Ok(None);
            }
            page += 1;
        }
    }

    pub async fn create_issue(&self, draft: &IssueDraft) -> Effect<Filing> {
        let mut labels = self.labels.clone();
        labels.extend(draft.labels.iter().cloned());
        labels.dedup();
        let issue = self
            .client
            .issues(&self.owner, &self.repo)
            .create(&draft.title)
            .body(&draft.body)
            .labels(labels)
            .send()
            .await
            .map_err(|e| classify_error(&e))?;
        Ok(Filing {
            issue: issue.number,
            comment_id: None,
            url: issue.html_url.to_string(),
        })
    }

    pub async fn comment(&self, draft: &CommentDraft) -> Effect<Filing> {
        let c = self
            .client
            .issues(&self.owner, &self.repo)
            .create_comment(draft.issue, &draft.body)
            .await
            .map_err(|e| classify_error(&e))?;
        Ok(Filing {
            issue: draft.issue,
            comment_id: Some(c.id.0),
            url: c.html_url.to_string(),
        })
    }

    pub async fn check(&self) -> Effect<String> {
        let repo = self
            .client
            .repos(&self.owner, &self.repo)
            .get()
            .await
            .map_err(|e| classify_error(&e))?;
        if repo.private == Some(false) {
            return Err(EffectError::Permanent(format!(
                "repository {}/{} is public: reports must go to a private repository",
                self.owner, self.repo
            )));
        }
        Ok(format!(
            "GitHub repository {}/{} reachable",
            self.owner, self.repo
        ))
    }
}
