//! No secret and no report text in the logs, at the most verbose level:
//! the whole pipeline runs on real servers with `SECINTAKE_LOG=trace` (every
//! crate, dependencies included, at trace) and a passphrase-protected team
//! key made by gpg for this test; then the log is searched for the report
//! text, the protected subject, the IMAP/SMTP password (also as SASL PLAIN
//! and LOGIN base64), the GitHub token and the key passphrase.

mod common;

use std::process::Command;
use std::time::Duration;

use common::daemon::{binary, Daemon};
use common::service::gpg_key_with_passphrase;
use common::*;

const WAIT: Duration = Duration::from_secs(90);
const PASSPHRASE: &str = "pass-PHRASE-5d2e-never-logged";
const ENCRYPTED_TEXT: &str = "PLAINTEXT-MARKER-91c4 the gateway hands out admin tokens";
const PROTECTED_SUBJECT: &str = "SUBJECT-MARKER-3b7f token leak";
const PLAIN_TEXT: &str = "PLAIN-REPORT-MARKER-62aa reflected XSS via next parameter";

fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Every string that must never reach a log.
fn forbidden() -> Vec<(&'static str, String)> {
    vec![
        ("encrypted report text", "PLAINTEXT-MARKER-91c4".into()),
        ("protected subject", "SUBJECT-MARKER-3b7f".into()),
        ("plain report text", "PLAIN-REPORT-MARKER-62aa".into()),
        ("password", SECURITY_PW.into()),
        ("GitHub token", TOKEN.into()),
        ("key passphrase", PASSPHRASE.into()),
        (
            "SASL PLAIN credentials",
            b64(format!("\0{SECURITY}\0{SECURITY_PW}").as_bytes()),
        ),
        ("SASL LOGIN password", b64(SECURITY_PW.as_bytes())),
    ]
}

fn assert_clean(what: &str, log: &str) {
    for (name, needle) in forbidden() {
        assert!(
            !log.contains(&needle),
            "{what} contains the {name} ({} lines of log)",
            log.lines().count()
        );
    }
}

#[test]
fn nothing_secret_in_the_logs_at_trace() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    let (secret_key, public_key) =
        gpg_key_with_passphrase(env.dir.path(), "Team <security@example.test>", PASSPHRASE);
    std::fs::write(env.path("key-passphrase"), PASSPHRASE).unwrap();
    let config = std::fs::read_to_string(&env.config).unwrap();
    let config = config.replace(
        &format!("secret_keys = [\"{}\"]", team_secret_key().display()),
        &format!(
            "secret_keys = [\"{}\"]\npassphrase_file = \"key-passphrase\"",
            secret_key.display()
        ),
    );
    assert!(
        config.contains("passphrase_file"),
        "openpgp section not found"
    );
    std::fs::write(&env.config, config).unwrap();

    // `check` connects to everything (IMAP login, SMTP auth, GitHub) and
    // unlocks the key: at trace too.
    let check = Command::new(binary())
        .args(["--config", env.config.to_str().unwrap(), "check"])
        .env("SECINTAKE_LOG", "trace")
        .env_remove("JOURNAL_STREAM")
        .output()
        .expect("run check");
    let check_log = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(check.status.success(), "check failed:\n{check_log}");
    assert_clean("`secintake check` output", &check_log);

    let mut daemon = Daemon::start_env(
        &env.config,
        env.path("daemon.log"),
        &[],
        &[("SECINTAKE_LOG", "trace")],
    );
    env.deliver(&mail::pgp_mime(
        &public_key,
        REPORTER,
        PROTECTED_SUBJECT,
        "<secret-1@example.test>",
        ENCRYPTED_TEXT,
    ));
    env.deliver(&mail::plain(
        REPORTER,
        "XSS in login",
        "<secret-2@example.test>",
        PLAIN_TEXT,
    ));
    let issues = wait_until(WAIT, || {
        let issues = env.github.issues(REPO);
        (issues.len() >= 2).then_some(issues)
    })
    .unwrap_or_else(|| {
        let log = daemon.log_text();
        let ours: Vec<&str> = log.lines().filter(|l| l.contains("secintake")).collect();
        panic!("two issues expected:\n{}", ours.join("\n"))
    });
    // The passphrase-protected key really decrypted the report.
    assert!(
        issues.iter().any(|i| i.body.contains(ENCRYPTED_TEXT)),
        "the encrypted report was not decrypted:\n{}",
        daemon.log_text()
    );
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 2, WAIT);
    env.wait_mailbox(SECURITY, SECURITY_PW, "Processed", 2, WAIT);
    let status = daemon.terminate(Duration::from_secs(30)).expect("exits");
    assert!(status.success());

    let log = daemon.log_text();
    // The test means something only if dependencies did log at trace.
    let trace_lines: Vec<&str> = log.lines().filter(|l| l.contains("TRACE")).collect();
    let from = |target: &str| trace_lines.iter().filter(|l| l.contains(target)).count();
    for target in ["rustls", "tower"] {
        assert!(
            from(target) > 0,
            "no TRACE lines from {target}: the filter is not at trace"
        );
    }
    assert!(
        trace_lines.len() > 20,
        "only {} TRACE lines",
        trace_lines.len()
    );
    assert_clean("the daemon log", &log);
}
