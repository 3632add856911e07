//! Operational metrics in the Prometheus text format, and the liveness the
//! health check and the systemd watchdog read.
//!
//! One process-wide registry ([`global`]): the pipeline reports events
//! (a report classified, a tracker or mailer error, an acknowledgement sent)
//! and the daemon publishes the records' states after every pass. Label
//! values come from closed sets (states, kinds, error classes, a fixed list
//! of decryption-failure reasons), never from mail, so nothing a reporter
//! writes can reach a scrape. The exposition format is written by hand
//! ([`Metrics::render`]): the set is small and fixed, and a client library
//! would add a dependency without removing any code here. The HTTP side is
//! in [`http`].

pub mod conversation;
pub mod http;
mod render;
pub mod window;

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::mailer::Mailer;
use crate::openpgp::DecryptFailure;
use crate::record::{Kind, Record, State};
use crate::support::effect::EffectError;
use crate::tracker::privacy::Standing;
use crate::tracker::Tracker;

/// Upper bounds (seconds) of the time-to-acknowledgement histogram: from
/// seconds (the normal case) to the three-day response window.
const ACK_BUCKETS: [f64; 10] = [
    1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0, 259200.0,
];

/// The decryption-failure reasons we count; anything else is "other".
const DECRYPT_REASONS: [&str; 8] = [
    "password_only",
    "not_our_key",
    "malformed_openpgp",
    "failed_part_way",
    "too_large",
    "truncated",
    "attempt_cap",
    "other",
];

const CLASSES: [&str; 2] = ["transient", "permanent"];

/// Why an opening of a message failed (`pipeline::opening`).
const OPEN_FAILURES: [&str; 3] = ["panic", "budget", "crash"];

static GLOBAL: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process-wide registry.
pub fn global() -> &'static Metrics {
    &GLOBAL
}

/// Passes a tracker call's result through, counting its failure.
pub fn tracker_result<T>(
    r: crate::support::effect::Effect<T>,
) -> crate::support::effect::Effect<T> {
    if let Err(e) = &r {
        global().tracker_error(e);
    }
    r
}

/// What the health check says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// The first pass has not finished yet.
    Starting,
    /// A pass has made no progress for this long.
    Stalled(Duration),
    Stopping,
}

pub struct Metrics {
    inner: Mutex<Inner>,
}

/// A record's deadlines, kept so breaches are counted at scrape time.
struct Deadlines {
    respond_by: DateTime<Utc>,
    ack_pending: bool,
    disclose_by: DateTime<Utc>,
    /// The report has its own issue, so its disclosure date applies.
    owns_issue: bool,
}

struct Inner {
    started_at: DateTime<Utc>,
    ready: bool,
    stopping: bool,
    busy_since: Option<Instant>,
    last_progress: Instant,
    passes: u64,
    last_pass: Option<DateTime<Utc>>,
    tracker: &'static str,
    mailer: &'static str,
    reports: BTreeMap<(&'static str, String), u64>,
    deadlines: Vec<Deadlines>,
    classified: BTreeMap<String, u64>,
    decrypt_failures: BTreeMap<&'static str, u64>,
    malformed: u64,
    open_failures: BTreeMap<&'static str, u64>,
    tracker_errors: BTreeMap<&'static str, u64>,
    mailer_errors: BTreeMap<&'static str, u64>,
    imap_reconnects: u64,
    ack_buckets: [u64; ACK_BUCKETS.len()],
    ack_count: u64,
    ack_sum: f64,
    acks_late: u64,
    /// The tracking repository's last privacy verdict.
    privacy: Option<Standing>,
}

/// The kind's name as the record stores it (`new`, `follow_up`, …): the
/// serde tag, so the label set is exactly the enum's variants.
pub fn kind_label(kind: Option<&Kind>) -> String {
    let Some(kind) = kind else {
        return "unclassified".into();
    };
    kind.name().into()
}

fn class(e: &EffectError) -> &'static str {
    if e.is_permanent() {
        "permanent"
    } else {
        "transient"
    }
}

impl Metrics {
    fn new() -> Self {
        Metrics {
            inner: Mutex::new(Inner {
                started_at: Utc::now(),
                ready: false,
                stopping: false,
                busy_since: None,
                last_progress: Instant::now(),
                passes: 0,
                last_pass: None,
                tracker: "none",
                mailer: "none",
                reports: BTreeMap::new(),
                deadlines: Vec::new(),
                classified: BTreeMap::new(),
                decrypt_failures: BTreeMap::new(),
                malformed: 0,
                open_failures: BTreeMap::new(),
                tracker_errors: BTreeMap::new(),
                mailer_errors: BTreeMap::new(),
                imap_reconnects: 0,
                ack_buckets: [0; ACK_BUCKETS.len()],
                ack_count: 0,
                ack_sum: 0.0,
                acks_late: 0,
                privacy: None,
            }),
        }
    }

    /// A panic while holding the lock leaves plain counters behind: keep going.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Names the configured tracker and mailer (labels of their error
    /// counters) and takes the tracker's privacy verdict (at start and
    /// after a reload swapped the tracker).
    pub fn configure(&self, tracker: &Tracker, mailer: &Mailer) {
        let mut m = self.lock();
        m.tracker = match tracker {
            Tracker::Github(_) => "github",
            Tracker::Directory(_) => "directory",
        };
        m.privacy = Some(tracker.privacy());
        m.mailer = match mailer {
            Mailer::Smtp(_) => "smtp",
            Mailer::Outbox(_) => "outbox",
        };
    }

    pub fn pass_started(&self) {
        let mut m = self.lock();
        m.busy_since = Some(Instant::now());
        m.last_progress = Instant::now();
    }

    /// Called as a pass moves on (a record done, a fetch finished).
    pub fn progress(&self) {
        self.lock().last_progress = Instant::now();
    }

    /// After a pass: the records' states and deadlines as they now are.
    pub fn pass_finished(&self, records: &[Record]) {
        let mut m = self.lock();
        m.busy_since = None;
        m.ready = true;
        m.passes = m.passes.saturating_add(1);
        m.last_pass = Some(Utc::now());
        m.reports.clear();
        for r in records {
            *m.reports
                .entry((r.state.as_str(), kind_label(r.kind.as_ref())))
                .or_default() += 1;
        }
        m.deadlines = records
            .iter()
            // Archived records too: archiving ends the mail's life, not
            // the report's.
            .filter(|r| r.state != State::Archived || !r.ack_done() || r.disclosure_applies())
            .map(|r| Deadlines {
                respond_by: r.respond_by,
                ack_pending: !r.ack_done(),
                disclose_by: r.disclose_by,
                owns_issue: r.disclosure_applies(),
            })
            .collect();
    }

    pub fn stopping(&self) {
        self.lock().stopping = true;
    }

    pub fn health(&self, stall_limit: Duration) -> Health {
        let m = self.lock();
        if m.stopping {
            return Health::Stopping;
        }
        if m.busy_since.is_some() {
            let quiet = m.last_progress.elapsed();
            if quiet > stall_limit {
                return Health::Stalled(quiet);
            }
        }
        if !m.ready {
            return Health::Starting;
        }
        Health::Ok
    }

    /// A record was classified; for an unreadable one, `failure` says
    /// whether decryption failed (and why) or the mail was malformed.
    pub fn classified(&self, kind: &Kind, failure: Option<&DecryptFailure>) {
        let mut m = self.lock();
        *m.classified.entry(kind_label(Some(kind))).or_default() += 1;
        if let Kind::Unreadable { .. } = kind {
            match failure {
                Some(f) => *m.decrypt_failures.entry(f.label()).or_default() += 1,
                None => m.malformed = m.malformed.saturating_add(1),
            }
        }
    }

    /// An opening of a message failed: `reason` is one of "panic",
    /// "budget", "crash" (anything else counts as "panic").
    pub fn open_failed(&self, reason: &'static str) {
        let reason = OPEN_FAILURES
            .into_iter()
            .find(|r| *r == reason)
            .unwrap_or("panic");
        *self.lock().open_failures.entry(reason).or_default() += 1;
    }

    /// The tracker's privacy verdict changed or was confirmed.
    pub fn tracker_privacy(&self, standing: &Standing) {
        self.lock().privacy = Some(standing.clone());
    }

    /// The last privacy verdict, for `/healthz` and `secintake status`.
    pub fn tracker_standing(&self) -> Option<Standing> {
        self.lock().privacy.clone()
    }

    pub fn tracker_error(&self, e: &EffectError) {
        *self.lock().tracker_errors.entry(class(e)).or_default() += 1;
    }

    pub fn mailer_error(&self, e: &EffectError) {
        *self.lock().mailer_errors.entry(class(e)).or_default() += 1;
    }

    pub fn imap_reconnects(&self, n: u64) {
        let mut m = self.lock();
        m.imap_reconnects = m.imap_reconnects.saturating_add(n);
    }

    /// An acknowledgement went out `sent_at` for a report received at `received_at`.
    pub fn acknowledged(
        &self,
        received_at: DateTime<Utc>,
        sent_at: DateTime<Utc>,
        respond_by: DateTime<Utc>,
    ) {
        let secs = (sent_at - received_at).num_milliseconds().max(0) as f64 / 1000.0;
        let mut m = self.lock();
        for (i, bound) in ACK_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                if let Some(b) = m.ack_buckets.get_mut(i) {
                    *b += 1;
                }
            }
        }
        m.ack_count += 1;
        m.ack_sum += secs;
        if sent_at > respond_by {
            m.acks_late += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_reports_count_by_their_typed_failure() {
        let m = Metrics::new();
        let unreadable = Kind::Unreadable { reason: "x".into() };
        m.classified(&unreadable, Some(&DecryptFailure::NotOurKey));
        m.classified(
            &unreadable,
            Some(&DecryptFailure::GaveUp { reason: "r".into() }),
        );
        m.classified(&unreadable, None);
        m.classified(&Kind::New, None);
        let text = m.render();
        assert!(
            text.contains("secintake_decrypt_failures_total{reason=\"not_our_key\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("secintake_decrypt_failures_total{reason=\"attempt_cap\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn histogram_is_cumulative_and_late_acks_counted() {
        let m = Metrics::new();
        let t0 = Utc::now();
        m.acknowledged(
            t0,
            t0 + chrono::Duration::seconds(3),
            t0 + chrono::Duration::days(3),
        );
        m.acknowledged(
            t0,
            t0 + chrono::Duration::days(4),
            t0 + chrono::Duration::days(3),
        );
        let text = m.render();
        assert!(
            text.contains("secintake_ack_seconds_bucket{le=\"1\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("secintake_ack_seconds_bucket{le=\"5\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("secintake_ack_seconds_bucket{le=\"259200\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("secintake_ack_seconds_bucket{le=\"+Inf\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("secintake_ack_seconds_count 2\n"), "{text}");
        assert!(text.contains("secintake_acks_late_total 1\n"), "{text}");
    }

    #[test]
    fn every_sample_line_is_well_formed() {
        let m = Metrics::new();
        m.classified(
            &Kind::Unreadable {
                reason: "undecryptable: not encrypted to any of our keys".into(),
            },
            Some(&DecryptFailure::NotOurKey),
        );
        m.tracker_error(&EffectError::Transient("x".into()));
        m.open_failed("budget");
        let text = m.render();
        let mut typed = std::collections::BTreeSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                typed.insert(rest.split(' ').next().unwrap().to_string());
                continue;
            }
            if line.starts_with("# HELP ") {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("name value");
            value.parse::<f64>().expect("numeric value");
            let name = series.split('{').next().unwrap();
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|b| typed.contains(*b)))
                .unwrap_or(name);
            assert!(typed.contains(base), "sample {name} has no TYPE line");
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{name}"
            );
        }
        assert!(text.contains("secintake_decrypt_failures_total{reason=\"not_our_key\"} 1\n"));
        assert!(text.contains("secintake_open_failures_total{reason=\"budget\"} 1\n"));
        assert!(text.contains("secintake_open_failures_total{reason=\"panic\"} 0\n"));
        assert!(text
            .contains("secintake_tracker_errors_total{tracker=\"none\",class=\"transient\"} 1\n"));
    }
}
