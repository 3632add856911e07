//! The committee's yearly figures (`secintake report`): what happened to
//! the reports received in a period, from the store alone. Each report is
//! first reduced to its [`ReportFacts`] (what the daemon also publishes
//! beside the status snapshot, so the figures can be made while it runs);
//! [`Figures::compute`] is pure.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{end_of_day, Decision, Phase};
use crate::ops::quantile::{human, nearest_rank};
use crate::record::{Ack, Kind, Record, SourceRef};

/// One report, as the figures need it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReportFacts {
    pub tracking_id: String,
    /// How it reached us: `mail` (the watched mailbox, our lists included),
    /// `team forward`, or `ghsa` (a GitHub Security Advisory taken in).
    pub channel: String,
    /// The issue's labels as last seen.
    pub labels: Vec<String>,
    pub received_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub disclose_by: DateTime<Utc>,
    /// When the acknowledgement mail went.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// An acknowledgement is owed: not for an advisory (the reporter is on
    /// GitHub) nor when it was deliberately suppressed (a team forward, no
    /// reply address, automatic mail); those are left out of the
    /// acknowledgement figures and the response promise.
    #[serde(default = "owed")]
    pub ack_owed: bool,
    /// The first command mail (a coordinator's words) sent about it.
    pub first_reply_at: Option<DateTime<Utc>>,
    /// `triage`, `accepted`, `not accepted`, `duplicate`, `fixed`, `closed`.
    pub phase: String,
    pub accepted: bool,
    pub closed_at: Option<DateTime<Utc>>,
    /// The announcement date the team set (`/announce-date`).
    pub disclosed_on: Option<NaiveDate>,
    /// Disclosed, on `disclosed_on` or on a day not recorded (a published
    /// advisory).
    #[serde(default)]
    pub disclosed: bool,
    pub ghsa: Vec<String>,
    pub cve: Vec<String>,
    pub credited: bool,
}

/// `team forward` (a team member forwarded it) or `mail`.
fn owed() -> bool {
    true
}

fn channel(r: &Record) -> &'static str {
    match (&r.source, &r.facts.forwarded_by) {
        (_, Some(_)) => "team forward",
        (SourceRef::Imap { .. } | SourceRef::Maildir { .. }, None) => "mail",
    }
}

impl ReportFacts {
    /// The facts of every report (a record with an issue of its own);
    /// `first_replies` by tracking ID (see
    /// [`crate::pipeline::conversation::first_replies`]).
    pub fn of(records: &[Record], first_replies: &BTreeMap<String, DateTime<Utc>>) -> Vec<Self> {
        records
            .iter()
            .filter(|r| r.kind.as_ref().is_some_and(Kind::owns_issue))
            .map(|r| {
                let l = &r.lifecycle;
                let phase = l.phase();
                ReportFacts {
                    tracking_id: r.tracking_id.clone(),
                    channel: channel(r).into(),
                    labels: l.labels.clone(),
                    received_at: r.received_at,
                    respond_by: r.respond_by,
                    disclose_by: r.disclose_by,
                    acknowledged_at: match &r.ack {
                        Ack::Sent { at, .. } => Some(*at),
                        _ => None,
                    },
                    ack_owed: !matches!(r.ack, Ack::Suppressed { .. }),
                    first_reply_at: first_replies.get(&r.tracking_id).copied(),
                    phase: phase.name().into(),
                    accepted: l.decision == Some(Decision::Accepted) || phase == Phase::Fixed,
                    closed_at: l.closed.map(|c| c.at),
                    disclosed_on: l.announce_date,
                    disclosed: l.announce_date.is_some(),
                    ghsa: l.ghsa.clone(),
                    cve: l.cve.clone(),
                    credited: l.credit.is_some(),
                }
            })
            .collect()
    }
}

/// Median and 90th percentile (nearest rank) of some durations, seconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Spread {
    pub count: usize,
    pub median_secs: Option<i64>,
    pub p90_secs: Option<i64>,
}

impl Spread {
    fn of(secs: Vec<i64>) -> Spread {
        Spread {
            count: secs.len(),
            median_secs: nearest_rank(&secs, 0.5),
            p90_secs: nearest_rank(&secs, 0.9),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Figures {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub received: usize,
    pub by_channel: BTreeMap<String, usize>,
    pub by_label: BTreeMap<String, usize>,
    /// By phase name (see [`ReportFacts::phase`]).
    pub by_phase: BTreeMap<String, usize>,
    /// Accepted (and still open) or fixed.
    pub accepted: usize,
    pub to_acknowledge: Spread,
    pub to_first_human_reply: Spread,
    /// Received to closed as completed.
    pub to_fix: Spread,
    /// Received to the announcement date.
    pub to_disclosure: Spread,
    /// Acknowledged after the response deadline, or not at all by then
    /// (reports owed an acknowledgement).
    pub past_response_promise: usize,
    /// Disclosure date missed: announced after it, or not announced and
    /// past it at the period's end (reports not rejected or duplicates).
    pub past_disclosure_promise: usize,
    pub cves_linked: usize,
    pub ghsas_linked: usize,
    pub reporters_credited: usize,
}

impl Figures {
    /// The figures of the reports received in `[since, until)`; deadlines
    /// not yet met are judged at `until` (or now, if earlier).
    pub fn compute(
        facts: &[ReportFacts],
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Figures {
        let judged_at = until.min(now);
        let within: Vec<&ReportFacts> = facts
            .iter()
            .filter(|f| f.received_at >= since && f.received_at < until)
            .collect();
        let mut by_channel = BTreeMap::new();
        let mut by_label = BTreeMap::new();
        let mut by_phase = BTreeMap::new();
        for f in &within {
            *by_channel.entry(f.channel.clone()).or_default() += 1;
            *by_phase.entry(f.phase.clone()).or_default() += 1;
            for l in &f.labels {
                *by_label.entry(l.clone()).or_default() += 1;
            }
        }
        let since_received = |t: Option<DateTime<Utc>>, f: &ReportFacts| {
            t.map(|t| (t - f.received_at).num_seconds().max(0))
        };
        let spread = |pick: &dyn Fn(&ReportFacts) -> Option<i64>| {
            Spread::of(within.iter().filter_map(|f| pick(f)).collect())
        };
        let counts_for_disclosure =
            |f: &ReportFacts| !matches!(f.phase.as_str(), "not accepted" | "duplicate");
        let mut cves: Vec<String> = within.iter().flat_map(|f| f.cve.clone()).collect();
        cves.sort();
        cves.dedup();
        let mut ghsas: Vec<String> = within.iter().flat_map(|f| f.ghsa.clone()).collect();
        ghsas.sort();
        ghsas.dedup();
        Figures {
            since,
            until,
            received: within.len(),
            by_channel,
            by_label,
            by_phase,
            accepted: within.iter().filter(|f| f.accepted).count(),
            to_acknowledge: spread(&|f| {
                f.ack_owed
                    .then(|| since_received(f.acknowledged_at, f))
                    .flatten()
            }),
            to_first_human_reply: spread(&|f| since_received(f.first_reply_at, f)),
            to_fix: spread(&|f| {
                if f.phase == "fixed" {
                    since_received(f.closed_at, f)
                } else {
                    None
                }
            }),
            to_disclosure: spread(&|f| {
                since_received(
                    f.disclosed_on
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|t| t.and_utc()),
                    f,
                )
            }),
            past_response_promise: within
                .iter()
                .filter(|f| f.ack_owed)
                .filter(|f| match f.acknowledged_at {
                    Some(t) => t > f.respond_by,
                    None => judged_at > f.respond_by,
                })
                .count(),
            past_disclosure_promise: within
                .iter()
                .filter(|f| counts_for_disclosure(f))
                .filter(|f| match f.disclosed_on {
                    Some(d) => end_of_day(d) > f.disclose_by,
                    None => !f.disclosed && judged_at > f.disclose_by,
                })
                .count(),
            cves_linked: cves.len(),
            ghsas_linked: ghsas.len(),
            reporters_credited: within.iter().filter(|f| f.credited).count(),
        }
    }

    fn spread_md(s: &Spread) -> String {
        match (s.median_secs, s.p90_secs) {
            (Some(m), Some(p)) => format!("{} | {} | {}", human(m), human(p), s.count),
            _ => format!("— | — | {}", s.count),
        }
    }

    pub fn markdown(&self) -> String {
        let mut out = format!(
            "# Security reports {} – {}\n\n",
            self.since.format("%Y-%m-%d"),
            self.until.format("%Y-%m-%d")
        );
        out.push_str(&format!("Reports received: **{}**\n\n", self.received));
        let table = |title: &str, m: &BTreeMap<String, usize>| {
            let mut t = format!("| {title} | reports |\n|---|---:|\n");
            for (k, v) in m {
                t.push_str(&format!("| {k} | {v} |\n"));
            }
            t + "\n"
        };
        out.push_str(&table("channel", &self.by_channel));
        out.push_str(&table("outcome", &self.by_phase));
        if !self.by_label.is_empty() {
            out.push_str(&table("label", &self.by_label));
        }
        out.push_str(&format!(
            "Accepted (including fixed): **{}**\n\n| time from receipt to | median | p90 | reports |\n|---|---|---|---:|\n",
            self.accepted
        ));
        for (what, s) in [
            ("acknowledgement", &self.to_acknowledge),
            ("first human reply", &self.to_first_human_reply),
            ("fix (closed as completed)", &self.to_fix),
            ("disclosure (announcement date)", &self.to_disclosure),
        ] {
            out.push_str(&format!("| {what} | {} |\n", Self::spread_md(s)));
        }
        out.push_str(&format!(
            "\n| promise | reports past it |\n|---|---:|\n| response within 3 days | {} |\n| disclosure within 90 days (or the date set) | {} |\n\n",
            self.past_response_promise, self.past_disclosure_promise
        ));
        out.push_str(&format!(
            "CVE IDs linked: {} · GHSAs linked: {} · reporters credited: {}\n",
            self.cves_linked, self.ghsas_linked, self.reporters_credited
        ));
        out
    }

    /// One `figure,value` line per figure (durations in seconds).
    pub fn csv(&self) -> String {
        let mut out = String::from("figure,value\n");
        let mut line = |k: &str, v: String| out.push_str(&format!("{k},{v}\n"));
        line("since", self.since.to_rfc3339());
        line("until", self.until.to_rfc3339());
        line("received", self.received.to_string());
        for (k, v) in &self.by_channel {
            line(&format!("channel:{}", k.replace(',', " ")), v.to_string());
        }
        for (k, v) in &self.by_phase {
            line(&format!("outcome:{}", k.replace(',', " ")), v.to_string());
        }
        for (k, v) in &self.by_label {
            line(&format!("label:{}", k.replace(',', " ")), v.to_string());
        }
        line("accepted", self.accepted.to_string());
        for (k, s) in [
            ("to_acknowledge", &self.to_acknowledge),
            ("to_first_human_reply", &self.to_first_human_reply),
            ("to_fix", &self.to_fix),
            ("to_disclosure", &self.to_disclosure),
        ] {
            let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
            line(&format!("{k}_count"), s.count.to_string());
            line(&format!("{k}_median_secs"), opt(s.median_secs));
            line(&format!("{k}_p90_secs"), opt(s.p90_secs));
        }
        line(
            "past_response_promise",
            self.past_response_promise.to_string(),
        );
        line(
            "past_disclosure_promise",
            self.past_disclosure_promise.to_string(),
        );
        line("cves_linked", self.cves_linked.to_string());
        line("ghsas_linked", self.ghsas_linked.to_string());
        line("reporters_credited", self.reporters_credited.to_string());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn fact(id: &str, phase: &str) -> ReportFacts {
        let received = at("2025-01-01T00:00:00Z");
        ReportFacts {
            tracking_id: id.into(),
            channel: "mail".into(),
            labels: Vec::new(),
            received_at: received,
            respond_by: received + chrono::Duration::days(3),
            disclose_by: received + chrono::Duration::days(90),
            acknowledged_at: None,
            ack_owed: true,
            first_reply_at: None,
            phase: phase.into(),
            accepted: false,
            closed_at: None,
            disclosed_on: None,
            disclosed: false,
            ghsa: Vec::new(),
            cve: Vec::new(),
            credited: false,
        }
    }

    #[test]
    fn promises_count_only_what_was_owed_and_not_kept() {
        let mut suppressed = fact("A", "triage");
        suppressed.ack_owed = false;
        let unacknowledged = fact("B", "triage");
        let mut published = fact("C", "fixed");
        published.channel = "ghsa".into();
        published.ack_owed = false;
        published.disclosed = true;
        let mut announced_late = fact("D", "fixed");
        announced_late.acknowledged_at = Some(at("2025-01-02T00:00:00Z"));
        announced_late.disclosed_on = NaiveDate::from_ymd_opt(2025, 6, 1);
        announced_late.disclosed = true;
        let rejected = fact("E", "not accepted");
        let facts = [
            suppressed,
            unacknowledged,
            published,
            announced_late,
            rejected,
        ];
        let f = Figures::compute(
            &facts,
            at("2025-01-01T00:00:00Z"),
            at("2026-01-01T00:00:00Z"),
            at("2026-12-01T00:00:00Z"),
        );
        // Owed and not sent: B and E (D was acknowledged within a day).
        assert_eq!(f.past_response_promise, 2);
        assert_eq!(f.to_acknowledge.count, 1);
        // Past the 90 days: A and B never disclosed, D announced late;
        // not C (published), not E (not accepted).
        assert_eq!(f.past_disclosure_promise, 3);
        assert_eq!(f.by_channel.get("ghsa"), Some(&1));
    }
}
