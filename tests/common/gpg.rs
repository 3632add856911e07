//! GnuPG as the reporter's mail client: a home with the reporter's key
//! (made by gpg itself, so it advertises SEIPDv1 only) and the team's
//! public key; and an encrypted report with that key attached.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{mail, team_public_key, REPORTER, SECURITY};

/// A GnuPG home holding the reporter's key (made by gpg itself) and the
/// team's public key.
pub struct Gpg {
    pub home: PathBuf,
}

impl Gpg {
    pub fn new(dir: &Path) -> Gpg {
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
    pub fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> (bool, Vec<u8>, String) {
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

    pub fn ok(&self, args: &[&str]) -> Vec<u8> {
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
pub fn team_fingerprint(gpg: &Gpg) -> String {
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
pub fn report_with_key(reporter_key: &str, secret: &str) -> Vec<u8> {
    let inner = format!(
        "Content-Type: multipart/mixed; boundary=\"in1\"; protected-headers=\"v1\"\r\nSubject: Protected: RCE in widget\r\n\r\n--in1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{secret}\r\n--in1\r\nContent-Type: application/pgp-keys; name=\"OpenPGP_0xALICE.asc\"\r\nContent-Disposition: attachment; filename=\"OpenPGP_0xALICE.asc\"\r\n\r\n{reporter_key}\r\n--in1--\r\n"
    );
    let armored = mail::encrypt_armored(&team_public_key(), inner.as_bytes());
    format!(
        "From: Alice <{REPORTER}>\r\nTo: {SECURITY}\r\nSubject: ...\r\nMessage-ID: <keyed-1@example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n{armored}\r\n--b1--\r\n"
    )
    .into_bytes()
}

/// A reporter's GnuPG home with a fresh key for `REPORTER` and the team's
/// public key imported; returns it with the reporter's armoured public key
/// and the team key's fingerprint.
pub fn reporter(dir: &Path) -> (Gpg, String, String) {
    let gpg = Gpg::new(dir);
    gpg.ok(&[
        "--quick-gen-key",
        &format!("Alice <{REPORTER}>"),
        "future-default",
        "default",
        "never",
    ]);
    let key = String::from_utf8(gpg.ok(&["--armor", "--export", REPORTER])).unwrap();
    assert!(key.contains("BEGIN PGP PUBLIC KEY BLOCK"));
    gpg.ok(&["--import", team_public_key().to_str().unwrap()]);
    let fpr = team_fingerprint(&gpg);
    (gpg, key, fpr)
}

/// The armoured PGP message in a PGP/MIME mail.
pub fn armored(mail: &str) -> &str {
    let begin = mail.find("-----BEGIN PGP MESSAGE-----").expect("armour");
    let end = mail.find("-----END PGP MESSAGE-----").expect("armour end");
    &mail[begin..end + "-----END PGP MESSAGE-----".len()]
}
