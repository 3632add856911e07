//! Signature checks outside an encrypted packet stream: RFC 3156
//! `multipart/signed` (a detached signature over a MIME entity) and the
//! certificates a message carries with it (attached keys, Autocrypt headers).
//!
//! A signature never decides whether a report is filed: the outcome is
//! recorded and shown to the coordinators.

use openpgp::cert::{Cert, CertParser};
use openpgp::parse::stream::{DetachedVerifierBuilder, MessageStructure, VerificationHelper};
use openpgp::parse::Parse;
use openpgp::KeyHandle;
use sequoia_openpgp as openpgp;

use super::keyring::Keyring;
pub use super::signature::combine;
use super::signature::{status_of, SignatureStatus};

/// Certificates bigger than this are not parsed (a key is a few KiB; a
/// hostile "key" should not cost more than that).
const MAX_CERT_BYTES: usize = 1 << 20;
/// At most this many certificates are taken from one message.
const MAX_CERTS: usize = 32;

/// Public certificates in `data` (armoured or binary); malformed ones are
/// skipped, secret key material is dropped.
pub fn certs_in(data: &[u8]) -> Vec<Cert> {
    if data.len() > MAX_CERT_BYTES {
        return Vec::new();
    }
    let Ok(parser) = CertParser::from_bytes(data) else {
        return Vec::new();
    };
    parser
        .filter_map(Result::ok)
        .take(MAX_CERTS)
        .map(Cert::strip_secret_key_material)
        .collect()
}

struct Helper<'a> {
    keyring: &'a Keyring,
    extra_certs: &'a [Cert],
    status: SignatureStatus,
}

impl VerificationHelper for Helper<'_> {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self.keyring.certs_for_verification(self.extra_certs))
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        self.status = combine(&self.status, status_of(structure));
        Ok(())
    }
}

/// Verifies a detached signature over `data`.
pub fn verify_detached(
    keyring: &Keyring,
    data: &[u8],
    signature: &[u8],
    extra_certs: &[Cert],
) -> SignatureStatus {
    let helper = Helper {
        keyring,
        extra_certs,
        status: SignatureStatus::Unsigned,
    };
    let verifier = DetachedVerifierBuilder::from_bytes(signature)
        .and_then(|b| b.with_policy(keyring.policy(), None, helper));
    let mut verifier = match verifier {
        Ok(v) => v,
        Err(e) => {
            return SignatureStatus::Bad {
                reason: format!("unreadable signature: {e}"),
            }
        }
    };
    if let Err(e) = verifier.verify_bytes(data) {
        return SignatureStatus::Bad {
            reason: format!("{e:#}"),
        };
    }
    verifier.into_helper().status
}
