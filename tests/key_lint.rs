//! Key lint: the team's real published key (keys/jupyter-security.pub.asc) shows its known
//! defects, a modern key does not, and `secintake check` reports them as
//! warnings for configured and published keys alike.

mod common;

use std::path::{Path, PathBuf};

use secintake::config::Settings;
use secintake::openpgp::keyring::read_certs;
use secintake::openpgp::lint::lint_certs;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The team's real published key, shipped in `keys/`.
fn real_key() -> PathBuf {
    root().join("keys/jupyter-security.pub.asc")
}

const ADDRESSES: [&str; 2] = ["security@ipython.org", "security@jupyter.org"];

fn addresses() -> Vec<String> {
    ADDRESSES.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_real_jupyter_key_shows_its_defects() {
    let path = real_key();
    let findings = lint_certs(&read_certs(&path).expect("key"), &addresses());
    for f in &findings {
        println!("{f}");
    }
    let has = |needle: &str| findings.iter().any(|f| f.message.contains(needle));
    assert!(
        has("self-signature on user ID") && has("uses SHA-1"),
        "SHA-1 user ID binding"
    );
    assert!(has("binding signature of subkey"), "SHA-1 subkey binding");
    assert!(has("no expiry"), "no expiry");
    assert!(
        has("no user ID for security@jupyter.org"),
        "address mismatch"
    );
    assert!(has("standard policy"), "rejected by current tools");
    assert!(
        !has("security@ipython.org\" is not one of"),
        "its own address matches"
    );
    assert!(!has("RSA-4096"), "RSA-4096 is not weak");
    assert!(findings
        .iter()
        .all(|f| f.cert == "EEEC53FDA62B2861008E853013025C2DC9996248"));
}

#[test]
fn a_modern_key_has_no_hash_or_algorithm_findings() {
    let key = root().join("keys/DEMO-ONLY-security.pub.asc");
    let findings = lint_certs(
        &read_certs(&key).expect("key"),
        &["security@demo.invalid".into()],
    );
    for f in &findings {
        println!("{f}");
    }
    assert!(!findings.iter().any(|f| f.message.contains("SHA-1")));
    assert!(!findings.iter().any(|f| f.message.contains("policy")));
    assert!(!findings.iter().any(|f| f.message.contains("user ID")));
    // The demo key has no expiry: that one is reported.
    assert!(findings.iter().any(|f| f.message.contains("no expiry")));
}

fn settings(dir: &Path, published: &Path) -> Settings {
    let config = common::offline::write_config(
        dir,
        &common::offline::Offline {
            addresses: &["security@ipython.org", "security@jupyter.org"],
            openpgp: &format!("published_keys = [\"{}\"]", published.display()),
            from: "Project Jupyter Security <security@ipython.org>",
            ..Default::default()
        },
    );
    Settings::load(&config).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn check_warns_about_configured_and_published_keys() {
    let real = real_key();
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = settings(dir.path(), &real);
    let report = secintake::ops::check::run(&settings, false).await;
    for w in &report.warnings {
        println!("{w}");
    }
    let published: Vec<_> = report
        .warnings
        .iter()
        .filter(|w| w.contains("published in") && w.contains("jupyter-security.pub.asc"))
        .collect();
    assert!(
        published.iter().any(|w| w.contains("SHA-1")),
        "{:#?}",
        report.warnings
    );
    // The configured (demo) key is linted too: its user ID is not ours.
    assert!(report
        .warnings
        .iter()
        .any(|w| w.contains("ED4AE5829BA9824B13BEA54D69BEE4C855097941")
            && w.contains("is not one of instance.addresses")));
    // Findings are warnings, not configuration errors.
    assert!(report.config.is_empty(), "{:#?}", report.config);
    assert_eq!(report.exit_code(), 0);
}
