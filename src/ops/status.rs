//! `secintake status`: the records, their states and deadlines. The daemon
//! publishes a snapshot (`status.json` in the state directory) after every
//! pass and when it stops, because sled allows one process at a time; the
//! snapshot names the daemon (pid, phase, last pass), so `status` knows
//! whether to trust it or to read the store itself. Overdue flags are
//! recomputed when the snapshot is read, so an idle daemon's snapshot does
//! not hide a deadline that passed since. While the tracking repository is
//! not known to be private, the daemon line says that filing stopped and
//! why, and every record that waits to be filed says it waits.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lifecycle::figures::ReportFacts;
use crate::record::{Ack, Kind, Record, State};
use crate::tracker::privacy::Standing;

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
    /// Operator alerts raised for this record (acknowledgement unsent close
    /// to its deadline, reminder failures).
    #[serde(default)]
    pub alerts: Vec<String>,
    /// The response window's progress: coordinator seen, reminders posted.
    #[serde(default)]
    pub window: Vec<String>,
    /// The acknowledgement is still to be sent (for the overdue flags).
    #[serde(default)]
    pub ack_pending: bool,
    /// The report has its own issue ([`Kind::owns_issue`]), so its
    /// disclosure date applies.
    #[serde(default)]
    pub owns_issue: bool,
}

/// What the daemon is doing, as of the snapshot.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Running,
    Stopping,
    Stopped,
}

/// The daemon that wrote the snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DaemonInfo {
    pub pid: u32,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub phase: Phase,
    pub last_pass_at: Option<DateTime<Utc>>,
    pub passes: u64,
    /// The metrics endpoint's bound address, when one is configured.
    pub metrics_listen: Option<String>,
    /// The tracking repository's last privacy verdict; filing waits while
    /// it is not private.
    #[serde(default)]
    pub tracker: Option<Standing>,
}

impl DaemonInfo {
    pub fn new(metrics_listen: Option<String>) -> DaemonInfo {
        DaemonInfo {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").into(),
            started_at: Utc::now(),
            phase: Phase::Running,
            last_pass_at: None,
            passes: 0,
            metrics_listen,
            tracker: None,
        }
    }

    /// The snapshot's writer is still running (its process exists and it
    /// did not say it stopped).
    pub fn is_alive(&self) -> bool {
        if self.phase == Phase::Stopped {
            return false;
        }
        if cfg!(target_os = "linux") {
            Path::new("/proc").join(self.pid.to_string()).exists()
        } else {
            true
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub written_at: DateTime<Utc>,
    /// Absent when the snapshot was made from the store by `status` itself.
    #[serde(default)]
    pub daemon: Option<DaemonInfo>,
    pub records: Vec<Row>,
    /// Coordinator command comments by where their mail stands (absent
    /// while conversation is off or before its first pass).
    #[serde(default)]
    pub commands: Option<crate::ops::metrics::conversation::Commands>,
    /// GitHub Security Advisories taken in.
    #[serde(default)]
    pub advisories: Vec<advisories::AdvisoryRow>,
    /// Each report's facts for `secintake report` (which reads them here
    /// while the daemon holds the store).
    #[serde(default)]
    pub facts: Vec<ReportFacts>,
}

/// The reports' facts for the yearly figures: mail reports and the
/// advisories taken in (what the store cannot say is logged and left out).
pub fn report_facts(store: &dyn crate::store::Store, records: &[Record]) -> Vec<ReportFacts> {
    let mut facts = match crate::pipeline::conversation::first_replies(store) {
        Ok(first) => ReportFacts::of(records, &first),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the command intents for the report facts");
            ReportFacts::of(records, &Default::default())
        }
    };
    // GitHub Security Advisories taken in count as reports too.
    match crate::pipeline::advisories::record::AdvisoryRecord::all(store) {
        Ok(all) => facts.extend(all.iter().filter_map(|a| a.facts())),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the advisory records for the report facts")
        }
    }
    facts
}

fn overdue(
    ack_pending: bool,
    disclosure_applies: bool,
    respond_by: DateTime<Utc>,
    disclose_by: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut overdue = Vec::new();
    if ack_pending && now > respond_by {
        overdue.push("acknowledgement past response deadline".into());
    }
    if disclosure_applies && now > disclose_by {
        overdue.push("past disclosure date".into());
    }
    overdue
}

fn ack_text(ack: &Ack) -> String {
    match ack {
        Ack::Pending => "pending".into(),
        Ack::Sent { at, .. } => format!("sent {}", at.format("%Y-%m-%d %H:%M")),
        Ack::Suppressed { reason } => format!("not sent: {reason}"),
        Ack::Sending { since, .. } => format!(
            "send started {}, outcome being confirmed",
            since.format("%Y-%m-%d %H:%M")
        ),
    }
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
        Some(Kind::Related { of, reason }) if crate::classify::is_claimed_follow_up(reason) => {
            format!("new, claims to follow up {of}")
        }
        Some(Kind::Related { of, .. }) => format!("new, possibly related to {of}"),
        Some(Kind::TeamComment { of }) => format!("team comment on {of}"),
        Some(Kind::Team { reason }) => format!("team mail ({reason})"),
    };
    let ack = match (&r.ack, r.watch.ack_postponed_until) {
        (Ack::Pending, Some(until)) => format!(
            "postponed until {} (global rate cap)",
            until.format("%Y-%m-%d %H:%M:%S")
        ),
        (ack, _) => ack_text(ack),
    };
    let ack_pending = matches!(r.ack, Ack::Pending);
    let owns_issue = r.disclosure_applies();
    let overdue = overdue(ack_pending, owns_issue, r.respond_by, r.disclose_by, now);
    let last_error = [&r.file_attempts, &r.ack_attempts, &r.archive_attempts]
        .iter()
        .find_map(|a| a.last_error.clone());
    let stamp = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    let mut alerts = Vec::new();
    if let (false, Some(t)) = (r.ack_done(), r.watch.ack_alerted_at) {
        alerts.push(format!(
            "ALERT: acknowledgement unsent near its deadline (alerted {})",
            stamp(t)
        ));
    }
    if let (Ack::Pending, Some(since), Some(until)) = (
        &r.ack,
        r.watch.ack_postponed_at,
        r.watch.ack_postponed_until,
    ) {
        alerts.push(format!(
            "ALERT: acknowledgement postponed by the global rate cap since {}, until {}",
            stamp(since),
            stamp(until)
        ));
    }
    if let Some(e) = &r.watch.last_error {
        alerts.push(format!("reminder check failed: {e}"));
    }
    let mut window = Vec::new();
    if r.kind.as_ref().is_some_and(Kind::owns_issue) {
        let l = &r.lifecycle;
        let closed = if l.closed.is_some() { "closed" } else { "open" };
        window.push(format!("report {} ({closed})", l.phase().name()));
    }
    if let Some(t) = r.watch.coordinator_seen_at {
        window.push(format!("coordinator responded (seen {})", stamp(t)));
    }
    if let Some(t) = r.watch.reminded_at {
        window.push(format!("reminder posted {}", stamp(t)));
    }
    if let Some(t) = r.watch.disclosure_reminded_at {
        window.push(format!("disclosure reminder posted {}", stamp(t)));
    }
    Row {
        alerts,
        window,
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
        ack_pending,
        owns_issue,
    }
}

pub fn snapshot(records: &[Record]) -> Snapshot {
    let now = Utc::now();
    Snapshot {
        written_at: now,
        daemon: None,
        records: records.iter().map(|r| row(r, now)).collect(),
        commands: None,
        facts: Vec::new(),
        advisories: Vec::new(),
    }
}

/// Recomputes the overdue flags for `now` (a snapshot may be hours old
/// while the daemon idles).
pub fn refresh(mut snap: Snapshot, now: DateTime<Utc>) -> Snapshot {
    for r in &mut snap.records {
        r.overdue = overdue(
            r.ack_pending,
            r.owns_issue,
            r.respond_by,
            r.disclose_by,
            now,
        );
    }
    snap
}

/// What a record waiting to be filed shows while filing is stopped.
pub const FILING_HELD: &str =
    "waiting: filing stopped, the tracking repository is not known to be private";

/// Writes `status.json` atomically; failures are logged, never fatal. The
/// tracker's privacy verdict comes from the process-wide registry
/// ([`crate::ops::metrics::Metrics::tracker_standing`]).
pub fn publish(
    state_dir: &Path,
    store: &dyn crate::store::Store,
    records: &[Record],
    daemon: &DaemonInfo,
) {
    let mut snap = snapshot(records);
    snap.facts = report_facts(store, records);
    let mut daemon = daemon.clone();
    daemon.tracker = crate::ops::metrics::global().tracker_standing();
    if daemon.tracker.as_ref().is_some_and(|t| !t.is_private()) {
        for (row, r) in snap.records.iter_mut().zip(records) {
            if r.state != State::Archived && !r.filing_done() {
                row.alerts.push(FILING_HELD.into());
            }
        }
    }
    snap.daemon = Some(daemon);
    snap.commands = crate::ops::metrics::global().commands_counted();
    snap.advisories = advisories::remembered();
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

/// One line about the daemon that wrote the snapshot.
pub fn daemon_line(snap: &Snapshot) -> String {
    let Some(d) = &snap.daemon else {
        return "daemon: not running (read from the store)\n".into();
    };
    let when = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_else(|| "-".into())
    };
    let phase = match (d.phase, d.is_alive()) {
        (Phase::Stopped, _) => "stopped",
        (_, false) => "not running (exited without a clean stop)",
        (Phase::Stopping, true) => "stopping",
        (Phase::Running, true) => "running",
    };
    let tracker = match &d.tracker {
        Some(t) if t.is_private() => format!(
            "tracker: {} (checked {})\n",
            t.describe(),
            when(t.checked_at)
        ),
        Some(t) => format!(
            "tracker: ALERT: {} (since {}, last checked {})\n",
            t.describe(),
            when(Some(t.since)),
            when(t.checked_at)
        ),
        None => String::new(),
    };
    let commands = snap
        .commands
        .map(|c| {
            let first = match (c.first_reply_p50_secs, c.first_reply_p90_secs) {
                (Some(p50), Some(p90)) => format!(
                    "; first human reply {} (median), {} (p90) after the report, over {} report(s)",
                    crate::ops::quantile::human(p50),
                    crate::ops::quantile::human(p90),
                    c.replied_reports
                ),
                _ => String::new(),
            };
            format!(
                "commands: {} pending, {} sent, {} refused, {} ignored, {} applied{first}\n",
                c.pending, c.sent, c.refused, c.ignored, c.applied
            )
        })
        .unwrap_or_default();
    format!(
        "daemon: {phase}, pid {}, version {}, started {}, {} pass(es), last pass {}{}\n{tracker}{commands}",
        d.pid,
        d.version,
        when(Some(d.started_at)),
        d.passes,
        when(d.last_pass_at),
        d.metrics_listen
            .as_deref()
            .map(|m| format!(", metrics on http://{m}/metrics"))
            .unwrap_or_default()
    )
}

pub fn table(snap: &Snapshot) -> String {
    let mut out = format!(
        "{:<18} {:<12} {:<22} {:>6} {:<28} {:<17} {}\n",
        "TRACKING ID", "STATE", "KIND", "ISSUE", "ACK", "RESPOND BY", "ATTENTION"
    );
    for r in &snap.records {
        let urgent: Vec<String> = r.overdue.iter().chain(&r.alerts).cloned().collect();
        let attention = if !urgent.is_empty() {
            urgent.join("; ")
        } else if let Some(e) = &r.last_error {
            e.clone()
        } else {
            r.window.join("; ")
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

/// The snapshot `secintake status` shows, refreshed for now. A running
/// daemon holds the store (sled allows one process), so its published
/// snapshot is used and the store left alone, so `status` never races the
/// daemon's start; otherwise the records are read from the store, and the
/// last published snapshot is the fallback when the store cannot be opened.
pub fn current(state_dir: &Path) -> Result<Snapshot, String> {
    use crate::store::{SledStore, Store};
    let published = read_snapshot(state_dir);
    let snap = match published {
        Some(s) if s.daemon.as_ref().is_some_and(|d| d.is_alive()) => s,
        published => match SledStore::open(state_dir) {
            Ok(store) => {
                let records = store.all().map_err(|e| e.to_string())?;
                let mut snap = snapshot(&records);
                snap.facts = report_facts(&store, &records);
                snap.daemon = published.and_then(|p| p.daemon);
                let counted =
                    crate::pipeline::conversation::counts(&store).map_err(|e| e.to_string())?;
                snap.commands = (counted != Default::default()).then_some(counted);
                snap.advisories = advisories::rows(&store).map_err(|e| e.to_string())?;
                snap
            }
            Err(e) => published.ok_or_else(|| {
                format!(
                    "cannot open the store in {} ({e}) and no snapshot was published",
                    state_dir.display()
                )
            })?,
        },
    };
    Ok(refresh(snap, Utc::now()))
}

pub mod advisories;
#[cfg(test)]
mod tests;
