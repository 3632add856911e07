//! Metrics of the response window: acknowledgements held back by a rate
//! cap (suppressed, or postponed by the global one), operator alerts for acknowledgements still unsent near their
//! deadline, and reminder comments. Kept apart from the registry's main
//! lock as plain atomics; label values are fixed here.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Metrics;

static RATE_CAPPED: AtomicU64 = AtomicU64::new(0);
static DEADLINE_ALERTS: AtomicU64 = AtomicU64::new(0);
static AT_RISK: AtomicU64 = AtomicU64::new(0);
static REMINDERS_RESPONSE: AtomicU64 = AtomicU64::new(0);
static REMINDERS_DISCLOSURE: AtomicU64 = AtomicU64::new(0);
static REMINDER_ERRORS: AtomicU64 = AtomicU64::new(0);
static POSTPONED_TOTAL: AtomicU64 = AtomicU64::new(0);
static POSTPONED_NOW: AtomicU64 = AtomicU64::new(0);

/// Which reminder went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reminder {
    /// No coordinator responded within `[reminders] after`.
    Response,
    /// The default disclosure date is near.
    Disclosure,
}

impl Metrics {
    /// An acknowledgement was not sent: `why` is one of a fixed set
    /// (`rate_cap`).
    pub fn ack_suppressed(&self, why: &'static str) {
        if why == "rate_cap" {
            RATE_CAPPED.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// An acknowledgement was postponed by the global rate cap (counted once
    /// per record).
    pub fn ack_postponed(&self) {
        POSTPONED_TOTAL.fetch_add(1, Ordering::Relaxed);
    }

    /// Acknowledgements postponed by the global rate cap and unsent, now.
    pub fn acks_postponed(&self, n: u64) {
        POSTPONED_NOW.store(n, Ordering::Relaxed);
    }

    /// The operator was alerted about an acknowledgement still unsent close
    /// to its response deadline.
    pub fn ack_deadline_alert(&self) {
        DEADLINE_ALERTS.fetch_add(1, Ordering::Relaxed);
    }

    /// Acknowledgements unsent within the alert period of their deadline, now.
    pub fn acks_at_risk(&self, n: u64) {
        AT_RISK.store(n, Ordering::Relaxed);
    }

    pub fn reminder_posted(&self, kind: Reminder) {
        match kind {
            Reminder::Response => REMINDERS_RESPONSE.fetch_add(1, Ordering::Relaxed),
            Reminder::Disclosure => REMINDERS_DISCLOSURE.fetch_add(1, Ordering::Relaxed),
        };
    }

    pub fn reminder_error(&self) {
        REMINDER_ERRORS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Appends this module's families to a scrape.
pub(super) fn render(out: &mut String) {
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    family(
        out,
        "secintake_acks_rate_capped_total",
        "counter",
        "Acknowledgements not sent because the per-address rate cap was reached.",
    );
    let _ = writeln!(
        out,
        "secintake_acks_rate_capped_total {}",
        load(&RATE_CAPPED)
    );
    family(
        out,
        "secintake_acks_postponed_total",
        "counter",
        "Acknowledgements postponed (not dropped) because the global rate cap was reached.",
    );
    let _ = writeln!(
        out,
        "secintake_acks_postponed_total {}",
        load(&POSTPONED_TOTAL)
    );
    family(
        out,
        "secintake_acks_postponed",
        "gauge",
        "Acknowledgements waiting for room under the global rate cap now.",
    );
    let _ = writeln!(out, "secintake_acks_postponed {}", load(&POSTPONED_NOW));
    family(
        out,
        "secintake_ack_deadline_alerts_total",
        "counter",
        "Operator alerts: an acknowledgement still unsent close to its response deadline.",
    );
    let _ = writeln!(
        out,
        "secintake_ack_deadline_alerts_total {}",
        load(&DEADLINE_ALERTS)
    );
    family(
        out,
        "secintake_acks_at_risk",
        "gauge",
        "Acknowledgements unsent within acknowledgement.alert_before of their deadline.",
    );
    let _ = writeln!(out, "secintake_acks_at_risk {}", load(&AT_RISK));
    family(
        out,
        "secintake_reminders_total",
        "counter",
        "Reminder comments posted in the tracker, by kind.",
    );
    let _ = writeln!(
        out,
        "secintake_reminders_total{{kind=\"response\"}} {}",
        load(&REMINDERS_RESPONSE)
    );
    let _ = writeln!(
        out,
        "secintake_reminders_total{{kind=\"disclosure\"}} {}",
        load(&REMINDERS_DISCLOSURE)
    );
    family(
        out,
        "secintake_reminder_errors_total",
        "counter",
        "Failed tracker activity look-ups or reminder comments.",
    );
    let _ = writeln!(
        out,
        "secintake_reminder_errors_total {}",
        load(&REMINDER_ERRORS)
    );
}
