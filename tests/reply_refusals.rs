//! The conversation's refusals and failures on real servers (Dovecot,
//! Postfix, the GitHub fake): nothing in clear to an encrypted reporter
//! without a key until `/reply plain`, an address the rate cap protects,
//! SMTP down (said once, retried), and a daemon waiting in IMAP IDLE.
//! Kills are in `reply_kills.rs`.

mod common;

use std::time::Duration;

use common::conversation::*;
use common::daemon::Daemon;
use common::*;

#[test]
fn encrypted_report_without_key_gets_nothing_in_clear_until_reply_plain() {
    let Some(env) = Env::start(Options {
        extra: "\n[conversation]\nenabled = true\n".into(),
        ..Options::default()
    }) else {
        return;
    };
    env.github.set_association(REPO, COORDINATOR, "MEMBER");
    env.deliver(&mail::pgp_mime(
        &team_public_key(),
        REPORTER,
        "Protected subject",
        "<nokey-1@example.test>",
        "REPORT-TEXT-0k without a key",
    ));
    run_once(&env, "run1.log");
    let issue = env.wait_issues(1, WAIT).remove(0);
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 1, WAIT);
    let n = issue.number;
    let first = env
        .github
        .comment_as(REPO, n, COORDINATOR, "/reply\nCLEAR-TEXT-1 withheld");
    run_once(&env, "run2.log");
    std::thread::sleep(Duration::from_secs(2));
    let inbox = env.mailbox(REPORTER, REPORTER_PW, "INBOX");
    assert_eq!(inbox.len(), 1, "nothing sent in clear");
    let said = answers(&env, n);
    assert_eq!(said.len(), 1, "{said:?}");
    assert_eq!(said[0].0, first);
    assert!(
        said[0].1.contains("nothing is sent in clear") && said[0].1.contains("/reply plain"),
        "{}",
        said[0].1
    );

    let plain = env.github.comment_as(
        REPO,
        n,
        COORDINATOR,
        "/reply plain\nCLEAR-TEXT-2 deliberately",
    );
    run_once(&env, "run3.log");
    let inbox = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 2, WAIT);
    assert_eq!(inbox.len(), 2);
    let sent = mail_for(&inbox, plain);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("CLEAR-TEXT-2 deliberately"));
    assert!(!sent[0].contains("CLEAR-TEXT-1"));
    assert_eq!(
        header(&sent[0], "In-Reply-To"),
        Some("<nokey-1@example.test>")
    );
    let said = answers(&env, n);
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(said[1].1.contains("**not encrypted**"), "{}", said[1].1);
}

#[test]
fn an_address_the_rate_cap_protects_gets_no_command_mail() {
    let Some(env) = Env::start(Options {
        extra: "per_address_max = 1\n\n[conversation]\nenabled = true\n".into(),
        ..Options::default()
    }) else {
        return;
    };
    env.github
        .set_association(REPO, COORDINATOR, "COLLABORATOR");
    for (i, subject) in ["First widget bug", "Second, unrelated kernel bug"]
        .iter()
        .enumerate()
    {
        env.deliver(&mail::plain(
            REPORTER,
            subject,
            &format!("<capped-{i}@example.test>"),
            &format!("REPORT-TEXT-{i} about {subject}"),
        ));
    }
    run_once(&env, "run1.log");
    let issues = env.wait_issues(2, WAIT);
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 1, WAIT);
    // The second report's acknowledgement was capped: the address is
    // protected, and a command on its issue is refused.
    let capped = env
        .github
        .comment_as(REPO, issues[1].number, COORDINATOR, "/notice needs-info");
    run_once(&env, "run2.log");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        env.mailbox(REPORTER, REPORTER_PW, "INBOX").len(),
        1,
        "ack only"
    );
    let said = answers(&env, issues[1].number);
    assert_eq!(said.len(), 1, "{said:?}");
    assert_eq!(said[0].0, capped);
    assert!(said[0].1.contains("rate cap"), "{}", said[0].1);
}

#[test]
fn a_failed_command_mail_is_said_on_the_issue_and_retried() {
    let Some(env) = Env::start(Options {
        extra: "\n[conversation]\nenabled = true\n".into(),
        ..Options::default()
    }) else {
        return;
    };
    env.github
        .set_association(REPO, COORDINATOR, "COLLABORATOR");
    env.deliver(&mail::plain(
        REPORTER,
        "Widget bug",
        "<down-1@example.test>",
        "REPORT-TEXT-dn",
    ));
    run_once(&env, "run1.log");
    let n = env.wait_issues(1, WAIT)[0].number;
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 1, WAIT);

    // SMTP unreachable: a closed port.
    let good = std::fs::read_to_string(&env.config).unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let live = format!("port = {}\n", env.postfix.submission_port);
    assert!(good.contains(&live));
    std::fs::write(
        &env.config,
        good.replace(&live, &format!("port = {dead}\n")),
    )
    .unwrap();
    let id = env
        .github
        .comment_as(REPO, n, COORDINATOR, "/reply\nRETRIED-TEXT");
    run_once(&env, "run2.log");
    let notes: Vec<String> = env
        .github
        .comments_with_authors(REPO, n)
        .into_iter()
        .map(|(_, b)| b)
        .filter(|b| {
            b.lines()
                .next()
                .is_some_and(|l| l.ends_with(&format!("command:{id} failed -->")))
        })
        .collect();
    assert_eq!(notes.len(), 1, "one note of the failure");
    assert!(
        notes[0].contains("failed: ") && notes[0].contains("tries again at"),
        "{}",
        notes[0]
    );
    assert!(answers(&env, n).is_empty(), "not sent, not answered");

    // SMTP back; after the backoff (5 s) the mail goes, once.
    std::fs::write(&env.config, good).unwrap();
    std::thread::sleep(Duration::from_secs(6));
    run_once(&env, "run3.log");
    let inbox = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 2, WAIT);
    assert_eq!(mail_for(&inbox, id).len(), 1);
    assert!(mail_for(&inbox, id)[0].contains("RETRIED-TEXT"));
    let said = answers(&env, n);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].1.contains("Sent "), "{}", said[0].1);
    let all = env.github.comments_with_authors(REPO, n);
    assert_eq!(
        all.iter()
            .filter(|(_, b)| b.contains(&format!("command:{id} failed")))
            .count(),
        1,
        "the failure is said once"
    );
}

#[test]
fn a_running_daemon_in_imap_idle_picks_up_a_command_within_its_poll_interval() {
    let Some(env) = Env::start(Options {
        extra: "\n[conversation]\nenabled = true\npoll_interval = \"1s\"\n".into(),
        ..Options::default()
    }) else {
        return;
    };
    env.github
        .set_association(REPO, COORDINATOR, "COLLABORATOR");
    let mut daemon = Daemon::start(&env.config, env.path("daemon.log"), &[]);
    env.deliver(&mail::plain(
        REPORTER,
        "Widget bug",
        "<idle-1@example.test>",
        "REPORT-TEXT-id",
    ));
    let n = env.wait_issues(1, WAIT)[0].number;
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 1, WAIT);
    let posted = std::time::Instant::now();
    let id = env
        .github
        .comment_as(REPO, n, COORDINATOR, "/reply\nWHILE-IDLE");
    let inbox = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 2, Duration::from_secs(20));
    let took = posted.elapsed();
    assert_eq!(mail_for(&inbox, id).len(), 1);
    let answered = wait_until(Duration::from_secs(20), || {
        (!answers(&env, n).is_empty()).then_some(())
    });
    assert!(answered.is_some(), "{}", daemon.log_text());
    eprintln!("command comment to mail in the reporter's INBOX, daemon in IDLE: {took:?}");
    assert!(took < Duration::from_secs(15), "{took:?}");
    daemon.terminate(Duration::from_secs(20));
}
