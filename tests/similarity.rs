//! Related reports: the similarity method on both sides of its threshold
//! (checked against exact Jaccard similarity computed here independently),
//! identifier links, and the whole path on real servers: a new issue that
//! says "possibly related to #N" and a comment on #N.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::daemon::run_cli;
use common::*;
use secintake::classify::similarity::{fingerprint, resemble, text_similarity, Fingerprint};

/// The default `[dedupe] similar_text_percent`, as a fraction.
const THRESHOLD: f64 = 0.6;
const MIN_WORDS: usize = 20;
const KEY: &[u8] = b"test-key-0123456789abcdef0123456";

/// Exact Jaccard similarity of word 3-shingles, computed without the crate.
fn exact_jaccard(a: &str, b: &str) -> f64 {
    fn shingles(t: &str) -> BTreeSet<String> {
        let w: Vec<String> = t
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        w.windows(3).map(|s| s.join(" ")).collect()
    }
    let (x, y) = (shingles(a), shingles(b));
    x.intersection(&y).count() as f64 / x.union(&y).count() as f64
}

fn fp(text: &str) -> Fingerprint {
    fingerprint(text, KEY, MIN_WORDS, &[])
}

fn related(a: &str, b: &str) -> bool {
    resemble(&fp(a), &fp(b), THRESHOLD).is_some()
}

/// 100 distinct words; `changed` of them replaced, evenly spaced.
fn words_with_changes(changed: usize) -> String {
    let step = 100 / changed.max(1);
    (0..100)
        .map(|i| {
            if changed > 0 && i % step == step / 2 && i / step < changed {
                format!("other{i}")
            } else {
                format!("word{i}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn threshold_both_sides_on_controlled_texts() {
    let base = words_with_changes(0);
    let mut cases = 0;
    for (changed, expect) in [(2, true), (4, true), (14, false), (20, false)] {
        let variant = words_with_changes(changed);
        let exact = exact_jaccard(&base, &variant);
        // The cases sit clearly on one side: ≥ 0.15 (over 3 standard
        // errors of a 128-value MinHash) away from the threshold.
        assert!(
            (exact - THRESHOLD).abs() >= 0.15,
            "case {changed} too close to the threshold: {exact:.2}"
        );
        assert_eq!(
            exact >= THRESHOLD,
            expect,
            "case {changed}: exact {exact:.2}"
        );
        let estimate = text_similarity(&fp(&base), &fp(&variant));
        assert_eq!(
            related(&base, &variant),
            expect,
            "{changed} words changed: exact {exact:.2}, estimated {estimate:.2}"
        );
        cases += 1;
    }
    assert_eq!(cases, 4);
}

#[test]
fn estimate_tracks_exact_jaccard() {
    let base = words_with_changes(0);
    let mut worst: f64 = 0.0;
    let mut total = 0.0;
    let n = 30;
    for changed in 1..=n {
        let variant = words_with_changes(changed);
        let err =
            (text_similarity(&fp(&base), &fp(&variant)) - exact_jaccard(&base, &variant)).abs();
        worst = worst.max(err);
        total += err;
    }
    println!(
        "MinHash error over {n} pairs: mean {:.3}, worst {worst:.3}",
        total / n as f64
    );
    assert!(worst < 0.15, "worst error {worst:.3}");
    assert!(
        total / (n as f64) < 0.05,
        "mean error {:.3}",
        total / n as f64
    );
}

const REPORT: &str = "Hello security team,

I found a stored cross-site scripting issue in the notebook file browser. When a
directory name contains an HTML payload such as an image tag with an onerror
handler, the rename dialog inserts the name into the page without escaping it.
Any user who opens the file browser in a shared deployment then runs the
attacker's script in the context of the server origin, which lets the attacker
read the API token and act as that user. I reproduced it on the current release
with a default configuration by creating the directory through the contents API
and opening the tree view in a second browser session.

Best regards";

/// The same report, lightly edited by a second reporter.
const EDITED: &str = "Hi team,

I found a stored cross-site scripting issue in the notebook file browser. When a
directory name contains an HTML payload such as an image tag with an onerror
handler, the rename dialog inserts the name into the page without any escaping.
Any user who opens the file browser in a shared deployment then runs the
attacker's script in the context of the server origin, which lets the attacker
steal the API token and act as that user. I reproduced it on the latest release
with a default configuration by creating the directory through the contents API
and opening the tree view in another browser session.

Thanks";

/// Another bug, written from the same kind of template.
const DIFFERENT: &str = "Hello security team,

I found a server-side request forgery issue in the proxy extension. When a
request path contains a full URL with an internal host name, the handler
forwards the request to that host and returns its response. Any user who can
reach the proxy endpoint can read cloud metadata services and internal admin
pages, which exposes credentials of the deployment. I reproduced it on the
current release with a default configuration by requesting the metadata address
through the proxy in a logged-in browser session.

Best regards";

#[test]
fn real_reports_both_sides() {
    let edited = exact_jaccard(REPORT, EDITED);
    let different = exact_jaccard(REPORT, DIFFERENT);
    println!("edited copy: exact {edited:.2}; different bug, same template: exact {different:.2}");
    assert!(edited >= THRESHOLD + 0.1 && different <= THRESHOLD - 0.3);
    assert!(related(REPORT, EDITED), "edited copy not related");
    assert!(!related(REPORT, DIFFERENT), "different bug related");
}

#[test]
fn shared_identifiers_link_short_and_different_texts() {
    let a = "Heap overflow, see CVE-2026-31337 for the upstream library.";
    let b = "Is jupyter affected by cve-2026-31337? Our scanner flags it.";
    let c = "Another question, about CVE-2026-31338.";
    assert!(related(a, b), "same CVE ID not linked");
    assert!(!related(a, c), "different CVE IDs linked");
    assert!(related(
        "pip install jupyter_server==2.14.0 then open /api/contents",
        "Affected package: Jupyter-Server",
    ));
    assert!(related(
        "PoC: https://github.com/attacker/poc-repo/blob/main/x.py.",
        "reproduce with <https://www.github.com/Attacker/poc-repo/blob/main/x.py?raw=1#L3>",
    ));
    // A bare host, or an identifier the operator ignores, links nothing.
    assert!(!related(
        "see https://example.org/",
        "also https://example.org"
    ));
    let ignore = vec!["https://jupyter.org/security".to_string()];
    let x = fingerprint(
        "per https://jupyter.org/security I report A",
        KEY,
        MIN_WORDS,
        &ignore,
    );
    let y = fingerprint(
        "per https://jupyter.org/security/ I report B",
        KEY,
        MIN_WORDS,
        &ignore,
    );
    assert!(resemble(&x, &y, THRESHOLD).is_none(), "ignored URL linked");
    // Short texts are not compared by text, however alike.
    assert!(!related("see attached file", "see attached file please"));
}

/// Files five reports on real servers: an edited copy from another reporter
/// is linked both ways; a different bug on the same template is not; two
/// different texts naming one CVE ID are linked.
#[test]
fn related_reports_get_their_own_issue_and_a_link_both_ways() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    let bob = "bob@example.test";
    let send = |from: &str, subject: &str, mid: &str, body: &str| {
        env.deliver(&mail::plain(
            from,
            subject,
            mid,
            &body.replace('\n', "\r\n"),
        ));
    };
    send(
        REPORTER,
        "XSS in file browser",
        "<sim-1@example.test>",
        &format!("SIM-A\n{REPORT}"),
    );
    send(
        bob,
        "Stored XSS",
        "<sim-2@example.test>",
        &format!("SIM-B\n{EDITED}"),
    );
    send(
        bob,
        "SSRF in proxy",
        "<sim-3@example.test>",
        &format!("SIM-C\n{DIFFERENT}"),
    );
    send(
        REPORTER,
        "Heap overflow",
        "<sim-4@example.test>",
        "SIM-D the bundled parser has CVE-2026-31337 (heap overflow).",
    );
    send(
        bob,
        "Scanner finding",
        "<sim-5@example.test>",
        "SIM-E our scanner reports cve-2026-31337 in your image, is it exploitable?",
    );
    let (code, out) = run_cli(&["--config", env.config.to_str().unwrap(), "run", "--once"]);
    assert_eq!(code, 0, "{out}");

    let issues = env.github.issues(REPO);
    assert_eq!(
        issues.len(),
        5,
        "every report, related or not, gets its own issue"
    );
    let by = |tag: &str| issues.iter().find(|i| i.body.contains(tag)).expect(tag);
    let (a, b, c, d, e) = (
        by("SIM-A"),
        by("SIM-B"),
        by("SIM-C"),
        by("SIM-D"),
        by("SIM-E"),
    );

    assert!(
        b.body
            .contains(&format!("Possibly related to #{}", a.number)),
        "{}",
        b.body
    );
    assert!(b.body.contains("similar text"), "{}", b.body);
    assert_eq!(a.comments.len(), 1, "{:#?}", a.comments);
    assert!(a.comments[0].contains(&format!("#{}", b.number)));
    assert!(a.comments[0].starts_with("<!-- secintake:"), "marker first");

    assert!(!c.body.contains("Possibly related"), "{}", c.body);
    assert!(c.comments.is_empty());

    assert!(
        e.body
            .contains(&format!("Possibly related to #{}", d.number)),
        "{}",
        e.body
    );
    assert!(
        e.body.contains("same CVE ID") && e.body.contains("CVE-2026-31337"),
        "{}",
        e.body
    );
    assert_eq!(d.comments.len(), 1);

    // Each reporter is acknowledged for their own report.
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 2, Duration::from_secs(60));
    env.wait_mailbox(bob, "bobpw", "INBOX", 3, Duration::from_secs(60));
}
