//! The acknowledgement to an encrypted report whose reporter attached their
//! key: PGP/MIME, encrypted to that key and signed with the team key, read
//! back by GnuPG 2.2 (the reporter's own tool: its keys advertise SEIPDv1
//! only, so an SEIPDv2 message would not decrypt), on real servers —
//! Dovecot in, Postfix → LMTP → the reporter's Dovecot INBOX out.

mod common;

use std::time::Duration;

use common::daemon::Daemon;
use common::gpg::{report_with_key, team_fingerprint, Gpg};
use common::*;

const WAIT: Duration = Duration::from_secs(90);

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
