//! A message over `[limits] max_message_bytes` in a real Dovecot INBOX: the
//! daemon asks for `RFC822.SIZE` first and never fetches its body. It is
//! filed as a stub from its headers (size, limit, sender, subject of a
//! plain message), the reporter is told the limit, a normal report beside
//! it is filed and acknowledged, and both move to the processed mailbox.
//! The bytes fetched are Dovecot's own count (`out=` at logout). The
//! Maildir source does the same from the file's size.

mod common;

use std::time::Duration;

use common::offline::{self, Offline};
use common::*;

const LIMIT: usize = 64 << 10;
const BIG: usize = 2 << 20;
const WAIT: Duration = Duration::from_secs(60);
const CAROL: &str = "carol@example.test";

/// A plain message of about `size` bytes.
fn big_message(size: usize) -> Vec<u8> {
    let line = "0123456789abcdef core dump line 0123456789abcdef 0123456789abcdef\r\n";
    let body = line.repeat(size / line.len() + 1);
    mail::plain(REPORTER, "Huge core dump", "<big-1@example.test>", &body)
}

/// (sum of `in=`, sum of `out=`) over the logged-out IMAP sessions of `user`.
fn session_bytes(log: &str, user: &str) -> (u64, u64, usize) {
    let tag = format!("imap({user})");
    let (mut input, mut output, mut sessions) = (0, 0, 0);
    for line in log.lines().filter(|l| l.contains(&tag)) {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .and_then(|v| v.trim_end_matches(',').parse::<u64>().ok())
        };
        if let (Some(i), Some(o)) = (field("in="), field("out=")) {
            input += i;
            output += o;
            sessions += 1;
        }
    }
    (input, output, sessions)
}

#[test]
fn oversized_message_is_a_stub_and_its_body_is_never_fetched() {
    let Some(env) = Env::start(Options {
        idle: false,
        extra: format!("\n[limits]\nmax_message_bytes = {LIMIT}\n"),
    }) else {
        return;
    };
    env.dovecot.add_user(CAROL, "carolpw").expect("add user");
    let big = big_message(BIG);
    assert!(big.len() > BIG);
    env.deliver(&big);
    env.deliver(&mail::plain(
        CAROL,
        "Open redirect",
        "<small-1@example.test>",
        "The login page redirects to any ?next= URL.",
    ));
    let (code, log) = daemon::run_cli(&[
        "--config",
        env.config.to_str().expect("path"),
        "run",
        "--once",
    ]);
    assert_eq!(code, 0, "{log}");
    let own_count: u64 = log
        .split("fetched_bytes=")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .expect("the daemon logs what it fetched");
    println!("the daemon counted {own_count} bytes fetched");
    assert!(own_count < 64 << 10, "{own_count}");
    // Read before anything else here fetches from the security mailbox.
    let dovecot_log =
        std::fs::read_to_string(env.dovecot.dir.join("dovecot.log")).expect("dovecot log");
    let (sent_in, fetched, sessions) = session_bytes(&dovecot_log, SECURITY);
    println!(
        "oversized over IMAP: message {} bytes, limit {LIMIT}; Dovecot sent {fetched} bytes in {sessions} sessions of {SECURITY} (APPENDs brought in {sent_in})",
        big.len()
    );
    assert!(sessions >= 3, "two APPENDs and the daemon:\n{dovecot_log}");
    // The log counts message bytes: the APPEND of the big one is in it.
    assert!(sent_in > big.len() as u64, "in={sent_in}");
    // The body never left the server: all sessions together sent less
    // than a tenth of it (the small message, headers, protocol).
    assert!(
        fetched < big.len() as u64 / 10,
        "Dovecot sent {fetched} bytes"
    );

    let issues = env.github.issues(REPO);
    assert_eq!(issues.len(), 2, "two issues");
    let stub = issues
        .iter()
        .find(|i| i.title.ends_with("Huge core dump"))
        .expect("stub issue");
    assert!(stub.body.contains("could not be read"), "{}", stub.body);
    assert!(
        stub.body.contains(&format!(
            "message of {} bytes exceeds the limit of {LIMIT} bytes",
            big.len()
        )),
        "{}",
        stub.body
    );
    assert!(
        !stub.body.contains("core dump line"),
        "body text in the stub"
    );
    assert!(stub.body.contains(REPORTER));
    let small = issues
        .iter()
        .find(|i| i.title.ends_with("Open redirect"))
        .expect("normal issue");
    assert!(small.body.contains("redirects to any ?next= URL"));

    // The reporter is told the limit; the other reporter is acknowledged.
    let notice = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 1, WAIT);
    let notice = text(&notice[0]);
    assert!(notice.contains(&format!("{LIMIT} bytes")), "{notice}");
    assert!(notice.contains("<big-1@example.test>"));
    let ack = env.wait_mailbox(CAROL, "carolpw", "INBOX", 1, WAIT);
    assert!(text(&ack[0]).contains("<small-1@example.test>"));
    // Both are archived, the big one whole.
    let processed = env.wait_mailbox(SECURITY, SECURITY_PW, "Processed", 2, WAIT);
    assert!(processed.iter().any(|m| m.len() >= big.len()));
    assert_eq!(env.mailbox(SECURITY, SECURITY_PW, "INBOX").len(), 0);
}

#[test]
fn oversized_maildir_file_is_a_stub_too() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    offline::maildir(dir);
    let big = big_message(BIG);
    std::fs::write(dir.join("inbox/new/0001.eml"), &big).expect("seed");
    std::fs::write(
        dir.join("inbox/new/0002.eml"),
        mail::plain(
            CAROL,
            "Open redirect",
            "<small-1@example.test>",
            "Any ?next= URL.",
        ),
    )
    .expect("seed");
    let limits = format!("\n[limits]\nmax_message_bytes = {LIMIT}\n");
    let config = offline::write_config(
        dir,
        &Offline {
            tracking_prefix: "BIG",
            acknowledgement: &limits,
            ..Offline::default()
        },
    );
    let out = common::offline::run_once(&config);
    common::offline::assert_ran(&out);
    let issues = common::offline::issue_files(dir);
    assert_eq!(issues.len(), 2);
    let stub = std::fs::read_to_string(&issues[0]).expect("stub");
    assert!(stub.contains("Huge core dump"), "{stub}");
    assert!(
        stub.contains(&format!(
            "message of {} bytes exceeds the limit of {LIMIT} bytes",
            big.len()
        )),
        "{stub}"
    );
    assert!(!stub.contains("core dump line"));
    let small = std::fs::read_to_string(&issues[1]).expect("issue");
    assert!(small.contains("Any ?next= URL."));
    let acks: Vec<String> = std::fs::read_dir(dir.join("outbox"))
        .expect("outbox")
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    assert_eq!(acks.len(), 2);
    assert!(acks.iter().any(|a| a.contains(&format!("{LIMIT} bytes"))));
    // Archived whole: the file moved, not rewritten.
    let moved = std::fs::read(dir.join("inbox/.Processed/cur/0001.eml")).expect("moved");
    assert_eq!(moved.len(), big.len());
}

/// Each intake pass brings in at most `max_fetch_batch_bytes` (by
/// `RFC822.SIZE`), and the next pass follows at once: a backlog larger
/// than the budget is still taken in by one `run --once`.
#[test]
fn fetch_passes_keep_the_byte_budget() {
    const BUDGET: u64 = 1 << 20;
    const N: usize = 6;
    let Some(env) = Env::start(Options {
        idle: false,
        extra: format!(
            "\n[limits]\nmax_fetch_batch_bytes = {BUDGET}\nmax_message_bytes = {}\n",
            4 << 20
        ),
    }) else {
        return;
    };
    for i in 0..N {
        // Distinct words, so that no two read as the same or a related report.
        let body: String = (0..(400 << 10) / 16)
            .map(|j| format!("w{i}x{j} v{}\r\n", (i * 7919 + j * 104_729) % 1_000_003))
            .collect();
        env.deliver(&mail::plain(
            REPORTER,
            &format!("Core dump {i}"),
            &format!("<dump-{i}@example.test>"),
            &body,
        ));
    }
    let out = std::process::Command::new(daemon::binary())
        .args([
            "--config",
            env.config.to_str().expect("path"),
            "run",
            "--once",
        ])
        .env("SECINTAKE_LOG", "warn,secintake=debug")
        .env_remove("JOURNAL_STREAM")
        .output()
        .expect("run secintake");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let passes: Vec<(u64, u64)> = log
        .lines()
        .filter(|l| l.contains(" fetched") && l.contains("bytes="))
        .filter_map(|l| {
            let field = |name: &str| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix(name))
                    .and_then(|v| v.parse::<u64>().ok())
            };
            Some((field("messages=")?, field("bytes=")?))
        })
        .filter(|(n, _)| *n > 0)
        .collect();
    println!("fetch passes (messages, bytes) with a budget of {BUDGET}: {passes:?}");
    assert!(
        passes.iter().all(|p| p.1 > 300 << 10),
        "messages of 400 KiB"
    );
    assert_eq!(passes.iter().map(|p| p.0).sum::<u64>(), N as u64, "{log}");
    assert!(passes.iter().all(|p| p.1 <= BUDGET), "{passes:?}");
    assert!(passes.len() >= 3, "{passes:?}");
    assert_eq!(env.github.issues(REPO).len(), N);
}
