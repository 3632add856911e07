//! Waiting for GitHub: one gate shared by every request this tracker makes.
//!
//! GitHub's rules (REST docs, "Rate limits for the REST API"): when
//! `X-RateLimit-Remaining` is 0, wait until `X-RateLimit-Reset`; on a
//! secondary limit (403/429) wait `Retry-After` seconds, or at least a minute
//! without it; back off exponentially on 5xx and lost connections. The gate
//! holds the time before which no request is sent, so during an outage only
//! one request per backoff step reaches GitHub, and every record that was
//! held back gets the same retry time ([`EffectError::RetryAt`]) and resumes
//! in order.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use http::{HeaderMap, StatusCode};

use crate::support::effect::EffectError;

pub struct Gate {
    state: Mutex<GateState>,
    base: Duration,
    max: Duration,
}

#[derive(Default)]
struct GateState {
    until: Option<DateTime<Utc>>,
    reason: String,
    failures: u32,
}

impl Gate {
    pub fn new(base: Duration, max: Duration) -> Gate {
        Gate {
            state: Mutex::new(GateState::default()),
            base,
            max,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Err while GitHub asked us (or an outage tells us) to wait.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), EffectError> {
        let st = self.lock();
        match st.until {
            Some(at) if at > now => Err(EffectError::RetryAt {
                reason: st.reason.clone(),
                at,
            }),
            _ => Ok(()),
        }
    }

    /// A request went through: forget the outage backoff.
    pub fn success(&self) {
        let mut st = self.lock();
        st.failures = 0;
    }

    /// Waits until `at` (never shortens a wait already set).
    pub fn hold_until(&self, reason: String, at: DateTime<Utc>) -> EffectError {
        let mut st = self.lock();
        let at = st.until.map_or(at, |u| u.max(at));
        st.until = Some(at);
        st.reason = reason.clone();
        EffectError::RetryAt { reason, at }
    }

    /// An outage: wait `base · 2^(failures-1)`, capped at `max`.
    pub fn backoff(&self, reason: String, now: DateTime<Utc>) -> EffectError {
        let failures = {
            let mut st = self.lock();
            st.failures = st.failures.saturating_add(1);
            st.failures
        };
        let wait = self
            .base
            .saturating_mul(1u32 << failures.saturating_sub(1).min(20))
            .min(self.max);
        self.hold_until(reason, now + delta(wait))
    }
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::hours(1))
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `X-RateLimit-Reset` when the primary budget of the `core` resource is spent.
pub fn exhausted_until(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    let resource = headers
        .get("x-ratelimit-resource")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("core");
    if resource != "core" || header_u64(headers, "x-ratelimit-remaining")? != 0 {
        return None;
    }
    let reset = i64::try_from(header_u64(headers, "x-ratelimit-reset")?).ok()?;
    DateTime::from_timestamp(reset, 0)
}

/// What a non-2xx answer means. `message` is GitHub's `message` field
/// (GitHub's text, never ours or the reporter's).
pub fn classify(
    gate: &Gate,
    what: &str,
    status: StatusCode,
    headers: &HeaderMap,
    message: &str,
    now: DateTime<Utc>,
) -> EffectError {
    let code = status.as_u16();
    let said = format!("{what}: GitHub answered {code} {}", one_line(message));
    let limited = message.to_ascii_lowercase().contains("rate limit");
    if code == 403 || code == 429 {
        if let Some(secs) = header_u64(headers, "retry-after") {
            let secs = secs.min(3600);
            return gate.hold_until(said, now + TimeDelta::seconds(secs as i64));
        }
        let resource = headers
            .get("x-ratelimit-resource")
            .and_then(|v| v.to_str().ok());
        if resource == Some("search") {
            // Search has its own small budget; the caller falls back to listing.
            return EffectError::Transient(said);
        }
        if let Some(reset) = exhausted_until(headers) {
            // A second of slack: GitHub's reset is a whole second.
            return gate.hold_until(said, reset.max(now) + TimeDelta::seconds(1));
        }
        if limited || code == 429 {
            return gate.hold_until(said, now + TimeDelta::seconds(60));
        }
    }
    match code {
        401 => EffectError::Permanent(format!(
            "{said}: GitHub rejected the credentials (check tracker.github.token_file, or the App's app_id, installation_id and private_key_file)"
        )),
        403 => EffectError::Permanent(format!(
            "{said}: the credentials lack permission (issues and contents: write)"
        )),
        404 => EffectError::Permanent(format!(
            "{said}: the repository does not exist or the credentials cannot see it"
        )),
        408 | 500..=599 => gate.backoff(said, now),
        _ => EffectError::Permanent(said),
    }
}

/// A connection that failed before GitHub answered.
pub fn unreachable(gate: &Gate, what: &str, err: &str, now: DateTime<Utc>) -> EffectError {
    gate.backoff(
        format!("{what}: GitHub unreachable: {}", one_line(err)),
        now,
    )
}

pub fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn retry_after_and_reset_are_honoured() {
        let gate = Gate::new(Duration::from_secs(5), Duration::from_secs(600));
        let now = Utc::now();
        let e = classify(
            &gate,
            "x",
            StatusCode::FORBIDDEN,
            &headers(&[("retry-after", "7")]),
            "You have exceeded a secondary rate limit",
            now,
        );
        assert_eq!(e.retry_at(), Some(now + TimeDelta::seconds(7)));
        assert!(gate.check(now + TimeDelta::seconds(6)).is_err());
        assert!(gate.check(now + TimeDelta::seconds(8)).is_ok());

        let reset = now.timestamp() + 100;
        let e = classify(
            &gate,
            "x",
            StatusCode::FORBIDDEN,
            &headers(&[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", &reset.to_string()),
            ]),
            "API rate limit exceeded",
            now,
        );
        assert_eq!(e.retry_at().map(|t| t.timestamp()), Some(reset + 1));
    }

    #[test]
    fn outages_back_off_and_auth_errors_are_permanent() {
        let gate = Gate::new(Duration::from_secs(5), Duration::from_secs(12));
        let now = Utc::now();
        let h = HeaderMap::new();
        let waits: Vec<i64> = (0..4)
            .map(|_| {
                let e = classify(&gate, "x", StatusCode::BAD_GATEWAY, &h, "", now);
                (e.retry_at().unwrap() - now).num_seconds()
            })
            .collect();
        assert_eq!(waits, vec![5, 10, 12, 12]);
        let e = classify(
            &gate,
            "x",
            StatusCode::UNAUTHORIZED,
            &h,
            "Bad credentials",
            now,
        );
        assert!(e.is_permanent());
        let e = classify(
            &gate,
            "x",
            StatusCode::FORBIDDEN,
            &h,
            "Resource not accessible",
            now,
        );
        assert!(e.is_permanent());
    }
}
