//! A SIGKILL at each step of a command comment's mail (issue 14), on real
//! servers (Dovecot, Postfix, the GitHub fake): between the synced intent
//! and SMTP, between SMTP and recording that it went, and between our
//! answer on the issue and recording it. Each time: one mail in the
//! reporter's INBOX and one answer on the issue.

mod common;

use std::time::Duration;

use common::conversation::*;
use common::*;

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature: scripts/test.sh, or cargo test --features failpoints"
)]
fn a_kill_before_smtp_or_before_recording_the_answer_gives_one_mail_and_one_answer() {
    let Some(env) = Env::start(Options {
        extra: "\n[conversation]\nenabled = true\n".into(),
        ..Options::default()
    }) else {
        return;
    };
    env.github.set_association(REPO, COORDINATOR, "OWNER");
    env.deliver(&mail::plain(
        REPORTER,
        "Widget bug",
        "<plain-1@example.test>",
        "REPORT-TEXT-pl",
    ));
    run_once(&env, "run1.log");
    let n = env.wait_issues(1, WAIT)[0].number;
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 1, WAIT);

    // Killed between the synced intent and SMTP: the next run sends it.
    let first = env
        .github
        .comment_as(REPO, n, COORDINATOR, "/reply\nFIRST-ANSWER");
    run_killed(&env, "killed1.log", "effect.command.intent:1");
    assert_eq!(env.mailbox(REPORTER, REPORTER_PW, "INBOX").len(), 1);
    run_once(&env, "run2.log");
    // Killed after our answer was posted, before it was recorded: the next
    // run finds it by its marker.
    let second = env
        .github
        .comment_as(REPO, n, COORDINATOR, "/notice credit");
    run_killed(&env, "killed2.log", "effect.command.answered:1");
    run_once(&env, "run3.log");
    run_once(&env, "run4.log");

    let inbox = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 3, WAIT);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(env.mailbox(REPORTER, REPORTER_PW, "INBOX").len(), 3);
    assert_eq!(mail_for(&inbox, first).len(), 1);
    assert_eq!(mail_for(&inbox, second).len(), 1);
    assert!(mail_for(&inbox, first)[0].contains("FIRST-ANSWER"));
    let said = answers(&env, n);
    let count = |id: u64| said.iter().filter(|(i, _)| *i == id).count();
    assert_eq!((count(first), count(second)), (1, 1), "{said:?}");
    assert_eq!(said.len(), 2);
}

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature: scripts/test.sh, or cargo test --features failpoints"
)]
fn a_kill_between_smtp_and_recording_it_is_resolved_by_our_copy_not_a_second_mail() {
    let Some(env) = Env::start(Options {
        extra: "sent_copy = true\nsent_copy_wait = \"6s\"\n\n[conversation]\nenabled = true\n"
            .into(),
        ..Options::default()
    }) else {
        return;
    };
    env.github.set_association(REPO, COORDINATOR, "MEMBER");
    env.deliver(&mail::plain(
        REPORTER,
        "Widget bug",
        "<sent-kill-1@example.test>",
        "REPORT-TEXT-sk",
    ));
    run_once(&env, "run1.log");
    let n = env.wait_issues(1, WAIT)[0].number;
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 1, WAIT);

    // SMTP accepted the mail; the daemon dies before writing that down.
    let id = env
        .github
        .comment_as(REPO, n, COORDINATOR, "/reply\nANSWER-AFTER-KILL");
    run_killed(&env, "killed.log", "effect.command.sent:1");
    let inbox = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 2, WAIT);
    assert_eq!(mail_for(&inbox, id).len(), 1);

    // Later runs read our copy (sent to our own mailbox) and record the
    // mail as sent instead of sending it again; then they answer.
    let mut logs = String::new();
    let answered = wait_until(WAIT, || {
        logs += &run_once(&env, &format!("run-{}.log", logs.len()));
        (answers(&env, n).len() == 1).then_some(())
    });
    assert!(answered.is_some(), "no answer on the issue:\n{logs}");
    assert!(
        logs.contains("command mail confirmed by its copy"),
        "{logs}"
    );
    assert!(
        !logs.contains("sending it again with the same Message-ID"),
        "{logs}"
    );
    std::thread::sleep(Duration::from_secs(2));
    let inbox = env.mailbox(REPORTER, REPORTER_PW, "INBOX");
    assert_eq!(inbox.len(), 2, "the acknowledgement and one reply");
    assert_eq!(mail_for(&inbox, id).len(), 1);
    let said = answers(&env, n);
    assert_eq!(said.len(), 1, "{said:?}");
    let mid = header(&mail_for(&inbox, id)[0], "Message-ID")
        .unwrap()
        .to_string();
    assert!(
        said[0].1.contains(mid.trim_matches(['<', '>'])),
        "{}",
        said[0].1
    );
}
