//! The team as an intake channel, on real servers (Dovecot, Postfix →
//! LMTP → Dovecot, the GitHub fake), through the daemon binary (`run
//! --once`): a team member's reply through our list with the report's
//! references, and a coordinator's reply as security@, become comments
//! "from the team" (no acknowledgement; a coordinator's response, so no
//! reminder); forwarded reports (attached and inline) are new reports under
//! their original senders; other team mail is recorded; our own
//! acknowledgement coming back is still dropped. With
//! `acknowledge_team_forwards` a forward is acknowledged to its sender (on
//! the embedded parts).

mod common;

use std::time::{Duration, Instant};

use common::channels::*;
use common::daemon::run_cli;
use common::*;
use serde_json::Value;

#[test]
fn team_mail_comments_forwards_and_is_recorded() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    configure(
        &env,
        &format!("list_ids = [\"{LIST_GOOGLE}\"]\nteam_addresses = [\"@team.example\", \"Bob@Example.net\"]"),
        "\n[reminders]\nafter = \"8s\"\nteam = \"@jupyter/security\"\n",
    );
    let alice = ("Alice Example", REPORTER);
    let start = Instant::now();
    for n in 1..=3 {
        env.deliver(&direct(
            alice.0,
            alice.1,
            &format!("<team-report-{n}@example.test>"),
            &format!("Report {n}"),
            "",
            &format!(
                "REPORT-{n}: {}",
                [
                    "XSS in the markdown preview",
                    "token in the server log",
                    "CSRF on kernel restart"
                ][n - 1]
            ),
        ));
    }
    run_once(&env);
    let issues = env.wait_issues(3, WAIT);
    let acks = acks_settled(&env, 3);
    assert_eq!(acks.len(), 3);

    // (1) A team member's reply through the list, with report 1's references.
    let carol = ("Carol Coordinator", "carol@team.example");
    env.deliver(&via_list(
        GOOGLE_HEADERS,
        GOOGLE_FOOTER,
        carol,
        "<carol-1@team.example>",
        "Re: Report 1",
        &refs("<team-report-1@example.test>"),
        "TEAM-REPLY-1: thanks, we can reproduce it.",
    ));
    // (2) A coordinator replying as security@ to report 2 (To the reporter,
    // Cc us): not our own mail (a person's Message-ID), so a comment too.
    env.deliver(
        &String::from_utf8(direct(
            "Project Jupyter Security",
            SECURITY,
            "<coord-2@team.example>",
            "Re: Report 2",
            &refs("<team-report-2@example.test>"),
            "TEAM-REPLY-2: a fix is in review.",
        ))
        .unwrap()
        .replacen(
            "To: security@example.test",
            "To: alice@example.test\r\nCc: security@example.test",
            1,
        )
        .into_bytes(),
    );
    // (3) A report a team member received directly, forwarded as an attachment.
    let inner = "From: Dave Reporter <dave@reporter.example>\r\nTo: carol@team.example\r\nSubject: SSRF in the proxy\r\nMessage-ID: <dave-1@reporter.example>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\nContent-Type: text/plain\r\n\r\nFORWARDED-ATTACHED: the proxy fetches any URL.\r\n";
    env.deliver(format!(
        "From: {} <{}>\r\nTo: security@example.test\r\nSubject: Fwd: SSRF in the proxy\r\nMessage-ID: <carol-fwd@team.example>\r\nDate: Tue, 24 Nov 2026 11:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"fwd\"\r\n\r\n--fwd\r\nContent-Type: text/plain\r\n\r\nThis came to me directly; filing it.\r\n--fwd\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"report.eml\"\r\n\r\n{inner}\r\n--fwd--\r\n",
        carol.0, carol.1
    ).as_bytes());
    // (4) An inline forward (Gmail's form) from a team address.
    env.deliver(&direct(
        "Bob",
        "bob@example.net",
        "<bob-fwd@example.net>",
        "Fwd: Path traversal",
        "",
        "FYI\r\n\r\n---------- Forwarded message ---------\r\nFrom: Erin <erin@reporter.example>\r\nDate: Mon, 23 Nov 2026 at 08:00\r\nSubject: Path traversal\r\nTo: <bob@example.net>\r\n\r\nFORWARDED-INLINE: ../ in the contents API.",
    ));
    // (5) Other team mail.
    env.deliver(&direct(
        carol.0,
        carol.1,
        "<carol-lunch@team.example>",
        "Triage call",
        "",
        "TEAM-OTHER: triage call moved to Friday.",
    ));
    // (6) One of our acknowledgements coming back (a copy): ours,
    // dropped, no comment, no loop.
    env.deliver(&acks[0]);
    // The reminders are due from 8 s after the reports came in.
    std::thread::sleep(Duration::from_secs(9).saturating_sub(start.elapsed()));
    run_once(&env);

    let issues_now = env.wait_issues(5, WAIT);
    let r1 = issue_with(&issues_now, "REPORT-1:");
    let r2 = issue_with(&issues_now, "REPORT-2:");
    let r3 = issue_with(&issues_now, "REPORT-3:");
    let team_comments = |i: &secintake_testkit::github_fake::FakeIssue, needle: &str| {
        i.comments
            .iter()
            .filter(|c| c.contains("From the team") && c.contains(needle))
            .count()
    };
    assert_eq!(team_comments(r1, "TEAM-REPLY-1"), 1, "{:#?}", r1.comments);
    assert_eq!(team_comments(r2, "TEAM-REPLY-2"), 1, "{:#?}", r2.comments);
    assert!(r1
        .comments
        .iter()
        .all(|c| !c.contains("You received this message")));
    assert!(
        !r1.labels.iter().any(|l| l == "follow-up"),
        "{:?}",
        r1.labels
    );
    // A coordinator's response: no reminder on 1 and 2; report 3 (the
    // control, unanswered) gets one.
    let reminders = |i: &secintake_testkit::github_fake::FakeIssue| {
        i.comments
            .iter()
            .filter(|c| c.contains(" reminder:response"))
            .count()
    };
    assert_eq!(
        (reminders(r1), reminders(r2), reminders(r3)),
        (0, 0, 1),
        "{:#?}",
        r3.comments
    );
    // Forwards: new issues under the original senders.
    assert_eq!(
        issues_now.len(),
        5,
        "{:?}",
        issues_now.iter().map(|i| &i.title).collect::<Vec<_>>()
    );
    let dave = issue_with(&issues_now, "FORWARDED-ATTACHED");
    assert!(dave.body.contains("dave@reporter.example"), "{}", dave.body);
    assert!(dave.body.contains("Forwarded by the team"), "{}", dave.body);
    let erin = issue_with(&issues_now, "FORWARDED-INLINE");
    assert!(erin.body.contains("erin@reporter.example"), "{}", erin.body);
    assert!(issues.len() == 3 && issues_now.iter().all(|i| !i.body.contains("TEAM-OTHER")));

    // No acknowledgement for any team mail or forward (not configured).
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(env.acks().len(), 3, "no new acknowledgement");
    let records = status(&env);
    let row = |needle: &str| -> Vec<&Value> {
        records
            .iter()
            .filter(|r| r["kind"].as_str().unwrap().starts_with(needle))
            .collect()
    };
    assert_eq!(
        row("team comment on JUPSEC-").len(),
        2,
        "{:?}",
        kinds(&records)
    );
    for r in row("team comment on") {
        assert_eq!(r["ack"], "not sent: team mail");
    }
    let other = row("team mail (");
    assert_eq!(other.len(), 1, "{:?}", kinds(&records));
    assert_eq!(other[0]["ack"], "not sent: team mail");
    assert_eq!(
        row("automatic (a copy of our own message)").len(),
        1,
        "{:?}",
        kinds(&records)
    );
    let forwarded: Vec<_> = records
        .iter()
        .filter(|r| {
            r["ack"]
                .as_str()
                .unwrap()
                .starts_with("not sent: forwarded by the team")
        })
        .collect();
    assert_eq!(forwarded.len(), 2, "{records:#?}");
    // Reports 1 and 2 show the team's response in their window.
    let answered = records
        .iter()
        .filter(|r| {
            r["window"].as_array().is_some_and(|w| {
                w.iter()
                    .any(|x| x.as_str().unwrap().starts_with("coordinator responded"))
            })
        })
        .count();
    assert_eq!(answered, 2, "{records:#?}");
}

/// With `acknowledge_team_forwards = true` a forwarded report is
/// acknowledged, to the forwarded message's sender (never the team
/// member); the embedded parts (Maildir, directory tracker, outbox).
#[test]
fn forwarded_reports_are_acknowledged_to_their_sender_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    common::offline::maildir(dir.path());
    let config = common::offline::write_config(
        dir.path(),
        &common::offline::Offline {
            addresses: &["security@example.test"],
            ..Default::default()
        },
    );
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "[instance]\n",
        "[instance]\nteam_addresses = [\"@team.example\"]\nacknowledge_team_forwards = true\n",
        1,
    );
    std::fs::write(&config, text).unwrap();
    let forward = direct(
        "Carol",
        "carol@team.example",
        "<carol-fwd-2@team.example>",
        "Fwd: Open redirect",
        "",
        "-------- Forwarded Message --------\r\nSubject: Open redirect\r\nDate: Mon, 23 Nov 2026 08:00:00 +0000\r\nFrom: Frank <frank@reporter.example>\r\nTo: carol@team.example\r\n\r\nFORWARDED: the login page redirects anywhere.",
    );
    std::fs::write(dir.path().join("inbox/new/001.eml"), forward).unwrap();
    let (code, out) = run_cli(&["--config", config.to_str().unwrap(), "run", "--once"]);
    assert_eq!(code, 0, "{out}");
    let sent: Vec<String> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let to = header(&sent[0], "To").unwrap_or("").to_ascii_lowercase();
    assert!(to.contains("frank@reporter.example"), "{to}");
    let issues: Vec<String> = std::fs::read_dir(dir.path().join("issues"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert_eq!(issues.len(), 1);
    assert!(
        issues[0].contains("frank@reporter.example"),
        "{}",
        issues[0]
    );
    assert!(issues[0].contains("Forwarded by the team"), "{}", issues[0]);
}
