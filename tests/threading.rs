//! Dedupe and threading on real servers (Dovecot, Postfix, GitHub fake):
//! every way a message can arrive twice is one report; every way a reporter
//! follows up lands on their report as a comment, with a receipt.

mod common;

use std::time::Duration;

use common::daemon::run_cli;
use common::*;
use secintake::record::{Kind, State};
use secintake::store::{SledStore, Store};

const WAIT: Duration = Duration::from_secs(60);

/// A plain message with extra header lines (each ending in CRLF).
fn message(from: &str, subject: &str, mid: Option<&str>, extra: &str, body: &str) -> Vec<u8> {
    let mid = mid
        .map(|m| format!("Message-ID: {m}\r\n"))
        .unwrap_or_default();
    format!(
        "{extra}From: Reporter <{from}>\r\nTo: security@example.test\r\nSubject: {subject}\r\n{mid}Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn run_once(env: &Env) {
    let (code, out) = run_cli(&["--config", env.config.to_str().unwrap(), "run", "--once"]);
    assert_eq!(code, 0, "{out}");
}

fn tracking_id(issue_title: &str) -> String {
    issue_title
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap()
        .to_string()
}

fn issue_with<'a>(
    issues: &'a [secintake_testkit::github_fake::FakeIssue],
    needle: &str,
) -> &'a secintake_testkit::github_fake::FakeIssue {
    let found: Vec<_> = issues.iter().filter(|i| i.body.contains(needle)).collect();
    assert_eq!(
        found.len(),
        1,
        "issues containing {needle:?}: {}",
        found.len()
    );
    found[0]
}

fn comments_with(issue: &secintake_testkit::github_fake::FakeIssue, needle: &str) -> usize {
    issue.comments.iter().filter(|c| c.contains(needle)).count()
}

fn subjects(raws: &[Vec<u8>]) -> Vec<String> {
    raws.iter()
        .map(|r| header(&text(r), "Subject").unwrap_or("").to_string())
        .collect()
}

#[test]
fn follow_ups_by_reply_reference_and_protected_subject_become_comments() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    env.deliver(&message(
        REPORTER,
        "Token leak in the gateway",
        Some("<orig-1@example.test>"),
        "",
        "ORIGINAL-REPORT: the gateway logs tokens.",
    ));
    run_once(&env);
    let issues = env.wait_issues(1, WAIT);
    let id = tracking_id(&issues[0].title);

    // A reply to our acknowledgement, a reply to their own report, and an
    // encrypted message whose only link is the ID in its protected subject.
    env.deliver(&message(
        REPORTER,
        "Re: Your report",
        Some("<fu-1@example.test>"),
        &format!("In-Reply-To: <{id}.ack@example.test>\r\n"),
        "FOLLOWUP-ONE <script>alert(1)</script> @jupyter/security",
    ));
    env.deliver(&message(
        REPORTER,
        "more details",
        Some("<fu-2@example.test>"),
        "References: <orig-1@example.test>\r\n",
        "FOLLOWUP-TWO",
    ));
    env.deliver(&mail::pgp_mime(
        &team_public_key(),
        REPORTER,
        &format!("Re: [{id}] exploit attached"),
        "<fu-3@example.test>",
        "FOLLOWUP-THREE-ENCRYPTED",
    ));
    // A control: a new report from someone else.
    env.deliver(&message(
        "bob@example.test",
        "Unrelated XSS",
        Some("<other-1@example.test>"),
        "",
        "UNRELATED-REPORT about a reflected parameter.",
    ));
    run_once(&env);

    let issues = env.github.issues(REPO);
    assert_eq!(issues.len(), 2, "follow-ups must not open issues");
    let original = issue_with(&issues, "ORIGINAL-REPORT");
    for needle in ["FOLLOWUP-ONE", "FOLLOWUP-TWO", "FOLLOWUP-THREE-ENCRYPTED"] {
        assert_eq!(
            comments_with(original, needle),
            1,
            "{needle} not exactly once in {:#?}",
            original.comments
        );
    }
    let first = original
        .comments
        .iter()
        .find(|c| c.contains("FOLLOWUP-ONE"))
        .unwrap();
    assert!(
        first.starts_with("<!-- secintake:"),
        "marker first: {first}"
    );
    let fence = first.find("```").expect("follow-up text is fenced");
    assert!(
        first.find("@jupyter/security").unwrap() > fence,
        "mention outside the fence"
    );
    issue_with(&issues, "UNRELATED-REPORT");

    // The reporter: one acknowledgement and three receipts naming the report.
    let mail = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 4, WAIT);
    let subj = subjects(&mail);
    assert_eq!(
        subj.iter()
            .filter(|s| s.contains(&format!("[{id}] Follow-up received")))
            .count(),
        3,
        "{subj:?}"
    );

    // Receipts can be switched off; the comment is still filed.
    env.write_config(&Options {
        extra: "followup_receipts = false\n".into(),
        ..Options::default()
    });
    env.deliver(&message(
        REPORTER,
        &format!("[{id}] one more thing"),
        Some("<fu-4@example.test>"),
        "",
        "FOLLOWUP-FOUR",
    ));
    run_once(&env);
    let issues = env.github.issues(REPO);
    assert_eq!(
        comments_with(issue_with(&issues, "ORIGINAL-REPORT"), "FOLLOWUP-FOUR"),
        1
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        env.acks().len(),
        4,
        "a receipt was sent although switched off"
    );
    assert_eq!(env.mailbox(SECURITY, SECURITY_PW, "INBOX").len(), 0);
}

#[test]
fn the_same_message_arriving_twice_is_one_report() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    let original = message(
        REPORTER,
        "SSRF in proxy",
        Some("<dup-1@example.test>"),
        "",
        "DUP-REPORT: the proxy fetches any URL.",
    );
    env.deliver(&original);
    // Delivered again via our second address (a different trace header).
    env.deliver(&message(
        REPORTER,
        "SSRF in proxy",
        Some("<dup-1@example.test>"),
        "Delivered-To: security@jupyter.example\r\n",
        "DUP-REPORT: the proxy fetches any URL.",
    ));
    // Through a forwarder that adds Resent-* headers.
    env.deliver(&message(
        REPORTER,
        "SSRF in proxy",
        Some("<dup-1@example.test>"),
        "Resent-From: forwarder@example.test\r\nResent-Message-ID: <fwd-9@example.test>\r\n",
        "DUP-REPORT: the proxy fetches any URL.",
    ));
    // The identical bytes once more (an IMAP COPY in the same mailbox).
    env.deliver(&original);
    // No Message-ID at all, delivered twice byte for byte.
    let anonymous = message(
        REPORTER,
        "No id",
        None,
        "",
        "NO-MESSAGE-ID-REPORT: a report without a Message-ID.",
    );
    env.deliver(&anonymous);
    env.deliver(&anonymous);
    // The same Message-ID reused with other content: kept, as a follow-up.
    env.deliver(&message(
        REPORTER,
        "SSRF in proxy (corrected)",
        Some("<dup-1@example.test>"),
        "",
        "REUSED-ID-OTHER-TEXT: correction, it is only internal URLs.",
    ));
    run_once(&env);

    let issues = env.github.issues(REPO);
    assert_eq!(
        issues.len(),
        2,
        "{:#?}",
        issues.iter().map(|i| &i.title).collect::<Vec<_>>()
    );
    let dup = issue_with(&issues, "DUP-REPORT");
    issue_with(&issues, "NO-MESSAGE-ID-REPORT");
    assert_eq!(comments_with(dup, "REUSED-ID-OTHER-TEXT"), 1);
    // Two acknowledgements and one receipt, each once.
    let mail = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 3, WAIT);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(env.acks().len(), 3, "{:?}", subjects(&mail));
    // Every copy was archived, none left behind.
    assert_eq!(env.mailbox(SECURITY, SECURITY_PW, "Processed").len(), 7);
    assert_eq!(env.mailbox(SECURITY, SECURITY_PW, "INBOX").len(), 0);

    let store = SledStore::open(&env.state_dir()).unwrap();
    let dups = store
        .all()
        .unwrap()
        .iter()
        .filter(|r| matches!(r.kind, Some(Kind::Duplicate { .. })))
        .count();
    assert_eq!(dups, 4);
    assert!(store.check(false).unwrap().problems.is_empty());
}

#[test]
fn resubmitted_content_becomes_a_comment() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    env.deliver(&message(
        REPORTER,
        "Path traversal",
        Some("<resub-1@example.test>"),
        "",
        "RESUB-REPORT: GET /files/../../etc/passwd returns the file.\r\nTested on 7.1.",
    ));
    // The same text, re-wrapped and re-cased, new Message-ID and subject,
    // with the reporter's signature appended.
    env.deliver(&message(
        REPORTER,
        "Path traversal (resending, no answer yet?)",
        Some("<resub-2@example.test>"),
        "",
        "resub-report: GET /files/../../etc/passwd\r\nreturns the file. Tested on 7.1.\r\n-- \r\nAlice",
    ));
    run_once(&env);
    let issues = env.github.issues(REPO);
    assert_eq!(
        issues.len(),
        1,
        "{:#?}",
        issues.iter().map(|i| &i.body).collect::<Vec<_>>()
    );
    let comments = &issues[0].comments;
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(comments[0].contains("**Resubmitted**"), "{}", comments[0]);
    let id = tracking_id(&issues[0].title);
    let mail = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 2, WAIT);
    assert!(subjects(&mail)
        .iter()
        .any(|s| s.contains(&format!("[{id}] Follow-up received"))));
}

#[test]
fn uidvalidity_change_files_once() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    // GitHub is down: the report is acknowledged but stays in the inbox.
    env.github.fail_until(
        std::time::Instant::now() + Duration::from_secs(3600),
        secintake_testkit::github_fake::Fault::Status(503),
    );
    env.deliver(&message(
        REPORTER,
        "Renumbered",
        Some("<uv-1@example.test>"),
        "",
        "UIDVALIDITY-REPORT",
    ));
    run_once(&env);
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 1, WAIT);
    assert_eq!(env.mailbox(SECURITY, SECURITY_PW, "INBOX").len(), 1);

    // The server renumbers the mailbox (restore from backup, migration).
    let out = std::process::Command::new("doveadm")
        .arg("-c")
        .arg(env.dovecot.config_file())
        .args([
            "mailbox",
            "update",
            "-u",
            SECURITY,
            "--uid-validity",
            "4242",
            "INBOX",
        ])
        .output()
        .expect("doveadm");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.github.clear_faults();
    // A running daemon, so that the filing retry's backoff can pass.
    let mut daemon = common::daemon::Daemon::start(&env.config, env.path("uv.log"), &[]);
    env.wait_mailbox(SECURITY, SECURITY_PW, "Processed", 1, WAIT);
    assert!(daemon
        .terminate(Duration::from_secs(15))
        .is_some_and(|s| s.success()));

    let issues = env.github.issues(REPO);
    assert_eq!(issues.len(), 1, "{}", daemon.log_text());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(env.acks().len(), 1);
    assert_eq!(env.mailbox(SECURITY, SECURITY_PW, "Processed").len(), 1);
    assert_eq!(env.mailbox(SECURITY, SECURITY_PW, "INBOX").len(), 0);
    let store = SledStore::open(&env.state_dir()).unwrap();
    let records = store.all().unwrap();
    assert_eq!(
        records.len(),
        1,
        "the renumbered message got a second record"
    );
    assert_eq!(records[0].state, State::Archived);
    match &records[0].source {
        secintake::record::SourceRef::Imap { uidvalidity, .. } => assert_eq!(*uidvalidity, 4242),
        other => panic!("{other:?}"),
    }
}
