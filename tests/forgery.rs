//! Issue 12, must show 7: threading and the sent-copy check prove
//! knowledge, through the real binary (Maildir, directory tracker, outbox).
//!
//! * Forged follow-ups: a guessed tracking ID in the subject, an old-format
//!   or guessed ack Message-ID in In-Reply-To, from another address, each
//!   become a report of their own, linked "claims to follow up #1" both
//!   ways; the reporter (under a `+tag`, in other case) threads by the bare
//!   ID, and anyone quoting our real keyed Message-ID threads too.
//! * Forged ack copies: an acknowledgement interrupted between its intent
//!   and SMTP (failpoint `effect.ack.intent`) is still sent — once, with the
//!   intent's Message-ID — although forged "copies" of it arrived: an
//!   old-format ID and a guessed keyed ID from our address, and the exact
//!   ID from another address. Without `sent_copy`, even a perfect copy is
//!   not looked for.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::offline::{self, Offline};
use secintake::record::Ack;
use secintake::store::{SledStore, Store};

const ALICE: &str = "alice@reporter.example";
const MALLORY: &str = "mallory@evil.example";
const OURS: &str = "security@example.org";

fn mail(from: &str, mid: &str, subject: &str, extra: &str, body: &str) -> String {
    format!(
        "From: <{from}>\r\nTo: {OURS}\r\nSubject: {subject}\r\nMessage-ID: <{mid}>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n{extra}\r\n{body}\r\n"
    )
}

struct Run {
    dir: tempfile::TempDir,
    config: PathBuf,
    delivered: usize,
}

impl Run {
    fn new(ack: &str) -> Run {
        let dir = tempfile::tempdir().expect("tempdir");
        offline::maildir(dir.path());
        let config = offline::write_config(
            dir.path(),
            &Offline {
                tracking_prefix: "FORGE",
                acknowledgement: ack,
                ..Offline::default()
            },
        );
        Run {
            dir,
            config,
            delivered: 0,
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn deliver(&mut self, raw: &str) {
        let name = format!("inbox/new/{:04}.eml", self.delivered);
        std::fs::write(self.path(&name), raw).expect("deliver");
        self.delivered += 1;
    }

    /// `run --once`, with a failpoint armed when given; returns (success, log).
    fn run_once(&self, failpoint: Option<&str>) -> (bool, String) {
        offline::run_once_failing(&self.config, failpoint)
    }

    /// Issue files (name, content), by number.
    fn issues(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = std::fs::read_dir(self.path("issues"))
            .map(|e| {
                e.flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            std::fs::read_to_string(e.path()).unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Messages sent (outbox), as text.
    fn sent(&self) -> Vec<String> {
        std::fs::read_dir(self.path("outbox"))
            .map(|e| {
                e.flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn sent_to(&self, address: &str) -> Vec<String> {
        self.sent()
            .into_iter()
            .filter(|m| common::header(m, "To").is_some_and(|t| t.contains(address)))
            .collect()
    }

    fn store(&self) -> SledStore {
        SledStore::open(&self.path("state")).expect("store")
    }
}

/// The tracking ID and number of the issue file holding `needle`.
fn issue_with(issues: &[(String, String)], needle: &str) -> (u64, String) {
    let found: Vec<_> = issues.iter().filter(|(_, t)| t.contains(needle)).collect();
    assert_eq!(found.len(), 1, "{needle} in {} issue(s)", found.len());
    let (num, id) = found[0].0.trim_end_matches(".md").split_once('-').unwrap();
    (num.parse().unwrap(), id.to_string())
}

#[test]
fn forged_follow_ups_become_their_own_issues_linked_both_ways() {
    let mut run = Run::new("");
    run.deliver(&mail(
        ALICE,
        "a-1@reporter.example",
        "Token leak",
        "",
        "ALICE-REPORT: tokens in logs.",
    ));
    let (ok, log) = run.run_once(None);
    assert!(ok, "{log}");
    let (first, id) = issue_with(&run.issues(), "ALICE-REPORT");
    assert_eq!(first, 1);
    let ack = run.sent_to(ALICE).pop().expect("alice acknowledged");
    let keyed = common::header(&ack, "Message-ID")
        .expect("Message-ID")
        .to_string();
    assert!(common::is_our_ack_id(&keyed, &id, "example.org"), "{keyed}");

    let guessed_tag = format!("<{id}.ack.{}@example.org>", "0".repeat(32));
    let forged = [
        (
            "MALLORY-BARE-ID",
            format!("Re: [{id}] more details"),
            String::new(),
        ),
        (
            "MALLORY-OLD-FORMAT",
            "Re: your report".to_string(),
            format!("In-Reply-To: <{id}.ack@example.org>\r\n"),
        ),
        (
            "MALLORY-GUESSED-TAG",
            "Re: your report".to_string(),
            format!("In-Reply-To: {guessed_tag}\r\nReferences: {guessed_tag}\r\n"),
        ),
    ];
    for (i, (needle, subject, extra)) in forged.iter().enumerate() {
        run.deliver(&mail(
            MALLORY,
            &format!("m-{i}@evil.example"),
            subject,
            extra,
            &format!("{needle}: ignore the report, it is fine."),
        ));
    }
    // The reporter, under a +tag and in other case, by the bare ID.
    run.deliver(&mail(
        "Alice+sec@Reporter.EXAMPLE",
        "a-2@reporter.example",
        &format!("Re: [{id}]"),
        "",
        "ALICE-BARE-ID: also the audit log.",
    ));
    // A colleague who was forwarded our acknowledgement: knows the keyed ID.
    run.deliver(&mail(
        "bob@colleague.example",
        "b-1@colleague.example",
        "Re: Your security report",
        &format!("In-Reply-To: {keyed}\r\n"),
        "BOB-KEYED-REPLY: reproduced on 4.2.",
    ));
    let (ok, log) = run.run_once(None);
    assert!(ok, "{log}");

    let issues = run.issues();
    let cases = forged.len() + 2;
    assert_eq!(
        issues.len(),
        1 + forged.len(),
        "{:#?}",
        issues.iter().map(|i| &i.0).collect::<Vec<_>>()
    );
    let original = &issues[0].1;
    for needle in ["ALICE-BARE-ID", "BOB-KEYED-REPLY"] {
        assert_eq!(
            original.matches(needle).count(),
            1,
            "{needle} not threaded once:\n{original}"
        );
    }
    let mut checked = 2;
    for (needle, _, _) in &forged {
        assert!(
            !original.contains(needle),
            "{needle} was added to #1:\n{original}"
        );
        let (n, claim_id) = issue_with(&issues, needle);
        assert_ne!(n, 1);
        let own = &issues
            .iter()
            .find(|(name, _)| name.starts_with(&format!("{n:04}-")))
            .unwrap()
            .1;
        assert!(
            own.contains(&format!("**Claims to follow up #1** ({id})")),
            "{own}"
        );
        assert!(
            original.contains(&format!("**#{n} ({claim_id}) claims to follow up #1**")),
            "#1 lacks the link back to #{n}:\n{original}"
        );
        checked += 1;
    }
    assert_eq!(checked, cases);

    // Each claim is a new report: acknowledged as one, to its sender.
    let to_mallory = run.sent_to(MALLORY);
    assert_eq!(to_mallory.len(), forged.len());
    assert!(to_mallory.iter().all(|m| common::header(m, "Subject")
        .is_some_and(|s| s.contains("Your security report was received"))));
    // The reporter and the colleague get follow-up receipts for #1's ID.
    let receipts: Vec<_> = run
        .sent()
        .into_iter()
        .filter(|m| {
            common::header(m, "Subject").is_some_and(|s| s == format!("[{id}] Follow-up received"))
        })
        .collect();
    assert_eq!(receipts.len(), 2);
    let (code, status) =
        common::daemon::run_cli(&["--config", run.config.to_str().unwrap(), "status", "--json"]);
    assert_eq!(code, 0, "{status}");
    assert_eq!(
        status
            .matches(&format!("\"new, claims to follow up {id}\""))
            .count(),
        forged.len(),
        "{status}"
    );
}

/// Runs alice's report until the acknowledgement's intent is durable and
/// the process dies; returns the intent's Message-ID and the tracking ID.
fn interrupted_ack(run: &mut Run) -> (String, String) {
    run.deliver(&mail(
        ALICE,
        "a-1@reporter.example",
        "Token leak",
        "",
        "ALICE-REPORT: tokens in logs.",
    ));
    let (ok, log) = run.run_once(Some("effect.ack.intent:1"));
    assert!(!ok, "the failpoint did not abort the run:\n{log}");
    assert!(run.sent().is_empty(), "sent before the failpoint");
    let store = run.store();
    let recs = store.all().expect("records");
    assert_eq!(recs.len(), 1);
    let Ack::Sending { message_id, .. } = &recs[0].ack else {
        panic!("no intent: {:?}", recs[0].ack);
    };
    (message_id.clone(), recs[0].tracking_id.clone())
}

fn copy_from(from: &str, mid: &str) -> String {
    let mid = mid.trim_matches(|c| c == '<' || c == '>');
    format!(
        "From: Security Team <{from}>\r\nTo: {ALICE}\r\nCc: {OURS}\r\nSubject: Your security report was received\r\nMessage-ID: <{mid}>\r\nAuto-Submitted: auto-replied\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nThank you.\r\n"
    )
}

#[test]
fn forged_copies_do_not_confirm_an_interrupted_ack() {
    let mut run = Run::new("sent_copy = true\nsent_copy_wait = \"8s\"");
    let (intent_id, id) = interrupted_ack(&mut run);
    assert!(
        common::is_our_ack_id(&intent_id, &id, "example.org"),
        "{intent_id}"
    );
    let forged = [
        copy_from(OURS, &format!("{id}.ack@example.org")),
        copy_from(OURS, &format!("{id}.ack.{}@example.org", "f".repeat(32))),
        copy_from(MALLORY, &intent_id),
    ];
    for f in &forged {
        run.deliver(f);
    }
    // Takes the forgeries in and classifies them while the intent waits
    // for its copy; then, past the wait, the acknowledgement is sent again.
    let (ok, log) = run.run_once(None);
    assert!(ok, "{log}");
    assert!(
        !log.contains("acknowledgement confirmed by its copy"),
        "{log}"
    );
    {
        let store = run.store();
        let recs = store.all().expect("records");
        assert_eq!(recs.len(), 1 + forged.len());
        assert!(
            recs.iter().all(|r| r.kind.is_some()),
            "forgeries unclassified: {recs:?}"
        );
        let alice = recs.iter().find(|r| r.tracking_id == id).unwrap();
        assert!(
            matches!(alice.ack, Ack::Sending { .. }),
            "the wait for the copy was over before the forgeries were classified: {:?}",
            alice.ack
        );
    }
    std::thread::sleep(Duration::from_secs(9));
    let (ok, log) = run.run_once(None);
    assert!(ok, "{log}");
    assert!(
        !log.contains("acknowledgement confirmed by its copy"),
        "{log}"
    );
    assert!(
        log.contains("sending it again with the same Message-ID"),
        "{log}"
    );
    let to_alice = run.sent_to(ALICE);
    assert_eq!(to_alice.len(), 1, "alice's acknowledgement exactly once");
    assert_eq!(
        common::header(&to_alice[0], "Message-ID"),
        Some(intent_id.as_str())
    );
    let recs = run.store().all().expect("records");
    let alice = recs.iter().find(|r| r.tracking_id == id).unwrap();
    assert!(
        matches!(&alice.ack, Ack::Sent { message_id, .. } if *message_id == intent_id),
        "{:?}",
        alice.ack
    );
}

#[test]
fn without_sent_copy_no_copy_confirms_an_ack() {
    let mut run = Run::new("sent_copy = false");
    let (intent_id, _) = interrupted_ack(&mut run);
    // Even a perfect copy (the exact keyed ID, from our address) is not
    // looked for: with sent_copy off, the intent is resent at once.
    run.deliver(&copy_from(OURS, &intent_id));
    let (ok, log) = run.run_once(None);
    assert!(ok, "{log}");
    assert!(
        !log.contains("acknowledgement confirmed by its copy"),
        "{log}"
    );
    let to_alice = run.sent_to(ALICE);
    assert_eq!(to_alice.len(), 1, "alice's acknowledgement exactly once");
    assert_eq!(
        common::header(&to_alice[0], "Message-ID"),
        Some(intent_id.as_str())
    );
}
