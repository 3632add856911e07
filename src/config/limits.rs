//! `[limits]`: the budgets every message is held to.

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
        };
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
        }
    }
}
