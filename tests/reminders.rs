//! Reminders in the tracker, on the GitHub fake: one reminder comment when
//! no coordinator has commented on or labelled an issue `[reminders] after`
//! the report came in (and never a second, across a restart), none when a
//! coordinator did, and one before the default disclosure date. The daemon
//! runs as a child process with a Maildir source and the outbox mailer.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::daemon::{run_cli, Daemon};
use common::wait_until;
use secintake_testkit::github_fake::{GithubFake, BOT_LOGIN};
use serde_json::Value;

const REPO: &str = "jupyter/security-reports";
const TOKEN: &str = "ghp_reminders_test_token_0123456789";
const WAIT: Duration = Duration::from_secs(60);
const TEAM: &str = "@jupyter/security";

struct Setup {
    dir: tempfile::TempDir,
    github: GithubFake,
}

impl Setup {
    fn new(reminders: &str, disclosure_window: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let github = GithubFake::start_on_thread(TOKEN).unwrap();
        github.create_repo(REPO);
        let p = |n: &str| dir.path().join(n);
        for sub in ["inbox/new", "inbox/cur", "inbox/tmp"] {
            std::fs::create_dir_all(p(sub)).unwrap();
        }
        std::fs::write(p("github-token"), TOKEN).unwrap();
        let tracker = format!(
            "[tracker]\nkind = \"github\"\n\n[tracker.github]\napi_url = \"{}\"\n\
             repository = \"{REPO}\"\ntoken_file = \"github-token\"\nlabels = [\"security-report\"]",
            github.url
        );
        common::offline::write_config(
            dir.path(),
            &common::offline::Offline {
                addresses: &["security@example.test"],
                maildir: "poll_interval = \"1s\"",
                tracker: &tracker,
                from: "Security <security@example.test>",
                acknowledgement: &format!("disclosure_window = \"{disclosure_window}\""),
                extra: &format!("[reminders]\nteam = \"{TEAM}\"\n{reminders}"),
                ..Default::default()
            },
        );
        Setup { dir, github }
    }

    fn path(&self, n: &str) -> PathBuf {
        self.dir.path().join(n)
    }

    fn deliver(&self, n: usize) {
        for i in 0..n {
            let m = format!(
                "From: <reporter{i}@reporter.example>\r\nTo: security@example.test\r\nSubject: Issue {i}\r\nMessage-ID: <rem-{i}@reporter.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nDistinct report number {i}: {}\r\n",
                ["path traversal in the file browser", "token printed to the console log", "CSRF on the kernel restart endpoint"][i % 3]
            );
            std::fs::write(self.path(&format!("inbox/new/{i:03}.eml")), m).unwrap();
        }
    }

    fn start(&self, log: &str) -> Daemon {
        Daemon::start(&self.path("secintake.toml"), self.path(log), &[])
    }

    /// Bodies of the reminder comments on issue `n`, with their authors.
    fn reminders(&self, n: u64) -> Vec<(String, String)> {
        self.github
            .comments_with_authors(REPO, n)
            .into_iter()
            .filter(|(_, body)| body.contains(" reminder:"))
            .collect()
    }

    fn status(&self) -> Value {
        let config = self.path("secintake.toml");
        let (code, out) = run_cli(&["--config", config.to_str().unwrap(), "status", "--json"]);
        assert_eq!(code, 0, "{out}");
        serde_json::from_str(&out).unwrap()
    }
}

fn issue_numbers(s: &Setup, n: usize) -> Vec<u64> {
    wait_until(WAIT, || {
        let issues = s.github.issues(REPO);
        (issues.len() >= n).then(|| issues.iter().map(|i| i.number).collect())
    })
    .unwrap_or_else(|| panic!("{n} issue(s) not filed"))
}

#[test]
fn reminder_fires_once_and_disclosure_reminder_once() {
    // Disclosure in 30 days, reminder 31 days before it: due at once.
    let s = Setup::new("after = \"3s\"\ndisclosure_before = \"31d\"", "30d");
    s.deliver(1);
    let mut daemon = s.start("daemon.log");
    let issue = issue_numbers(&s, 1)[0];
    let both = wait_until(WAIT, || {
        let r = s.reminders(issue);
        (r.len() >= 2).then_some(r)
    })
    .unwrap_or_else(|| panic!("reminders not posted:\n{}", daemon.log_text()));
    // Several more passes (1 s apart), then a restart: still one of each.
    std::thread::sleep(Duration::from_secs(4));
    daemon.terminate(Duration::from_secs(20)).expect("stops");
    let mut again = s.start("daemon2.log");
    std::thread::sleep(Duration::from_secs(4));
    again.terminate(Duration::from_secs(20)).expect("stops");

    let reminders = s.reminders(issue);
    assert_eq!(reminders.len(), 2, "{reminders:#?}");
    let response: Vec<_> = reminders
        .iter()
        .filter(|(_, b)| b.contains("reminder:response"))
        .collect();
    let disclosure: Vec<_> = reminders
        .iter()
        .filter(|(_, b)| b.contains("reminder:disclosure"))
        .collect();
    assert_eq!((response.len(), disclosure.len()), (1, 1), "{both:#?}");
    let (author, body) = response[0];
    assert_eq!(author, BOT_LOGIN);
    assert!(body.starts_with("<!-- secintake:JUPSEC-"), "{body}");
    assert!(body.contains(TEAM), "no mention: {body}");
    assert!(
        body.contains("no one has commented on or labelled"),
        "{body}"
    );
    assert!(disclosure[0].1.contains("default disclosure date"));
    assert!(
        !body.contains("Distinct report"),
        "report text in a reminder"
    );

    let status = s.status();
    let window = status["records"][0]["window"].to_string();
    assert!(window.contains("reminder posted"), "{window}");
    assert!(window.contains("disclosure reminder posted"), "{window}");
}

#[test]
fn no_reminder_when_a_coordinator_commented_or_labelled() {
    let s = Setup::new("after = \"6s\"", "90d");
    s.deliver(3);
    let mut daemon = s.start("daemon.log");
    let issues = issue_numbers(&s, 3);
    // Before `after` runs out: a coordinator comments on the first issue
    // and labels the second; the third is left alone (the control).
    s.github
        .comment_as(REPO, issues[0], "minrk", "Looking into this.");
    s.github.label_as(REPO, issues[1], "carreau", "confirmed");
    let control = wait_until(WAIT, || {
        let r = s.reminders(issues[2]);
        (!r.is_empty()).then_some(r)
    })
    .unwrap_or_else(|| panic!("the control got no reminder:\n{}", daemon.log_text()));
    assert_eq!(control.len(), 1);
    // Let more passes run past `after` for all three.
    std::thread::sleep(Duration::from_secs(4));
    daemon.terminate(Duration::from_secs(20)).expect("stops");

    assert!(
        s.reminders(issues[0]).is_empty(),
        "reminded despite a comment"
    );
    assert!(
        s.reminders(issues[1]).is_empty(),
        "reminded despite a label"
    );
    assert_eq!(s.reminders(issues[2]).len(), 1);
    let status = s.status();
    let responded = status["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["window"].to_string().contains("coordinator responded"))
        .count();
    assert_eq!(responded, 2, "{status:#}");
}
