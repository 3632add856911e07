//! What several sections share: how a connection is protected
//! ([`Security`]), the "kind + sub-section" shape of `[source]`, `[tracker]`
//! and `[mailer]` ([`kind_section`]), and the check that a named file
//! exists ([`check_readable`]), and what an address looks like
//! ([`looks_like_address`]).

use std::path::PathBuf;

use super::reader::{Problems, Section};

/// How a connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Implicit TLS from the first byte.
    Tls,
    StartTls,
    /// No encryption: accepted for loopback hosts only.
    Plain,
}

pub(super) fn read_security(
    s: &mut Section,
    default: Security,
    host: Option<&str>,
    p: &mut Problems,
) -> Security {
    let sec = match s.opt_string("security", p).as_deref() {
        None => default,
        Some("tls") => Security::Tls,
        Some("starttls") => Security::StartTls,
        Some("plain") => Security::Plain,
        Some(_) => {
            p.add(
                s.key("security"),
                "must be \"tls\", \"starttls\" or \"plain\"",
            );
            default
        }
    };
    if sec == Security::Plain {
        if let Some(host) = host {
            if !is_loopback_host(host) {
                p.add(
                    s.key("security"),
                    "\"plain\" is allowed only for a loopback host (localhost, 127.0.0.1, ::1)",
                );
            }
        }
    }
    sec
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

pub(super) fn check_readable(s: &Section, key: &str, path: Option<&PathBuf>, p: &mut Problems) {
    if let Some(path) = path {
        if let Err(e) = std::fs::metadata(path) {
            p.add(
                s.key(key),
                format!("cannot read file {}: {}", path.display(), e.kind()),
            );
        }
    }
}

/// A required section that picks one of `kinds` with its `kind` key, each
/// kind configured in its own sub-section (`[source] kind = "imap"` and
/// `[source.imap]`). Returns the kind and its sub-section, or None after
/// recording why not; the sub-sections of the other kinds are read only so
/// that they are not reported as unknown.
pub(super) fn kind_section(
    mut s: Section,
    kinds: &[&str],
    p: &mut Problems,
) -> Option<(String, Section)> {
    if !s.required(p) {
        return None;
    }
    let kind = s.string("kind", p);
    let mut subs: Vec<(String, Section)> = kinds
        .iter()
        .map(|k| (k.to_string(), s.section(k, p)))
        .collect();
    let name = s.name.clone();
    s.finish(p);
    let kind = kind?;
    let Some(i) = subs.iter().position(|(k, _)| *k == kind) else {
        let quoted: Vec<String> = kinds.iter().map(|k| format!("\"{k}\"")).collect();
        p.add(
            format!("{name}.kind"),
            format!("must be {}", quoted.join(" or ")),
        );
        return None;
    };
    let (kind, sub) = subs.swap_remove(i);
    if !sub.is_present() {
        p.add(
            sub.name.clone(),
            format!("section is required when {name}.kind = \"{kind}\""),
        );
        return None;
    }
    Some((kind, sub))
}

/// Whether `a` has the shape of a mail address (`local@domain.tld`, no
/// spaces, controls or angle brackets).
pub(super) fn looks_like_address(a: &str) -> bool {
    match a.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !a
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        }
        None => false,
    }
}
