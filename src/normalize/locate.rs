//! Finding OpenPGP data in a parsed message, whatever shape the client gave it.

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

pub(super) const ARMOR_BEGIN: &str = "-----BEGIN PGP MESSAGE-----";
pub(super) const ARMOR_END: &str = "-----END PGP MESSAGE-----";

pub(super) fn content_type(part: &MessagePart<'_>) -> String {
    part.content_type()
        .map(|ct| match &ct.c_subtype {
            Some(sub) => format!("{}/{}", ct.c_type, sub),
            None => ct.c_type.to_string(),
        })
        .unwrap_or_else(|| "text/plain".into())
        .to_ascii_lowercase()
}

/// The RFC 3156 control part (`Version: 1`), which carries no data.
/// Some clients label other data `application/pgp-encrypted` too (mutt's
/// attached keys), so only a short `Version:` part counts.
pub(super) fn is_control_part(part: &MessagePart<'_>) -> bool {
    let data = part.contents();
    content_type(part) == "application/pgp-encrypted"
        && data.len() < 256
        && contains(data, b"Version")
        && !contains(data, ARMOR_BEGIN.as_bytes())
        && !looks_binary_openpgp(data)
}

pub(super) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// A binary OpenPGP message starts with a PKESK/SKESK packet (tags 1 and 3),
/// in the old or new packet format.
pub(super) fn looks_binary_openpgp(data: &[u8]) -> bool {
    match data.first() {
        Some(&b) if b & 0x80 != 0 => {
            let tag = if b & 0x40 != 0 {
                b & 0x3f
            } else {
                (b >> 2) & 0x0f
            };
            tag == 1 || tag == 3
        }
        _ => false,
    }
}

/// An attachment that is an encrypted file: an OpenPGP message (not a key)
/// named `.pgp`/`.gpg`/`.asc`, typed as encrypted, or armoured as a message.
pub(super) fn is_encrypted_file(name: &str, content_type: &str, data: &[u8]) -> bool {
    if contains(data, b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
        || contains(data, b"-----BEGIN PGP SIGNATURE-----")
    {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    let by_name = ENCRYPTED_SUFFIXES.iter().any(|s| lower.ends_with(s));
    let by_type = matches!(
        content_type,
        "application/pgp-encrypted" | "application/autocrypt-setup" | "application/pgp"
    );
    let armored = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .and_then(|i| data.get(i..))
        .is_some_and(|d| d.starts_with(ARMOR_BEGIN.as_bytes()));
    armored || ((by_name || by_type) && is_openpgp_data(data))
}

const ENCRYPTED_SUFFIXES: [&str; 3] = [".pgp", ".gpg", ".asc"];

/// `report.pdf.gpg` → `report.pdf`.
pub(super) fn strip_encrypted_suffix(name: &str) -> &str {
    let lower = name.to_ascii_lowercase();
    ENCRYPTED_SUFFIXES
        .iter()
        .find(|s| lower.ends_with(*s))
        .and_then(|s| name.get(..name.len().saturating_sub(s.len())))
        .filter(|stem| !stem.is_empty())
        .unwrap_or(name)
}

pub(super) fn is_openpgp_data(data: &[u8]) -> bool {
    contains(data, ARMOR_BEGIN.as_bytes()) || looks_binary_openpgp(data)
}

/// The part that carries the encrypted MIME body, if any: the second part of
/// `multipart/encrypted`, or its mangled equivalents (an `application/pgp-encrypted`
/// part with data, `GpgOL_MIME_structure`, or the octet-stream beside a control part).
pub(super) fn encrypted_body_part(m: &Message<'_>) -> Option<u32> {
    let root = m.parts.first()?;
    if content_type(root) == "multipart/encrypted" {
        if let PartType::Multipart(children) = &root.body {
            // RFC 3156: the second part is the payload, whatever it looks
            // like; decryption says what is wrong with it.
            if let Some(&id) = children.get(1) {
                if m.part(id).is_some_and(|p| !p.contents().is_empty()) {
                    return Some(id);
                }
            }
        }
    }
    let has_control = m.parts.iter().any(is_control_part);
    let mut best: Option<u32> = None;
    for (i, part) in m.parts.iter().enumerate() {
        let Ok(id) = u32::try_from(i) else { break };
        if matches!(part.body, PartType::Multipart(_) | PartType::Message(_)) {
            continue;
        }
        let ct = content_type(part);
        let name = part.attachment_name().unwrap_or("").to_ascii_lowercase();
        let data = part.contents();
        if !is_openpgp_data(data) || is_control_part(part) {
            continue;
        }
        let mime_like = ct == "application/pgp-encrypted"
            || name.contains("gpgol_mime_structure")
            || name == "encrypted.asc"
            || name == "msg.asc"
            || name == "openpgp-encrypted-message.asc"
            || (has_control && ct == "application/octet-stream");
        if mime_like && best.is_none() {
            best = Some(id);
        }
    }
    best
}

/// Armoured blocks in a text, as (start, end) byte ranges including the markers.
pub(super) fn armor_blocks(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(rel) = text.get(from..).and_then(|t| t.find(ARMOR_BEGIN)) {
        let start = from + rel;
        let Some(end_rel) = text.get(start..).and_then(|t| t.find(ARMOR_END)) else {
            // Truncated armour: take the rest, decryption will say what is wrong.
            out.push((start, text.len()));
            break;
        };
        let end = start + end_rel + ARMOR_END.len();
        out.push((start, end));
        from = end;
    }
    out
}

/// Armour as clients mangle it in HTML and rich text: non-breaking spaces,
/// `<br>` line breaks, entities. Returns armour gpg accepts.
pub(super) fn clean_armor(block: &str) -> String {
    let mut out = String::with_capacity(block.len());
    for line in block
        .replace('\u{a0}', " ")
        .replace("\r\n", "\n")
        .split('\n')
    {
        let line = line.trim();
        out.push_str(line);
        out.push('\n');
    }
    out
}
