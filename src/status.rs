//! `secintake status`: the records, their states and deadlines. The daemon
//! publishes a snapshot (`status.json` in the state directory) after every
//! pass, because sled allows one process at a time; `status` reads the store
//! directly when the daemon is not running.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::record::{Ack, Kind, Record, State};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub tracking_id: String,
    pub state: State,
    pub kind: String,
    pub issue: Option<u64>,
    pub ack: String,
    pub received_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub disclose_by: DateTime<Utc>,
    pub overdue: Vec<String>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub written_at: DateTime<Utc>,
    pub records: Vec<Row>,
}

pub fn row(r: &Record, now: DateTime<Utc>) -> Row {
    let kind = match &r.kind {
        None => "unclassified".into(),
        Some(Kind::New) => "new".into(),
        Some(Kind::Unreadable { .. }) => "unreadable".into(),
        Some(Kind::FollowUp { of }) => format!("follow-up of {of}"),
        Some(Kind::Duplicate { of }) => format!("duplicate of {of}"),
        Some(Kind::Automatic { reason }) => format!("automatic ({reason})"),
        Some(Kind::Resubmitted { of }) => format!("resubmission of {of}"),
        Some(Kind::Related { of, .. }) => format!("new, possibly related to {of}"),
    };
    let ack = match &r.ack {
        Ack::Pending => "pending".into(),
        Ack::Sent { at, .. } => format!("sent {}", at.format("%Y-%m-%d %H:%M")),
        Ack::Suppressed { reason } => format!("not sent: {reason}"),
        Ack::Sending { since, .. } => format!(
            "send started {}, outcome being confirmed",
            since.format("%Y-%m-%d %H:%M")
        ),
    };
    let mut overdue = Vec::new();
    if matches!(r.ack, Ack::Pending) && now > r.respond_by {
        overdue.push("acknowledgement past response deadline".into());
    }
    if now > r.disclose_by && r.kind.as_ref().is_some_and(|k| matches!(k, Kind::New)) {
        overdue.push("past default disclosure date".into());
    }
    let last_error = [&r.file_attempts, &r.ack_attempts, &r.archive_attempts]
        .iter()
        .find_map(|a| a.last_error.clone());
    Row {
        tracking_id: r.tracking_id.clone(),
        state: r.state,
        kind,
        issue: r.filing.as_ref().map(|f| f.issue),
        ack,
        received_at: r.received_at,
        respond_by: r.respond_by,
        disclose_by: r.disclose_by,
        overdue,
        last_error,
    }
}

pub fn snapshot(records: &[Record]) -> Snapshot {
    let now = Utc::now();
    Snapshot {
        written_at: now,
        records: records.iter().map(|r| row(r, now)).collect(),
    }
}

/// Writes `status.json` atomically; failures are logged, never fatal.
pub fn publish(state_dir: &Path, records: &[Record]) {
    let snap = snapshot(records);
    let path = state_dir.join("status.json");
    let tmp = state_dir.join(".status.json.tmp");
    let result = serde_json::to_vec_pretty(&snap)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&tmp, bytes))
        .and_then(|_| std::fs::rename(&tmp, &path));
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not write status snapshot");
    }
}

pub fn read_snapshot(state_dir: &Path) -> Option<Snapshot> {
    let bytes = std::fs::read(state_dir.join("status.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub fn table(snap: &Snapshot) -> String {
    let mut out = format!(
        "{:<18} {:<12} {:<22} {:>6} {:<28} {:<17} {}\n",
        "TRACKING ID", "STATE", "KIND", "ISSUE", "ACK", "RESPOND BY", "ATTENTION"
    );
    for r in &snap.records {
        let attention = if !r.overdue.is_empty() {
            r.overdue.join("; ")
        } else {
            r.last_error.clone().unwrap_or_default()
        };
        out.push_str(&format!(
            "{:<18} {:<12} {:<22} {:>6} {:<28} {:<17} {}\n",
            r.tracking_id,
            r.state.as_str(),
            truncate(&r.kind, 22),
            r.issue
                .map(|i| format!("#{i}"))
                .unwrap_or_else(|| "-".into()),
            truncate(&r.ack, 28),
            r.respond_by.format("%Y-%m-%d %H:%M"),
            attention
        ));
    }
    out.push_str(&format!(
        "{} record(s); snapshot written {}\n",
        snap.records.len(),
        snap.written_at.format("%Y-%m-%d %H:%M:%S UTC")
    ));
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
