//! Decrypts one OpenPGP message with the team's keys, recording which keys it
//! was encrypted to and what its signatures say. Output is bounded: a
//! compression bomb stops at `max_output` bytes.

use std::cell::RefCell;
use std::io::Read;
use std::rc::Rc;

use openpgp::cert::Cert;
use openpgp::crypto::SessionKey;
use openpgp::packet::{PKESK, SKESK};
use openpgp::parse::stream::{
    DecryptionHelper, DecryptorBuilder, MessageLayer, MessageStructure, VerificationHelper,
};
use openpgp::parse::Parse;
use openpgp::types::SymmetricAlgorithm;
use openpgp::{Fingerprint, KeyHandle};
use sequoia_openpgp as openpgp;
use serde::{Deserialize, Serialize};

use super::keyring::Keyring;

/// What the signatures inside an encrypted message said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SignatureStatus {
    Unsigned,
    Valid { signer: String },
    UnknownSigner { issuer: String },
    Bad { reason: String },
}

#[derive(Debug)]
pub struct Decrypted {
    pub plaintext: Vec<u8>,
    /// Key IDs / fingerprints the message was encrypted to (hex).
    pub recipients: Vec<String>,
    /// Fingerprint of our key that decrypted it.
    pub key_used: String,
    pub signature: SignatureStatus,
}

/// Why a message could not be decrypted; safe to show and to file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecryptable {
    pub reason: String,
    pub recipients: Vec<String>,
}

#[derive(Default)]
struct Trace {
    recipients: Vec<String>,
    key_used: Option<Fingerprint>,
    password_only: bool,
    signature: Option<SignatureStatus>,
}

struct Helper<'a> {
    keyring: &'a Keyring,
    extra_certs: &'a [Cert],
    trace: Rc<RefCell<Trace>>,
}

impl VerificationHelper for Helper<'_> {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        let mut certs = self.keyring.public_certs();
        certs.extend(self.extra_certs.iter().cloned());
        Ok(certs)
    }

    /// Records the outcome and always accepts: a bad or unknown signature
    /// must never drop a report; it is shown to the coordinators instead.
    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        let mut status = SignatureStatus::Unsigned;
        for layer in structure.into_iter() {
            if let MessageLayer::SignatureGroup { results } = layer {
                for result in results {
                    status = match result {
                        Ok(good) => SignatureStatus::Valid {
                            signer: good.ka.cert().fingerprint().to_hex(),
                        },
                        Err(e) => classify_verification_error(&e),
                    };
                    if matches!(status, SignatureStatus::Valid { .. }) {
                        break;
                    }
                }
            }
        }
        self.trace.borrow_mut().signature = Some(status);
        Ok(())
    }
}

fn classify_verification_error(e: &openpgp::parse::stream::VerificationError) -> SignatureStatus {
    use openpgp::parse::stream::VerificationError as V;
    match e {
        V::MissingKey { sig } => SignatureStatus::UnknownSigner {
            issuer: sig
                .get_issuers()
                .first()
                .map(|h| h.to_hex())
                .unwrap_or_else(|| "unknown".into()),
        },
        V::BadSignature { error, .. } => SignatureStatus::Bad {
            reason: error.to_string(),
        },
        other => SignatureStatus::Bad {
            reason: other.to_string(),
        },
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
            trace.recipients = pkesks
                .iter()
                .map(|p| match p.recipient() {
                    Some(h) => h.to_hex(),
                    None => "anonymous (wildcard)".into(),
                })
                .collect();
            trace.password_only = pkesks.is_empty() && !skesks.is_empty();
        }
        let keys = self.keyring.decryption_keys();
        // First the PKESKs addressed to one of our keys, then wildcard
        // (hidden-recipient) PKESKs against every key.
        for pkesk in pkesks {
            let Some(recipient) = pkesk.recipient() else {
                continue;
            };
            for key in keys.iter().filter(|k| recipient.aliases(k.key_handle())) {
                if self.try_key(pkesk, key, sym_algo, decrypt) {
                    return Ok(None);
                }
            }
        }
        for pkesk in pkesks.iter().filter(|p| p.recipient().is_none()) {
            for key in &keys {
                if self.try_key(pkesk, key, sym_algo, decrypt) {
                    return Ok(None);
                }
            }
        }
        Err(anyhow::anyhow!(
            "no configured secret key can decrypt this message"
        ))
    }
}

impl Helper<'_> {
    fn try_key(
        &self,
        pkesk: &PKESK,
        key: &openpgp::packet::Key<
            openpgp::packet::key::SecretParts,
            openpgp::packet::key::UnspecifiedRole,
        >,
        sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> bool {
        let Some(mut pair) = self.keyring.keypair(key) else {
            return false;
        };
        match pkesk.decrypt(&mut pair, sym_algo) {
            Some((algo, sk)) if decrypt(algo, &sk) => {
                self.trace.borrow_mut().key_used = Some(key.fingerprint());
                true
            }
            _ => false,
        }
    }
}

/// Decrypts `ciphertext` (binary or ASCII-armoured). `extra_certs` are
/// certificates at hand for signature checks (attached keys, Autocrypt).
pub fn decrypt(
    keyring: &Keyring,
    ciphertext: &[u8],
    extra_certs: &[Cert],
    max_output: u64,
) -> Result<Decrypted, Undecryptable> {
    let trace = Rc::new(RefCell::new(Trace::default()));
    let helper = Helper {
        keyring,
        extra_certs,
        trace: trace.clone(),
    };
    let fail = |reason: String, trace: &Rc<RefCell<Trace>>| Undecryptable {
        reason,
        recipients: trace.borrow().recipients.clone(),
    };
    let mut decryptor = match DecryptorBuilder::from_bytes(ciphertext)
        .and_then(|b| b.with_policy(keyring.policy(), None, helper))
    {
        Ok(d) => d,
        Err(e) => {
            let t = trace.borrow();
            let reason = if t.password_only {
                "encrypted with a password, not to a public key".to_string()
            } else if t.key_used.is_none() && !t.recipients.is_empty() {
                format!("not encrypted to any of our keys ({e})")
            } else {
                format!("malformed OpenPGP data: {e}")
            };
            drop(t);
            return Err(fail(reason, &trace));
        }
    };
    let mut plaintext = Vec::new();
    let read = (&mut decryptor)
        .take(max_output.saturating_add(1))
        .read_to_end(&mut plaintext);
    if let Err(e) = read {
        return Err(fail(format!("decryption failed part-way: {e}"), &trace));
    }
    if plaintext.len() as u64 > max_output {
        return Err(fail(
            format!(
                "decrypted content exceeds the limit of {max_output} bytes (compression bomb?)"
            ),
            &trace,
        ));
    }
    // Signatures are checked once the whole message was read.
    let finished = decryptor.message_processed();
    drop(decryptor);
    let t = trace.borrow();
    if !finished {
        return Err(fail(
            "message ended before its end (truncated)".into(),
            &trace,
        ));
    }
    Ok(Decrypted {
        plaintext,
        recipients: t.recipients.clone(),
        key_used: t.key_used.as_ref().map(|f| f.to_hex()).unwrap_or_default(),
        signature: t.signature.clone().unwrap_or(SignatureStatus::Unsigned),
    })
}
