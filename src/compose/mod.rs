//! Turning a record (and, where allowed, its opened content) into what the
//! side effects need: issue and comment drafts, and our outgoing mail.

mod ack;
pub mod advisory;
mod issue;
mod parts;
mod reminder;
pub mod reply;
pub mod uploads;

pub use reminder::ReminderKind;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Settings;
use crate::normalize::{Attachment, Encryption};
use crate::openpgp::SignatureStatus;
use crate::render::sanitize::{code_span_max, table_cell};
use crate::render::Templates;
use crate::tracker::StoredFile;
use uploads::NotKept;

pub struct Composer<'a> {
    pub settings: &'a Settings,
    pub templates: &'a Templates,
    /// The team key reporters should use.
    pub key_fingerprint: String,
}

#[derive(Serialize, Clone)]
pub(crate) struct AttachmentView {
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) content_type: String,
    pub(crate) sha256: String,
    pub(crate) decrypted: bool,
    /// `[path](url)` or the stored path in a code span; empty when not stored.
    pub(crate) link: String,
    /// Why it is not stored, if it is not.
    pub(crate) not_stored: String,
}

#[derive(Serialize)]
pub(crate) struct ReportView {
    pub(crate) tracking_id: String,
    pub(crate) kind: &'static str,
    pub(crate) received: String,
    pub(crate) respond_by: String,
    pub(crate) disclose_by: String,
    pub(crate) reporter: String,
    /// A team member's comment ([`crate::record::Kind::TeamComment`]).
    pub(crate) from_team: bool,
    pub(crate) encryption: String,
    pub(crate) signature: String,
    pub(crate) unreadable_reason: Option<String>,
    pub(crate) recipients: String,
    pub(crate) raw_size: u64,
    raw_sha256: String,
    pub(crate) attachments: Vec<AttachmentView>,
    /// Attachments listed in a continuation comment instead (huge lists).
    pub(crate) more_attachments: usize,
    pub(crate) notes: Vec<String>,
    /// The report text as fenced block(s); empty when it continues in comments.
    pub(crate) text: String,
    /// Small text attachments as collapsed `<details>` blocks.
    pub(crate) inline_attachments: Vec<String>,
    /// The report text (and inline attachments) continue in comments.
    pub(crate) continued: bool,
}

pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(crate) fn describe_encryption(e: &Encryption) -> String {
    match e {
        Encryption::None => "not encrypted".into(),
        Encryption::Decrypted {
            format, key_used, ..
        } => format!(
            "decrypted ({}) with key {}",
            table_cell(format),
            table_cell(key_used)
        ),
        Encryption::Failed { .. } => "encrypted, could not decrypt".into(),
    }
}

/// Signer names and key IDs come from the message: code spans, table-safe.
pub(crate) fn describe_signature(s: &SignatureStatus) -> String {
    match s {
        SignatureStatus::Unsigned => "none".into(),
        SignatureStatus::Valid { signer } => format!("valid, by {}", table_cell(signer)),
        SignatureStatus::UnknownSigner { issuer } => {
            format!("signer unknown (issuer {})", table_cell(issuer))
        }
        SignatureStatus::Bad { reason } => format!("BAD signature: {}", table_cell(reason)),
    }
}

/// Where each attachment was stored (index-aligned with the report's
/// attachments; `None`: not stored), and why the others were not (`plan`).
pub(crate) fn attachment_views(
    list: &[Attachment],
    stored: &[Option<StoredFile>],
    plan: &[Option<NotKept>],
) -> Vec<AttachmentView> {
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            let file = stored.get(i).and_then(Option::as_ref);
            let why = plan.get(i).copied().flatten().unwrap_or(NotKept::TooLarge);
            AttachmentView {
                index: i + 1,
                name: code_span_max(&a.name, 200),
                size: a.size,
                content_type: code_span_max(&a.content_type, 100),
                sha256: a.sha256.clone(),
                decrypted: a.decrypted,
                link: file.map(link).unwrap_or_default(),
                not_stored: if file.is_some() {
                    String::new()
                } else {
                    why.reason().into()
                },
            }
        })
        .collect()
}

/// A Markdown link to a stored file. The path is ours (`[A-Za-z0-9._/-]`);
/// a URL with anything that could end the link early is not used.
fn link(f: &StoredFile) -> String {
    match &f.url {
        Some(u)
            if (u.starts_with("https://")
                || u.starts_with("http://")
                || u.starts_with("file://"))
                && !u
                    .chars()
                    .any(|c| c.is_whitespace() || "()<>[]`\\\"'".contains(c)) =>
        {
            format!("[`{}`]({u})", f.path)
        }
        _ => format!("`{}`", f.path),
    }
}
