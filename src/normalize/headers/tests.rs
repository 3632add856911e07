use mail_parser::MessageParser;

use super::{shown_text, Headers};

fn read(raw: &str) -> Headers {
    let m = MessageParser::default()
        .parse(raw.as_bytes())
        .expect("test message parses");
    Headers::read(&m)
}

#[test]
fn addresses_are_lowercased_and_reply_to_wins() {
    let h = read("From: Alice <Alice@Example.ORG>\r\nReply-To: <Bob@Example.org>\r\nSubject: x\r\n\r\nbody\r\n");
    assert_eq!(h.from.as_deref(), Some("alice@example.org"));
    assert_eq!(h.reply_to.as_deref(), Some("bob@example.org"));
    assert_eq!(h.reply_address().as_deref(), Some("bob@example.org"));
}

#[test]
fn threading_ids_are_read_from_both_headers() {
    let h = read(
        "From: a@example.org\r\nIn-Reply-To: <one@x>\r\nReferences: <zero@x> <one@x>\r\n\r\nb\r\n",
    );
    assert_eq!(h.in_reply_to, vec!["one@x".to_string()]);
    assert_eq!(
        h.references,
        vec!["zero@x".to_string(), "one@x".to_string()]
    );
    assert_eq!(h.referenced_ids().count(), 3);
}

#[test]
fn automatic_mail_signals() {
    let h = read("From: a@example.org\r\nList-Id: <sec.example.org>\r\nReturn-Path: <>\r\nX-Autoreply: yes\r\n\r\nb\r\n");
    assert!(h.list);
    assert!(h.null_return_path);
    assert!(h.vendor_autoreply);
    let plain = read("From: a@example.org\r\nReturn-Path: <a@example.org>\r\n\r\nb\r\n");
    assert!(!plain.list && !plain.null_return_path && !plain.vendor_autoreply);
}

#[test]
fn auto_response_suppress_alone_is_not_an_autoreply_marker() {
    let h = read("From: a@outlook.example\r\nX-Auto-Response-Suppress: All\r\n\r\nreport\r\n");
    assert!(!h.vendor_autoreply);
}

#[test]
fn multipart_report_is_recognised() {
    let h = read("From: mailer@example.org\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n");
    assert!(h.is_report);
}

#[test]
fn sender_controlled_values_are_bounded_and_cleaned() {
    let long = "x".repeat(5000);
    let h = read(&format!(
        "From: a@example.org\r\nAuto-Submitted: Auto-Replied\u{202e}evil\u{7}{long}\r\n\r\nb\r\n"
    ));
    let v = h.auto_submitted.expect("kept");
    assert!(v.chars().count() <= 200, "{} chars", v.chars().count());
    assert!(!v.contains('\u{202e}') && !v.contains('\u{7}'));
    assert!(v.starts_with("auto-replied"), "{v}");
    assert_eq!(shown_text("  a\tb\r\n c "), "a b c");
}
