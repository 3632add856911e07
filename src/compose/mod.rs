//! Turning a record (and, where allowed, its opened content) into what the
//! side effects need: issue and comment drafts, and our outgoing mail.

mod ack;
mod issue;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Settings;
use crate::normalize::{Attachment, Encryption};
use crate::openpgp::SignatureStatus;
use crate::render::sanitize::code_span;
use crate::render::Templates;

pub struct Composer<'a> {
    pub settings: &'a Settings,
    pub templates: &'a Templates,
    /// The team key reporters should use.
    pub key_fingerprint: String,
}

#[derive(Serialize)]
pub(crate) struct AttachmentView {
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) content_type: String,
    sha256: String,
    pub(crate) decrypted: bool,
}

#[derive(Serialize)]
pub(crate) struct ReportView {
    pub(crate) tracking_id: String,
    pub(crate) kind: &'static str,
    pub(crate) received: String,
    pub(crate) respond_by: String,
    pub(crate) disclose_by: String,
    pub(crate) reporter: String,
    pub(crate) encryption: String,
    pub(crate) signature: String,
    pub(crate) unreadable_reason: Option<String>,
    pub(crate) recipients: String,
    pub(crate) raw_size: u64,
    raw_sha256: String,
    pub(crate) attachments: Vec<AttachmentView>,
    pub(crate) notes: Vec<String>,
    pub(crate) text: String,
}

pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(crate) fn describe_encryption(e: &Encryption) -> String {
    match e {
        Encryption::None => "not encrypted".into(),
        Encryption::Decrypted {
            format, key_used, ..
        } => format!("decrypted ({format}) with key {key_used}"),
        Encryption::Failed { .. } => "encrypted, could not decrypt".into(),
    }
}

pub(crate) fn describe_signature(s: &SignatureStatus) -> String {
    match s {
        SignatureStatus::Unsigned => "none".into(),
        SignatureStatus::Valid { signer } => format!("valid, by {signer}"),
        SignatureStatus::UnknownSigner { issuer } => format!("signer unknown (issuer {issuer})"),
        SignatureStatus::Bad { reason } => format!("BAD signature: {}", code_span(reason)),
    }
}

pub(crate) fn attachment_views(list: &[Attachment]) -> Vec<AttachmentView> {
    list.iter()
        .map(|a| AttachmentView {
            name: code_span(&a.name),
            size: a.size,
            content_type: code_span(&a.content_type),
            sha256: a.sha256.clone(),
            decrypted: a.decrypted,
        })
        .collect()
}
