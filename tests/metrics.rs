//! The metrics endpoint after an end-to-end run on real servers: two
//! readable reports and one encrypted to a key we do not hold, one GitHub
//! 502 and one IMAP connection kicked by Dovecot, then the counters.

mod common;

use std::process::Command;
use std::time::Duration;

use common::daemon::Daemon;
use common::service::{metrics_addr, sample, scrape, stranger_cert};
use common::*;
use secintake_testkit::github_fake::Fault;

const WAIT: Duration = Duration::from_secs(60);

fn value(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
}

#[test]
fn scrape_after_end_to_end_run_shows_the_expected_counters() {
    let Some(env) = Env::start(Options {
        extra: "[metrics]\nlisten = \"127.0.0.1:0\"\n".into(),
        ..Options::default()
    }) else {
        return;
    };
    let mut daemon = Daemon::start(&env.config, env.path("daemon.log"), &[]);
    let addr = wait_until(WAIT, || metrics_addr(&env.state_dir()))
        .unwrap_or_else(|| panic!("no metrics address published:\n{}", daemon.log_text()));
    let (code, body) = scrape(&addr, "/healthz").expect("healthz answers");
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    let (code, _) = scrape(&addr, "/nothing").expect("answers");
    assert_eq!(code, 404);

    // The first create-issue is applied but answered with a 502.
    env.github.push_faults(vec![Fault::StatusAfterApply(502)]);
    env.deliver(&mail::pgp_mime(
        &team_public_key(),
        REPORTER,
        "Protected subject",
        "<m-enc@example.test>",
        "Heap overflow in the kernel gateway websocket handler.",
    ));
    env.deliver(&mail::plain(
        REPORTER,
        "plain report",
        "<m-plain@example.test>",
        "Stored XSS through notebook metadata in the file browser.",
    ));
    env.deliver(&mail::pgp_mime(
        &stranger_cert(env.dir.path()),
        REPORTER,
        "not for us",
        "<m-stranger@example.test>",
        "Nobody here can read this one.",
    ));
    env.wait_mailbox(SECURITY, SECURITY_PW, "Processed", 3, WAIT);
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 3, WAIT);
    assert_eq!(env.github.issues(REPO).len(), 3, "{}", daemon.log_text());

    // Dovecot drops the daemon's IMAP connection: one reconnect.
    let kicked = Command::new("doveadm")
        .arg("-c")
        .arg(env.dovecot.config_file())
        .args(["kick", SECURITY])
        .status()
        .expect("doveadm kick");
    assert!(kicked.success());
    env.deliver(&mail::plain(
        REPORTER,
        "after the kick",
        "<m-after@example.test>",
        "Path traversal when the contents API resolves symlinks on Windows.",
    ));
    env.wait_mailbox(SECURITY, SECURITY_PW, "Processed", 4, WAIT);

    // The pass that archived the last one publishes the states afterwards.
    let text = wait_until(WAIT, || {
        let (_, text) = scrape(&addr, "/metrics")?;
        (sample(&text, "secintake_reports{state=\"archived\",kind=\"new\"}") == Some(3.0))
            .then_some(text)
    })
    .unwrap_or_else(|| {
        panic!(
            "archived reports never reached 3:\n{}",
            scrape(&addr, "/metrics").map(|r| r.1).unwrap_or_default()
        )
    });
    let v = |s: &str| value(&text, s);
    assert_eq!(
        v("secintake_reports{state=\"archived\",kind=\"unreadable\"}"),
        1.0
    );
    assert_eq!(v("secintake_reports_classified_total{kind=\"new\"}"), 3.0);
    assert_eq!(
        v("secintake_reports_classified_total{kind=\"unreadable\"}"),
        1.0
    );
    assert_eq!(
        v("secintake_decrypt_failures_total{reason=\"not_our_key\"}"),
        1.0
    );
    assert_eq!(v("secintake_decrypt_failures_total{reason=\"other\"}"), 0.0);
    assert_eq!(v("secintake_malformed_total"), 0.0);
    assert_eq!(v("secintake_ack_seconds_count"), 4.0);
    assert_eq!(v("secintake_ack_seconds_bucket{le=\"+Inf\"}"), 4.0);
    assert!(v("secintake_ack_seconds_sum") > 0.0);
    assert_eq!(v("secintake_ack_seconds_bucket{le=\"259200\"}"), 4.0);
    assert_eq!(v("secintake_acks_late_total"), 0.0);
    // One 502 holds back every record that wanted GitHub during the backoff
    // it starts: each such failed attempt counts, as the log reports it.
    let log = daemon.log_text();
    let failed_filings = log.matches("filing failed").count() as f64;
    assert!(
        failed_filings >= 1.0,
        "the 502 did not reach filing:\n{log}"
    );
    assert_eq!(
        v("secintake_tracker_errors_total{tracker=\"github\",class=\"transient\"}"),
        failed_filings
    );
    assert_eq!(
        v("secintake_tracker_errors_total{tracker=\"github\",class=\"permanent\"}"),
        0.0
    );
    assert_eq!(
        v("secintake_mailer_errors_total{mailer=\"smtp\",class=\"transient\"}"),
        0.0
    );
    assert_eq!(v("secintake_imap_reconnects_total"), 1.0);
    assert_eq!(v("secintake_deadline_breaches{deadline=\"response\"}"), 0.0);
    assert_eq!(v("secintake_ready"), 1.0);
    assert!(v("secintake_passes_total") >= 2.0);
    assert!(text.contains("# TYPE secintake_ack_seconds histogram\n"));

    // Nothing from the reports reaches a label or value.
    for secret in [
        "Protected subject",
        "Heap overflow",
        "Stored XSS",
        "not for us",
        "Path traversal",
    ] {
        assert!(!text.contains(secret), "metrics expose {secret:?}");
    }

    let status = daemon
        .terminate(Duration::from_secs(30))
        .expect("daemon exits on SIGTERM");
    assert!(status.success(), "{status:?}");
}
