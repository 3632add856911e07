//! The team's secret keys. Several may be configured at once (key rotation);
//! all are tried. With `legacy_decrypt_only`, keys whose bindings use SHA-1 or
//! whose subkeys expired are still used to *decrypt* (never to sign), because
//! reporters keep encrypting to the key that is published, however old.
//!
//! The keys that decrypt are unlocked once, when the keyring is built
//! ([`super::unlock`]); [`Keyring::load`] (the daemon, `check`, a reload)
//! refuses a key that cannot be unlocked instead of failing per message.

use std::path::{Path, PathBuf};

use openpgp::cert::prelude::*;
use openpgp::crypto::{KeyPair, Password};
use openpgp::packet::key::{SecretParts, UnspecifiedRole};
use openpgp::packet::Key;
use openpgp::parse::Parse;
use openpgp::policy::{HashAlgoSecurity, StandardPolicy};
use openpgp::types::{HashAlgorithm, SymmetricAlgorithm};
use sequoia_openpgp as openpgp;

use super::unlock::{unlock, DecryptionKey, Locked};
use crate::config::OpenPgpSettings;
use crate::support::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("cannot read key file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path} holds no secret key material (a public key was configured as a secret key)")]
    NoSecret { path: PathBuf },
    #[error("no secret key is configured")]
    Empty,
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Locked(Vec<Locked>),
}

pub struct Keyring {
    certs: Vec<Cert>,
    passphrase: Option<Secret<String>>,
    legacy: bool,
    policy: StandardPolicy<'static>,
    /// Passwords tried on password-encrypted (SKESK) messages. Not
    /// configurable: the intake never expects such mail, but tests and tools
    /// that open the corpus's symmetric messages need them.
    passwords: Vec<Secret<String>>,
    /// Certificates trusted for signature checks (the configured
    /// verification keyring), in addition to those found in each message.
    verifiers: Vec<Cert>,
    /// The keys that decrypt, unlocked, in the order they are tried.
    decryptors: Vec<DecryptionKey>,
    /// Keys that would decrypt but could not be unlocked.
    locked: Vec<Locked>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("fingerprints", &self.fingerprints())
            .field("legacy", &self.legacy)
            .finish()
    }
}

/// Reads every cert in a file (a keyring may hold several).
pub fn read_certs(path: &Path) -> Result<Vec<Cert>, KeyringError> {
    let err = |reason: String| KeyringError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let parser = CertParser::from_file(path).map_err(|e| err(e.to_string()))?;
    let mut certs = Vec::new();
    for cert in parser {
        certs.push(cert.map_err(|e| err(e.to_string()))?);
    }
    if certs.is_empty() {
        return Err(err("no OpenPGP key found".into()));
    }
    Ok(certs)
}

fn key_files(path: &Path) -> Result<Vec<PathBuf>, KeyringError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path).map_err(|e| KeyringError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

impl Keyring {
    /// The configured keys, every decryption key unlocked: a key that cannot
    /// be (no or wrong passphrase) is an error here, at start or reload.
    pub fn load(settings: &OpenPgpSettings) -> Result<Keyring, KeyringError> {
        let mut certs = Vec::new();
        for path in &settings.secret_keys {
            for file in key_files(path)? {
                for cert in read_certs(&file)? {
                    if !cert.is_tsk() {
                        return Err(KeyringError::NoSecret { path: file });
                    }
                    certs.push(cert);
                }
            }
        }
        let keyring = Self::from_certs(
            certs,
            settings.passphrase.clone(),
            settings.legacy_decrypt_only,
        )?;
        if !keyring.locked.is_empty() {
            return Err(KeyringError::Locked(keyring.locked));
        }
        Ok(keyring)
    }

    /// A keyring of `certs`. Keys that cannot be unlocked with `passphrase`
    /// are left out of decryption and listed by [`Keyring::locked`] (a
    /// test keyring may hold keys with other passphrases).
    pub fn from_certs(
        certs: Vec<Cert>,
        passphrase: Option<Secret<String>>,
        legacy: bool,
    ) -> Result<Keyring, KeyringError> {
        if certs.is_empty() {
            return Err(KeyringError::Empty);
        }
        let policy = decryption_policy(legacy);
        let mut decryptors = Vec::new();
        let mut locked = Vec::new();
        for (key, required) in decryption_keys(&certs, &policy, legacy) {
            match unlock(&key, passphrase.as_ref()) {
                Ok(d) => decryptors.push(d),
                Err(l) if required => locked.push(l),
                // A legacy extra (a certification key, a subkey outside the
                // policy, an offline primary exported as a stub) that cannot
                // be unlocked was never going to decrypt: skipped.
                Err(_) => {}
            }
        }
        Ok(Keyring {
            certs,
            passphrase,
            legacy,
            policy,
            passwords: Vec::new(),
            verifiers: Vec::new(),
            decryptors,
            locked,
        })
    }

    /// Keys that would decrypt but could not be unlocked.
    pub fn locked(&self) -> &[Locked] {
        &self.locked
    }

    /// The unlocked decryption keys, in the order they are tried.
    pub(crate) fn decryptors(&self) -> &[DecryptionKey] {
        &self.decryptors
    }

    /// Adds passwords to try on password-encrypted (SKESK) messages.
    pub fn with_passwords(mut self, passwords: Vec<Secret<String>>) -> Keyring {
        self.passwords.extend(passwords);
        self
    }

    /// Adds certificates trusted for signature verification.
    pub fn with_verifiers(mut self, certs: Vec<Cert>) -> Keyring {
        self.verifiers.extend(certs);
        self
    }

    pub(crate) fn passwords(&self) -> &[Secret<String>] {
        &self.passwords
    }

    pub fn legacy(&self) -> bool {
        self.legacy
    }

    pub fn certs(&self) -> &[Cert] {
        &self.certs
    }

    /// The policy used to read messages: the standard policy, relaxed in
    /// legacy mode for what old keys and old clients still produce.
    pub fn policy(&self) -> &StandardPolicy<'static> {
        &self.policy
    }

    pub fn fingerprints(&self) -> Vec<String> {
        self.certs
            .iter()
            .map(|c| c.fingerprint().to_hex())
            .collect()
    }

    /// The key reporters should encrypt to: the first configured one.
    pub fn primary_fingerprint(&self) -> String {
        self.certs
            .first()
            .map(|c| c.fingerprint().to_hex())
            .unwrap_or_default()
    }

    /// Unlocks a secret key with the configured passphrase if it is
    /// protected (for signing; decryption keys are unlocked once, at build).
    pub(crate) fn keypair(&self, key: &Key<SecretParts, UnspecifiedRole>) -> Option<KeyPair> {
        let key = if key.secret().is_encrypted() {
            let pass = self.passphrase.as_ref()?;
            key.clone()
                .decrypt_secret(&Password::from(pass.expose().as_str()))
                .ok()?
        } else {
            key.clone()
        };
        key.into_keypair().ok()
    }

    /// Certificates a signature may be checked against: our own (public
    /// parts), the configured verification keyring, and `extra` (keys the
    /// message carried).
    pub(crate) fn certs_for_verification(&self, extra: &[Cert]) -> Vec<Cert> {
        self.certs
            .iter()
            .map(|c| c.clone().strip_secret_key_material())
            .chain(self.verifiers.iter().cloned())
            .chain(extra.iter().cloned())
            .collect()
    }
}

/// Secret keys that may decrypt, in the order they are tried: keys valid
/// for encryption under the standard policy first (required: they must
/// unlock), then (legacy mode) every other secret key of our certs.
fn decryption_keys(
    certs: &[Cert],
    policy: &StandardPolicy<'static>,
    legacy: bool,
) -> Vec<(Key<SecretParts, UnspecifiedRole>, bool)> {
    let mut keys: Vec<(Key<SecretParts, UnspecifiedRole>, bool)> = Vec::new();
    for cert in certs {
        if let Ok(valid) = cert.with_policy(policy, None) {
            for ka in valid
                .keys()
                .supported()
                .secret()
                .for_transport_encryption()
                .for_storage_encryption()
            {
                keys.push((ka.key().clone().role_into_unspecified(), true));
            }
        }
    }
    if legacy {
        for cert in certs {
            for ka in cert.keys().secret() {
                let k = ka.key().clone().role_into_unspecified();
                if !keys
                    .iter()
                    .any(|(have, _)| have.fingerprint() == k.fingerprint())
                {
                    keys.push((k, false));
                }
            }
        }
    }
    keys
}

/// The standard policy; with `legacy`, it also accepts SHA-1 where only
/// second pre-image resistance is needed (subkey binding signatures, the
/// common defect of keys made before 2019) and the old ciphers CAST5, IDEA
/// and 3DES inside integrity-protected data. Messages without integrity
/// protection stay rejected whatever the mode.
#[allow(deprecated)] // accepting the deprecated ciphers is the point
pub(crate) fn decryption_policy(legacy: bool) -> StandardPolicy<'static> {
    let mut policy = StandardPolicy::new();
    if legacy {
        policy.accept_hash_property(
            HashAlgorithm::SHA1,
            HashAlgoSecurity::SecondPreImageResistance,
        );
        for algo in [
            SymmetricAlgorithm::CAST5,
            SymmetricAlgorithm::IDEA,
            SymmetricAlgorithm::TripleDES,
        ] {
            policy.accept_symmetric_algo(algo);
        }
    }
    policy
}
