//! What a message's signatures say, in one place for both ways a signature
//! is checked: inside an encrypted packet stream ([`super::decrypt`]) and
//! detached over a MIME entity ([`super::verify`]). A signature never
//! decides whether a report is filed: the outcome is recorded and shown to
//! the coordinators.

use openpgp::parse::stream::{MessageLayer, MessageStructure, VerificationError};
use sequoia_openpgp as openpgp;
use serde::{Deserialize, Serialize};

/// What the signatures of a message said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SignatureStatus {
    Unsigned,
    Valid { signer: String },
    UnknownSigner { issuer: String },
    Bad { reason: String },
}

/// The combined status of every signature sequoia checked in `structure`.
pub(super) fn status_of(structure: MessageStructure) -> SignatureStatus {
    let mut status = SignatureStatus::Unsigned;
    for layer in structure.into_iter() {
        if let MessageLayer::SignatureGroup { results } = layer {
            for result in results {
                let this = match result {
                    Ok(good) => SignatureStatus::Valid {
                        signer: good.ka.cert().fingerprint().to_hex(),
                    },
                    Err(e) => verification_error(&e),
                };
                status = combine(&status, this);
            }
        }
    }
    status
}

fn verification_error(e: &VerificationError) -> SignatureStatus {
    use VerificationError as V;
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

fn rank(s: &SignatureStatus) -> u8 {
    match s {
        SignatureStatus::Unsigned => 0,
        SignatureStatus::UnknownSigner { .. } => 1,
        SignatureStatus::Valid { .. } => 2,
        SignatureStatus::Bad { .. } => 3,
    }
}

/// The status to report when a message carries several signatures: a bad
/// one is always shown; otherwise a valid one beats an unknown signer.
pub fn combine(have: &SignatureStatus, new: SignatureStatus) -> SignatureStatus {
    if rank(&new) > rank(have) {
        new
    } else {
        have.clone()
    }
}
