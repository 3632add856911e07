//! Rate caps on acknowledgements (RFC 3834 §2: a responder must not be
//! turned into a mail cannon): at most `per_address_max` messages to one
//! reporter per `per_address_window`, and `global_max` in all per
//! `global_window`.
//!
//! * Over the **per-address** cap the acknowledgement is suppressed, and the
//!   record says why: one address flooding us gets fewer answers, and
//!   nobody else notices. Addresses are compared normalised (case, `+tag`:
//!   [`crate::classify::reporter_address::normalised`]), so tagged variants of one
//!   mailbox share its cap. The cap is at least 1, so the first
//!   acknowledgement to every address always goes.
//! * Over the **global** cap the acknowledgement is **postponed**, never
//!   dropped: it stays pending until the moment the window has room again
//!   ([`Verdict::Postpone`]), the operator is alerted, and `status` shows
//!   it. Otherwise a hundred junk mails an hour (from a hundred addresses)
//!   would silence every real reporter.
//!
//! The counts are derived from the store's records (every acknowledgement
//! sent, or being sent, and when) rather than kept in a counter of their
//! own: they survive restarts without another piece of state that could
//! disagree with the records, and a crash can never reset a cap. The cost
//! is one walk over the store's in-memory records per acknowledgement.

use std::ops::ControlFlow;

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use crate::classify::reporter_address::normalised;
use crate::config::AckSettings;
use crate::record::{Ack, Record};
use crate::store::{Store, StoreError};

/// What the caps say about one acknowledgement now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Over the per-address cap: not sent, for the reason given.
    Suppress(String),
    /// Over the global cap: not before `until`, when the window has room.
    Postpone {
        until: DateTime<Utc>,
        reason: String,
    },
}

/// When an acknowledgement of `r` went out (or started to).
fn sent_at(r: &Record) -> Option<DateTime<Utc>> {
    match &r.ack {
        Ack::Sent { at, .. } => Some(*at),
        Ack::Sending { since, .. } => Some(*since),
        _ => None,
    }
}

fn window(d: std::time::Duration) -> ChronoDuration {
    crate::config::duration::to_chrono(d)
}

/// The caps' verdict on an acknowledgement to `to` for record `id`.
/// Counts the acknowledgements of every other record in `store`.
pub fn check(
    store: &dyn Store,
    id: &str,
    to: &str,
    now: DateTime<Utc>,
    caps: &AckSettings,
) -> Result<Verdict, StoreError> {
    let since_addr = now - window(caps.per_address_window);
    let since_all = now - window(caps.global_window);
    let to = normalised(to);
    let mut to_addr = 0u32;
    let mut in_all: Vec<DateTime<Utc>> = Vec::new();
    store.scan(&mut |r| {
        let Some(at) = sent_at(r).filter(|_| r.tracking_id != id) else {
            return ControlFlow::Continue(());
        };
        if at > since_all {
            in_all.push(at);
        }
        if at > since_addr
            && r.facts
                .reply_address
                .as_deref()
                .is_some_and(|a| normalised(a) == to)
        {
            to_addr = to_addr.saturating_add(1);
        }
        ControlFlow::Continue(())
    })?;
    Ok(verdict(to_addr, in_all, caps))
}

fn verdict(to_addr: u32, mut in_all: Vec<DateTime<Utc>>, caps: &AckSettings) -> Verdict {
    if to_addr >= caps.per_address_max {
        return Verdict::Suppress(format!(
            "rate cap: {to_addr} acknowledgement(s) to this address within {}",
            crate::config::duration::format_duration(caps.per_address_window)
        ));
    }
    let max = caps.global_max as usize;
    if in_all.len() < max {
        return Verdict::Send;
    }
    // Room comes when all but max - 1 of the sends in the window have left
    // it: the (len - max + 1)-th oldest leaves at its time + the window.
    in_all.sort_unstable();
    let oldest_to_leave = in_all.len().saturating_sub(max);
    let until = in_all
        .get(oldest_to_leave)
        .map_or_else(Utc::now, |t| *t + window(caps.global_window));
    Verdict::Postpone {
        until,
        reason: format!(
            "rate cap: {} acknowledgement(s) in all within {}",
            in_all.len(),
            crate::config::duration::format_duration(caps.global_window)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn caps(per_address_max: u32, global_max: u32) -> AckSettings {
        AckSettings {
            from: "s@example.org".into(),
            reply_to: None,
            templates: "t".into(),
            response_window: Duration::from_secs(3 * 86_400),
            disclosure_window: Duration::from_secs(90 * 86_400),
            policy_url: String::new(),
            followup_receipts: true,
            sent_copy: false,
            sent_copy_wait: Duration::from_secs(600),
            reporter_keys: None,
            per_address_max,
            per_address_window: Duration::from_secs(86_400),
            global_max,
            global_window: Duration::from_secs(3600),
            alert_before: Duration::from_secs(86_400),
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn under_both_caps_sends() {
        assert_eq!(verdict(0, vec![], &caps(1, 1)), Verdict::Send);
        assert_eq!(verdict(1, vec![at(0)], &caps(2, 2)), Verdict::Send);
    }

    #[test]
    fn per_address_cap_suppresses() {
        assert!(matches!(
            verdict(2, vec![], &caps(2, 100)),
            Verdict::Suppress(r) if r == "rate cap: 2 acknowledgement(s) to this address within 1d"
        ));
    }

    #[test]
    fn global_cap_postpones_until_the_window_has_room() {
        // Three sends in the window, cap 2: room comes when two have left,
        // i.e. when the second oldest leaves.
        let v = verdict(0, vec![at(30), at(10), at(20)], &caps(5, 2));
        assert_eq!(
            v,
            Verdict::Postpone {
                until: at(20) + ChronoDuration::seconds(3600),
                reason: "rate cap: 3 acknowledgement(s) in all within 1h".into()
            }
        );
        // Exactly at the cap: the oldest leaving makes room.
        let v = verdict(0, vec![at(10), at(20)], &caps(5, 2));
        assert!(
            matches!(v, Verdict::Postpone { until, .. } if until == at(10) + ChronoDuration::seconds(3600))
        );
    }
}
