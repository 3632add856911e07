//! The durable record of one advisory taken in, keyed by its GHSA ID in
//! the store's meta space (`advisories/record/<GHSA-ID>`), and each
//! source's high-water mark (`advisories/since/<source>`). Like a mail
//! report's record it holds no report text: the summary and description
//! are read from GitHub again whenever they are needed (the high-water
//! mark does not pass an advisory that is not yet filed and mirrored).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::compose::advisory::AdvisoryState;
use crate::lifecycle::figures::ReportFacts;
use crate::record::{Attempts, Filing, Fingerprint, Watch};
use crate::store::{meta, Store, StoreError};

pub const PREFIX: &str = "advisories/record/";
const SINCE_PREFIX: &str = "advisories/since/";

/// A report linked to the advisory ("possibly related"), both notes made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Link {
    pub tracking_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AdvisoryRecord {
    pub ghsa_id: String,
    /// The source it was listed by (`org jupyterlab`).
    pub source: String,
    /// `owner/name`.
    pub repository: String,
    pub html_url: String,
    /// When the reporter opened it on GitHub: the response window starts.
    pub created_at: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    /// The issue, once filed.
    pub filing: Option<Filing>,
    /// `started` is written (synced) before the first create request.
    pub file_attempts: Attempts,
    /// What the issue says about the advisory's state.
    pub mirrored: AdvisoryState,
    /// How many state changes were mirrored (numbers their markers).
    pub changes: u32,
    /// A change being mirrored: written (synced) before its comment, so a
    /// repeat after a crash finds the comment by its marker.
    pub mirroring: Option<AdvisoryState>,
    pub mirror_attempts: Attempts,
    /// Keyed hashes of the advisory's text and identifiers (never the
    /// text), to link mail reports of the same bug.
    pub fingerprint: Option<Fingerprint>,
    pub links: Vec<Link>,
    /// Links that failed (retried), with their backoff.
    #[serde(default)]
    pub link_attempts: Attempts,
    /// The response reminder's bookkeeping (as a mail report's).
    #[serde(default)]
    pub watch: Watch,
}

impl AdvisoryRecord {
    fn key(ghsa_id: &str) -> String {
        format!("{PREFIX}{ghsa_id}")
    }

    pub fn load(store: &dyn Store, ghsa_id: &str) -> Result<Option<AdvisoryRecord>, StoreError> {
        meta::load(store, &Self::key(ghsa_id))
    }

    /// Every advisory record, by GHSA ID.
    pub fn all(store: &dyn Store) -> Result<Vec<AdvisoryRecord>, StoreError> {
        meta::scan(store, PREFIX)
    }

    /// Writes it durably; `synced` right before a side effect.
    pub fn save(&self, store: &dyn Store, synced: bool) -> Result<(), StoreError> {
        meta::save(store, &Self::key(&self.ghsa_id), self, synced)
    }

    /// The advisory as the yearly figures count it (channel `ghsa`):
    /// triage → triage, draft → accepted, published → fixed (and
    /// disclosed), closed → not accepted. No acknowledgement mail goes to a
    /// GitHub reporter, so none is owed. `None` until it is filed.
    pub fn facts(&self) -> Option<ReportFacts> {
        self.filing.as_ref()?;
        let state = &self.mirrored.state;
        let phase = match state.as_str() {
            "triage" => "triage",
            "draft" => "accepted",
            "published" => "fixed",
            "closed" => "not accepted",
            _ => "triage",
        };
        Some(ReportFacts {
            tracking_id: self.ghsa_id.clone(),
            channel: "ghsa".into(),
            labels: Vec::new(),
            received_at: self.created_at,
            respond_by: self.respond_by,
            disclose_by: self.created_at + chrono::Duration::days(90),
            acknowledged_at: None,
            ack_owed: false,
            first_reply_at: None,
            phase: phase.into(),
            accepted: matches!(phase, "accepted" | "fixed"),
            closed_at: None,
            disclosed_on: None,
            disclosed: phase == "fixed",
            ghsa: vec![self.ghsa_id.clone()],
            cve: self.mirrored.cve_id.iter().cloned().collect(),
            credited: false,
        })
    }

    /// The marker ID of the `n`th mirrored change (`GHSA-…/state:n`).
    pub fn change_marker(&self, n: u32) -> String {
        format!("{}/state:{n}", self.ghsa_id)
    }
}

/// The newest `updated_at` a source's listing was read down to.
pub fn since(store: &dyn Store, source: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(store
        .meta_get(&format!("{SINCE_PREFIX}{source}"))?
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc)))
}

pub fn set_since(store: &dyn Store, source: &str, t: DateTime<Utc>) -> Result<(), StoreError> {
    store.meta_put(
        &format!("{SINCE_PREFIX}{source}"),
        t.to_rfc3339().as_bytes(),
        false,
    )
}
