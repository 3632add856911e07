//! A message over `[limits] max_message_bytes`, known by its header section
//! only: intake never fetched (IMAP) or read (Maildir) it whole. It is
//! filed as a stub from those headers — sender, Message-ID, date, size and
//! the subject unless the headers say the message is encrypted — and the
//! reporter is told the limit.

use mail_parser::{MessageParser, MimeHeaders};

use super::{Encryption, Headers, Opened};
use crate::config::Limits;

/// Opens the header section `raw` of a message of `size` bytes.
pub fn open_oversized(raw: &[u8], size: u64, limits: &Limits) -> Opened {
    let mut opened = Opened::blank(raw);
    opened.raw_size = size;
    opened.malformed = Some(format!(
        "message of {size} bytes exceeds the limit of {} bytes, so only its headers were read; please send it again smaller (large files as links)",
        limits.max_message_bytes
    ));
    opened.notes.push(format!(
        "only the header section ({} bytes) was fetched; the SHA-256 is of that section",
        raw.len()
    ));
    let Some(message) = MessageParser::default().parse_headers(raw) else {
        return opened;
    };
    opened.headers = Headers::read(&message);
    let encrypted = message.content_type().is_some_and(|ct| {
        let full = format!("{}/{}", ct.c_type, ct.c_subtype.as_deref().unwrap_or(""));
        full.eq_ignore_ascii_case("multipart/encrypted")
            || full.eq_ignore_ascii_case("application/pgp-encrypted")
            || ct
                .attribute("protocol")
                .is_some_and(|p| p.eq_ignore_ascii_case("application/pgp-encrypted"))
    });
    if encrypted {
        // Its subject may be the report's: not shown.
        opened.headers.subject = None;
        opened.encryption = Encryption::Failed {
            reason: crate::openpgp::DecryptFailure::NotOpened {
                reason: "not opened: over the size limit".into(),
            },
            recipients: Vec::new(),
        };
    } else {
        opened.subject = opened.headers.subject.clone();
    }
    opened
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stub_from_headers() {
        let limits = Limits {
            max_message_bytes: 65_536,
            ..Limits::default()
        };
        let plain = b"From: Alice <alice@example.org>\r\nSubject: Big report\r\nMessage-ID: <m1@example.org>\r\n\r\n";
        let o = open_oversized(plain, 2 << 20, &limits);
        assert_eq!(o.subject.as_deref(), Some("Big report"));
        assert_eq!(o.raw_size, 2 << 20);
        assert_eq!(o.headers.message_id.as_deref(), Some("m1@example.org"));
        let reason = o.unreadable_reason().expect("reason");
        assert!(
            reason.contains("2097152 bytes exceeds the limit of 65536"),
            "{reason}"
        );
        let encrypted = b"From: alice@example.org\r\nSubject: RCE in the kernel\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=x\r\n\r\n";
        let o = open_oversized(encrypted, 2 << 20, &limits);
        assert_eq!(o.subject, None);
        assert_eq!(o.headers.subject, None);
        assert!(o.is_encrypted());
        assert_eq!(
            o.headers.reply_address().as_deref(),
            Some("alice@example.org")
        );
    }
}
