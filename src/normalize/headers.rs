//! The header facts the pipeline decides on: who to answer, threading, and the
//! RFC 3834 signals of automatic mail.

use mail_parser::{Address, HeaderValue, Message, MimeHeaders};
use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Headers {
    pub from: Option<String>,
    pub reply_to: Option<String>,
    /// The outer subject (for encrypted mail often "..." or a decoy).
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub date: Option<String>,
    pub auto_submitted: Option<String>,
    pub precedence: Option<String>,
    /// Any `List-*` header is present.
    pub list: bool,
    /// `Return-Path: <>` (a bounce or other null-sender mail).
    pub null_return_path: bool,
    /// `multipart/report` (delivery and disposition notifications).
    pub is_report: bool,
    /// `X-Autoreply`, `X-Autorespond` and similar vendor markers.
    pub vendor_autoreply: bool,
    pub user_agent: Option<String>,
    /// What a mailing list's copy carries about the list and the original
    /// sender (not in the corpus' golden files: it only matters with
    /// `[instance] list_ids`).
    #[serde(skip)]
    pub list_copy: ListCopy,
}

/// The headers by which a mailing list's copy of a message says which list
/// it is and who wrote it when the list rewrote `From:` (DMARC
/// mitigation), as Google Groups and Mailman 3 write them. Values are
/// bounded ([`shown_text`]); addresses lower case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListCopy {
    /// The identifier of `List-Id:` (RFC 2919), without its phrase and
    /// angle brackets, lower case.
    pub list_id: Option<String>,
    /// The address of `List-Post: <mailto:…>` (RFC 2369).
    pub list_post: Option<String>,
    /// The display name of `From:` ("'Alice' via Security").
    pub from_name: Option<String>,
    /// `X-Original-From:` (the From before the list rewrote it).
    pub original_from: Option<String>,
    /// `X-Original-Sender:` (Google Groups: the original sender).
    pub original_sender: Option<String>,
}

/// The identifier inside the last `<…>` of `value`, else the whole value.
fn bracketed(value: &str) -> &str {
    let v = value.trim();
    match (v.rfind('<'), v.rfind('>')) {
        (Some(a), Some(b)) if a < b => v.get(a + 1..b).unwrap_or(v).trim(),
        _ => v,
    }
}

/// An address in a header value such as `"Alice" <alice@example.org>` or
/// `alice@example.org`; None when it does not look like one.
fn address_in(value: &str) -> Option<String> {
    let a = bracketed(value).to_ascii_lowercase();
    let ok = a.matches('@').count() == 1
        && !a.starts_with('@')
        && !a.ends_with('@')
        && a.contains('.')
        && !a
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"(),;:".contains(c));
    ok.then_some(a)
}

impl ListCopy {
    fn read(m: &Message<'_>) -> ListCopy {
        let text = |name: &str| m.header_raw(name).map(shown_text);
        ListCopy {
            list_id: text("List-Id")
                .map(|v| bracketed(&v).to_ascii_lowercase())
                .filter(|v| !v.is_empty()),
            list_post: text("List-Post").and_then(|v| {
                let mailto = v.to_ascii_lowercase();
                let at = mailto.find("<mailto:")?;
                let rest = mailto.get(at + 8..)?;
                let end = rest.find(['>', '?'])?;
                address_in(rest.get(..end)?)
            }),
            from_name: m
                .from()
                .and_then(|a| a.first())
                .and_then(|a| a.name())
                .map(shown_text),
            original_from: text("X-Original-From").and_then(|v| address_in(&v)),
            original_sender: text("X-Original-Sender").and_then(|v| address_in(&v)),
        }
    }
}

fn first_address(a: Option<&Address<'_>>) -> Option<String> {
    a?.first()?.address().map(|s| s.trim().to_ascii_lowercase())
}

fn id_list(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// The longest header value kept as text. These values are the sender's
/// words and end up in `status.json`, metrics labels' neighbours and the
/// operator's terminal, so they are bounded and stripped of control
/// characters here, once.
const MAX_HEADER_TEXT_CHARS: usize = 200;

fn raw_text(m: &Message<'_>, name: &str) -> Option<String> {
    m.header_raw(name).map(shown_text)
}

/// `value` made safe to show: unfolded, every run of whitespace, control
/// and bidirectional-override characters one space, at most
/// [`MAX_HEADER_TEXT_CHARS`] chars.
pub(crate) fn shown_text(value: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in value.chars() {
        if c.is_whitespace() || is_unsafe_to_show(c) {
            gap = true;
            continue;
        }
        if gap && !out.is_empty() {
            out.push(' ');
        }
        gap = false;
        out.push(c);
        if out.chars().count() >= MAX_HEADER_TEXT_CHARS {
            break;
        }
    }
    out
}

fn is_unsafe_to_show(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

impl Headers {
    pub fn read(m: &Message<'_>) -> Headers {
        let content_type_report = m.root_part().content_type().is_some_and(|ct| {
            ct.c_type.eq_ignore_ascii_case("multipart")
                && ct
                    .c_subtype
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        });
        let list = m.headers().iter().any(|h| {
            let n = h.name();
            n.len() > 5 && n.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("list-"))
        });
        let null_return_path = m.header_raw("Return-Path").is_some_and(|v| {
            v.trim()
                .trim_matches(|c| c == '<' || c == '>')
                .trim()
                .is_empty()
        });
        // `X-Auto-Response-Suppress` is deliberately not a marker: it asks
        // the recipient not to auto-reply, and Exchange sets it on mail
        // people send too, so it does not show that a machine wrote the
        // message; counting it would leave a real report unfiled.
        let vendor_autoreply = ["X-Autoreply", "X-Autorespond"]
            .iter()
            .any(|h| m.header_raw(*h).is_some());
        Headers {
            from: first_address(m.from()),
            reply_to: first_address(m.reply_to()),
            subject: m.subject().map(|s| s.trim().to_string()),
            message_id: m.message_id().map(|s| s.trim().to_string()),
            in_reply_to: id_list(m.in_reply_to()),
            references: id_list(m.references()),
            date: m.date().map(|d| d.to_rfc3339()),
            auto_submitted: raw_text(m, "Auto-Submitted").map(|s| s.to_ascii_lowercase()),
            precedence: raw_text(m, "Precedence").map(|s| s.to_ascii_lowercase()),
            list,
            null_return_path,
            is_report: content_type_report,
            vendor_autoreply,
            user_agent: raw_text(m, "User-Agent").or_else(|| raw_text(m, "X-Mailer")),
            list_copy: ListCopy::read(m),
        }
    }

    /// Where an acknowledgement would go: Reply-To, else From.
    pub fn reply_address(&self) -> Option<String> {
        self.reply_to.clone().or_else(|| self.from.clone())
    }

    /// All message IDs this message refers to.
    pub fn referenced_ids(&self) -> impl Iterator<Item = &String> {
        self.in_reply_to.iter().chain(self.references.iter())
    }
}

#[cfg(test)]
mod tests;
