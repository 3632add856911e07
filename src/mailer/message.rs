//! Formatting our outgoing mail: neutral subject with the tracking ID, our
//! deterministic Message-ID, threading headers, and `Auto-Submitted:
//! auto-replied` (RFC 3834). Nothing from the report's content or its
//! subject goes into headers; the one reporter-supplied value that does —
//! their address, in `To:` — is parsed as a mailbox (no CR/LF can survive),
//! and their Message-ID is echoed only when it passes [`safe_message_id`].
//!
//! With a [`Protection`], the text becomes an RFC 3156 PGP/MIME message:
//! the inner entity (text plus a protected copy of the subject) is signed
//! and encrypted, and the outer headers stay exactly as neutral as the
//! plain message's.

use lettre::message::header::{
    ContentDisposition, ContentType, Header, HeaderName, HeaderValue, Subject,
};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;

use crate::mailer::encrypt::Protection;
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
    /// More Message-IDs for `References:` after `in_reply_to` (our earlier
    /// mail in the thread); each must pass [`safe_message_id`].
    pub references: &'a [String],
    /// `Auto-Submitted: auto-replied` (RFC 3834): true for what secintake
    /// writes by itself, false for what a person wrote.
    pub auto_submitted: bool,
    pub body: String,
    pub label: String,
    /// Sign and encrypt the body (PGP/MIME) when given.
    pub protect: Option<&'a Protection>,
}

fn content_type(text: &str) -> Result<ContentType, String> {
    ContentType::parse(text).map_err(|e| format!("content type {text}: {e}"))
}

/// The PGP/MIME body: `multipart/encrypted` with the version part and the
/// armoured, signed and encrypted inner entity.
fn encrypted_body(subject: &str, body: String, protect: &Protection) -> Result<MultiPart, String> {
    let inner = SinglePart::builder()
        .header(content_type(
            "text/plain; charset=utf-8; protected-headers=\"v1\"",
        )?)
        .header(Subject::from(subject.to_string()))
        .body(body)
        .formatted();
    let armored = protect.seal(&inner)?;
    Ok(MultiPart::encrypted("application/pgp-encrypted".into())
        .singlepart(
            SinglePart::builder()
                .header(content_type("application/pgp-encrypted")?)
                .body(String::from("Version: 1\r\n")),
        )
        .singlepart(
            SinglePart::builder()
                .header(content_type(
                    "application/octet-stream; name=\"encrypted.asc\"",
                )?)
                .header(ContentDisposition::inline_with_name("encrypted.asc"))
                .body(armored),
        ))
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
        .subject(parts.subject.clone())
        .message_id(Some(parts.message_id.clone()))
        .date_now();
    if parts.auto_submitted {
        builder = builder.header(AutoSubmitted);
    }
    if let Some(r) = parts.reply_to {
        let r: Mailbox = r
            .parse()
            .map_err(|_| "acknowledgement.reply_to is not a valid mailbox".to_string())?;
        builder = builder.reply_to(r);
    }
    let replied = parts.in_reply_to.and_then(safe_message_id);
    let mut references: Vec<String> = replied.iter().cloned().collect();
    for r in parts.references.iter().filter_map(|r| safe_message_id(r)) {
        if !references.contains(&r) {
            references.push(r);
        }
    }
    if let Some(id) = replied {
        builder = builder.in_reply_to(id);
    }
    if !references.is_empty() {
        builder = builder.references(references.join(" "));
    }
    let message = match parts.protect {
        Some(p) => builder.multipart(encrypted_body(&parts.subject, parts.body, p)?),
        None => builder.header(ContentType::TEXT_PLAIN).body(parts.body),
    }
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

    fn parts<'a>(to: &'a str, in_reply_to: Option<&'a str>) -> MailParts<'a> {
        MailParts {
            from: "Security <security@example.org>",
            reply_to: Some("security@example.org"),
            to,
            subject: "[X-2026-0001] Your security report was received".into(),
            message_id: "<X-2026-0001.ack@example.org>".into(),
            in_reply_to,
            references: &[],
            auto_submitted: true,
            body: "Hello".into(),
            label: "X-2026-0001-ack".into(),
            protect: None,
        }
    }

    fn head(m: &Outgoing) -> String {
        let text = String::from_utf8_lossy(&m.formatted).into_owned();
        text.split("\r\n\r\n").next().unwrap_or("").to_string()
    }

    #[test]
    fn message_ids_are_checked() {
        assert_eq!(safe_message_id("<a@b>").as_deref(), Some("<a@b>"));
        assert_eq!(safe_message_id("a@b\r\nBcc: x@y"), None);
        assert_eq!(safe_message_id("nope"), None);
    }

    #[test]
    fn reporter_values_cannot_inject_headers() {
        // An address with a line break is refused outright.
        assert!(build(parts("a@example.org\r\nBcc: victim@example.org", None)).is_err());
        assert!(build(parts("a@example.org\nBcc: victim@example.org", None)).is_err());
        // A hostile Message-ID is not echoed at all.
        let m = build(parts(
            "a@example.org",
            Some("<x@y>\r\nBcc: victim@example.org"),
        ))
        .unwrap();
        let h = head(&m);
        assert!(!h.to_ascii_lowercase().contains("bcc"), "{h}");
        assert!(!h.contains("In-Reply-To"), "{h}");
        // A clean one is, in both threading headers.
        let m = build(parts("a@example.org", Some("<orig@reporter.example>"))).unwrap();
        let h = head(&m);
        assert!(h.contains("In-Reply-To: <orig@reporter.example>"), "{h}");
        assert!(h.contains("References: <orig@reporter.example>"), "{h}");
        assert!(h.contains("Auto-Submitted: auto-replied"), "{h}");
        assert!(h.contains("Reply-To: security@example.org"), "{h}");
        assert!(
            h.contains("Message-ID: <X-2026-0001.ack@example.org>"),
            "{h}"
        );
    }
}
