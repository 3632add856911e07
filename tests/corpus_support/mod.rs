//! Reading `../shared/corpus`: its MANIFEST and EXPECTED tables, the keys a
//! row names, and raw OpenPGP vectors wrapped in mail as a client would send
//! them. Shared by the corpus and hostile-input tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use secintake::config::Limits;
use secintake::normalize::{self, Opened};
use secintake::openpgp::Keyring;
use secintake::support::secret::Secret;
use sequoia_openpgp::cert::{Cert, CertParser};
use sequoia_openpgp::parse::Parse;

/// The shared corpus, or `None` where it is absent (a failure under CI).
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.join("MANIFEST.tsv").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the corpus is missing at {}",
        dir.display()
    );
    eprintln!("SKIP: no corpus at {}", dir.display());
    None
}

#[derive(Debug, Clone)]
pub struct Row {
    pub file: String,
    pub client: String,
    pub kind: String,
    pub keys: String,
    pub decrypts: String,
    pub license: String,
    pub notes: String,
}

impl Row {
    pub fn expect_decrypt(&self) -> bool {
        self.decrypts.starts_with("yes")
    }
    pub fn is_hostile(&self) -> bool {
        self.kind.contains("hostile") || self.kind.starts_with("edge")
    }
    pub fn is_raw_openpgp(&self) -> bool {
        self.kind.contains("raw-openpgp") || self.kind.contains("openpgp-packet-vector")
    }
}

pub fn manifest(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let col = |i: usize| c.get(i).copied().unwrap_or("").to_string();
            Row {
                file: col(0),
                client: col(4),
                kind: col(5),
                keys: col(6),
                decrypts: col(7),
                license: col(8),
                notes: col(9),
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct Expected {
    pub payloads: usize,
    pub line: String,
    pub attachments: Vec<String>,
}

pub fn expected(dir: &Path) -> HashMap<String, Expected> {
    let text = std::fs::read_to_string(dir.join("EXPECTED.tsv")).expect("EXPECTED.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let col = |i: usize| c.get(i).copied().unwrap_or("").to_string();
            (
                col(0),
                Expected {
                    payloads: col(1).parse().unwrap_or(1),
                    line: col(2),
                    attachments: col(3)
                        .split(';')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                },
            )
        })
        .collect()
}

pub fn read_certs(path: &Path) -> Vec<Cert> {
    CertParser::from_file(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .filter_map(Result::ok)
        .collect()
}

/// Passphrase of the rnp keyring, also the SKESK password of its vectors.
pub const RNP_PASSWORD: &str = "password";

/// The keyring a MANIFEST row names: its key files (secret parts only) and
/// `passphrase:` entries as SKESK passwords. `None` where it names no key.
pub fn row_keyring(dir: &Path, row: &Row) -> Option<Keyring> {
    let mut certs = Vec::new();
    let mut passwords = Vec::new();
    let spec = row.keys.strip_prefix("tried:").unwrap_or(&row.keys);
    for item in spec.split(';').map(str::trim) {
        if let Some(p) = item.strip_prefix("passphrase:") {
            let p = p.split(' ').next().unwrap_or(p);
            passwords.push(Secret::new(p.to_string()));
        } else if item.starts_with("keys/") {
            certs.extend(read_certs(&dir.join(item)).into_iter().filter(Cert::is_tsk));
        }
    }
    if certs.is_empty() && passwords.is_empty() {
        return None;
    }
    if certs.is_empty() {
        // A keyring needs one key; a stranger's key never decrypts these.
        certs.extend(
            read_certs(&dir.join("keys/chatmail-core/fiona-secret.asc"))
                .into_iter()
                .filter(Cert::is_tsk),
        );
    }
    let keyring =
        Keyring::from_certs(certs, Some(Secret::new(RNP_PASSWORD.into())), true).expect("keyring");
    Some(keyring.with_passwords(passwords))
}

/// Every secret key of the corpus in one keyring (key rotation: the right
/// key must be picked by recipient ID among many).
pub fn all_keys(dir: &Path) -> Keyring {
    let mut certs = Vec::new();
    let mut stack = vec![dir.join("keys")];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&d)
            .expect("keys dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(parser) = CertParser::from_file(&p) {
                certs.extend(parser.filter_map(Result::ok).filter(Cert::is_tsk));
            }
        }
    }
    Keyring::from_certs(certs, Some(Secret::new(RNP_PASSWORD.into())), true)
        .expect("keyring")
        .with_passwords(
            [
                RNP_PASSWORD,
                "secret",
                "0655-9868-8252-5455-4232-5158-1237-5333-2638",
            ]
            .iter()
            .map(|p| Secret::new(p.to_string()))
            .collect(),
        )
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 57 + 4);
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(T[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A raw OpenPGP vector as the body of an RFC 3156 PGP/MIME message.
pub fn wrap_pgp_mime(data: &[u8]) -> Vec<u8> {
    let armored = data.starts_with(b"-----BEGIN") || data.iter().all(|b| b.is_ascii());
    let (encoding, body) = if armored {
        ("7bit", String::from_utf8_lossy(data).into_owned())
    } else {
        ("base64", base64(data))
    };
    let id = normalize::sha256_hex(data);
    format!(
        "From: reporter@example.org\r\nTo: security@example.org\r\nSubject: vector\r\n\
         Message-ID: <{id}@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n\
         --b\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\
         Content-Transfer-Encoding: {encoding}\r\n\r\n{body}\r\n--b--\r\n"
    )
    .into_bytes()
}

/// The message the daemon would receive for a row's file.
pub fn message_bytes(dir: &Path, row: &Row) -> Vec<u8> {
    let raw = std::fs::read(dir.join(&row.file)).expect("corpus file");
    if row.is_raw_openpgp() {
        wrap_pgp_mime(&raw)
    } else {
        raw
    }
}

pub fn open(keyring: &Keyring, raw: &[u8]) -> Opened {
    normalize::open(keyring, raw, &Limits::default())
}

/// Whitespace collapsed, for comparing text across line wrapping and
/// HTML-to-text conversion.
pub fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
