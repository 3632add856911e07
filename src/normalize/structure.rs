//! The shape of a message, bounded before any of its parts is worked on
//! (decoded into text or attachments, hashed, decrypted).
//!
//! Before parsing: an upper bound on the MIME parts from the raw bytes, the
//! occurrences of `--` followed by a boundary the message declares, which
//! is how the parser (mail-parser) finds parts. After parsing and before
//! walking: the exact number of parts (those of attached messages too) and
//! the depth of nesting (multiparts in multiparts, attached messages).
//! A message over either bound is "malformed", with the reason.
//!
//! What the parser does before the count: one linear pass over at most
//! `max_message_bytes`, which also decodes a base64 `message/rfc822` part
//! to parse it (at most three such levels, mail-parser's own bound); the
//! exact count after parsing covers what the pre-scan cannot see.

use std::collections::HashSet;

use aho_corasick::AhoCorasick;
use mail_parser::{Message, PartType};

/// Boundaries longer than this are taken at this length (a prefix matches
/// at least as often as the whole, so the bound stays an upper bound).
const BOUNDARY_MAX: usize = 200;

/// At most `cap + 1`: how many MIME parts `raw` may hold at most, from
/// the delimiters of its declared boundaries. Every part other than the
/// root follows a delimiter, and an attached message (`message/rfc822`,
/// `message/global`, any child of a `multipart/digest`) adds its own root.
pub(super) fn part_bound(raw: &[u8], cap: u32) -> u64 {
    let limit = u64::from(cap) + 1;
    let Some(boundaries) = declared_boundaries(raw, cap as usize) else {
        // More boundaries than parts allowed: each declares a multipart.
        return limit;
    };
    if boundaries.is_empty() {
        return 1 + attached_roots(raw).min(limit);
    }
    let patterns: Vec<Vec<u8>> = boundaries
        .into_iter()
        .map(|b| [b"--".as_slice(), &b].concat())
        .collect();
    let Ok(ac) = AhoCorasick::new(&patterns) else {
        return limit;
    };
    let mut delimiters: u64 = 0;
    for _ in ac.find_overlapping_iter(raw) {
        delimiters += 1;
        if delimiters >= limit {
            return limit;
        }
    }
    let roots = if names_digest(raw) {
        delimiters
    } else {
        attached_roots(raw)
    };
    (1 + delimiters + roots).min(limit)
}

/// A case-insensitive searcher for fixed `words`, built once per process.
fn searcher(
    cell: &'static std::sync::OnceLock<Option<AhoCorasick>>,
    words: &[&str],
) -> Option<&'static AhoCorasick> {
    cell.get_or_init(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(words)
            .ok()
    })
    .as_ref()
}

/// How many attached-message types `raw` names (each may open a message).
fn attached_roots(raw: &[u8]) -> u64 {
    static ATTACHED: std::sync::OnceLock<Option<AhoCorasick>> = std::sync::OnceLock::new();
    searcher(&ATTACHED, &["message/rfc822", "message/global"])
        .map_or(u64::MAX / 4, |ac| ac.find_iter(raw).count() as u64)
}

/// Whether `raw` names `multipart/digest` (any case).
fn names_digest(raw: &[u8]) -> bool {
    static DIGEST: std::sync::OnceLock<Option<AhoCorasick>> = std::sync::OnceLock::new();
    searcher(&DIGEST, &["multipart/digest"]).is_none_or(|ac| ac.is_match(raw))
}

/// The values of every `boundary=` parameter in `raw` (anywhere: a few
/// extra ones only make the bound larger), distinct, at most
/// [`BOUNDARY_MAX`] bytes each; None when there are more than `max`.
fn declared_boundaries(raw: &[u8], max: usize) -> Option<Vec<Vec<u8>>> {
    const KEY: &[u8] = b"boundary=";
    let mut out: HashSet<Vec<u8>> = HashSet::new();
    let mut i = 0;
    while let Some(at) = raw.get(i..).and_then(|rest| {
        rest.windows(KEY.len())
            .position(|w| w.eq_ignore_ascii_case(KEY))
    }) {
        let start = i + at + KEY.len();
        let rest = raw.get(start..).unwrap_or(&[]);
        let value: &[u8] = match rest.first() {
            Some(b'"') => {
                let inner = rest.get(1..).unwrap_or(&[]);
                let end = inner.iter().position(|&b| b == b'"' || b == b'\n');
                inner.get(..end.unwrap_or(inner.len())).unwrap_or(&[])
            }
            _ => {
                let end = rest
                    .iter()
                    .position(|&b| b == b';' || b.is_ascii_whitespace());
                rest.get(..end.unwrap_or(rest.len())).unwrap_or(&[])
            }
        };
        let value = value.get(..value.len().min(BOUNDARY_MAX)).unwrap_or(&[]);
        if !value.is_empty() {
            out.insert(value.to_vec());
            if out.len() > max {
                return None;
            }
        }
        i = start;
    }
    Some(out.into_iter().collect())
}

/// The reason `raw` is refused before parsing, if its delimiters allow
/// more than `max` parts. `what`: "" or "decrypted ", for the reason.
pub(super) fn too_many_parts(raw: &[u8], max: u32, what: &str) -> Option<String> {
    (part_bound(raw, max) > u64::from(max))
        .then(|| format!("{what}message has more than {max} MIME parts"))
}

/// A parsed message's size in parts and its depth of nesting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Shape {
    /// Parts, those of attached messages included.
    pub parts: u64,
    /// Levels below the root: a multipart's children are one level down,
    /// an attached message's root one more.
    pub depth: u32,
}

/// The shape of `m`, without recursion (nesting may be deep).
pub(super) fn shape(m: &Message<'_>) -> Shape {
    let mut out = Shape::default();
    let mut messages: Vec<(&Message<'_>, u32)> = vec![(m, 0)];
    while let Some((msg, base)) = messages.pop() {
        out.parts += msg.parts.len() as u64;
        // (part id, depth): children ids come after their parent's, so a
        // walk from the root visits each part once; the step count bounds
        // it all the same.
        let mut stack: Vec<(u32, u32)> = vec![(0, base)];
        let mut steps = 0usize;
        while let Some((id, depth)) = stack.pop() {
            steps += 1;
            if steps > msg.parts.len() {
                break;
            }
            out.depth = out.depth.max(depth);
            let Some(part) = msg.part(id) else { continue };
            match &part.body {
                PartType::Multipart(children) => {
                    stack.extend(
                        children
                            .iter()
                            .filter(|&&c| c > id)
                            .map(|&c| (c, depth + 1)),
                    );
                }
                PartType::Message(inner) => messages.push((inner, depth + 1)),
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    fn nested(levels: usize) -> String {
        let mut open = String::from("From: a@example.org\r\nSubject: s\r\n");
        let mut close = String::new();
        for i in 0..levels {
            open.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
            ));
            close = format!("\r\n--b{i}--\r\n{close}");
        }
        format!("{open}Content-Type: text/plain\r\n\r\nhello{close}")
    }

    fn flat(parts: usize) -> String {
        let mut m = String::from(
            "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=XYZ\r\n\r\n",
        );
        for i in 0..parts {
            m.push_str(&format!(
                "--XYZ\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=f{i}.txt\r\n\r\nline {i}\r\n"
            ));
        }
        m.push_str("--XYZ--\r\n");
        m
    }

    #[test]
    fn the_bound_covers_the_parsed_count() {
        for n in [0, 1, 10, 300] {
            let raw = flat(n);
            let parsed = MessageParser::default()
                .parse(raw.as_bytes())
                .expect("parse");
            let s = shape(&parsed);
            assert_eq!(s.parts, n as u64 + 1);
            assert_eq!(s.depth, u32::from(n > 0));
            assert!(part_bound(raw.as_bytes(), 100_000) >= s.parts, "{n}");
        }
        assert_eq!(part_bound(flat(3000).as_bytes(), 500), 501);
        assert!(part_bound(flat(3000).as_bytes(), 5000) <= 3002);
    }

    #[test]
    fn depth_counts_nested_multiparts() {
        let raw = nested(30);
        let parsed = MessageParser::default()
            .parse(raw.as_bytes())
            .expect("parse");
        let s = shape(&parsed);
        assert_eq!(s.depth, 30);
        assert!(part_bound(raw.as_bytes(), 100_000) >= s.parts);
    }

    #[test]
    fn attached_messages_count() {
        let inner = flat(5);
        let raw = format!(
            "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=OUT\r\n\r\n--OUT\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--OUT\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--OUT--\r\n"
        );
        let parsed = MessageParser::default()
            .parse(raw.as_bytes())
            .expect("parse");
        let s = shape(&parsed);
        assert_eq!(s.parts, 3 + 6);
        assert_eq!(s.depth, 3);
        assert!(part_bound(raw.as_bytes(), 100_000) >= s.parts);
    }
}
