//! Walking a parsed message: text, attachments, and the encrypted content
//! inside it, recursively and within the depth and size limits.

use std::collections::HashSet;

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};

use super::locate::{
    self, armor_blocks, clean_armor, content_type, encrypted_body_part, is_openpgp_data,
};
use super::{Attachment, Encryption, Opened};
use crate::config::Limits;
use crate::openpgp::{self, Keyring, SignatureStatus};

pub(super) struct Context<'a> {
    pub keyring: &'a Keyring,
    pub limits: &'a Limits,
    pub opened: &'a mut Opened,
}

const ENCRYPTED_SUFFIXES: [&str; 3] = [".pgp", ".gpg", ".asc"];

impl Context<'_> {
    pub fn walk_message(&mut self, m: &Message<'_>, depth: u32) {
        if depth > self.limits.max_mime_depth {
            self.opened.malformed = Some(format!(
                "MIME nesting deeper than {} levels",
                self.limits.max_mime_depth
            ));
            return;
        }
        let mut handled: HashSet<u32> = HashSet::new();
        if let Some(id) = encrypted_body_part(m) {
            handled.insert(id);
            if let Some(part) = m.part(id) {
                self.open_encrypted_body(part.contents(), depth);
            }
        }
        for &id in &m.text_body {
            if handled.contains(&id) {
                continue;
            }
            if let Some(part) = m.part(id) {
                handled.insert(id);
                self.take_text(part, id == 0);
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
            if handled.contains(&id) {
                continue;
            }
            if let Some(part) = m.part(id) {
                handled.insert(id);
                self.take_attachment(part);
            }
        }
    }

    /// The decrypted content of a PGP/MIME body is itself a MIME entity.
    fn open_encrypted_body(&mut self, ciphertext: &[u8], depth: u32) {
        let Some(plain) = self.decrypt(ciphertext, "pgp/mime") else {
            return;
        };
        match MessageParser::default().parse(&plain) {
            Some(inner) => {
                // Protected headers (draft-autocrypt-lamps-protected-headers): the
                // inner Subject replaces the outer one, which is often "...".
                if let Some(subject) = inner.subject() {
                    self.opened.subject = Some(subject.trim().to_string());
                }
                self.walk_message(&inner, depth + 1);
            }
            None => self.push_text(&String::from_utf8_lossy(&plain)),
        }
    }

    fn take_text(&mut self, part: &MessagePart<'_>, is_root: bool) {
        // Legacy-display parts repeat the protected headers for old clients
        // (draft-autocrypt-lamps-protected-headers): a non-root text part
        // marked `protected-headers`.
        if !is_root
            && part
                .content_type()
                .is_some_and(|ct| ct.attribute("protected-headers").is_some())
        {
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

    fn take_attachment(&mut self, part: &MessagePart<'_>) {
        let ct = content_type(part);
        if ct == "application/pgp-signature" || locate::is_control_part(part) {
            return;
        }
        let name = part
            .attachment_name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("attachment-{}", self.opened.attachments.len() + 1));
        if let PartType::Message(inner) = &part.body {
            let raw = inner.raw_message().to_vec();
            self.push_attachment(Attachment::new(name, ct, raw, false));
            return;
        }
        let data = part.contents();
        let lower = name.to_ascii_lowercase();
        let encrypted_file = ENCRYPTED_SUFFIXES.iter().any(|s| lower.ends_with(s))
            && is_openpgp_data(data)
            && !locate::contains(data, b"-----BEGIN PGP PUBLIC KEY BLOCK-----");
        if encrypted_file {
            if let Some(plain) = self.decrypt(data, "encrypted attachment") {
                let stem = ENCRYPTED_SUFFIXES
                    .iter()
                    .find_map(|s| {
                        name.get(..name.len().saturating_sub(s.len()))
                            .filter(|_| lower.ends_with(s))
                    })
                    .unwrap_or(&name)
                    .to_string();
                self.push_attachment(Attachment::new(
                    stem,
                    "application/octet-stream".into(),
                    plain,
                    true,
                ));
                return;
            }
        }
        self.push_attachment(Attachment::new(name, ct, data.to_vec(), false));
    }

    fn push_text(&mut self, text: &str) {
        let text = text.trim_matches(|c: char| c == '\r' || c == '\n');
        if text.trim().is_empty() {
            return;
        }
        if !self.opened.text.is_empty() {
            self.opened.text.push_str("\n\n");
        }
        self.opened.text.push_str(text);
    }

    fn push_attachment(&mut self, a: Attachment) {
        self.opened.attachments.push(a);
    }

    /// Decrypts one payload and folds the outcome into the report's encryption facts.
    fn decrypt(&mut self, ciphertext: &[u8], format: &str) -> Option<Vec<u8>> {
        match openpgp::decrypt(
            self.keyring,
            ciphertext,
            &[],
            self.limits.max_decrypted_bytes,
        ) {
            Ok(d) => {
                if matches!(self.opened.signature, SignatureStatus::Unsigned) {
                    self.opened.signature = d.signature.clone();
                }
                if !matches!(self.opened.encryption, Encryption::Decrypted { .. }) {
                    self.opened.encryption = Encryption::Decrypted {
                        format: format.to_string(),
                        recipients: d.recipients,
                        key_used: d.key_used,
                    };
                }
                Some(d.plaintext)
            }
            Err(e) => {
                match &self.opened.encryption {
                    Encryption::Decrypted { .. } => self.opened.notes.push(format!(
                        "a further encrypted part could not be decrypted: {}",
                        e.reason
                    )),
                    _ => {
                        self.opened.encryption = Encryption::Failed {
                            reason: e.reason,
                            recipients: e.recipients,
                        }
                    }
                }
                None
            }
        }
    }
}
