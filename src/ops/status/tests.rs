use chrono::{Duration, Utc};

use super::{refresh, row, snapshot};
use crate::record::{Ack, Attempts, Facts, Filing, Kind, Record, SourceRef, State, Watch};

fn record(kind: Kind, age_days: i64) -> Record {
    let received = Utc::now() - Duration::days(age_days);
    Record {
        tracking_id: "T-2026-0001".into(),
        state: State::Acknowledged,
        received_at: received,
        source: SourceRef::Maildir {
            file_name: "m".into(),
        },
        facts: Facts::default(),
        kind: Some(kind),
        filing: Some(Filing {
            issue: 7,
            comment_id: None,
            url: String::new(),
        }),
        file_attempts: Attempts::default(),
        ack: Ack::Sent {
            message_id: "<x@y>".into(),
            at: received,
        },
        ack_attempts: Attempts::default(),
        archive_attempts: Attempts::default(),
        respond_by: received + Duration::days(3),
        disclose_by: received + Duration::days(90),
        related_note: Some(1),
        watch: Watch::default(),
        opening: Default::default(),
        lifecycle: Default::default(),
    }
}

const PAST_DISCLOSURE: &str = "past disclosure date";

#[test]
fn every_kind_with_its_own_issue_is_flagged_past_its_disclosure_date() {
    let related = Kind::Related {
        of: "T-2026-0000".into(),
        reason: "same CVE ID".into(),
    };
    for kind in [Kind::New, related, Kind::Unreadable { reason: "x".into() }] {
        let name = kind.name();
        let r = row(&record(kind.clone(), 91), Utc::now());
        assert!(r.overdue.iter().any(|o| o == PAST_DISCLOSURE), "{name}");
        let again = refresh(snapshot(&[record(kind, 91)]), Utc::now());
        let flags = &again.records[0].overdue;
        assert!(
            flags.iter().any(|o| o == PAST_DISCLOSURE),
            "{name} refreshed"
        );
    }
    let follow_up = Kind::FollowUp {
        of: "T-2026-0000".into(),
    };
    let r = row(&record(follow_up, 91), Utc::now());
    assert!(r.overdue.is_empty(), "{:?}", r.overdue);
    let fresh = row(&record(Kind::New, 10), Utc::now());
    assert!(fresh.overdue.is_empty());
}

#[test]
fn refresh_keeps_the_pending_acknowledgement_flag_for_any_ack_wording() {
    let mut rec = record(Kind::New, 4);
    rec.ack = Ack::Pending;
    let snap = snapshot(&[rec]);
    assert!(snap.records[0].ack_pending);
    let later = refresh(snap, Utc::now());
    assert!(later.records[0]
        .overdue
        .iter()
        .any(|o| o.contains("response deadline")));
}

#[test]
fn kind_names_are_the_stored_tags() {
    let kinds = [
        Kind::New,
        Kind::Unreadable { reason: "r".into() },
        Kind::FollowUp { of: "a".into() },
        Kind::Duplicate { of: "a".into() },
        Kind::Automatic { reason: "r".into() },
        Kind::Resubmitted { of: "a".into() },
        Kind::Related {
            of: "a".into(),
            reason: "r".into(),
        },
    ];
    for k in &kinds {
        let tag = serde_json::to_value(k).expect("serialises")["kind"].clone();
        assert_eq!(tag, k.name(), "{k:?}");
    }
    let owners: Vec<_> = kinds
        .iter()
        .filter(|k| k.owns_issue())
        .map(|k| k.name())
        .collect();
    assert_eq!(owners, ["new", "unreadable", "related"]);
}

/// Postponed acknowledgements and the tracking repository's privacy verdict.
mod postponed_and_tracker {
    use crate::ops::status::*;
    use crate::record::{Attempts, Facts, SourceRef};
    use chrono::Duration;

    fn postponed(received: DateTime<Utc>, until: DateTime<Utc>) -> Record {
        let mut r = Record {
            tracking_id: "X-2026-0001".into(),
            state: State::Filed,
            received_at: received,
            source: SourceRef::Maildir {
                file_name: "m".into(),
            },
            facts: Facts::default(),
            kind: Some(Kind::New),
            filing: None,
            file_attempts: Attempts::default(),
            ack: Ack::Pending,
            ack_attempts: Attempts::default(),
            archive_attempts: Attempts::default(),
            respond_by: received + Duration::days(3),
            disclose_by: received + Duration::days(90),
            related_note: None,
            watch: Default::default(),
            opening: Default::default(),
            lifecycle: Default::default(),
        };
        r.watch.ack_postponed_at = Some(received);
        r.watch.ack_postponed_until = Some(until);
        r
    }

    #[test]
    fn a_postponed_ack_is_shown_with_an_alert_and_still_falls_due() {
        let t0 = Utc::now() - Duration::days(4);
        let r = postponed(t0, t0 + Duration::hours(1));
        let row = row(&r, t0 + Duration::minutes(5));
        assert!(row.ack.starts_with("postponed until "), "{}", row.ack);
        assert!(row
            .alerts
            .iter()
            .any(|a| a.contains("postponed by the global rate cap")));
        assert!(row.overdue.is_empty());
        // Past the response deadline it is overdue like any unsent ack, in
        // the row and when an old snapshot is refreshed.
        let late = crate::ops::status::row(&r, t0 + Duration::days(3) + Duration::minutes(1));
        assert_eq!(late.overdue, vec!["acknowledgement past response deadline"]);
        let snap = Snapshot {
            written_at: t0,
            daemon: None,
            records: vec![row],
            commands: None,
            facts: Vec::new(),
            advisories: Vec::new(),
        };
        let snap = refresh(snap, t0 + Duration::days(3) + Duration::minutes(1));
        assert_eq!(snap.records[0].overdue.len(), 1);
        // Sent: no longer shown as postponed.
        let mut sent = r.clone();
        sent.ack = Ack::Sent {
            message_id: "<m@x>".into(),
            at: t0,
        };
        let row = crate::ops::status::row(&sent, t0);
        assert!(row.ack.starts_with("sent "), "{}", row.ack);
        assert!(row.alerts.is_empty());
    }

    use crate::tracker::privacy::Verdict;

    fn snap_with(verdict: Verdict) -> Snapshot {
        let mut d = DaemonInfo::new(None);
        d.tracker = Some(Standing {
            repository: "jupyter/security-reports".into(),
            verdict,
            since: Utc::now(),
            checked_at: Some(Utc::now()),
        });
        Snapshot {
            written_at: Utc::now(),
            daemon: Some(d),
            records: Vec::new(),
            commands: None,
            facts: Vec::new(),
            advisories: Vec::new(),
        }
    }

    #[test]
    fn the_daemon_line_counts_command_comments() {
        let mut snap = snap_with(Verdict::Private);
        assert!(!daemon_line(&snap).contains("commands:"));
        snap.commands = Some(crate::ops::metrics::conversation::Commands {
            pending: 1,
            sent: 4,
            refused: 2,
            ignored: 3,
            ..Default::default()
        });
        let line = daemon_line(&snap);
        assert!(
            line.contains("commands: 1 pending, 4 sent, 2 refused, 3 ignored, 0 applied\n"),
            "{line}"
        );
        if let Some(c) = snap.commands.as_mut() {
            c.replied_reports = 3;
            c.first_reply_p50_secs = Some(5 * 3600 + 600);
            c.first_reply_p90_secs = Some(2 * 86_400 + 3600);
        }
        let line = daemon_line(&snap);
        assert!(
            line.contains("3 ignored, 0 applied; first human reply 5h 10m (median), 2d 1h (p90) after the report, over 3 report(s)"),
            "{line}"
        );
    }

    #[test]
    fn the_daemon_line_says_why_filing_stopped() {
        let line = daemon_line(&snap_with(Verdict::Public {
            visibility: "public".into(),
        }));
        assert!(line.contains("tracker: ALERT: filing stopped"), "{line}");
        assert!(
            line.contains("jupyter/security-reports is not private (visibility public)"),
            "{line}"
        );
        let line = daemon_line(&snap_with(Verdict::Private));
        assert!(
            line.contains("tracker: tracking repository jupyter/security-reports is private"),
            "{line}"
        );
        assert!(!line.contains("ALERT"), "{line}");
        // A snapshot written before the field existed still reads.
        let mut json = serde_json::to_value(snap_with(Verdict::Private)).unwrap();
        json["daemon"].as_object_mut().unwrap().remove("tracker");
        let old: Snapshot = serde_json::from_value(json).unwrap();
        assert!(old.daemon.unwrap().tracker.is_none());
    }
}
