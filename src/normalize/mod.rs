//! Raw mail → [`Opened`] report: headers, text, attachments, and what we know
//! about its encryption and signatures.
//!
//! Encrypted content is found wherever clients put it: the RFC 3156 PGP/MIME
//! part, the same data in a `multipart/mixed` wrapper (Exchange/Outlook,
//! `GpgOL_MIME_structure`), inline armour in text or HTML parts, and encrypted
//! attachments. Decrypted MIME is opened recursively (protected headers,
//! signed-then-encrypted). Every step is bounded by [`Limits`]; nothing here
//! panics on mail bytes.

mod body;
mod headers;
mod locate;
mod oversized;
mod payload;
mod signed;
mod structure;

use mail_parser::MessageParser;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use headers::{Headers, ListCopy};
pub use oversized::open_oversized;

use crate::config::Limits;
use crate::openpgp::{Budget, DecryptFailure, Keyring, SignatureStatus};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    #[serde(skip)]
    pub data: Vec<u8>,
    pub size: u64,
    pub sha256: String,
    /// The attachment was itself an encrypted file we decrypted.
    pub decrypted: bool,
}

impl Attachment {
    pub fn new(name: String, content_type: String, data: Vec<u8>, decrypted: bool) -> Self {
        Attachment {
            size: data.len() as u64,
            sha256: sha256_hex(&data),
            name,
            content_type,
            data,
            decrypted,
        }
    }
}

/// How the message was encrypted, and whether we could read it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Encryption {
    None,
    Decrypted {
        format: String,
        recipients: Vec<String>,
        key_used: String,
    },
    Failed {
        /// Why (serialised as its text).
        reason: DecryptFailure,
        recipients: Vec<String>,
    },
}

/// A message, opened: everything the rest of the pipeline needs.
#[derive(Debug, Clone, Serialize)]
pub struct Opened {
    pub headers: Headers,
    /// The subject to use: the protected (inner) one when present.
    pub subject: Option<String>,
    pub encryption: Encryption,
    pub signature: SignatureStatus,
    pub text: String,
    pub attachments: Vec<Attachment>,
    /// The message could not be parsed as mail (reason).
    pub malformed: Option<String>,
    /// Things noticed on the way that coordinators should know.
    pub notes: Vec<String>,
    pub raw_size: u64,
    pub raw_sha256: String,
    /// What classification needs of the text, worked out beside the
    /// opening (it depends on nothing but the text, the installation's key
    /// and the settings), so that classification, which runs one record at
    /// a time, need not.
    #[serde(skip)]
    pub prepared: Option<Prepared>,
}

/// See [`Opened::prepared`].
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The similarity fingerprint (None for an empty text).
    pub fingerprint: Option<crate::record::Fingerprint>,
    /// SHA-256 of the normalised text (None when it is empty).
    pub text_sha256: Option<String>,
}

impl Opened {
    pub fn is_encrypted(&self) -> bool {
        !matches!(self.encryption, Encryption::None)
    }

    /// The reason the content could not be read, if it could not.
    pub fn unreadable_reason(&self) -> Option<String> {
        if let Some(m) = &self.malformed {
            return Some(format!("malformed: {m}"));
        }
        match &self.encryption {
            Encryption::Failed { reason, .. } => Some(format!("undecryptable: {reason}")),
            _ => None,
        }
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Opens a raw message. Never fails: what cannot be read is described.
/// Session-key tries are capped as `limits` say; no deadline.
pub fn open(keyring: &Keyring, raw: &[u8], limits: &Limits) -> Opened {
    let mut budget = Budget::new(limits.max_key_attempts, limits.max_wildcard_attempts);
    open_within(keyring, raw, limits, &mut budget)
}

/// [`open`], spending `budget` (session-key tries, deadline). When the
/// deadline passes, what is left is not opened: check
/// [`Budget::over_time`] afterwards.
pub fn open_within(keyring: &Keyring, raw: &[u8], limits: &Limits, budget: &mut Budget) -> Opened {
    let mut opened = Opened::blank(raw);
    if raw.len() as u64 > limits.max_message_bytes {
        opened.malformed = Some(format!(
            "message of {} bytes exceeds the limit of {} bytes",
            raw.len(),
            limits.max_message_bytes
        ));
        return opened;
    }
    let headers = header_section_len(raw);
    if headers > limits.max_header_bytes {
        opened.malformed = Some(format!(
            "header section of {headers} bytes exceeds the limit of {} bytes",
            limits.max_header_bytes
        ));
        return opened;
    }
    if let Some(reason) = structure::too_many_parts(raw, limits.max_mime_parts, "") {
        // The header section alone still says who to answer.
        if let Some(m) = MessageParser::default().parse_headers(raw) {
            opened.headers = Headers::read(&m);
            opened.subject = opened.headers.subject.clone();
        }
        opened.malformed = Some(reason);
        return opened;
    }
    let Some(message) = MessageParser::default().parse(raw) else {
        opened.malformed = Some("not a parseable e-mail message".into());
        return opened;
    };
    opened.headers = Headers::read(&message);
    opened.subject = opened.headers.subject.clone();
    let mut ctx = body::Context {
        keyring,
        limits,
        opened: &mut opened,
        certs: Vec::new(),
        payloads: 0,
        decrypted_bytes: 0,
        mime_parts: 0,
        budget,
    };
    if ctx.shape_fits(&message, 0, "") {
        ctx.walk_message(&message, 0, body::Origin::Outer);
    }
    opened
}

/// Opens a stored message: the whole of it, or, for a message intake found
/// over the size limit (`oversized`: its size), the stub from its headers.
pub fn open_stored(
    keyring: &Keyring,
    raw: &[u8],
    oversized: Option<u64>,
    limits: &Limits,
    budget: &mut Budget,
) -> Opened {
    match oversized {
        Some(size) => open_oversized(raw, size, limits),
        None => open_within(keyring, raw, limits, budget),
    }
}

/// A stub of a message that is not to be opened: its size and hash, and
/// its outer headers when the header section is within the limit (for the
/// reply address). No body part is looked at, nothing is decrypted, and the
/// subject is left out (it may be that of encrypted mail).
pub fn headers_only(raw: &[u8], limits: &Limits) -> Opened {
    let mut opened = Opened::blank(raw);
    if header_section_len(raw) <= limits.max_header_bytes {
        if let Some(message) = MessageParser::default().parse_headers(raw) {
            opened.headers = Headers::read(&message);
        }
    }
    opened
}

impl Opened {
    /// Nothing read yet: size and hash of `raw`.
    pub(super) fn blank(raw: &[u8]) -> Opened {
        Opened {
            headers: Headers::default(),
            subject: None,
            encryption: Encryption::None,
            signature: SignatureStatus::Unsigned,
            text: String::new(),
            attachments: Vec::new(),
            malformed: None,
            notes: Vec::new(),
            raw_size: raw.len() as u64,
            raw_sha256: sha256_hex(raw),
            prepared: None,
        }
    }
}

/// Length of the header section: up to the first empty line, or all of it.
pub(crate) fn header_section_len(raw: &[u8]) -> u64 {
    let mut at_line_start = true;
    for (i, &b) in raw.iter().enumerate() {
        match b {
            b'\n' if at_line_start => return i as u64,
            b'\n' => at_line_start = true,
            b'\r' => {}
            _ => at_line_start = false,
        }
    }
    raw.len() as u64
}
