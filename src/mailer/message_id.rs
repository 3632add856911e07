//! Our Message-IDs: `<TRACKING-ID.PURPOSE.TAG@domain>`, e.g.
//! `<JUPSEC-2026-0042.ack.3f9c…@ipython.org>`. TAG is HMAC-SHA256 of the
//! tracking ID and the purpose under a per-installation key, truncated to
//! 128 bits (32 hex digits). The ID is deterministic (a resend carries the
//! same one, so it is recognisable) and cannot be guessed without the key:
//! tracking IDs are sequential, so an ID without the keyed part would let
//! anyone thread text onto any report, or forge the copy that confirms an
//! interrupted acknowledgement (`pipeline::ack`).
//!
//! The key is derived from the store's per-installation secret
//! ([`crate::store::Store::similarity_key`]) with its own label (domain
//! separation), so no new secret has to be created, backed up or migrated,
//! and no Message-ID tells anything about the similarity hashes.
//!
//! Mail written before the keyed part existed carries `<ID.ack@domain>`;
//! [`MessageIds::read`] calls that [`Ours::Legacy`]. Classification gives
//! legacy and forged IDs no more weight than a tracking ID in a subject
//! (threaded only for the same reporter address, see [`crate::classify`]).

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Label of the derived key: changing it changes every Message-ID.
const LABEL: &[u8] = b"secintake/message-id/v1";
/// Bytes of the tag (128 bits).
const TAG_BYTES: usize = 16;

/// What a Message-ID that names one of our tracking IDs proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ours {
    /// Made by us: the keyed part verifies. The sender has seen our mail.
    Keyed(String),
    /// The format before the keyed part (`<ID.ack@domain>`): guessable.
    Legacy(String),
    /// Looks like ours (`ID.` then anything) but the keyed part is wrong or
    /// missing: a guess or a forgery.
    Forged(String),
}

impl Ours {
    /// The tracking ID named, whatever the proof.
    pub fn tracking_id(&self) -> &str {
        match self {
            Ours::Keyed(t) | Ours::Legacy(t) | Ours::Forged(t) => t,
        }
    }
}

/// Makes and checks our Message-IDs.
#[derive(Clone)]
pub struct MessageIds {
    key: [u8; 32],
}

impl std::fmt::Debug for MessageIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MessageIds(..)")
    }
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: this cannot fail.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

impl MessageIds {
    /// The Message-ID key for an installation, from its store secret.
    pub fn derive(installation_secret: &[u8]) -> MessageIds {
        let mut m = mac(installation_secret);
        m.update(LABEL);
        MessageIds {
            key: m.finalize().into_bytes().into(),
        }
    }

    fn keyed(&self, tracking_id: &str, purpose: &str) -> HmacSha256 {
        let mut m = mac(&self.key);
        m.update(tracking_id.as_bytes());
        m.update(&[0]);
        m.update(purpose.as_bytes());
        m
    }

    fn tag(&self, tracking_id: &str, purpose: &str) -> String {
        let full = self.keyed(tracking_id, purpose).finalize().into_bytes();
        hex::encode(full.get(..TAG_BYTES).unwrap_or_default())
    }

    /// Our Message-ID (with angle brackets) for mail about `tracking_id`.
    pub fn make(&self, tracking_id: &str, purpose: &str, domain: &str) -> String {
        format!(
            "<{tracking_id}.{purpose}.{}@{domain}>",
            self.tag(tracking_id, purpose)
        )
    }

    /// The acknowledgement's (or receipt's) Message-ID.
    pub fn ack(&self, tracking_id: &str, domain: &str) -> String {
        self.make(tracking_id, "ack", domain)
    }

    /// Whether `tag` (hex) is the keyed part for this ID and purpose;
    /// compared in constant time.
    fn verifies(&self, tracking_id: &str, purpose: &str, tag: &str) -> bool {
        if tag.len() != TAG_BYTES * 2 {
            return false;
        }
        let Ok(bytes) = hex::decode(tag) else {
            return false;
        };
        self.keyed(tracking_id, purpose)
            .verify_truncated_left(&bytes)
            .is_ok()
    }

    /// What a Message-ID (with or without angle brackets) that looks like
    /// ours proves; None when it names none of our tracking IDs.
    pub fn read(&self, id: &str, prefix: &str) -> Option<Ours> {
        let id = id.trim().trim_matches(|c| c == '<' || c == '>');
        let (local, _domain) = id.rsplit_once('@')?;
        let mut parts = local.split('.');
        let tid = parts.next()?;
        let named = crate::record::tracking_ids_in(tid, prefix)
            .into_iter()
            .next()
            .filter(|t| t == tid)?;
        let rest: Vec<&str> = parts.collect();
        Some(match rest.as_slice() {
            [purpose, tag] if self.verifies(&named, purpose, tag) => Ours::Keyed(named),
            ["ack"] => Ours::Legacy(named),
            _ => Ours::Forged(named),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_keyed() {
        let a = MessageIds::derive(b"installation-a");
        let b = MessageIds::derive(b"installation-b");
        let id = a.ack("JUPSEC-2026-0042", "example.org");
        assert_eq!(id, a.ack("JUPSEC-2026-0042", "example.org"));
        assert_ne!(id, b.ack("JUPSEC-2026-0042", "example.org"));
        assert_ne!(id, a.ack("JUPSEC-2026-0043", "example.org"));
        assert!(id.starts_with("<JUPSEC-2026-0042.ack."), "{id}");
        assert!(id.ends_with("@example.org>"), "{id}");
        let tag = id
            .trim_start_matches("<JUPSEC-2026-0042.ack.")
            .trim_end_matches("@example.org>");
        assert_eq!(tag.len(), 32);
        assert!(tag.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn reads_what_an_id_proves() {
        let k = MessageIds::derive(b"k");
        let ours = k.ack("JUPSEC-2026-0042", "example.org");
        let tid = || "JUPSEC-2026-0042".to_string();
        assert_eq!(k.read(&ours, "JUPSEC"), Some(Ours::Keyed(tid())));
        assert_eq!(
            k.read(ours.trim_matches(|c| c == '<' || c == '>'), "JUPSEC"),
            Some(Ours::Keyed(tid()))
        );
        // Another installation's key, the old format, a guessed tag.
        let other = MessageIds::derive(b"other").ack("JUPSEC-2026-0042", "example.org");
        assert_eq!(k.read(&other, "JUPSEC"), Some(Ours::Forged(tid())));
        assert_eq!(
            k.read("<JUPSEC-2026-0042.ack@example.org>", "JUPSEC"),
            Some(Ours::Legacy(tid()))
        );
        let guessed = format!("<JUPSEC-2026-0042.ack.{}@example.org>", "0".repeat(32));
        assert_eq!(k.read(&guessed, "JUPSEC"), Some(Ours::Forged(tid())));
        // The tag of one tracking ID does not verify for another.
        let moved = ours.replace("0042", "0041");
        assert_eq!(
            k.read(&moved, "JUPSEC"),
            Some(Ours::Forged("JUPSEC-2026-0041".into()))
        );
        // Not ours at all.
        assert_eq!(k.read("<abc@example.org>", "JUPSEC"), None);
        assert_eq!(k.read("<JUPSEC-2026-0042@example.org>", "OTHER"), None);
        assert_eq!(k.read("no at sign", "JUPSEC"), None);
        assert_eq!(
            k.read("<JUPSEC-2026-0042.ack.zz@x>", "JUPSEC"),
            Some(Ours::Forged(tid()))
        );
    }
}
