//! Must-show 3 of issue 12: a poison record. A test-only failpoint
//! (`--features failpoints`) panics, or aborts the process, while one
//! message of a backlog is being opened. After two failed openings it is
//! filed as an unreadable stub (size, SHA-256, reason) without being opened
//! again; every other report of the backlog is filed and acknowledged, and
//! there is no restart loop: the daemon that aborted is restarted as
//! systemd would; the first abort only makes the messages being opened
//! suspects, the two that follow (the poison message opened alone) count,
//! and the fourth start files the stub and finishes.
//!
//! Runs `secintake run --once` on a Maildir, a directory tracker and an
//! outbox (no server needed).

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::Datelike;
use common::offline::{self, Offline};
use secintake::record::Kind;
use secintake::store::{SledStore, Store};

const PREFIX: &str = "POISON";
/// Reports in the backlog; the third is the poison one.
const REPORTS: usize = 5;
const POISON: usize = 3;

fn id(n: usize) -> String {
    format!("{PREFIX}-{}-{n:04}", chrono::Utc::now().year())
}

/// Five reports, plain and encrypted by turns, from five reporters.
fn backlog(dir: &Path) {
    offline::maildir(dir);
    for i in 1..=REPORTS {
        let from = format!("reporter{i}@example.net");
        let mid = format!("<report{i}@example.net>");
        let body = format!("Report number {i} of the backlog.");
        let raw = if i % 2 == 0 {
            common::mail::pgp_mime(&common::team_public_key(), &from, "A report", &mid, &body)
        } else {
            common::mail::plain(&from, "A report", &mid, &body)
        };
        std::fs::write(dir.join(format!("inbox/new/{i:03}.eml")), raw).expect("seed");
    }
}

fn run_once(config: &Path, failpoint: &str) -> Output {
    run_once_within(config, failpoint, Duration::from_secs(300))
}

/// `secintake run --once`, killed (and the test failed) after `bound`.
fn run_once_within(config: &Path, failpoint: &str, bound: Duration) -> Output {
    let child = Command::new(common::daemon::binary())
        .args(["run", "--once", "--config"])
        .arg(config)
        .env("SECINTAKE_FAILPOINT", failpoint)
        .env("SECINTAKE_LOG", "info")
        .env_remove("JOURNAL_STREAM")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run secintake");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(bound) {
        Ok(out) => out.expect("wait for secintake"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("secintake run --once did not finish within {bound:?}");
        }
    }
}

fn texts(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read(e.path()).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every report filed once and acknowledged once; the poison one as a
/// stub whose reason names `cause`, with (certain, suspected) failed
/// openings as recorded.
fn check_outcome(dir: &Path, cause: &str, failures: (u32, u32)) {
    let issues = texts(&dir.join("issues"));
    let acks = texts(&dir.join("outbox"));
    assert_eq!(issues.len(), REPORTS, "{issues:#?}");
    assert_eq!(acks.len(), REPORTS);
    for i in 1..=REPORTS {
        let marker = format!("<!-- secintake:{} -->", id(i));
        let filed: Vec<&String> = issues.iter().filter(|t| t.contains(&marker)).collect();
        assert_eq!(filed.len(), 1, "{} filed {} times", id(i), filed.len());
        let acked = acks
            .iter()
            .filter(|t| t.contains(&format!("In-Reply-To: <report{i}@example.net>")))
            .count();
        assert_eq!(acked, 1, "{} acknowledged {acked} times", id(i));
        let text = format!("Report number {i} of the backlog.");
        if i == POISON {
            let stub = filed[0];
            assert!(stub.contains("could not be read"), "{stub}");
            assert!(stub.contains("opening it failed 2 times"), "{stub}");
            assert!(stub.contains(cause), "{stub}");
            assert!(stub.contains("SHA-256"), "{stub}");
            assert!(!stub.contains(&text), "the stub was opened: {stub}");
        } else {
            assert!(filed[0].contains(&text), "{}", filed[0]);
        }
    }
    let store = SledStore::open(&dir.join("state")).expect("store");
    let rec = store.get(&id(POISON)).expect("get").expect("poison record");
    assert_eq!((rec.opening.failed, rec.opening.suspect), failures);
    assert!(!rec.opening.in_progress);
    assert!(matches!(rec.kind, Some(Kind::Unreadable { .. })), "{rec:?}");
}

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature: scripts/test.sh, or cargo test --features failpoints"
)]
fn a_panic_while_opening_makes_a_stub_after_two_tries() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    backlog(dir);
    let config = offline::write_config(
        dir,
        &Offline {
            tracking_prefix: PREFIX,
            ..Offline::default()
        },
    );
    let out = run_once(&config, &format!("open.panic@{}:1", id(POISON)));
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    let panics = log
        .lines()
        .filter(|l| l.contains("opening the message panicked") && l.contains(&id(POISON)))
        .count();
    println!(
        "one run: {panics} panics caught while opening {}",
        id(POISON)
    );
    assert_eq!(panics, 2, "{log}");
    assert!(
        !log.contains("secret-looking"),
        "panic payload in the log: {log}"
    );
    check_outcome(dir, "opening it panicked", (2, 0));
}

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature: scripts/test.sh, or cargo test --features failpoints"
)]
fn an_abort_while_opening_makes_a_stub_after_two_aborts_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    backlog(dir);
    let config = offline::write_config(
        dir,
        &Offline {
            tracking_prefix: PREFIX,
            ..Offline::default()
        },
    );
    let failpoint = format!("open.abort@{}:1", id(POISON));
    let mut starts = Vec::new();
    // Restarted as systemd would, until a start finishes (at most 5).
    for _ in 0..5 {
        let out = run_once(&config, &failpoint);
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        let aborted = log.contains("failpoint open.abort: aborting");
        starts.push((out.status.success(), aborted));
        if out.status.success() {
            break;
        }
        assert!(aborted, "died without the failpoint: {log}");
    }
    println!("starts (finished, aborted at the failpoint): {starts:?}");
    assert_eq!(
        starts,
        vec![(false, true), (false, true), (false, true), (true, false)],
        "a crash among several openings, two crashing openings alone, then the stub without opening"
    );
    // The first abort took the look-ahead openings of reports 1 and 2
    // with it: all three were suspects, opened alone on the second start,
    // where only the poison one aborted again; the third start opened it
    // alone once more.
    check_outcome(dir, "crash or kill", (2, 1));
    for i in (1..=REPORTS).filter(|&i| i != POISON) {
        let store = SledStore::open(&dir.join("state")).expect("store");
        let rec = store.get(&id(i)).expect("get").expect("record");
        assert_eq!(
            (rec.opening.failed, rec.opening.suspect),
            (0, 0),
            "{}",
            id(i)
        );
    }
    // A fourth start has nothing left to do.
    let out = run_once(&config, &failpoint);
    assert!(out.status.success());
    assert_eq!(texts(&dir.join("issues")).len(), REPORTS);
}

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature: scripts/test.sh, or cargo test --features failpoints"
)]
fn an_opening_that_never_returns_is_given_up_at_its_limit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    backlog(dir);
    let config = offline::write_config(
        dir,
        &Offline {
            tracking_prefix: PREFIX,
            ..Offline::default()
        },
    );
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, format!("{text}\n[limits]\nopen_budget = \"1s\"\n")).expect("config");
    // The opening thread sleeps for an hour: only the limit from outside
    // (1.5 x open_budget) ends the wait, twice, and the run still exits.
    let started = Instant::now();
    let out = run_once_within(
        &config,
        &format!("open.hang@{}:1", id(POISON)),
        Duration::from_secs(120),
    );
    let took = started.elapsed();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    println!("a hung opening, given up twice: the run took {took:?}");
    assert!(out.status.success(), "{log}");
    check_outcome(dir, "did not stop within 1.5 s", (2, 0));
}
