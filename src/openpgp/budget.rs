//! What opening one mail may cost in private-key operations and time.
//!
//! Every session-key packet (PKESK) addressed to one of our keys costs a
//! private-key operation (≈10 ms for RSA-4096), and anyone can write
//! thousands of them in front of the real one. So, per mail (all its
//! encrypted parts together):
//!
//! * each of our keys gets at most `max_key_attempts` failed tries
//!   ([`DEFAULT_KEY_ATTEMPTS`]) on packets addressed to it;
//! * at most `max_wildcard_attempts` ([`DEFAULT_WILDCARD_ATTEMPTS`])
//!   anonymous-recipient (wildcard) packets are tried, each against every
//!   key.
//!
//! A successful try costs nothing against the caps, so a mail with many
//! encrypted attachments still opens. Beyond the caps the payload is
//! undecryptable with a reason that says so, and the report is filed as
//! unreadable. The whole opening also has a wall-clock deadline
//! (`[limits] open_budget`), checked before every private-key operation
//! and every encrypted part: past it, nothing more is tried.

use std::time::{Duration, Instant};

use openpgp::Fingerprint;
use sequoia_openpgp as openpgp;

/// Failed session-key tries per key per mail.
pub const DEFAULT_KEY_ATTEMPTS: u32 = 3;
/// Wildcard session-key packets tried per mail (each against every key).
pub const DEFAULT_WILDCARD_ATTEMPTS: u32 = 2;

#[derive(Debug, Clone)]
pub struct Budget {
    max_key_attempts: u32,
    max_wildcard_attempts: u32,
    /// Failed tries so far, per key.
    failures: Vec<(Fingerprint, u32)>,
    wildcards: u32,
    deadline: Option<(Instant, Duration)>,
    over_time: bool,
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(DEFAULT_KEY_ATTEMPTS, DEFAULT_WILDCARD_ATTEMPTS)
    }
}

impl Budget {
    pub fn new(max_key_attempts: u32, max_wildcard_attempts: u32) -> Budget {
        Budget {
            max_key_attempts,
            max_wildcard_attempts,
            failures: Vec::new(),
            wildcards: 0,
            deadline: None,
            over_time: false,
        }
    }

    /// Stops the opening `limit` from now.
    pub fn with_deadline(mut self, limit: Duration) -> Budget {
        self.deadline = Some((Instant::now() + limit, limit));
        self
    }

    pub fn max_key_attempts(&self) -> u32 {
        self.max_key_attempts
    }

    pub fn max_wildcard_attempts(&self) -> u32 {
        self.max_wildcard_attempts
    }

    /// Whether there is time left; once there is not, stays so.
    pub fn in_time(&mut self) -> bool {
        if let Some((at, _)) = self.deadline {
            if !self.over_time && Instant::now() >= at {
                self.over_time = true;
            }
        }
        !self.over_time
    }

    /// The opening ran past its deadline and stopped early.
    pub fn over_time(&self) -> bool {
        self.over_time
    }

    /// Why the opening stopped, once it ran past its deadline.
    pub fn over_time_reason(&self) -> String {
        let secs = self.deadline.map_or(0, |(_, d)| d.as_secs());
        format!("opening the message ran past its budget of {secs} s (limits.open_budget)")
    }

    fn failures_of(&self, key: &Fingerprint) -> u32 {
        self.failures
            .iter()
            .find(|(k, _)| k == key)
            .map_or(0, |(_, n)| *n)
    }

    /// Whether `key` may be tried once more on a packet addressed to it.
    pub fn may_try_key(&self, key: &Fingerprint) -> bool {
        self.failures_of(key) < self.max_key_attempts
    }

    pub fn key_failed(&mut self, key: &Fingerprint) {
        match self.failures.iter_mut().find(|(k, _)| k == key) {
            Some((_, n)) => *n = n.saturating_add(1),
            None => self.failures.push((key.clone(), 1)),
        }
    }

    /// Whether one more wildcard packet may be tried; counts it.
    pub fn take_wildcard(&mut self) -> bool {
        if self.wildcards >= self.max_wildcard_attempts {
            return false;
        }
        self.wildcards += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_count_failures_per_key_and_wildcards() {
        let fp = Fingerprint::from_bytes(4, &[7; 20]).expect("fingerprint");
        let other = Fingerprint::from_bytes(4, &[8; 20]).expect("fingerprint");
        let mut b = Budget::new(2, 1);
        assert!(b.may_try_key(&fp));
        b.key_failed(&fp);
        assert!(b.may_try_key(&fp));
        b.key_failed(&fp);
        assert!(!b.may_try_key(&fp));
        assert!(b.may_try_key(&other));
        assert!(b.take_wildcard());
        assert!(!b.take_wildcard());
    }

    #[test]
    fn deadline_is_sticky() {
        let mut b = Budget::default().with_deadline(Duration::ZERO);
        assert!(!b.in_time());
        assert!(b.over_time());
        assert!(b.over_time_reason().contains("budget of 0 s"));
        let mut open = Budget::default();
        assert!(open.in_time());
        assert!(!open.over_time());
    }
}
