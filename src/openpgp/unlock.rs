//! Our secret keys, unlocked once: when the keyring is built (at start and
//! on every reload), never per message or per session-key packet. Unlocking
//! a passphrase-protected key costs a passphrase derivation (S2K) and, for
//! RSA, preparing the private key; a hostile message with thousands of
//! session-key packets addressed to us used to pay that cost for each one.
//!
//! Each key is kept as a ready [`Decryptor`]. Today that is sequoia's
//! [`KeyPair`](openpgp::crypto::KeyPair); a prepared decryptor of another
//! kind (an RSA-CRT one, a smartcard) slots in as another boxed
//! `Decryptor`.

use std::sync::{Mutex, PoisonError};

use openpgp::crypto::{Decryptor, Password, SessionKey};
use openpgp::packet::key::{SecretParts, UnspecifiedRole};
use openpgp::packet::{Key, PKESK};
use openpgp::types::SymmetricAlgorithm;
use openpgp::{Fingerprint, KeyHandle};
use sequoia_openpgp as openpgp;

use crate::support::secret::Secret;

/// A decryptor the keyring can share between openings on several threads.
pub type SharedDecryptor = Box<dyn Decryptor + Send + Sync>;

/// One secret key, ready to decrypt session keys.
pub struct DecryptionKey {
    fingerprint: Fingerprint,
    handle: KeyHandle,
    /// `Decryptor::decrypt` takes `&mut self`; the lock is held for one
    /// private-key operation.
    decryptor: Mutex<SharedDecryptor>,
}

impl DecryptionKey {
    pub fn new(decryptor: SharedDecryptor) -> DecryptionKey {
        let public = decryptor.public();
        DecryptionKey {
            fingerprint: public.fingerprint(),
            handle: public.key_handle(),
            decryptor: Mutex::new(decryptor),
        }
    }

    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// Whether a session-key packet names this key as its recipient.
    pub fn is_recipient_of(&self, pkesk: &PKESK) -> bool {
        pkesk.recipient().is_some_and(|r| r.aliases(&self.handle))
    }

    /// One private-key operation: the session key in `pkesk`, if this key
    /// can decrypt it.
    pub fn decrypt(
        &self,
        pkesk: &PKESK,
        sym_algo: Option<SymmetricAlgorithm>,
    ) -> Option<(Option<SymmetricAlgorithm>, SessionKey)> {
        // A panic inside an earlier operation leaves the key itself intact.
        let mut guard = self
            .decryptor
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        pkesk.decrypt(&mut *guard, sym_algo)
    }
}

/// Why a secret key could not be unlocked; names the key, never the passphrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub fingerprint: String,
    pub reason: String,
}

impl std::fmt::Display for Locked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "secret key {}: {}", self.fingerprint, self.reason)
    }
}

/// Unlocks `key` with `passphrase` when it is protected, and prepares it.
pub fn unlock(
    key: &Key<SecretParts, UnspecifiedRole>,
    passphrase: Option<&Secret<String>>,
) -> Result<DecryptionKey, Locked> {
    let locked = |reason: &str| Locked {
        fingerprint: key.fingerprint().to_hex(),
        reason: reason.to_string(),
    };
    let key = if key.secret().is_encrypted() {
        let Some(pass) = passphrase else {
            return Err(locked(
                "is protected by a passphrase, and no openpgp.passphrase_file is configured",
            ));
        };
        key.clone()
            .decrypt_secret(&Password::from(pass.expose().as_str()))
            .map_err(|_| locked("the configured passphrase does not unlock it"))?
    } else {
        key.clone()
    };
    let pair = key
        .into_keypair()
        .map_err(|e| locked(&format!("cannot be used to decrypt: {e}")))?;
    Ok(DecryptionKey::new(Box::new(pair)))
}
