//! Our own mailing lists and the team as intake channels, on real servers
//! (Dovecot, Postfix → LMTP → Dovecot, the GitHub fake), through the
//! daemon binary (`run --once`).
//!
//! * A report delivered directly, as a Google Groups copy with `From:`
//!   rewritten for DMARC, or as a Mailman 3 copy is filed once and
//!   acknowledged once, to its writer; the three copies of one message are
//!   one report. A foreign list's mail stays automatic. The header sets
//!   below are those the two list servers write (Google Groups for a
//!   Workspace group whose sender's domain publishes `p=reject`; Mailman 3.3
//!   with `dmarc_mitigate_action = munge_from`), with example domains.
//! * Team mail: a team member's reply through the list with the report's
//!   references, and a coordinator's reply as security@, become comments
//!   "from the team" (no acknowledgement; a coordinator's response, so no
//!   reminder); forwarded reports (attached and inline) are new reports
//!   under their original senders; other team mail is recorded; our own
//!   acknowledgement coming back is still dropped.

mod common;

use std::time::{Duration, Instant};

use common::daemon::run_cli;
use common::*;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);
const LIST_GOOGLE: &str = "security.example.test";
const LIST_MAILMAN: &str = "security.lists.example.test";

/// Google Groups' copy: `From:` rewritten to the group with the "via"
/// name, the writer in `Reply-To:` and `X-Original-Sender:`. `{MID}`,
/// `{SUBJECT}`, `{NAME}`, `{ADDR}` and `{REFS}` are filled in.
const GOOGLE_HEADERS: &str = "Return-Path: <security+bncBCX7PJ4QJUNRBW5L2KZQMGQE5ZQY4NI@example.test>\r
X-Original-To: security@example.test\r
Received: by mail-sor-f69.google.com with SMTP id 5614622812f47-3e7b9d2f1b4so1412795b6e.2\r
        for <security@example.test>; Tue, 24 Nov 2026 02:00:11 -0800 (PST)\r
ARC-Seal: i=2; a=rsa-sha256; t=1795600811; cv=pass; d=google.com; s=arc-20240605; b=Xyz0\r
X-Received: by 2002:a05:6808:1a0b:b0:3e7:b9d2:f1b4 with SMTP id bm11mr1;\r
        Tue, 24 Nov 2026 02:00:11 -0800 (PST)\r
From: \"'{NAME}' via Jupyter Security\" <security@example.test>\r
To: security@example.test\r
Subject: {SUBJECT}\r
Date: Tue, 24 Nov 2026 10:00:00 +0000\r
Message-ID: {MID}\r
{REFS}MIME-Version: 1.0\r
Content-Type: text/plain; charset=\"UTF-8\"\r
Reply-To: {NAME} <{ADDR}>\r
X-Original-Sender: {ADDR}\r
X-Original-Authentication-Results: mx.google.com;       dkim=pass header.i=@example.test header.s=s1 header.b=Qm9v;       spf=pass (google.com: domain of {ADDR} designates 192.0.2.25 as permitted sender) smtp.mailfrom={ADDR};       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.test\r
Precedence: list\r
Mailing-list: list security@example.test; contact security+owners@example.test\r
List-ID: <security.example.test>\r
X-Spam-Checked-In-Group: security@example.test\r
X-Google-Group-Id: 1043216784712\r
List-Post: <https://groups.google.com/a/example.test/group/security/post>, <mailto:security@example.test>\r
List-Help: <https://support.google.com/a/example.test/bin/topic.py?topic=25838>, <mailto:security+help@example.test>\r
List-Archive: <https://groups.google.com/a/example.test/group/security/>\r
List-Unsubscribe: <mailto:googlegroups-manage+1043216784712+unsubscribe@googlegroups.com>,\r
 <https://groups.google.com/a/example.test/group/security/subscribe>\r
";

const GOOGLE_FOOTER: &str = "\r\n-- \r\nYou received this message because you are subscribed to the Google Groups \"Jupyter Security\" group.\r\nTo unsubscribe from this group and stop receiving emails from it, send an email to security+unsubscribe@example.test.\r\nTo view this discussion visit https://groups.google.com/a/example.test/d/msgid/security/x%40example.test.\r\n";

/// Mailman 3's copy with `munge_from`: "NAME via LIST" at the list's
/// address, the writer in `Reply-To:`, a subject prefix.
const MAILMAN_HEADERS: &str = "Return-Path: <security-bounces@lists.example.test>\r
Received: from mail.lists.example.test (localhost [127.0.0.1])\r
	by mail.lists.example.test (Postfix) with ESMTP id 4Tq1xZ0b3Lz9sQ\r
	for <security@example.test>; Tue, 24 Nov 2026 10:00:02 +0000 (UTC)\r
From: {NAME} via Security <security@lists.example.test>\r
To: security@lists.example.test\r
Subject: [Security] {SUBJECT}\r
Date: Tue, 24 Nov 2026 10:00:00 +0000\r
Message-ID: {MID}\r
{REFS}MIME-Version: 1.0\r
Content-Type: text/plain; charset=\"utf-8\"\r
Content-Transfer-Encoding: 7bit\r
Reply-To: {NAME} <{ADDR}>\r
Message-ID-Hash: 7RZ2QOHMZ7UO4GVWD2N2NGL64MVHJV5N\r
X-Message-ID-Hash: 7RZ2QOHMZ7UO4GVWD2N2NGL64MVHJV5N\r
X-MailFrom: {ADDR}\r
X-Mailman-Rule-Misses: dmarc-mitigation; no-senders; approved; emergency; loop; banned-address; member-moderation; nonmember-moderation; administrivia; implicit-dest; max-recipients; max-size; news-moderation; no-subject; digests; suspicious-header\r
X-Mailman-Version: 3.3.9\r
Precedence: list\r
List-Id: Security <security.lists.example.test>\r
Archived-At: <https://lists.example.test/archives/list/security@lists.example.test/message/7RZ2QOHMZ7UO4GVWD2N2NGL64MVHJV5N/>\r
List-Archive: <https://lists.example.test/archives/list/security@lists.example.test/>\r
List-Help: <mailto:security-request@lists.example.test?subject=help>\r
List-Owner: <mailto:security-owner@lists.example.test>\r
List-Post: <mailto:security@lists.example.test>\r
List-Subscribe: <mailto:security-join@lists.example.test>\r
List-Unsubscribe: <mailto:security-leave@lists.example.test>\r
";

const MAILMAN_FOOTER: &str = "\r\n_______________________________________________\r\nSecurity mailing list -- security@lists.example.test\r\nTo unsubscribe send an email to security-leave@lists.example.test\r\n";

/// A message as its writer sent it (to us directly).
fn direct(name: &str, addr: &str, mid: &str, subject: &str, refs: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {name} <{addr}>\r\nTo: security@example.test\r\nSubject: {subject}\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: {mid}\r\n{refs}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The list's copy of the same message.
fn via_list(
    headers: &str,
    footer: &str,
    (name, addr): (&str, &str),
    mid: &str,
    subject: &str,
    refs: &str,
    body: &str,
) -> Vec<u8> {
    let head = headers
        .replace("{NAME}", name)
        .replace("{ADDR}", addr)
        .replace("{MID}", mid)
        .replace("{SUBJECT}", subject)
        .replace("{REFS}", refs);
    format!("{head}\r\n{body}\r\n{footer}").into_bytes()
}

fn refs(mid: &str) -> String {
    format!("In-Reply-To: {mid}\r\nReferences: {mid}\r\n")
}

/// Adds lines to `[instance]` of the environment's configuration.
fn configure(env: &Env, instance: &str, extra: &str) {
    let text = std::fs::read_to_string(&env.config).unwrap();
    let text = text.replacen("[instance]\n", &format!("[instance]\n{instance}\n"), 1);
    std::fs::write(&env.config, format!("{text}\n{extra}\n")).unwrap();
}

fn run_once(env: &Env) {
    let (code, out) = run_cli(&["--config", env.config.to_str().unwrap(), "run", "--once"]);
    assert_eq!(code, 0, "{out}");
}

fn status(env: &Env) -> Vec<Value> {
    let (code, out) = run_cli(&["--config", env.config.to_str().unwrap(), "status", "--json"]);
    assert_eq!(code, 0, "{out}");
    let json: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    json["records"].as_array().expect("records").clone()
}

fn kinds(records: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = records
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    k.sort();
    k
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

/// The acknowledgements in the reporter's INBOX, once `n` are there and no
/// more arrive for a few seconds.
fn acks_settled(env: &Env, n: usize) -> Vec<Vec<u8>> {
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", n, WAIT);
    std::thread::sleep(Duration::from_secs(3));
    env.acks()
}

#[test]
fn list_copies_are_reports_answered_to_their_writer() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    configure(
        &env,
        &format!("list_ids = [\"{LIST_GOOGLE}\", \"<{LIST_MAILMAN}>\"]"),
        "",
    );
    let alice = ("Alice Example", REPORTER);
    let body = |n: u32| format!("REPORT-{n}: the file API follows symlinks out of the root ({n}).");
    let mid = |n: u32| format!("<list-report-{n}@example.test>");
    // (a) directly, (b) Google Groups only, (c) Mailman 3 only, and one
    // report by all three ways.
    env.deliver(&direct(
        alice.0,
        alice.1,
        &mid(1),
        "Report one",
        "",
        &body(1),
    ));
    env.deliver(&via_list(
        GOOGLE_HEADERS,
        GOOGLE_FOOTER,
        alice,
        &mid(2),
        "Report two",
        "",
        &body(2),
    ));
    env.deliver(&via_list(
        MAILMAN_HEADERS,
        MAILMAN_FOOTER,
        alice,
        &mid(3),
        "Report three",
        "",
        &body(3),
    ));
    env.deliver(&direct(
        alice.0,
        alice.1,
        &mid(4),
        "Report four",
        "",
        &body(4),
    ));
    env.deliver(&via_list(
        GOOGLE_HEADERS,
        GOOGLE_FOOTER,
        alice,
        &mid(4),
        "Report four",
        "",
        &body(4),
    ));
    env.deliver(&via_list(
        MAILMAN_HEADERS,
        MAILMAN_FOOTER,
        alice,
        &mid(4),
        "Report four",
        "",
        &body(4),
    ));
    // A foreign list (the same googlegroups List-Id as tests/rfc3834.rs).
    env.deliver(
        &String::from_utf8(direct(
            "Bob",
            "bob@reporter.example",
            "<dev-1@reporter.example>",
            "Release 4.2",
            "",
            "Release notes.",
        ))
        .unwrap()
        .replacen(
            "MIME-Version",
            "List-Id: Jupyter dev <jupyter.googlegroups.com>\r\nPrecedence: list\r\nMIME-Version",
            1,
        )
        .into_bytes(),
    );
    run_once(&env);

    let issues = env.wait_issues(4, WAIT);
    assert_eq!(issues.len(), 4, "one issue per report");
    for n in 1..=4 {
        let issue = issue_with(&issues, &format!("REPORT-{n}:"));
        assert!(
            issue.body.contains(REPORTER),
            "reporter shown: {}",
            issue.body
        );
        assert!(
            !issue.body.contains("security@lists.example.test |"),
            "{}",
            issue.body
        );
        for footer in [
            "You received this message",
            "mailing list --",
            "unsubscribe",
        ] {
            assert!(!issue.body.contains(footer), "footer kept: {}", issue.body);
        }
        assert!(
            issue.comments.is_empty(),
            "REPORT-{n}: {:?}",
            issue.comments
        );
    }
    assert!(issue_with(&issues, "REPORT-2:")
        .body
        .contains("received through our mailing list"));

    let acks = acks_settled(&env, 4);
    assert_eq!(acks.len(), 4, "one acknowledgement per report");
    for a in &acks {
        let to = header(&text(a), "To").unwrap_or("").to_ascii_lowercase();
        assert!(to.contains(REPORTER), "{to}");
    }

    let records = status(&env);
    assert_eq!(records.len(), 7);
    let k = kinds(&records);
    assert_eq!(k.iter().filter(|k| *k == "new").count(), 4, "{k:?}");
    assert_eq!(
        k.iter().filter(|k| k.starts_with("duplicate of")).count(),
        2,
        "{k:?}"
    );
    let foreign: Vec<_> = records
        .iter()
        .filter(|r| r["kind"].as_str().unwrap().starts_with("automatic"))
        .collect();
    assert_eq!(foreign.len(), 1, "{k:?}");
    assert_eq!(
        foreign[0]["kind"],
        "automatic (mailing-list traffic (List-* headers))"
    );
    assert_eq!(
        foreign[0]["ack"],
        "not sent: automatic mail: mailing-list traffic (List-* headers)"
    );
}

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
