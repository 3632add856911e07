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
    }
}

const PAST_DISCLOSURE: &str = "past default disclosure date";

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
