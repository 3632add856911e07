//! GitHub outage: the fake answers 502 to everything, then secondary rate
//! limits (403 + Retry-After), then recovers. Reports keep arriving
//! meanwhile. Every reporter is acknowledged while GitHub is still down
//! (the outage only ends after all acknowledgements arrived), the daemon
//! waits as GitHub asks (no request inside a Retry-After window), and
//! afterwards every report is filed exactly once, in arrival order.

mod common;

use std::time::{Duration, Instant};

use common::daemon::Daemon;
use common::*;
use secintake_testkit::github_fake::Fault;

const WAIT: Duration = Duration::from_secs(90);
const REPORTS: usize = 5;
const RETRY_AFTER: u64 = 2;

fn report_text(i: usize) -> &'static str {
    [
        "The login form reflects the next parameter into a script block.",
        "Kernel gateway websocket accepts connections without a token check.",
        "Path traversal in the static file handler via encoded backslashes.",
        "Server extension exposes environment variables on the about page.",
        "Cross-origin requests with a null origin bypass the XSRF check.",
    ][i % 5]
}

#[test]
fn outage_loses_nothing_delays_no_ack_and_files_in_order() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    // Short backoff so the test does not wait minutes (defaults: 5 s, 10 min).
    let config = std::fs::read_to_string(&env.config).unwrap().replace(
        "labels = [\"security-report\", \"needs-triage\"]",
        "labels = [\"security-report\", \"needs-triage\"]\nretry_base = \"1s\"\nretry_max = \"3s\"",
    );
    std::fs::write(&env.config, config).unwrap();

    // Phase 1: GitHub is down (502) until the test says otherwise.
    env.github.fail_until(
        Instant::now() + Duration::from_secs(3600),
        Fault::Status(502),
    );
    let mut daemon = Daemon::start(&env.config, env.path("daemon.log"), &[]);
    let snapshot = env.state_dir().join("status.json");
    assert!(
        wait_until(WAIT, || snapshot.exists().then_some(())).is_some(),
        "daemon did not start:\n{}",
        daemon.log_text()
    );
    for i in 0..REPORTS {
        env.deliver(&mail::plain(
            REPORTER,
            &format!("Outage report {i}"),
            &format!("<outage-{i}@example.test>"),
            report_text(i),
        ));
        std::thread::sleep(Duration::from_millis(300));
    }
    let acks = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", REPORTS, WAIT);
    assert!(
        env.github.issues(REPO).is_empty(),
        "GitHub was down, yet an issue exists"
    );
    let outage_requests = env.github.requests().len();
    assert!(outage_requests > 0, "the daemon never tried GitHub");
    let mut ack_ids: Vec<String> = acks
        .iter()
        .filter_map(|m| header(&text(m), "Message-ID").map(str::to_string))
        .collect();
    ack_ids.sort();
    assert_eq!(ack_ids.len(), REPORTS, "{ack_ids:?}");
    for (n, id) in (1..=REPORTS).zip(&ack_ids) {
        assert!(
            is_our_ack_id(id, &format!("JUPSEC-2026-{n:04}"), "example.test"),
            "one acknowledgement per report: {ack_ids:?}"
        );
    }

    // Phase 2: secondary rate limit with Retry-After.
    env.github.clear_requests();
    env.github.fail_until(
        Instant::now() + Duration::from_secs(3600),
        Fault::SecondaryRateLimit {
            retry_after_secs: RETRY_AFTER,
        },
    );
    let limited = wait_until(WAIT, || {
        let r = env.github.requests();
        (r.len() >= 3).then_some(r)
    })
    .unwrap_or_else(|| panic!("daemon stopped trying:\n{}", daemon.log_text()));
    // Every request after a 403 waited the Retry-After it was given.
    for pair in limited.windows(2) {
        let gap = pair[1].received_at - pair[0].received_at;
        assert!(
            gap >= Duration::from_secs(RETRY_AFTER) - Duration::from_millis(50),
            "request {} came {gap:?} after a 403 with Retry-After: {RETRY_AFTER}",
            pair[1].path
        );
    }

    // Phase 3: GitHub is back.
    env.github.clear_faults();
    let issues = env.wait_issues(REPORTS, WAIT);
    // Let any stray retry happen, then check nothing was filed twice.
    std::thread::sleep(Duration::from_secs(3));
    let issues_after = env.github.issues(REPO);
    assert_eq!(issues_after.len(), REPORTS, "{issues_after:#?}");
    assert_eq!(issues.len(), REPORTS);
    let ids: Vec<String> = issues_after
        .iter()
        .map(|i| {
            i.title
                .split(']')
                .next()
                .unwrap()
                .trim_start_matches('[')
                .to_string()
        })
        .collect();
    let in_order: Vec<String> = (1..=REPORTS)
        .map(|n| format!("JUPSEC-2026-{n:04}"))
        .collect();
    assert_eq!(ids, in_order, "issues in arrival order, once each");
    for (i, issue) in issues_after.iter().enumerate() {
        assert!(issue.body.contains(report_text(i)), "issue {i} body");
    }
    assert_eq!(
        env.mailbox(REPORTER, REPORTER_PW, "INBOX").len(),
        REPORTS,
        "no second acknowledgement"
    );
    let log = daemon.log_text();
    daemon.terminate(Duration::from_secs(20));
    for i in 0..REPORTS {
        assert!(!log.contains(report_text(i)), "report text in the log");
    }
    eprintln!(
        "outage: {REPORTS} acks during the outage; {outage_requests} requests reached GitHub during the 502 phase; {} during the 403 phase, each ≥ {RETRY_AFTER}s apart",
        limited.len()
    );
}

/// Permanent errors are not outages: a wrong token (401) or a repository
/// that does not exist (404) is named by `check`, in the log, and in
/// `status`, and nothing is filed or retried in a tight loop.
#[test]
fn permanent_errors_are_reported_by_check_log_and_status() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    let config = env.config.to_str().unwrap();

    // 404: the configured repository does not exist.
    let text = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(&env.config, text.replace(REPO, "jupyter/no-such-repo")).unwrap();
    let (code, out) = common::daemon::run_cli(&["--config", config, "check"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("404"), "{out}");
    assert!(
        out.contains("repository does not exist or the credentials cannot see it"),
        "{out}"
    );

    // 401: the token is wrong.
    std::fs::write(&env.config, &text).unwrap();
    std::fs::write(env.path("github-token"), "ghp_wrong_token").unwrap();
    let (code, out) = common::daemon::run_cli(&["--config", config, "check"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("401"), "{out}");
    assert!(out.contains("rejected the credentials"), "{out}");

    // The daemon: the report is acknowledged, filing fails permanently,
    // and status says why.
    env.deliver(&mail::plain(
        REPORTER,
        "Token problem report",
        "<perm-1@example.test>",
        "The notebook server logs the API token at info level.",
    ));
    let mut daemon = Daemon::start(&env.config, env.path("daemon.log"), &["--once"]);
    assert!(daemon.wait(WAIT).is_some(), "{}", daemon.log_text());
    let log = daemon.log_text();
    assert!(log.contains("rejected the credentials"), "{log}");
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 1, WAIT);
    let (_, status) = common::daemon::run_cli(&["--config", config, "status"]);
    assert!(status.contains("401"), "{status}");
    assert!(status.contains("rejected the credentials"), "{status}");
    assert!(env.github.issues(REPO).is_empty());
    let tries = env
        .github
        .requests()
        .iter()
        .filter(|r| !r.path.starts_with("/repos/jupyter/no-such-repo"))
        .count();
    assert!(tries <= 4, "{tries} requests with a rejected token");
}
