//! Acknowledgements and receipts, exactly once as far as SMTP allows.
//!
//! SMTP has no way to ask whether a message went out: the commit point is
//! the server's reply to the final `.` of DATA, and a crash between that
//! reply and our state write cannot be told apart from a crash just before
//! the transaction (RFC 1047's duplicate-message problem). So:
//!
//! 1. `Ack::Sending { message_id, since }` is written durably before the SMTP
//!    transaction starts (the intent).
//! 2. With `[acknowledgement] sent_copy = true`, the same transaction also
//!    addresses our first instance address. The server queues one message
//!    for both recipients or for neither, so the copy arriving in the watched
//!    mailbox — taken in like any mail, indexed by its Message-ID and
//!    classified as our own — proves the acknowledgement was accepted.
//!    Only our own copy counts: a message in the watched mailbox with the
//!    intent's exact Message-ID, whose keyed part verifies
//!    ([`crate::mailer::message_id`]), classified as a copy of our own message (so
//!    `From:` one of our addresses), taken in after the intent was written.
//!    A forged copy (a guessed or old-format Message-ID, another sender, or
//!    mail that was there before we started sending) proves nothing, and
//!    without `sent_copy` no copy is looked for at all. An intent written
//!    before Message-IDs were keyed is never confirmed by a copy: it is
//!    sent again after `sent_copy_wait`.
//! 3. On resume, an intent whose copy has arrived becomes `Sent`. Without a
//!    copy, we wait `sent_copy_wait` after the intent for it, then conclude it
//!    did not go out and send again with the same Message-ID.
//! 4. Without `sent_copy`, an intent found on resume is sent again at once
//!    (at-least-once); the resend carries the same deterministic Message-ID,
//!    so mail clients that thread or dedupe by Message-ID show one message.
//!
//! An SMTP error (a 4xx/5xx reply, a refused or dropped connection) is taken
//! as "not sent": the one ambiguous error, a connection lost after the final
//! `.` before the reply, is accepted as a possible duplicate.
//!
//! Before a first attempt, the rate caps ([`crate::pipeline::ratecap`]) are asked:
//! over the per-address cap the acknowledgement is suppressed; over the
//! global cap it is postponed until the window has room (an alert logged
//! once, `status` and the `secintake_acks_postponed` metrics show it) and
//! still counts toward the response-deadline alert.

use std::ops::ControlFlow;

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use super::{record_failure, record_success, Pipeline};
use crate::classify::OWN_COPY;
use crate::mailer::encrypt::Protection;
use crate::mailer::message_id::{MessageIds, Ours};
use crate::mailer::reporter_key::KeySource;
use crate::normalize::Opened;
use crate::openpgp::SignatureStatus;
use crate::ops::failpoint;
use crate::pipeline::ratecap::Verdict;
use crate::record::{Ack, Kind, Record};
use crate::store::{Store, StoreError};
use crate::support::effect::EffectError;
use sequoia_openpgp::serialize::SerializeInto;
use sequoia_openpgp::Cert;

/// What came back of an acknowledgement being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SentCopy {
    /// Nothing that could be our copy.
    None,
    /// A message with its Message-ID, taken in (at this time) after the
    /// intent, not yet classified: perhaps our copy.
    Unclassified(DateTime<Utc>),
    /// Our own copy: the acknowledgement went out.
    Arrived,
}

/// Where the reporter's key found in a report is kept for the later mail
/// of the conversation (the raw message is dropped once archived): under
/// the report's tracking ID, or its root's for a follow-up (the newest key
/// wins). A public key only.
fn key_slot(tracking_id: &str) -> String {
    format!("conversation/reporter-key/{tracking_id}")
}

fn keep_key(store: &dyn Store, rec: &Record, cert: &Cert) -> Result<(), StoreError> {
    let root = match &rec.kind {
        Some(Kind::FollowUp { of }) | Some(Kind::Resubmitted { of }) => of.as_str(),
        _ => rec.tracking_id.as_str(),
    };
    match cert.to_vec() {
        Ok(bytes) => store.meta_put(&key_slot(root), &bytes, false),
        Err(e) => {
            tracing::warn!(tracking_id = %rec.tracking_id, error = %e, "cannot keep the reporter's key");
            Ok(())
        }
    }
}

/// The reporter's key kept for report `tracking_id`, if it is still usable
/// and carries `address`.
pub(super) fn kept_key(
    store: &dyn Store,
    tracking_id: &str,
    address: &str,
) -> Result<Option<Cert>, StoreError> {
    Ok(store
        .meta_get(&key_slot(tracking_id))?
        .and_then(|bytes| crate::mailer::reporter_key::from_bytes(&bytes, address)))
}

impl Pipeline {
    /// Our Message-IDs, keyed by the installation's secret.
    pub(super) fn message_ids(&self) -> Result<MessageIds, StoreError> {
        Ok(MessageIds::derive(&self.store.similarity_key()?))
    }

    /// Whether our own copy of the message with this Message-ID, sent by
    /// the intent written at `since`, has come back (see the module doc).
    pub(super) fn copy_arrived(
        &self,
        rec: &Record,
        message_id: &str,
        since: DateTime<Utc>,
        ids: &MessageIds,
    ) -> Result<SentCopy, StoreError> {
        if !self.settings.ack.sent_copy {
            return Ok(SentCopy::None);
        }
        let prefix = &self.settings.instance.tracking_prefix;
        if ids.read(message_id, prefix) != Some(Ours::Keyed(rec.tracking_id.clone())) {
            return Ok(SentCopy::None);
        }
        // Records hold Message-IDs as parsed: without angle brackets.
        let bare = message_id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        let mut found = SentCopy::None;
        self.store.scan(&mut |r| {
            if r.tracking_id == rec.tracking_id
                || r.facts.message_id.as_deref() != Some(bare)
                || r.received_at < since
            {
                return ControlFlow::Continue(());
            }
            match &r.kind {
                Some(Kind::Automatic { reason }) if reason == OWN_COPY => {
                    found = SentCopy::Arrived;
                    return ControlFlow::Break(());
                }
                None => found = SentCopy::Unclassified(r.received_at),
                Some(_) => {}
            }
            ControlFlow::Continue(())
        })?;
        Ok(found)
    }

    /// The address an acknowledgement of `opened` goes to: one the message
    /// proves ([`crate::classify::reporter_address`]).
    pub(super) fn ack_address(&self, rec: &Record, opened: &Opened) -> Option<String> {
        let own = &self.settings.instance.addresses;
        let chosen = crate::classify::reporter_address::ack_address(opened, own, |address| {
            self.signed_by_directory_key(opened, address)
        });
        if opened.headers.reply_to.is_some() && chosen != opened.headers.reply_to {
            tracing::info!(tracking_id = %rec.tracking_id, "Reply-To not proven by the message: the acknowledgement goes to the From address");
        }
        chosen
    }

    /// Whether the message's valid signature is by a key in the reporter-key
    /// directory with a user ID for `address`.
    fn signed_by_directory_key(&self, opened: &Opened, address: &str) -> bool {
        let SignatureStatus::Valid { signer } = &opened.signature else {
            return false;
        };
        let Some(dir) = self.settings.ack.reporter_keys.as_deref() else {
            return false;
        };
        crate::mailer::reporter_key::find(None, None, Some(dir), address)
            .is_some_and(|(cert, _)| cert.fingerprint().to_hex().eq_ignore_ascii_case(signer))
    }

    /// Holds the acknowledgement back until `until` (global rate cap),
    /// alerting the operator the first time.
    fn postpone(
        &self,
        rec: &mut Record,
        until: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if rec.watch.ack_postponed_at.is_none() {
            tracing::warn!(
                tracking_id = %rec.tracking_id,
                until = %until.format("%Y-%m-%d %H:%M:%S UTC"),
                reason = %reason,
                "ALERT: acknowledgement postponed by the global rate cap; it goes out when the window has room"
            );
            crate::ops::metrics::global().ack_postponed();
            rec.watch.ack_postponed_at = Some(now);
        }
        rec.watch.ack_postponed_until = Some(until);
        rec.ack_attempts.next_at = Some(until);
        rec.state = rec.derived_state();
        self.store.put(rec)
    }

    /// Our signing key and the reporter's key, when the report was
    /// encrypted and the reporter's key is at hand (`crate::mailer::reporter_key`);
    /// None sends the acknowledgement plain.
    /// `opened` is the report when this pass already decrypted it.
    async fn protection(
        &self,
        rec: &Record,
        to: &str,
        opened: Option<&Opened>,
    ) -> Result<Option<Protection>, StoreError> {
        if !rec.facts.encrypted {
            return Ok(None);
        }
        let raw = self.store.raw(&rec.tracking_id)?;
        // Decrypting costs a secret-key operation (≈10 ms for RSA-4096):
        // reuse what this pass opened, open again only after a restart.
        let reopened;
        let opened = match opened {
            Some(o) => Some(o),
            None => {
                // On a copy: this record's opening counter is settled in
                // the store; the caller's copy is for the acknowledgement.
                reopened = self.open(&mut rec.clone()).await?;
                reopened.as_ref()
            }
        };
        let dir = self.settings.ack.reporter_keys.as_deref();
        let Some((cert, source)) =
            crate::mailer::reporter_key::find(opened, raw.as_deref(), dir, to)
        else {
            tracing::info!(tracking_id = %rec.tracking_id, "no key of the reporter at hand: the acknowledgement goes out plain");
            return Ok(None);
        };
        if source != KeySource::Directory {
            keep_key(self.store.as_ref(), rec, &cert)?;
        }
        match Protection::new(&self.keyring, cert) {
            Ok(p) => {
                tracing::info!(tracking_id = %rec.tracking_id, key_source = source.as_str(), "the acknowledgement is encrypted to the reporter's key");
                Ok(Some(p))
            }
            Err(e) => {
                tracing::warn!(tracking_id = %rec.tracking_id, error = %e, "cannot sign the acknowledgement: it goes out plain");
                Ok(None)
            }
        }
    }

    /// The acknowledgement (or receipt, or resend notice) for `rec`.
    /// `opened` is the report when this pass already decrypted it.
    pub(super) async fn acknowledge(
        &self,
        rec: &mut Record,
        opened: Option<&Opened>,
    ) -> Result<(), StoreError> {
        let Some(to) = rec.facts.reply_address.clone() else {
            rec.ack = Ack::Suppressed {
                reason: "no reply address".into(),
            };
            rec.state = rec.derived_state();
            return self.store.put(rec);
        };
        let is_receipt = matches!(
            rec.kind,
            Some(Kind::FollowUp { .. }) | Some(Kind::Resubmitted { .. })
        );
        if is_receipt && !self.settings.ack.followup_receipts {
            rec.ack = Ack::Suppressed {
                reason: "follow-up receipts are off".into(),
            };
            rec.state = rec.derived_state();
            return self.store.put(rec);
        }
        if matches!(rec.ack, Ack::Pending) {
            let now = crate::support::clock::now();
            let store = self.store.as_ref();
            match crate::pipeline::ratecap::check(
                store,
                &rec.tracking_id,
                &to,
                now,
                &self.settings.ack,
            )? {
                Verdict::Send => {}
                Verdict::Suppress(reason) => {
                    tracing::warn!(tracking_id = %rec.tracking_id, reason = %reason, "acknowledgement not sent");
                    crate::ops::metrics::global().ack_suppressed("rate_cap");
                    rec.ack = Ack::Suppressed { reason };
                    rec.state = rec.derived_state();
                    return self.store.put(rec);
                }
                Verdict::Postpone { until, reason } => {
                    return self.postpone(rec, until, &reason, now);
                }
            }
        }
        let ids = self.message_ids()?;
        let protection = self.protection(rec, &to, opened).await?;
        let mail = match self
            .composer()
            .ack_sealed(rec, &to, protection.as_ref(), &ids)
        {
            Ok(mail) => mail,
            Err(e) => {
                record_failure(
                    &mut rec.ack_attempts,
                    &EffectError::Permanent(e),
                    crate::support::clock::now(),
                );
                return self.store.put(rec);
            }
        };
        let now = crate::support::clock::now();
        if let Ack::Sending { message_id, since } = rec.ack.clone() {
            let wait = ChronoDuration::from_std(self.settings.ack.sent_copy_wait)
                .unwrap_or_else(|_| ChronoDuration::minutes(10));
            let copy = self.copy_arrived(rec, &message_id, since, &ids)?;
            if let SentCopy::Unclassified(taken_in) = copy {
                // Taken in but not yet classified (records are worked in
                // order, the copy after its original): decide next pass,
                // for a while at most (a copy that cannot be opened must
                // not hold the acknowledgement for ever).
                if now < taken_in + wait.max(ChronoDuration::minutes(1)) {
                    rec.ack_attempts.next_at = Some(now + ChronoDuration::seconds(1));
                    return self.store.put(rec);
                }
            }
            if copy == SentCopy::Arrived {
                tracing::info!(tracking_id = %rec.tracking_id, "acknowledgement confirmed by its copy");
                crate::ops::metrics::global().acknowledged(rec.received_at, since, rec.respond_by);
                rec.ack = Ack::Sent {
                    message_id,
                    at: since,
                };
                record_success(&mut rec.ack_attempts);
                rec.watch.ack_postponed_until = None;
                rec.state = rec.derived_state();
                return self.store.put(rec);
            }
            if self.settings.ack.sent_copy && now < since + wait {
                rec.ack_attempts.next_at = Some(since + wait);
                return self.store.put(rec);
            }
            tracing::warn!(tracking_id = %rec.tracking_id, "acknowledgement outcome unknown; sending it again with the same Message-ID");
        }
        rec.ack = Ack::Sending {
            message_id: mail.message_id.clone(),
            since: now,
        };
        self.put_sending(rec, true)?;
        failpoint::hit("effect.ack.intent");
        let copy = self.sent_copy_address();
        let result = self.mailer.send_copying(&mail, copy).await;
        failpoint::hit("effect.ack.sent");
        match result {
            Ok(()) => {
                tracing::info!(tracking_id = %rec.tracking_id, "acknowledged");
                let at = crate::support::clock::now();
                crate::ops::metrics::global().acknowledged(rec.received_at, at, rec.respond_by);
                rec.ack = Ack::Sent {
                    message_id: mail.message_id,
                    at,
                };
                record_success(&mut rec.ack_attempts);
                rec.watch.ack_postponed_until = None;
            }
            Err(e) => {
                tracing::warn!(tracking_id = %rec.tracking_id, error = %e, "acknowledgement failed");
                crate::ops::metrics::global().mailer_error(&e);
                rec.ack = Ack::Pending;
                record_failure(&mut rec.ack_attempts, &e, crate::support::clock::now());
            }
        }
        rec.state = rec.derived_state();
        self.put_sending(rec, false)
    }
}
