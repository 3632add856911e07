//! The outcome of a side effect (filing, sending, archiving): the supervisor
//! retries transient failures with backoff and surfaces permanent ones.
//! Messages here are shown to operators: they name what failed and why,
//! never report text or secrets.

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EffectError {
    /// Worth retrying later: connection refused, 5xx, rate limits, 4xx SMTP.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Will not succeed without operator action: bad credentials, missing repository.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl EffectError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, EffectError::Permanent(_))
    }
}

pub type Effect<T> = Result<T, EffectError>;
