//! SMTP down for a while, then back: exactly one acknowledgement per report.
//!
//! The SMTP server is aiosmtpd (PyPI 1.4.6, installed by
//! scripts/install-deps.sh into testkit/aiosmtpd/.venv) running
//! testkit/aiosmtpd/flaky_smtp.py: not listening at all at first
//! (connections refused), then up but answering the first two
//! transactions `451` at the end of DATA, then accepting. Meanwhile the
//! acknowledgements come close to their response deadline and the operator
//! is alerted. The daemon runs as a child process with a Maildir source and
//! the directory tracker.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::daemon::{run_cli, Daemon};
use common::{header, repo_root, wait_until};
use secintake_testkit::require::require;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(120);
const REPORTS: usize = 3;

fn venv_python() -> PathBuf {
    repo_root().join("testkit/aiosmtpd/.venv/bin/python")
}

fn have_aiosmtpd() -> bool {
    Command::new(venv_python())
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The scripted server; killed on drop.
struct Flaky(Child);

impl Flaky {
    fn start(port: u16, spool: &std::path::Path, fail: u32) -> Flaky {
        let mut child = Command::new(venv_python())
            .arg(repo_root().join("testkit/aiosmtpd/flaky_smtp.py"))
            .args(["--port", &port.to_string(), "--fail", &fail.to_string()])
            .args(["--fail-at", "data", "--spool"])
            .arg(spool)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start flaky_smtp.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "flaky SMTP did not start");
        Flaky(child)
    }
}

impl Drop for Flaky {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spooled(spool: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(spool)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .map(|e| std::fs::read_to_string(e.path()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn status(config: &std::path::Path) -> Value {
    let (code, out) = run_cli(&["--config", config.to_str().unwrap(), "status", "--json"]);
    assert_eq!(code, 0, "{out}");
    serde_json::from_str(&out).unwrap()
}

fn rows(v: &Value) -> Vec<Value> {
    v["records"].as_array().cloned().unwrap_or_default()
}

#[test]
fn smtp_outage_then_back_sends_exactly_one_ack_per_report() {
    if !require("aiosmtpd (testkit/aiosmtpd/.venv)", have_aiosmtpd()) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    for sub in ["inbox/new", "inbox/cur", "inbox/tmp"] {
        std::fs::create_dir_all(p(sub)).unwrap();
    }
    // A port nobody listens on yet: SMTP is "down".
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = common::offline::write_config(
        dir.path(),
        &common::offline::Offline {
            addresses: &["security@example.test"],
            maildir: "poll_interval = \"1s\"",
            mailer: &format!(
                "[mailer]\nkind = \"smtp\"\n\n[mailer.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"plain\""
            ),
            from: "Security <security@example.test>",
            // A short window, so that the outage brings the deadline near.
            acknowledgement: "response_window = \"10m\"\nalert_before = \"9m55s\"",
            extra: "[reminders]\nenabled = false",
            ..Default::default()
        },
    );
    for i in 0..REPORTS {
        std::fs::write(
            p(&format!("inbox/new/{i:03}.eml")),
            format!(
                "From: <reporter{i}@reporter.example>\r\nTo: security@example.test\r\nSubject: Report {i}\r\nMessage-ID: <outage-{i}@reporter.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nReport {i}: {}\r\n",
                ["SSRF via the proxy", "XSS in markdown cells", "open redirect at login"][i]
            ),
        )
        .unwrap();
    }
    let mut daemon = Daemon::start(&config, p("daemon.log"), &[]);
    // `status` reads the daemon's snapshot once there is one (before, it
    // would open the store itself and keep the daemon from starting).
    let snapshot = p("state").join("status.json");
    wait_until(WAIT, || snapshot.exists().then_some(()))
        .unwrap_or_else(|| panic!("daemon did not start:\n{}", daemon.log_text()));

    // Down: every acknowledgement fails, is retried with backoff, and the
    // operator is alerted once per report as the deadline nears.
    let alerted = wait_until(WAIT, || {
        let v = status(&config);
        let r = rows(&v);
        let n = r
            .iter()
            .filter(|row| row["alerts"].to_string().contains("ALERT"))
            .count();
        (r.len() == REPORTS && n == REPORTS).then_some(v)
    })
    .unwrap_or_else(|| panic!("no alerts while SMTP is down:\n{}", daemon.log_text()));
    for row in rows(&alerted) {
        assert_eq!(row["ack"], "pending", "{row:#}");
        assert!(row["last_error"].to_string().contains("SMTP"), "{row:#}");
    }
    // Down a while longer: a few more failed attempts.
    std::thread::sleep(Duration::from_secs(6));
    let log = daemon.log_text();
    let failures = log.matches("acknowledgement failed").count();
    assert!(
        failures >= 2 * REPORTS,
        "{failures} failed attempts:\n{log}"
    );
    let alerts = log
        .matches("ALERT: acknowledgement still unsent close to the response deadline")
        .count();
    assert_eq!(alerts, REPORTS, "one alert per report:\n{log}");
    assert!(spooled(&p("spool")).is_empty());

    // Back, but the first two transactions get 451 at the end of DATA.
    let _smtp = Flaky::start(port, &p("spool"), 2);
    let all = wait_until(WAIT, || {
        let s = spooled(&p("spool"));
        (s.len() >= REPORTS).then_some(())
    });
    assert!(
        all.is_some(),
        "acknowledgements not sent after SMTP came back:\n{}",
        daemon.log_text()
    );
    // Every record says sent; then a few more passes, and count again.
    wait_until(WAIT, || {
        rows(&status(&config))
            .iter()
            .all(|r| r["ack"].as_str().is_some_and(|a| a.starts_with("sent")))
            .then_some(())
    })
    .expect("all acknowledgements recorded as sent");
    std::thread::sleep(Duration::from_secs(5));
    daemon
        .terminate(Duration::from_secs(20))
        .expect("daemon stops");

    let sent = spooled(&p("spool"));
    assert_eq!(
        sent.len(),
        REPORTS,
        "exactly one acknowledgement per report"
    );
    let ids: BTreeSet<String> = sent
        .iter()
        .map(|m| header(m, "Message-ID").unwrap_or("").to_string())
        .collect();
    assert_eq!(ids.len(), REPORTS, "{ids:?}");
    assert!(ids.iter().all(|i| i.starts_with("<JUPSEC-")
        && i.contains(".ack.")
        && i.ends_with("@example.test>")));
    let tos: BTreeSet<String> = sent
        .iter()
        .map(|m| header(m, "To").unwrap_or("").to_string())
        .collect();
    assert_eq!(tos.len(), REPORTS, "{tos:?}");
    let log = daemon.log_text();
    assert!(
        log.contains("451"),
        "the scripted 451s were not seen:\n{log}"
    );
    let after = status(&config);
    for row in rows(&after) {
        assert_eq!(
            row["alerts"],
            serde_json::json!([]),
            "alert not cleared once sent: {row:#}"
        );
    }
}
