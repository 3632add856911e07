//! OpenPGP: our secret keys ([`keyring`]), decryption with signature checks
//! ([`decrypt`]).

pub mod decrypt;
pub mod keyring;
pub mod lint;
pub mod repair;
pub mod verify;

pub use decrypt::{decrypt, Decrypted, SignatureStatus, Undecryptable};
pub use keyring::{Keyring, KeyringError};
