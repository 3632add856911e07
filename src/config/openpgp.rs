//! `[openpgp]`: the team's secret keys and how they are unlocked.

use std::path::PathBuf;

use super::reader::{Problems, Section};
use super::{read_secret, Resolver};
use crate::support::secret::Secret;

#[derive(Debug, Clone)]
pub struct OpenPgpSettings {
    /// Files or directories holding our secret keys (all are tried).
    pub secret_keys: Vec<PathBuf>,
    pub passphrase: Option<Secret<String>>,
    /// Accept SHA-1 bindings and expired subkeys of our own keys, for decryption only.
    pub legacy_decrypt_only: bool,
    /// Public key files as published (web site, keyservers): `check` lints
    /// them like the secret keys.
    pub published_keys: Vec<PathBuf>,
    /// Certificate files (keyrings) trusted for checking reporters'
    /// signatures, besides keys attached to a message or in Autocrypt headers.
    pub verification_keyring: Vec<PathBuf>,
}

impl OpenPgpSettings {
    pub(super) fn read(mut s: Section, r: &Resolver, p: &mut Problems) -> Option<OpenPgpSettings> {
        if !s.required(p) {
            return None;
        }
        let keys = s.string_list("secret_keys", p);
        if keys.is_none() && !s.has("secret_keys") {
            p.add(s.key("secret_keys"), "is required");
        }
        let mut secret_keys = Vec::new();
        for k in keys.iter().flatten() {
            let path = r.secret_path(k);
            if let Err(e) = std::fs::metadata(&path) {
                p.add(
                    s.key("secret_keys"),
                    format!("cannot read {}: {}", path.display(), e.kind()),
                );
            }
            secret_keys.push(path);
        }
        if keys.as_ref().is_some_and(|k| k.is_empty()) {
            p.add(
                s.key("secret_keys"),
                "must name at least one key file or directory",
            );
        }
        let passphrase = read_secret(&mut s, "passphrase_file", false, r, p);
        let legacy_decrypt_only = s.bool_or("legacy_decrypt_only", false, p);
        let published_keys = key_file_list(&mut s, "published_keys", r, p);
        let verification_keyring = key_file_list(&mut s, "verification_keyring", r, p);
        s.finish(p);
        keys?;
        Some(OpenPgpSettings {
            secret_keys,
            passphrase,
            legacy_decrypt_only,
            published_keys,
            verification_keyring,
        })
    }
}

/// An optional list of key files beside the configuration; each must exist.
fn key_file_list(s: &mut Section, key: &str, r: &Resolver, p: &mut Problems) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for k in s.string_list(key, p).into_iter().flatten() {
        let path = r.config_relative(&k);
        if let Err(e) = std::fs::metadata(&path) {
            p.add(
                s.key(key),
                format!("cannot read {}: {}", path.display(), e.kind()),
            );
        }
        out.push(path);
    }
    out
}
