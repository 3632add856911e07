//! Mail from the team (`[instance] team_addresses`, and our own addresses
//! when the mail is not one of ours): never acknowledged, never a new
//! report of its own.
//!
//! * With a report's references (In-Reply-To/References naming the report,
//!   our mail about it or anything threaded to it, or its tracking ID in
//!   the subject) it is a [`Kind::TeamComment`](crate::record::Kind): a
//!   comment marked "from the team" on the report's issue, which counts as
//!   a coordinator's response for the reminders.
//! * A report the team member received directly and forwards (a
//!   `message/rfc822` attachment, or an inline "Forwarded message" /
//!   "Original Message" block) is filed as a new report under the
//!   forwarded message's sender ([`forwarded_sender`]), acknowledged only
//!   with `[instance] acknowledge_team_forwards`.
//! * Anything else is recorded (`Kind::Team`) and shown in `status`.
//!
//! Our own acknowledgements and replies coming back are not team mail:
//! they carry our Message-IDs and are dropped first
//! ([`super::classify`]), so nothing loops.

use mail_parser::MessageParser;

use crate::normalize::Opened;

/// The reason recorded for team mail that is neither a comment nor a
/// forward.
pub const UNTHREADED: &str = "no report's references and no forwarded report";

/// The sender of the report a message forwards: the `From:` of its first
/// attached message, else of the first inline forward block in its text.
pub fn forwarded_sender(opened: &Opened) -> Option<String> {
    let attached = opened.attachments.iter().find(|a| {
        let ct = a.content_type.to_ascii_lowercase();
        ct.starts_with("message/rfc822") || ct.starts_with("message/global")
    });
    if let Some(a) = attached {
        let from = MessageParser::default()
            .parse_headers(&a.data)
            .and_then(|m| {
                m.from()
                    .and_then(|f| f.first())
                    .and_then(|f| f.address())
                    .map(str::to_string)
            })
            .and_then(|f| address_in(&f));
        if from.is_some() {
            return from;
        }
    }
    let forward_subject = opened.subject.as_deref().is_some_and(is_forward_subject);
    inline_forward_sender(&opened.text, forward_subject)
}

/// `Fwd:`, `Fw:` or `FW:` first: the writer's client forwarded.
fn is_forward_subject(subject: &str) -> bool {
    let s = subject.trim_start().to_ascii_lowercase();
    s.starts_with("fwd:") || s.starts_with("fw:")
}

/// Whether a line starts an inline forward: Gmail's "---------- Forwarded
/// message ---------", Thunderbird's "-------- Forwarded Message --------";
/// and, only under a `Fwd:`/`FW:` subject, Thunderbird's "-------- Original
/// Message --------" and Outlook's "-----Original Message-----" (which
/// both also head the quote of an ordinary reply).
fn is_forward_marker(line: &str, forward_subject: bool) -> bool {
    let l = line.trim().to_ascii_lowercase();
    l.starts_with("-----")
        && (l.contains("forwarded message") || (forward_subject && l.contains("original message")))
}

/// The `From:` of the first inline forward block (within the block's
/// first ten lines).
fn inline_forward_sender(text: &str, forward_subject: bool) -> Option<String> {
    let mut lines = text.lines();
    lines
        .by_ref()
        .find(|l| is_forward_marker(l, forward_subject))?;
    lines.take(10).find_map(|l| {
        let l = l.trim().trim_start_matches('>').trim();
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("from")
            .then(|| address_in(value))
            .flatten()
    })
}

/// The address in a header-like value: `<a@b>`, `[mailto:a@b]`, or the
/// first word with an `@`; lower case.
fn address_in(value: &str) -> Option<String> {
    let v = value.trim();
    let inner = if let (Some(a), Some(b)) = (v.rfind('<'), v.rfind('>')) {
        v.get(a + 1..b)
    } else if let Some(i) = v.to_ascii_lowercase().find("mailto:") {
        v.get(i + 7..).map(|r| r.split(']').next().unwrap_or(r))
    } else {
        v.split_whitespace().find(|w| w.contains('@'))
    }?;
    let a = inner
        .trim()
        .trim_matches(|c: char| "\"'()[],;".contains(c))
        .to_ascii_lowercase();
    let ok = a.matches('@').count() == 1
        && a.rsplit_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
        && !a
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>".contains(c));
    ok.then_some(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;
    use crate::normalize::Attachment;

    fn with_text(text: &str) -> Opened {
        let mut o =
            crate::normalize::headers_only(b"From: carol@jupyter.org\r\n\r\n", &Limits::default());
        o.text = text.into();
        o.subject = Some("Fwd: XSS".into());
        o
    }

    #[test]
    fn inline_forwards_of_the_common_clients() {
        for (marker, from) in [
            (
                "---------- Forwarded message ---------",
                "From: Dave Reporter <Dave@Example.net>",
            ),
            (
                "-------- Forwarded Message --------",
                "From: \"Dave\" <dave@example.net>",
            ),
            (
                "-------- Original Message --------",
                "From: dave@example.net",
            ),
            (
                "-----Original Message-----",
                "From: Dave [mailto:dave@example.net]",
            ),
        ] {
            let text = format!("FYI, this came to me directly.\n\n{marker}\n{from}\nDate: Mon, 1 Dec 2026\nSubject: XSS\nTo: carol@jupyter.org\n\nThe report.");
            assert_eq!(
                forwarded_sender(&with_text(&text)).as_deref(),
                Some("dave@example.net"),
                "{marker}"
            );
        }
    }

    #[test]
    fn an_outlook_reply_quoting_original_message_is_not_a_forward() {
        for marker in [
            "-----Original Message-----",
            "-------- Original Message --------",
        ] {
            let text = format!("Thanks, we are on it.\n\n{marker}\nFrom: dave@example.net\nSubject: XSS\n\nThe report.");
            let mut o = with_text(&text);
            o.subject = Some("RE: XSS".into());
            assert_eq!(forwarded_sender(&o), None, "{marker}");
        }
    }

    #[test]
    fn a_reply_quoting_a_report_is_not_a_forward() {
        let text = "Thanks, we are looking.\n\nOn Mon, Dave <dave@example.net> wrote:\n> From: dave@example.net\n> The report.";
        assert_eq!(forwarded_sender(&with_text(text)), None);
        // A marker without a From line within the block.
        assert_eq!(
            forwarded_sender(&with_text("----- Forwarded message -----\n\nno header")),
            None
        );
    }

    #[test]
    fn attached_message_sender() {
        let mut o = with_text("see attached");
        o.attachments.push(Attachment::new(
            "report.eml".into(),
            "message/rfc822".into(),
            b"From: Erin <Erin@Example.net>\r\nSubject: x\r\n\r\nreport\r\n".to_vec(),
            false,
        ));
        assert_eq!(forwarded_sender(&o).as_deref(), Some("erin@example.net"));
    }
}
