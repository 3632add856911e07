//! Rate caps on acknowledgements (RFC 3834 §2: a responder must not be
//! turned into a mail cannon): at most `per_address_max` messages to one
//! address per `per_address_window`, and `global_max` in all per
//! `global_window`. Over a cap, the acknowledgement is not sent and the
//! record says why; the report itself is filed as usual.
//!
//! The counts are derived from the store's records (every acknowledgement
//! sent, or being sent, and when) rather than kept in a counter of their
//! own: they survive restarts without another piece of state that could
//! disagree with the records, and a crash can never reset a cap. The cost
//! is one walk over the store's in-memory records per acknowledgement.

use std::ops::ControlFlow;

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use crate::config::AckSettings;
use crate::record::{Ack, Record};
use crate::store::{Store, StoreError};

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

/// Why an acknowledgement to `to` for record `id` must not go out now, or
/// None when it may. Counts the acknowledgements of every record in `store`.
pub fn exceeded(
    store: &dyn Store,
    id: &str,
    to: &str,
    now: DateTime<Utc>,
    caps: &AckSettings,
) -> Result<Option<String>, StoreError> {
    let since_addr = now - window(caps.per_address_window);
    let since_all = now - window(caps.global_window);
    let mut to_addr = 0u32;
    let mut in_all = 0u32;
    store.scan(&mut |r| {
        let Some(at) = sent_at(r).filter(|_| r.tracking_id != id) else {
            return ControlFlow::Continue(());
        };
        if at > since_all {
            in_all = in_all.saturating_add(1);
        }
        if at > since_addr
            && r.facts
                .reply_address
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(to))
        {
            to_addr = to_addr.saturating_add(1);
        }
        ControlFlow::Continue(())
    })?;
    Ok(verdict(to_addr, in_all, caps))
}

fn verdict(to_addr: u32, in_all: u32, caps: &AckSettings) -> Option<String> {
    if to_addr >= caps.per_address_max {
        return Some(format!(
            "rate cap: {to_addr} acknowledgement(s) to this address within {}",
            crate::config::duration::format_duration(caps.per_address_window)
        ));
    }
    if in_all >= caps.global_max {
        return Some(format!(
            "rate cap: {in_all} acknowledgement(s) in all within {}",
            crate::config::duration::format_duration(caps.global_window)
        ));
    }
    None
}
