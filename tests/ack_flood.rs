//! Issue 12, must show 5: a flood over the global acknowledgement cap
//! cannot silence a real reporter. 150 junk reports from 150 addresses, then
//! a real one, through the real daemon (Maildir, directory tracker, outbox)
//! with the default cap of 100 acknowledgements per window and a window of
//! 20 s: the real report's acknowledgement is postponed — pending, shown by
//! `secintake status` with an alert, logged once — never suppressed, and
//! sent exactly once when the window has room. No window ever holds more
//! than the cap.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::daemon::{run_cli, Daemon};
use common::offline::{self, Offline};
use common::service::{metrics_addr, sample, scrape};
use secintake::record::Ack;
use secintake::store::{SledStore, Store};
use serde_json::Value;

const JUNK: usize = 150;
const CAP: usize = 100;
const WINDOW_SECS: i64 = 20;
const REAL: &str = "real-reporter@reporter.example";

fn seed(dir: &Path) {
    offline::maildir(dir);
    for i in 0..JUNK {
        let raw = format!(
            "From: junk{i}@flood.example\r\nTo: security@example.org\r\nSubject: junk {i}\r\nMessage-ID: <junk-{i}@flood.example>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nJunk number {i} zq{i}x.\r\n"
        );
        std::fs::write(dir.join(format!("inbox/new/{i:04}.eml")), raw).expect("seed");
    }
    let real = format!(
        "From: Real Reporter <{REAL}>\r\nTo: security@example.org\r\nSubject: Stored XSS in the notebook viewer\r\nMessage-ID: <real-1@reporter.example>\r\nDate: Wed, 25 Nov 2026 10:05:00 +0000\r\n\r\nREAL-REPORT: the notebook viewer renders untrusted SVG.\r\n"
    );
    std::fs::write(dir.join(format!("inbox/new/{JUNK:04}.eml")), real).expect("seed");
}

/// The tracking ID of the issue holding `needle`.
fn tracking_id_of(dir: &Path, needle: &str) -> Option<String> {
    std::fs::read_dir(dir.join("issues"))
        .ok()?
        .flatten()
        .find(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(needle)))
        .and_then(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let (_, rest) = name.split_once('-')?;
            Some(rest.trim_end_matches(".md").to_string())
        })
}

/// The record's status row, from `secintake status --json`.
fn status_row(config: &Path, id: &str) -> Option<Value> {
    let (code, out) = run_cli(&["--config", config.to_str()?, "status", "--json"]);
    assert_eq!(code, 0, "status failed:\n{out}");
    let json: Value = serde_json::from_str(&out).ok()?;
    json["records"]
        .as_array()?
        .iter()
        .find(|r| r["tracking_id"] == id)
        .cloned()
}

/// The messages in the outbox (one `.eml` per message sent).
fn outbox(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("outbox"))
        .map(|e| {
            e.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

fn outbox_to(dir: &Path, address: &str) -> usize {
    outbox(dir)
        .iter()
        .filter(|t| common::header(t, "To").is_some_and(|to| to.contains(address)))
        .count()
}

#[test]
fn a_flood_over_the_global_cap_postpones_the_real_ack_and_sends_it_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    seed(dir);
    let config = offline::write_config(
        dir,
        &Offline {
            tracking_prefix: "FLOOD",
            maildir: "poll_interval = \"2s\"",
            // [acknowledgement] is the last section: the metrics endpoint follows.
            acknowledgement: &format!(
                "global_max = {CAP}\nglobal_window = \"{WINDOW_SECS}s\"\n\n[metrics]\nlisten = \"127.0.0.1:0\""
            ),
            ..Offline::default()
        },
    );
    let started = Instant::now();
    let mut daemon = Daemon::start(&config, dir.join("daemon.log"), &[]);

    // Postponed: pending with a time, an alert, nothing sent to the reporter.
    let seen = common::wait_until(Duration::from_secs(120), || {
        let id = tracking_id_of(dir, "REAL-REPORT")?;
        let row = status_row(&config, &id)?;
        row["ack"]
            .as_str()?
            .starts_with("postponed until ")
            .then_some((id, row))
    });
    let Some((id, row)) = seen else {
        panic!(
            "the real report's acknowledgement was never shown postponed\n{}",
            daemon.log_text()
        );
    };
    let postponed_after = started.elapsed();
    assert_eq!(outbox_to(dir, REAL), 0, "sent over the cap");
    let alerts = format!("{}", row["alerts"]);
    assert!(
        alerts.contains("ALERT: acknowledgement postponed by the global rate cap"),
        "{row}"
    );
    assert_eq!(row["overdue"].as_array().map(Vec::len), Some(0), "{row}");
    let (code, table) = run_cli(&["--config", config.to_str().unwrap(), "status"]);
    assert_eq!(code, 0, "{table}");
    let line = table
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{id} not in\n{table}"));
    assert!(line.contains("postponed until"), "{line}");
    assert!(line.contains("ALERT: acknowledgement postponed"), "{line}");
    let addr = metrics_addr(&dir.join("state")).expect("metrics address published");
    let (_, scraped) = scrape(&addr, "/metrics").expect("metrics answer");
    let waiting = sample(&scraped, "secintake_acks_postponed").unwrap_or(0.0);
    assert!(waiting >= 1.0, "secintake_acks_postponed {waiting}");

    // Sent once the window has room, and exactly once.
    let sent = common::wait_until(Duration::from_secs(4 * WINDOW_SECS as u64 + 60), || {
        (outbox_to(dir, REAL) > 0).then_some(())
    });
    let sent_after = started.elapsed();
    assert!(
        sent.is_some(),
        "never sent after the window\n{}",
        daemon.log_text()
    );
    // Every junk acknowledgement goes out too (all postponed, none dropped).
    let all = common::wait_until(Duration::from_secs(4 * WINDOW_SECS as u64 + 60), || {
        let n = outbox(dir).len();
        (n > JUNK).then_some(n)
    });
    std::thread::sleep(Duration::from_secs(3));
    let (_, scraped) = scrape(&addr, "/metrics").expect("metrics answer");
    daemon.terminate(Duration::from_secs(20));
    let log = daemon.log_text();
    assert!(all.is_some(), "not every acknowledgement went out\n{log}");
    assert_eq!(outbox_to(dir, REAL), 1, "the real acknowledgement once");
    let alerts_logged = log
        .lines()
        .filter(|l| l.contains(&id) && l.contains("ALERT: acknowledgement postponed"))
        .count();
    assert_eq!(alerts_logged, 1, "alert logged once for {id}\n{log}");

    // From the store: every record acknowledged once, none suppressed, and
    // no window of WINDOW_SECS ever held more than CAP sends.
    let store = SledStore::open(&dir.join("state")).expect("store");
    let records = store.all().expect("records");
    assert_eq!(records.len(), JUNK + 1, "records");
    let mut sends: Vec<DateTime<Utc>> = Vec::new();
    let mut real_at = None;
    for r in &records {
        match &r.ack {
            Ack::Sent { at, .. } => sends.push(*at),
            other => panic!("{}: {other:?}", r.tracking_id),
        }
        if r.tracking_id == id {
            real_at = r.ack_sent_at();
            assert!(r.watch.ack_postponed_at.is_some(), "{r:?}");
        }
    }
    assert_eq!(
        outbox(dir).len(),
        JUNK + 1,
        "one acknowledgement per record"
    );
    // Each postponed record counted once; none waiting any more.
    let postponed = records
        .iter()
        .filter(|r| r.watch.ack_postponed_at.is_some())
        .count();
    assert!(postponed > JUNK - CAP, "{postponed} postponed");
    assert_eq!(
        sample(&scraped, "secintake_acks_postponed_total"),
        Some(postponed as f64),
        "{scraped}"
    );
    assert_eq!(sample(&scraped, "secintake_acks_postponed"), Some(0.0));
    sends.sort();
    let window = chrono::Duration::seconds(WINDOW_SECS);
    let busiest = sends
        .iter()
        .enumerate()
        .map(|(i, t)| sends[i..].iter().take_while(|u| **u < *t + window).count())
        .max()
        .unwrap_or(0);
    let real_at = real_at.expect("real sent");
    let first = sends[0];
    eprintln!(
        "ack flood: {} reports, {} acknowledgements, busiest {WINDOW_SECS}s window {busiest} (cap {CAP}); \
         real report postponed (seen after {:.1}s), sent {:.1}s after the first acknowledgement \
         (seen after {:.1}s); {postponed} acknowledgements postponed",
        records.len(),
        sends.len(),
        postponed_after.as_secs_f64(),
        (real_at - first).num_milliseconds() as f64 / 1000.0,
        sent_after.as_secs_f64(),
    );
    assert!(busiest <= CAP, "a window held {busiest} > {CAP}");
    assert!(
        real_at >= first + window,
        "sent before the window had room: {real_at} vs first {first}"
    );
}

trait SentAt {
    fn ack_sent_at(&self) -> Option<DateTime<Utc>>;
}

impl SentAt for secintake::record::Record {
    fn ack_sent_at(&self) -> Option<DateTime<Utc>> {
        match &self.ack {
            Ack::Sent { at, .. } => Some(*at),
            _ => None,
        }
    }
}
