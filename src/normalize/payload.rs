//! Encrypted payloads: decryption within the message's budgets, and the
//! decrypted MIME entity of PGP/MIME (protected headers, nested layers).

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use super::body::{Context, Origin};
use super::header_section_len;
use super::locate::content_type;
use super::Encryption;
use crate::openpgp::{self, verify, SignatureStatus};

impl Context<'_> {
    /// The decrypted content of a PGP/MIME body is itself a MIME entity
    /// (or, from some clients, plain text).
    pub(super) fn open_encrypted_body(&mut self, ciphertext: &[u8], depth: u32, origin: Origin) {
        let Some(plain) = self.decrypt(ciphertext, "pgp/mime") else {
            return;
        };
        // Some clients put a blank line before the inner headers.
        let start = plain
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(plain.len());
        let plain = plain.get(start..).unwrap_or(&[]);
        if !looks_like_mime(plain) {
            self.push_text(&String::from_utf8_lossy(plain));
            return;
        }
        let headers = header_section_len(plain);
        if headers > self.limits.max_header_bytes {
            self.opened.malformed = Some(format!(
                "decrypted header section of {headers} bytes exceeds the limit of {} bytes",
                self.limits.max_header_bytes
            ));
            return;
        }
        if let Some(reason) =
            super::structure::too_many_parts(plain, self.limits.max_mime_parts, "decrypted ")
        {
            self.opened.malformed = Some(reason);
            return;
        }
        let Some(inner) = MessageParser::default().parse(plain) else {
            self.push_text(&String::from_utf8_lossy(plain));
            return;
        };
        if !self.shape_fits(&inner, depth + 1, "decrypted ") {
            return;
        }
        // Protected headers (draft-autocrypt-lamps-protected-headers): the
        // inner Subject replaces the outer one, which is often "...". It sits
        // on the root of the decrypted entity, or on the signed part of a
        // multipart/signed root. An attached message's headers are not ours.
        if origin != Origin::Attached {
            if let Some(subject) = protected_subject(&inner) {
                self.opened.subject = Some(subject);
            }
        }
        self.walk_message(&inner, depth + 1, Origin::Decrypted);
    }

    /// Decrypts one payload and folds the outcome into the report's
    /// encryption and signature facts. Bounded by the payload count and the
    /// plaintext budget of the whole message.
    pub(super) fn decrypt(&mut self, ciphertext: &[u8], format: &str) -> Option<Vec<u8>> {
        if !self.budget.in_time() {
            self.note(self.budget.over_time_reason());
            return None;
        }
        if self.payloads >= self.limits.max_payloads {
            self.note(format!(
                "more than {} encrypted parts: the rest were not opened",
                self.limits.max_payloads
            ));
            return None;
        }
        self.payloads += 1;
        let room = self
            .limits
            .max_decrypted_bytes
            .saturating_sub(self.decrypted_bytes);
        match openpgp::decrypt_within(self.keyring, ciphertext, &self.certs, room, self.budget) {
            Ok(d) => {
                self.decrypted_bytes = self
                    .decrypted_bytes
                    .saturating_add(d.plaintext.len() as u64);
                let mut signature = d.signature.clone();
                if matches!(signature, SignatureStatus::UnknownSigner { .. }) {
                    // The signer's key may travel inside the encrypted part.
                    let inner = super::signed::certs_in_mime(&d.plaintext);
                    if !inner.is_empty() {
                        self.certs.extend(inner);
                        if let Ok(again) = openpgp::decrypt_within(
                            self.keyring,
                            ciphertext,
                            &self.certs,
                            room,
                            self.budget,
                        ) {
                            signature = again.signature;
                        }
                    }
                }
                self.opened.signature = verify::combine(&self.opened.signature, signature);
                for note in &d.notes {
                    self.note(note.clone());
                }
                if !d.encrypted {
                    self.note(format!(
                        "an OpenPGP part ({format}) was not encrypted; its content is shown as is"
                    ));
                } else if !matches!(self.opened.encryption, Encryption::Decrypted { .. }) {
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
                    Encryption::Decrypted { .. } => self.note(format!(
                        "a further encrypted part could not be decrypted: {}",
                        e.failure
                    )),
                    _ => {
                        self.opened.encryption = Encryption::Failed {
                            reason: e.failure,
                            recipients: e.recipients,
                        }
                    }
                }
                None
            }
        }
    }

    pub(super) fn note(&mut self, note: String) {
        if !self.opened.notes.contains(&note) {
            self.opened.notes.push(note);
        }
    }
}

/// Starts with a header line (`Name: value`), as a MIME entity does.
fn looks_like_mime(data: &[u8]) -> bool {
    let line_end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let line = data.get(..line_end).unwrap_or(&[]);
    match line.iter().position(|&b| b == b':') {
        Some(colon) if colon > 0 => line
            .get(..colon)
            .is_some_and(|name| name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')),
        _ => false,
    }
}

fn protected_subject(inner: &Message<'_>) -> Option<String> {
    if let Some(s) = inner.subject() {
        return Some(s.trim().to_string());
    }
    let root = inner.parts.first()?;
    if content_type(root) != "multipart/signed" {
        return None;
    }
    let PartType::Multipart(children) = &root.body else {
        return None;
    };
    let first = inner.part(*children.first()?)?;
    let marked = first
        .content_type()
        .is_some_and(|ct| ct.attribute("protected-headers").is_some());
    if !marked {
        return None;
    }
    first
        .headers
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case("subject"))
        .and_then(|h| h.value().as_text())
        .map(|s| s.trim().to_string())
}
