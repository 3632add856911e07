//! Our secret keys, unlocked once: when the keyring is built (at start and
//! on every reload), never per message or per session-key packet. Unlocking
//! a passphrase-protected key costs a passphrase derivation (S2K) and, for
//! RSA, preparing the private key; a hostile message with thousands of
//! session-key packets addressed to us used to pay that cost for each one.
//!
//! Each key is kept as a ready [`Decryptor`]: RSA keys as an
//! [`RsaCrt`] (one CRT private-key operation per session-key packet,
//! shared by every opening thread without a lock), other keys (ECDH) as
//! sequoia's [`KeyPair`](openpgp::crypto::KeyPair) behind a lock; a
//! prepared decryptor of another kind (a smartcard) slots in as another
//! boxed `Decryptor`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use openpgp::crypto::{Decryptor, Password, SessionKey};
use openpgp::packet::key::{SecretParts, UnspecifiedRole};
use openpgp::packet::{Key, PKESK};
use openpgp::types::SymmetricAlgorithm;
use openpgp::{Fingerprint, KeyHandle};
use sequoia_openpgp as openpgp;

use super::rsa_crt::RsaCrt;
use crate::support::secret::Secret;

/// Private-key operations tried in this process, by every key: the
/// benchmark and the tests show there is one per message.
static PRIVATE_OPERATIONS: AtomicU64 = AtomicU64::new(0);

/// How many private-key operations this process has tried so far.
pub fn private_operations() -> u64 {
    PRIVATE_OPERATIONS.load(Ordering::Relaxed)
}

/// A decryptor the keyring can share between openings on several threads.
pub type SharedDecryptor = Box<dyn Decryptor + Send + Sync>;

/// One secret key, ready to decrypt session keys.
pub struct DecryptionKey {
    fingerprint: Fingerprint,
    handle: KeyHandle,
    decryptor: Prepared,
}

/// How a key decrypts.
enum Prepared {
    /// RSA with CRT; decrypting takes `&self`.
    Rsa(Box<RsaCrt>),
    /// `Decryptor::decrypt` takes `&mut self`; the lock is held for one
    /// private-key operation.
    Locked(Mutex<SharedDecryptor>),
}

impl DecryptionKey {
    pub fn new(decryptor: SharedDecryptor) -> DecryptionKey {
        let public = decryptor.public();
        DecryptionKey {
            fingerprint: public.fingerprint(),
            handle: public.key_handle(),
            decryptor: Prepared::Locked(Mutex::new(decryptor)),
        }
    }

    /// A key prepared for RSA with CRT.
    pub fn rsa(decryptor: RsaCrt) -> DecryptionKey {
        let public = Decryptor::public(&decryptor);
        DecryptionKey {
            fingerprint: public.fingerprint(),
            handle: public.key_handle(),
            decryptor: Prepared::Rsa(Box::new(decryptor)),
        }
    }

    /// Whether this key decrypts with a prepared RSA-CRT key.
    pub fn is_rsa_crt(&self) -> bool {
        matches!(self.decryptor, Prepared::Rsa(_))
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
        PRIVATE_OPERATIONS.fetch_add(1, Ordering::Relaxed);
        match &self.decryptor {
            Prepared::Rsa(rsa) => pkesk.decrypt(&mut &**rsa, sym_algo),
            Prepared::Locked(lock) => {
                // A panic inside an earlier operation leaves the key itself intact.
                let mut guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
                pkesk.decrypt(&mut *guard, sym_algo)
            }
        }
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
    match RsaCrt::prepare(&key) {
        Ok(Some(rsa)) => return Ok(DecryptionKey::rsa(rsa)),
        Ok(None) => {}
        // Numbers OpenSSL cannot use for CRT: sequoia's decryptor (n, e, d)
        // still decrypts with them.
        Err(reason) => tracing::warn!(
            fingerprint = %key.fingerprint(),
            %reason,
            "RSA key not prepared for CRT; decrypting without it"
        ),
    }
    let pair = key
        .into_keypair()
        .map_err(|e| locked(&format!("cannot be used to decrypt: {e}")))?;
    Ok(DecryptionKey::new(Box::new(pair)))
}
