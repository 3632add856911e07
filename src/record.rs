//! The report record: what the store keeps about each message, and the
//! durable state machine of DESIGN.md. A record never holds plaintext: the raw
//! message (ciphertext for encrypted mail) is kept beside it until the message
//! is archived, and decryption is repeated whenever the text is needed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a message came from, enough to find it again for archiving.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceRef {
    Imap {
        mailbox: String,
        uidvalidity: u32,
        uid: u32,
    },
    Maildir {
        file_name: String,
    },
}

impl SourceRef {
    /// A key unique per source position, used to skip messages already taken in.
    pub fn key(&self) -> String {
        match self {
            SourceRef::Imap {
                mailbox,
                uidvalidity,
                uid,
            } => format!("imap/{mailbox}/{uidvalidity}/{uid}"),
            SourceRef::Maildir { file_name } => format!("maildir/{file_name}"),
        }
    }
}

/// The classification of a message; decided once, from headers and structure.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    /// A new report: gets an issue and an acknowledgement.
    New,
    /// Could not be decrypted or parsed: still filed, reporter told how to resend.
    Unreadable { reason: String },
    /// Adds to an existing report (by In-Reply-To/References or tracking ID).
    FollowUp { of: String },
    /// The same message again (same Message-ID or same bytes).
    Duplicate { of: String },
    /// Automatic mail (RFC 3834 auto-replies, bounces, list traffic): recorded, never answered.
    Automatic { reason: String },
    /// The same normalised content as an earlier report, sent again (new
    /// Message-ID): a "resubmitted" comment on that report's issue.
    Resubmitted { of: String },
    /// A new report that resembles an earlier one (near-identical text or a
    /// shared CVE ID, package or URL): its own issue, linked both ways.
    Related {
        of: String,
        /// Why, safe to show in the tracker: "similar text (0.83)", "same CVE ID".
        reason: String,
    },
    /// A team member's mail with a report's references (`[instance]
    /// team_addresses`, [`crate::classify::team`]): a comment marked "from
    /// the team" on that report's issue, never acknowledged; it counts as a
    /// coordinator's response.
    TeamComment { of: String },
    /// Other team mail: recorded and shown, nothing filed or sent.
    Team { reason: String },
}

impl Kind {
    /// The stable short name: the serde tag, used in logs, metrics labels
    /// and `status`.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::New => "new",
            Kind::Unreadable { .. } => "unreadable",
            Kind::FollowUp { .. } => "follow_up",
            Kind::Duplicate { .. } => "duplicate",
            Kind::Automatic { .. } => "automatic",
            Kind::Resubmitted { .. } => "resubmitted",
            Kind::Related { .. } => "related",
            Kind::TeamComment { .. } => "team_comment",
            Kind::Team { .. } => "team",
        }
    }

    /// Whether a report of this kind gets an issue of its own, and so its
    /// own response and disclosure deadlines and reminders: new, related
    /// and unreadable reports. Follow-ups and resubmissions become comments
    /// on another report's issue; duplicates and automatic mail get nothing.
    /// The one definition used by filing's readers: reminders, `status`
    /// and metrics.
    pub fn owns_issue(&self) -> bool {
        matches!(
            self,
            Kind::New | Kind::Related { .. } | Kind::Unreadable { .. }
        )
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Received,
    Classified,
    Filed,
    Acknowledged,
    Archived,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Received => "received",
            State::Classified => "classified",
            State::Filed => "filed",
            State::Acknowledged => "acknowledged",
            State::Archived => "archived",
        }
    }
}

/// Where the report was filed in the tracker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Filing {
    /// Issue number the report lives in.
    pub issue: u64,
    /// Set when the message was filed as a comment rather than a new issue.
    pub comment_id: Option<u64>,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Ack {
    Pending,
    Sent {
        message_id: String,
        at: DateTime<Utc>,
    },
    /// Durable intent, written before the SMTP transaction starts. Found on
    /// resume, it means the outcome is unknown: see `pipeline::ack`.
    Sending {
        message_id: String,
        since: DateTime<Utc>,
    },
    /// Deliberately not sent (auto-reply, no reply address, …).
    Suppressed {
        reason: String,
    },
}

/// Retry bookkeeping for one side effect.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Attempts {
    pub count: u32,
    pub next_at: Option<DateTime<Utc>>,
    /// The last error, safe to show (never contains report text or secrets).
    pub last_error: Option<String>,
    /// A permanent failure: retried only after operator action or restart.
    pub permanent: bool,
    /// An attempt began: stored durably before the first request that could
    /// create something, so a later attempt knows to look for what an
    /// interrupted one may have left. Used for filing; records written
    /// before this field existed read as started (the safe side).
    #[serde(default = "started_unknown")]
    pub started: bool,
}

fn started_unknown() -> bool {
    true
}

/// What is kept about a report's text to compare it later (made by
/// [`crate::classify::similarity`]): never the text itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Fingerprint {
    /// MinHash values (low 32 bits); empty when the text was too short.
    pub minhash: Vec<u32>,
    /// Keyed hashes of the identifiers found, sorted.
    pub identifiers: Vec<String>,
}

/// Facts about the message that are safe to store and show: no body, and no
/// subject when the message was encrypted.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Facts {
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    /// The address an acknowledgement goes to: one the message proves
    /// ([`crate::classify::reporter_address::ack_address`]).
    pub reply_address: Option<String>,
    pub encrypted: bool,
    pub raw_sha256: String,
    pub raw_size: u64,
    /// SHA-256 of the normalised report text, for resubmission detection.
    pub text_sha256: Option<String>,
    /// Keyed MinHash signature and identifier hashes of the text, for
    /// finding related reports (never the text itself).
    #[serde(default)]
    pub fingerprint: Option<Fingerprint>,
    /// The message was over `max_message_bytes` (this is its size): only
    /// its header section was fetched and stored, and `raw_sha256` is of
    /// that section. It is filed as a stub.
    #[serde(default)]
    pub oversized: Option<u64>,
    /// A report a team member forwarded: their address (the reply address
    /// is the forwarded message's sender, [`crate::classify::team`]).
    #[serde(default)]
    pub forwarded_by: Option<String>,
}

/// The response window's bookkeeping (see [`crate::pipeline::reminders`]): each
/// alert and reminder happens once, and the tracker is asked about a report
/// only until a coordinator is seen at work on it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Watch {
    /// When the operator was alerted that the acknowledgement is still
    /// unsent close to the response deadline.
    pub ack_alerted_at: Option<DateTime<Utc>>,
    /// When a coordinator was first seen commenting on or labelling the issue.
    pub coordinator_seen_at: Option<DateTime<Utc>>,
    /// The reminder comment (time, comment id) for a report no one answered.
    pub reminded_at: Option<DateTime<Utc>>,
    pub reminder_comment: Option<u64>,
    /// The reminder before the default disclosure date.
    pub disclosure_reminded_at: Option<DateTime<Utc>>,
    /// Why the last activity look-up or reminder failed (safe to show).
    pub last_error: Option<String>,
    /// No look-up before this time (backoff after a failure).
    pub next_check_at: Option<DateTime<Utc>>,
    /// When the acknowledgement was first postponed by the global rate cap
    /// (the operator alert is logged once, then).
    #[serde(default)]
    pub ack_postponed_at: Option<DateTime<Utc>>,
    /// Until when it is postponed; cleared when it is sent.
    #[serde(default)]
    pub ack_postponed_until: Option<DateTime<Utc>>,
}

/// The durable opening-attempt counter. Opening (decrypting and
/// normalising) runs on the message's bytes, so a message can crash, hang
/// or panic it; one that did so twice is filed as an unreadable stub from
/// the record's facts and never opened again.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct OpenAttempts {
    /// Openings that crashed or were killed with the process, panicked or
    /// ran past `[limits] open_budget`.
    pub failed: u32,
    /// Why the last one failed (safe to show: never mail content).
    pub last_failure: Option<String>,
    /// An opening has started and not finished: written (and flushed)
    /// before it starts. Found set when no opening runs, the process died
    /// during it.
    pub in_progress: bool,
    /// The opening in progress is the only one running, so a crash during
    /// it is this message's doing.
    #[serde(default)]
    pub alone: bool,
    /// Crashes during an opening that ran beside others: this message may
    /// or may not have caused them. Such a message is next opened alone.
    #[serde(default)]
    pub suspect: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    pub tracking_id: String,
    pub state: State,
    pub received_at: DateTime<Utc>,
    pub source: SourceRef,
    pub facts: Facts,
    pub kind: Option<Kind>,
    pub filing: Option<Filing>,
    pub file_attempts: Attempts,
    pub ack: Ack,
    pub ack_attempts: Attempts,
    pub archive_attempts: Attempts,
    pub respond_by: DateTime<Utc>,
    pub disclose_by: DateTime<Utc>,
    /// For [`Kind::Related`]: the "possibly related" comment left on the
    /// earlier report's issue (its comment id).
    #[serde(default)]
    pub related_note: Option<u64>,
    /// Deadline alerts and tracker reminders.
    #[serde(default)]
    pub watch: Watch,
    /// Openings of the raw message that did not finish (see
    /// `pipeline::opening`).
    #[serde(default)]
    pub opening: OpenAttempts,
    /// After the acknowledgement: decision, close, dates, links
    /// (see [`crate::lifecycle`]).
    #[serde(default)]
    pub lifecycle: crate::lifecycle::Lifecycle,
}

impl Record {
    /// Whether the tracker side is finished (filed, or nothing to file).
    pub fn filing_done(&self) -> bool {
        let related_pending =
            matches!(self.kind, Some(Kind::Related { .. })) && self.related_note.is_none();
        (self.filing.is_some() && !related_pending)
            || matches!(
                self.kind,
                Some(Kind::Automatic { .. })
                    | Some(Kind::Duplicate { .. })
                    | Some(Kind::Team { .. })
            )
    }

    /// The report has an issue of its own and still runs against its
    /// disclosure date: open, neither rejected nor a duplicate
    /// ([`crate::lifecycle::Lifecycle::deadlines_apply`]). The one
    /// definition `status`, the metrics and the reminders use.
    pub fn disclosure_applies(&self) -> bool {
        self.kind.as_ref().is_some_and(Kind::owns_issue) && self.lifecycle.deadlines_apply()
    }

    pub fn ack_done(&self) -> bool {
        matches!(self.ack, Ack::Sent { .. } | Ack::Suppressed { .. })
    }

    /// The state derived from what has been done, for display and transitions.
    pub fn derived_state(&self) -> State {
        if self.state == State::Archived {
            State::Archived
        } else if self.kind.is_none() {
            State::Received
        } else if self.filing_done() && self.ack_done() {
            State::Acknowledged
        } else if self.filing_done() {
            State::Filed
        } else {
            State::Classified
        }
    }
}

/// Tracking IDs mentioned in a text, e.g. `JUPSEC-2026-0042`.
pub fn tracking_ids_in(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find(prefix) {
        let after = rest.get(pos + prefix.len()..).unwrap_or("");
        let candidate: String = after.chars().take(1 + 4 + 1 + 6).collect();
        let mut chars = candidate.chars();
        if chars.next() == Some('-') {
            let year: String = chars.by_ref().take(4).collect();
            if year.len() == 4
                && year.chars().all(|c| c.is_ascii_digit())
                && chars.next() == Some('-')
            {
                let seq: String = chars.take_while(|c| c.is_ascii_digit()).collect();
                if seq.len() >= 4 {
                    out.push(format!("{prefix}-{year}-{seq}"));
                }
            }
        }
        rest = after;
    }
    out
}
