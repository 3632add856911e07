//! Our own mailing lists as an intake channel, on real servers (Dovecot,
//! Postfix → LMTP → Dovecot, the GitHub fake), through the daemon binary
//! (`run --once`): a report delivered directly, as a Google Groups copy
//! with `From:` rewritten for DMARC, or as a Mailman 3 copy is filed once
//! and acknowledged once, to its writer; the three copies of one message
//! are one report. A foreign list's mail stays automatic. The literal
//! header sets are in `tests/common/channels.rs`.

mod common;

use common::channels::*;
use common::*;

#[test]
fn list_copies_are_reports_answered_to_their_writer() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    configure(
        &env,
        &format!("list_ids = [\"{LIST_GOOGLE}\", \"<{LIST_MAILMAN}>\"]"),
        "",
    );
    let alice = ("Alice Example", REPORTER);
    let body = |n: u32| format!("REPORT-{n}: the file API follows symlinks out of the root ({n}).");
    let mid = |n: u32| format!("<list-report-{n}@example.test>");
    // (a) directly, (b) Google Groups only, (c) Mailman 3 only, and one
    // report by all three ways.
    env.deliver(&direct(
        alice.0,
        alice.1,
        &mid(1),
        "Report one",
        "",
        &body(1),
    ));
    env.deliver(&via_list(
        GOOGLE_HEADERS,
        GOOGLE_FOOTER,
        alice,
        &mid(2),
        "Report two",
        "",
        &body(2),
    ));
    env.deliver(&via_list(
        MAILMAN_HEADERS,
        MAILMAN_FOOTER,
        alice,
        &mid(3),
        "Report three",
        "",
        &body(3),
    ));
    env.deliver(&direct(
        alice.0,
        alice.1,
        &mid(4),
        "Report four",
        "",
        &body(4),
    ));
    env.deliver(&via_list(
        GOOGLE_HEADERS,
        GOOGLE_FOOTER,
        alice,
        &mid(4),
        "Report four",
        "",
        &body(4),
    ));
    env.deliver(&via_list(
        MAILMAN_HEADERS,
        MAILMAN_FOOTER,
        alice,
        &mid(4),
        "Report four",
        "",
        &body(4),
    ));
    // A foreign list (the same googlegroups List-Id as tests/rfc3834.rs).
    env.deliver(
        &String::from_utf8(direct(
            "Bob",
            "bob@reporter.example",
            "<dev-1@reporter.example>",
            "Release 4.2",
            "",
            "Release notes.",
        ))
        .unwrap()
        .replacen(
            "MIME-Version",
            "List-Id: Jupyter dev <jupyter.googlegroups.com>\r\nPrecedence: list\r\nMIME-Version",
            1,
        )
        .into_bytes(),
    );
    run_once(&env);

    let issues = env.wait_issues(4, WAIT);
    assert_eq!(issues.len(), 4, "one issue per report");
    for n in 1..=4 {
        let issue = issue_with(&issues, &format!("REPORT-{n}:"));
        assert!(
            issue.body.contains(REPORTER),
            "reporter shown: {}",
            issue.body
        );
        assert!(
            !issue.body.contains("security@lists.example.test |"),
            "{}",
            issue.body
        );
        for footer in [
            "You received this message",
            "mailing list --",
            "unsubscribe",
        ] {
            assert!(!issue.body.contains(footer), "footer kept: {}", issue.body);
        }
        assert!(
            issue.comments.is_empty(),
            "REPORT-{n}: {:?}",
            issue.comments
        );
    }
    assert!(issue_with(&issues, "REPORT-2:")
        .body
        .contains("received through our mailing list"));

    let acks = acks_settled(&env, 4);
    assert_eq!(acks.len(), 4, "one acknowledgement per report");
    for a in &acks {
        let to = header(&text(a), "To").unwrap_or("").to_ascii_lowercase();
        assert!(to.contains(REPORTER), "{to}");
    }

    let records = status(&env);
    assert_eq!(records.len(), 7);
    let k = kinds(&records);
    assert_eq!(k.iter().filter(|k| *k == "new").count(), 4, "{k:?}");
    assert_eq!(
        k.iter().filter(|k| k.starts_with("duplicate of")).count(),
        2,
        "{k:?}"
    );
    let foreign: Vec<_> = records
        .iter()
        .filter(|r| r["kind"].as_str().unwrap().starts_with("automatic"))
        .collect();
    assert_eq!(foreign.len(), 1, "{k:?}");
    assert_eq!(
        foreign[0]["kind"],
        "automatic (mailing-list traffic (List-* headers))"
    );
    assert_eq!(
        foreign[0]["ack"],
        "not sent: automatic mail: mailing-list traffic (List-* headers)"
    );
}
