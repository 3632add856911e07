//! Real servers for secintake's tests, each private to one test: its own temp
//! directory, ephemeral loopback ports, and a process stopped by PID on drop.
//!
//! With `CI=true` a server that cannot start is a test failure, never a skip
//! (see [`require`]).

pub mod dovecot;
pub mod github_fake;
pub mod imap_client;
pub mod ports;
pub mod postfix;
pub mod prism;
pub mod require;
pub mod smtp_sink;
pub mod sysroot;
