//! Sending acknowledgements: SMTP submission in production, an outbox
//! directory (one `.eml` per message) for the demo and trials.
//!
//! Every message we send has a deterministic Message-ID derived from the
//! tracking ID, so a resend after a crash is recognisable as the same message.

pub mod encrypt;
pub mod message;
pub mod message_id;
pub mod outbox;
pub mod reporter_key;
pub mod smtp;

use crate::support::effect::Effect;

/// A fully formatted message ready to go.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The Message-ID, with angle brackets.
    pub message_id: String,
    /// Envelope sender (our address) and recipient.
    pub envelope_from: String,
    pub envelope_to: String,
    /// RFC 5322 bytes.
    pub formatted: Vec<u8>,
    /// For file names: `JUPSEC-2026-0042-ack`.
    pub label: String,
}

pub enum Mailer {
    Smtp(smtp::SmtpMailer),
    Outbox(outbox::OutboxMailer),
}

impl Mailer {
    /// The outbox: a message written again under its label is not written
    /// twice (see [`crate::pipeline::Pipeline::put_sending`]).
    pub fn is_local(&self) -> bool {
        matches!(self, Mailer::Outbox(_))
    }

    pub async fn send(&self, mail: &Outgoing) -> Effect<()> {
        match self {
            Mailer::Smtp(m) => m.send(mail).await,
            Mailer::Outbox(m) => m.send(mail),
        }
    }

    /// Sends `mail`, addressing it in the same transaction also to
    /// `copy_to` (our own mailbox) when given: the server accepts the message
    /// for both or for neither, so the copy's arrival proves the sending.
    /// The outbox ignores `copy_to`: writing a message there is idempotent.
    pub async fn send_copying(&self, mail: &Outgoing, copy_to: Option<&str>) -> Effect<()> {
        match self {
            Mailer::Smtp(m) => m.send_with_copy(mail, copy_to).await,
            Mailer::Outbox(m) => m.send(mail),
        }
    }

    pub async fn check(&self) -> Effect<String> {
        match self {
            Mailer::Smtp(m) => m.check().await,
            Mailer::Outbox(m) => m.check(),
        }
    }
}
