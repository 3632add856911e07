//! OpenPGP: our secret keys ([`keyring`], unlocked once by [`unlock`]),
//! decryption with signature checks ([`decrypt`]) within what one mail may
//! cost ([`budget`]).

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
