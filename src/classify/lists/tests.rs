//! Our lists' copies, with the headers Google Groups and Mailman 3 write
//! (the full sets are in `tests/common/channels.rs`).

use super::*;
use crate::config::{Channels, Limits};

const OWN: &[&str] = &["security@ipython.org"];

fn channels() -> Channels {
    Channels {
        list_ids: vec![
            "security.ipython.org".into(),
            "security.lists.jupyter.org".into(),
        ],
        ..Channels::default()
    }
}

fn opened(headers: &str, text: &str) -> Opened {
    let raw = format!("{headers}Subject: x\r\nMessage-ID: <m1@example.org>\r\n\r\nbody\r\n");
    let mut o = crate::normalize::headers_only(raw.as_bytes(), &Limits::default());
    o.text = text.to_string();
    o
}

fn own() -> Vec<String> {
    OWN.iter().map(|s| s.to_string()).collect()
}

const GOOGLE: &str = "From: \"'Alice Example' via Jupyter Security\" <security@ipython.org>\r\nReply-To: Alice Example <alice@example.org>\r\nX-Original-Sender: alice@example.org\r\nPrecedence: list\r\nMailing-list: list security@ipython.org; contact security+owners@ipython.org\r\nList-ID: <security.ipython.org>\r\nList-Post: <https://groups.google.com/a/ipython.org/group/security/post>, <mailto:security@ipython.org>\r\n";

const MAILMAN: &str = "From: Alice Example via Security <security@lists.jupyter.org>\r\nReply-To: Alice Example <alice@example.org>\r\nX-MailFrom: alice@example.org\r\nX-Mailman-Version: 3.3.9\r\nPrecedence: list\r\nList-Id: Security <security.lists.jupyter.org>\r\nList-Post: <mailto:security@lists.jupyter.org>\r\n";

#[test]
fn google_groups_copy_with_rewritten_from() {
    let mut o = opened(GOOGLE, "the report");
    assert!(o.headers.list);
    assert_eq!(
        apply(&mut o, &own(), &channels()).as_deref(),
        Some("security.ipython.org")
    );
    assert!(!o.headers.list);
    assert_eq!(o.headers.precedence, None);
    assert_eq!(o.headers.from.as_deref(), Some("alice@example.org"));
    assert!(super::super::automatic_reason(&o, &own()).is_none());
}

#[test]
fn mailman_copy_with_rewritten_from() {
    let mut o = opened(MAILMAN, "the report");
    assert!(apply(&mut o, &own(), &channels()).is_some());
    assert_eq!(o.headers.from.as_deref(), Some("alice@example.org"));
    assert!(super::super::automatic_reason(&o, &own()).is_none());
}

#[test]
fn group_replying_to_itself_recovers_from_x_original_sender() {
    // "Reply to the group" setting: Reply-To is the list, not the writer.
    let h = GOOGLE.replace(
        "Reply-To: Alice Example <alice@example.org>",
        "Reply-To: Jupyter Security <security@ipython.org>",
    );
    let mut o = opened(&h, "x");
    apply(&mut o, &own(), &channels());
    assert_eq!(o.headers.from.as_deref(), Some("alice@example.org"));
    assert_eq!(o.headers.reply_to, None);
}

#[test]
fn x_original_from_comes_first() {
    let h = format!("X-Original-From: Alice <alice@work.example>\r\n{GOOGLE}");
    let mut o = opened(&h, "x");
    apply(&mut o, &own(), &channels());
    assert_eq!(o.headers.from.as_deref(), Some("alice@work.example"));
}

#[test]
fn rewritten_without_a_writer_has_no_reply_address() {
    let h = "From: \"'Alice' via Jupyter Security\" <security@ipython.org>\r\nList-Id: <security.ipython.org>\r\n";
    let mut o = opened(h, "x");
    apply(&mut o, &own(), &channels());
    assert_eq!(o.headers.from, None);
    assert!(
        o.notes.iter().any(|n| n.contains("named no writer")),
        "{:?}",
        o.notes
    );
}

#[test]
fn unrewritten_copy_keeps_its_from() {
    let h = "From: Bob <bob@example.net>\r\nList-Id: Security <security.lists.jupyter.org>\r\nPrecedence: list\r\n";
    let mut o = opened(h, "x");
    apply(&mut o, &own(), &channels());
    assert_eq!(o.headers.from.as_deref(), Some("bob@example.net"));
}

#[test]
fn foreign_lists_are_untouched() {
    let h = "From: bob@example.net\r\nList-Id: Jupyter dev <jupyter.googlegroups.com>\r\n";
    let mut o = opened(h, "x");
    assert_eq!(apply(&mut o, &own(), &channels()), None);
    assert!(o.headers.list);
    assert!(super::super::automatic_reason(&o, &own()).is_some());
    // Nor is a list whose id merely contains ours.
    let h = "From: bob@example.net\r\nList-Id: <xsecurity.ipython.org>\r\n";
    assert_eq!(apply(&mut opened(h, "x"), &own(), &channels()), None);
}

#[test]
fn footers_are_cut() {
    let google = "The report.\n\n-- \nYou received this message because you are subscribed to the Google Groups \"Jupyter Security\" group.\nTo unsubscribe from this group and stop receiving emails from it, send an email to security+unsubscribe@ipython.org.\nTo view this discussion visit https://groups.google.com/a/ipython.org/d/msgid/security/x.\n";
    assert_eq!(without_footer(google).as_deref(), Some("The report."));
    let mailman = "The report.\n_______________________________________________\nSecurity mailing list -- security@lists.jupyter.org\nTo unsubscribe send an email to security-leave@lists.jupyter.org\n";
    assert_eq!(without_footer(mailman).as_deref(), Some("The report."));
    // Text after the footer-like lines: not a footer, nothing cut.
    let quoted = "You received this message because you are subscribed to the Google Groups x.\nBut here is my report, which goes on.\n";
    assert_eq!(without_footer(quoted), None);
    assert_eq!(without_footer("no footer"), None);
}

#[test]
fn list_address_from_the_list_id() {
    assert_eq!(
        list_address("security.ipython.org").as_deref(),
        Some("security@ipython.org")
    );
    assert_eq!(
        list_address("security.lists.jupyter.org").as_deref(),
        Some("security@lists.jupyter.org")
    );
    assert_eq!(list_address("localhost"), None);
    assert_eq!(list_address("a.b"), None);
}

/// An outsider mailing us directly with our List-Id, a "via" name and
/// someone else's X-Original-From is not rewritten: the From address is
/// neither the list's nor ours, so the writer stays the outsider.
#[test]
fn a_forged_list_copy_keeps_its_real_sender() {
    let h = "From: \"x via Security\" <mallory@evil.example>\r\nX-Original-From: carol@jupyter.org\r\nReply-To: victim@example.org\r\nList-Id: <security.ipython.org>\r\nList-Post: <mailto:mallory@evil.example>\r\n";
    let mut o = opened(h, "text");
    apply(&mut o, &own(), &channels());
    assert_eq!(o.headers.from.as_deref(), Some("mallory@evil.example"));
}
