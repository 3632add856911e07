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
}

impl Metrics {
    /// The command comments as the last conversation pass left them.
    pub fn commands(&self, c: Commands) {
        PENDING.store(c.pending, Ordering::Relaxed);
        SENT.store(c.sent, Ordering::Relaxed);
        REFUSED.store(c.refused, Ordering::Relaxed);
        IGNORED.store(c.ignored, Ordering::Relaxed);
        COUNTED.store(true, Ordering::Relaxed);
    }

    /// The counts of the last conversation pass; None before the first.
    pub fn commands_counted(&self) -> Option<Commands> {
        COUNTED.load(Ordering::Relaxed).then(|| Commands {
            pending: PENDING.load(Ordering::Relaxed),
            sent: SENT.load(Ordering::Relaxed),
            refused: REFUSED.load(Ordering::Relaxed),
            ignored: IGNORED.load(Ordering::Relaxed),
        })
    }
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
    ] {
        let _ = writeln!(
            out,
            "secintake_command_comments{{state=\"{state}\"}} {}",
            v.load(Ordering::Relaxed)
        );
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
        });
        let mut out = String::new();
        render(&mut out);
        for line in [
            "# TYPE secintake_command_comments gauge",
            "secintake_command_comments{state=\"pending\"} 1",
            "secintake_command_comments{state=\"sent\"} 7",
            "secintake_command_comments{state=\"refused\"} 2",
            "secintake_command_comments{state=\"ignored\"} 3",
        ] {
            assert!(out.lines().any(|l| l == line), "{line}\n{out}");
        }
    }
}
