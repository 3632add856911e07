//! The team answers the reporter from the tracking issue (issue 14), on
//! real servers: Dovecot in, Postfix → LMTP → the reporter's Dovecot INBOX
//! out, and the GitHub fake with a coordinator (`COLLABORATOR`) and a
//! stranger (`NONE`). The daemon runs `--once` after each round of
//! comments; the reporter reads our mail with GnuPG.

mod common;

use std::time::Duration;

use common::daemon::Daemon;
use common::gpg::{armored, report_with_key, reporter};
use common::*;
use secintake_testkit::github_fake::BOT_LOGIN;

const WAIT: Duration = Duration::from_secs(90);
const COORDINATOR: &str = "coord-alex";
const STRANGER: &str = "passer-by";

fn run_once(env: &Env, log: &str) -> String {
    let mut daemon = Daemon::start(&env.config, env.path(log), &["--once"]);
    let status = daemon.wait(WAIT).expect("run --once finishes");
    let log = daemon.log_text();
    assert!(status.success(), "daemon failed:\n{log}");
    log
}

/// Our answers on issue `n`: (comment id named in the marker, body).
fn answers(env: &Env, n: u64) -> Vec<(u64, String)> {
    env.github
        .comments_with_authors(REPO, n)
        .into_iter()
        .filter(|(who, _)| who == BOT_LOGIN)
        .filter_map(|(_, body)| {
            let first = body.lines().next()?.to_string();
            let id = first.split(" command:").nth(1)?.trim_end_matches(" -->");
            Some((id.parse().ok()?, body))
        })
        .collect()
}

fn tracking_id(title: &str) -> String {
    title
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap()
        .to_string()
}

/// The mail in `inbox` whose Message-ID names comment `id`.
fn mail_for(inbox: &[Vec<u8>], id: u64) -> Vec<String> {
    inbox
        .iter()
        .map(|m| text(m))
        .filter(|m| {
            header(m, "Message-ID").is_some_and(|mid| mid.contains(&format!(".reply-{id}.")))
        })
        .collect()
}

/// Decrypts with the reporter's key; asserts the team's signature.
fn open(gpg: &common::gpg::Gpg, mail: &str, team_fpr: &str) -> String {
    let (ok, plain, err) = gpg.run(
        &["--status-fd", "2", "--decrypt"],
        Some(armored(mail).as_bytes()),
    );
    assert!(ok, "gpg could not decrypt:\n{err}");
    let validsig = err
        .lines()
        .find(|l| l.starts_with("[GNUPG:] VALIDSIG "))
        .unwrap_or_else(|| panic!("no valid signature:\n{err}"));
    assert!(
        validsig.split(' ').any(|f| f == team_fpr),
        "not signed by the team key {team_fpr}: {validsig}"
    );
    String::from_utf8_lossy(&plain).into_owned()
}

#[test]
fn coordinator_commands_reach_the_reporter_once_encrypted_and_on_the_record() {
    let Some(env) = Env::start(Options {
        extra: "\n[conversation]\nenabled = true\n".into(),
        ..Options::default()
    }) else {
        return;
    };
    env.github
        .set_association(REPO, COORDINATOR, "COLLABORATOR");
    let (gpg, reporter_key, team_fpr) = reporter(env.dir.path());

    // An encrypted report with the reporter's key attached: issue and ack.
    env.deliver(&report_with_key(&reporter_key, "REPORT-TEXT-5e1 widget"));
    run_once(&env, "run1.log");
    let issue = env.wait_issues(1, WAIT).remove(0);
    let tid = tracking_id(&issue.title);
    let acks = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 1, WAIT);
    let ack_mid = header(&text(&acks[0]), "Message-ID").unwrap().to_string();

    // Comments: a reply, a CVE notice, a bad notice, a stranger's and our
    // own (marker-first) command, and an ordinary remark.
    let n = issue.number;
    let secret = "REPLY-TEXT-77a: can you try the patch in branch fix-77?";
    let reply = env
        .github
        .comment_as(REPO, n, COORDINATOR, &format!("/Reply\n{secret}\n"));
    let cve = env
        .github
        .comment_as(REPO, n, COORDINATOR, "/notice cve cve-2026-4242");
    let kinds = [
        (
            "/notice needs-info\nWhich kernel version?",
            "Which kernel version?",
        ),
        (
            "/notice NOT-ACCEPTED",
            "does not consider it a security vulnerability",
        ),
        ("/notice released 4.2.1, 3.6.9", "released in: 4.2.1, 3.6.9"),
        ("/notice credit", "How would you like to be named"),
    ]
    .map(|(body, expect)| (env.github.comment_as(REPO, n, COORDINATOR, body), expect));
    let bad = env
        .github
        .comment_as(REPO, n, COORDINATOR, "/notice cve 2026-4242");
    let stranger = env
        .github
        .comment_as(REPO, n, STRANGER, "/reply\nSTRANGER-TEXT");
    let ours = env.github.comment_as(
        REPO,
        n,
        BOT_LOGIN,
        &format!("<!-- secintake:{tid} part 9/9 -->\n/reply\nOWN-TEXT"),
    );
    env.github
        .comment_as(REPO, n, COORDINATOR, "Looks real; /reply later.");
    let log = run_once(&env, "run2.log");

    // Exactly the six commands' mails arrive: ack + reply + five notices.
    let inbox = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 7, WAIT);
    std::thread::sleep(Duration::from_secs(2));
    let inbox_now = env.mailbox(REPORTER, REPORTER_PW, "INBOX");
    assert_eq!(inbox_now.len(), 7, "ack, reply and five notices only");
    for m in &inbox {
        let m = text(m);
        assert!(!m.contains("STRANGER-TEXT") && !m.contains("OWN-TEXT"));
        assert!(
            !m.contains("REPLY-TEXT") && !m.contains("REPORT-TEXT"),
            "plaintext outside the encryption"
        );
    }
    let sent = mail_for(&inbox, reply);
    assert_eq!(sent.len(), 1, "one mail for the /reply");
    let mail = &sent[0];
    let subject = header(mail, "Subject").unwrap();
    assert!(
        subject.contains(&tid) && subject != "...",
        "subject {subject:?}"
    );
    assert_eq!(header(mail, "In-Reply-To"), Some("<keyed-1@example.test>"));
    let unfolded = mail.replace("\r\n ", " ").replace("\r\n\t", " ");
    let refs = header(&unfolded, "References").unwrap_or("");
    assert!(
        refs.contains("<keyed-1@example.test>") && refs.contains(&ack_mid),
        "References {refs:?}"
    );
    assert_eq!(header(mail, "Auto-Submitted"), None, "a person wrote it");
    assert!(header(mail, "From").unwrap().contains(SECURITY));
    let mid = header(mail, "Message-ID").unwrap().to_string();
    assert!(
        mid.starts_with(&format!("<{tid}.reply-{reply}.")) && mid.ends_with("@example.test>"),
        "{mid}"
    );
    let plain = open(&gpg, mail, &team_fpr);
    assert!(plain.contains(secret), "text intact:\n{plain}");

    let notice = mail_for(&inbox, cve);
    assert_eq!(notice.len(), 1, "one mail for the notice");
    let plain = open(&gpg, &notice[0], &team_fpr);
    assert!(
        plain.contains("CVE-2026-4242") && plain.contains(&tid),
        "{plain}"
    );
    let mut delivered = 1;
    for (id, expect) in kinds {
        let mail = mail_for(&inbox, id);
        assert_eq!(mail.len(), 1, "one mail for comment {id}");
        let plain = open(&gpg, &mail[0], &team_fpr);
        assert!(
            plain.contains(expect) && plain.contains(&tid),
            "{expect}: {plain}"
        );
        delivered += 1;
    }
    assert_eq!(delivered, 5, "every notice kind delivered");

    // On the record: one answer per acted-on command; none for the
    // stranger's, our own or the remark.
    let said = answers(&env, n);
    let ids: Vec<u64> = said.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), 7, "seven answers: {said:?}");
    for id in [reply, cve, bad].into_iter().chain(kinds.map(|(id, _)| id)) {
        assert_eq!(ids.iter().filter(|i| **i == id).count(), 1, "{said:?}");
    }
    assert!(!ids.contains(&stranger) && !ids.contains(&ours));
    let on_reply = &said.iter().find(|(id, _)| *id == reply).unwrap().1;
    assert!(
        on_reply.contains("encrypted to the reporter's key"),
        "{on_reply}"
    );
    assert!(on_reply.contains(&mid), "{on_reply}");
    let on_bad = &said.iter().find(|(id, _)| *id == bad).unwrap().1;
    assert!(
        on_bad.contains("Not sent") && on_bad.contains("/notice needs-info"),
        "{on_bad}"
    );
    assert!(
        log.contains(&format!("comment_id={stranger}")),
        "stranger's command logged by ID"
    );
    assert!(!log.contains("REPLY-TEXT") && !log.contains("STRANGER-TEXT"));

    // Editing the command after sending changes nothing; a pass with no
    // new comment asks GitHub one thing about comments.
    env.github.edit_comment(REPO, reply, "/reply\nEDITED-TEXT");
    env.github.clear_requests();
    run_once(&env, "run3.log");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        env.mailbox(REPORTER, REPORTER_PW, "INBOX").len(),
        7,
        "nothing sent twice"
    );
    assert_eq!(answers(&env, n).len(), 7, "no answer twice");
    let requests = env.github.requests();
    let listings: Vec<_> = requests
        .iter()
        .filter(|r| r.path_only().ends_with("/issues/comments"))
        .collect();
    assert_eq!(listings.len(), 1, "one comment listing per pass");
    assert!(listings[0].path.contains("since="), "{}", listings[0].path);
    let others: Vec<String> = requests
        .iter()
        .filter(|r| {
            r.path_only() != format!("/repos/{REPO}")
                && !r.path_only().ends_with("/issues/comments")
        })
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        others.is_empty(),
        "requests besides the privacy check and the listing: {others:?}"
    );
    env.github.clear_requests();
    run_once(&env, "run4.log");
    let quiet: Vec<String> = env
        .github
        .requests()
        .iter()
        .filter(|r| r.path_only() != format!("/repos/{REPO}"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    eprintln!(
        "requests in a pass with no new comments (besides the start-up privacy check): {quiet:?}"
    );
    assert_eq!(quiet.len(), 1, "{quiet:?}");

    // The reporter answers our reply, encrypted: a comment on the issue.
    let answer = String::from_utf8(mail::pgp_mime(
        &team_public_key(),
        REPORTER,
        "Re: the patch",
        "<answer-1@example.test>",
        "ANSWER-TEXT-3c: the patch fixes it",
    ))
    .unwrap()
    .replacen(
        "Message-ID: <answer-1@example.test>\r\n",
        &format!("Message-ID: <answer-1@example.test>\r\nIn-Reply-To: {mid}\r\n"),
        1,
    );
    env.deliver(answer.as_bytes());
    run_once(&env, "run5.log");
    let comments = env.github.comments_with_authors(REPO, n);
    let threaded: Vec<_> = comments
        .iter()
        .filter(|(_, b)| b.contains("ANSWER-TEXT-3c"))
        .collect();
    assert_eq!(threaded.len(), 1, "the reporter's answer as one comment");
    assert_eq!(
        env.github.issues(REPO).len(),
        1,
        "no new issue for the answer"
    );

    // `status` counts the command comments: the reply and five notices
    // sent, the bad notice refused, the stranger's ignored (our own and the
    // remark are no command comments).
    let (code, out) =
        common::daemon::run_cli(&["status", "--config", env.config.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("commands: 0 pending, 6 sent, 1 refused, 1 ignored"),
        "{out}"
    );
}

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

/// Runs `--once` with `failpoint` armed: the daemon aborts there.
fn run_killed(env: &Env, log: &str, failpoint: &str) {
    let mut daemon = Daemon::start_env(
        &env.config,
        env.path(log),
        &["--once"],
        &[("SECINTAKE_FAILPOINT", failpoint)],
    );
    let status = daemon.wait(WAIT).expect("the daemon ends");
    assert!(
        !status.success(),
        "{failpoint} did not abort:\n{}",
        daemon.log_text()
    );
}

#[test]
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
