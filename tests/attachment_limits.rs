//! A mail with 3,000 one-line attachments through the real binary: at most
//! `[limits] max_attachments` of them are stored beside the issue, the
//! issue (and its continuation comments) lists every other one by name,
//! size and SHA-256, the run finishes promptly, and a normal report queued
//! behind it is filed and acknowledged. Offline (Maildir, directory
//! tracker, outbox) and on real servers (Dovecot, Postfix, the GitHub fake).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::offline::{self, Offline};

const ATTACHMENTS: usize = 3000;
const MAX_ATTACHMENTS: usize = 25;
/// Astral characters (two UTF-16 units each) in a report's text.
const EMOJI: usize = 40_000;
const NOT_STORED: &str = "not stored (over `max_attachments`)";

/// A plain mail with `n` one-line text attachments `f0001.txt`, ….
fn flood(from: &str, n: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Flood <{from}>\r\nTo: security@example.test\r\nSubject: Many files\r\nMessage-ID: <flood-1@example.net>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"FLOOD\"\r\n\r\n--FLOOD\r\nContent-Type: text/plain\r\n\r\nSee the attached files.\r\n"
    );
    for i in 1..=n {
        m.push_str(&format!(
            "--FLOOD\r\nContent-Type: text/plain; name=\"f{i:04}.txt\"\r\nContent-Disposition: attachment; filename=\"f{i:04}.txt\"\r\n\r\nline {i}\r\n"
        ));
    }
    m.push_str("--FLOOD--\r\n");
    m.into_bytes()
}

fn normal(from: &str) -> Vec<u8> {
    common::mail::plain(
        from,
        "SSRF in the proxy",
        "<normal-1@example.org>",
        "The proxy follows redirects to 169.254.169.254.",
    )
}

/// The attachment numbers listed as not stored, and how many lines say so.
fn not_stored(text: &str) -> (BTreeSet<usize>, usize) {
    let mut listed = BTreeSet::new();
    let mut lines = 0;
    for line in text.lines().filter(|l| l.contains(NOT_STORED)) {
        lines += 1;
        assert!(line.contains("SHA-256 `"), "no hash: {line}");
        assert!(line.contains(" bytes, "), "no size: {line}");
        if let Some(n) = line
            .strip_prefix("- ")
            .and_then(|l| l.split('.').next())
            .and_then(|n| n.parse().ok())
        {
            listed.insert(n);
        }
    }
    (listed, lines)
}

fn assert_listed(text: &str) {
    let (listed, lines) = not_stored(text);
    println!("listed without storing: {lines} attachment lines");
    assert_eq!(lines, ATTACHMENTS - MAX_ATTACHMENTS, "attachment lines");
    assert_eq!(
        listed,
        (MAX_ATTACHMENTS + 1..=ATTACHMENTS).collect::<BTreeSet<_>>()
    );
    // Every name is there, the stored ones as links.
    for i in [1, MAX_ATTACHMENTS, MAX_ATTACHMENTS + 1, ATTACHMENTS] {
        assert!(text.contains(&format!("f{i:04}.txt")), "f{i:04}.txt");
    }
    assert!(text.contains(&format!(
        "{} attachments were listed but not stored",
        ATTACHMENTS - MAX_ATTACHMENTS
    )));
}

fn files_in(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|e| e.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn three_thousand_attachments_offline() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    offline::maildir(dir);
    std::fs::write(
        dir.join("inbox/new/0001.eml"),
        flood("flood@example.net", ATTACHMENTS),
    )
    .expect("seed");
    std::fs::write(dir.join("inbox/new/0002.eml"), normal("bob@example.org")).expect("seed");
    let limits = format!("\n[limits]\nmax_attachments = {MAX_ATTACHMENTS}\n");
    let config = offline::write_config(
        dir,
        &Offline {
            tracking_prefix: "FLOOD",
            acknowledgement: &limits,
            ..Offline::default()
        },
    );
    let start = Instant::now();
    let out = common::offline::run_once(&config);
    let took = start.elapsed();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "secintake run failed: {log}");

    let issues = files_in(&dir.join("issues"));
    let mut md: Vec<_> = issues
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    md.sort();
    assert_eq!(md.len(), 2, "{issues:?}");
    let flood_issue = std::fs::read_to_string(md[0]).expect("issue");
    let normal_issue = std::fs::read_to_string(md[1]).expect("issue");
    assert!(flood_issue.contains("FLOOD-"), "{}", md[0].display());
    let id = md[0]
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split_once('-'))
        .map(|(_, rest)| rest.trim_end_matches(".md").to_string())
        .expect("tracking id");
    let stored = files_in(&dir.join("issues/reports").join(&id));
    println!(
        "3,000 attachments offline: {:.1} s, {} files stored, issue file {} bytes",
        took.as_secs_f64(),
        stored.len(),
        flood_issue.len()
    );
    assert_eq!(stored.len(), MAX_ATTACHMENTS, "stored files\n{flood_issue}");
    assert_listed(&flood_issue);
    // The normal report behind it: filed with its text, acknowledged.
    assert!(normal_issue.contains("The proxy follows redirects"));
    let acks: Vec<String> = files_in(&dir.join("outbox"))
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    assert_eq!(acks.len(), 2, "one acknowledgement each");
    assert!(acks.iter().any(|a| a.contains("bob@example.org")));
    assert!(took < Duration::from_secs(120), "took {took:?}");
}

#[test]
fn three_thousand_attachments_on_github() {
    let Some(env) = common::Env::start(common::Options {
        idle: false,
        extra: format!("\n[limits]\nmax_attachments = {MAX_ATTACHMENTS}\n"),
    }) else {
        return;
    };
    // The flood's acknowledgement needs a mailbox to go to.
    env.dovecot
        .add_user("flood@example.test", "floodpw")
        .expect("add user");
    env.dovecot
        .add_user("emoji@example.test", "emojipw")
        .expect("add user");
    env.deliver(&flood("flood@example.test", ATTACHMENTS));
    env.deliver(&normal(common::REPORTER));
    env.deliver(&common::mail::plain(
        "emoji@example.test",
        &format!("{}#1 GH-2 \u{1F600}", "@".repeat(300)),
        "<emoji-1@example.test>",
        &"\u{1F600}".repeat(EMOJI),
    ));
    let start = Instant::now();
    let (code, log) = common::daemon::run_cli(&[
        "--config",
        env.config.to_str().expect("path"),
        "run",
        "--once",
    ]);
    let took = start.elapsed();
    assert_eq!(code, 0, "{log}");
    let issues = env.github.issues(common::REPO);
    assert_eq!(issues.len(), 3, "three issues");
    // The fake answers 422 past GitHub's limits, as GitHub does: these
    // were accepted, and nothing of the text was lost to the cuts.
    let emoji = issues
        .iter()
        .find(|i| i.title.contains('@'))
        .expect("emoji issue");
    let units = emoji.title.encode_utf16().count();
    println!(
        "hostile title: {units} UTF-16 units, {} characters; text in the issue and {} comments",
        emoji.title.chars().count(),
        emoji.comments.len()
    );
    assert!(units <= 256, "{units}");
    assert!(emoji.title.ends_with('…'));
    let shown: usize = std::iter::once(&emoji.body)
        .chain(&emoji.comments)
        .map(|b| {
            assert!(b.encode_utf16().count() <= 65_536);
            b.matches('\u{1F600}').count()
        })
        .sum();
    assert_eq!(shown, EMOJI);
    let flood_issue = issues
        .iter()
        .find(|i| i.title.ends_with("Many files"))
        .expect("flood issue");
    let normal_issue = issues
        .iter()
        .find(|i| i.title.ends_with("SSRF in the proxy"))
        .expect("normal issue");
    let all = std::iter::once(flood_issue.body.clone())
        .chain(flood_issue.comments.iter().cloned())
        .collect::<Vec<_>>()
        .join("\n");
    let contents = env.github.contents(common::REPO);
    println!(
        "3,000 attachments on GitHub: {:.1} s, {} files stored, issue and {} comments",
        took.as_secs_f64(),
        contents.len(),
        flood_issue.comments.len()
    );
    assert_eq!(contents.len(), MAX_ATTACHMENTS, "files stored");
    assert!(flood_issue.body.chars().count() <= 65_536);
    assert!(flood_issue
        .comments
        .iter()
        .all(|c| c.encode_utf16().count() <= 65_536));
    assert_listed(&all);
    assert!(normal_issue.body.contains("The proxy follows redirects"));
    let acks = env.wait_mailbox(
        common::REPORTER,
        common::REPORTER_PW,
        "INBOX",
        1,
        Duration::from_secs(60),
    );
    assert_eq!(acks.len(), 1);
    assert!(took < Duration::from_secs(120), "took {took:?}");
}
