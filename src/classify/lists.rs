//! Our own mailing lists (`[instance] list_ids`): a copy of a report that
//! reached the inbox through one of them is a report like any other, not
//! list traffic, and is answered to the person who wrote it.
//!
//! A list's copy carries `List-Id:` and `Precedence: list`, which make any
//! other list's traffic automatic mail ([`super::automatic_reason`]). For
//! our lists, [`apply`] clears those marks, and when the list rewrote
//! `From:` to its own address (DMARC mitigation: Google Groups writes
//! `"'Alice' via Security" <security@…>`, Mailman 3 `"Alice via Security"
//! <security@lists…>`) it recovers the writer from, in this order,
//! `X-Original-From:`, `Reply-To:` (both Google Groups and Mailman 3 put
//! the original `From:` there unless the list is set to take replies
//! itself) and `X-Original-Sender:` (Google Groups). A `Reply-To:` naming
//! the list or one of our addresses is the list's reply setting, not the
//! writer's wish, and is dropped. A rewritten copy that names no writer is
//! still filed, without a reply address.
//!
//! Why trusting those headers is no worse than trusting `From:`: they are
//! read only when the `From:` address is the list's own (spelled by our
//! configured List-Id: `security.ipython.org` → `security@ipython.org`)
//! or one of ours — never on a "via" display name, which anybody can
//! write — and mail that forges our own domain's `From:` from outside
//! fails DMARC at our MX when the domain publishes a policy. The recovered
//! address then goes through the usual rule ([`super::reporter_address`]).
//!
//! The footer the list appends (Google Groups' "You received this message
//! because…", Mailman 3's "… mailing list -- …") is cut from the text, so
//! the list's copy and a direct copy of the same message have the same
//! normalised text and the second is recognised as a duplicate.

use crate::config::Channels;
use crate::normalize::{Headers, Opened};

/// The List-Id of `h` when it is one of ours.
pub fn ours<'a>(h: &Headers, channels: &'a Channels) -> Option<&'a str> {
    let id = h.list_copy.list_id.as_deref()?;
    channels
        .list_ids
        .iter()
        .find(|o| o.eq_ignore_ascii_case(id))
        .map(String::as_str)
}

/// Whether `a` is the list's own address or one of ours.
fn list_or_own(a: &str, h: &Headers, own: &[String]) -> bool {
    own.iter().any(|o| o.eq_ignore_ascii_case(a))
        || h.list_copy
            .list_post
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case(a))
}

/// The list's own address as its List-Id spells it: `security.ipython.org`
/// → `security@ipython.org` (how Google Groups and Mailman 3 name a list).
fn list_address(list_id: &str) -> Option<String> {
    let (local, domain) = list_id.split_once('.')?;
    (!local.is_empty() && domain.contains('.')).then(|| format!("{local}@{domain}"))
}

/// Whether the list rewrote `From:` to its own address (named by our
/// configured List-Id) or to one of ours. Only then is the writer taken
/// from other headers: those addresses are our domains, which DMARC
/// protects, while a display name ("X via Security"), `List-Post` or
/// `X-Original-From` are anybody's to write.
fn from_rewritten(h: &Headers, own: &[String], list_id: &str) -> bool {
    let list = list_address(list_id);
    h.from.as_deref().is_some_and(|f| {
        own.iter().any(|o| o.eq_ignore_ascii_case(f))
            || list.as_deref().is_some_and(|l| l.eq_ignore_ascii_case(f))
    })
}

/// Makes a copy from one of our lists a report like any other (see the
/// module doc). Returns the list's id when it was one of ours.
pub fn apply(opened: &mut Opened, own: &[String], channels: &Channels) -> Option<String> {
    let id = ours(&opened.headers, channels)?.to_string();
    let h = &mut opened.headers;
    h.list = false;
    if h.precedence
        .as_deref()
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("list"))
    {
        h.precedence = None;
    }
    let mut notes = vec![format!("received through our mailing list {id}")];
    if from_rewritten(h, own, &id) {
        let usable = |a: &Option<String>| a.clone().filter(|a| !list_or_own(a, h, own));
        let recovered = [
            ("X-Original-From", usable(&h.list_copy.original_from)),
            ("Reply-To", usable(&h.reply_to)),
            ("X-Original-Sender", usable(&h.list_copy.original_sender)),
        ]
        .into_iter()
        .find_map(|(name, a)| a.map(|a| (name, a)));
        notes.push(match &recovered {
            Some((name, _)) => {
                format!("the list rewrote From; the writer's address is from {name}")
            }
            None => "the list rewrote From and named no writer: no reply address".into(),
        });
        h.from = recovered.map(|(_, a)| a);
    }
    if h.reply_to
        .as_deref()
        .is_some_and(|r| list_or_own(r, h, own))
    {
        h.reply_to = None;
    }
    if let Some(cut) = without_footer(&opened.text) {
        opened.text = cut;
        // Worked out from the text with its footer: classification works
        // it out again.
        opened.prepared = None;
        notes.push("the list's footer was removed from the text".into());
    }
    for n in notes {
        if !opened.notes.contains(&n) {
            opened.notes.push(n);
        }
    }
    Some(id)
}

/// The text without a Google Groups or Mailman 3 footer at its end; None
/// when it has none.
pub fn without_footer(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let is_tail = |rest: &[&str], allowed: &[&str]| {
        rest.len() <= 8
            && rest.iter().all(|l| {
                let l = l.trim();
                l.is_empty() || allowed.iter().any(|a| l.starts_with(a))
            })
    };
    // Google Groups: "-- " then "You received this message because you are
    // subscribed to the Google Groups "NAME" group." and "To …" lines.
    let google = lines.iter().rposition(|l| {
        l.trim_start().starts_with(
            "You received this message because you are subscribed to the Google Groups",
        )
    });
    let mut cut = google.filter(|&i| {
        is_tail(
            lines.get(i + 1..).unwrap_or(&[]),
            &["To ", "Visit this group", "For more options"],
        )
    });
    if let Some(i) = cut {
        if i > 0 && lines.get(i - 1).is_some_and(|l| l.trim_end() == "--") {
            cut = Some(i - 1);
        }
    }
    // Mailman 3: a line of underscores, "NAME mailing list -- ADDRESS",
    // "To unsubscribe send an email to …".
    if cut.is_none() {
        cut = lines
            .iter()
            .rposition(|l| l.len() >= 20 && l.trim_end().chars().all(|c| c == '_'))
            .filter(|&i| {
                lines
                    .get(i + 1)
                    .is_some_and(|l| l.contains(" mailing list -- "))
                    && is_tail(lines.get(i + 2..).unwrap_or(&[]), &["To unsubscribe"])
            });
    }
    let i = cut?;
    Some(lines.get(..i)?.join("\n").trim_end().to_string())
}

#[cfg(test)]
mod tests;
