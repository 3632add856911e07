//! A report's lifecycle followed from its tracking issue (issue 15), on
//! real servers (Dovecot, Postfix, the GitHub fake): lifecycle commands,
//! labels and closes mirrored into the record and the status block on the
//! issue; reminders and `status` follow them; a reporter writing after the
//! close reopens the issue once; a kill mid-edit leaves one block.

mod common;

use common::conversation::*;
use common::*;

const BEGIN: &str = "<!-- secintake:status:begin -->";

fn config(extra: &str) -> Options {
    Options {
        extra: format!(
            "\n[conversation]\nenabled = true\n\n[reminders]\ndisclosure_before = \"30d\"\n{extra}"
        ),
        ..Options::default()
    }
}

/// The issue's status block (exactly one), as text.
fn block(env: &Env, n: u64) -> String {
    let issue = env
        .github
        .issues(REPO)
        .into_iter()
        .find(|i| i.number == n)
        .expect("the issue");
    assert_eq!(issue.body.matches(BEGIN).count(), 1, "{}", issue.body);
    let start = issue.body.find(BEGIN).unwrap();
    let end = issue.body.find("<!-- secintake:status:end -->").unwrap();
    issue.body[start..end].to_string()
}

fn row<'a>(block: &'a str, name: &str) -> &'a str {
    block
        .lines()
        .find(|l| l.starts_with(&format!("| {name} |")))
        .unwrap_or_else(|| panic!("no {name} row in\n{block}"))
}

/// Disclosure reminders on issue `n`.
fn disclosure_reminders(env: &Env, n: u64) -> usize {
    env.github
        .comments_with_authors(REPO, n)
        .iter()
        .filter(|(_, b)| {
            b.starts_with("<!-- secintake:")
                && b.lines().next().unwrap().contains("reminder:disclosure")
        })
        .count()
}

fn status(env: &Env) -> String {
    let (code, out) =
        common::daemon::run_cli(&["status", "--config", env.config.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    out
}

fn report(env: &Env, n: usize) -> (u64, String) {
    env.deliver(&mail::plain(
        REPORTER,
        &format!("Widget bug {n}"),
        &format!("<lifecycle-{n}@example.test>"),
        &format!("REPORT-TEXT-lc{n}"),
    ));
    run_once(env, &format!("report{n}.log"));
    let issue = env
        .wait_issues(n, WAIT)
        .into_iter()
        .find(|i| i.body.contains(&format!("REPORT-TEXT-lc{n}")))
        .expect("filed");
    (issue.number, tracking_id(&issue.title))
}

/// The reporter writes again about report 1 (In-Reply-To its mail).
fn follow_up(env: &Env, text: &str) {
    let raw = String::from_utf8(mail::plain(
        REPORTER,
        "Re: Widget bug 1",
        "<lifecycle-1-again@example.test>",
        text,
    ))
    .unwrap()
    .replace(
        "MIME-Version",
        "In-Reply-To: <lifecycle-1@example.test>\r\nMIME-Version",
    );
    env.deliver(raw.as_bytes());
}

#[test]
fn accepted_moved_linked_labelled_and_fixed_report_is_shown_done_not_overdue() {
    let Some(env) = Env::start(config("")) else {
        return;
    };
    env.github.set_association(REPO, COORDINATOR, "MEMBER");
    let (n, tid) = report(&env, 1);
    run_once(&env, "block0.log");
    let b = block(&env, n);
    assert!(row(&b, "State").contains("triage (open)"), "{b}");
    assert!(
        row(&b, "Disclose by").contains("(default: received + 90 days)"),
        "{b}"
    );
    assert!(
        row(&b, "Reporter notified").contains("acknowledgement"),
        "{b}"
    );

    env.github.comment_as(REPO, n, COORDINATOR, "/accept");
    run_once(&env, "accept.log");
    let b = block(&env, n);
    assert!(row(&b, "State").contains("accepted (open)"), "{b}");

    // The default date (received + 90 days) is not within the 30-day
    // reminder window; moved into it: one reminder, for an accepted open
    // report.
    assert_eq!(disclosure_reminders(&env, n), 0);
    env.github
        .comment_as(REPO, n, COORDINATOR, "/disclose-by 2026-12-20");
    run_once(&env, "moved.log");
    run_once(&env, "moved2.log");
    let b = block(&env, n);
    assert!(
        row(&b, "Disclose by").contains("2026-12-20 (set by the team)"),
        "{b}"
    );
    assert_eq!(disclosure_reminders(&env, n), 1);

    env.github
        .comment_as(REPO, n, COORDINATOR, "/ghsa GHSA-abcd-23fg-hj45");
    env.github
        .comment_as(REPO, n, COORDINATOR, "/cve CVE-2026-31337");
    env.github.comment_as(
        REPO,
        n,
        COORDINATOR,
        "Drafted at https://github.com/jupyter/notebook/security/advisories/GHSA-wxyz-2345-6789",
    );
    env.github
        .comment_as(REPO, n, COORDINATOR, "/release-date 2027-04-20");
    env.github
        .comment_as(REPO, n, COORDINATOR, "/announce-date 2027-04-21");
    env.github
        .comment_as(REPO, n, COORDINATOR, "/credit \"Ada Lovelace (ada)\"");
    env.github.label_as(REPO, n, COORDINATOR, "ipykernel");
    run_once(&env, "linked.log");
    let b = block(&env, n);
    assert_eq!(
        row(&b, "GHSA"),
        "| GHSA | GHSA-abcd-23fg-hj45, GHSA-wxyz-2345-6789 |"
    );
    assert_eq!(row(&b, "CVE"), "| CVE | CVE-2026-31337 |");
    assert_eq!(row(&b, "Release date"), "| Release date | 2027-04-20 |");
    assert_eq!(
        row(&b, "Announcement date"),
        "| Announcement date | 2027-04-21 |"
    );
    assert_eq!(row(&b, "Credit"), "| Credit | Ada Lovelace (ada) |");

    // Closed as completed: fixed; a later date change brings no reminder.
    env.github.close_as(REPO, n, COORDINATOR, "completed");
    run_once(&env, "closed.log");
    let b = block(&env, n);
    assert!(
        row(&b, "State").starts_with("| State | fixed (closed), closed "),
        "{b}"
    );
    assert!(
        row(&b, "Disclose by").contains("no reminders: fixed"),
        "{b}"
    );
    env.github
        .comment_as(REPO, n, COORDINATOR, "/disclose-by 2026-12-24");
    run_once(&env, "after-close.log");
    run_once(&env, "after-close2.log");
    assert_eq!(
        disclosure_reminders(&env, n),
        1,
        "no reminder after the close"
    );
    let b = block(&env, n);
    assert!(row(&b, "Disclose by").contains("2026-12-24"), "{b}");

    let out = status(&env);
    let line = out
        .lines()
        .find(|l| l.starts_with(&tid))
        .expect("status row");
    assert!(line.contains("report fixed (closed)"), "{out}");
    assert!(!line.contains("past"), "{out}");
    // Eight lifecycle commands applied (the pasted advisory is no command).
    assert!(out.contains(", 8 applied"), "{out}");
    // The other comments and body untouched: the report text is still there.
    let issue = env
        .github
        .issues(REPO)
        .into_iter()
        .find(|i| i.number == n)
        .unwrap();
    assert!(issue.body.contains("REPORT-TEXT-lc1"));
}

#[test]
fn a_rejected_report_gets_no_reminder_is_not_overdue_and_can_be_told() {
    let Some(env) = Env::start(config("")) else {
        return;
    };
    env.github.set_association(REPO, COORDINATOR, "OWNER");
    let (n, tid) = report(&env, 1);
    // A disclosure date already past: overdue while the report is open.
    env.github
        .comment_as(REPO, n, COORDINATOR, "/disclose-by 2026-01-01");
    // A reminder for it would be due at once, but the report is rejected
    // in the same pass, before the reminder pass.
    env.github.comment_as(REPO, n, COORDINATOR, "/reject");
    let notice = env.github.comment_as(
        REPO,
        n,
        COORDINATOR,
        "/notice not-accepted\nIt needs a local account already.",
    );
    run_once(&env, "rejected.log");
    env.github.close_as(REPO, n, COORDINATOR, "not_planned");
    run_once(&env, "closed.log");
    let inbox = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 2, WAIT);
    let told = mail_for(&inbox, notice);
    assert_eq!(told.len(), 1);
    assert!(told[0].contains("does not consider it a security vulnerability"));
    assert_eq!(disclosure_reminders(&env, n), 0);
    let b = block(&env, n);
    assert!(
        row(&b, "State").starts_with("| State | not accepted (closed)"),
        "{b}"
    );
    assert!(
        row(&b, "Reporter notified").contains("/notice not-accepted"),
        "{b}"
    );
    let out = status(&env);
    let line = out
        .lines()
        .find(|l| l.starts_with(&tid))
        .expect("status row");
    assert!(!line.contains("past disclosure date"), "{out}");
    assert!(line.contains("report not accepted (closed)"), "{out}");
}

#[test]
fn a_reporter_writing_after_the_close_reopens_the_issue_once() {
    let Some(env) = Env::start(config("")) else {
        return;
    };
    env.github.set_association(REPO, COORDINATOR, "MEMBER");
    let (n, _) = report(&env, 1);
    env.github.close_as(REPO, n, COORDINATOR, "completed");
    run_once(&env, "closed.log");
    follow_up(&env, "FOLLOW-UP-TEXT: it still happens in 4.2.1");
    run_once(&env, "follow-up.log");
    let state = |env: &Env| {
        env.github
            .issues(REPO)
            .into_iter()
            .find(|i| i.number == n)
            .unwrap()
            .state
    };
    assert_eq!(state(&env), "open", "reopened for the reporter's mail");
    let comments = env.github.comments_with_authors(REPO, n);
    assert!(comments.iter().any(|(_, b)| b.contains("FOLLOW-UP-TEXT")));
    // Closed again: the same follow-up does not reopen it twice.
    env.github.close_as(REPO, n, COORDINATOR, "completed");
    run_once(&env, "closed-again.log");
    run_once(&env, "closed-again2.log");
    assert_eq!(state(&env), "closed");
    assert_eq!(env.github.issues(REPO).len(), 1, "no new issue");
}

#[test]
fn labelling_instead_of_reopening_when_configured() {
    let Some(env) = Env::start(config(
        "\n[lifecycle]\nafter_close = \"label\"\nafter_close_label = \"reporter-wrote\"\n",
    )) else {
        return;
    };
    env.github.set_association(REPO, COORDINATOR, "MEMBER");
    let (n, _) = report(&env, 1);
    env.github.close_as(REPO, n, COORDINATOR, "not_planned");
    run_once(&env, "closed.log");
    follow_up(&env, "FOLLOW-UP-TEXT: why not?");
    run_once(&env, "follow-up.log");
    run_once(&env, "again.log");
    let issue = env
        .github
        .issues(REPO)
        .into_iter()
        .find(|i| i.number == n)
        .unwrap();
    assert_eq!(issue.state, "closed");
    assert!(
        issue.labels.iter().any(|l| l == "reporter-wrote"),
        "{:?}",
        issue.labels
    );
}

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature: scripts/test.sh, or cargo test --features failpoints"
)]
fn a_kill_mid_edit_and_restarts_leave_one_status_block() {
    let Some(env) = Env::start(config("")) else {
        return;
    };
    env.github.set_association(REPO, COORDINATOR, "MEMBER");
    let (n, _) = report(&env, 1);
    env.github.comment_as(REPO, n, COORDINATOR, "/accept");
    // Killed after the body was written, before its hash was recorded.
    let mut daemon = common::daemon::Daemon::start_env(
        &env.config,
        env.path("killed.log"),
        &["--once"],
        &[("SECINTAKE_FAILPOINT", "effect.status_block.written:1")],
    );
    let status = daemon.wait(WAIT).expect("the daemon ends");
    assert!(!status.success(), "{}", daemon.log_text());
    assert!(block(&env, n).contains("accepted (open)"));
    let before = env.github.requests().len();
    run_once(&env, "again1.log");
    run_once(&env, "again2.log");
    let b = block(&env, n);
    assert!(row(&b, "State").contains("accepted (open)"), "{b}");
    // The same block again: the body is read, found right, not rewritten.
    let edits = env.github.requests()[before..]
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with(&format!("/issues/{n}")))
        .count();
    assert_eq!(edits, 0);
}
