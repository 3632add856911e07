//! GitHub Security Advisories in `secintake status`: one row per advisory
//! taken in (GHSA ID, repository, issue, mirrored state, respond-by and
//! what needs attention). The daemon remembers the rows after each
//! advisories pass for its published snapshot; without a daemon they are
//! read from the store.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::pipeline::advisories::AdvisoryRecord;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AdvisoryRow {
    pub ghsa_id: String,
    pub repository: String,
    pub issue: Option<u64>,
    /// As mirrored on the issue: `triage`, `accepted (draft)`, ….
    pub state: String,
    pub respond_by: DateTime<Utc>,
    pub attention: Vec<String>,
}

static LAST: Mutex<Option<Vec<AdvisoryRow>>> = Mutex::new(None);

fn row(r: &AdvisoryRecord, now: DateTime<Utc>) -> AdvisoryRow {
    let mut attention = Vec::new();
    let unanswered = r.watch.coordinator_seen_at.is_none() && r.mirrored.state == "triage";
    if unanswered && now > r.respond_by {
        attention.push("past the response deadline, no coordinator seen".to_string());
    }
    if r.filing.is_none() {
        attention.push("not yet filed".to_string());
    }
    for e in [
        &r.file_attempts.last_error,
        &r.mirror_attempts.last_error,
        &r.link_attempts.last_error,
        &r.watch.last_error,
    ]
    .into_iter()
    .flatten()
    {
        attention.push(e.clone());
    }
    AdvisoryRow {
        ghsa_id: r.ghsa_id.clone(),
        repository: r.repository.clone(),
        issue: r.filing.as_ref().map(|f| f.issue),
        state: r.mirrored.describe(),
        respond_by: r.respond_by,
        attention,
    }
}

/// The rows of every advisory in the store.
pub fn rows(store: &dyn Store) -> Result<Vec<AdvisoryRow>, StoreError> {
    let now = Utc::now();
    Ok(AdvisoryRecord::all(store)?
        .iter()
        .map(|r| row(r, now))
        .collect())
}

/// Keeps the rows for the daemon's next published snapshot.
pub fn remember(rows: Vec<AdvisoryRow>) {
    *LAST.lock().unwrap_or_else(|e| e.into_inner()) = Some(rows);
}

/// What [`remember`] kept last (empty before the first advisories pass).
pub fn remembered() -> Vec<AdvisoryRow> {
    LAST.lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

pub fn table(rows: &[AdvisoryRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n{:<20} {:<32} {:>6} {:<24} {:<17} {}\n",
        "ADVISORY", "REPOSITORY", "ISSUE", "STATE", "RESPOND BY", "ATTENTION"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<20} {:<32} {:>6} {:<24} {:<17} {}\n",
            r.ghsa_id,
            r.repository,
            r.issue
                .map(|i| format!("#{i}"))
                .unwrap_or_else(|| "-".into()),
            r.state,
            r.respond_by.format("%Y-%m-%d %H:%M"),
            r.attention.join("; ")
        ));
    }
    out.push_str(&format!("{} advisory(ies) taken in\n", rows.len()));
    out
}
