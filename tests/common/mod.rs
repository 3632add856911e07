//! Shared pieces of secintake's integration tests: a whole environment of
//! real servers (Dovecot, Postfix → LMTP → Dovecot, the GitHub fake), a
//! configuration pointing at them, and the daemon as a child process.
#![allow(dead_code)]

pub mod advisories;
pub mod channels;
pub mod conversation;
pub mod daemon;
pub mod gpg;
pub mod mail;
pub mod offline;
pub mod service;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use secintake_testkit::dovecot::Dovecot;
use secintake_testkit::github_fake::GithubFake;
use secintake_testkit::postfix::Postfix;
use secintake_testkit::require::{have_dovecot, have_postfix, require};

pub const REPO: &str = "jupyter/security-reports";
pub const TOKEN: &str = "ghp_testtoken_e2e_0123456789";
pub const SECURITY: &str = "security@example.test";
pub const SECURITY_PW: &str = "securitypw";
pub const REPORTER: &str = "alice@example.test";
pub const REPORTER_PW: &str = "alicepw";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The demo key: its secret half is public in this repository.
pub fn team_secret_key() -> PathBuf {
    repo_root().join("keys/DEMO-ONLY-security.sec.asc")
}

pub fn team_public_key() -> PathBuf {
    repo_root().join("keys/DEMO-ONLY-security.pub.asc")
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub dovecot: Dovecot,
    pub postfix: Postfix,
    pub github: GithubFake,
    pub config: PathBuf,
}

/// Knobs for the generated configuration.
pub struct Options {
    pub idle: bool,
    pub extra: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            idle: true,
            extra: String::new(),
        }
    }
}

impl Env {
    /// Starts every server, or returns None when one is missing outside CI
    /// (under `CI=true` a missing server panics: a failure, never a skip).
    pub fn start(opts: Options) -> Option<Env> {
        if !require("dovecot", have_dovecot()) || !require("postfix", have_postfix()) {
            return None;
        }
        let dovecot = Dovecot::start().expect("start dovecot");
        let postfix = Postfix::start(&dovecot).expect("start postfix");
        let github = GithubFake::start_on_thread(TOKEN).expect("start GitHub fake");
        github.create_repo(REPO);
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("secintake.toml");
        let env = Env {
            dir,
            dovecot,
            postfix,
            github,
            config,
        };
        env.write_config(&opts);
        Some(env)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn state_dir(&self) -> PathBuf {
        self.path("state")
    }

    pub fn write_config(&self, opts: &Options) {
        std::fs::write(self.path("imap-password"), SECURITY_PW).unwrap();
        std::fs::write(self.path("smtp-password"), format!("{SECURITY_PW}\n")).unwrap();
        std::fs::write(self.path("github-token"), TOKEN).unwrap();
        let text = format!(
            r#"
[instance]
tracking_prefix = "JUPSEC"
addresses = ["{SECURITY}"]
state_dir = "{state}"

[source]
kind = "imap"

[source.imap]
host = "127.0.0.1"
port = {imaps}
security = "tls"
ca_file = "{imap_ca}"
username = "{SECURITY}"
password_file = "imap-password"
mailbox = "INBOX"
processed_mailbox = "Processed"
idle = {idle}
poll_interval = "1s"

[openpgp]
secret_keys = ["{key}"]

[tracker]
kind = "github"

[tracker.github]
api_url = "{api}"
repository = "{REPO}"
token_file = "github-token"
labels = ["security-report", "needs-triage"]

[mailer]
kind = "smtp"

[mailer.smtp]
host = "127.0.0.1"
port = {submission}
security = "starttls"
ca_file = "{smtp_ca}"
username = "{SECURITY}"
password_file = "smtp-password"

[acknowledgement]
from = "Project Jupyter Security <{SECURITY}>"
templates = "{templates}"
response_window = "3d"
disclosure_window = "90d"
{extra}
"#,
            state = self.state_dir().display(),
            imaps = self.dovecot.imaps_port,
            imap_ca = self.dovecot.cert_pem.display(),
            idle = opts.idle,
            key = team_secret_key().display(),
            api = self.github.url,
            submission = self.postfix.submission_port,
            smtp_ca = self.postfix.cert_pem.display(),
            templates = repo_root().join("config/templates").display(),
            extra = opts.extra,
        );
        std::fs::write(&self.config, text).unwrap();
    }

    /// APPENDs a message to the security INBOX over real IMAP.
    pub fn deliver(&self, raw: &[u8]) {
        block_on(secintake_testkit::imap_client::append(
            self.dovecot.imap_port,
            SECURITY,
            SECURITY_PW,
            "INBOX",
            raw,
        ))
        .expect("APPEND");
    }

    pub fn mailbox(&self, user: &str, pw: &str, mailbox: &str) -> Vec<Vec<u8>> {
        block_on(secintake_testkit::imap_client::fetch_all(
            self.dovecot.imap_port,
            user,
            pw,
            mailbox,
        ))
        .unwrap_or_default()
    }

    /// Waits until `mailbox` of `user` holds at least `n` messages.
    pub fn wait_mailbox(
        &self,
        user: &str,
        pw: &str,
        mailbox: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<Vec<u8>> {
        let got = wait_until(timeout, || {
            let m = self.mailbox(user, pw, mailbox);
            (m.len() >= n).then_some(m)
        });
        got.unwrap_or_else(|| {
            panic!(
                "{mailbox} of {user} did not reach {n} message(s) in {timeout:?}\npostfix log:\n{}\ndovecot log:\n{}",
                self.postfix.log_tail(),
                self.dovecot.log_tail()
            )
        })
    }

    pub fn acks(&self) -> Vec<Vec<u8>> {
        self.mailbox(REPORTER, REPORTER_PW, "INBOX")
    }

    pub fn wait_issues(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Vec<secintake_testkit::github_fake::FakeIssue> {
        wait_until(timeout, || {
            let issues = self.github.issues(REPO);
            (issues.len() >= n).then_some(issues)
        })
        .unwrap_or_else(|| {
            panic!(
                "GitHub fake did not reach {n} issue(s) in {timeout:?}: {:?}",
                self.github.issues(REPO).len()
            )
        })
    }
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Polls `f` every 100 ms until it yields a value or `timeout` passes.
pub fn wait_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn text(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

pub fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    let head = head.split("\n\n").next().unwrap_or(head);
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// Whether `mid` has the shape of our acknowledgement Message-ID for
/// `tracking_id`: `<ID.ack.TAG@domain>` with a 128-bit hex keyed part
/// (`secintake::mailer::message_id`; the key itself is in the daemon's store).
pub fn is_our_ack_id(mid: &str, tracking_id: &str, domain: &str) -> bool {
    mid.strip_prefix(&format!("<{tracking_id}.ack."))
        .and_then(|rest| rest.strip_suffix(&format!("@{domain}>")))
        .is_some_and(|tag| tag.len() == 32 && tag.chars().all(|c| c.is_ascii_hexdigit()))
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}
