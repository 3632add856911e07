//! Our outgoing mail: acknowledgement, follow-up receipt, resend notice.

use serde::Serialize;

use super::{when, Composer};
use crate::mailer::encrypt::Protection;
use crate::mailer::message::{self, MailParts};
use crate::mailer::message_id::MessageIds;
use crate::mailer::Outgoing;
use crate::record::{Kind, Record};

impl Composer<'_> {
    /// Our Message-ID for the mail answering `record`: deterministic, with
    /// the installation's keyed part ([`MessageIds`]).
    pub fn ack_message_id(&self, record: &Record, ids: &MessageIds) -> String {
        ids.ack(&record.tracking_id, &self.settings.mail_domain())
    }

    /// The acknowledgement, receipt or resend notice for a record, plain.
    pub fn ack(&self, record: &Record, to: &str, ids: &MessageIds) -> Result<Outgoing, String> {
        self.ack_sealed(record, to, None, ids)
    }

    /// The acknowledgement, receipt or resend notice for a record; signed
    /// and encrypted (PGP/MIME) with `protect`. Uses only stored facts:
    /// nothing of the report's content, and the subject is ours.
    pub fn ack_sealed(
        &self,
        record: &Record,
        to: &str,
        protect: Option<&Protection>,
        ids: &MessageIds,
    ) -> Result<Outgoing, String> {
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
            Some(Kind::FollowUp { of }) | Some(Kind::Resubmitted { of }) => (
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
        message::build(MailParts {
            from: &ack.from,
            reply_to: ack.reply_to.as_deref(),
            to,
            subject,
            message_id: self.ack_message_id(record, ids),
            in_reply_to: record.facts.message_id.as_deref(),
            references: &[],
            auto_submitted: true,
            body,
            label: format!("{}-ack", record.tracking_id),
            protect,
        })
    }
}
