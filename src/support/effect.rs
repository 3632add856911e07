//! The outcome of a side effect (filing, sending, archiving): the supervisor
//! retries transient failures with backoff and surfaces permanent ones.
//! Messages here are shown to operators: they name what failed and why,
//! never report text or secrets.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EffectError {
    /// Worth retrying later: connection refused, 5xx, rate limits, 4xx SMTP.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Worth retrying, and the other side said when: `Retry-After`,
    /// `X-RateLimit-Reset`, or a shared backoff every caller of a service
    /// waits for. The supervisor waits until `at` instead of its own backoff,
    /// so every record held back by one outage resumes at the same moment (in
    /// order) instead of on a private schedule.
    #[error("temporary failure: {reason} (retry at {})", at.format("%H:%M:%S UTC"))]
    RetryAt { reason: String, at: DateTime<Utc> },
    /// Will not succeed without operator action: bad credentials, missing repository.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl EffectError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, EffectError::Permanent(_))
    }

    /// When the other side asked us to try again, if it did.
    pub fn retry_at(&self) -> Option<DateTime<Utc>> {
        match self {
            EffectError::RetryAt { at, .. } => Some(*at),
            _ => None,
        }
    }
}

pub type Effect<T> = Result<T, EffectError>;
