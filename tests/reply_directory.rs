//! The conversation with the directory tracker and the outbox (the
//! embedded defaults, no server): a coordinator appends a comment to the
//! issue's file, first line a command, and the same commands work — the
//! mail lands in the outbox once, and secintake's answer is appended to
//! the file once.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::offline::{self, Offline};
use common::*;

fn run(config: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_secintake"))
        .args(["run", "--once", "--config"])
        .arg(config)
        .output()
        .expect("run secintake");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    log
}

fn outbox(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("outbox"))
        .expect("outbox")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    names
}

fn issue_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir.join("issues"))
        .expect("issues")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

fn append(file: &Path, comment: &str) {
    let mut text = std::fs::read_to_string(file).unwrap();
    text.push_str("\n\n---\n\n");
    text.push_str(comment);
    std::fs::write(file, text).unwrap();
}

#[test]
fn commands_appended_to_an_issue_file_are_mailed_once_and_answered_in_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    offline::maildir(dir);
    std::fs::write(
        dir.join("inbox/new/0001.eml"),
        mail::plain(
            "alice@example.org",
            "Widget bug",
            "<dir-1@example.org>",
            "REPORT-TEXT-d1",
        ),
    )
    .unwrap();
    let config = offline::write_config(
        dir,
        &Offline {
            extra: "[conversation]\nenabled = true\n",
            ..Offline::default()
        },
    );
    run(&config);
    assert_eq!(outbox(dir).len(), 1, "the acknowledgement");
    let file = issue_file(dir);
    let tid = file
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .split_once('-')
        .unwrap()
        .1
        .to_string();

    append(&file, "/reply\nDIR-REPLY-TEXT: please try 4.2.1");
    append(&file, "/notice released v4.2.1");
    append(&file, "/notice cve nope");
    append(&file, "Just a note, /reply is not on the first line.");
    run(&config);
    // Appending after our answers must not renumber the commands.
    append(&file, "Another note.");
    run(&config);

    let mails = outbox(dir);
    assert_eq!(mails.len(), 3, "ack, reply, notice: {mails:?}");
    let replies: Vec<&String> = mails.iter().filter(|m| m.contains("-reply-")).collect();
    assert_eq!(replies.len(), 2, "{mails:?}");
    let bodies: Vec<String> = replies
        .iter()
        .map(|m| std::fs::read_to_string(dir.join("outbox").join(m)).unwrap())
        .collect();
    assert!(bodies.iter().any(|b| b.contains("DIR-REPLY-TEXT")));
    assert!(bodies.iter().any(|b| b.contains("released in: v4.2.1")));
    for b in &bodies {
        assert!(header(b, "Subject").unwrap().contains(&tid));
        assert_eq!(header(b, "In-Reply-To"), Some("<dir-1@example.org>"));
        assert_eq!(header(b, "Auto-Submitted"), None);
    }

    let text = std::fs::read_to_string(&file).unwrap();
    let answers: Vec<&str> = text
        .split("\n\n---\n\n")
        .filter(|c| c.starts_with(&format!("<!-- secintake:{tid} command:")))
        .collect();
    assert_eq!(answers.len(), 3, "{text}");
    assert_eq!(answers.iter().filter(|a| a.contains("Not sent")).count(), 1);
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.contains("**not encrypted**"))
            .count(),
        2
    );
}
