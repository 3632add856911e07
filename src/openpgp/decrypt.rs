//! Decrypts one OpenPGP message with the team's keys, recording which keys it
//! was encrypted to and what its signatures say. Output is bounded: a
//! compression bomb stops at `max_output` bytes; private-key operations and
//! time are bounded by a [`Budget`] shared by all parts of one mail.

use std::cell::RefCell;
use std::io::Read;
use std::rc::Rc;

use openpgp::cert::Cert;
use openpgp::crypto::{Password, SessionKey};
use openpgp::packet::{PKESK, SKESK};
use openpgp::parse::stream::{
    DecryptionHelper, DecryptorBuilder, MessageStructure, VerificationHelper,
};
use openpgp::parse::Parse;
use openpgp::types::SymmetricAlgorithm;
use openpgp::KeyHandle;
use sequoia_openpgp as openpgp;

use super::budget::Budget;
use super::failure::DecryptFailure;
use super::keyring::Keyring;
use super::signature::{status_of, SignatureStatus};
use super::unlock::DecryptionKey;

#[derive(Debug)]
pub struct Decrypted {
    pub plaintext: Vec<u8>,
    /// Key IDs / fingerprints the message was encrypted to (hex).
    pub recipients: Vec<String>,
    /// Fingerprint of our key that decrypted it ("password" for SKESK).
    pub key_used: String,
    pub signature: SignatureStatus,
    /// The data had an encryption layer. `false` for OpenPGP data that was
    /// only signed or compressed: its content is not confidential.
    pub encrypted: bool,
    /// Things worth telling the coordinators (leniency applied).
    pub notes: Vec<String>,
}

/// Why a message could not be decrypted; safe to show and to file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecryptable {
    pub failure: DecryptFailure,
    pub recipients: Vec<String>,
}

#[derive(Default)]
struct Trace {
    /// The message had an encryption layer (PKESK/SKESK seen).
    encrypted: bool,
    recipients: Vec<String>,
    key_used: Option<String>,
    password_only: bool,
    /// Every key and password was tried and none fitted.
    no_key: bool,
    /// Tries stopped at a cap or the deadline (the reason, safe to show).
    gave_up: Option<String>,
    signature: Option<SignatureStatus>,
}

struct Helper<'a> {
    keyring: &'a Keyring,
    extra_certs: &'a [Cert],
    trace: Rc<RefCell<Trace>>,
    budget: &'a mut Budget,
}

impl VerificationHelper for Helper<'_> {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self.keyring.certs_for_verification(self.extra_certs))
    }

    /// Records the outcome and always accepts: a bad or unknown signature
    /// must never drop a report; it is shown to the coordinators instead.
    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        self.trace.borrow_mut().signature = Some(status_of(structure));
        Ok(())
    }
}

impl DecryptionHelper for Helper<'_> {
    fn decrypt(
        &mut self,
        pkesks: &[PKESK],
        skesks: &[SKESK],
        sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> openpgp::Result<Option<Cert>> {
        {
            let mut trace = self.trace.borrow_mut();
            trace.encrypted = true;
            trace.recipients = pkesks
                .iter()
                .map(|p| match p.recipient() {
                    Some(h) => h.to_hex(),
                    None => "anonymous (wildcard)".into(),
                })
                .collect();
            trace.password_only = pkesks.is_empty() && !skesks.is_empty();
        }
        if self.try_pkesks(pkesks, sym_algo, decrypt) {
            return Ok(None);
        }
        for skesk in skesks {
            for password in self.keyring.passwords() {
                let password = Password::from(password.expose().as_str());
                if let Ok((algo, sk)) = skesk.decrypt(&password) {
                    if decrypt(algo, &sk) {
                        self.trace.borrow_mut().key_used = Some("password".into());
                        return Ok(None);
                    }
                }
            }
        }
        let mut trace = self.trace.borrow_mut();
        if trace.gave_up.is_none() {
            trace.no_key = true;
        }
        Err(anyhow::anyhow!(
            "no configured secret key can decrypt this message"
        ))
    }
}

impl Helper<'_> {
    /// First the PKESKs addressed to one of our keys, then wildcard
    /// (hidden-recipient) PKESKs against every key: a wildcard costs one
    /// private-key operation per key, so it comes last. Both within the
    /// budget's caps and deadline; when they stop the tries, the reason is
    /// kept for the report.
    fn try_pkesks(
        &mut self,
        pkesks: &[PKESK],
        sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> bool {
        let keyring = self.keyring;
        let keys = keyring.decryptors();
        for pkesk in pkesks.iter().filter(|p| p.recipient().is_some()) {
            for key in keys.iter().filter(|k| k.is_recipient_of(pkesk)) {
                if !self.budget.in_time() {
                    return self.give_up(self.budget.over_time_reason());
                }
                if !self.budget.may_try_key(key.fingerprint()) {
                    if self.trace.borrow().gave_up.is_none() {
                        let addressed = pkesks.iter().filter(|p| key.is_recipient_of(p)).count();
                        let max = self.budget.max_key_attempts();
                        self.give_up(format!(
                            "{addressed} session-key packets are addressed to our key {}; gave up after {max} failed tries (limits.max_key_attempts)",
                            key.fingerprint().to_hex()
                        ));
                    }
                    continue;
                }
                if self.try_key(pkesk, key, sym_algo, decrypt) {
                    return true;
                }
                self.budget.key_failed(key.fingerprint());
            }
        }
        let wildcards: Vec<&PKESK> = pkesks.iter().filter(|p| p.recipient().is_none()).collect();
        for pkesk in &wildcards {
            if !self.budget.take_wildcard() {
                let max = self.budget.max_wildcard_attempts();
                return self.give_up(format!(
                    "{} anonymous-recipient session-key packets; gave up after {max} (limits.max_wildcard_attempts)",
                    wildcards.len()
                ));
            }
            for key in keys {
                if !self.budget.in_time() {
                    return self.give_up(self.budget.over_time_reason());
                }
                if self.try_key(pkesk, key, sym_algo, decrypt) {
                    return true;
                }
            }
        }
        false
    }

    /// Records why the tries stopped (the first reason wins); always false.
    fn give_up(&self, reason: String) -> bool {
        let mut trace = self.trace.borrow_mut();
        if trace.gave_up.is_none() {
            trace.gave_up = Some(reason);
        }
        false
    }

    fn try_key(
        &self,
        pkesk: &PKESK,
        key: &DecryptionKey,
        sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> bool {
        match key.decrypt(pkesk, sym_algo) {
            Some((algo, sk)) if decrypt(algo, &sk) => {
                self.trace.borrow_mut().key_used = Some(key.fingerprint().to_hex());
                true
            }
            _ => false,
        }
    }
}

/// Decrypts `ciphertext` (binary or ASCII-armoured). `extra_certs` are
/// certificates at hand for signature checks (attached keys, Autocrypt).
/// Session-key packets with non-canonical MPIs, which GnuPG accepts, are
/// re-encoded and tried again (see [`super::repair`]). Within the default
/// [`Budget`]; [`decrypt_within`] shares one between the parts of a mail.
pub fn decrypt(
    keyring: &Keyring,
    ciphertext: &[u8],
    extra_certs: &[Cert],
    max_output: u64,
) -> Result<Decrypted, Undecryptable> {
    decrypt_within(
        keyring,
        ciphertext,
        extra_certs,
        max_output,
        &mut Budget::default(),
    )
}

/// [`decrypt`], spending `budget`.
pub fn decrypt_within(
    keyring: &Keyring,
    ciphertext: &[u8],
    extra_certs: &[Cert],
    max_output: u64,
    budget: &mut Budget,
) -> Result<Decrypted, Undecryptable> {
    match decrypt_once(keyring, ciphertext, extra_certs, max_output, budget) {
        // A bad MPI shows as "Malformed MPI" or, when its bit count overruns
        // the packet, as an early end of data: both before any session key.
        Err(e) if matches!(e.failure, DecryptFailure::Malformed { .. }) => {
            let Some(fixed) = super::repair::repair_pkesk_mpis(ciphertext) else {
                return Err(e);
            };
            let mut d = decrypt_once(keyring, &fixed, extra_certs, max_output, budget)?;
            d.notes.push(
                "the session-key packet had a non-canonical MPI (accepted as GnuPG does)".into(),
            );
            Ok(d)
        }
        other => other,
    }
}

fn decrypt_once(
    keyring: &Keyring,
    ciphertext: &[u8],
    extra_certs: &[Cert],
    max_output: u64,
    budget: &mut Budget,
) -> Result<Decrypted, Undecryptable> {
    let trace = Rc::new(RefCell::new(Trace::default()));
    let helper = Helper {
        keyring,
        extra_certs,
        trace: trace.clone(),
        budget,
    };
    let fail = |failure: DecryptFailure, trace: &Rc<RefCell<Trace>>| Undecryptable {
        failure,
        recipients: trace.borrow().recipients.clone(),
    };
    let mut decryptor = match DecryptorBuilder::from_bytes(ciphertext)
        .and_then(|b| b.with_policy(keyring.policy(), None, helper))
    {
        Ok(d) => d,
        Err(e) => {
            let reason = failure_reason(&trace.borrow(), &e);
            return Err(fail(reason, &trace));
        }
    };
    let mut plaintext = Vec::new();
    let read = (&mut decryptor)
        .take(max_output.saturating_add(1))
        .read_to_end(&mut plaintext);
    if let Err(e) = read {
        let detail = error_chain(&e);
        return Err(fail(DecryptFailure::FailedPartWay { detail }, &trace));
    }
    if plaintext.len() as u64 > max_output {
        return Err(fail(DecryptFailure::TooLarge { limit: max_output }, &trace));
    }
    // Signatures are checked once the whole message was read.
    let finished = decryptor.message_processed();
    drop(decryptor);
    let t = trace.borrow();
    if !finished {
        return Err(fail(DecryptFailure::Truncated, &trace));
    }
    Ok(Decrypted {
        plaintext,
        recipients: t.recipients.clone(),
        key_used: t.key_used.clone().unwrap_or_default(),
        signature: t.signature.clone().unwrap_or(SignatureStatus::Unsigned),
        encrypted: t.encrypted,
        notes: Vec::new(),
    })
}

/// A reason a coordinator can act on, from what the helper saw and the error.
fn failure_reason(t: &Trace, e: &anyhow::Error) -> DecryptFailure {
    let detail = format!("{e:#}");
    if let (Some(reason), None) = (&t.gave_up, &t.key_used) {
        DecryptFailure::GaveUp {
            reason: reason.clone(),
        }
    } else if t.password_only && t.key_used.is_none() {
        DecryptFailure::PasswordOnly
    } else if t.no_key {
        DecryptFailure::NotOurKey
    } else if t.key_used.is_some() {
        DecryptFailure::DataUnusable { detail }
    } else {
        DecryptFailure::Malformed { detail }
    }
}

/// An error and its causes on one line (sequoia nests the useful part).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    let mut depth = 0;
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
        depth += 1;
        if depth > 8 {
            break;
        }
    }
    out
}
