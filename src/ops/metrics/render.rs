//! The Prometheus text exposition format (version 0.0.4), written by hand:
//! `# HELP` and `# TYPE` before each family, counters with every known
//! label value (zero included, so alerts see the series), one histogram.

use std::fmt::Write as _;

use chrono::Utc;

use super::{Metrics, ACK_BUCKETS, CLASSES, DECRYPT_REASONS, OPEN_FAILURES};

impl Metrics {
    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let now = Utc::now();
        let m = self.lock();
        let mut out = String::new();
        let head = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        head(
            &mut out,
            "secintake_ready",
            "gauge",
            "1 once the first pass finished.",
        );
        let _ = writeln!(out, "secintake_ready {}", u8::from(m.ready && !m.stopping));
        head(
            &mut out,
            "secintake_start_time_seconds",
            "gauge",
            "Start of the process, Unix time.",
        );
        let _ = writeln!(
            out,
            "secintake_start_time_seconds {}",
            m.started_at.timestamp()
        );
        head(
            &mut out,
            "secintake_passes_total",
            "counter",
            "Intake-and-work passes finished.",
        );
        let _ = writeln!(out, "secintake_passes_total {}", m.passes);
        head(
            &mut out,
            "secintake_last_pass_timestamp_seconds",
            "gauge",
            "End of the last pass, Unix time.",
        );
        let _ = writeln!(
            out,
            "secintake_last_pass_timestamp_seconds {}",
            m.last_pass.map_or(0, |t| t.timestamp())
        );

        head(
            &mut out,
            "secintake_reports",
            "gauge",
            "Reports in the store by state and kind.",
        );
        for ((state, kind), n) in &m.reports {
            let _ = writeln!(
                out,
                "secintake_reports{{state=\"{state}\",kind=\"{kind}\"}} {n}"
            );
        }
        head(
            &mut out,
            "secintake_reports_classified_total",
            "counter",
            "Reports classified by this process, by kind.",
        );
        for (kind, n) in &m.classified {
            let _ = writeln!(
                out,
                "secintake_reports_classified_total{{kind=\"{kind}\"}} {n}"
            );
        }
        head(
            &mut out,
            "secintake_decrypt_failures_total",
            "counter",
            "Encrypted reports that could not be decrypted, by reason.",
        );
        for reason in DECRYPT_REASONS {
            let n = m.decrypt_failures.get(reason).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "secintake_decrypt_failures_total{{reason=\"{reason}\"}} {n}"
            );
        }
        head(
            &mut out,
            "secintake_malformed_total",
            "counter",
            "Messages that could not be parsed as mail.",
        );
        let _ = writeln!(out, "secintake_malformed_total {}", m.malformed);
        head(
            &mut out,
            "secintake_open_failures_total",
            "counter",
            "Openings of a message that panicked, ran past the budget or crashed the process.",
        );
        for reason in OPEN_FAILURES {
            let n = m.open_failures.get(reason).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "secintake_open_failures_total{{reason=\"{reason}\"}} {n}"
            );
        }

        head(
            &mut out,
            "secintake_ack_seconds",
            "histogram",
            "Time from receipt to acknowledgement.",
        );
        for (bound, n) in ACK_BUCKETS.iter().zip(m.ack_buckets.iter()) {
            let _ = writeln!(out, "secintake_ack_seconds_bucket{{le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "secintake_ack_seconds_bucket{{le=\"+Inf\"}} {}",
            m.ack_count
        );
        let _ = writeln!(out, "secintake_ack_seconds_sum {}", m.ack_sum);
        let _ = writeln!(out, "secintake_ack_seconds_count {}", m.ack_count);
        head(
            &mut out,
            "secintake_acks_late_total",
            "counter",
            "Acknowledgements sent after the response deadline.",
        );
        let _ = writeln!(out, "secintake_acks_late_total {}", m.acks_late);
        let response = m
            .deadlines
            .iter()
            .filter(|d| d.ack_pending && now > d.respond_by)
            .count();
        let disclosure = m
            .deadlines
            .iter()
            .filter(|d| d.owns_issue && now > d.disclose_by)
            .count();
        head(&mut out, "secintake_deadline_breaches", "gauge", "Open reports past a deadline now: response = no acknowledgement yet, disclosure = past the default disclosure date.");
        let _ = writeln!(
            out,
            "secintake_deadline_breaches{{deadline=\"response\"}} {response}"
        );
        let _ = writeln!(
            out,
            "secintake_deadline_breaches{{deadline=\"disclosure\"}} {disclosure}"
        );

        head(
            &mut out,
            "secintake_imap_reconnects_total",
            "counter",
            "IMAP connections opened after the first one.",
        );
        let _ = writeln!(out, "secintake_imap_reconnects_total {}", m.imap_reconnects);
        head(
            &mut out,
            "secintake_tracker_errors_total",
            "counter",
            "Failed tracker (GitHub) requests by class.",
        );
        for c in CLASSES {
            let n = m.tracker_errors.get(c).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "secintake_tracker_errors_total{{tracker=\"{}\",class=\"{c}\"}} {n}",
                m.tracker
            );
        }
        head(
            &mut out,
            "secintake_mailer_errors_total",
            "counter",
            "Failed acknowledgement sends (SMTP) by class.",
        );
        for c in CLASSES {
            let n = m.mailer_errors.get(c).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "secintake_mailer_errors_total{{mailer=\"{}\",class=\"{c}\"}} {n}",
                m.mailer
            );
        }
        head(
            &mut out,
            "secintake_tracker_private",
            "gauge",
            "1 while the tracking repository was last seen private; 0 while filing is stopped because it is public or its visibility is unknown.",
        );
        let private = m.privacy.as_ref().is_some_and(|p| p.is_private());
        let _ = writeln!(out, "secintake_tracker_private {}", u8::from(private));
        super::window::render(&mut out);
        super::conversation::render(&mut out);
        out
    }
}
