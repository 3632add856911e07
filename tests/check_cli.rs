//! `secintake check` on a configuration with several mistakes lists every
//! one of them (keys named, values never printed) and exits 2.

mod common;

use common::daemon::run_cli;

#[test]
fn check_lists_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("broken.toml");
    std::fs::write(
        &config,
        r#"
[instance]
tracking_prefix = "jup sec"
addresses = ["not-an-address"]
state_dir = "/tmp/x"
colour = "blue"

[source]
kind = "imap"

[source.imap]
host = "imap.example.org"
port = 99999
security = "tls-please"
username = "security@ipython.org"
password_file = "does-not-exist-SECRETVALUE"
poll_interval = "often"

[openpgp]
secret_keys = ["missing.key.asc"]

[tracker]
kind = "github"

[tracker.github]
repository = "no-slash"
token_file = "missing-token"

[mailer]
kind = "carrier-pigeon"

[acknowledgement]
from = "not an address"
response_window = "3 days"

[limits]
open_budget = "2h"
max_key_attempts = 0
max_wildcard_attempts = 5000
"#,
    )
    .unwrap();
    let (code, out) = run_cli(&["check", "--config", config.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    let expected = [
        "instance.tracking_prefix",
        "instance.addresses",
        "instance.colour: is not a known setting",
        "source.imap.port",
        "source.imap.security",
        "source.imap.password_file",
        "source.imap.poll_interval",
        "openpgp.secret_keys",
        "tracker.github.repository",
        "tracker.github.token_file",
        "mailer.kind",
        "acknowledgement.from",
        "acknowledgement.response_window",
        "limits.open_budget",
        "limits.max_key_attempts",
        "limits.max_wildcard_attempts",
    ];
    for key in expected {
        assert!(
            out.contains(key),
            "check output does not name {key}:\n{out}"
        );
    }
    assert!(
        out.contains(&format!("{} configuration problem(s)", expected.len())),
        "{out}"
    );
    assert!(
        !out.contains("blue") && !out.contains("tls-please"),
        "values echoed:\n{out}"
    );
}

#[test]
fn check_passes_on_the_demo_configuration() {
    let (code, out) = check_offline("config/demo.toml");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok: templates render"), "{out}");
    assert!(out.contains("1 secret key(s)"), "{out}");
}

#[test]
fn syntax_errors_name_the_line_not_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[instance]\ntracking_prefix = \"A\"\npassword = hunter2-SECRET\n",
    )
    .unwrap();
    let (code, out) = run_cli(&["check", "--config", config.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("line 3"), "{out}");
    assert!(!out.contains("hunter2"), "value echoed:\n{out}");
}

/// The documented example parses: every key it shows is a known key. Its
/// secret files do not exist, so only "cannot read" problems may remain.
#[test]
fn example_configuration_documents_known_keys_only() {
    let (code, out) = check_offline("config/secintake.example.toml");
    assert_eq!(code, 2, "{out}");
    for line in out.lines().filter(|l| l.starts_with("  - ")) {
        assert!(
            line.contains("cannot read"),
            "unexpected problem in the example: {line}\n{out}"
        );
    }
    assert!(!out.contains("is not a known setting"), "{out}");
}

/// `secintake check` prints key-lint findings as warnings and still exits 0:
/// the demo key has no expiry date.
#[test]
fn check_prints_key_lint_warnings() {
    let (code, out) = check_offline("config/demo.toml");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("warning: key lint") && l.contains("no expiry")),
        "no key-lint warning printed:\n{out}"
    );
}

/// `secintake check --offline` on a configuration file of this repository.
fn check_offline(relative: &str) -> (i32, String) {
    let path = common::repo_root().join(relative);
    run_cli(&["check", "--offline", "--config", path.to_str().unwrap()])
}

/// The service reads its configuration as a dynamic user: `check` (run by
/// root, who reads anything) warns when the file is not readable by
/// others, which would stop the service at start with "Permission denied".
#[test]
fn check_warns_when_the_service_could_not_read_the_configuration() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("demo.toml");
    let demo = std::fs::read_to_string(common::repo_root().join("config/demo.toml")).unwrap();
    let keys = common::repo_root().join("keys");
    let demo = demo.replace("\"../keys/", &format!("\"{}/", keys.display()));
    std::fs::write(&config, demo).unwrap();
    let path = config.to_str().unwrap();
    let run = || run_cli(&["check", "--offline", "--config", path]);
    let warning = "the service's dynamic user cannot read it";
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, out) = run();
    assert!(!out.contains(warning), "{out}");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();
    let (code_640, out) = run();
    assert!(
        out.lines()
            .any(|l| l.starts_with("warning: ") && l.contains(path) && l.contains(warning)),
        "{out}"
    );
    assert_eq!(code, code_640, "a warning, not a problem");
}

/// `check` names a bad `[instance] list_ids` or `team_addresses` entry by
/// its key (a domain without its `@`, a List-Id with its phrase), never
/// quoting it, and exits 2.
#[test]
fn bad_channel_entries_are_named() {
    let demo = std::fs::read_to_string(common::repo_root().join("config/demo.toml")).unwrap();
    let bad = demo.replacen(
        "[instance]\n",
        "[instance]\nlist_ids = [\"Security <security.example.org>\"]\nteam_addresses = [\"@example.org\", \"teamdomain-SECRET.example\"]\n",
        1,
    );
    // Elsewhere the demo's relative key path breaks too: more problems,
    // all listed.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("secintake.toml");
    std::fs::write(&config, bad).unwrap();
    let (code, out) = run_cli(&["check", "--offline", "--config", config.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("instance.list_ids: each entry must be a List-Id like security.ipython.org"),
        "{out}"
    );
    assert!(
        out.contains("instance.team_addresses: each entry must be an address (carol@example.org) or a whole domain (@example.org)"),
        "{out}"
    );
    assert!(!out.contains("SECRET"), "value echoed:\n{out}");
}
