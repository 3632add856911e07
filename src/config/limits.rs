//! `[limits]`: the budgets every message is held to.

use std::time::Duration;

use super::reader::{Problems, Section};

/// Bounds on hostile input.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_message_bytes: u64,
    pub max_decrypted_bytes: u64,
    pub max_mime_depth: u32,
    /// The header section of any (outer or decrypted) message.
    pub max_header_bytes: u64,
    /// Encrypted payloads opened per message (inline blocks, attachments, layers).
    pub max_payloads: u32,
    /// Report text kept inline; longer text is cut there and attached whole.
    pub max_text_bytes: u64,
    /// Attachments stored (tracker files) or shown inline per report; the
    /// rest are listed by name, size and SHA-256 only.
    pub max_attachments: u32,
    /// Bytes of attachments stored per report, all together; attachments
    /// that would pass it are listed only.
    pub max_upload_bytes: u64,
    /// MIME parts in any (outer, decrypted or attached) message, counted
    /// before any part is decoded, hashed or decrypted; more is "malformed".
    pub max_mime_parts: u32,
    /// Bytes of whole messages one intake pass brings in (IMAP: by
    /// `RFC822.SIZE`, before any body is fetched; Maildir: by file size),
    /// at least one message; the next pass follows at once.
    pub max_fetch_batch_bytes: u64,
    /// Wall-clock time one opening (decrypting and normalising a message)
    /// may take; past it the opening stops and counts as failed.
    pub open_budget: Duration,
    /// Failed session-key tries per key per message.
    pub max_key_attempts: u32,
    /// Anonymous-recipient (wildcard) session-key packets tried per message.
    pub max_wildcard_attempts: u32,
}

impl Limits {
    pub(super) fn read(mut s: Section, p: &mut Problems) -> Limits {
        let d = Limits::default();
        let limits = Limits {
            max_message_bytes: s.number_or(
                "max_message_bytes",
                1024..=1 << 34,
                d.max_message_bytes,
                p,
            ),
            max_decrypted_bytes: s.number_or(
                "max_decrypted_bytes",
                1024..=1 << 34,
                d.max_decrypted_bytes,
                p,
            ),
            max_mime_depth: s.number_or("max_mime_depth", 1..=100, d.max_mime_depth, p),
            max_header_bytes: s.number_or(
                "max_header_bytes",
                1024..=1 << 30,
                d.max_header_bytes,
                p,
            ),
            max_payloads: s.number_or("max_payloads", 1..=10_000, d.max_payloads, p),
            max_text_bytes: s.number_or("max_text_bytes", 1024..=1 << 30, d.max_text_bytes, p),
            max_attachments: s.number_or("max_attachments", 0..=10_000, d.max_attachments, p),
            max_upload_bytes: s.number_or("max_upload_bytes", 0..=1 << 34, d.max_upload_bytes, p),
            max_mime_parts: s.number_or("max_mime_parts", 1..=100_000, d.max_mime_parts, p),
            max_fetch_batch_bytes: s.number_or(
                "max_fetch_batch_bytes",
                1 << 16..=1 << 34,
                d.max_fetch_batch_bytes,
                p,
            ),
            open_budget: s.duration_or("open_budget", d.open_budget, p),
            max_key_attempts: s.number_or("max_key_attempts", 1..=100_000, d.max_key_attempts, p),
            max_wildcard_attempts: s.number_or(
                "max_wildcard_attempts",
                0..=1000,
                d.max_wildcard_attempts,
                p,
            ),
        };
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&limits.open_budget) {
            p.add(s.key("open_budget"), "must be between 1s and 1h");
        }
        s.finish(p);
        limits
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 64 << 20,
            max_decrypted_bytes: 128 << 20,
            max_mime_depth: 20,
            max_header_bytes: 1 << 20,
            max_payloads: 64,
            max_text_bytes: 1 << 20,
            max_attachments: 20,
            max_upload_bytes: 25 << 20,
            max_mime_parts: 5_000,
            max_fetch_batch_bytes: 32 << 20,
            open_budget: Duration::from_secs(60),
            max_key_attempts: crate::openpgp::budget::DEFAULT_KEY_ATTEMPTS,
            max_wildcard_attempts: crate::openpgp::budget::DEFAULT_WILDCARD_ATTEMPTS,
        }
    }
}
