//! Walking a parsed message: text, attachments, signatures and the
//! encrypted content inside it, recursively and within the limits.

use std::collections::HashSet;

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};
use sequoia_openpgp::Cert;

use super::locate::{self, armor_blocks, clean_armor, content_type, encrypted_body_part};
use super::{Attachment, Opened};
use crate::config::Limits;
use crate::openpgp::{Budget, Keyring};

/// Where a message being walked came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// The message as received.
    Outer,
    /// The MIME entity inside a PGP/MIME payload: its headers are protected.
    Decrypted,
    /// A `message/rfc822` attachment: its headers are someone else's.
    Attached,
}

pub(super) struct Context<'a> {
    pub keyring: &'a Keyring,
    pub limits: &'a Limits,
    pub opened: &'a mut Opened,
    /// Certificates found in the message, for signature checks.
    pub certs: Vec<Cert>,
    /// Encrypted payloads tried so far (bounded by `limits.max_payloads`).
    pub payloads: u32,
    /// Plaintext bytes produced so far (bounded by `limits.max_decrypted_bytes`).
    pub decrypted_bytes: u64,
    /// MIME parts admitted so far, outer and decrypted messages together
    /// (bounded by `limits.max_mime_parts`).
    pub mime_parts: u64,
    /// Session-key tries and time left for the whole message.
    pub budget: &'a mut Budget,
}

impl Context<'_> {
    /// Whether a parsed message, found at `depth`, keeps within the part
    /// and nesting bounds, counting the parts already admitted; if not, the
    /// report is malformed and nothing of the message is worked on.
    /// `what`: "" or "decrypted ", for the reason.
    pub fn shape_fits(&mut self, m: &Message<'_>, depth: u32, what: &str) -> bool {
        let shape = super::structure::shape(m);
        let max_parts = self.limits.max_mime_parts;
        self.mime_parts = self.mime_parts.saturating_add(shape.parts);
        if self.mime_parts > u64::from(max_parts) {
            self.opened.malformed = Some(format!(
                "{what}message has more than {max_parts} MIME parts"
            ));
            return false;
        }
        if depth.saturating_add(shape.depth) > self.limits.max_mime_depth {
            self.opened.malformed = Some(format!(
                "{what}MIME nesting deeper than {} levels",
                self.limits.max_mime_depth
            ));
            return false;
        }
        true
    }

    pub fn walk_message(&mut self, m: &Message<'_>, depth: u32, origin: Origin) {
        if !self.budget.in_time() {
            return;
        }
        if depth > self.limits.max_mime_depth {
            self.opened.malformed = Some(format!(
                "MIME nesting deeper than {} levels",
                self.limits.max_mime_depth
            ));
            return;
        }
        self.collect_certs(m);
        let mut handled: HashSet<u32> = HashSet::new();
        // Detached signatures first, so their parts are not attachments.
        self.check_signed_parts(m, &mut handled);
        if let Some(id) = encrypted_body_part(m) {
            handled.insert(id);
            if let Some(part) = m.part(id) {
                self.open_encrypted_body(part.contents(), depth, origin);
            }
        }
        for &id in &m.text_body {
            if let Some(part) = m.part(id) {
                if handled.insert(id) {
                    self.take_text(part, id == 0);
                }
            }
        }
        if m.text_body.is_empty() {
            for &id in &m.html_body {
                if let Some(part) = m.part(id) {
                    if handled.insert(id) {
                        self.take_text(part, id == 0);
                    }
                }
            }
        }
        for &id in &m.attachments {
            if let Some(part) = m.part(id) {
                if handled.insert(id) {
                    self.take_attachment(part, depth);
                }
            }
        }
    }

    fn take_text(&mut self, part: &MessagePart<'_>, is_root: bool) {
        if !is_root && is_legacy_display(part) {
            return;
        }
        let text = match &part.body {
            PartType::Text(t) => t.to_string(),
            PartType::Html(h) => mail_parser::decoders::html::html_to_text(h),
            _ => String::from_utf8_lossy(part.contents()).into_owned(),
        };
        if text.contains(locate::ARMOR_BEGIN) {
            self.inline_decrypt(&text);
        } else {
            self.push_text(&text);
        }
    }

    /// Inline PGP: each armoured block is replaced by its plaintext.
    fn inline_decrypt(&mut self, text: &str) {
        let mut out = String::new();
        let mut last = 0;
        for (start, end) in armor_blocks(text) {
            out.push_str(text.get(last..start).unwrap_or(""));
            let block = clean_armor(text.get(start..end).unwrap_or(""));
            match self.decrypt(block.as_bytes(), "inline") {
                Some(plain) => out.push_str(&String::from_utf8_lossy(&plain)),
                None => out.push_str("[encrypted block that could not be decrypted]"),
            }
            last = end;
        }
        out.push_str(text.get(last..).unwrap_or(""));
        self.push_text(&out);
    }

    fn take_attachment(&mut self, part: &MessagePart<'_>, depth: u32) {
        let ct = content_type(part);
        if locate::is_control_part(part) {
            return;
        }
        let name = part
            .attachment_name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("attachment-{}", self.opened.attachments.len() + 1));
        if let PartType::Message(inner) = &part.body {
            let raw = inner.raw_message().to_vec();
            self.push_attachment(Attachment::new(name.clone(), ct, raw, false));
            // A forwarded or attached message: its text and attachments are
            // part of the report (an encrypted one is opened too).
            self.push_text(&format!("----- attached message {name} -----"));
            self.walk_message(inner, depth + 1, Origin::Attached);
            return;
        }
        let data = part.contents();
        if locate::is_encrypted_file(&name, &ct, data) {
            if let Some(plain) = self.decrypt(data, "encrypted attachment") {
                let stem = locate::strip_encrypted_suffix(&name).to_string();
                self.push_attachment(Attachment::new(
                    stem,
                    "application/octet-stream".into(),
                    plain,
                    true,
                ));
            } else {
                // Listed with its size and hash; the ciphertext itself is
                // never filed.
                let mut withheld =
                    Attachment::new(name, "application/pgp-encrypted".into(), Vec::new(), false);
                withheld.size = data.len() as u64;
                withheld.sha256 = super::sha256_hex(data);
                self.push_attachment(withheld);
            }
            return;
        }
        self.push_attachment(Attachment::new(name, ct, data.to_vec(), false));
    }

    pub(super) fn push_text(&mut self, text: &str) {
        let text = text.trim_matches(|c: char| c == '\r' || c == '\n');
        if text.trim().is_empty() {
            return;
        }
        let separator = if self.opened.text.is_empty() {
            ""
        } else {
            "\n\n"
        };
        let max = usize::try_from(self.limits.max_text_bytes).unwrap_or(usize::MAX);
        let room = max.saturating_sub(self.opened.text.len() + separator.len());
        if text.len() > room {
            // Too long to show: what fits is shown, the whole text attached.
            let mut cut = room;
            while cut > 0 && !text.is_char_boundary(cut) {
                cut -= 1;
            }
            let name = format!("text-{}.txt", self.opened.attachments.len() + 1);
            self.note(format!(
                "the text is longer than {max} bytes: it is cut there, and attached whole as {name}"
            ));
            self.push_attachment(Attachment::new(
                name,
                "text/plain".into(),
                text.as_bytes().to_vec(),
                false,
            ));
            if cut == 0 {
                return;
            }
            self.opened.text.push_str(separator);
            self.opened.text.push_str(text.get(..cut).unwrap_or(""));
            return;
        }
        self.opened.text.push_str(separator);
        self.opened.text.push_str(text);
    }

    fn push_attachment(&mut self, a: Attachment) {
        self.opened.attachments.push(a);
    }
}

/// A legacy-display part (draft-autocrypt-lamps-protected-headers) repeats
/// the protected headers as text for old clients: `text/rfc822-headers`, or
/// a text part marked `protected-headers` that carries no headers itself.
/// A part that does carry its own Subject is the protected payload, not a copy.
fn is_legacy_display(part: &MessagePart<'_>) -> bool {
    let Some(ct) = part.content_type() else {
        return false;
    };
    if ct
        .c_subtype
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers"))
    {
        return true;
    }
    let marked = ct.attribute("protected-headers").is_some();
    let own_subject = part
        .headers
        .iter()
        .any(|h| h.name().eq_ignore_ascii_case("subject"));
    let legacy_disposition = part
        .content_disposition()
        .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline"));
    let starts_with_header = part
        .contents()
        .get(..8)
        .is_some_and(|b| b.eq_ignore_ascii_case(b"subject:"));
    marked && !own_subject && (legacy_disposition || starts_with_header)
}
