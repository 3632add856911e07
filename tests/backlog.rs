//! A backlog larger than one pass takes in (the daemon takes 100 messages a
//! pass, so that the raw bytes held in memory stay bounded) is worked
//! through at once — by `secintake run --once`, and by the daemon without
//! waiting for its next poll — every message filed, acknowledged and moved
//! out of the inbox, none twice.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::daemon::Daemon;
use common::offline::{self, Offline};

const REPORTS: usize = 250;

fn write_config(dir: &Path, poll: &str) -> PathBuf {
    let poll = format!("poll_interval = \"{poll}\"");
    offline::write_config(
        dir,
        &Offline {
            tracking_prefix: "BACKLOG",
            maildir: &poll,
            // 250 acknowledgements in one run: over the default global cap of 100/h.
            acknowledgement: "global_max = 1000",
            ..Offline::default()
        },
    )
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|e| e.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn seed(dir: &Path) {
    offline::maildir(dir);
    for i in 0..REPORTS {
        let raw = format!(
            "From: reporter{i}@example.net\r\nTo: security@example.org\r\nSubject: Report number {i}\r\nMessage-ID: <backlog-{i}@example.net>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nFinding {i}: widget {i} mishandles input {i}.\r\n"
        );
        std::fs::write(dir.join(format!("inbox/new/{i:04}.eml")), raw).expect("seed");
    }
}

fn processed(dir: &Path) -> usize {
    files_in(&dir.join("inbox/.Processed/cur")).len()
}

#[test]
fn a_backlog_larger_than_one_pass_is_worked_through_in_one_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    seed(dir);
    let config = write_config(dir, "5s");
    let out = common::offline::run_once(&config);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "secintake run failed: {log}");
    assert_worked_through(dir);
}

/// The daemon polls this Maildir every 10 minutes: a backlog must not wait
/// for the next poll after its first slice.
#[test]
fn the_daemon_takes_the_next_slice_without_waiting_for_its_poll() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    seed(dir);
    let config = write_config(dir, "10m");
    let mut daemon = Daemon::start(&config, dir.join("daemon.log"), &[]);
    let done = common::wait_until(Duration::from_secs(180), || {
        (processed(dir) == REPORTS).then_some(())
    });
    daemon.terminate(Duration::from_secs(20));
    assert!(
        done.is_some(),
        "{} of {REPORTS} moved; the rest waits for the next poll",
        processed(dir)
    );
    assert_worked_through(dir);
}

fn assert_worked_through(dir: &Path) {
    let issues = files_in(&dir.join("issues"));
    let acks = files_in(&dir.join("outbox"));
    let left = files_in(&dir.join("inbox/new")).len() + files_in(&dir.join("inbox/cur")).len();
    let processed = processed(dir);
    eprintln!(
        "backlog: {REPORTS} reports, {} issues, {} acknowledgements, {processed} moved, {left} left",
        issues.len(),
        acks.len()
    );
    assert_eq!(issues.len(), REPORTS, "one issue per report");
    assert_eq!(acks.len(), REPORTS, "one acknowledgement per report");
    assert_eq!(processed, REPORTS, "every message moved to Processed");
    assert_eq!(left, 0, "nothing left in the inbox");
    // Each report in exactly one issue.
    let mut found: Vec<usize> = issues
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter_map(|t| {
            let rest = t.split("Finding ").nth(1)?;
            rest.split(':').next()?.parse().ok()
        })
        .collect();
    found.sort_unstable();
    assert_eq!(found, (0..REPORTS).collect::<Vec<_>>());
}
