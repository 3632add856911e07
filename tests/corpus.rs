//! The real-world corpus (`../shared/corpus`): every message that gpg or
//! Sequoia decrypts must yield the right text and attachments here too
//! (EXPECTED.tsv holds gpg's own results), with only the keys its MANIFEST
//! row names, and again with every key at once (key rotation).

#[path = "corpus_support/mod.rs"]
mod support;

use secintake::normalize::{Encryption, Opened};
use secintake::openpgp::{Keyring, SignatureStatus};
use support::{squash, Expected, Row};

/// Messages that gpg decrypts and that we knowingly do not, with the reason.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("thunderbird-comm-central/rc-openpgp-aead.eml", V5_AEAD),
    ("rnp/test_messages/message.txt.enc-malf-1", V5_AEAD_MPI),
    ("rnp/test_messages/message.txt.enc-malf-2", V5_AEAD_MPI),
    ("rnp/test_messages/message.txt.enc-malf-3", V5_AEAD_MPI),
    ("rnp/test_messages/message.txt.enc-malf-4", V5_AEAD_MPI),
    ("rnp/test_messages/message.txt.enc-malf-5", V5_AEAD_MPI),
    (
        "rnp/test_messages/message.compr-encr.31-rounds",
        "31 nested compression layers: Sequoia stops at 16 nested packet containers \
         (its recursion limit; gpg's is 32). The limit is kept: it is what bounds \
         the 128-layer vector",
    ),
    (
        "kde-mimetreeparser/crlf-encrypted-with-signature.mbox",
        "the session key decrypts, but Sequoia finds a truncated packet inside the \
         encrypted data (an indeterminate-length compressed packet written by a \
         2010 KMail/gpg); gpg tolerates it",
    ),
];

/// gpg says "good signature"; Sequoia (and so the report) says bad: the
/// signing subkey's only binding signature is newer than the signature, so
/// the key was not bound when it signed. Shown to coordinators as is.
const SIGNED_BEFORE_BINDING: &[&str] = &[
    "planck-core/encrypted_signed_w_file_attachment.eml",
    "planck-core/pEp_encrypted_subject_IS_pEp_3a.eml",
];

const V5_AEAD: &str = "GnuPG's non-standard v5 AEAD (OCB) packet (tag 20): not part of \
     RFC 4880 or RFC 9580, and Sequoia 2 does not implement it";
const V5_AEAD_MPI: &str = "non-canonical RSA MPI in the session-key packet (repaired, as gpg \
     does), then GnuPG's non-standard v5 AEAD packet (tag 20), which Sequoia 2 does not \
     implement";

/// Detached-signature parts that gpg lists as attachments and that we read as
/// the signature of the part beside them.
fn is_signature_part(name: &str) -> bool {
    name == "OpenPGP_signature" || name == "signature.asc"
}

fn strip_encrypted_suffix(name: &str) -> &str {
    [".gpg", ".pgp", ".asc"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name)
}

/// What is wrong with `o` for a row expected to decrypt; empty when right.
fn check(row: &Row, exp: Option<&Expected>, o: &Opened) -> Vec<String> {
    let mut wrong = Vec::new();
    if !matches!(o.encryption, Encryption::Decrypted { .. }) {
        wrong.push(format!("not decrypted: {:?}", o.unreadable_reason()));
        return wrong;
    }
    let failed_payload = o
        .notes
        .iter()
        .find(|n| n.contains("could not be decrypted"));
    if let (Some(note), Some(exp)) = (failed_payload, exp) {
        // gpg counted every outer payload as decrypted; an inner one
        // encrypted to a stranger (counted by neither) may fail.
        if exp.payloads > 1 {
            wrong.push(format!("a payload failed: {note}"));
        }
    }
    let Some(exp) = exp else {
        // Sequoia-only rows have no gpg output: the text must not be empty.
        if o.text.trim().is_empty() && o.attachments.is_empty() {
            wrong.push("decrypted to nothing".into());
        }
        return wrong;
    };
    // gpg's line was read as UTF-8 lossily; compare up to its first U+FFFD.
    let line = exp.line.split('\u{fffd}').next().unwrap_or("").trim();
    if !line.is_empty() {
        let text = squash(&o.text);
        let in_text = text.contains(&squash(line));
        // gpg's output keeps attachments encoded: the line may be base64.
        let decoded = mail_parser::decoders::base64::base64_decode(line.as_bytes())
            .map(|b| squash(&String::from_utf8_lossy(&b)))
            .filter(|d| !d.is_empty());
        let in_attachment = o.attachments.iter().any(|a| {
            let data = squash(&String::from_utf8_lossy(&a.data));
            data.contains(&squash(line)) || decoded.as_ref().is_some_and(|d| data.contains(d))
        });
        if !in_text && !in_attachment {
            wrong.push(format!("line {line:?} not in the report"));
        }
    }
    for name in &exp.attachments {
        let found = o
            .attachments
            .iter()
            .any(|a| a.name == *name || (a.decrypted && a.name == strip_encrypted_suffix(name)));
        let as_signature =
            is_signature_part(name) && !matches!(o.signature, SignatureStatus::Unsigned);
        if !found && !as_signature {
            wrong.push(format!(
                "attachment {name:?} missing (have {:?}, signature {:?})",
                o.attachments.iter().map(|a| &a.name).collect::<Vec<_>>(),
                o.signature
            ));
        }
    }
    let strict_binding = SIGNED_BEFORE_BINDING.contains(&row.file.as_str())
        && matches!(&o.signature, SignatureStatus::Bad { reason } if reason.contains("not bound"));
    if row.decrypts.contains("GOODSIG")
        && !strict_binding
        && !matches!(o.signature, SignatureStatus::Valid { .. })
    {
        wrong.push(format!("gpg: good signature; here {:?}", o.signature));
    }
    if row.decrypts.contains("not verifiable")
        && !matches!(
            o.signature,
            SignatureStatus::UnknownSigner { .. } | SignatureStatus::Valid { .. }
        )
    {
        wrong.push(format!("gpg: signer unknown; here {:?}", o.signature));
    }
    wrong
}

struct Tally {
    passed: usize,
    unsupported: usize,
    failed: Vec<String>,
}

enum Keys<'a> {
    PerRow,
    All(&'a Keyring),
}

fn run(label: &str, keys: Keys<'_>) -> Option<Tally> {
    let dir = support::corpus_dir()?;
    let rows = support::manifest(&dir);
    let expected = support::expected(&dir);
    let mut tally = Tally {
        passed: 0,
        unsupported: 0,
        failed: Vec::new(),
    };
    for row in rows.iter().filter(|r| r.expect_decrypt()) {
        let own;
        let keyring = match keys {
            Keys::All(k) => k,
            Keys::PerRow => {
                own = support::row_keyring(&dir, row)
                    .unwrap_or_else(|| panic!("{}: no key", row.file));
                &own
            }
        };
        let raw = support::message_bytes(&dir, row);
        let opened = support::open(keyring, &raw);
        let wrong = check(row, expected.get(&row.file), &opened);
        let unsupported = UNSUPPORTED.iter().find(|(f, _)| *f == row.file);
        match (wrong.is_empty(), unsupported) {
            (true, None) => tally.passed += 1,
            (false, Some((_, why))) => {
                println!("[{label}] unsupported {}: {why}", row.file);
                tally.unsupported += 1;
            }
            (true, Some(_)) => tally
                .failed
                .push(format!("{}: listed as unsupported but works", row.file)),
            (false, None) => {
                tally
                    .failed
                    .push(format!("{} ({}): {}", row.file, row.kind, wrong.join("; ")))
            }
        }
    }
    let total = rows.iter().filter(|r| r.expect_decrypt()).count();
    let gpg = rows
        .iter()
        .filter(|r| r.expect_decrypt() && expected.contains_key(&r.file))
        .count();
    println!(
        "[{label}] corpus: {total} messages decrypt with gpg or Sequoia ({gpg} with gpg); \
         {} read correctly, {} unsupported, {} wrong",
        tally.passed,
        tally.unsupported,
        tally.failed.len()
    );
    for f in &tally.failed {
        println!("[{label}] WRONG {f}");
    }
    assert_eq!(total, 105, "MANIFEST rows that decrypt");
    assert_eq!(gpg, 103, "EXPECTED rows");
    Some(tally)
}

#[test]
fn corpus_decrypts_with_the_keys_each_row_names() {
    let Some(t) = run("row keys", Keys::PerRow) else {
        return;
    };
    assert!(
        t.failed.is_empty(),
        "{} wrong: {:#?}",
        t.failed.len(),
        t.failed
    );
    assert_eq!(t.unsupported, UNSUPPORTED.len());
    assert_eq!(t.passed, 105 - UNSUPPORTED.len());
}

#[test]
fn corpus_decrypts_with_every_key_at_once() {
    let Some(dir) = support::corpus_dir() else {
        return;
    };
    let keyring = support::all_keys(&dir);
    let Some(t) = run("all keys", Keys::All(&keyring)) else {
        return;
    };
    assert!(
        t.failed.is_empty(),
        "{} wrong: {:#?}",
        t.failed.len(),
        t.failed
    );
    assert_eq!(t.passed, 105 - UNSUPPORTED.len());
}

/// The permissively licensed copies in tests/data (see tests/data/SOURCES),
/// each with its expected report as golden JSON beside it. Runs without the
/// shared corpus. `UPDATE_GOLDEN=1` rewrites the JSON; a mismatch leaves
/// `NAME.json.failed` beside it to diff.
#[test]
fn golden_reports_of_the_copies_in_tests_data() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut certs = Vec::new();
    let mut keys: Vec<_> = std::fs::read_dir(data.join("keys"))
        .expect("tests/data/keys")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    keys.sort();
    for k in &keys {
        certs.extend(support::read_certs(k));
    }
    let keyring = Keyring::from_certs(certs, None, true)
        .expect("keyring")
        .with_passwords(vec![secintake::support::secret::Secret::new(
            "secret".into(),
        )]);
    let mut emls: Vec<_> = std::fs::read_dir(data.join("eml"))
        .expect("tests/data/eml")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    emls.sort();
    let update = std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1");
    let mut mismatched = Vec::new();
    for eml in &emls {
        let raw = std::fs::read(eml).expect("eml");
        let opened = support::open(&keyring, &raw);
        let json = serde_json::to_string_pretty(&opened).expect("json") + "\n";
        let golden = eml.with_extension("json");
        let failed = eml.with_extension("json.failed");
        if update {
            std::fs::write(&golden, &json).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|_| panic!("{} missing: run with UPDATE_GOLDEN=1", golden.display()));
        if want == json {
            let _ = std::fs::remove_file(&failed);
        } else {
            std::fs::write(&failed, &json).expect("write .failed");
            mismatched.push(eml.display().to_string());
        }
    }
    println!(
        "golden: {} messages, {} mismatched",
        emls.len(),
        mismatched.len()
    );
    assert!(
        mismatched.is_empty(),
        "differ from golden JSON: {mismatched:#?}"
    );
    assert_eq!(emls.len(), 16, "messages in tests/data/eml");
}

/// A session-key packet whose RSA MPI has a leading zero byte and a wrong
/// bit count (what rnp's enc-malf vectors carry, and GnuPG accepts) is
/// re-encoded and the message read; here on rnp's otherwise valid SEIPD
/// vector, since the malformed ones also use GnuPG's v5 AEAD packet.
#[test]
fn non_canonical_mpi_in_the_session_key_packet_is_accepted() {
    let Some(dir) = support::corpus_dir() else {
        return;
    };
    let file = "rnp/test_messages/message.txt.enc-mdc";
    let raw = std::fs::read(dir.join(file)).expect("vector");
    // Old-format header 0x84 with a one-byte length, as gpg --list-packets shows.
    assert_eq!(raw.first(), Some(&0x84));
    let len = usize::from(raw[1]);
    let body = &raw[2..2 + len];
    let mut mangled_body = body[..10].to_vec();
    mangled_body.extend_from_slice(&1040u16.to_be_bytes()); // wrong: 1024 + 16
    mangled_body.push(0); // leading zero byte
    mangled_body.extend_from_slice(&body[12..]);
    let mut mangled = vec![0x84, u8::try_from(mangled_body.len()).expect("small")];
    mangled.extend(mangled_body);
    mangled.extend_from_slice(&raw[2 + len..]);

    let row = support::manifest(&dir)
        .into_iter()
        .find(|r| r.file == file)
        .expect("row");
    let keyring = support::row_keyring(&dir, &row).expect("keyring");
    let plain = support::open(&keyring, &support::wrap_pgp_mime(&raw));
    let opened = support::open(&keyring, &support::wrap_pgp_mime(&mangled));
    assert!(
        matches!(opened.encryption, Encryption::Decrypted { .. }),
        "{:?}",
        opened.encryption
    );
    assert_eq!(opened.text, plain.text);
    assert!(
        opened.notes.iter().any(|n| n.contains("non-canonical MPI")),
        "{:?}",
        opened.notes
    );
}
