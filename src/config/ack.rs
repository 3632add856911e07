//! `[acknowledgement]`: the reply to the reporter, its rate caps and the
//! response and disclosure windows.

use std::path::PathBuf;
use std::time::Duration;

use super::reader::{Problems, Section};
use super::shared::looks_like_address;

#[derive(Debug, Clone)]
pub struct AckSettings {
    /// `Name <address>` the acknowledgement comes from.
    pub from: String,
    pub reply_to: Option<String>,
    pub templates: PathBuf,
    pub response_window: Duration,
    pub disclosure_window: Duration,
    pub policy_url: String,
    /// Send a short receipt for follow-ups and resubmissions.
    pub followup_receipts: bool,
    /// Also address each of our messages (in the same SMTP transaction) to
    /// our first instance address, so that after a crash between the SMTP
    /// server accepting a message and the state write, the copy arriving in
    /// the watched mailbox proves it went out (see `pipeline::ack`).
    pub sent_copy: bool,
    /// How long to wait for that copy before concluding the message did not
    /// go out and sending it again (same Message-ID).
    pub sent_copy_wait: Duration,
    /// A directory of reporters' public keys (`*.asc`, `*.pgp`, `*.gpg`,
    /// any number of certificates per file), used besides keys attached to a
    /// report and its Autocrypt header to encrypt acknowledgements.
    pub reporter_keys: Option<PathBuf>,
    /// At most this many acknowledgements to one address per
    /// `per_address_window` ([`crate::pipeline::ratecap`], addresses compared
    /// normalised); more are suppressed.
    pub per_address_max: u32,
    pub per_address_window: Duration,
    /// At most this many acknowledgements in all per `global_window`; more
    /// are postponed until the window has room, never dropped.
    pub global_max: u32,
    pub global_window: Duration,
    /// An acknowledgement still unsent this long before the response
    /// deadline raises an operator alert (log, status, metric).
    pub alert_before: Duration,
}

impl AckSettings {
    pub(super) fn read(mut s: Section, p: &mut Problems) -> Option<AckSettings> {
        if !s.required(p) {
            return None;
        }
        let from = s.string("from", p);
        if let Some(f) = &from {
            if from_address(f).is_none() {
                p.add(
                    s.key("from"),
                    "must be an address, optionally as \"Name <address>\"",
                );
            }
        }
        let reply_to = s.opt_string("reply_to", p);
        if reply_to
            .as_deref()
            .is_some_and(|r| from_address(r).is_none())
        {
            p.add(
                s.key("reply_to"),
                "must be an address, optionally as \"Name <address>\"",
            );
        }
        let templates = PathBuf::from(s.string_or("templates", "config/templates", p));
        let response_window = s.duration_or("response_window", Duration::from_secs(3 * 86_400), p);
        let disclosure_window =
            s.duration_or("disclosure_window", Duration::from_secs(90 * 86_400), p);
        let policy_url = s.string_or("policy_url", "https://jupyter.org/security", p);
        let followup_receipts = s.bool_or("followup_receipts", true, p);
        let sent_copy = s.bool_or("sent_copy", false, p);
        let sent_copy_wait = s.duration_or("sent_copy_wait", Duration::from_secs(600), p);
        let reporter_keys = s.opt_string("reporter_keys", p).map(PathBuf::from);
        let cap = |s: &mut Section, key: &str, default: u32, p: &mut Problems| {
            s.number_or(key, 1..=1_000_000, default, p)
        };
        let per_address_max = cap(&mut s, "per_address_max", 5, p);
        let per_address_window =
            s.duration_or("per_address_window", Duration::from_secs(86_400), p);
        let global_max = cap(&mut s, "global_max", 100, p);
        let global_window = s.duration_or("global_window", Duration::from_secs(3600), p);
        // A window under a second would make a cap count nothing.
        for (key, d) in [
            ("per_address_window", per_address_window),
            ("global_window", global_window),
        ] {
            if d < Duration::from_secs(1) {
                p.add(s.key(key), "must be at least 1s");
            }
        }
        let alert_before = s.duration_or("alert_before", Duration::from_secs(86_400), p);
        s.finish(p);
        Some(AckSettings {
            from: from?,
            reply_to,
            templates,
            response_window,
            disclosure_window,
            policy_url,
            followup_receipts,
            sent_copy,
            sent_copy_wait,
            reporter_keys,
            per_address_max,
            per_address_window,
            global_max,
            global_window,
            alert_before,
        })
    }
}

/// The bare address out of `Name <addr>` or `addr`.
pub fn from_address(text: &str) -> Option<String> {
    let addr = match (text.rfind('<'), text.rfind('>')) {
        (Some(a), Some(b)) if a < b => text.get(a + 1..b)?,
        (None, None) => text.trim(),
        _ => return None,
    };
    looks_like_address(addr).then(|| addr.to_string())
}
