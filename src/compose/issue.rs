//! Issue bodies and comments for the tracker.

use super::{
    attachment_views, describe_encryption, describe_signature, when, Composer, ReportView,
};
use crate::normalize::{Encryption, Opened};
use crate::record::{Kind, Record};
use crate::render::sanitize::{code_span, fence, title};
use crate::render::TemplateError;
use crate::tracker::{marker, CommentDraft, IssueDraft};

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
}
