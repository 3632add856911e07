//! The team answers the reporter from the tracking issue (issue 14), on
//! real servers: Dovecot in, Postfix → LMTP → the reporter's Dovecot INBOX
//! out, and the GitHub fake with a coordinator (`COLLABORATOR`) and a
//! stranger (`NONE`). The daemon runs `--once` after each round of
//! comments; the reporter reads our mail with GnuPG. Refusals, failures
//! and kills are in `reply_refusals.rs`.

mod common;

use std::time::Duration;

use common::conversation::*;
use common::gpg::{report_with_key, reporter};
use common::*;
use secintake_testkit::github_fake::BOT_LOGIN;

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
    // Besides: the lifecycle's issue listing (`/issues?state=all&since=`).
    let others: Vec<String> = requests
        .iter()
        .filter(|r| {
            r.path_only() != format!("/repos/{REPO}")
                && !r.path_only().ends_with("/issues/comments")
                && !(r.path_only().ends_with("/issues") && r.path.contains("since="))
        })
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        others.is_empty(),
        "requests besides the privacy check and the listings: {others:?}"
    );
    // Our answers changed the issue within the last second: GitHub's
    // times have whole seconds, so the next pass still lists the comments
    // once; after that a quiet pass is one request, the issue listing.
    std::thread::sleep(Duration::from_secs(2));
    run_once(&env, "run4.log");
    std::thread::sleep(Duration::from_secs(1));
    env.github.clear_requests();
    run_once(&env, "run5.log");
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
    assert!(
        quiet[0].starts_with(&format!("GET /repos/{REPO}/issues?state=all&sort=updated")),
        "{quiet:?}"
    );

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
        out.contains(
            "commands: 0 pending, 6 sent, 1 refused, 1 ignored, 0 applied; first human reply "
        ),
        "{out}"
    );
    // One report, replied to within this test's minutes.
    assert!(
        out.contains("(p90) after the report, over 1 report(s)"),
        "{out}"
    );
}
