//! The durable record of one command comment, keyed by its comment ID in
//! the store's meta space (`conversation/intent/<ID>`): written before
//! anything is done about the comment, so the comment is acted on once,
//! whatever is edited, deleted or crashes afterwards.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::pipeline::commands::Command;
use crate::record::Attempts;
use crate::store::{meta, Store, StoreError};

/// Where the intents live.
pub const PREFIX: &str = "conversation/intent/";
/// The high-water mark: GitHub's `updated_at` of the newest comment seen.
pub const SINCE_KEY: &str = "conversation/since";

/// Where a command comment's mail stands.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Mail {
    /// To be sent.
    Pending,
    /// Written (synced) right before SMTP: after a crash, the outcome is
    /// unknown and the same message (same Message-ID) is sent again,
    /// unless our copy shows it went (as for acknowledgements).
    Sending {
        message_id: String,
        since: DateTime<Utc>,
    },
    Sent {
        message_id: String,
        at: DateTime<Utc>,
        to: String,
        /// The reporter key's fingerprint when it went out encrypted.
        encrypted_to: Option<String>,
    },
    /// Not sent and never will be; the reason is said on the issue.
    Refused { reason: String },
    /// A lifecycle command: applied to the report, no mail (`what` it
    /// changed, in words).
    Applied { what: String },
    /// A command that mails nothing (`/ghsa draft`) did its work; `note`
    /// (ours: IDs, URLs, no coordinator text) is said on the issue.
    Done { note: String },
    /// Not a command we act on (an outsider's, or on an issue that is no
    /// report's): logged by ID, nothing said on the issue.
    Ignored { reason: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Intent {
    pub comment_id: u64,
    pub issue: u64,
    /// The report whose issue it is on (None: no report's).
    pub tracking_id: Option<String>,
    pub login: String,
    /// When secintake first saw the comment.
    pub seen_at: DateTime<Utc>,
    /// The command (None when the first line did not parse).
    pub command: Option<Command>,
    /// The text to send, as it was when first seen; dropped once the mail
    /// is sent or refused (the store keeps no conversation text).
    pub text: Option<String>,
    pub mail: Mail,
    pub mail_attempts: Attempts,
    /// Our answer on the issue is there.
    pub answered: bool,
    /// Our note that the mail failed (and is retried) is there: said once.
    #[serde(default)]
    pub failure_said: bool,
    pub answer_attempts: Attempts,
    /// `/ghsa draft`: when the first create request was about to go out
    /// (written synced before it). Set, a later attempt looks for the
    /// draft before creating one.
    #[serde(default)]
    pub drafting_since: Option<DateTime<Utc>>,
}

impl Intent {
    fn key(comment_id: u64) -> String {
        format!("{PREFIX}{comment_id:020}")
    }

    /// The intent of comment `comment_id`, if it was seen.
    pub fn load(store: &dyn Store, comment_id: u64) -> Result<Option<Intent>, StoreError> {
        meta::load(store, &Self::key(comment_id))
    }

    /// Every intent, oldest comment first.
    pub fn all(store: &dyn Store) -> Result<Vec<Intent>, StoreError> {
        meta::scan(store, PREFIX)
    }

    /// Writes it durably; `synced` before a side effect.
    pub fn save(&self, store: &dyn Store, synced: bool) -> Result<(), StoreError> {
        meta::save(store, &Self::key(self.comment_id), self, synced)
    }

    /// Nothing more to do for it.
    pub fn finished(&self) -> bool {
        match self.mail {
            Mail::Pending | Mail::Sending { .. } => false,
            Mail::Sent { .. } | Mail::Refused { .. } | Mail::Done { .. } => self.answered,
            Mail::Ignored { .. } | Mail::Applied { .. } => true,
        }
    }
}

/// The high-water mark, if one was written.
pub fn since(store: &dyn Store) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(store
        .meta_get(SINCE_KEY)?
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc)))
}

pub fn set_since(store: &dyn Store, t: DateTime<Utc>) -> Result<(), StoreError> {
    store.meta_put(SINCE_KEY, t.to_rfc3339().as_bytes(), false)
}
