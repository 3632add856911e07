//! What a message is: a new report, a follow-up to one, the same message
//! again, automatic mail that must never be answered (RFC 3834), or a report
//! we could not read. Decided from headers and the opened content; pure
//! except for look-ups in the store.

use crate::normalize::Opened;
use crate::record::{Kind, Record};
use crate::store::{Store, StoreError};

/// RFC 3834 and common practice: mail that must not be answered.
pub fn automatic_reason(opened: &Opened, own_addresses: &[String]) -> Option<String> {
    let h = &opened.headers;
    if let Some(v) = &h.auto_submitted {
        if v.split(';').next().map(str::trim) != Some("no") {
            return Some(format!(
                "Auto-Submitted: {}",
                v.split(';').next().unwrap_or("").trim()
            ));
        }
    }
    if h.is_report {
        return Some("delivery or disposition report (multipart/report)".into());
    }
    if h.null_return_path {
        return Some("null return path (bounce)".into());
    }
    if let Some(from) = &h.from {
        let local = from.split('@').next().unwrap_or("");
        if local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster") {
            return Some("sent by a mailer daemon".into());
        }
        if own_addresses.iter().any(|a| a == from) {
            return Some("sent from one of our own addresses".into());
        }
    }
    if h.list {
        return Some("mailing-list traffic (List-* headers)".into());
    }
    if let Some(p) = &h.precedence {
        if ["bulk", "junk", "list"].contains(&p.as_str()) {
            return Some(format!("Precedence: {p}"));
        }
    }
    if h.vendor_autoreply {
        return Some("auto-reply marker header (X-Autoreply)".into());
    }
    None
}

/// Tracking IDs mentioned in a text, e.g. `JUPSEC-2026-0042`.
pub fn tracking_ids_in(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find(prefix) {
        let after = rest.get(pos + prefix.len()..).unwrap_or("");
        let candidate: String = after.chars().take(1 + 4 + 1 + 6).collect();
        let mut chars = candidate.chars();
        if chars.next() == Some('-') {
            let year: String = chars.by_ref().take(4).collect();
            if year.len() == 4
                && year.chars().all(|c| c.is_ascii_digit())
                && chars.next() == Some('-')
            {
                let seq: String = chars.take_while(|c| c.is_ascii_digit()).collect();
                if seq.len() >= 4 {
                    out.push(format!("{prefix}-{year}-{seq}"));
                }
            }
        }
        rest = after;
    }
    out
}

/// The tracking ID inside one of our own generated Message-IDs.
pub fn tracking_id_of_our_message_id(id: &str, prefix: &str) -> Option<String> {
    let id = id.trim_matches(|c| c == '<' || c == '>');
    let (local, _) = id.split_once('@')?;
    let (tid, _) = local.split_once('.')?;
    tracking_ids_in(tid, prefix)
        .into_iter()
        .next()
        .filter(|t| t == tid)
}

/// Follows follow-ups to the report they belong to.
fn root_of(store: &dyn Store, id: String) -> Result<String, StoreError> {
    let mut id = id;
    for _ in 0..16 {
        match store.get(&id)? {
            Some(Record {
                kind: Some(Kind::FollowUp { of }),
                ..
            }) => id = of,
            _ => break,
        }
    }
    Ok(id)
}

pub fn classify(
    opened: &Opened,
    record: &Record,
    store: &dyn Store,
    prefix: &str,
    own_addresses: &[String],
) -> Result<Kind, StoreError> {
    if let Some(reason) = automatic_reason(opened, own_addresses) {
        return Ok(Kind::Automatic { reason });
    }
    if let Some(mid) = &opened.headers.message_id {
        if let Some(first) = store.by_message_id(mid)? {
            if first != record.tracking_id {
                return Ok(Kind::Duplicate { of: first });
            }
        }
    }
    for referenced in opened.headers.referenced_ids() {
        let target = match tracking_id_of_our_message_id(referenced, prefix) {
            Some(t) => Some(t),
            None => store.by_message_id(referenced)?,
        };
        if let Some(t) = target.filter(|t| *t != record.tracking_id) {
            if store.get(&t)?.is_some() {
                return Ok(Kind::FollowUp {
                    of: root_of(store, t)?,
                });
            }
        }
    }
    if let Some(subject) = &opened.subject {
        for t in tracking_ids_in(subject, prefix) {
            if t != record.tracking_id && store.get(&t)?.is_some() {
                return Ok(Kind::FollowUp {
                    of: root_of(store, t)?,
                });
            }
        }
    }
    if let Some(reason) = opened.unreadable_reason() {
        return Ok(Kind::Unreadable { reason });
    }
    Ok(Kind::New)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tracking_ids() {
        assert_eq!(
            tracking_ids_in("Re: [JUPSEC-2026-0042] thanks JUPSEC-2026-12345", "JUPSEC"),
            vec!["JUPSEC-2026-0042", "JUPSEC-2026-12345"]
        );
        assert!(tracking_ids_in("JUPSEC-26-0042 JUPSEC-2026-042", "JUPSEC").is_empty());
    }

    #[test]
    fn reads_our_message_ids() {
        assert_eq!(
            tracking_id_of_our_message_id("<JUPSEC-2026-0042.ack@ipython.org>", "JUPSEC")
                .as_deref(),
            Some("JUPSEC-2026-0042")
        );
        assert_eq!(
            tracking_id_of_our_message_id("<abc@example.org>", "JUPSEC"),
            None
        );
    }
}
