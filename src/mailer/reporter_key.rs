//! The reporter's public key, for encrypting our answer to an encrypted
//! report. Looked for, in order:
//!
//! 1. keys attached to the report (`application/pgp-keys` parts, or a
//!    public key block in any attachment), inside the encryption included —
//!    these are the opened report's attachments;
//! 2. the outer `Autocrypt:` header, whose `addr=` must be the reply address;
//! 3. the configured directory of reporters' keys
//!    (`[acknowledgement] reporter_keys`).
//!
//! A certificate is used only when one of its user IDs carries the reply
//! address (Autocrypt: its `addr=`) and it has a live, unrevoked
//! transport-encryption key under the standard policy. Nothing here fails:
//! no usable key means the acknowledgement goes out plain, and it repeats no
//! report content either way.

use std::path::Path;

use sequoia_openpgp::cert::Cert;
use sequoia_openpgp::policy::StandardPolicy;

use crate::normalize::Opened;
use crate::openpgp::verify::certs_in;

const KEY_BLOCK: &[u8] = b"-----BEGIN PGP PUBLIC KEY BLOCK-----";
/// Key files bigger than this in the directory are skipped.
const MAX_KEY_FILE: u64 = 1 << 20;
/// At most this many files of the directory are read.
const MAX_KEY_FILES: usize = 10_000;

/// Where the key came from (for logs and the record: no key material).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Attached,
    Autocrypt,
    Directory,
}

impl KeySource {
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Attached => "attached key",
            KeySource::Autocrypt => "Autocrypt header",
            KeySource::Directory => "reporter key directory",
        }
    }
}

fn has_address(cert: &Cert, address: &str) -> bool {
    cert.userids().any(|u| {
        u.userid()
            .email()
            .ok()
            .flatten()
            .is_some_and(|e| e.eq_ignore_ascii_case(address))
    })
}

/// The certificate can be encrypted to now.
pub fn usable(cert: &Cert) -> bool {
    let policy = StandardPolicy::new();
    cert.with_policy(&policy, None).is_ok_and(|vc| {
        vc.keys()
            .supported()
            .alive()
            .revoked(false)
            .for_transport_encryption()
            .next()
            .is_some()
    })
}

fn pick(certs: Vec<Cert>, address: &str, check_uid: bool) -> Option<Cert> {
    certs
        .into_iter()
        .find(|c| (!check_uid || has_address(c, address)) && usable(c))
}

fn attached(opened: &Opened, address: &str) -> Option<Cert> {
    let certs: Vec<Cert> = opened
        .attachments
        .iter()
        .filter(|a| {
            a.content_type.eq_ignore_ascii_case("application/pgp-keys")
                || a.data.windows(KEY_BLOCK.len()).any(|w| w == KEY_BLOCK)
        })
        .flat_map(|a| certs_in(&a.data))
        .collect();
    pick(certs, address, true)
}

/// `Autocrypt: addr=…; [prefer-encrypt=…;] keydata=…` (Autocrypt level 1).
fn autocrypt(raw: &[u8], address: &str) -> Option<Cert> {
    let message = mail_parser::MessageParser::default().parse_headers(raw)?;
    for h in message.headers() {
        if !h.name().eq_ignore_ascii_case("autocrypt") {
            continue;
        }
        let Some(value) = h.value().as_text() else {
            continue;
        };
        let mut addr = None;
        let mut keydata = None;
        for attr in value.split(';') {
            let Some((k, v)) = attr.split_once('=') else {
                continue;
            };
            match k.trim() {
                "addr" => addr = Some(v.trim().to_string()),
                "keydata" => keydata = Some(v),
                _ => {}
            }
        }
        if !addr.is_some_and(|a| a.eq_ignore_ascii_case(address)) {
            continue;
        }
        let b64: Vec<u8> = keydata
            .unwrap_or("")
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        let Some(bytes) = mail_parser::decoders::base64::base64_decode(&b64) else {
            continue;
        };
        if let Some(c) = pick(certs_in(&bytes), address, false) {
            return Some(c);
        }
    }
    None
}

fn directory(dir: &Path, address: &str) -> Option<Cert> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut paths: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["asc", "pgp", "gpg", "key"].contains(&e))
        })
        .take(MAX_KEY_FILES)
        .collect();
    paths.sort();
    for path in paths {
        if std::fs::metadata(&path).map_or(true, |m| m.len() > MAX_KEY_FILE) {
            continue;
        }
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        if let Some(c) = pick(certs_in(&data), address, true) {
            return Some(c);
        }
    }
    None
}

/// A usable key for `address` among the certificates in `bytes` (a key
/// kept earlier, see `pipeline::ack`).
pub fn from_bytes(bytes: &[u8], address: &str) -> Option<Cert> {
    pick(certs_in(bytes), address, true)
}

/// The reporter's key for `address`, and where it was found.
pub fn find(
    opened: Option<&Opened>,
    raw: Option<&[u8]>,
    dir: Option<&Path>,
    address: &str,
) -> Option<(Cert, KeySource)> {
    if let Some(c) = opened.and_then(|o| attached(o, address)) {
        return Some((c, KeySource::Attached));
    }
    if let Some(c) = raw.and_then(|r| autocrypt(r, address)) {
        return Some((c, KeySource::Autocrypt));
    }
    dir.and_then(|d| directory(d, address))
        .map(|c| (c, KeySource::Directory))
}
