//! The whole pipeline on real servers: a report APPENDed to Dovecot while
//! the daemon IDLEs becomes one GitHub issue (fake), one acknowledgement
//! delivered by Postfix into the reporter's Dovecot INBOX, and the original
//! moves to the processed mailbox.

mod common;

use std::time::Duration;

use common::daemon::Daemon;
use common::*;

const WAIT: Duration = Duration::from_secs(60);

/// Starts the daemon and waits for its first pass (the status snapshot), so
/// the message arrives while it IDLEs.
fn start_daemon(env: &Env, name: &str) -> Daemon {
    let d = Daemon::start(&env.config, env.path(name), &[]);
    let snapshot = env.state_dir().join("status.json");
    if wait_until(WAIT, || snapshot.exists().then_some(())).is_none() {
        panic!("daemon did not start:\n{}", d.log_text());
    }
    // The snapshot is written just before IDLE starts.
    std::thread::sleep(Duration::from_millis(300));
    d
}

fn assert_ack(ack: &str, tracking_id: &str, original_id: &str) {
    let subject = header(ack, "Subject").expect("ack subject");
    assert!(
        subject.contains(tracking_id),
        "subject {subject:?} lacks {tracking_id}"
    );
    assert_eq!(header(ack, "Auto-Submitted"), Some("auto-replied"));
    assert_eq!(header(ack, "In-Reply-To"), Some(original_id));
    let mid = header(ack, "Message-ID").unwrap_or("");
    assert!(
        is_our_ack_id(mid, tracking_id, "example.test"),
        "Message-ID {mid:?}"
    );
}

#[test]
fn encrypted_report_becomes_issue_ack_and_moves() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    let mut daemon = start_daemon(&env, "daemon.log");
    let secret_text = "PLAINTEXT-MARKER-7f3a: kernel gateway leaks tokens";
    let raw = mail::pgp_mime(
        &team_public_key(),
        REPORTER,
        "Protected subject: token leak",
        "<enc-1@example.test>",
        secret_text,
    );
    env.deliver(&raw);

    let issues = env.wait_issues(1, WAIT);
    assert_eq!(issues.len(), 1);
    let issue = &issues[0];
    assert!(
        issue.body.contains(secret_text),
        "issue body lacks the decrypted text:\n{}",
        issue.body
    );
    assert!(
        issue.body.starts_with("<!-- secintake:JUPSEC-"),
        "marker missing"
    );
    assert!(
        issue.title.contains("Protected subject: token leak"),
        "title {:?}",
        issue.title
    );
    let tracking_id = issue
        .title
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap()
        .to_string();
    for label in ["security-report", "needs-triage", "encrypted"] {
        assert!(
            issue.labels.contains(&label.to_string()),
            "label {label} missing: {:?}",
            issue.labels
        );
    }

    let acks = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 1, WAIT);
    assert_eq!(acks.len(), 1);
    let ack = text(&acks[0]);
    assert_ack(&ack, &tracking_id, "<enc-1@example.test>");
    assert!(!ack.contains("PLAINTEXT-MARKER"), "ack echoes report text");
    assert!(
        !ack.contains("token leak"),
        "ack echoes the protected subject"
    );

    env.wait_mailbox(SECURITY, SECURITY_PW, "Processed", 1, WAIT);
    assert_eq!(env.mailbox(SECURITY, SECURITY_PW, "INBOX").len(), 0);

    let status = daemon
        .terminate(Duration::from_secs(15))
        .expect("daemon exits on SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    let log = daemon.log_text();
    assert!(!log.contains("PLAINTEXT-MARKER"), "log leaks plaintext");
    assert!(
        !log.contains("token leak"),
        "log leaks the encrypted subject"
    );
    assert!(
        !log.contains(SECURITY_PW) && !log.contains(TOKEN),
        "log leaks a secret"
    );
}

#[test]
fn plain_report_becomes_issue_ack_and_moves() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    let mut daemon = start_daemon(&env, "daemon.log");
    let raw = mail::plain(
        REPORTER,
        "XSS in login page",
        "<plain-1@example.test>",
        "The ?next= parameter is reflected.\r\n@jupyter/security see #1",
    );
    env.deliver(&raw);

    let issues = env.wait_issues(1, WAIT);
    let issue = &issues[0];
    assert!(issue.body.contains("The ?next= parameter is reflected."));
    assert!(issue.title.ends_with("XSS in login page"));
    assert!(!issue.labels.contains(&"encrypted".to_string()));
    // Reporter text sits inside a code fence: no mention, no reference.
    let fence_start = issue.body.find("```text").expect("report text is fenced");
    assert!(issue.body[fence_start..].contains("@jupyter/security see #1"));

    let tracking_id = issue
        .title
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap()
        .to_string();
    let acks = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 1, WAIT);
    assert_ack(&text(&acks[0]), &tracking_id, "<plain-1@example.test>");
    env.wait_mailbox(SECURITY, SECURITY_PW, "Processed", 1, WAIT);
    assert_eq!(env.mailbox(SECURITY, SECURITY_PW, "INBOX").len(), 0);
    assert!(daemon
        .terminate(Duration::from_secs(15))
        .is_some_and(|s| s.success()));
}

#[test]
fn restart_files_no_second_issue_and_sends_no_second_ack() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    // The first create-issue takes effect at GitHub but its answer is a 502:
    // the retry must find the marker instead of filing again.
    env.github.push_faults(vec![
        secintake_testkit::github_fake::Fault::StatusAfterApply(502),
    ]);
    env.deliver(&mail::plain(REPORTER, "first", "<r-1@example.test>", "one"));
    env.deliver(&mail::plain(
        REPORTER,
        "second",
        "<r-2@example.test>",
        "two",
    ));

    let mut first = Daemon::start(&env.config, env.path("run1.log"), &[]);
    env.wait_mailbox(SECURITY, SECURITY_PW, "Processed", 2, WAIT);
    assert!(
        first
            .terminate(Duration::from_secs(15))
            .is_some_and(|s| s.success()),
        "{}",
        first.log_text()
    );
    assert_eq!(env.github.issues(REPO).len(), 2, "{}", first.log_text());
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 2, WAIT);

    // Restart on the same state, and put the very same messages back into
    // the inbox (a client's "copy back", a redelivery).
    for m in env.mailbox(SECURITY, SECURITY_PW, "Processed") {
        env.deliver(&m);
    }
    let mut second = Daemon::start(&env.config, env.path("run2.log"), &[]);
    env.wait_mailbox(SECURITY, SECURITY_PW, "Processed", 4, WAIT);
    assert!(second
        .terminate(Duration::from_secs(15))
        .is_some_and(|s| s.success()));

    // A third run with --once over an empty inbox changes nothing either.
    let (code, out) =
        common::daemon::run_cli(&["--config", env.config.to_str().unwrap(), "run", "--once"]);
    assert_eq!(code, 0, "{out}");

    assert_eq!(
        env.github.issues(REPO).len(),
        2,
        "second issue filed:\n{}",
        second.log_text()
    );
    std::thread::sleep(Duration::from_secs(2)); // let any stray ack arrive
    assert_eq!(env.acks().len(), 2, "second acknowledgement sent");
}
