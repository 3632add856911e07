//! Key lint for `secintake check`: what in the team's keys makes reporters'
//! tools refuse them or weakens what they send. Findings are advice, never a
//! reason to stop: an old published key must keep receiving reports.
//!
//! Checked per certificate: SHA-1 (or older) self-signatures, which Sequoia's
//! standard policy rejects so that Sequoia-based clients cannot encrypt to
//! the key; no expiry; weak public-key algorithms and sizes; missing cipher
//! preferences or integrity-protection feature flags (senders then fall back
//! to 3DES or may omit integrity protection); user IDs that do not match
//! `instance.addresses`, in both directions.

use std::time::SystemTime;

use openpgp::cert::prelude::*;
use openpgp::packet::Signature;
use openpgp::policy::StandardPolicy;
use openpgp::types::{HashAlgorithm, PublicKeyAlgorithm};
use sequoia_openpgp as openpgp;

use super::keyring::decryption_policy;

/// One thing wrong with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Fingerprint of the certificate.
    pub cert: String,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.cert, self.message)
    }
}

fn weak_hash(h: HashAlgorithm) -> bool {
    matches!(
        h,
        HashAlgorithm::SHA1 | HashAlgorithm::MD5 | HashAlgorithm::RipeMD
    )
}

fn hash_name(h: HashAlgorithm) -> String {
    match h {
        HashAlgorithm::SHA1 => "SHA-1".into(),
        HashAlgorithm::MD5 => "MD5".into(),
        HashAlgorithm::RipeMD => "RIPEMD-160".into(),
        other => other.to_string(),
    }
}

/// The newest of a set of self-signatures (the one implementations use).
fn newest<'a>(sigs: impl Iterator<Item = &'a Signature>) -> Option<&'a Signature> {
    sigs.max_by_key(|s| s.signature_creation_time())
}

fn short(fpr: &str) -> &str {
    fpr.get(fpr.len().saturating_sub(16)..).unwrap_or(fpr)
}

/// Public-key algorithm problems of one key, if any.
fn weak_algorithm(algo: PublicKeyAlgorithm, bits: Option<usize>) -> Option<String> {
    #[allow(deprecated)]
    let legacy = matches!(
        algo,
        PublicKeyAlgorithm::DSA | PublicKeyAlgorithm::ElGamalEncrypt
    ) || matches!(algo, PublicKeyAlgorithm::ElGamalEncryptSign);
    if legacy {
        return Some(format!("uses {algo}, a deprecated algorithm"));
    }
    #[allow(deprecated)]
    let rsa = matches!(
        algo,
        PublicKeyAlgorithm::RSAEncryptSign
            | PublicKeyAlgorithm::RSAEncrypt
            | PublicKeyAlgorithm::RSASign
    );
    match bits {
        Some(b) if rsa && b < 2048 => Some(format!("is RSA-{b}: broken size")),
        Some(b) if rsa && b < 3072 => Some(format!(
            "is RSA-{b}: below the 3072 bits recommended beyond 2030"
        )),
        _ => None,
    }
}

/// Lints one certificate against the addresses reports are sent to.
pub fn lint_cert(cert: &Cert, addresses: &[String]) -> Vec<Finding> {
    let fpr = cert.fingerprint().to_hex();
    let mut out: Vec<String> = Vec::new();

    // Self-signatures: the newest binding of each user ID and subkey.
    for ua in cert.userids() {
        if let Some(sig) = newest(ua.self_signatures()) {
            if weak_hash(sig.hash_algo()) {
                out.push(format!(
                    "the self-signature on user ID {:?} uses {}",
                    String::from_utf8_lossy(ua.userid().value()),
                    hash_name(sig.hash_algo())
                ));
            }
        }
    }
    for ka in cert.keys().subkeys() {
        if let Some(sig) = newest(ka.self_signatures()) {
            if weak_hash(sig.hash_algo()) {
                out.push(format!(
                    "the binding signature of subkey {} uses {}",
                    short(&ka.key().fingerprint().to_hex()),
                    hash_name(sig.hash_algo())
                ));
            }
        }
    }
    if let Err(e) = cert.with_policy(&StandardPolicy::new(), None) {
        out.push(format!(
            "rejected by the OpenPGP standard policy of current tools (Sequoia): {e}"
        ));
    } else if cert
        .keys()
        .with_policy(&StandardPolicy::new(), None)
        .supported()
        .alive()
        .revoked(false)
        .for_transport_encryption()
        .next()
        .is_none()
    {
        out.push(
            "no encryption subkey is valid under the standard policy of current tools \
             (Sequoia): they cannot encrypt to this key"
                .into(),
        );
    }

    // Validity, expiry and preferences, read leniently so an old key is
    // still described.
    let lenient = decryption_policy(true);
    match cert.with_policy(&lenient, None) {
        Ok(vc) => {
            match vc.primary_key().key_expiration_time() {
                None => out.push("the primary key has no expiry date".into()),
                Some(t) if t <= SystemTime::now() => out.push("the primary key has expired".into()),
                Some(_) => {}
            }
            for ka in vc.keys().subkeys() {
                if let Some(t) = ka.key_expiration_time() {
                    if t <= SystemTime::now() && ka.for_transport_encryption() {
                        out.push(format!(
                            "encryption subkey {} has expired",
                            short(&ka.key().fingerprint().to_hex())
                        ));
                    }
                }
            }
            if let Ok(uid) = vc.primary_userid() {
                let sig = uid.binding_signature();
                match sig.preferred_symmetric_algorithms() {
                    None | Some([]) => out
                        .push("states no preferred ciphers: senders must fall back to 3DES".into()),
                    Some(_) => {}
                }
                let seipd = sig
                    .features()
                    .is_some_and(|f| f.supports_seipdv1() || f.supports_seipdv2());
                if !seipd {
                    out.push(
                        "does not announce integrity protection (features: SEIPD): \
                         senders may encrypt without it"
                            .into(),
                    );
                }
            }
        }
        Err(e) => out.push(format!("not a usable key even for decryption: {e}")),
    }

    // Algorithms and sizes.
    for ka in cert.keys() {
        let key = ka.key();
        if let Some(problem) = weak_algorithm(key.pk_algo(), key.mpis().bits()) {
            out.push(format!(
                "key {} {problem}",
                short(&key.fingerprint().to_hex())
            ));
        }
    }

    // User IDs against the addresses reports are sent to.
    let wanted: Vec<String> = addresses.iter().map(|a| a.to_ascii_lowercase()).collect();
    let mut have: Vec<String> = Vec::new();
    for ua in cert.userids() {
        let uid = ua.userid();
        match uid.email_normalized() {
            Ok(Some(email)) => {
                if !wanted.contains(&email) {
                    out.push(format!(
                        "user ID {:?} is not one of instance.addresses",
                        String::from_utf8_lossy(uid.value())
                    ));
                }
                have.push(email);
            }
            _ => out.push(format!(
                "user ID {:?} carries no e-mail address",
                String::from_utf8_lossy(uid.value())
            )),
        }
    }
    for address in &wanted {
        if !have.contains(address) {
            out.push(format!(
                "no user ID for {address}: reporters looking up that address will not find this key"
            ));
        }
    }

    out.into_iter()
        .map(|message| Finding {
            cert: fpr.clone(),
            message,
        })
        .collect()
}

/// Lints every certificate in a list.
pub fn lint_certs(certs: &[Cert], addresses: &[String]) -> Vec<Finding> {
    certs.iter().flat_map(|c| lint_cert(c, addresses)).collect()
}
