//! The address an acknowledgement goes to must be one the message proves
//! (`secintake::classify::reporter_address`), through the real binary (Maildir,
//! directory tracker, outbox): a Reply-To in another domain than From is
//! used only when the message carries a valid signature by a key from the
//! operator's `reporter_keys` directory with a user ID for that address. A
//! key the message brings itself proves nothing (anyone can make a key with
//! any user ID), so the same signed message with an unlisted key is
//! answered at its From address.

mod common;

use std::io::Write;
use std::path::Path;

use common::offline::{self, Offline};
use openpgp::cert::{Cert, CertBuilder};
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Armorer, Message, Signer};
use openpgp::serialize::SerializeInto;
use sequoia_openpgp as openpgp;

const FROM: &str = "alice@gmail.example";
const REPLY_TO: &str = "alice@work.example";

fn key() -> Cert {
    CertBuilder::general_purpose(Some(format!("Alice <{REPLY_TO}>")))
        .generate()
        .expect("generate key")
        .0
}

fn armored(cert: &Cert) -> String {
    String::from_utf8(cert.armored().to_vec().expect("armor")).expect("utf-8")
}

/// A detached, armoured signature over `data`.
fn sign(cert: &Cert, data: &[u8]) -> String {
    let policy = StandardPolicy::new();
    let keypair = cert
        .keys()
        .with_policy(&policy, None)
        .supported()
        .alive()
        .revoked(false)
        .for_signing()
        .secret()
        .next()
        .expect("signing key")
        .key()
        .clone()
        .into_keypair()
        .expect("keypair");
    let mut sink = Vec::new();
    let message = Message::new(&mut sink);
    let message = Armorer::new(message)
        .kind(openpgp::armor::Kind::Signature)
        .build()
        .expect("armorer");
    let mut signer = Signer::new(message, keypair)
        .expect("signer")
        .detached()
        .build()
        .expect("signer");
    signer.write_all(data).expect("sign");
    signer.finalize().expect("sign");
    String::from_utf8(sink).expect("utf-8")
}

/// An RFC 3156 signed report (with the signer's key attached inside the
/// signed entity) from FROM with Reply-To REPLY_TO.
fn signed_report(cert: &Cert, n: usize) -> String {
    let entity = format!(
        "Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n--mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSIGNED-REPORT-{n}: the kernel gateway leaks session cookies.\r\n--mix\r\nContent-Type: application/pgp-keys; name=\"alice.asc\"\r\n\r\n{}\r\n--mix--",
        armored(cert).replace("\r\n", "\n").replace('\n', "\r\n").trim_end()
    );
    let signature = sign(cert, entity.as_bytes());
    format!(
        "From: <{FROM}>\r\nTo: security@example.org\r\nReply-To: <{REPLY_TO}>\r\nSubject: Signed report {n}\r\nMessage-ID: <signed-{n}@gmail.example>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol=\"application/pgp-signature\"; micalg=pgp-sha512; boundary=\"sig\"\r\n\r\n--sig\r\n{entity}\r\n--sig\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n{}\r\n--sig--\r\n",
        signature.replace("\r\n", "\n").replace('\n', "\r\n").trim_end()
    )
}

fn run(dir: &Path, listed: bool) -> (Vec<String>, String) {
    offline::maildir(dir);
    std::fs::create_dir_all(dir.join("keys")).expect("keys dir");
    let cert = key();
    if listed {
        std::fs::write(dir.join("keys/alice.asc"), armored(&cert)).expect("key");
    }
    std::fs::write(dir.join("inbox/new/0001.eml"), signed_report(&cert, 1)).expect("deliver");
    let config = offline::write_config(
        dir,
        &Offline {
            tracking_prefix: "ADDR",
            acknowledgement: &format!("reporter_keys = \"{}/keys\"", dir.display()),
            ..Offline::default()
        },
    );
    let out = common::offline::run_once(&config);
    common::offline::assert_ran(&out);
    let sent: Vec<String> = std::fs::read_dir(dir.join("outbox"))
        .map(|e| {
            e.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .filter_map(|m| common::header(&m, "To").map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let issues: Vec<String> = std::fs::read_dir(dir.join("issues"))
        .map(|e| {
            e.flatten()
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(issues.len(), 1, "one issue");
    (sent, issues.concat())
}

#[test]
fn a_reply_to_proven_by_a_listed_key_signature_is_answered() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (sent, issue) = run(tmp.path(), true);
    assert!(issue.contains("valid, by"), "signature not valid:\n{issue}");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains(REPLY_TO), "{sent:?}");
}

#[test]
fn a_key_the_message_brings_proves_no_reply_to() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (sent, issue) = run(tmp.path(), false);
    // The same valid signature, by a key that is only attached.
    assert!(issue.contains("valid, by"), "signature not valid:\n{issue}");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains(FROM), "{sent:?}");
}
