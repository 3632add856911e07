//! The tracking repository must be private: reports are filed only while
//! the tracker last said so.
//!
//! A [`Watch`] holds the last verdict and when to look again: at start (no
//! verdict yet), every `[tracker.github] privacy_check_interval` while the
//! repository is private, sooner ([`HELD_RECHECK`] at most) while it is not,
//! and at once after GitHub answered a request with 404 or 403 (a
//! repository that was moved, deleted or made inaccessible). A repository
//! that is public (or `internal`: visible to a whole enterprise), or whose
//! visibility cannot be read (401/403/404, an outage, an answer without
//! `private`), holds filing: records wait in their state and are filed,
//! once each, when the repository is private again. Acknowledgements still
//! go out: they carry no report text and name only the tracking ID.
//!
//! A change of verdict is logged once (an `error` "ALERT" when filing
//! stops, `info` when it resumes); the daemon publishes the verdict to
//! `ops::metrics` (`secintake_tracker_private`, `/healthz`) after the check
//! and after each pass's work, from where `secintake status` shows it. The directory tracker is local files: always private.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::support::effect::EffectError;

/// The longest wait between checks while filing is held, so that filing
/// resumes soon after an operator made the repository private again.
pub const HELD_RECHECK: Duration = Duration::from_secs(60);

/// What the tracker said about the repository's visibility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Not looked at yet (the daemon just started or reloaded).
    Unchecked,
    Private,
    /// Readable by more than the team; `visibility` as GitHub names it
    /// (`public`, `internal`).
    Public {
        visibility: String,
    },
    /// The visibility could not be read; `reason` says why.
    Unknown {
        reason: String,
    },
}

impl Verdict {
    /// Reads GitHub's repository object (`GET /repos/{owner}/{repo}`).
    /// Private only when neither field says otherwise: `private: false` is
    /// public, and of the `visibility` values only `private` is private (an
    /// `internal` repository has `private: true` yet every member of the
    /// enterprise can read it).
    pub fn from_github(repo: &Value) -> Verdict {
        let private = repo.get("private").and_then(Value::as_bool);
        let visibility = repo.get("visibility").and_then(Value::as_str);
        let named = |v: &str| Verdict::Public {
            visibility: v.chars().take(40).collect(),
        };
        match (private, visibility) {
            (Some(false), v) => named(v.unwrap_or("public")),
            (Some(true) | None, Some("private")) | (Some(true), None) => Verdict::Private,
            (_, Some(v)) => named(v),
            (None, None) => Verdict::Unknown {
                reason: "GitHub's repository answer lacks `private` and `visibility`".into(),
            },
        }
    }

    fn same_kind(&self, other: &Verdict) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// The verdict as published for `status`, `/healthz` and metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// `owner/name`, or the directory tracker's path.
    pub repository: String,
    #[serde(flatten)]
    pub verdict: Verdict,
    /// When the verdict last changed.
    pub since: DateTime<Utc>,
    /// When the tracker was last asked.
    pub checked_at: Option<DateTime<Utc>>,
}

impl Standing {
    /// A tracker that is private by construction (local files).
    pub fn always_private(repository: String) -> Standing {
        Standing {
            repository,
            verdict: Verdict::Private,
            since: Utc::now(),
            checked_at: None,
        }
    }

    pub fn is_private(&self) -> bool {
        self.verdict == Verdict::Private
    }

    /// One line for operators: what the tracker said and what it means.
    pub fn describe(&self) -> String {
        let r = &self.repository;
        match &self.verdict {
            Verdict::Private => format!("tracking repository {r} is private"),
            Verdict::Unchecked => {
                format!("filing stopped: tracking repository {r} not yet checked to be private")
            }
            Verdict::Public { visibility } => format!(
                "filing stopped: tracking repository {r} is not private (visibility {visibility}); reports wait until it is private again"
            ),
            Verdict::Unknown { reason } => format!(
                "filing stopped: cannot confirm that tracking repository {r} is private ({reason}); reports wait"
            ),
        }
    }
}

struct State {
    standing: Standing,
    /// No check is due before this; `None`: due now.
    next_check: Option<DateTime<Utc>>,
}

/// The last verdict about one repository and when to check again.
pub struct Watch {
    interval: Duration,
    state: Mutex<State>,
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::hours(1))
}

impl Watch {
    /// `interval`: between checks while the repository is private.
    pub fn new(repository: String, interval: Duration) -> Watch {
        let standing = Standing {
            repository,
            verdict: Verdict::Unchecked,
            since: Utc::now(),
            checked_at: None,
        };
        Watch {
            interval,
            state: Mutex::new(State {
                standing,
                next_check: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the tracker should be asked now.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.lock().next_check.is_none_or(|t| t <= now)
    }

    /// When the next check is due (now, when one is due already).
    pub fn next_check(&self) -> DateTime<Utc> {
        self.lock().next_check.unwrap_or_else(Utc::now)
    }

    /// GitHub answered 404 or 403: the repository may have changed; look
    /// again before the next request.
    pub fn flag(&self) {
        self.lock().next_check = None;
    }

    pub fn standing(&self) -> Standing {
        self.lock().standing.clone()
    }

    /// Records what a check found. `retry_at`: when the tracker asked to be
    /// asked again (rate limit, outage backoff), if it did.
    pub fn record(&self, verdict: Verdict, now: DateTime<Utc>, retry_at: Option<DateTime<Utc>>) {
        let mut st = self.lock();
        let changed = !st.standing.verdict.same_kind(&verdict);
        let was = std::mem::replace(&mut st.standing.verdict, verdict);
        st.standing.checked_at = Some(now);
        if changed {
            st.standing.since = now;
        }
        st.next_check = Some(match &st.standing.verdict {
            Verdict::Private => now + delta(self.interval),
            _ => retry_at
                .unwrap_or(now + delta(self.interval.min(HELD_RECHECK)))
                .max(now + TimeDelta::seconds(1)),
        });
        let standing = st.standing.clone();
        drop(st);
        if changed {
            alert(&was, &standing);
        }
    }

    /// The error every tracker request gets while filing is held: retry
    /// when the next check is due.
    pub fn hold(&self) -> Option<EffectError> {
        let st = self.lock();
        if st.standing.is_private() {
            return None;
        }
        Some(EffectError::RetryAt {
            reason: st.standing.describe(),
            at: st.next_check.unwrap_or_else(Utc::now),
        })
    }
}

/// Logs a change of verdict once.
fn alert(was: &Verdict, now: &Standing) {
    let repository = now.repository.as_str();
    match &now.verdict {
        Verdict::Private if matches!(was, Verdict::Unchecked) => {
            tracing::info!(repository, "tracking repository verified private");
        }
        Verdict::Private => {
            tracing::info!(
                repository,
                "tracking repository is private again; filing resumes"
            );
        }
        Verdict::Unchecked => {}
        Verdict::Public { visibility } => {
            tracing::error!(
                repository,
                visibility = visibility.as_str(),
                "ALERT: the tracking repository is not private; filing stopped until it is"
            );
        }
        Verdict::Unknown { reason } => {
            tracing::error!(
                repository,
                reason = reason.as_str(),
                "ALERT: cannot confirm that the tracking repository is private; filing stopped until it is"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_private_visibility_is_private() {
        let v = |j: Value| Verdict::from_github(&j);
        assert_eq!(
            v(json!({"private": true, "visibility": "private"})),
            Verdict::Private
        );
        assert_eq!(v(json!({"private": true})), Verdict::Private);
        assert_eq!(
            v(json!({"private": false, "visibility": "public"})),
            Verdict::Public {
                visibility: "public".into()
            }
        );
        assert_eq!(
            v(json!({"private": false})),
            Verdict::Public {
                visibility: "public".into()
            }
        );
        assert_eq!(
            v(json!({"private": true, "visibility": "internal"})),
            Verdict::Public {
                visibility: "internal".into()
            }
        );
        assert!(matches!(
            v(json!({"message": "Not Found"})),
            Verdict::Unknown { .. }
        ));
    }

    #[test]
    fn filing_is_held_until_a_check_says_private() {
        let w = Watch::new("o/r".into(), Duration::from_secs(600));
        let t0 = Utc::now();
        assert!(w.due(t0));
        assert!(w.hold().is_some(), "unchecked holds filing");

        w.record(Verdict::Private, t0, None);
        assert!(w.hold().is_none());
        assert!(!w.due(t0 + TimeDelta::seconds(599)));
        assert!(w.due(t0 + TimeDelta::seconds(600)));

        // A 404 somewhere: look again at once.
        w.flag();
        assert!(w.due(t0));
        let t1 = t0 + TimeDelta::seconds(5);
        w.record(
            Verdict::Public {
                visibility: "public".into(),
            },
            t1,
            None,
        );
        let hold = w.hold().expect("public holds filing");
        assert_eq!(hold.retry_at(), Some(t1 + TimeDelta::seconds(60)));
        assert!(hold.to_string().contains("is not private"), "{hold}");
        assert_eq!(w.standing().since, t1);

        // Unknown after a rate limit: retry when GitHub said.
        let t2 = t1 + TimeDelta::seconds(60);
        let later = t2 + TimeDelta::seconds(300);
        w.record(
            Verdict::Unknown {
                reason: "GitHub answered 404".into(),
            },
            t2,
            Some(later),
        );
        assert_eq!(w.hold().and_then(|e| e.retry_at()), Some(later));
        assert!(!w.due(later - TimeDelta::seconds(1)));

        w.record(Verdict::Private, later, None);
        assert!(w.hold().is_none());
        assert_eq!(w.standing().since, later);
        assert_eq!(w.standing().checked_at, Some(later));
    }

    #[test]
    fn standing_reads_back_from_json() {
        let s = Standing {
            repository: "o/r".into(),
            verdict: Verdict::Unknown {
                reason: "401".into(),
            },
            since: Utc::now(),
            checked_at: None,
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains("\"verdict\":\"unknown\""), "{text}");
        assert_eq!(serde_json::from_str::<Standing>(&text).unwrap(), s);
        assert!(s.describe().contains("cannot confirm"));
    }
}
