//! What a message is: a new report, a follow-up to one, the same message
//! again, the same report resubmitted, a report related to an earlier one,
//! automatic mail that must never be answered (RFC 3834), or a report we
//! could not read. Decided from headers and the opened content; pure except
//! for look-ups in the store.
//!
//! * **Duplicate** — the same Message-ID with the same normalised text (a
//!   second delivery via the other address, a forwarder, a client's resend),
//!   or the very same bytes (an IMAP copy). Recorded and archived; nothing
//!   filed, nothing sent.
//! * **Follow-up** — In-Reply-To/References name a report, our mail about
//!   it (its keyed Message-ID verifies, [`crate::mailer::message_id`]), or anything
//!   threaded to it; or the Message-ID is reused with other content; or the
//!   (protected) subject carries its tracking ID, or a reference names our
//!   mail about it without a valid keyed part (a guess, or our format
//!   before the keyed part), **and** the message comes from that report's
//!   reporter (addresses normalised, [`crate::classify::reporter_address`]).
//! * **Claimed follow-up** — the same tracking-ID-only link from any other
//!   address: tracking IDs are sequential, so naming one proves nothing.
//!   It becomes a new report of its own (filed and acknowledged), a
//!   [`Kind::Related`] whose reason starts with [`CLAIMS_FOLLOW_UP`]:
//!   linked both ways, "claims to follow up #N".
//! * **Resubmitted** — the same normalised text from the same reporter under
//!   a new Message-ID.
//! * **Related** — near-identical text or a shared identifier
//!   ([`crate::classify::similarity`]): a new issue, linked both ways.
//!
//! Two channels come first: a copy from one of our own mailing lists is
//! made a report like any other when it is opened ([`lists`]), and mail
//! from the team is never a new report of its own ([`team`]).

pub mod lists;
pub mod reporter_address;
pub mod similarity;
pub mod team;

use std::ops::ControlFlow;

use crate::config::{Channels, DedupeSettings};
use crate::mailer::message_id::{MessageIds, Ours};
use crate::normalize::Opened;
use crate::record::{tracking_ids_in, Kind, Record};
use crate::store::{Store, StoreError};
use similarity::Fingerprint;

/// RFC 3834 and common practice: mail that must not be answered. The
/// reason is recorded with the record (never sent anywhere).
///
/// * `Auto-Submitted:` with any value but `no` (§5: auto-generated,
///   auto-replied, auto-notified, …);
/// * delivery and disposition reports (`multipart/report`, RFC 6522);
/// * a null return path (`Return-Path: <>`: bounces and other mail that must
///   never cause a reply, RFC 5321 §4.5.5);
/// * sent by `MAILER-DAEMON` or `postmaster`;
/// * mailing-list traffic: any `List-*` header (RFC 2369/2919);
/// * `Precedence: bulk`, `junk` or `list`;
/// * sent from one of our own addresses (a loop; a Reply-To naming us only
///   stops the acknowledgement, see `pipeline`);
/// * vendor auto-reply markers (`X-Autoreply`, `X-Autorespond`).
pub fn automatic_reason(opened: &Opened, own_addresses: &[String]) -> Option<String> {
    reason(opened, Some(own_addresses))
}

/// [`automatic_reason`] without the "our own address" rule: for mail from
/// the team, whose own-address case [`classify`] decides.
fn machine_reason(opened: &Opened) -> Option<String> {
    reason(opened, None)
}

fn reason(opened: &Opened, own_addresses: Option<&[String]>) -> Option<String> {
    let h = &opened.headers;
    if let Some(v) = &h.auto_submitted {
        let keyword = v.split(['(', ';']).next().unwrap_or("").trim();
        if !keyword.eq_ignore_ascii_case("no") {
            return Some(format!("Auto-Submitted: {}", keyword.to_ascii_lowercase()));
        }
    }
    if h.is_report {
        return Some("delivery or disposition report (multipart/report)".into());
    }
    if h.null_return_path {
        return Some("null return path (bounce)".into());
    }
    // From only: a report whose Reply-To names us is still a report (filed;
    // the pipeline just sends it no acknowledgement).
    if let Some(a) = h.from.as_deref() {
        let local = a.rsplit_once('@').map_or(a, |(l, _)| l);
        if local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster") {
            return Some("sent by a mailer daemon".into());
        }
        if own_addresses.is_some_and(|own| own.iter().any(|o| o.eq_ignore_ascii_case(a))) {
            return Some(FROM_OWN.into());
        }
    }
    if h.list {
        return Some("mailing-list traffic (List-* headers)".into());
    }
    if let Some(p) = &h.precedence {
        let p = p.trim().to_ascii_lowercase();
        if ["bulk", "junk", "list"].contains(&p.as_str()) {
            return Some(format!("Precedence: {p}"));
        }
    }
    if h.vendor_autoreply {
        return Some("auto-reply marker header (X-Autoreply)".into());
    }
    None
}

/// The reason of a [`Kind::Automatic`] copy of our own message.
pub const OWN_COPY: &str = "a copy of our own message";

/// The reason of [`Kind::Automatic`] mail from one of our own addresses
/// that is neither our own message nor a team comment (a loop).
pub const FROM_OWN: &str = "sent from one of our own addresses";

/// How the reason of a [`Kind::Related`] claimed follow-up starts.
pub const CLAIMS_FOLLOW_UP: &str = "claims to follow up";

/// Whether a related report is a claimed follow-up (see the module doc).
pub fn is_claimed_follow_up(reason: &str) -> bool {
    reason.starts_with(CLAIMS_FOLLOW_UP)
}

/// What classification needs besides the message.
pub struct Context<'a> {
    pub store: &'a dyn Store,
    pub prefix: &'a str,
    pub own_addresses: &'a [String],
    /// Our lists and the team (`[instance]`).
    pub channels: &'a Channels,
    pub dedupe: &'a DedupeSettings,
    /// The store's similarity key.
    pub key: &'a [u8],
    /// Our Message-IDs' key, to tell our mail from guesses.
    pub ids: &'a MessageIds,
    /// The address the message's acknowledgement would go to
    /// ([`crate::classify::reporter_address::ack_address`]): the reporter.
    pub reporter: Option<&'a str>,
}

/// The decision, and the facts about the text it was made from.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub kind: Kind,
    /// SHA-256 of the normalised text (None when there is no text).
    pub text_sha256: Option<String>,
    pub fingerprint: Option<Fingerprint>,
    /// A report a team member forwarded: the forwarded message's sender,
    /// to be its reporter ([`team::forwarded_sender`]).
    pub forwarded_from: Option<String>,
}

/// The record whose issue a message about `id` belongs in: follows
/// follow-ups, duplicates and resubmissions. None when that record will
/// never have an issue (automatic mail).
fn root_of(store: &dyn Store, id: String) -> Result<Option<String>, StoreError> {
    let mut id = id;
    for _ in 0..16 {
        match store.get(&id)? {
            Some(Record {
                kind:
                    Some(Kind::FollowUp { of })
                    | Some(Kind::Duplicate { of })
                    | Some(Kind::Resubmitted { of })
                    | Some(Kind::TeamComment { of }),
                ..
            }) => id = of,
            Some(Record {
                kind: Some(Kind::Automatic { .. }) | Some(Kind::Team { .. }),
                ..
            })
            | None => return Ok(None),
            Some(_) => return Ok(Some(id)),
        }
    }
    Ok(None)
}

/// SHA-256 of the normalised text: the same report sent again hashes alike
/// whatever its line breaks, case or quoting.
pub fn text_hash(text: &str) -> Option<String> {
    let n = similarity::normalised(text);
    (!n.is_empty()).then(|| crate::normalize::sha256_hex(n.as_bytes()))
}

/// Our own message (a sent copy of an acknowledgement or a reply coming
/// back): from one of our addresses, with a Message-ID of our form. Keyed
/// or not: from our own address, mail that looks like ours is never taken
/// for a team member's (a loop is worse than a lost comment).
fn our_own_message(opened: &Opened, ctx: &Context<'_>) -> bool {
    let ours = opened
        .headers
        .message_id
        .as_deref()
        .and_then(|m| ctx.ids.read(m, ctx.prefix))
        .is_some();
    let from_us = opened
        .headers
        .from
        .as_ref()
        .is_some_and(|f| ctx.own_addresses.iter().any(|o| o.eq_ignore_ascii_case(f)));
    ours && from_us
}

/// Where a message belongs by its links to earlier reports.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Thread {
    /// Proven: a follow-up of this root record.
    To(String),
    /// Claimed only (a tracking ID from another address): the root record
    /// and the tracking ID named.
    Claims { root: String, named: String },
}

/// Whether the message comes from the reporter of `root`.
fn same_reporter(root: &str, ctx: &Context<'_>) -> Result<bool, StoreError> {
    let Some(reporter) = ctx.reporter else {
        return Ok(false);
    };
    Ok(ctx.store.get(root)?.is_some_and(|r| {
        r.facts
            .reply_address
            .as_deref()
            .is_some_and(|a| crate::classify::reporter_address::same(a, reporter))
    }))
}

/// A tracking ID named without proof: threads for the same reporter, is a
/// claim from anyone else. None when it names no report with an issue.
fn weak_link(
    named: String,
    record: &Record,
    ctx: &Context<'_>,
    team: bool,
) -> Result<Option<Thread>, StoreError> {
    if named == record.tracking_id {
        return Ok(None);
    }
    let Some(root) = root_of(ctx.store, named.clone())? else {
        return Ok(None);
    };
    Ok(Some(if team || same_reporter(&root, ctx)? {
        Thread::To(root)
    } else {
        Thread::Claims { root, named }
    }))
}

/// A record that is, or will be, threaded to: by our keyed Message-ID, a
/// stored Message-ID, or — for the same reporter (or the `team`) only — a
/// tracking ID in the (protected) subject or in an unproven reference to
/// our mail. A proven link wins over a claim.
fn thread_target(
    opened: &Opened,
    record: &Record,
    ctx: &Context<'_>,
    team: bool,
) -> Result<Option<Thread>, StoreError> {
    let mut claim = None;
    let mut note = |link: Option<Thread>| -> Option<String> {
        match link {
            Some(Thread::To(root)) => Some(root),
            Some(c) => {
                claim.get_or_insert(c);
                None
            }
            None => None,
        }
    };
    for referenced in opened.headers.referenced_ids() {
        let target = match ctx.ids.read(referenced, ctx.prefix) {
            Some(Ours::Keyed(t)) => Some(t),
            Some(weak) => {
                let link = weak_link(weak.tracking_id().to_string(), record, ctx, team)?;
                if let Some(root) = note(link) {
                    return Ok(Some(Thread::To(root)));
                }
                continue;
            }
            None => ctx.store.by_message_id(referenced)?,
        };
        if let Some(t) = target.filter(|t| *t != record.tracking_id) {
            if let Some(root) = root_of(ctx.store, t)? {
                return Ok(Some(Thread::To(root)));
            }
        }
    }
    if let Some(subject) = &opened.subject {
        for t in tracking_ids_in(subject, ctx.prefix) {
            let link = weak_link(t, record, ctx, team)?;
            if let Some(root) = note(link) {
                return Ok(Some(Thread::To(root)));
            }
        }
    }
    Ok(claim)
}

/// Whether a record has an issue of its own with report text in it.
fn has_own_text_issue(r: &Record) -> bool {
    matches!(r.kind, Some(Kind::New) | Some(Kind::Related { .. }))
}

/// Resubmission (same normalised text, same reporter) or the most
/// related earlier report.
fn resemblance(
    record: &Record,
    reporter: Option<String>,
    text_sha256: Option<&str>,
    fp: &Fingerprint,
    ctx: &Context<'_>,
) -> Result<Option<Kind>, StoreError> {
    let mut best: Option<(String, (usize, f64, usize), String)> = None;
    let mut same_text: Option<Kind> = None;
    ctx.store.scan(&mut |other| {
        if other.tracking_id == record.tracking_id || !has_own_text_issue(other) {
            return ControlFlow::Continue(());
        }
        if text_sha256.is_some() && other.facts.text_sha256.as_deref() == text_sha256 {
            same_text = Some(
                if other
                    .facts
                    .reply_address
                    .as_deref()
                    .zip(reporter.as_deref())
                    .is_some_and(|(a, b)| crate::classify::reporter_address::same(a, b))
                {
                    Kind::Resubmitted {
                        of: other.tracking_id.clone(),
                    }
                } else {
                    // Another reporter, the same text: they deserve credit too.
                    Kind::Related {
                        of: other.tracking_id.clone(),
                        reason: "identical text from another reporter".into(),
                    }
                },
            );
            return ControlFlow::Break(());
        }
        let Some(theirs) = &other.facts.fingerprint else {
            return ControlFlow::Continue(());
        };
        let Some(r) = similarity::resemble(fp, theirs, ctx.dedupe.similar_text()) else {
            return ControlFlow::Continue(());
        };
        let strong = r
            .shared
            .iter()
            .filter(|s| s.starts_with("cve:") || s.starts_with("ghsa:"))
            .count();
        let text = if r.text >= ctx.dedupe.similar_text() {
            r.text
        } else {
            0.0
        };
        let score = (strong, text, r.shared.len());
        if best.as_ref().is_none_or(|(_, b, _)| score > *b) {
            best = Some((other.tracking_id.clone(), score, describe(&r.shared, text)));
        }
        ControlFlow::Continue(())
    })?;
    if same_text.is_some() {
        return Ok(same_text);
    }
    Ok(best.map(|(of, _, reason)| Kind::Related { of, reason }))
}

/// Why, without naming any identifier (records hold no report content).
pub fn describe(shared: &[String], text: f64) -> String {
    let mut parts = Vec::new();
    if text > 0.0 {
        parts.push(format!("similar text ({:.0}% alike)", text * 100.0));
    }
    for (prefix, what) in [
        ("cve:", "CVE ID"),
        ("ghsa:", "GHSA ID"),
        ("package:", "package"),
        ("url:", "URL"),
    ] {
        let n = shared.iter().filter(|s| s.starts_with(prefix)).count();
        if n > 0 {
            parts.push(format!("same {what}{}", if n > 1 { "s" } else { "" }));
        }
    }
    parts.join(", ")
}

/// The hash and fingerprint of the message's text.
struct TextFacts<'a> {
    sha256: Option<&'a str>,
    fingerprint: Option<&'a Fingerprint>,
}

/// Mail from the team ([`team`]): a comment with a report's references; a
/// forwarded report (New, with its sender); else recorded. From one of our
/// own addresses only the comment: anything else is a loop.
fn team_mail(
    opened: &Opened,
    record: &Record,
    ctx: &Context<'_>,
    from_own: bool,
    text: TextFacts<'_>,
) -> Result<(Kind, Option<String>), StoreError> {
    if let Some(Thread::To(root)) = thread_target(opened, record, ctx, true)? {
        return Ok((Kind::TeamComment { of: root }, None));
    }
    if from_own {
        return Ok((
            Kind::Automatic {
                reason: FROM_OWN.into(),
            },
            None,
        ));
    }
    let forwarded = team::forwarded_sender(opened).filter(|s| {
        !ctx.channels.team.contains(s)
            && !ctx.own_addresses.iter().any(|o| o.eq_ignore_ascii_case(s))
    });
    Ok(match forwarded {
        Some(sender) => {
            // The same report may have come in directly too: linked, or a
            // resubmission when it is the very same text from the sender.
            let kind = match text.fingerprint {
                Some(fp) => resemblance(record, Some(sender.clone()), text.sha256, fp, ctx)?,
                None => None,
            }
            .unwrap_or(Kind::New);
            (kind, Some(sender))
        }
        None => (
            Kind::Team {
                reason: team::UNTHREADED.into(),
            },
            None,
        ),
    })
}

/// What classification needs of a report text: its similarity
/// fingerprint (None for an empty text), as `dedupe` asks, and the hash of
/// its normalised form.
pub fn prepare(
    text: &str,
    key: &[u8],
    dedupe: &crate::config::DedupeSettings,
) -> crate::normalize::Prepared {
    let fingerprint = (!text.trim().is_empty()).then(|| {
        let mut fp =
            similarity::fingerprint(text, key, dedupe.min_words, &dedupe.ignore_identifiers);
        if !dedupe.link_identifiers {
            fp.identifiers.clear();
        }
        fp
    });
    crate::normalize::Prepared {
        fingerprint,
        text_sha256: text_hash(text),
    }
}

/// Classifies an opened message. Order matters: our own copies and
/// automatic mail first (never answered), then the same message again,
/// then threading, then content (unreadable, resubmitted, related, new).
pub fn classify(
    opened: &Opened,
    record: &Record,
    ctx: &Context<'_>,
) -> Result<Decision, StoreError> {
    let prepared = opened
        .prepared
        .clone()
        .unwrap_or_else(|| prepare(&opened.text, ctx.key, ctx.dedupe));
    let (text_sha256, fingerprint) = (prepared.text_sha256, prepared.fingerprint);
    let decide = |kind: Kind| Decision {
        kind,
        text_sha256: text_sha256.clone(),
        fingerprint: fingerprint.clone(),
        forwarded_from: None,
    };
    if our_own_message(opened, ctx) {
        return Ok(decide(Kind::Automatic {
            reason: OWN_COPY.into(),
        }));
    }
    let from = opened.headers.from.as_deref();
    let from_own =
        from.is_some_and(|f| ctx.own_addresses.iter().any(|o| o.eq_ignore_ascii_case(f)));
    let from_team = from.is_some_and(|f| ctx.channels.team.contains(f));
    let automatic = if from_team || from_own {
        machine_reason(opened)
    } else {
        automatic_reason(opened, ctx.own_addresses)
    };
    if let Some(reason) = automatic {
        return Ok(decide(Kind::Automatic { reason }));
    }
    if let Some(mid) = &opened.headers.message_id {
        if let Some(first) = ctx.store.by_message_id(mid)? {
            if first != record.tracking_id {
                let same_text = ctx
                    .store
                    .get(&first)?
                    .is_some_and(|f| f.facts.text_sha256 == text_sha256);
                if same_text {
                    return Ok(decide(Kind::Duplicate { of: first }));
                }
                // The same Message-ID with other content: never drop it.
                if let Some(root) = root_of(ctx.store, first)? {
                    return Ok(decide(Kind::FollowUp { of: root }));
                }
            }
        }
    }
    if let Some(first) = ctx.store.by_raw_hash(&record.facts.raw_sha256)? {
        if first != record.tracking_id {
            return Ok(decide(Kind::Duplicate { of: first }));
        }
    }
    if from_team || from_own {
        let text = TextFacts {
            sha256: text_sha256.as_deref(),
            fingerprint: fingerprint.as_ref(),
        };
        return team_mail(opened, record, ctx, from_own, text).map(|(kind, forwarded_from)| {
            Decision {
                forwarded_from,
                ..decide(kind)
            }
        });
    }
    match thread_target(opened, record, ctx, false)? {
        Some(Thread::To(root)) => return Ok(decide(Kind::FollowUp { of: root })),
        Some(Thread::Claims { root, named }) => {
            return Ok(decide(Kind::Related {
                of: root,
                reason: format!("{CLAIMS_FOLLOW_UP} {named} from another address"),
            }))
        }
        None => {}
    }
    if let Some(reason) = opened.unreadable_reason() {
        return Ok(decide(Kind::Unreadable { reason }));
    }
    if let Some(fp) = &fingerprint {
        if let Some(kind) = resemblance(
            record,
            ctx.reporter.map(str::to_string),
            text_sha256.as_deref(),
            fp,
            ctx,
        )? {
            return Ok(decide(kind));
        }
    }
    Ok(decide(Kind::New))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tracking_ids() {
        assert_eq!(
            tracking_ids_in("Re: [JUPSEC-2026-0042] thanks JUPSEC-2026-12345", "JUPSEC"),
            vec!["JUPSEC-2026-0042", "JUPSEC-2026-12345"]
        );
        assert!(tracking_ids_in("JUPSEC-26-0042 JUPSEC-2026-042", "JUPSEC").is_empty());
    }
}
