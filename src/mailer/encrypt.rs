//! Encrypting our answer to the reporter (RFC 3156 PGP/MIME): the MIME
//! entity is signed with the team key and encrypted to the reporter's
//! transport-encryption keys.
//!
//! The reporter's certificate decides the format: Sequoia writes SEIPDv2
//! (AEAD) only when every recipient key advertises it in its features, so
//! keys made by GnuPG 2.2 (SEIPDv1 only) get SEIPDv1; the symmetric cipher
//! is the first of the certificate's preferences we support (AES-256 when
//! it states none). The signature is made by our first secret key's signing
//! key, under the standard policy.

use std::io::Write;

use sequoia_openpgp as openpgp;

use openpgp::cert::{Cert, Preferences};
use openpgp::crypto::KeyPair;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Armorer, Encryptor, LiteralWriter, Message, Recipient, Signer};
use openpgp::types::SymmetricAlgorithm;

use crate::openpgp::Keyring;

/// What an outgoing message is sealed with.
pub struct Protection {
    pub recipient: Cert,
    signer: KeyPair,
}

impl std::fmt::Debug for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Protection")
            .field("recipient", &self.recipient.fingerprint().to_hex())
            .field("signer", &self.signer.public().fingerprint().to_hex())
            .finish()
    }
}

/// Our signing key: the first cert with a live signing-capable secret key.
fn team_signer(keyring: &Keyring) -> Result<KeyPair, String> {
    let policy = StandardPolicy::new();
    for cert in keyring.certs() {
        let Ok(vc) = cert.with_policy(&policy, None) else {
            continue;
        };
        for ka in vc
            .keys()
            .secret()
            .supported()
            .alive()
            .revoked(false)
            .for_signing()
        {
            if let Some(pair) = keyring.keypair(&ka.key().clone().role_into_unspecified()) {
                return Ok(pair);
            }
        }
    }
    Err("no usable signing key among our secret keys (locked without a passphrase, expired or missing)".into())
}

impl Protection {
    pub fn new(keyring: &Keyring, recipient: Cert) -> Result<Protection, String> {
        Ok(Protection {
            recipient,
            signer: team_signer(keyring)?,
        })
    }

    /// Signs and encrypts `entity` (a whole MIME entity, headers included);
    /// ASCII-armoured.
    pub fn seal(&self, entity: &[u8]) -> Result<String, String> {
        let policy = StandardPolicy::new();
        let err =
            |what: &str, e: anyhow::Error| format!("encrypting the acknowledgement ({what}): {e}");
        let vc = self
            .recipient
            .with_policy(&policy, None)
            .map_err(|e| err("reporter key", e))?;
        let recipients: Vec<Recipient> = vc
            .keys()
            .supported()
            .alive()
            .revoked(false)
            .for_transport_encryption()
            .map(Recipient::from)
            .collect();
        if recipients.is_empty() {
            return Err("the reporter's key has no usable encryption key".into());
        }
        let supported = [
            SymmetricAlgorithm::AES256,
            SymmetricAlgorithm::AES192,
            SymmetricAlgorithm::AES128,
        ];
        let cipher = vc
            .preferred_symmetric_algorithms()
            .and_then(|prefs| prefs.iter().find(|a| supported.contains(a)).copied())
            .unwrap_or(SymmetricAlgorithm::AES256);
        let mut sink = Vec::new();
        {
            let message = Message::new(&mut sink);
            let message = Armorer::new(message)
                .build()
                .map_err(|e| err("armour", e))?;
            let message = Encryptor::for_recipients(message, recipients)
                .symmetric_algo(cipher)
                .build()
                .map_err(|e| err("encryptor", e))?;
            let message = Signer::new(message, self.signer.clone())
                .map_err(|e| err("signer", e))?
                .add_intended_recipient(&self.recipient)
                .build()
                .map_err(|e| err("signer", e))?;
            let mut w = LiteralWriter::new(message)
                .build()
                .map_err(|e| err("literal", e))?;
            w.write_all(entity).map_err(|e| err("write", e.into()))?;
            w.finalize().map_err(|e| err("finalize", e))?;
        }
        String::from_utf8(sink).map_err(|_| "armour is not UTF-8".into())
    }
}
