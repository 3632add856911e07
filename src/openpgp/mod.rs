//! OpenPGP: our secret keys ([`keyring`]), decryption with signature checks
//! ([`decrypt`]).

pub mod budget;
pub mod decrypt;
pub mod keyring;
pub mod lint;
pub mod repair;
pub mod unlock;
pub mod verify;

pub use budget::Budget;
pub use decrypt::{decrypt, decrypt_within, Decrypted, SignatureStatus, Undecryptable};
pub use keyring::{Keyring, KeyringError};
