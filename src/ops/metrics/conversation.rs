//! Metrics of the conversation with reporters from the tracking issue
//! ([`crate::pipeline::conversation`]): command comments by where their
//! mail stands, set at the end of each conversation pass. Plain atomics
//! beside the registry's lock, like [`super::window`].

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::Metrics;

static PENDING: AtomicU64 = AtomicU64::new(0);
static SENT: AtomicU64 = AtomicU64::new(0);
static REFUSED: AtomicU64 = AtomicU64::new(0);
static IGNORED: AtomicU64 = AtomicU64::new(0);
static APPLIED: AtomicU64 = AtomicU64::new(0);
static REPLIED: AtomicU64 = AtomicU64::new(0);
/// Seconds; u64::MAX: no report has a human reply yet.
static FIRST_P50: AtomicU64 = AtomicU64::new(u64::MAX);
static FIRST_P90: AtomicU64 = AtomicU64::new(u64::MAX);
/// A conversation pass has counted (the gauges mean something).
static COUNTED: AtomicBool = AtomicBool::new(false);

/// Command comments by state, counted over the store's intents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Commands {
    /// Mail not yet sent (waiting, being sent, or retried after a failure).
    pub pending: u64,
    pub sent: u64,
    /// Not sent, said on the issue (no key, rate cap, bad syntax, …).
    pub refused: u64,
    /// Not acted on: outsiders' commands, commands on no report's issue.
    pub ignored: u64,
    /// Lifecycle commands applied (no mail).
    #[serde(default)]
    pub applied: u64,
    /// Reports with at least one command mail sent (a human's words).
    #[serde(default)]
    pub replied_reports: u64,
    /// From a report's arrival to the first command mail sent for it, over
    /// the replied reports (nearest-rank median and 90th percentile).
    #[serde(default)]
    pub first_reply_p50_secs: Option<i64>,
    #[serde(default)]
    pub first_reply_p90_secs: Option<i64>,
}

impl Metrics {
    /// The command comments as the last conversation pass left them.
    pub fn commands(&self, c: Commands) {
        PENDING.store(c.pending, Ordering::Relaxed);
        SENT.store(c.sent, Ordering::Relaxed);
        REFUSED.store(c.refused, Ordering::Relaxed);
        IGNORED.store(c.ignored, Ordering::Relaxed);
        APPLIED.store(c.applied, Ordering::Relaxed);
        REPLIED.store(c.replied_reports, Ordering::Relaxed);
        let secs = |v: Option<i64>| v.map_or(u64::MAX, |s| s.max(0) as u64);
        FIRST_P50.store(secs(c.first_reply_p50_secs), Ordering::Relaxed);
        FIRST_P90.store(secs(c.first_reply_p90_secs), Ordering::Relaxed);
        COUNTED.store(true, Ordering::Relaxed);
    }

    /// The counts of the last conversation pass; None before the first.
    pub fn commands_counted(&self) -> Option<Commands> {
        COUNTED.load(Ordering::Relaxed).then(|| Commands {
            pending: PENDING.load(Ordering::Relaxed),
            sent: SENT.load(Ordering::Relaxed),
            refused: REFUSED.load(Ordering::Relaxed),
            ignored: IGNORED.load(Ordering::Relaxed),
            applied: APPLIED.load(Ordering::Relaxed),
            replied_reports: REPLIED.load(Ordering::Relaxed),
            first_reply_p50_secs: seconds(&FIRST_P50),
            first_reply_p90_secs: seconds(&FIRST_P90),
        })
    }
}

fn seconds(v: &AtomicU64) -> Option<i64> {
    let s = v.load(Ordering::Relaxed);
    (s != u64::MAX).then_some(s as i64)
}

pub(super) fn render(out: &mut String) {
    let _ = writeln!(
        out,
        "# HELP secintake_command_comments Coordinator command comments by where their mail stands.\n# TYPE secintake_command_comments gauge"
    );
    for (state, v) in [
        ("pending", &PENDING),
        ("sent", &SENT),
        ("refused", &REFUSED),
        ("ignored", &IGNORED),
        ("applied", &APPLIED),
    ] {
        let _ = writeln!(
            out,
            "secintake_command_comments{{state=\"{state}\"}} {}",
            v.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        out,
        "# HELP secintake_reports_with_human_reply Reports with at least one coordinator mail sent from the tracking issue.\n# TYPE secintake_reports_with_human_reply gauge\nsecintake_reports_with_human_reply {}",
        REPLIED.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP secintake_first_human_reply_seconds From a report's arrival to the first coordinator mail sent for it (nearest-rank quantiles over the replied reports).\n# TYPE secintake_first_human_reply_seconds gauge"
    );
    for (q, v) in [("0.5", &FIRST_P50), ("0.9", &FIRST_P90)] {
        if let Some(s) = seconds(v) {
            let _ = writeln!(
                out,
                "secintake_first_human_reply_seconds{{quantile=\"{q}\"}} {s}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_comments_are_rendered_by_state() {
        crate::ops::metrics::global().commands(Commands {
            pending: 1,
            sent: 7,
            refused: 2,
            ignored: 3,
            applied: 5,
            replied_reports: 4,
            first_reply_p50_secs: Some(3600),
            first_reply_p90_secs: Some(7200),
        });
        let mut out = String::new();
        render(&mut out);
        for line in [
            "# TYPE secintake_command_comments gauge",
            "secintake_command_comments{state=\"pending\"} 1",
            "secintake_command_comments{state=\"sent\"} 7",
            "secintake_command_comments{state=\"refused\"} 2",
            "secintake_command_comments{state=\"ignored\"} 3",
            "secintake_command_comments{state=\"applied\"} 5",
            "secintake_reports_with_human_reply 4",
            "secintake_first_human_reply_seconds{quantile=\"0.5\"} 3600",
            "secintake_first_human_reply_seconds{quantile=\"0.9\"} 7200",
        ] {
            assert!(out.lines().any(|l| l == line), "{line}\n{out}");
        }
    }
}
