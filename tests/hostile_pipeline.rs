//! The corpus's hostile inputs through the real daemon (`secintake run
//! --once`, Maildir source, directory tracker, outbox mailer): each
//! unreadable one is filed as a stub issue with its reason, size and hash —
//! never its ciphertext — and its reporter is told how to resend.

mod common;
#[path = "corpus_support/mod.rs"]
mod support;

use common::offline::{self, Offline};

use std::path::{Path, PathBuf};

const DEMO_FINGERPRINT: &str = "ED4AE5829BA9824B13BEA54D69BEE4C855097941";

/// A run of this many base64 characters that is not a hex digest would be
/// ciphertext (armour lines are 64 characters).
fn has_ciphertext_run(text: &str) -> bool {
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '+' || c == '/' {
            run.push(c);
            continue;
        }
        if run.len() >= 60 && !run.chars().all(|c| c.is_ascii_hexdigit()) {
            return true;
        }
        run.clear();
    }
    false
}

fn write_config(dir: &Path) -> PathBuf {
    offline::write_config(
        dir,
        &Offline {
            tracking_prefix: "HOSTILE",
            openpgp: "legacy_decrypt_only = true",
            // Many hostile inputs share a sender: lift the acknowledgement rate caps.
            acknowledgement: "per_address_max = 1000\nglobal_max = 1000",
            ..Offline::default()
        },
    )
}

fn read_dir_texts(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    out
}

#[test]
fn hostile_inputs_are_filed_as_stubs_without_ciphertext() {
    let Some(corpus) = support::corpus_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    offline::maildir(dir);
    let rows: Vec<_> = support::manifest(&corpus)
        .into_iter()
        .filter(support::Row::is_hostile)
        .collect();
    for (i, row) in rows.iter().enumerate() {
        let raw = support::message_bytes(&corpus, row);
        std::fs::write(dir.join(format!("inbox/new/{i:03}.hostile")), raw).expect("seed");
    }
    let config = write_config(dir);
    let out = common::offline::run_once(&config);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "secintake run failed: {log}");

    let issues = read_dir_texts(&dir.join("issues"));
    // The directory tracker appends comments (follow-ups) to the issue file
    // after a `---` line; only the stub itself is checked.
    let unreadable: Vec<(PathBuf, String)> = issues
        .iter()
        .filter_map(|(p, t)| {
            let stub = t.split("\n---\n").next().unwrap_or("");
            stub.contains("could not be read")
                .then(|| (p.clone(), stub.to_string()))
        })
        .collect();
    let mut problems = Vec::new();
    for (path, text) in &unreadable {
        if text.contains("-----BEGIN PGP MESSAGE-----") {
            problems.push(format!("{}: armoured ciphertext", path.display()));
        }
        if has_ciphertext_run(text) {
            problems.push(format!("{}: a base64 run", path.display()));
        }
        if !text.contains("SHA-256") {
            problems.push(format!("{}: no hash", path.display()));
        }
    }
    let acks = read_dir_texts(&dir.join("outbox"));
    let resend = acks
        .iter()
        .filter(|(_, t)| t.contains(DEMO_FINGERPRINT) || t.contains("ED4A E582"))
        .count();
    println!(
        "hostile through the daemon: {} inputs, {} issues, {} unreadable stubs, {} acks, {} with the key fingerprint",
        rows.len(),
        issues.len(),
        unreadable.len(),
        acks.len(),
        resend
    );
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(rows.len(), 79);
    // Most hostile inputs are unreadable (the rest are plain, if odd, mail or
    // bounces, which are recorded and not answered).
    assert!(
        unreadable.len() >= 30,
        "only {} unreadable stubs",
        unreadable.len()
    );
    assert!(
        resend >= unreadable.len(),
        "{resend} resend instructions for {} stubs",
        unreadable.len()
    );
    assert!(!log.contains("panicked"), "{log}");
}
