//! Reporter addresses: which one an acknowledgement goes to, and when two
//! addresses are the same reporter.
//!
//! # The rule: an acknowledgement goes to an address the message proves
//!
//! Anyone can write any `Reply-To:`. Answering it blindly turns the
//! security inbox into a reflector: mail with `From:` the attacker's own
//! address and `Reply-To:` a victim makes us send the victim mail they
//! never asked for, from a reputable domain, without the attacker having to
//! forge a `From:` (which DMARC at our MX and the victim's would catch).
//! So the acknowledgement goes to
//!
//! 1. `From:`, when there is no `Reply-To:` or it is the same address;
//! 2. `Reply-To:` when it names one of our own addresses (returned as is,
//!    so that the pipeline records "reply address is our own" and sends
//!    nothing: loop protection comes first);
//! 3. `Reply-To:` when it is in the same domain as `From:` (exact domain,
//!    case-insensitive: whoever may write as the `From:` domain controls
//!    its other mailboxes; no subdomains, which would need the public
//!    suffix list to be safe);
//! 4. `Reply-To:` when the message carries a valid signature by a key from
//!    the operator's reporter-key directory (`[acknowledgement]
//!    reporter_keys`) that has a user ID with the `Reply-To:` address. Keys
//!    the message brings (attached, Autocrypt) prove nothing: anyone can
//!    make a key with any user ID;
//! 5. otherwise `From:`. Without `From:` nothing can be proven, and no
//!    acknowledgement is sent.
//!
//! `Return-Path:` is not used: it is the bounce address (often a VERP or a
//! list or mail service's bounce handler, not a person), it is written by
//! the delivering MTA only as far as that MTA is configured to, and
//! proving a `Reply-To:` by it would prove nothing a forged `From:` does
//! not already. Its one use stays the RFC 3834 one: `Return-Path: <>` is
//! never answered ([`crate::classify::automatic_reason`]).
//!
//! # The same reporter
//!
//! [`normalised`] folds case (the whole address; local parts are
//! case-sensitive in theory and never in practice) and drops a `+tag` from
//! the local part, so `Alice+sec@Example.org` and `alice@example.org` are
//! one reporter, for the per-address rate cap and for threading by a
//! tracking ID in the subject. Dots are not folded: only Gmail ignores
//! them, folding them everywhere would merge distinct people elsewhere, and
//! a Gmail user varying dots to escape the per-address cap still meets the
//! global cap.

use crate::normalize::Opened;
use crate::openpgp::SignatureStatus;

/// An address in the form used to compare reporters: lower case, without a
/// `+tag` in the local part.
pub fn normalised(address: &str) -> String {
    let a = address.trim().to_lowercase();
    match a.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(l, _)| l);
            format!("{local}@{domain}")
        }
        None => a,
    }
}

/// Whether two addresses are the same reporter ([`normalised`]).
pub fn same(a: &str, b: &str) -> bool {
    normalised(a) == normalised(b)
}

fn domain(address: &str) -> Option<String> {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
}

/// The address an acknowledgement of `opened` goes to, by the rule above.
/// `own` are our instance addresses; `signed_for` answers whether the
/// message is validly signed by a directory key with a user ID for the
/// given address (asked only when the answer matters).
pub fn ack_address(
    opened: &Opened,
    own: &[String],
    signed_for: impl FnOnce(&str) -> bool,
) -> Option<String> {
    let h = &opened.headers;
    let from = h.from.clone();
    let Some(reply_to) = h.reply_to.clone() else {
        return from;
    };
    if from.as_deref().is_some_and(|f| same(f, &reply_to))
        || own.iter().any(|o| o.eq_ignore_ascii_case(&reply_to))
    {
        return Some(reply_to);
    }
    let from = from?;
    if domain(&from).is_some_and(|d| domain(&reply_to).as_deref() == Some(d.as_str())) {
        return Some(reply_to);
    }
    if matches!(opened.signature, SignatureStatus::Valid { .. }) && signed_for(&reply_to) {
        return Some(reply_to);
    }
    Some(from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{Encryption, Headers};

    fn opened(from: Option<&str>, reply_to: Option<&str>, signed: bool) -> Opened {
        Opened {
            headers: Headers {
                from: from.map(str::to_string),
                reply_to: reply_to.map(str::to_string),
                ..Headers::default()
            },
            subject: None,
            encryption: Encryption::None,
            signature: if signed {
                SignatureStatus::Valid {
                    signer: "AB".repeat(20),
                }
            } else {
                SignatureStatus::Unsigned
            },
            text: String::new(),
            attachments: Vec::new(),
            malformed: None,
            notes: Vec::new(),
            raw_size: 0,
            raw_sha256: String::new(),
            prepared: None,
        }
    }

    const OWN: &[&str] = &["security@example.org"];

    fn pick(from: Option<&str>, reply_to: Option<&str>, signed: bool, key: bool) -> Option<String> {
        let own: Vec<String> = OWN.iter().map(|s| s.to_string()).collect();
        ack_address(&opened(from, reply_to, signed), &own, |_| key)
    }

    #[test]
    fn normalises_case_and_tags_not_dots() {
        assert_eq!(normalised(" Alice+sec@Example.ORG "), "alice@example.org");
        assert_eq!(normalised("a.b@gmail.com"), "a.b@gmail.com");
        assert!(same("BOB+x+y@reporter.example", "bob@REPORTER.example"));
        assert!(!same("bob@reporter.example", "bob@other.example"));
        assert!(!same("a.b@gmail.com", "ab@gmail.com"));
        assert_eq!(normalised("no-at-sign"), "no-at-sign");
    }

    #[test]
    fn from_without_reply_to() {
        let a = Some("alice@reporter.example");
        assert_eq!(pick(a, None, false, false).as_deref(), a);
        assert_eq!(pick(None, None, false, false), None);
    }

    #[test]
    fn reply_to_in_the_from_domain_is_used() {
        assert_eq!(
            pick(
                Some("alice@reporter.example"),
                Some("security-team@REPORTER.example"),
                false,
                false
            )
            .as_deref(),
            Some("security-team@REPORTER.example")
        );
    }

    #[test]
    fn third_party_reply_to_is_not_reflected() {
        // The reflection attack: our mail would go to the victim.
        let from = Some("attacker@evil.example");
        let victim = Some("victim@victim.example");
        assert_eq!(pick(from, victim, false, false).as_deref(), from);
        // A subdomain is another domain.
        assert_eq!(
            pick(from, Some("x@mail.evil.example"), false, false).as_deref(),
            from
        );
        // Signed, but by no directory key with the victim's user ID.
        assert_eq!(pick(from, victim, true, false).as_deref(), from);
        // A directory key for it, but the signature is not valid.
        assert_eq!(pick(from, victim, false, true).as_deref(), from);
        // Without From nothing is proven.
        assert_eq!(pick(None, victim, true, true), None);
    }

    #[test]
    fn reply_to_proven_by_a_directory_key_signature() {
        assert_eq!(
            pick(
                Some("alice@gmail.example"),
                Some("alice@work.example"),
                true,
                true
            )
            .as_deref(),
            Some("alice@work.example")
        );
    }

    #[test]
    fn reply_to_naming_us_is_kept_for_the_loop_check() {
        assert_eq!(
            pick(
                Some("bob@reporter.example"),
                Some("security@example.org"),
                false,
                false
            )
            .as_deref(),
            Some("security@example.org")
        );
    }

    #[test]
    fn same_address_with_a_tag_is_the_same() {
        assert_eq!(
            pick(
                Some("bob@reporter.example"),
                Some("bob+acks@reporter.example"),
                false,
                false
            )
            .as_deref(),
            Some("bob+acks@reporter.example")
        );
    }
}
