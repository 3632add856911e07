//! The octocrab client: base URL, headers GitHub asks for, timeouts, and
//! token or GitHub App authentication.
//!
//! With an App, octocrab mints an installation token on first use, caches
//! it until it expires, and on a 401 drops it and mints a new one once, so a
//! revoked or expired installation token is replaced without a restart.

use std::time::Duration;

use http::header::ACCEPT;
use octocrab::models::{AppId, InstallationId};
use octocrab::service::middleware::retry::RetryConfig;
use octocrab::Octocrab;

use crate::config::{GithubAuth, GithubSettings};

/// The REST API version this client is written against (octocrab's).
pub const API_VERSION: &str = "2022-11-28";

pub fn client(settings: &GithubSettings) -> anyhow::Result<Octocrab> {
    client_for(
        &settings.api_url,
        &settings.auth,
        "tracker.github.private_key_file",
    )
}

/// A client for `api_url` with `auth`; `key_setting` names the private
/// key's setting in errors.
pub fn client_for(api_url: &str, auth: &GithubAuth, key_setting: &str) -> anyhow::Result<Octocrab> {
    let builder = Octocrab::builder()
        .base_uri(api_url)?
        // Never retry inside octocrab: a retried POST whose first answer was
        // lost files twice. The supervisor retries after `find`.
        .add_retry_config(RetryConfig::None)
        .set_connect_timeout(Some(Duration::from_secs(10)))
        .set_read_timeout(Some(Duration::from_secs(30)))
        // octocrab 0.54 sends `X-GitHub-Api-Version: 2022-11-28` itself
        // (API_VERSION; adding it again would send it twice) but no Accept.
        .add_header(ACCEPT, "application/vnd.github+json".to_string());
    Ok(match auth {
        GithubAuth::Token(token) => builder
            .personal_token(token.expose().trim().to_string())
            .build()?,
        GithubAuth::App {
            app_id,
            installation_id,
            private_key,
        } => {
            let key = octocrab::EncodingKey::from_rsa_pem(private_key.expose().as_bytes())
                .map_err(|_| {
                    anyhow::anyhow!("{key_setting} is not an RSA private key in PEM form")
                })?;
            builder
                .app(AppId(*app_id), key)
                .build()?
                .installation(InstallationId(*installation_id))?
        }
    })
}
