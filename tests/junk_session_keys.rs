//! Must-show 1 of issue 12, through the real daemon (`secintake run`,
//! Maildir source polled every second, directory tracker, outbox): a
//! PGP/MIME mail whose valid session-key packet follows N = 10,000 junk
//! packets addressed to our key (a random session key each, encrypted to
//! our subkey), the team key RSA-4096 protected by a passphrase, and an
//! ordinary encrypted report queued right behind it. The ordinary report is
//! filed and acknowledged while the hostile one is still being handled or
//! after it was given up, and the hostile one becomes an unreadable stub
//! with its reason. Both times are printed.
//!
//! `JUNK_SESSION_KEYS` overrides N.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::daemon::Daemon;
use common::offline::{self, Offline};
use common::service::{metrics_addr, sample, scrape};
use openpgp::armor;
use openpgp::cert::prelude::*;
use openpgp::crypto::{Password, SessionKey};
use openpgp::packet::pkesk::PKESK3;
use openpgp::packet::Packet;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Encryptor, LiteralWriter, Message};
use openpgp::serialize::Serialize;
use openpgp::types::{Features, SymmetricAlgorithm};
use sequoia_openpgp as openpgp;

const PASSPHRASE: &str = "correct horse battery staple";
const WAIT: Duration = Duration::from_secs(240);

fn junk_count() -> usize {
    std::env::var("JUNK_SESSION_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// The team key: RSA-4096, passphrase-protected, SEIPDv1 (what gpg writes).
fn team_key() -> &'static Cert {
    static KEY: OnceLock<Cert> = OnceLock::new();
    KEY.get_or_init(|| {
        CertBuilder::new()
            .add_userid("Security Team <security@example.org>")
            .set_cipher_suite(CipherSuite::RSA4k)
            .set_features(Features::empty().set_seipdv1())
            .expect("features")
            .add_transport_encryption_subkey()
            .set_password(Some(Password::from(PASSPHRASE)))
            .generate()
            .expect("generate RSA-4096 key")
            .0
    })
}

/// Encrypts `plaintext` to the team key; binary packets.
fn encrypt(plaintext: &[u8]) -> Vec<u8> {
    let policy = StandardPolicy::new();
    let recipients: Vec<_> = team_key()
        .keys()
        .with_policy(&policy, None)
        .for_transport_encryption()
        .collect();
    let mut sink = Vec::new();
    {
        let message = Encryptor::for_recipients(Message::new(&mut sink), recipients)
            .build()
            .expect("encryptor");
        let mut w = LiteralWriter::new(message).build().expect("literal");
        w.write_all(plaintext).expect("write");
        w.finalize().expect("finalize");
    }
    sink
}

/// `n` PKESKs addressed to our encryption subkey, each holding a random
/// session key: every one costs the daemon a private-key operation and
/// fails only when the session key does not open the data.
fn junk_pkesks(n: usize) -> Vec<u8> {
    let policy = StandardPolicy::new();
    let subkey = team_key()
        .keys()
        .with_policy(&policy, None)
        .for_transport_encryption()
        .next()
        .expect("encryption subkey")
        .key()
        .clone();
    let mut out = Vec::new();
    for _ in 0..n {
        let sk = SessionKey::new(32).expect("session key");
        let pkesk = PKESK3::for_recipient(SymmetricAlgorithm::AES256, &sk, &subkey).expect("pkesk");
        Packet::from(pkesk).serialize(&mut out).expect("serialize");
    }
    out
}

fn armored(data: &[u8]) -> String {
    let mut sink = Vec::new();
    {
        let mut w = armor::Writer::new(&mut sink, armor::Kind::Message).expect("armor");
        w.write_all(data).expect("write");
        w.finalize().expect("finalize");
    }
    String::from_utf8(sink).expect("ascii")
}

fn pgp_mime(from: &str, message_id: &str, armored: &str) -> Vec<u8> {
    format!(
        "From: Reporter <{from}>\r\nTo: security@example.org\r\nSubject: ...\r\nMessage-ID: {message_id}\r\nDate: Wed, 02 Dec 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n{armored}\r\n--b1--\r\n"
    )
    .into_bytes()
}

fn inner(body: &str) -> Vec<u8> {
    format!("Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").into_bytes()
}

/// The hostile mail (`n` junk packets before the valid one), built once.
fn hostile(n: usize) -> &'static [u8] {
    static MAIL: OnceLock<Vec<u8>> = OnceLock::new();
    MAIL.get_or_init(|| {
        let mut packets = junk_pkesks(n);
        packets.extend(encrypt(&inner(HOSTILE_TEXT)));
        pgp_mime(
            "attacker@hostile.test",
            "<hostile@hostile.test>",
            &armored(&packets),
        )
    })
}

struct Run {
    dir: tempfile::TempDir,
    daemon: Daemon,
}

impl Run {
    /// One sample of the daemon's `/metrics`.
    fn metric(&self, series: &str) -> Option<f64> {
        let addr = metrics_addr(&self.dir.path().join("state"))?;
        let (_, body) = scrape(&addr, "/metrics")?;
        sample(&body, series)
    }
}

fn start(limits: &str) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    offline::maildir(d);
    let key_file = d.join("team.key.asc");
    let mut f = std::fs::File::create(&key_file).expect("key file");
    team_key()
        .as_tsk()
        .armored()
        .serialize(&mut f)
        .expect("write key");
    std::fs::write(d.join("passphrase"), PASSPHRASE).expect("passphrase");
    let config = offline::write_config(
        d,
        &Offline {
            tracking_prefix: "JUNK",
            maildir: "poll_interval = \"1s\"",
            openpgp: "passphrase_file = \"passphrase\"",
            ..Offline::default()
        },
    );
    // Our key instead of the demo key, and the limits under test.
    let text = std::fs::read_to_string(&config).expect("config");
    let demo = common::team_secret_key().display().to_string();
    let text = text.replace(&demo, &key_file.display().to_string());
    std::fs::write(
        &config,
        format!("{text}\n[limits]\n{limits}\n\n[metrics]\nlisten = \"127.0.0.1:0\"\n"),
    )
    .expect("config");
    let daemon = Daemon::start(&config, d.join("daemon.log"), &[]);
    Run { dir, daemon }
}

/// Writes a message into the Maildir as a delivery agent does (tmp, then new).
fn deliver(dir: &Path, name: &str, raw: &[u8]) {
    let tmp = dir.join("inbox/tmp").join(name);
    std::fs::write(&tmp, raw).expect("deliver");
    std::fs::rename(&tmp, dir.join("inbox/new").join(name)).expect("deliver");
}

fn files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.filter_map(Result::ok) {
        if let Ok(bytes) = std::fs::read(e.path()) {
            out.push((e.path(), String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}

/// When each of the two was filed and acknowledged, from delivery.
#[derive(Default, Debug)]
struct Times {
    ordinary_filed: Option<Duration>,
    ordinary_acked: Option<Duration>,
    hostile_filed: Option<Duration>,
    hostile_acked: Option<Duration>,
}

impl Times {
    fn all(&self) -> bool {
        self.ordinary_filed.is_some()
            && self.ordinary_acked.is_some()
            && self.hostile_filed.is_some()
            && self.hostile_acked.is_some()
    }
}

const HOSTILE_TEXT: &str = "The hostile report's real text.";
const ORDINARY_TEXT: &str = "An ordinary report queued behind the hostile one.";

/// Delivers the hostile mail, then the ordinary one, and watches the
/// tracker and the outbox until both are filed and acknowledged.
fn hostile_then_ordinary(run: &mut Run, n: usize) -> (Times, String) {
    let d = run.dir.path().to_path_buf();
    let ordinary = pgp_mime(
        "reporter@example.net",
        "<ordinary@example.net>",
        &armored(&encrypt(&inner(ORDINARY_TEXT))),
    );
    let hostile = hostile(n);
    let t0 = Instant::now();
    deliver(&d, "001.hostile", hostile);
    deliver(&d, "002.ordinary", &ordinary);
    let mut times = Times::default();
    let mut stub = String::new();
    while t0.elapsed() < WAIT && !times.all() {
        for (_, text) in files(&d.join("issues")) {
            if text.contains(ORDINARY_TEXT) {
                times.ordinary_filed.get_or_insert(t0.elapsed());
            } else if text.contains("could not be read") || text.contains(HOSTILE_TEXT) {
                times.hostile_filed.get_or_insert(t0.elapsed());
                stub = text;
            }
        }
        for (_, text) in files(&d.join("outbox")) {
            if text.contains("In-Reply-To: <ordinary@example.net>") {
                times.ordinary_acked.get_or_insert(t0.elapsed());
            } else if text.contains("In-Reply-To: <hostile@hostile.test>") {
                times.hostile_acked.get_or_insert(t0.elapsed());
            }
        }
        assert!(run.daemon.is_running(), "{}", run.daemon.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(times.all(), "{times:?}\n{}", run.daemon.log_text());
    println!(
        "{n} junk session-key packets ({} bytes): ordinary report filed {:.1} s and acknowledged {:.1} s after delivery; hostile one filed as a stub {:.1} s and acknowledged {:.1} s after delivery",
        hostile.len(),
        times.ordinary_filed.unwrap_or_default().as_secs_f64(),
        times.ordinary_acked.unwrap_or_default().as_secs_f64(),
        times.hostile_filed.unwrap_or_default().as_secs_f64(),
        times.hostile_acked.unwrap_or_default().as_secs_f64(),
    );
    let issues = files(&d.join("issues")).len();
    let acks = files(&d.join("outbox")).len();
    assert_eq!((issues, acks), (2, 2), "{}", run.daemon.log_text());
    (times, stub)
}

#[test]
fn junk_session_keys_are_capped_and_hold_nothing_back() {
    let n = junk_count();
    let mut run = start("");
    let (times, stub) = hostile_then_ordinary(&mut run, n);
    assert!(
        stub.contains(&format!(
            "{} session-key packets are addressed to our key",
            n + 1
        )) && stub.contains("gave up after 3 failed tries"),
        "{stub}"
    );
    // Three private-key operations, not ten thousand: both go through at
    // the pace of ordinary mail.
    let slowest = times.hostile_acked.unwrap_or_default();
    assert!(slowest < Duration::from_secs(60), "{times:?}");
    assert_eq!(
        run.metric("secintake_decrypt_failures_total{reason=\"attempt_cap\"}"),
        Some(1.0)
    );
    let log = run.daemon.log_text();
    assert!(!log.contains(PASSPHRASE), "passphrase in the log");
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_hostile_opening_past_its_budget_holds_nothing_back() {
    let n = junk_count();
    // Caps lifted: every junk packet is tried, each a private-key
    // operation, far more than the 3-second budget allows.
    let mut run = start("open_budget = \"3s\"\nmax_key_attempts = 100000");
    let (times, stub) = hostile_then_ordinary(&mut run, n);
    assert!(stub.contains("ran past its budget of 3 s"), "{stub}");
    assert!(stub.contains("opening it failed 2 times"), "{stub}");
    // The ordinary report was answered while the hostile one was still
    // being worked on: before it was given up.
    assert!(
        times.ordinary_acked < times.hostile_filed,
        "the ordinary report waited for the hostile one: {times:?}"
    );
    let log = run.daemon.log_text();
    assert!(
        log.contains("still opening the message; later reports go first"),
        "{log}"
    );
    assert_eq!(
        log.matches("opening the message failed").count(),
        2,
        "{log}"
    );
    assert_eq!(
        run.metric("secintake_open_failures_total{reason=\"budget\"}"),
        Some(2.0)
    );
}

#[test]
fn a_key_the_passphrase_does_not_unlock_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    offline::maildir(d);
    let key_file = d.join("team.key.asc");
    let mut f = std::fs::File::create(&key_file).expect("key file");
    team_key()
        .as_tsk()
        .armored()
        .serialize(&mut f)
        .expect("write key");
    let wrong = "not the passphrase at all";
    std::fs::write(d.join("passphrase"), wrong).expect("passphrase");
    let config = offline::write_config(
        d,
        &Offline {
            tracking_prefix: "LOCKED",
            openpgp: "passphrase_file = \"passphrase\"",
            ..Offline::default()
        },
    );
    let text = std::fs::read_to_string(&config).expect("config");
    let demo = common::team_secret_key().display().to_string();
    std::fs::write(
        &config,
        text.replace(&demo, &key_file.display().to_string()),
    )
    .expect("config");
    let config = config.display().to_string();
    let subkey = team_key()
        .keys()
        .subkeys()
        .next()
        .expect("subkey")
        .key()
        .fingerprint()
        .to_hex();
    for args in [
        vec!["--config", &config, "run", "--once"],
        vec!["--config", &config, "check", "--offline"],
    ] {
        let (code, out) = common::daemon::run_cli(&args);
        assert_ne!(code, 0, "{args:?}: {out}");
        assert!(
            out.contains(&subkey) && out.contains("the configured passphrase does not unlock it"),
            "{args:?}: {out}"
        );
        assert!(!out.contains(wrong), "the passphrase was printed: {out}");
    }
}
