//! Issue 17: with the directory tracker and the outbox, a record's states
//! are no longer flushed around its filing and its acknowledgement (the
//! files are found again by tracking ID and label), and messages are
//! archived once per pass after one `fdatasync`. This kills `run --once`
//! at every step of that path (after the issue file was written, after the
//! acknowledgement was written, after a message was moved out of the
//! inbox, before the pass's last flush, while admitting) and checks after
//! each life that nothing was lost or done twice: one issue file and one
//! acknowledgement per report, every message moved out of the inbox once.

mod common;

use std::path::Path;
use std::process::Command;

use common::mail::pgp_mime;
use common::offline::{self, issue_files, Offline};

const REPORTS: usize = 6;

/// Where each life is killed, in order (each `name:1`: the first time the
/// point is reached).
const KILLS: [&str; 6] = [
    "store.admit.flush:1",
    "effect.filed:1",
    "effect.ack.sent:1",
    "effect.archive.moved:1",
    "store.archive.flush:1",
    "store.put.flush:1",
];

fn count(dir: &Path, ext: &str) -> usize {
    std::fs::read_dir(dir).map_or(0, |e| {
        e.flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == ext))
            .count()
    })
}

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature: scripts/test.sh, or cargo test --features failpoints"
)]
fn killed_at_every_local_step_files_and_acknowledges_each_report_once() {
    let mut lives = 0;
    let mut killed = 0;
    for kill in KILLS {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        offline::maildir(d);
        let config = offline::write_config(d, &Offline::default());
        for i in 0..REPORTS {
            let raw = pgp_mime(
                &common::team_public_key(),
                &format!("reporter{i}@example.net"),
                &format!("Finding {i}"),
                &format!("<kill-{i}@example.net>"),
                &format!("Handler {i} of widget {i} trusts input {i} (distinct text {i})."),
            );
            std::fs::write(d.join(format!("inbox/new/{i:04}.eml")), raw).expect("deliver");
        }
        let (ok, log) = offline::run_once_failing(&config, Some(kill));
        lives += 1;
        assert!(!ok, "{kill}: the failpoint did not stop the daemon:\n{log}");
        killed += 1;
        // The next lives run to the end.
        let (ok, log) = offline::run_once_failing(&config, None);
        lives += 1;
        assert!(ok, "{kill}: the run after the kill failed:\n{log}");
        let issues = issue_files(d);
        assert_eq!(issues.len(), REPORTS, "{kill}: issue files {issues:?}");
        for i in 0..REPORTS {
            let with = issues
                .iter()
                .filter(|p| {
                    std::fs::read_to_string(p)
                        .is_ok_and(|t| t.contains(&format!("distinct text {i}")))
                })
                .count();
            assert_eq!(with, 1, "{kill}: report {i} is in {with} issue files");
        }
        assert_eq!(
            count(&d.join("outbox"), "eml"),
            REPORTS,
            "{kill}: acknowledgements"
        );
        assert_eq!(
            count(&d.join("inbox/new"), "eml"),
            0,
            "{kill}: left in the inbox"
        );
        let processed = std::fs::read_dir(d.join("inbox/.Processed/cur")).map_or(0, |e| e.count());
        assert_eq!(processed, REPORTS, "{kill}: moved out of the inbox");
        // Nothing left to do: a further run changes nothing.
        let (ok, log) = offline::run_once_failing(&config, None);
        assert!(ok, "{log}");
        assert_eq!(
            issue_files(d).len(),
            REPORTS,
            "{kill}: a further run filed again"
        );
        assert_eq!(count(&d.join("outbox"), "eml"), REPORTS);
        let status = Command::new(env!("CARGO_BIN_EXE_secintake"))
            .args(["status", "--config"])
            .arg(&config)
            .output()
            .expect("status");
        let text = String::from_utf8_lossy(&status.stdout);
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("JUPSEC-")).collect();
        assert_eq!(rows.len(), REPORTS, "{kill}: records:\n{text}");
        assert!(
            rows.iter()
                .all(|r| r.split_whitespace().nth(1) == Some("archived")),
            "{kill}: records not archived after the kill:\n{text}"
        );
    }
    assert_eq!(killed, KILLS.len(), "every kill point was reached");
    assert_eq!(lives, 2 * KILLS.len());
}
