//! OpenPGP: our secret keys ([`keyring`], unlocked once by [`unlock`], RSA
//! prepared for CRT by [`rsa_crt`]),
//! decryption with signature checks ([`decrypt`]) within what one mail may
//! cost ([`budget`]).

pub mod budget;
pub mod decrypt;
pub mod failure;
pub mod keyring;
pub mod lint;
pub mod repair;
pub mod rsa_crt;
pub mod signature;
pub mod unlock;
pub mod verify;

pub use budget::Budget;
pub use decrypt::{decrypt, decrypt_within, Decrypted, Undecryptable};
pub use failure::DecryptFailure;
pub use keyring::{Keyring, KeyringError};
pub use signature::SignatureStatus;
