//! Issue 17: one private-key operation per message. `secintake run --once`
//! (Maildir, directory tracker, outbox) on reports to an RSA-4096 key, to a
//! Cv25519 key, to both, and to a stranger's key beside ours; the daemon
//! logs how many private-key operations it did, and that must be exactly
//! one per report, with every report filed. The RSA key must go through
//! the prepared CRT decryptor (its log says so when it could not).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::offline::{self, Offline};
use openpgp::cert::prelude::*;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Armorer, Encryptor, LiteralWriter, Message};
use openpgp::serialize::SerializeInto;
use sequoia_openpgp as openpgp;

/// A fresh certificate without passphrase; its secret half written to
/// `<dir>/<name>.sec.asc`.
fn key(dir: &Path, name: &str, suite: CipherSuite) -> (Cert, PathBuf) {
    let (cert, _) = CertBuilder::general_purpose(Some(format!("{name} <{name}@example.org>")))
        .set_cipher_suite(suite)
        .generate()
        .expect("certificate");
    let path = dir.join(format!("{name}.sec.asc"));
    let armored = cert.as_tsk().armored().to_vec().expect("armor");
    std::fs::write(&path, armored).expect("write key");
    (cert, path)
}

/// PGP/MIME report `i` with protected headers, encrypted to `certs`.
fn report(certs: &[&Cert], i: usize) -> Vec<u8> {
    let policy = StandardPolicy::new();
    let recipients: Vec<_> = certs
        .iter()
        .flat_map(|c| {
            c.keys()
                .with_policy(&policy, None)
                .for_transport_encryption()
        })
        .collect();
    assert_eq!(recipients.len(), certs.len(), "one encryption subkey each");
    let inner = format!(
        "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nSubject: Report {i}\r\n\r\nFinding {i}: widget {i} mishandles input {i} in handler {i}.\r\n"
    );
    let mut armored = Vec::new();
    {
        let message = Armorer::new(Message::new(&mut armored))
            .build()
            .expect("armorer");
        let message = Encryptor::for_recipients(message, recipients)
            .build()
            .expect("encryptor");
        let mut w = LiteralWriter::new(message).build().expect("literal");
        w.write_all(inner.as_bytes()).expect("write");
        w.finalize().expect("finalize");
    }
    let armored = String::from_utf8(armored).expect("armored text");
    format!(
        "From: Reporter <reporter{i}@example.net>\r\nTo: security@example.org\r\nSubject: ...\r\nMessage-ID: <ops-{i}@example.net>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n{armored}\r\n--b1--\r\n"
    )
    .into_bytes()
}

fn count(dir: &Path, suffix: &str) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with(suffix))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn run_once_does_one_private_key_operation_per_report() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    offline::maildir(dir);
    let (rsa, rsa_path) = key(dir, "rsa", CipherSuite::RSA4k);
    let (cv, cv_path) = key(dir, "cv", CipherSuite::Cv25519);
    let (stranger, _) = key(dir, "stranger", CipherSuite::Cv25519);
    let recipients: Vec<Vec<&Cert>> = (0..4)
        .map(|_| vec![&rsa])
        .chain((0..4).map(|_| vec![&cv]))
        .chain([
            vec![&rsa, &cv],
            vec![&cv, &rsa],
            vec![&stranger, &rsa],
            vec![&stranger, &cv],
        ])
        .collect();
    for (i, to) in recipients.iter().enumerate() {
        std::fs::write(dir.join(format!("inbox/new/{i:04}.eml")), report(to, i)).expect("seed");
    }
    let config = offline::write_config(
        dir,
        &Offline {
            secret_keys: &[&rsa_path, &cv_path],
            ..Offline::default()
        },
    );
    let out = Command::new(common::daemon::binary())
        .args(["run", "--once", "--config"])
        .arg(&config)
        .env("SECINTAKE_LOG", "info")
        .env_remove("JOURNAL_STREAM")
        .output()
        .expect("run secintake");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "secintake run failed: {log}");
    assert!(!log.contains("not prepared for CRT"), "{log}");
    let ops: u64 = log
        .lines()
        .find_map(|l| {
            let rest = l.split("private_key_operations=").nth(1)?;
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no private_key_operations in the log: {log}"));
    let reports = recipients.len();
    eprintln!("{reports} reports, {ops} private-key operations");
    assert_eq!(reports, 12);
    assert_eq!(
        count(&dir.join("issues"), ".md"),
        reports,
        "one issue per report"
    );
    assert_eq!(ops, reports as u64, "one private-key operation per report");
}
