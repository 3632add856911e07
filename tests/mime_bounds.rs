//! MIME structure bounds through the real binary (offline): a message with
//! 100,000 parts, one nested 30 multiparts deep and an encrypted one whose
//! decrypted entity has 6,000 parts are filed as malformed with the reason,
//! before any of their parts is decoded or hashed, and a normal report
//! beside them is filed and acknowledged; the run is quick.

mod common;

use std::time::{Duration, Instant};

use common::offline::{self, Offline};

fn many_parts(n: usize) -> String {
    let mut m = String::from(
        "From: Parts <parts@example.net>\r\nSubject: Parts\r\nMessage-ID: <parts@example.net>\r\nContent-Type: multipart/mixed; boundary=P\r\n\r\n",
    );
    for i in 0..n {
        m.push_str(&format!("--P\r\n\r\n{i}\r\n"));
    }
    m.push_str("--P--\r\n");
    m
}

/// PGP/MIME to the demo key around the MIME entity `inner`.
fn encrypted(inner: &str) -> String {
    let armored = common::mail::encrypt_armored(&common::team_public_key(), inner.as_bytes());
    format!(
        "From: Enc <enc@example.net>\r\nSubject: ...\r\nMessage-ID: <enc@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n{armored}\r\n--b1--\r\n"
    )
}

fn nested(levels: usize) -> String {
    let mut open = String::from(
        "From: Deep <deep@example.net>\r\nSubject: Deep\r\nMessage-ID: <deep@example.net>\r\n",
    );
    let mut close = String::new();
    for i in 0..levels {
        open.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
        close = format!("\r\n--b{i}--\r\n{close}");
    }
    format!("{open}Content-Type: text/plain\r\n\r\nhello{close}")
}

#[test]
fn part_and_nesting_floods_are_malformed_stubs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    offline::maildir(dir);
    let cases = [
        ("0001.eml", many_parts(100_000)),
        ("0002.eml", nested(30)),
        (
            "0003.eml",
            encrypted(
                many_parts(6000)
                    .split_once("Content-Type:")
                    .map(|(_, rest)| format!("Content-Type:{rest}"))
                    .expect("entity")
                    .as_str(),
            ),
        ),
        (
            "0004.eml",
            String::from_utf8(common::mail::plain(
                "bob@example.org",
                "Path traversal",
                "<normal@example.org>",
                "The export handler joins ../ paths.",
            ))
            .expect("utf-8"),
        ),
    ];
    for (name, raw) in &cases {
        std::fs::write(dir.join("inbox/new").join(name), raw).expect("seed");
    }
    let config = offline::write_config(
        dir,
        &Offline {
            tracking_prefix: "MIME",
            ..Offline::default()
        },
    );
    let start = Instant::now();
    let out = common::offline::run_once(&config);
    let took = start.elapsed();
    common::offline::assert_ran(&out);
    let issues = common::offline::issue_files(dir);
    let texts: Vec<String> = issues
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("issue"))
        .collect();
    println!(
        "MIME floods: {} messages ({} bytes of parts), {} issues in {:.1} s",
        cases.len(),
        cases[0].1.len(),
        texts.len(),
        took.as_secs_f64()
    );
    assert_eq!(texts.len(), cases.len());
    assert!(
        texts[0].contains("message has more than 5000 MIME parts"),
        "{}",
        texts[0]
    );
    assert!(
        texts[1].contains("MIME nesting deeper than 20 levels"),
        "{}",
        texts[1]
    );
    assert!(
        texts[2].contains("decrypted message has more than 5000 MIME parts"),
        "{}",
        texts[2]
    );
    assert!(texts[3].contains("The export handler joins ../ paths."));
    let acks = std::fs::read_dir(dir.join("outbox"))
        .expect("outbox")
        .count();
    assert_eq!(acks, cases.len(), "each reporter hears back");
    assert!(took < Duration::from_secs(60), "took {took:?}");
}
