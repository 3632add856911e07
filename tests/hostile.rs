//! Hostile and edge-case input from the corpus (malformed MIME, huge
//! headers, rnp's OpenPGP packet attacks: compression bombs, 128 nested
//! layers, quines, truncated streams, missing integrity protection): every
//! one yields a report, within the limits, without panicking, and an
//! unreadable one says why without carrying ciphertext.

#[path = "corpus_support/mod.rs"]
mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};

use secintake::config::Limits;
use secintake::normalize::{self, Encryption, Opened};

/// A run of base64 this long in a report would be a dump of ciphertext.
const BASE64_RUN: usize = 60;

fn longest_base64_run(s: &str) -> usize {
    let mut best = 0;
    let mut run = 0;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '+' || c == '/' {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// What is wrong with the report of a hostile input; empty when fine.
fn problems(o: &Opened, limits: &Limits) -> Vec<String> {
    let mut p = Vec::new();
    let text_bytes = o.text.len() as u64;
    let attachment_bytes: u64 = o.attachments.iter().map(|a| a.size).sum();
    if text_bytes > limits.max_text_bytes {
        p.push(format!(
            "report text of {text_bytes} bytes, over max_text_bytes"
        ));
    }
    // The decrypted text may be both shown (cut) and attached (whole).
    if text_bytes + attachment_bytes
        > limits.max_decrypted_bytes + limits.max_text_bytes + o.raw_size
    {
        p.push(format!(
            "report holds {} bytes, over the decryption budget",
            text_bytes + attachment_bytes
        ));
    }
    if let Some(reason) = o.unreadable_reason() {
        if reason.trim().is_empty() {
            p.push("unreadable without a reason".into());
        }
        let shown = format!("{reason}\n{}\n{}", o.text, o.notes.join("\n"));
        if shown.contains("-----BEGIN PGP MESSAGE-----") {
            p.push("unreadable report carries armoured ciphertext".into());
        }
        if matches!(o.encryption, Encryption::Failed { .. })
            && longest_base64_run(&shown) >= BASE64_RUN
        {
            p.push("unreadable report carries a base64 run".into());
        }
        if o.attachments
            .iter()
            .any(|a| !a.decrypted && a.content_type.contains("pgp-encrypted") && !a.data.is_empty())
        {
            p.push("an undecrypted encrypted attachment keeps its ciphertext".into());
        }
    }
    if o.raw_sha256.len() != 64 {
        p.push("no hash of the raw message".into());
    }
    p
}

#[test]
fn every_hostile_input_yields_a_bounded_report() {
    let Some(dir) = support::corpus_dir() else {
        return;
    };
    let keyring = support::all_keys(&dir);
    let limits = Limits::default();
    let rows: Vec<_> = support::manifest(&dir)
        .into_iter()
        .filter(support::Row::is_hostile)
        .collect();
    let mut unreadable = 0;
    let mut readable = 0;
    let mut failures = Vec::new();
    for row in &rows {
        let raw = support::message_bytes(&dir, row);
        let result = catch_unwind(AssertUnwindSafe(|| {
            normalize::open(&keyring, &raw, &limits)
        }));
        let Ok(opened) = result else {
            failures.push(format!("{}: PANIC", row.file));
            continue;
        };
        match opened.unreadable_reason() {
            Some(reason) => {
                unreadable += 1;
                println!("{}: {reason}", row.file);
            }
            None => {
                readable += 1;
                println!("{}: read ({} text bytes)", row.file, opened.text.len());
            }
        }
        for p in problems(&opened, &limits) {
            failures.push(format!("{}: {p}", row.file));
        }
        // The attack vectors gpg refuses must not be read here either.
        // An armour checksum error alone is not a refusal: RFC 9580 §6.1 says
        // the CRC is to be ignored, and the data has integrity protection.
        let refused_by_gpg = row.decrypts.starts_with("no")
            && !row.decrypts.contains("outer layer")
            && !row.decrypts.contains("CRC error");
        if refused_by_gpg
            && row.kind.contains("openpgp-packet-vector")
            && opened.unreadable_reason().is_none()
        {
            failures.push(format!(
                "{}: gpg refuses it ({}), we read it",
                row.file, row.decrypts
            ));
        }
    }
    println!(
        "hostile: {} inputs, {unreadable} filed as unreadable/malformed, {readable} read, {} problems",
        rows.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(rows.len(), 79, "MANIFEST hostile + edge rows");
    assert_eq!(unreadable + readable, rows.len());
}

/// The named attack classes end as "undecryptable" or "malformed".
#[test]
fn packet_attacks_end_unreadable_with_a_reason() {
    let Some(dir) = support::corpus_dir() else {
        return;
    };
    let keyring = support::all_keys(&dir);
    let limits = Limits::default();
    let cases = [
        "rnp/test_messages/message.compr.128-rounds",
        "rnp/test_messages/message.zlib-quine",
        "rnp/test_messages/message.txt.enc-no-mdc",
        "rnp/test_messages/message_mdc_8k_cut1.pgp",
        "rnp/test_stream_z/4gb.bzip2.asc",
        "rnp/test_large_packet/4g.bzip2.gpg",
        "rnp/test_partial_length/message.txt.partial-1g",
        "thunderbird-comm-central/rc-openpgp-nomdc.eml",
        "thunderbird-comm-central/rc-openpgp-mdc-tampered.eml",
    ];
    let rows = support::manifest(&dir);
    let mut ran = 0;
    for file in cases {
        let row = rows.iter().find(|r| r.file == file).expect(file);
        let raw = support::message_bytes(&dir, row);
        let opened = normalize::open(&keyring, &raw, &limits);
        let reason = opened.unreadable_reason();
        println!("{file}: {reason:?}");
        assert!(reason.is_some(), "{file}: read as {:?}", opened.encryption);
        ran += 1;
    }
    assert_eq!(ran, cases.len());
}

/// Limits are honoured: a lower decryption budget turns the 1 GB
/// partial-length vector and the bombs into reports within that budget.
#[test]
fn tighter_limits_bound_the_output() {
    let Some(dir) = support::corpus_dir() else {
        return;
    };
    let keyring = support::all_keys(&dir);
    let limits = Limits {
        max_decrypted_bytes: 1 << 20,
        max_header_bytes: 4096,
        ..Limits::default()
    };
    let rows = support::manifest(&dir);
    let huge = rows
        .iter()
        .find(|r| r.file == "mimekit/messages/stack-overflow.txt")
        .expect("row");
    let opened = normalize::open(&keyring, &support::message_bytes(&dir, huge), &limits);
    assert!(
        opened
            .malformed
            .as_deref()
            .is_some_and(|m| m.contains("header section")),
        "{:?}",
        opened.malformed
    );
    let mut ran = 0;
    for row in rows.iter().filter(|r| r.is_hostile()) {
        let opened = normalize::open(&keyring, &support::message_bytes(&dir, row), &limits);
        let total: u64 =
            opened.text.len() as u64 + opened.attachments.iter().map(|a| a.size).sum::<u64>();
        assert!(
            total <= (1 << 20) + limits.max_text_bytes + opened.raw_size,
            "{}: {total} bytes",
            row.file
        );
        ran += 1;
    }
    assert_eq!(ran, 79);
}
