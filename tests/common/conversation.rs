//! Helpers of the conversation tests (`tests/reply*.rs`): running the
//! daemon once, reading secintake's answers on an issue and the mail sent
//! for a command comment.

use std::time::Duration;

use super::daemon::Daemon;
use super::gpg::{armored, Gpg};
use super::{header, text, Env, REPO};
use secintake_testkit::github_fake::BOT_LOGIN;

pub const WAIT: Duration = Duration::from_secs(90);
pub const COORDINATOR: &str = "coord-alex";
pub const STRANGER: &str = "passer-by";
/// The `[conversation]` section the tests add.
pub const ENABLED: &str = "\n[conversation]\nenabled = true\n";

pub fn run_once(env: &Env, log: &str) -> String {
    let mut daemon = Daemon::start(&env.config, env.path(log), &["--once"]);
    let status = daemon.wait(WAIT).expect("run --once finishes");
    let log = daemon.log_text();
    assert!(status.success(), "daemon failed:\n{log}");
    log
}

/// Our answers on issue `n`: (comment id named in the marker, body).
pub fn answers(env: &Env, n: u64) -> Vec<(u64, String)> {
    env.github
        .comments_with_authors(REPO, n)
        .into_iter()
        .filter(|(who, _)| who == BOT_LOGIN)
        .filter_map(|(_, body)| {
            let first = body.lines().next()?.to_string();
            let id = first.split(" command:").nth(1)?.trim_end_matches(" -->");
            Some((id.parse().ok()?, body))
        })
        .collect()
}

pub fn tracking_id(title: &str) -> String {
    title
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap()
        .to_string()
}

/// The mail in `inbox` whose Message-ID names comment `id`.
pub fn mail_for(inbox: &[Vec<u8>], id: u64) -> Vec<String> {
    inbox
        .iter()
        .map(|m| text(m))
        .filter(|m| {
            header(m, "Message-ID").is_some_and(|mid| mid.contains(&format!(".reply-{id}.")))
        })
        .collect()
}

/// Decrypts with the reporter's key; asserts the team's signature.
pub fn open(gpg: &Gpg, mail: &str, team_fpr: &str) -> String {
    let (ok, plain, err) = gpg.run(
        &["--status-fd", "2", "--decrypt"],
        Some(armored(mail).as_bytes()),
    );
    assert!(ok, "gpg could not decrypt:\n{err}");
    let validsig = err
        .lines()
        .find(|l| l.starts_with("[GNUPG:] VALIDSIG "))
        .unwrap_or_else(|| panic!("no valid signature:\n{err}"));
    assert!(
        validsig.split(' ').any(|f| f == team_fpr),
        "not signed by the team key {team_fpr}: {validsig}"
    );
    String::from_utf8_lossy(&plain).into_owned()
}

/// Runs `--once` with `failpoint` armed: the daemon aborts there.
pub fn run_killed(env: &Env, log: &str, failpoint: &str) {
    let mut daemon = Daemon::start_env(
        &env.config,
        env.path(log),
        &["--once"],
        &[("SECINTAKE_FAILPOINT", failpoint)],
    );
    let status = daemon.wait(WAIT).expect("the daemon ends");
    let log = daemon.log_text();
    assert!(!status.success(), "{failpoint} did not abort:\n{log}");
    assert!(
        log.contains("command comment taken"),
        "aborted before the command:\n{log}"
    );
}
