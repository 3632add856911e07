//! Test reports: plain, PGP/MIME and inline-PGP messages, encrypted with
//! Sequoia to the team's (demo) key.

use std::io::Write;
use std::path::Path;

use openpgp::cert::Cert;
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Armorer, Encryptor, LiteralWriter, Message};
use sequoia_openpgp as openpgp;

pub fn encrypt_armored(cert_file: &Path, plaintext: &[u8]) -> String {
    let cert = Cert::from_file(cert_file).expect("read cert");
    let policy = StandardPolicy::new();
    let recipients: Vec<_> = cert
        .keys()
        .with_policy(&policy, None)
        .supported()
        .alive()
        .revoked(false)
        .for_transport_encryption()
        .collect();
    assert!(
        !recipients.is_empty(),
        "no encryption subkey in {}",
        cert_file.display()
    );
    let mut sink = Vec::new();
    {
        let message = Message::new(&mut sink);
        let message = Armorer::new(message).build().unwrap();
        let message = Encryptor::for_recipients(message, recipients)
            .build()
            .unwrap();
        let mut w = LiteralWriter::new(message).build().unwrap();
        w.write_all(plaintext).unwrap();
        w.finalize().unwrap();
    }
    String::from_utf8(sink).unwrap()
}

pub fn plain(from: &str, subject: &str, message_id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Reporter <{from}>\r\nTo: security@example.test\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// RFC 3156 PGP/MIME with protected headers: the outer subject is "...".
pub fn pgp_mime(
    cert_file: &Path,
    from: &str,
    inner_subject: &str,
    message_id: &str,
    body: &str,
) -> Vec<u8> {
    let inner = format!(
        "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nSubject: {inner_subject}\r\n\r\n{body}\r\n"
    );
    let armored = encrypt_armored(cert_file, inner.as_bytes());
    format!(
        "From: Reporter <{from}>\r\nTo: security@example.test\r\nSubject: ...\r\nMessage-ID: {message_id}\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\nThis is an OpenPGP/MIME encrypted message\r\n--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n{armored}\r\n--b1--\r\n"
    )
    .into_bytes()
}
