//! Turning a record (and, where allowed, its opened content) into what the
//! side effects need: issue and comment drafts, and our outgoing mail.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Settings;
use crate::mailer::Outgoing;
use crate::normalize::{Attachment, Encryption, Opened};
use crate::openpgp::SignatureStatus;
use crate::record::{Kind, Record};
use crate::render::mail::{self, MailParts};
use crate::render::sanitize::{code_span, fence, title};
use crate::render::{TemplateError, Templates};
use crate::tracker::{marker, CommentDraft, IssueDraft};

pub struct Composer<'a> {
    pub settings: &'a Settings,
    pub templates: &'a Templates,
    /// The team key reporters should use.
    pub key_fingerprint: String,
}

#[derive(Serialize)]
struct AttachmentView {
    name: String,
    size: u64,
    content_type: String,
    sha256: String,
    decrypted: bool,
}

#[derive(Serialize)]
struct ReportView {
    tracking_id: String,
    kind: &'static str,
    received: String,
    respond_by: String,
    disclose_by: String,
    reporter: String,
    encryption: String,
    signature: String,
    unreadable_reason: Option<String>,
    recipients: String,
    raw_size: u64,
    raw_sha256: String,
    attachments: Vec<AttachmentView>,
    notes: Vec<String>,
    text: String,
}

pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn describe_encryption(e: &Encryption) -> String {
    match e {
        Encryption::None => "not encrypted".into(),
        Encryption::Decrypted {
            format, key_used, ..
        } => format!("decrypted ({format}) with key {key_used}"),
        Encryption::Failed { .. } => "encrypted, could not decrypt".into(),
    }
}

fn describe_signature(s: &SignatureStatus) -> String {
    match s {
        SignatureStatus::Unsigned => "none".into(),
        SignatureStatus::Valid { signer } => format!("valid, by {signer}"),
        SignatureStatus::UnknownSigner { issuer } => format!("signer unknown (issuer {issuer})"),
        SignatureStatus::Bad { reason } => format!("BAD signature: {}", code_span(reason)),
    }
}

fn attachment_views(list: &[Attachment]) -> Vec<AttachmentView> {
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

impl Composer<'_> {
    fn view(&self, record: &Record, opened: &Opened) -> ReportView {
        let unreadable_reason = match &record.kind {
            Some(Kind::Unreadable { reason }) => Some(code_span(reason)),
            _ => opened.unreadable_reason().map(|r| code_span(&r)),
        };
        let recipients = match &opened.encryption {
            Encryption::Failed { recipients, .. } | Encryption::Decrypted { recipients, .. } => {
                recipients
                    .iter()
                    .map(|r| code_span(r))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
            Encryption::None => String::new(),
        };
        ReportView {
            tracking_id: record.tracking_id.clone(),
            kind: match record.kind {
                Some(Kind::Unreadable { .. }) => "unreadable",
                Some(Kind::FollowUp { .. }) => "follow-up",
                _ => "new",
            },
            received: when(record.received_at),
            respond_by: when(record.respond_by),
            disclose_by: when(record.disclose_by),
            reporter: code_span(opened.headers.from.as_deref().unwrap_or("(unknown)")),
            encryption: describe_encryption(&opened.encryption),
            signature: describe_signature(&opened.signature),
            unreadable_reason,
            recipients,
            raw_size: opened.raw_size,
            raw_sha256: opened.raw_sha256.clone(),
            attachments: attachment_views(&opened.attachments),
            notes: opened.notes.iter().map(|n| code_span(n)).collect(),
            text: if opened.text.trim().is_empty() {
                String::new()
            } else {
                fence(&opened.text)
            },
        }
    }

    pub fn issue(&self, record: &Record, opened: &Opened) -> Result<IssueDraft, TemplateError> {
        let view = self.view(record, opened);
        let body = self.templates.render("issue.md.j2", &view)?;
        let mut labels = Vec::new();
        if opened.is_encrypted() {
            labels.push("encrypted".to_string());
        }
        if matches!(record.kind, Some(Kind::Unreadable { .. })) {
            labels.push("undecryptable".to_string());
        }
        Ok(IssueDraft {
            tracking_id: record.tracking_id.clone(),
            title: title(&record.tracking_id, opened.subject.as_deref()),
            body: format!("{}\n{body}", marker(&record.tracking_id)),
            labels,
        })
    }

    pub fn comment(
        &self,
        record: &Record,
        opened: &Opened,
        issue: u64,
    ) -> Result<CommentDraft, TemplateError> {
        let view = self.view(record, opened);
        let body = self.templates.render("comment.md.j2", &view)?;
        Ok(CommentDraft {
            tracking_id: record.tracking_id.clone(),
            issue,
            body: format!("{}\n{body}", marker(&record.tracking_id)),
        })
    }

    /// Our Message-ID for the mail answering `record`.
    pub fn ack_message_id(&self, record: &Record) -> String {
        format!(
            "<{}.ack@{}>",
            record.tracking_id,
            self.settings.mail_domain()
        )
    }

    /// The acknowledgement, receipt or resend notice for a record. Uses only
    /// stored facts: nothing of the report's content.
    pub fn ack(&self, record: &Record, to: &str) -> Result<Outgoing, String> {
        let ack = &self.settings.ack;
        #[derive(Serialize)]
        struct AckView<'a> {
            tracking_id: &'a str,
            root_id: &'a str,
            received: String,
            respond_by: String,
            disclose_by: String,
            key_fingerprint: &'a str,
            policy_url: &'a str,
            encrypted: bool,
            reason: String,
        }
        let (template, subject, root_id, reason) = match &record.kind {
            Some(Kind::FollowUp { of }) => (
                "receipt.txt.j2",
                format!("[{of}] Follow-up received"),
                of.as_str(),
                String::new(),
            ),
            Some(Kind::Unreadable { reason }) => (
                "unreadable.txt.j2",
                format!("[{}] We could not read your message", record.tracking_id),
                record.tracking_id.as_str(),
                reason.clone(),
            ),
            _ => (
                "ack.txt.j2",
                format!("[{}] Your security report was received", record.tracking_id),
                record.tracking_id.as_str(),
                String::new(),
            ),
        };
        let view = AckView {
            tracking_id: &record.tracking_id,
            root_id,
            received: when(record.received_at),
            respond_by: when(record.respond_by),
            disclose_by: when(record.disclose_by),
            key_fingerprint: &self.key_fingerprint,
            policy_url: &ack.policy_url,
            encrypted: record.facts.encrypted,
            reason,
        };
        let body = self
            .templates
            .render(template, &view)
            .map_err(|e| e.to_string())?;
        mail::build(MailParts {
            from: &ack.from,
            reply_to: ack.reply_to.as_deref(),
            to,
            subject,
            message_id: self.ack_message_id(record),
            in_reply_to: record.facts.message_id.as_deref(),
            body,
            label: format!("{}-ack", record.tracking_id),
        })
    }
}
