//! What a GitHub Security Advisory becomes in the tracker: its issue (marker
//! keyed by the GHSA ID, the advisory's facts as code spans, the
//! description fenced like a mailed report's text), the comment that
//! mirrors a later state, and the "possibly related" notes between an
//! advisory's issue and a mail report's.

use chrono::{DateTime, Utc};

use super::parts::{label, pack, BLOCK_BUDGET, BUDGET};
use super::{when, Composer};
use crate::render::sanitize::{
    body_len, code_span, code_span_max, fence_chunks, table_cell, title,
};
use crate::tracker::github::advisories::Advisory;
use crate::tracker::{marker, IssueDraft};

/// The label every advisory's issue carries (beside the configured ones).
pub const GHSA_LABEL: &str = "ghsa";

/// The label that mirrors an advisory's state (`ghsa-published`, …).
pub fn state_label(state: &str) -> String {
    format!("ghsa-{state}")
}

/// Where an advisory stands, as mirrored on its issue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AdvisoryState {
    pub state: String,
    pub cve_id: Option<String>,
    pub accepted: Option<bool>,
}

impl AdvisoryState {
    pub fn of(a: &Advisory) -> AdvisoryState {
        AdvisoryState {
            state: a.state.clone(),
            cve_id: a.cve_id.clone(),
            accepted: a.accepted,
        }
    }

    /// In words: `accepted (draft)`, `published, CVE-2026-1234`, ….
    pub fn describe(&self) -> String {
        let mut s = match (self.state.as_str(), self.accepted) {
            ("draft", Some(true)) => "accepted (draft)".to_string(),
            (state, _) => state.to_string(),
        };
        if let Some(c) = &self.cve_id {
            s.push_str(&format!(", {c}"));
        }
        s
    }
}

fn or_none(v: Option<&str>) -> String {
    v.filter(|s| !s.trim().is_empty())
        .map(table_cell)
        .unwrap_or_else(|| "(none)".into())
}

impl Composer<'_> {
    /// The issue of advisory `a`, seen through source `source`.
    pub fn advisory_issue(
        &self,
        a: &Advisory,
        source: &str,
        respond_by: DateTime<Utc>,
        labels: Vec<String>,
    ) -> IssueDraft {
        let id = &a.ghsa_id;
        let packages: Vec<String> = a.packages.iter().map(|p| table_cell(p)).collect();
        let credits: Vec<String> = a
            .credits
            .iter()
            .map(|(l, t)| format!("{} ({})", table_cell(l), table_cell(t)))
            .collect();
        let list = |v: Vec<String>| {
            if v.is_empty() {
                "(none)".to_string()
            } else {
                v.join(", ")
            }
        };
        let head = format!(
            "**GitHub Security Advisory {}**: a private vulnerability report in {}, taken in from {source}.\n\n\
             | | |\n|---|---|\n\
             | Advisory | {} |\n\
             | Repository | {} |\n\
             | Summary | {} |\n\
             | Severity | {} |\n\
             | Affected packages | {} |\n\
             | Reported by | {} |\n\
             | Credits | {} |\n\
             | State | {} |\n\
             | Opened | {} |\n\
             | Respond by | {} |\n\n\
             The advisory's later states are mirrored here as comments and `ghsa-STATE` labels; the discussion with the reporter happens on the advisory.\n\n\
             ### Description (as the reporter wrote it)",
            code_span(id),
            code_span(&a.repository),
            code_span_max(&a.html_url, 300),
            table_cell(&a.repository),
            or_none(Some(&a.summary)),
            or_none(a.severity.as_deref()),
            list(packages),
            or_none(a.author.as_deref()),
            list(credits),
            table_cell(&AdvisoryState::of(a).describe()),
            when(a.created_at),
            when(respond_by),
        );
        let room = BUDGET.saturating_sub(body_len(&head) + 4);
        let first = if room >= 1000 { room } else { BLOCK_BUDGET };
        let blocks = if a.description.trim().is_empty() {
            vec!["(no description)".to_string()]
        } else {
            fence_chunks(&a.description, first, BLOCK_BUDGET)
        };
        let (first, rest) = pack(head, blocks);
        let (body, continuation) = label(id, &marker(id), first, rest);
        IssueDraft {
            tracking_id: id.clone(),
            title: title(id, Some(&a.summary)),
            body,
            labels,
            continuation,
        }
    }

    /// The comment that says advisory `ghsa_id` moved on (without its marker).
    pub fn advisory_change(
        &self,
        ghsa_id: &str,
        html_url: &str,
        from: &AdvisoryState,
        to: &AdvisoryState,
        at: DateTime<Utc>,
    ) -> String {
        let mut lines = vec![format!(
            "**Advisory {} is now {}** (was {}; seen {}).",
            code_span(ghsa_id),
            code_span(&to.describe()),
            code_span(&from.describe()),
            when(at)
        )];
        if to.cve_id.is_some() && to.cve_id != from.cve_id {
            lines.push(format!(
                "CVE assigned: {}.",
                code_span(to.cve_id.as_deref().unwrap_or(""))
            ));
        }
        lines.push(format!("Advisory: {}", code_span_max(html_url, 300)));
        lines.join("\n\n")
    }

    /// The note on one issue that issue `other` (report `other_id`) may be
    /// about the same bug (without its marker).
    pub fn possibly_related(&self, other: u64, other_id: &str, reason: &str) -> String {
        format!(
            "**Possibly related:** #{other} ({}), the same bug may have been reported both by mail and as a GitHub Security Advisory — {reason}.",
            code_span(other_id)
        )
    }
}
