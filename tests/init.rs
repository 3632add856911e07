//! `secintake init`, then what an operator does: replace the SITE values,
//! put the secret files into credentials/, and `check --offline` passes.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn secintake(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_secintake"))
        .args(args)
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .expect("run secintake")
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn init_then_the_site_values_and_secrets_make_check_pass() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let etc = tmp.path().join("etc/secintake");
    let out = secintake(&["init", "--dir", etc.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out));
    let config = etc.join("secintake.toml");
    let config_arg = config.to_str().expect("utf-8");
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&etc.join("credentials")), 0o700);

    // As written, check names every missing secret, found in credentials/.
    let out = secintake(&["--config", config_arg, "check", "--offline"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = text(&out);
    for secret in [
        "imap-password",
        "team.key.asc",
        "key-passphrase",
        "github-token",
        "smtp-password",
    ] {
        assert!(
            said.contains(&format!("credentials/{secret}")),
            "{secret} not named: {said}"
        );
    }

    // The operator's steps: site values, then secrets (mode 0600).
    let starter = std::fs::read_to_string(&config).expect("config");
    let filled = starter
        .replace("tracking_prefix = \"SEC\"", "tracking_prefix = \"JUPSEC\"")
        .replace("security@example.org", "security@ipython.org")
        .replace("imap.example.org", "imap.ipython.org")
        .replace("smtp.example.org", "smtp.ipython.org")
        .replace("example-org/security-reports", "jupyter/security-reports")
        // The demo key has no passphrase.
        .replace("passphrase_file = \"key-passphrase\"\n", "");
    std::fs::write(&config, filled).expect("write config");
    let credentials = etc.join("credentials");
    let secret = |name: &str, data: &[u8]| {
        let p = credentials.join(name);
        std::fs::write(&p, data).expect("secret");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("mode");
    };
    secret("imap-password", b"imap secret\n");
    secret("smtp-password", b"smtp secret\n");
    secret("github-token", b"github_pat_placeholder\n");
    secret(
        "team.key.asc",
        &std::fs::read(common::team_secret_key()).expect("demo key"),
    );
    let out = secintake(&["--config", config_arg, "check", "--offline"]);
    assert!(out.status.success(), "{}", text(&out));

    // A second init leaves the completed configuration alone.
    let before = std::fs::read(&config).expect("config");
    let out = secintake(&["init", "--dir", etc.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(std::fs::read(&config).expect("config"), before);
}

/// The service runs as a dynamic user: what it reads must be readable by
/// others whatever the operator's umask (0640 made the service fail to
/// start under systemd, found by tests/systemd.rs).
#[test]
fn init_under_umask_077_leaves_what_the_service_reads_readable() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let etc = tmp.path().join("etc/secintake");
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"umask 077 && exec "$0" init --dir "$1""#)
        .arg(env!("CARGO_BIN_EXE_secintake"))
        .arg(&etc)
        .output()
        .expect("sh");
    assert!(out.status.success(), "{}", text(&out));
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&etc), 0o755);
    assert_eq!(mode(&etc.join("secintake.toml")), 0o644);
    assert_eq!(mode(&etc.join("templates")), 0o755);
    assert_eq!(mode(&etc.join("templates/ack.txt.j2")), 0o644);
    assert_eq!(mode(&etc.join("credentials")), 0o700);
}
