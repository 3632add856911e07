//! Why a message could not be decrypted, as a type: the text shown to
//! coordinators and reporters comes from [`std::fmt::Display`], the fixed
//! metrics label from [`DecryptFailure::label`], and code that must react to
//! one cause (the MPI repair retry) matches the variant, never the text.

use std::fmt;

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecryptFailure {
    /// Only password-encrypted session keys (SKESK), no public-key ones.
    PasswordOnly,
    /// Session keys for other keys only; every key of ours was tried.
    NotOurKey,
    /// The packets could not be parsed before a session key was found.
    Malformed { detail: String },
    /// A session key was found, but the encrypted data is unusable.
    DataUnusable { detail: String },
    /// Reading the decrypted data failed part-way.
    FailedPartWay { detail: String },
    /// The decrypted content is larger than allowed (compression bomb?).
    TooLarge { limit: u64 },
    /// The message ended before its end.
    Truncated,
    /// Tries stopped at a session-key cap or the opening's deadline.
    GaveUp { reason: String },
    /// Not opened at all: the message was over the size limit.
    NotOpened { reason: String },
}

impl DecryptFailure {
    /// The metrics label (`secintake_decrypt_failures_total{reason=…}`).
    pub fn label(&self) -> &'static str {
        match self {
            DecryptFailure::PasswordOnly => "password_only",
            DecryptFailure::NotOurKey => "not_our_key",
            DecryptFailure::Malformed { .. } => "malformed_openpgp",
            DecryptFailure::DataUnusable { .. } => "other",
            DecryptFailure::FailedPartWay { .. } => "failed_part_way",
            DecryptFailure::TooLarge { .. } => "too_large",
            DecryptFailure::Truncated => "truncated",
            DecryptFailure::GaveUp { .. } => "attempt_cap",
            DecryptFailure::NotOpened { .. } => "too_large",
        }
    }
}

/// Serialised as the text a coordinator reads.
impl Serialize for DecryptFailure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for DecryptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecryptFailure::PasswordOnly => {
                f.write_str("encrypted with a password, not to a public key")
            }
            DecryptFailure::NotOurKey => f.write_str("not encrypted to any of our keys"),
            DecryptFailure::Malformed { detail } => write!(f, "malformed OpenPGP data: {detail}"),
            DecryptFailure::DataUnusable { detail } => write!(
                f,
                "decrypted the session key, but the encrypted data is unusable: {detail}"
            ),
            DecryptFailure::FailedPartWay { detail } => {
                write!(f, "decryption failed part-way: {detail}")
            }
            DecryptFailure::TooLarge { limit } => write!(
                f,
                "decrypted content exceeds the limit of {limit} bytes (compression bomb?)"
            ),
            DecryptFailure::Truncated => f.write_str("message ended before its end (truncated)"),
            DecryptFailure::GaveUp { reason } | DecryptFailure::NotOpened { reason } => {
                f.write_str(reason)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_has_a_label_and_a_text() {
        let all = [
            DecryptFailure::PasswordOnly,
            DecryptFailure::NotOurKey,
            DecryptFailure::Malformed { detail: "d".into() },
            DecryptFailure::DataUnusable { detail: "d".into() },
            DecryptFailure::FailedPartWay { detail: "d".into() },
            DecryptFailure::TooLarge { limit: 9 },
            DecryptFailure::Truncated,
            DecryptFailure::GaveUp {
                reason: "gave up after 3 failed tries".into(),
            },
            DecryptFailure::NotOpened {
                reason: "not opened".into(),
            },
        ];
        for f in &all {
            assert!(!f.to_string().is_empty());
            assert!(!f.label().is_empty());
        }
        assert_eq!(all[2].label(), "malformed_openpgp");
        assert_eq!(all[7].label(), "attempt_cap");
        assert!(all[5].to_string().contains("limit of 9 bytes"));
    }
}
