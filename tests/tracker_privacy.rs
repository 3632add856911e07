//! The tracking repository must be private, checked by the running daemon
//! against the GitHub fake, with real Dovecot and Postfix:
//!
//! * public from the start: reports are acknowledged, nothing but the
//!   visibility check reaches GitHub, the alert is logged once, `status`
//!   (text and JSON), `/healthz` and the `secintake_tracker_private` gauge
//!   say why; made private again: every report filed exactly once;
//! * out of reach (404) while the daemon runs: the 404 on a filing request
//!   makes the daemon look at the repository at once (not at the next
//!   periodic check), the visibility is "unknown", filing waits; back in
//!   reach: filed once.

mod common;

use std::time::{Duration, Instant};

use common::daemon::{run_cli, Daemon};
use common::service::{metrics_addr, sample, scrape, snapshot};
use common::*;

const WAIT: Duration = Duration::from_secs(90);

fn report_text(i: usize) -> &'static str {
    [
        "The terminal websocket accepts a forged Origin header.",
        "Stored XSS in the notebook's markdown cell attachments.",
        "The hub's admin API leaks other users' server tokens.",
    ][i % 3]
}

/// Sets `[tracker.github] privacy_check_interval` and turns metrics on.
fn configure(env: &Env, interval: &str) {
    let config = std::fs::read_to_string(&env.config).unwrap().replace(
        "labels = [\"security-report\", \"needs-triage\"]",
        &format!(
            "labels = [\"security-report\", \"needs-triage\"]\nprivacy_check_interval = \"{interval}\""
        ),
    );
    std::fs::write(
        &env.config,
        format!("{config}\n[metrics]\nlisten = \"127.0.0.1:0\"\n"),
    )
    .unwrap();
}

fn is_repo_check(r: &secintake_testkit::github_fake::RecordedRequest) -> bool {
    r.method == "GET" && r.path_only() == format!("/repos/{REPO}")
}

/// The verdict in the daemon's published snapshot.
fn verdict(env: &Env) -> Option<String> {
    let snap = snapshot(&env.state_dir())?;
    let v = snap
        .get("daemon")?
        .get("tracker")?
        .get("verdict")?
        .as_str()?;
    Some(v.to_string())
}

fn tracking_ids(env: &Env) -> Vec<String> {
    env.github
        .issues(REPO)
        .iter()
        .map(|i| {
            i.title
                .split(']')
                .next()
                .unwrap()
                .trim_start_matches('[')
                .to_string()
        })
        .collect()
}

#[test]
fn public_repository_files_nothing_until_private_again() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    configure(&env, "2s");
    env.github.set_visibility(REPO, "public");
    let config = env.config.to_str().unwrap();
    let mut daemon = Daemon::start(&env.config, env.path("daemon.log"), &[]);
    let addr = wait_until(WAIT, || metrics_addr(&env.state_dir()))
        .unwrap_or_else(|| panic!("daemon did not start:\n{}", daemon.log_text()));

    env.deliver(&mail::plain(
        REPORTER,
        "Origin check",
        "<priv-0@example.test>",
        report_text(0),
    ));
    env.deliver(&mail::pgp_mime(
        &team_public_key(),
        REPORTER,
        "Protected subject",
        "<priv-1@example.test>",
        report_text(1),
    ));
    env.deliver(&mail::plain(
        REPORTER,
        "Token leak",
        "<priv-2@example.test>",
        report_text(2),
    ));
    // Acknowledgements do not wait for the tracker.
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 3, WAIT);
    // Several periodic checks (every 2 s while held) come and go.
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        env.github.issues(REPO).is_empty(),
        "filed in a public repository"
    );
    let requests = env.github.requests();
    let checks = requests.iter().filter(|r| is_repo_check(r)).count();
    let other: Vec<String> = requests
        .iter()
        .filter(|r| !is_repo_check(r))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        other.is_empty(),
        "requests other than the visibility check reached a public repository: {other:?}"
    );
    assert!(checks >= 2, "checked {checks} time(s): not periodically");
    let log = daemon.log_text();
    assert_eq!(
        log.matches("ALERT: the tracking repository is not private")
            .count(),
        1,
        "one alert per change:\n{log}"
    );

    // status (text): the daemon line says filing stopped and why, and each
    // waiting record says it waits.
    let (code, status) = run_cli(&["--config", config, "status"]);
    assert_eq!(code, 0, "{status}");
    assert!(
        status.contains("tracker: ALERT: filing stopped"),
        "{status}"
    );
    assert!(
        status.contains("is not private (visibility public)"),
        "{status}"
    );
    assert_eq!(
        status.matches("waiting: filing stopped").count(),
        3,
        "{status}"
    );
    // status --json.
    let (_, json) = run_cli(&["--config", config, "status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json).expect(&json);
    assert_eq!(json["daemon"]["tracker"]["verdict"], "public", "{json}");
    assert_eq!(json["daemon"]["tracker"]["visibility"], "public", "{json}");
    assert_eq!(json["records"].as_array().map(Vec::len), Some(3));
    // `check` refuses the repository too.
    let (code, out) = run_cli(&["--config", config, "check"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("is not private (visibility public)"), "{out}");
    // /healthz and the gauge.
    let (code, body) = scrape(&addr, "/healthz").expect("healthz");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("is not private"), "{body}");
    let (_, metrics) = scrape(&addr, "/metrics").expect("metrics");
    assert_eq!(sample(&metrics, "secintake_tracker_private"), Some(0.0));

    // Private again: everything is filed, once, in arrival order.
    env.github.set_visibility(REPO, "private");
    let made_private = Instant::now();
    env.wait_issues(3, WAIT);
    let resumed_in = made_private.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    let ids = tracking_ids(&env);
    let expected: Vec<String> = (1..=3).map(|n| format!("JUPSEC-2026-{n:04}")).collect();
    assert_eq!(ids, expected, "each report filed once, in order");
    for (i, issue) in env.github.issues(REPO).iter().enumerate() {
        assert!(issue.body.contains(report_text(i)), "issue {i} body");
    }
    env.wait_mailbox(SECURITY, SECURITY_PW, "Processed", 3, WAIT);
    assert_eq!(env.acks().len(), 3, "no second acknowledgement");
    let healthy = wait_until(WAIT, || {
        let (code, body) = scrape(&addr, "/healthz")?;
        (code == 200).then_some(body)
    });
    assert_eq!(healthy.as_deref(), Some("ok\n"));
    let (_, metrics) = scrape(&addr, "/metrics").expect("metrics");
    assert_eq!(sample(&metrics, "secintake_tracker_private"), Some(1.0));
    assert!(
        wait_until(WAIT, || (verdict(&env)? == "private").then_some(())).is_some(),
        "snapshot still says {:?}",
        verdict(&env)
    );
    let (_, status) = run_cli(&["--config", config, "status"]);
    assert!(!status.contains("filing stopped"), "{status}");
    let log = daemon.log_text();
    assert!(
        log.contains("tracking repository is private again; filing resumes"),
        "{log}"
    );
    // What the unit's TasksMax= and MemoryMax= are measured against.
    let proc_status =
        std::fs::read_to_string(format!("/proc/{}/status", daemon.pid())).unwrap_or_default();
    let field = |name: &str| {
        proc_status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let threads: u32 = field("Threads:").parse().unwrap_or(0);
    assert!(
        (1..64).contains(&threads),
        "{threads} threads: systemd/secintake.service allows TasksMax=64"
    );
    eprintln!(
        "privacy: daemon threads {threads}, peak RSS {}",
        field("VmHWM:")
    );
    daemon.terminate(Duration::from_secs(20));
    for i in 0..3 {
        assert!(!log.contains(report_text(i)), "report text in the log");
    }
    eprintln!(
        "privacy: 3 reports acknowledged and 0 filed while public ({checks} visibility checks, nothing else sent); all 3 filed {:.1}s after the repository was made private",
        resumed_in.as_secs_f64()
    );
}

#[test]
fn repository_out_of_reach_is_rechecked_after_a_404_and_filing_waits() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    // Long enough that only the 404 can explain a check within seconds.
    let interval = Duration::from_secs(30);
    configure(&env, "30s");
    let config = env.config.to_str().unwrap();
    let mut daemon = Daemon::start(&env.config, env.path("daemon.log"), &[]);
    env.deliver(&mail::plain(
        REPORTER,
        "First",
        "<reach-0@example.test>",
        report_text(0),
    ));
    env.wait_issues(1, WAIT);
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 1, WAIT);

    // The token loses the repository: every request about it is a 404.
    env.github.set_hidden(REPO, true);
    let hidden_at = Instant::now();
    env.deliver(&mail::plain(
        REPORTER,
        "Second",
        "<reach-1@example.test>",
        report_text(1),
    ));
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 2, WAIT);
    let unknown = wait_until(WAIT, || (verdict(&env)? == "unknown").then_some(()));
    assert!(unknown.is_some(), "{}", daemon.log_text());
    let requests = env.github.requests();
    let after: Vec<_> = requests
        .iter()
        .filter(|r| r.received_at >= hidden_at)
        .collect();
    let first_check = after
        .iter()
        .position(|r| is_repo_check(r))
        .expect("the repository was checked again");
    assert!(
        first_check > 0,
        "the check came before any request was refused: {:?}",
        after.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    let refused = after[first_check - 1];
    let recheck = after[first_check];
    let previous_check = requests
        .iter()
        .filter(|r| is_repo_check(r) && r.received_at < hidden_at)
        .map(|r| r.received_at)
        .max()
        .expect("checked at start");
    assert!(
        recheck.received_at - previous_check < interval,
        "the check after the 404 came only with the periodic one"
    );
    assert!(
        recheck.received_at - refused.received_at < Duration::from_secs(2),
        "{} was refused, the repository checked {:?} later",
        refused.path,
        recheck.received_at - refused.received_at
    );
    let (_, status) = run_cli(&["--config", config, "status"]);
    assert!(
        status.contains("cannot confirm that tracking repository"),
        "{status}"
    );
    assert!(status.contains("404"), "{status}");
    assert!(status.contains("waiting: filing stopped"), "{status}");
    assert_eq!(env.github.issues(REPO).len(), 1);
    let log = daemon.log_text();
    assert!(
        log.contains("ALERT: cannot confirm that the tracking repository is private"),
        "{log}"
    );

    // Back in reach: the second report is filed once.
    env.github.set_hidden(REPO, false);
    env.wait_issues(2, WAIT);
    std::thread::sleep(Duration::from_secs(3));
    let expected: Vec<String> = (1..=2).map(|n| format!("JUPSEC-2026-{n:04}")).collect();
    assert_eq!(tracking_ids(&env), expected);
    assert_eq!(env.acks().len(), 2, "no second acknowledgement");
    daemon.terminate(Duration::from_secs(20));
    eprintln!(
        "privacy: {} refused with 404, repository checked {:?} later (periodic interval {interval:?})",
        refused.path,
        recheck.received_at - refused.received_at
    );
}
