//! A coordinator's mail to the reporter (`/reply`, `/notice`, see
//! [`crate::pipeline::commands`]) and secintake's answer on the issue
//! saying what became of the command.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{when, Composer};
use crate::mailer::encrypt::Protection;
use crate::mailer::message::{self, MailParts};
use crate::mailer::message_id::MessageIds;
use crate::mailer::Outgoing;
use crate::pipeline::commands::{Command, Notice};
use crate::record::Record;
use crate::render::sanitize::code_span_max;
use crate::tracker::marker;

/// The mail answering a command comment, before it is built.
pub struct ReplyMail<'a> {
    pub record: &'a Record,
    pub comment_id: u64,
    pub command: &'a Command,
    /// The comment below its command line.
    pub text: &'a str,
    pub to: &'a str,
    /// The reporter's latest message (In-Reply-To).
    pub in_reply_to: Option<&'a str>,
    /// Earlier mail of the thread (the report, our acknowledgement).
    pub references: &'a [String],
}

/// What became of a command comment, for the issue.
pub enum Outcome<'a> {
    Sent {
        to: &'a str,
        /// The reporter key's fingerprint when it went out encrypted.
        encrypted_to: Option<&'a str>,
        message_id: &'a str,
        at: DateTime<Utc>,
    },
    /// Not sent, and it will not be: why.
    Refused { reason: &'a str },
    /// A command that mails nothing did what `note` says.
    Done { note: &'a str },
}

impl Composer<'_> {
    /// The Message-ID of the mail answering command comment `comment_id`:
    /// deterministic and keyed, its own purpose per comment.
    pub fn reply_message_id(&self, record: &Record, comment_id: u64, ids: &MessageIds) -> String {
        ids.make(
            &record.tracking_id,
            &format!("reply-{comment_id}"),
            &self.settings.mail_domain(),
        )
    }

    /// The text of a command's mail, from `reply.txt.j2` or the notice's
    /// template.
    pub fn reply_text(
        &self,
        record: &Record,
        command: &Command,
        text: &str,
    ) -> Result<String, String> {
        #[derive(Serialize)]
        struct View<'a> {
            tracking_id: &'a str,
            text: &'a str,
            cve_id: &'a str,
            versions: &'a [String],
            received: String,
            disclose_by: String,
            policy_url: &'a str,
            key_fingerprint: &'a str,
        }
        let (template, cve_id, versions): (String, &str, &[String]) = match command {
            Command::Reply { .. } => ("reply.txt.j2".into(), "", &[]),
            Command::GhsaDraft { .. } => return Err("/ghsa draft sends no mail".into()),
            Command::Notice(n) => match n {
                Notice::Cve { id } => (n.template(), id.as_str(), &[]),
                Notice::Released { versions } => (n.template(), "", versions.as_slice()),
                _ => (n.template(), "", &[]),
            },
            Command::Change(c) => {
                return Err(format!("/{} sends no mail", c.name()));
            }
        };
        let view = View {
            tracking_id: &record.tracking_id,
            text,
            cve_id,
            versions,
            received: when(record.received_at),
            disclose_by: when(record.disclose_by),
            policy_url: &self.settings.ack.policy_url,
            key_fingerprint: &self.key_fingerprint,
        };
        self.templates
            .render(&template, &view)
            .map_err(|e| e.to_string())
    }

    /// The mail: from the team address, to the report's reply address,
    /// threaded, neutral subject, no `Auto-Submitted` (a person wrote it);
    /// signed and encrypted with `protect`.
    pub fn reply_mail(
        &self,
        m: &ReplyMail<'_>,
        protect: Option<&Protection>,
        ids: &MessageIds,
    ) -> Result<Outgoing, String> {
        let body = self.reply_text(m.record, m.command, m.text)?;
        let ack = &self.settings.ack;
        message::build(MailParts {
            from: &ack.from,
            reply_to: ack.reply_to.as_deref(),
            to: m.to,
            subject: format!("[{}] About your security report", m.record.tracking_id),
            message_id: self.reply_message_id(m.record, m.comment_id, ids),
            in_reply_to: m.in_reply_to,
            references: m.references,
            auto_submitted: false,
            body,
            label: format!("{}-reply-{}", m.record.tracking_id, m.comment_id),
            protect,
        })
    }

    /// Our comment on the issue about command comment `comment_id`, marker
    /// line first ([`marker::command`]).
    pub fn command_outcome(
        &self,
        record: &Record,
        comment_id: u64,
        command: &str,
        outcome: &Outcome<'_>,
    ) -> String {
        let head = marker::command(&record.tracking_id, comment_id);
        let what = code_span_max(command, 100);
        let text = match outcome {
            Outcome::Sent {
                to,
                encrypted_to,
                message_id,
                at,
            } => {
                let how = match encrypted_to {
                    Some(fpr) => format!(
                        "encrypted to the reporter's key {} and signed with the team key",
                        code_span_max(fpr, 100)
                    ),
                    None => "**not encrypted**".to_string(),
                };
                format!(
                    "Sent {what} (comment {comment_id}) to {} at {}, {how}.\nMessage-ID: {}",
                    code_span_max(to, 300),
                    when(*at),
                    code_span_max(message_id, 300),
                )
            }
            // Reasons are ours, never reporter or coordinator text.
            Outcome::Refused { reason } => {
                format!("Not sent: {what} (comment {comment_id}). {reason}")
            }
            Outcome::Done { note } => format!("Done: {what} (comment {comment_id}). {note}"),
        };
        format!("{head}\n{text}\n\n<sub>secintake, once per command comment.</sub>\n")
    }

    /// Our note that the mail of command comment `comment_id` failed and
    /// when it is tried again, marker line first
    /// ([`marker::command_failed`]). `error` is the mailer's, safe to show.
    pub fn command_failure(
        &self,
        tracking_id: &str,
        comment_id: u64,
        command: &str,
        error: &str,
        next: Option<DateTime<Utc>>,
    ) -> String {
        format!(
            "{}\nSending {} (comment {comment_id}) failed: {}. secintake tries again{}.\n",
            marker::command_failed(tracking_id, comment_id),
            code_span_max(command, 100),
            code_span_max(error, 500),
            next.map(|t| format!(" at {}", when(t))).unwrap_or_default(),
        )
    }
}
