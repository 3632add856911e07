//! RFC 3834 loop and abuse protection, one test per case: automatic mail is
//! recorded and never acknowledged, and the rate caps hold. Each run takes
//! in the case message beside an ordinary report (the control, which must
//! be acknowledged), through the real daemon binary with the embedded
//! parts: Maildir source, directory tracker, outbox mailer (one `.eml` per
//! message sent). The record's acknowledgement state, with its reason, is
//! read back with `secintake status --json`.

mod common;

use std::path::{Path, PathBuf};

use common::daemon::run_cli;
use serde_json::Value;

const CONTROL: &str = "control@reporter.example";

fn message(from: &str, id: &str, extra_headers: &str, content_type: &str, body: &str) -> String {
    format!(
        "From: <{from}>\r\nTo: security@example.test\r\nSubject: Security issue {id}\r\nMessage-ID: <{id}@reporter.example>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n{extra_headers}MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n{body}\r\n"
    )
}

fn plain(from: &str, id: &str, extra_headers: &str) -> String {
    message(
        from,
        id,
        extra_headers,
        "text/plain; charset=utf-8",
        &format!("Report body {id}: the server trusts X-Forwarded-For."),
    )
}

struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new(extra_ack: &str) -> Run {
        let dir = tempfile::tempdir().unwrap();
        common::offline::maildir(dir.path());
        common::offline::write_config(
            dir.path(),
            &common::offline::Offline {
                addresses: &["security@example.test", "security@example.org"],
                from: "Security <security@example.test>",
                acknowledgement: extra_ack,
                ..Default::default()
            },
        );
        Run { dir }
    }

    fn path(&self, n: &str) -> PathBuf {
        self.dir.path().join(n)
    }

    /// Drops messages into `new/` in order (names sort as given).
    fn deliver(&self, messages: &[String]) {
        for (i, m) in messages.iter().enumerate() {
            std::fs::write(self.path(&format!("inbox/new/{i:03}.eml")), m).unwrap();
        }
    }

    fn run_once(&self) {
        let config = self.path("secintake.toml");
        let (code, out) = run_cli(&["--config", config.to_str().unwrap(), "run", "--once"]);
        assert_eq!(code, 0, "run --once failed:\n{out}");
    }

    /// (tracking ID, kind, ack) of every record.
    fn records(&self) -> Vec<(String, String, String)> {
        let config = self.path("secintake.toml");
        let (code, out) = run_cli(&["--config", config.to_str().unwrap(), "status", "--json"]);
        assert_eq!(code, 0, "status failed:\n{out}");
        let json: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        json["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| {
                (
                    r["tracking_id"].as_str().unwrap().to_string(),
                    r["kind"].as_str().unwrap().to_string(),
                    r["ack"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// The recipients of the messages in the outbox.
    fn sent_to(&self) -> Vec<String> {
        let dir = self.path("outbox");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut out: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .map(|e| to_of(&e.path()))
            .collect();
        out.sort();
        out
    }
}

fn to_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    common::header(&text, "To").unwrap_or("").to_string()
}

/// Runs `case` beside the control; asserts only the control is answered
/// and the case is recorded as automatic mail with `reason`.
fn assert_not_acknowledged(case: String, reason: &str) {
    let run = Run::new("");
    run.deliver(&[plain(CONTROL, "control", ""), case]);
    run.run_once();
    let sent = run.sent_to();
    assert_eq!(sent.len(), 1, "acknowledgements sent: {sent:?}");
    assert!(
        sent[0].contains(CONTROL),
        "the control was not answered: {sent:?}"
    );
    let records = run.records();
    assert_eq!(records.len(), 2, "{records:?}");
    let case = records
        .iter()
        .find(|(_, _, ack)| !ack.starts_with("sent"))
        .unwrap_or_else(|| panic!("no unanswered record: {records:?}"));
    assert_eq!(
        case.2,
        format!("not sent: automatic mail: {reason}"),
        "{records:?}"
    );
    assert!(case.1.starts_with("automatic"), "{records:?}");
}

#[test]
fn auto_submitted_auto_replied() {
    assert_not_acknowledged(
        plain(
            "bob@reporter.example",
            "c1",
            "Auto-Submitted: auto-replied\r\n",
        ),
        "Auto-Submitted: auto-replied",
    );
}

#[test]
fn auto_submitted_auto_generated_with_comment() {
    assert_not_acknowledged(
        plain(
            "bob@reporter.example",
            "c2",
            "Auto-Submitted: Auto-Generated (vacation)\r\n",
        ),
        "Auto-Submitted: auto-generated",
    );
}

#[test]
fn null_return_path() {
    assert_not_acknowledged(
        plain("bob@reporter.example", "c3", "Return-Path: <>\r\n"),
        "null return path (bounce)",
    );
}

#[test]
fn mailer_daemon() {
    assert_not_acknowledged(
        plain("MAILER-DAEMON@mx.reporter.example", "c4", ""),
        "sent by a mailer daemon",
    );
}

#[test]
fn delivery_status_report() {
    let body = "--r1\r\nContent-Type: text/plain\r\n\r\nDelivery to the following recipient failed.\r\n--r1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.reporter.example\r\n\r\nFinal-Recipient: rfc822; x@reporter.example\r\nAction: failed\r\nStatus: 5.1.1\r\n--r1--";
    assert_not_acknowledged(
        message(
            "bounces@mx.reporter.example",
            "c5",
            "",
            "multipart/report; report-type=delivery-status; boundary=\"r1\"",
            body,
        ),
        "delivery or disposition report (multipart/report)",
    );
}

#[test]
fn list_id() {
    assert_not_acknowledged(
        plain(
            "bob@reporter.example",
            "c6",
            "List-Id: Jupyter dev <jupyter.googlegroups.com>\r\n",
        ),
        "mailing-list traffic (List-* headers)",
    );
}

#[test]
fn list_unsubscribe_only() {
    assert_not_acknowledged(
        plain(
            "news@reporter.example",
            "c7",
            "List-Unsubscribe: <mailto:unsubscribe@reporter.example>\r\n",
        ),
        "mailing-list traffic (List-* headers)",
    );
}

#[test]
fn precedence_bulk() {
    assert_not_acknowledged(
        plain("bob@reporter.example", "c8", "Precedence: bulk\r\n"),
        "Precedence: bulk",
    );
}

#[test]
fn precedence_junk() {
    assert_not_acknowledged(
        plain("bob@reporter.example", "c9", "Precedence: junk\r\n"),
        "Precedence: junk",
    );
}

#[test]
fn precedence_list() {
    assert_not_acknowledged(
        plain("bob@reporter.example", "c10", "Precedence: list\r\n"),
        "Precedence: list",
    );
}

#[test]
fn from_our_own_address() {
    // Our second address, in another case: still ours.
    assert_not_acknowledged(
        plain("Security@Example.ORG", "c11", ""),
        "sent from one of our own addresses",
    );
}

#[test]
fn reply_to_our_own_address_is_filed_but_not_answered() {
    let run = Run::new("");
    run.deliver(&[
        plain(CONTROL, "control", ""),
        plain(
            "bob@reporter.example",
            "c12",
            "Reply-To: security@example.test\r\n",
        ),
    ]);
    run.run_once();
    assert_eq!(run.sent_to().len(), 1, "{:?}", run.sent_to());
    let records = run.records();
    let case = records
        .iter()
        .find(|(_, _, ack)| !ack.starts_with("sent"))
        .unwrap_or_else(|| panic!("{records:?}"));
    assert_eq!(case.1, "new", "a report, filed: {records:?}");
    assert_eq!(case.2, "not sent: reply address is our own");
}

#[test]
fn auto_submitted_no_is_answered() {
    // The negative case: `Auto-Submitted: no` is a person writing.
    let run = Run::new("");
    run.deliver(&[
        plain(CONTROL, "control", ""),
        plain("bob@reporter.example", "c13", "Auto-Submitted: no\r\n"),
    ]);
    run.run_once();
    assert_eq!(run.sent_to().len(), 2, "both answered: {:?}", run.sent_to());
}

#[test]
fn per_address_rate_cap() {
    let run = Run::new("per_address_max = 2\nper_address_window = \"1d\"");
    // One mailbox, written three ways: case and +tags do not escape the cap.
    let same = "flood@reporter.example";
    run.deliver(&[
        plain(same, "r1", ""),
        plain("Flood+one@Reporter.example", "r2", ""),
        plain("flood+two@reporter.example", "r3", ""),
        plain(CONTROL, "control", ""),
    ]);
    run.run_once();
    let sent = run.sent_to();
    assert_eq!(
        sent.iter()
            .filter(|t| t.to_ascii_lowercase().contains("flood"))
            .count(),
        2,
        "{sent:?}"
    );
    assert_eq!(
        sent.iter().filter(|t| t.contains(CONTROL)).count(),
        1,
        "another address is not capped: {sent:?}"
    );
    let records = run.records();
    let capped: Vec<_> = records
        .iter()
        .filter(|(_, _, ack)| ack.starts_with("not sent: rate cap"))
        .collect();
    assert_eq!(capped.len(), 1, "{records:?}");
    assert_eq!(
        capped[0].2,
        "not sent: rate cap: 2 acknowledgement(s) to this address within 1d"
    );
    // Still filed: a capped acknowledgement never drops the report.
    let issues = std::fs::read_dir(run.path("issues")).unwrap().count();
    assert_eq!(issues, 4);
}

#[test]
fn global_rate_cap() {
    let run = Run::new("global_max = 2\nglobal_window = \"1h\"");
    run.deliver(&[
        plain("a@reporter.example", "g1", ""),
        plain("b@reporter.example", "g2", ""),
        plain("c@reporter.example", "g3", ""),
    ]);
    run.run_once();
    assert_eq!(run.sent_to().len(), 2, "{:?}", run.sent_to());
    // Over the global cap: postponed (still pending, with a time), never
    // suppressed. tests/ack_flood.rs shows it sent once the window allows.
    let records = run.records();
    assert_eq!(records.len(), 3, "{records:?}");
    let postponed: Vec<_> = records
        .iter()
        .filter(|(_, _, ack)| ack.starts_with("postponed until "))
        .collect();
    assert_eq!(postponed.len(), 1, "{records:?}");
    assert!(postponed[0].2.ends_with("(global rate cap)"), "{records:?}");
    assert!(
        !records.iter().any(|(_, _, a)| a.starts_with("not sent")),
        "{records:?}"
    );
}

#[test]
fn reply_to_a_third_party_is_not_reflected() {
    // An acknowledgement goes to an address the message proves
    // (secintake::classify::reporter_address): a Reply-To in another domain than
    // From would make us mail a victim of the sender's choosing.
    let run = Run::new("");
    run.deliver(&[
        plain(
            "attacker@evil.example",
            "r1",
            "Reply-To: victim@victim.example\r\n",
        ),
        plain(
            "alice@reporter.example",
            "r2",
            "Reply-To: security-team@reporter.example\r\n",
        ),
        plain(CONTROL, "control", ""),
    ]);
    run.run_once();
    let sent = run.sent_to();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(!sent.iter().any(|t| t.contains("victim")), "{sent:?}");
    for to in [
        "attacker@evil.example",
        "security-team@reporter.example",
        CONTROL,
    ] {
        assert_eq!(
            sent.iter().filter(|t| t.contains(to)).count(),
            1,
            "{to}: {sent:?}"
        );
    }
}
