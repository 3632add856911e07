//! Building blocks that know nothing about reports: the outcome type of
//! side effects ([`effect`]), secrets that never print ([`secret`]), TLS
//! client configurations shared by IMAP and SMTP ([`tls`]), durably
//! written files ([`durable_file`]) and the shutdown and reload signals
//! every long-running part listens to ([`shutdown`]).

pub mod clock;
pub mod durable_file;
pub mod effect;
pub mod secret;
pub mod shutdown;
pub(crate) mod tls;
