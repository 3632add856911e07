//! A report's lifecycle after the acknowledgement, mirrored from its
//! tracking issue (the issue is the source of truth): the team's decision
//! (accepted, not accepted, duplicate), whether the issue is closed and
//! why, the dates the team set, the advisory and CVE linked, the credit.
//!
//! It is kept on the report's [`Record`](crate::record::Record) (so
//! archived records keep it), changed by coordinator commands
//! ([`crate::pipeline::commands`]), labels and the state
//! ([`crate::pipeline::lifecycle`]). One definition of which reports
//! still run against their deadlines, [`Lifecycle::deadlines_apply`], is
//! used by `status`, the metrics and the reminders.

pub mod block;
pub mod figures;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// What the team decided.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Accepted,
    /// Not accepted as a vulnerability.
    Rejected,
    /// A duplicate of issue `of` (0: GitHub's close reason, number unknown).
    Duplicate {
        of: u64,
    },
}

/// Why the issue was closed (GitHub's `state_reason`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    Completed,
    NotPlanned,
    Duplicate,
    /// Closed without a reason GitHub names.
    Other,
}

impl CloseReason {
    pub fn from_github(state_reason: Option<&str>) -> CloseReason {
        match state_reason {
            Some("completed") => CloseReason::Completed,
            Some("not_planned") => CloseReason::NotPlanned,
            Some("duplicate") => CloseReason::Duplicate,
            _ => CloseReason::Other,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Closed {
    pub at: DateTime<Utc>,
    pub reason: CloseReason,
}

/// Where a report stands, derived from the decision and the issue state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Open, not decided yet.
    Triage,
    Accepted,
    Rejected,
    Duplicate,
    /// Closed as completed (and not rejected or a duplicate).
    Fixed,
    /// Closed for another reason.
    Closed,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Triage => "triage",
            Phase::Accepted => "accepted",
            Phase::Rejected => "not accepted",
            Phase::Duplicate => "duplicate",
            Phase::Fixed => "fixed",
            Phase::Closed => "closed",
        }
    }
}

/// The lifecycle of one report (default: nothing known beyond intake).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Lifecycle {
    #[serde(default)]
    pub decision: Option<Decision>,
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
    /// The issue is closed (None: open, or reopened).
    #[serde(default)]
    pub closed: Option<Closed>,
    /// A coordinator set the disclosure date (`/disclose-by`); the
    /// record's `disclose_by` follows it.
    #[serde(default)]
    pub disclose_by_set: Option<NaiveDate>,
    #[serde(default)]
    pub release_date: Option<NaiveDate>,
    #[serde(default)]
    pub announce_date: Option<NaiveDate>,
    /// Linked advisories and CVE IDs, in the order they were linked.
    #[serde(default)]
    pub ghsa: Vec<String>,
    #[serde(default)]
    pub cve: Vec<String>,
    /// How the reporter is to be credited.
    #[serde(default)]
    pub credit: Option<String>,
    /// The labels as last seen.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Follow-ups (tracking IDs) that arrived after the issue was closed
    /// and were acted on (reopened or labelled): each once.
    #[serde(default)]
    pub after_close: Vec<String>,
    /// SHA-256 of the status block as last written on the issue.
    #[serde(default)]
    pub block_sha256: Option<String>,
}

impl Lifecycle {
    pub fn phase(&self) -> Phase {
        match (self.closed, self.decision) {
            (_, Some(Decision::Rejected)) => Phase::Rejected,
            (_, Some(Decision::Duplicate { .. })) => Phase::Duplicate,
            (Some(c), _) => match c.reason {
                CloseReason::Completed => Phase::Fixed,
                CloseReason::NotPlanned => Phase::Rejected,
                CloseReason::Duplicate => Phase::Duplicate,
                CloseReason::Other => Phase::Closed,
            },
            (None, Some(Decision::Accepted)) => Phase::Accepted,
            (None, None) => Phase::Triage,
        }
    }

    /// Whether the report still runs against its disclosure date and the
    /// team's reminders: open and neither rejected nor a duplicate.
    pub fn deadlines_apply(&self) -> bool {
        matches!(self.phase(), Phase::Triage | Phase::Accepted)
    }

    /// Links `id` (kept once, in order); true when it is new.
    pub fn link(list: &mut Vec<String>, id: &str) -> bool {
        if list.iter().any(|x| x.eq_ignore_ascii_case(id)) {
            return false;
        }
        list.push(id.to_string());
        true
    }
}

/// The end of `date` in UTC (a disclosure date is a whole day).
pub fn end_of_day(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(23, 59, 59)
        .map(|t| t.and_utc())
        .unwrap_or_default()
}

/// GHSA IDs in a text (`GHSA-xxxx-xxxx-xxxx`, four lowercase letters or
/// digits per group; URLs included), lower-cased as GitHub writes them.
pub fn ghsa_ids_in(text: &str) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut found = Vec::new();
    for (at, _) in lower.match_indices("ghsa-") {
        let alnum = |i: Option<usize>| {
            i.and_then(|i| bytes.get(i))
                .is_some_and(|b| b.is_ascii_alphanumeric())
        };
        let Some(cand) = lower.get(at..at + 19) else {
            continue;
        };
        if alnum(at.checked_sub(1)) || alnum(Some(at + 19)) {
            continue;
        }
        if let Some(id) = ghsa_id(cand).filter(|id| !found.contains(id)) {
            found.push(id);
        }
    }
    found
}

/// `GHSA-xxxx-xxxx-xxxx` as GitHub writes it (`GHSA-` then lowercase
/// groups of four from `23456789cfghjmpqrvwx`, accepted case-insensitively).
pub fn ghsa_id(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let groups: Vec<&str> = lower.strip_prefix("ghsa-")?.split('-').collect();
    let ok = groups.len() == 3
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_alphanumeric()));
    ok.then(|| format!("GHSA-{}", groups.join("-")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn phases_follow_decision_and_close_reason() {
        let mut l = Lifecycle::default();
        assert_eq!(l.phase(), Phase::Triage);
        assert!(l.deadlines_apply());
        l.decision = Some(Decision::Accepted);
        assert_eq!(l.phase(), Phase::Accepted);
        assert!(l.deadlines_apply());
        l.closed = Some(Closed {
            at: at("2026-05-01T00:00:00Z"),
            reason: CloseReason::Completed,
        });
        assert_eq!(l.phase(), Phase::Fixed);
        assert!(!l.deadlines_apply());
        l.closed = None; // reopened
        assert_eq!(l.phase(), Phase::Accepted);
        l.decision = Some(Decision::Rejected);
        assert_eq!(l.phase(), Phase::Rejected);
        assert!(!l.deadlines_apply(), "rejected, though open");
        let closed_as = |reason| Lifecycle {
            closed: Some(Closed {
                at: at("2026-05-01T00:00:00Z"),
                reason,
            }),
            ..Lifecycle::default()
        };
        assert_eq!(closed_as(CloseReason::NotPlanned).phase(), Phase::Rejected);
        assert_eq!(closed_as(CloseReason::Duplicate).phase(), Phase::Duplicate);
        assert_eq!(closed_as(CloseReason::Other).phase(), Phase::Closed);
        assert!(!closed_as(CloseReason::Other).deadlines_apply());
    }

    #[test]
    fn ghsa_ids_are_found_in_text_and_urls() {
        let text =
            "See https://github.com/jupyter/notebook/security/advisories/GHSA-abcd-23fg-hj45 \
                    and ghsa-wxyz-2345-6789; not GHSA-abc-defg-hijk nor xGHSA-aaaa-bbbb-cccc.";
        assert_eq!(
            ghsa_ids_in(text),
            vec!["GHSA-abcd-23fg-hj45", "GHSA-wxyz-2345-6789"]
        );
        assert_eq!(
            ghsa_id("GHSA-ABCD-23FG-HJ45").as_deref(),
            Some("GHSA-abcd-23fg-hj45")
        );
        assert_eq!(ghsa_id("GHSA-abcd-23fg"), None);
    }

    #[test]
    fn links_are_kept_once() {
        let mut v = Vec::new();
        assert!(Lifecycle::link(&mut v, "CVE-2026-1234"));
        assert!(!Lifecycle::link(&mut v, "cve-2026-1234"));
        assert_eq!(v.len(), 1);
    }

    #[test]
    fn old_records_read_with_an_empty_lifecycle() {
        let l: Lifecycle = serde_json::from_str("{}").unwrap();
        assert_eq!(l, Lifecycle::default());
    }
}
