//! RFC 3156 `multipart/signed` parts and the certificates a message brings
//! along (attached keys, Autocrypt and Autocrypt-Gossip headers).

use std::collections::HashSet;

use mail_parser::{Message, PartType};

use super::body::Context;
use super::locate::{contains, content_type};
use crate::openpgp::verify;

const KEY_BLOCK: &[u8] = b"-----BEGIN PGP PUBLIC KEY BLOCK-----";

impl Context<'_> {
    /// Verifies each `multipart/signed` (protocol application/pgp-signature)
    /// in `m` and marks its signature part as handled.
    pub(super) fn check_signed_parts(&mut self, m: &Message<'_>, handled: &mut HashSet<u32>) {
        let raw = m.raw_message();
        for part in &m.parts {
            if content_type(part) != "multipart/signed" {
                continue;
            }
            let PartType::Multipart(children) = &part.body else {
                continue;
            };
            let (Some(&signed_id), Some(&sig_id)) = (children.first(), children.get(1)) else {
                continue;
            };
            let (Some(signed), Some(sig)) = (m.part(signed_id), m.part(sig_id)) else {
                continue;
            };
            if content_type(sig) != "application/pgp-signature" {
                continue;
            }
            handled.insert(sig_id);
            let start = signed.offset_header as usize;
            let end = signed.offset_end as usize;
            let Some(data) = raw.get(start..end.max(start)) else {
                continue;
            };
            let status = self.verify_entity(data, sig.contents());
            self.opened.signature = verify::combine(&self.opened.signature, status);
        }
    }

    /// RFC 3156 §5: the signed data is the MIME entity with CRLF line
    /// endings; the CRLF before the boundary belongs to the boundary. Parsers
    /// differ on where the entity ends, so both readings are tried.
    fn verify_entity(&self, data: &[u8], signature: &[u8]) -> crate::openpgp::SignatureStatus {
        let canonical = to_crlf(data);
        let trimmed = canonical
            .strip_suffix(b"\r\n")
            .unwrap_or(&canonical)
            .to_vec();
        let first = verify::verify_detached(self.keyring, &trimmed, signature, &self.certs);
        if matches!(first, crate::openpgp::SignatureStatus::Bad { .. }) {
            let second = verify::verify_detached(self.keyring, &canonical, signature, &self.certs);
            if matches!(second, crate::openpgp::SignatureStatus::Valid { .. }) {
                return second;
            }
        }
        first
    }

    /// Keys attached to `m` and in its Autocrypt headers become available
    /// for signature checks.
    pub(super) fn collect_certs(&mut self, m: &Message<'_>) {
        for part in &m.parts {
            for h in &part.headers {
                let name = h.name();
                if name.eq_ignore_ascii_case("autocrypt")
                    || name.eq_ignore_ascii_case("autocrypt-gossip")
                {
                    if let Some(value) = h.value().as_text() {
                        self.certs.extend(autocrypt_certs(value));
                    }
                }
            }
            if matches!(part.body, PartType::Multipart(_) | PartType::Message(_)) {
                continue;
            }
            let ct = content_type(part);
            let data = part.contents();
            if ct == "application/pgp-keys" || contains(data, KEY_BLOCK) {
                self.certs.extend(verify::certs_in(data));
            }
        }
        if self.certs.len() > 64 {
            self.certs.truncate(64);
        }
    }
}

/// Certificates carried inside a decrypted MIME entity (attached keys,
/// Autocrypt-Gossip), for a second signature check.
pub(super) fn certs_in_mime(data: &[u8]) -> Vec<sequoia_openpgp::Cert> {
    let Some(m) = mail_parser::MessageParser::default().parse(data) else {
        return Vec::new();
    };
    let mut certs = Vec::new();
    for part in &m.parts {
        for h in &part.headers {
            if h.name().eq_ignore_ascii_case("autocrypt-gossip") {
                if let Some(value) = h.value().as_text() {
                    certs.extend(autocrypt_certs(value));
                }
            }
        }
        if matches!(part.body, PartType::Multipart(_) | PartType::Message(_)) {
            continue;
        }
        let data = part.contents();
        if content_type(part) == "application/pgp-keys" || contains(data, KEY_BLOCK) {
            certs.extend(verify::certs_in(data));
        }
    }
    certs
}

/// The `keydata=` attribute of an Autocrypt header (base64, folded).
fn autocrypt_certs(value: &str) -> Vec<sequoia_openpgp::Cert> {
    let Some(pos) = value.find("keydata=") else {
        return Vec::new();
    };
    let b64: Vec<u8> = value
        .get(pos + "keydata=".len()..)
        .unwrap_or("")
        .bytes()
        .take_while(|&b| b != b';')
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    match mail_parser::decoders::base64::base64_decode(&b64) {
        Some(bytes) => verify::certs_in(&bytes),
        None => Vec::new(),
    }
}

/// Line endings made CRLF (bare LF and bare CR alike).
fn to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}
