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

use chrono::{Duration as ChronoDuration, Utc};

use super::{record_failure, record_success, Pipeline};
use crate::effect::EffectError;
use crate::failpoint;
use crate::mailer::encrypt::Protection;
use crate::normalize::Opened;
use crate::record::{Ack, Kind, Record};
use crate::store::StoreError;

impl Pipeline {
    /// Whether our copy of a message with this Message-ID has come back.
    fn copy_arrived(&self, rec: &Record, message_id: &str) -> Result<bool, StoreError> {
        // The index holds Message-IDs as parsed: without angle brackets.
        let bare = message_id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        Ok(self
            .store
            .by_message_id(bare)?
            .is_some_and(|t| t != rec.tracking_id))
    }

    /// Our signing key and the reporter's key, when the report was
    /// encrypted and the reporter's key is at hand (`crate::reporter_key`);
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
        let Some((cert, source)) = crate::reporter_key::find(opened, raw.as_deref(), dir, to)
        else {
            tracing::info!(tracking_id = %rec.tracking_id, "no key of the reporter at hand: the acknowledgement goes out plain");
            return Ok(None);
        };
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
            let now = Utc::now();
            let store = self.store.as_ref();
            if let Some(reason) =
                crate::ratecap::exceeded(store, &rec.tracking_id, &to, now, &self.settings.ack)?
            {
                tracing::warn!(tracking_id = %rec.tracking_id, reason = %reason, "acknowledgement not sent");
                crate::metrics::global().ack_suppressed("rate_cap");
                rec.ack = Ack::Suppressed { reason };
                rec.state = rec.derived_state();
                return self.store.put(rec);
            }
        }
        let protection = self.protection(rec, &to, opened).await?;
        let mail = match self.composer().ack_sealed(rec, &to, protection.as_ref()) {
            Ok(mail) => mail,
            Err(e) => {
                record_failure(
                    &mut rec.ack_attempts,
                    &EffectError::Permanent(e),
                    Utc::now(),
                );
                return self.store.put(rec);
            }
        };
        let now = Utc::now();
        if let Ack::Sending { message_id, since } = rec.ack.clone() {
            if self.copy_arrived(rec, &message_id)? {
                tracing::info!(tracking_id = %rec.tracking_id, "acknowledgement confirmed by its copy");
                crate::metrics::global().acknowledged(rec.received_at, since, rec.respond_by);
                rec.ack = Ack::Sent {
                    message_id,
                    at: since,
                };
                record_success(&mut rec.ack_attempts);
                rec.state = rec.derived_state();
                return self.store.put(rec);
            }
            if self.settings.ack.sent_copy {
                let wait = ChronoDuration::from_std(self.settings.ack.sent_copy_wait)
                    .unwrap_or_else(|_| ChronoDuration::minutes(10));
                if now < since + wait {
                    rec.ack_attempts.next_at = Some(since + wait);
                    return self.store.put(rec);
                }
            }
            tracing::warn!(tracking_id = %rec.tracking_id, "acknowledgement outcome unknown; sending it again with the same Message-ID");
        }
        rec.ack = Ack::Sending {
            message_id: mail.message_id.clone(),
            since: now,
        };
        self.store.put_synced(rec)?;
        failpoint::hit("effect.ack.intent");
        let copy = self
            .settings
            .ack
            .sent_copy
            .then(|| self.settings.instance.addresses.first().cloned())
            .flatten();
        let result = self.mailer.send_copying(&mail, copy.as_deref()).await;
        failpoint::hit("effect.ack.sent");
        match result {
            Ok(()) => {
                tracing::info!(tracking_id = %rec.tracking_id, "acknowledged");
                let at = Utc::now();
                crate::metrics::global().acknowledged(rec.received_at, at, rec.respond_by);
                rec.ack = Ack::Sent {
                    message_id: mail.message_id,
                    at,
                };
                record_success(&mut rec.ack_attempts);
            }
            Err(e) => {
                tracing::warn!(tracking_id = %rec.tracking_id, error = %e, "acknowledgement failed");
                crate::metrics::global().mailer_error(&e);
                rec.ack = Ack::Pending;
                record_failure(&mut rec.ack_attempts, &e, Utc::now());
            }
        }
        rec.state = rec.derived_state();
        self.store.put(rec)
    }
}
