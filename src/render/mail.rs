//! Formatting our outgoing mail: neutral subject with the tracking ID, our
//! deterministic Message-ID, threading headers, and `Auto-Submitted:
//! auto-replied` (RFC 3834). Nothing from the report's content or its
//! subject goes into headers.

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::Message;

use crate::mailer::Outgoing;

#[derive(Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-replied".to_string())
    }
}

/// A Message-ID from mail we received, safe to echo in In-Reply-To.
pub fn safe_message_id(id: &str) -> Option<String> {
    let id = id.trim().trim_matches(|c| c == '<' || c == '>');
    let ok = !id.is_empty()
        && id.len() <= 250
        && id.contains('@')
        && id
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '<' && c != '>');
    ok.then(|| format!("<{id}>"))
}

pub struct MailParts<'a> {
    pub from: &'a str,
    pub reply_to: Option<&'a str>,
    pub to: &'a str,
    pub subject: String,
    pub message_id: String,
    pub in_reply_to: Option<&'a str>,
    pub body: String,
    pub label: String,
}

pub fn build(parts: MailParts<'_>) -> Result<Outgoing, String> {
    let from: Mailbox = parts
        .from
        .parse()
        .map_err(|_| "acknowledgement.from is not a valid mailbox".to_string())?;
    let to: Mailbox = parts
        .to
        .parse()
        .map_err(|_| "the reporter's address is not a valid mailbox".to_string())?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to.clone())
        .subject(parts.subject)
        .message_id(Some(parts.message_id.clone()))
        .date_now()
        .header(AutoSubmitted)
        .header(ContentType::TEXT_PLAIN);
    if let Some(r) = parts.reply_to {
        let r: Mailbox = r
            .parse()
            .map_err(|_| "acknowledgement.reply_to is not a valid mailbox".to_string())?;
        builder = builder.reply_to(r);
    }
    if let Some(id) = parts.in_reply_to.and_then(safe_message_id) {
        builder = builder.in_reply_to(id.clone()).references(id);
    }
    let message = builder
        .body(parts.body)
        .map_err(|e| format!("cannot build message: {e}"))?;
    Ok(Outgoing {
        message_id: parts.message_id,
        envelope_from: from.email.to_string(),
        envelope_to: to.email.to_string(),
        formatted: message.formatted(),
        label: parts.label,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_checked() {
        assert_eq!(safe_message_id("<a@b>").as_deref(), Some("<a@b>"));
        assert_eq!(safe_message_id("a@b\r\nBcc: x@y"), None);
        assert_eq!(safe_message_id("nope"), None);
    }
}
