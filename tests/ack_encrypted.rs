//! The acknowledgement to an encrypted report whose reporter attached their
//! key: PGP/MIME, encrypted to that key and signed with the team key, read
//! back by GnuPG 2.2 (the reporter's own tool: its keys advertise SEIPDv1
//! only, so an SEIPDv2 message would not decrypt), on real servers —
//! Dovecot in, Postfix → LMTP → the reporter's Dovecot INBOX out.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::daemon::Daemon;
use common::*;

const WAIT: Duration = Duration::from_secs(90);

/// A GnuPG home holding the reporter's key (made by gpg itself) and the
/// team's public key.
struct Gpg {
    home: PathBuf,
}

impl Gpg {
    fn new(dir: &Path) -> Gpg {
        let home = dir.join("reporter-gnupg");
        std::fs::create_dir_all(&home).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        Gpg { home }
    }

    /// Runs gpg; returns (success, stdout, stderr).
    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> (bool, Vec<u8>, String) {
        use std::io::Write;
        let mut child = Command::new("gpg")
            .env("GNUPGHOME", &self.home)
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run gpg");
        if let Some(data) = stdin {
            child.stdin.take().unwrap().write_all(data).unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str]) -> Vec<u8> {
        let (ok, out, err) = self.run(args, None);
        assert!(ok, "gpg {args:?}: {err}");
        out
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &self.home)
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

/// The team key's fingerprint as gpg prints it.
fn team_fingerprint(gpg: &Gpg) -> String {
    let out = String::from_utf8(gpg.ok(&["--with-colons", "--fingerprint", "security@"]))
        .unwrap_or_default();
    out.lines()
        .find(|l| l.starts_with("fpr:"))
        .and_then(|l| l.split(':').nth(9))
        .expect("team fingerprint")
        .to_string()
}

/// PGP/MIME to the team key; inside, the report text and the reporter's
/// key as an `application/pgp-keys` attachment (what Thunderbird and
/// Enigmail send with "attach my public key").
fn report_with_key(reporter_key: &str, secret: &str) -> Vec<u8> {
    let inner = format!(
        "Content-Type: multipart/mixed; boundary=\"in1\"; protected-headers=\"v1\"\r\nSubject: Protected: RCE in widget\r\n\r\n--in1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{secret}\r\n--in1\r\nContent-Type: application/pgp-keys; name=\"OpenPGP_0xALICE.asc\"\r\nContent-Disposition: attachment; filename=\"OpenPGP_0xALICE.asc\"\r\n\r\n{reporter_key}\r\n--in1--\r\n"
    );
    let armored = mail::encrypt_armored(&team_public_key(), inner.as_bytes());
    format!(
        "From: Alice <{REPORTER}>\r\nTo: {SECURITY}\r\nSubject: ...\r\nMessage-ID: <keyed-1@example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n{armored}\r\n--b1--\r\n"
    )
    .into_bytes()
}

#[test]
fn ack_to_encrypted_report_is_encrypted_to_attached_key_and_signed() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    let gpg = Gpg::new(env.dir.path());
    gpg.ok(&[
        "--quick-gen-key",
        &format!("Alice <{REPORTER}>"),
        "future-default",
        "default",
        "never",
    ]);
    let reporter_key = String::from_utf8(gpg.ok(&["--armor", "--export", REPORTER])).unwrap();
    assert!(reporter_key.contains("BEGIN PGP PUBLIC KEY BLOCK"));
    gpg.ok(&["--import", team_public_key().to_str().unwrap()]);
    let team_fpr = team_fingerprint(&gpg);

    let secret = "PLAINTEXT-MARKER-91c2: widget eval()s comm messages";
    env.deliver(&report_with_key(&reporter_key, secret));
    let mut daemon = Daemon::start(&env.config, env.path("daemon.log"), &["--once"]);
    let status = daemon.wait(WAIT).expect("run --once finishes");
    assert!(status.success(), "daemon failed:\n{}", daemon.log_text());

    let acks = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 1, WAIT);
    assert_eq!(acks.len(), 1, "exactly one acknowledgement");
    let ack = text(&acks[0]);
    let issues = env.wait_issues(1, WAIT);
    let tracking_id = issues[0]
        .title
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap()
        .to_string();

    // Outer headers: neutral, threaded, ours.
    let subject = header(&ack, "Subject").expect("subject");
    assert!(subject.contains(&tracking_id), "subject {subject:?}");
    assert!(!ack.contains("RCE in widget"), "protected subject leaked");
    assert!(!ack.contains("PLAINTEXT-MARKER"), "report text leaked");
    assert_eq!(header(&ack, "Auto-Submitted"), Some("auto-replied"));
    assert_eq!(header(&ack, "In-Reply-To"), Some("<keyed-1@example.test>"));
    let mid = header(&ack, "Message-ID").unwrap_or("");
    assert!(
        is_our_ack_id(mid, &tracking_id, "example.test"),
        "Message-ID {mid:?}"
    );
    let ct = header(&ack, "Content-Type").expect("content type");
    assert!(ct.starts_with("multipart/encrypted"), "not PGP/MIME: {ct}");
    assert!(ack.contains("application/pgp-encrypted"));
    assert!(
        !ack.contains("Response by"),
        "template text readable outside the encryption"
    );

    // The reporter reads it with gpg: decrypts with their key, the signature
    // is the team key's, and the cipher is SEIPDv1 (MDC).
    let begin = ack.find("-----BEGIN PGP MESSAGE-----").expect("armour");
    let end = ack.find("-----END PGP MESSAGE-----").expect("armour end");
    let armored = &ack[begin..end + "-----END PGP MESSAGE-----".len()];
    let (ok, plain, err) = gpg.run(&["--status-fd", "2", "--decrypt"], Some(armored.as_bytes()));
    assert!(ok, "gpg could not decrypt the acknowledgement:\n{err}");
    assert!(err.contains("[GNUPG:] DECRYPTION_OKAY"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("[GNUPG:] DECRYPTION_INFO 2 ")),
        "not SEIPDv1/MDC:\n{err}"
    );
    let validsig = err
        .lines()
        .find(|l| l.starts_with("[GNUPG:] VALIDSIG "))
        .unwrap_or_else(|| panic!("no valid signature:\n{err}"));
    assert!(
        validsig.split(' ').any(|f| f == team_fpr),
        "signed by another key than the team's {team_fpr}: {validsig}"
    );
    assert!(err.contains("[GNUPG:] GOODSIG "), "{err}");
    let plain = String::from_utf8_lossy(&plain);
    assert!(plain.contains("protected-headers=\"v1\""), "{plain}");
    assert!(plain.contains(&tracking_id), "{plain}");
    assert!(plain.contains("Response by"), "{plain}");
    assert!(
        !plain.contains("PLAINTEXT-MARKER"),
        "ack repeats report text"
    );

    let log = daemon.log_text();
    assert!(log.contains("encrypted to the reporter's key"), "{log}");
    assert!(!log.contains("PLAINTEXT-MARKER") && !log.contains("RCE in widget"));
}
