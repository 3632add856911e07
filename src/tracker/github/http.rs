//! One REST call: through the privacy watch and the gate, sent by
//! octocrab (auth, headers, timeouts), answered as status + JSON, failures
//! sorted by [`rate`]. Response bodies are parsed, never logged.

use chrono::Utc;
use http::{HeaderMap, Method, StatusCode};
use octocrab::Octocrab;
use serde_json::Value;

use super::rate::{self, Gate};
use crate::support::effect::{Effect, EffectError};
use crate::tracker::privacy::{Verdict, Watch};

pub struct Api {
    pub client: Octocrab,
    pub gate: Gate,
    /// Whether the repository was last seen private; no request but the
    /// check itself goes out unless it was.
    pub privacy: Watch,
    /// `/repos/{owner}/{repo}`
    pub repo_path: String,
}

/// A 2xx answer.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Answer {
    /// Whether the `Link` header names a next page.
    pub fn has_next(&self) -> bool {
        self.headers
            .get_all(http::header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("rel=\"next\""))
    }
}

impl Api {
    /// Sends `method path` (path relative to the API root, with its query)
    /// once the repository is known to be private (see
    /// [`crate::tracker::privacy`]); after a 404 or 403 the repository is
    /// checked again at once, and the request's error becomes the hold when
    /// it is no longer private. `what` names the operation in errors. Any
    /// non-2xx is an error, except the statuses in `accept` (e.g. 404 when
    /// asking whether a file exists).
    pub async fn call(
        &self,
        what: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        accept: &[StatusCode],
    ) -> Effect<Answer> {
        self.ensure_private().await?;
        let answer = self.send(what, method, path, body, accept).await;
        if answer.is_err() && self.privacy.due(Utc::now()) {
            self.ensure_private().await?;
        }
        answer
    }

    /// Ok while the repository was last seen private; asks GitHub first
    /// when a check is due. Err: the hold, retried when the next check is.
    pub async fn ensure_private(&self) -> Effect<()> {
        if self.privacy.due(Utc::now()) {
            self.check_privacy().await;
        }
        match self.privacy.hold() {
            Some(hold) => Err(hold),
            None => Ok(()),
        }
    }

    /// Reads the repository's visibility and records the verdict.
    pub async fn check_privacy(&self) {
        let path = self.repo_path.clone();
        let answer = self
            .send(
                "reading the repository's visibility",
                Method::GET,
                &path,
                None,
                &[],
            )
            .await;
        let now = Utc::now();
        match answer {
            Ok(a) => self
                .privacy
                .record(Verdict::from_github(&a.json), now, None),
            Err(e) => {
                crate::ops::metrics::global().tracker_error(&e);
                let retry_at = e.retry_at();
                let reason = match e {
                    EffectError::Transient(r) | EffectError::Permanent(r) => r,
                    EffectError::RetryAt { reason, .. } => reason,
                };
                self.privacy
                    .record(Verdict::Unknown { reason }, now, retry_at);
            }
        }
    }

    /// [`Api::call`] without the privacy check (for the check itself and
    /// `secintake check`).
    pub async fn send(
        &self,
        what: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        accept: &[StatusCode],
    ) -> Effect<Answer> {
        self.gate.check(Utc::now())?;
        let sent = match method {
            Method::GET => self.client._get(path).await,
            Method::POST => self.client._post(path, body).await,
            Method::PUT => self.client._put(path, body).await,
            Method::PATCH => self.client._patch(path, body).await,
            _ => self.client._delete(path, body).await,
        };
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Err(self.octocrab_error(what, &e)),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let text = match self.client.body_to_string(response).await {
            Ok(t) => t,
            Err(e) => return Err(self.octocrab_error(what, &e)),
        };
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let now = Utc::now();
        if let Some(reset) = rate::exhausted_until(&headers) {
            // The budget is spent: this answer counts, the next must wait.
            self.gate.hold_until(
                format!("{what}: GitHub rate limit spent"),
                reset + chrono::TimeDelta::seconds(1),
            );
        }
        if status.is_success() || accept.contains(&status) {
            self.gate.success();
            return Ok(Answer {
                status,
                headers,
                json,
            });
        }
        let message = json.get("message").and_then(Value::as_str).unwrap_or("");
        let error = rate::classify(&self.gate, what, status, &headers, message, now);
        // Not a rate limit: the repository may be gone or out of reach.
        if matches!(status.as_u16(), 403 | 404) && error.is_permanent() {
            self.privacy.flag();
        }
        Err(error)
    }

    fn octocrab_error(&self, what: &str, e: &octocrab::Error) -> EffectError {
        let now = Utc::now();
        match e {
            // Only minting an App installation token reaches here with a status.
            octocrab::Error::GitHub { source, .. } => rate::classify(
                &self.gate,
                &format!("{what} (App installation token)"),
                source.status_code,
                &HeaderMap::new(),
                &source.message,
                now,
            ),
            other => rate::unreachable(&self.gate, what, &other.to_string(), now),
        }
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A string field of a JSON object.
pub fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// A number field of a JSON object.
pub fn u64_field(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

/// A 2xx answer that lacks a field we need: GitHub changed, not transient.
pub fn malformed(what: &str, field: &str) -> EffectError {
    EffectError::Permanent(format!("{what}: GitHub's answer lacks `{field}`"))
}
