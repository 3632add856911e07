//! Sending a command comment's mail, exactly once as far as SMTP allows:
//! the same rules as the acknowledgement's ([`crate::pipeline::ack`]).
//! `Mail::Sending` with the message's deterministic Message-ID is written
//! and synced before the SMTP transaction; after a crash it is resolved by
//! our copy (`[acknowledgement] sent_copy`) or sent again with the same
//! Message-ID.
//!
//! The reporter's key: the one kept when the acknowledgement was encrypted
//! (attached or Autocrypt), the reporter-key directory, or the report
//! itself while its raw bytes are still held. A report that came
//! encrypted gets nothing in clear unless the command says `plain`. An
//! address over the acknowledgements' per-address rate cap
//! ([`crate::pipeline::ratecap`]) gets nothing either (refused on the
//! issue); the global cap does not apply to what a person wrote.

use chrono::{Duration as ChronoDuration, Utc};
use sequoia_openpgp::Cert;

use super::intent::{Intent, Mail};
use crate::compose::reply::ReplyMail;
use crate::mailer::encrypt::Protection;
use crate::ops::failpoint;
use crate::pipeline::ratecap::{self, Verdict};
use crate::pipeline::{record_failure, record_success, Pipeline};
use crate::record::{Ack, Kind, Record};
use crate::store::StoreError;
use crate::support::effect::EffectError;

/// Why nothing goes out in clear.
pub const NO_KEY: &str = "The report came encrypted and no key of the reporter is known, so nothing is sent in clear. To send this text unencrypted deliberately, post it again under `/reply plain`.";

impl Pipeline {
    /// The reporter's latest message (for In-Reply-To) and the thread so
    /// far (report, acknowledgement) for References.
    fn thread(&self, rec: &Record, to: &str) -> Result<(Option<String>, Vec<String>), StoreError> {
        let mut refs: Vec<String> = rec.facts.message_id.iter().cloned().collect();
        if let Ack::Sent { message_id, .. } | Ack::Sending { message_id, .. } = &rec.ack {
            refs.push(message_id.clone());
        }
        let mut latest = rec.facts.message_id.clone();
        self.store.scan(&mut |r| {
            let follows = matches!(&r.kind, Some(Kind::FollowUp { of }) if *of == rec.tracking_id);
            let same = r
                .facts
                .reply_address
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(to));
            if follows && same && r.facts.message_id.is_some() {
                latest = r.facts.message_id.clone();
            }
            std::ops::ControlFlow::Continue(())
        })?;
        Ok((latest, refs))
    }

    /// The reporter's key for `to`, wherever it is kept.
    async fn reporter_cert(&self, rec: &Record, to: &str) -> Result<Option<Cert>, StoreError> {
        if let Some(c) = crate::pipeline::ack::kept_key(self.store.as_ref(), &rec.tracking_id, to)?
        {
            return Ok(Some(c));
        }
        let dir = self.settings.ack.reporter_keys.as_deref();
        let raw = self.store.raw(&rec.tracking_id)?;
        let opened = match &raw {
            Some(_) if rec.facts.encrypted => self.open(&mut rec.clone()).await?,
            _ => None,
        };
        Ok(
            crate::mailer::reporter_key::find(opened.as_ref(), raw.as_deref(), dir, to)
                .map(|(c, _)| c),
        )
    }

    fn refuse(&self, i: &mut Intent, reason: &str) -> Result<(), StoreError> {
        tracing::warn!(comment_id = i.comment_id, reason = %reason, "command mail not sent");
        i.mail = Mail::Refused {
            reason: reason.to_string(),
        };
        i.text = None;
        i.save(self.store.as_ref(), false)
    }

    /// Sends the command's mail (see the module doc).
    pub(super) async fn send_reply(&self, i: &mut Intent) -> Result<(), StoreError> {
        let (Some(tid), Some(command)) = (i.tracking_id.clone(), i.command.clone()) else {
            return self.refuse(i, "nothing to send");
        };
        let Some(rec) = self.store.get(&tid)? else {
            return self.refuse(i, "the report is not in the state store");
        };
        let Some(to) = rec.facts.reply_address.clone() else {
            return self.refuse(i, "the report has no reply address");
        };
        let own = &self.settings.instance.addresses;
        if own.iter().any(|a| a.eq_ignore_ascii_case(&to)) {
            return self.refuse(i, "the report's reply address is our own");
        }
        if matches!(i.mail, Mail::Pending) {
            // The per-address cap protects an address flooded in its name;
            // a person wrote this mail, so the global cap does not hold it.
            let caps = &self.settings.ack;
            let store = self.store.as_ref();
            if let Verdict::Suppress(cap) =
                ratecap::check(store, &tid, &to, crate::support::clock::now(), caps)?
            {
                return self.refuse(
                    i,
                    &format!("The reporter's address is protected by the rate cap ({cap}), so nothing is sent."),
                );
            }
        }
        let cert = self.reporter_cert(&rec, &to).await?;
        if cert.is_none() && rec.facts.encrypted && !command.plain() {
            return self.refuse(i, NO_KEY);
        }
        let protection = match cert.map(|c| Protection::new(&self.keyring, c)).transpose() {
            Ok(p) => p,
            Err(e) => {
                // No signing key: nothing goes out unsigned to an encrypted reporter.
                record_failure(
                    &mut i.mail_attempts,
                    &EffectError::Permanent(e),
                    crate::support::clock::now(),
                );
                return i.save(self.store.as_ref(), false);
            }
        };
        let encrypted_to = protection
            .as_ref()
            .map(|p| p.recipient.fingerprint().to_hex());
        let ids = self.message_ids()?;
        let (in_reply_to, references) = self.thread(&rec, &to)?;
        let text = i.text.clone().unwrap_or_default();
        let mail = ReplyMail {
            record: &rec,
            comment_id: i.comment_id,
            command: &command,
            text: &text,
            to: &to,
            in_reply_to: in_reply_to.as_deref(),
            references: &references,
        };
        let mail = match self.composer().reply_mail(&mail, protection.as_ref(), &ids) {
            Ok(m) => m,
            Err(e) => {
                record_failure(
                    &mut i.mail_attempts,
                    &EffectError::Permanent(e),
                    crate::support::clock::now(),
                );
                return i.save(self.store.as_ref(), false);
            }
        };
        let now = crate::support::clock::now();
        if let Mail::Sending { message_id, since } = i.mail.clone() {
            let wait = ChronoDuration::from_std(self.settings.ack.sent_copy_wait)
                .unwrap_or_else(|_| ChronoDuration::minutes(10));
            if self.copy_arrived(&rec, &message_id, since, &ids)?
                == super::super::ack::SentCopy::Arrived
            {
                tracing::info!(
                    comment_id = i.comment_id,
                    "command mail confirmed by its copy"
                );
                return self.sent(i, message_id, since, to, encrypted_to);
            }
            if self.settings.ack.sent_copy && now < since + wait {
                i.mail_attempts.next_at = Some(since + wait);
                return i.save(self.store.as_ref(), false);
            }
            tracing::warn!(
                comment_id = i.comment_id,
                "command mail outcome unknown; sending it again with the same Message-ID"
            );
        }
        i.mail = Mail::Sending {
            message_id: mail.message_id.clone(),
            since: now,
        };
        i.save(self.store.as_ref(), true)?;
        failpoint::hit("effect.command.intent");
        let copy = self.sent_copy_address();
        let result = self.mailer.send_copying(&mail, copy).await;
        failpoint::hit("effect.command.sent");
        match result {
            Ok(()) => self.sent(
                i,
                mail.message_id,
                crate::support::clock::now(),
                to,
                encrypted_to,
            ),
            Err(e) => {
                tracing::warn!(comment_id = i.comment_id, error = %e, "command mail failed");
                crate::ops::metrics::global().mailer_error(&e);
                i.mail = Mail::Pending;
                record_failure(&mut i.mail_attempts, &e, crate::support::clock::now());
                i.save(self.store.as_ref(), false)
            }
        }
    }

    fn sent(
        &self,
        i: &mut Intent,
        message_id: String,
        at: chrono::DateTime<Utc>,
        to: String,
        encrypted_to: Option<String>,
    ) -> Result<(), StoreError> {
        tracing::info!(
            comment_id = i.comment_id,
            encrypted = encrypted_to.is_some(),
            "command mail sent"
        );
        i.mail = Mail::Sent {
            message_id,
            at,
            to,
            encrypted_to,
        };
        i.text = None;
        record_success(&mut i.mail_attempts);
        i.save(self.store.as_ref(), false)
    }
}
