//! The one writer of inline test configurations that read mail from a
//! Maildir: by default nothing needs a server (Maildir `<dir>/inbox`,
//! directory tracker `<dir>/issues`, outbox `<dir>/outbox`, state in
//! `<dir>/state`, the demo key); a test that needs GitHub or SMTP replaces
//! the `[tracker]` or `[mailer]` sections and adds what else it needs.
//! (`super::Env::write_config` writes the IMAP configurations of the
//! server tests.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What differs between tests: lines added to sections, or sections
/// replaced. Empty fields keep the defaults.
#[derive(Default)]
pub struct Offline<'a> {
    /// Default `JUPSEC`.
    pub tracking_prefix: &'a str,
    /// `[instance] addresses`; default `["security@example.org"]`.
    pub addresses: &'a [&'a str],
    pub maildir: &'a str,
    /// `[openpgp] secret_keys`; default the demo key.
    pub secret_keys: &'a [&'a Path],
    pub openpgp: &'a str,
    /// The whole `[tracker]` part (section and sub-section); default the
    /// directory tracker in `<dir>/issues`.
    pub tracker: &'a str,
    /// The whole `[mailer]` part; default the outbox in `<dir>/outbox`.
    pub mailer: &'a str,
    /// `[acknowledgement] from`; default `Security Team <security@example.org>`.
    pub from: &'a str,
    pub acknowledgement: &'a str,
    /// Further sections, written last (`[reminders]`, `[limits]`, …).
    pub extra: &'a str,
}

/// Writes `<dir>/secintake.toml` and returns its path.
pub fn write_config(dir: &Path, o: &Offline<'_>) -> PathBuf {
    let config = dir.join("secintake.toml");
    let text = format!(
        r#"
[instance]
tracking_prefix = "{prefix}"
addresses = [{addresses}]
state_dir = "{dir}/state"

[source]
kind = "maildir"

[source.maildir]
path = "{dir}/inbox"
{maildir}

[openpgp]
secret_keys = [{keys}]
{openpgp}

{tracker}

{mailer}

[acknowledgement]
from = "{from}"
templates = "{templates}"
{ack}
{extra}
"#,
        prefix = or(o.tracking_prefix, "JUPSEC"),
        addresses = if o.addresses.is_empty() {
            "\"security@example.org\"".to_string()
        } else {
            o.addresses
                .iter()
                .map(|a| format!("\"{a}\""))
                .collect::<Vec<_>>()
                .join(", ")
        },
        tracker = if o.tracker.is_empty() {
            format!(
                "[tracker]\nkind = \"directory\"\n\n[tracker.directory]\npath = \"{}/issues\"",
                dir.display()
            )
        } else {
            o.tracker.to_string()
        },
        mailer = if o.mailer.is_empty() {
            format!(
                "[mailer]\nkind = \"outbox\"\n\n[mailer.outbox]\npath = \"{}/outbox\"",
                dir.display()
            )
        } else {
            o.mailer.to_string()
        },
        from = or(o.from, "Security Team <security@example.org>"),
        extra = o.extra,
        dir = dir.display(),
        maildir = o.maildir,
        keys = if o.secret_keys.is_empty() {
            format!("\"{}\"", super::team_secret_key().display())
        } else {
            o.secret_keys
                .iter()
                .map(|k| format!("\"{}\"", k.display()))
                .collect::<Vec<_>>()
                .join(", ")
        },
        openpgp = o.openpgp,
        templates = super::repo_root().join("config/templates").display(),
        ack = o.acknowledgement,
    );
    std::fs::write(&config, text).expect("config");
    config
}

fn or<'a>(value: &'a str, default: &'a str) -> &'a str {
    if value.is_empty() {
        default
    } else {
        value
    }
}

/// Creates the Maildir `<dir>/inbox` (new, cur, tmp).
pub fn maildir(dir: &Path) {
    for sub in ["inbox/new", "inbox/cur", "inbox/tmp"] {
        std::fs::create_dir_all(dir.join(sub)).expect("maildir");
    }
}

/// Runs `secintake run --once --config <config>` and returns what it did.
pub fn run_once(config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_secintake"))
        .args(["run", "--once", "--config"])
        .arg(config)
        .output()
        .expect("run secintake")
}

/// Asserts that a run succeeded, showing its log if not.
pub fn assert_ran(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The directory tracker's issue files in `<dir>/issues`, in number order.
pub fn issue_files(dir: &Path) -> Vec<PathBuf> {
    let mut issues: Vec<PathBuf> = std::fs::read_dir(dir.join("issues"))
        .expect("issues")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    issues.sort();
    issues
}

/// Runs `secintake run --once --config <config>` at log level info, with
/// the failpoint armed when given (`SECINTAKE_FAILPOINT`); returns whether
/// it succeeded and its log (stderr, then stdout).
pub fn run_once_failing(config: &Path, failpoint: Option<&str>) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_secintake"));
    cmd.args(["run", "--once", "--config"])
        .arg(config)
        .env("SECINTAKE_LOG", "info")
        .env_remove("JOURNAL_STREAM");
    match failpoint {
        Some(f) => cmd.env("SECINTAKE_FAILPOINT", f),
        None => cmd.env_remove("SECINTAKE_FAILPOINT"),
    };
    let out = cmd.output().expect("run secintake");
    let log =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    (out.status.success(), log)
}
