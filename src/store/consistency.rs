//! The start-up consistency check's report, and how the daemon runs it
//! ([`at_startup`]). What is checked depends on the store's layout: see
//! `sled/check.rs` for the sled implementation.

use super::{Store, StoreError};

/// What the check found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Consistency {
    pub records: usize,
    /// Records not yet archived: the pipeline resumes each of them.
    pub unfinished: usize,
    /// Acknowledgements whose send was started but not recorded.
    pub unknown_acks: Vec<String>,
    /// Each problem found, described without report content.
    pub problems: Vec<String>,
    /// How many of the problems were repaired.
    pub repaired: usize,
}

impl Consistency {
    /// Problems left after repair.
    pub fn unrepaired(&self) -> usize {
        self.problems.len().saturating_sub(self.repaired)
    }
}

/// Runs the check with repair at start-up and logs what it found (counts
/// and tracking IDs only). Unfinished records are resumed by the pipeline.
pub fn at_startup(store: &dyn Store) -> Result<Consistency, StoreError> {
    let c = store.check(true)?;
    for p in &c.problems {
        tracing::warn!(problem = %p, "state store inconsistency");
    }
    if c.unrepaired() > 0 {
        tracing::error!(
            unrepaired = c.unrepaired(),
            "state store has problems it could not repair; see the warnings above"
        );
    }
    tracing::info!(
        records = c.records,
        unfinished = c.unfinished,
        unknown_acks = c.unknown_acks.len(),
        problems = c.problems.len(),
        repaired = c.repaired,
        "state store checked"
    );
    Ok(c)
}
