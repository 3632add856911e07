//! Logging: journald under systemd, else stderr; `SECINTAKE_LOG_FORMAT=json`
//! for JSON lines on stderr.
//!
//! `SECINTAKE_LOG` (or `RUST_LOG`) is a tracing filter: `debug` puts
//! everything at debug, `secintake=debug` only this crate; unset means
//! `warn,secintake=info`.
//!
//! Secrecy is by construction, at every level: our events and spans carry
//! only allow-listed fields (tracking IDs, UIDs, sizes, states, error
//! descriptions we wrote), never report text, subjects of encrypted mail, or
//! secrets (which are `Secret<T>`). Dependencies are another matter: some log
//! wire data at trace, so [`SECRECY_CAPS`] bounds them whatever the filter
//! says. `tests/log_secrecy.rs` runs the whole pipeline with everything else
//! at trace and looks for the secrets in the output.

use std::io::IsTerminal;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Targets whose verbose levels carry protocol data, and the most verbose
/// level each may log at. Applied after the operator's filter and not
/// overridable by it.
pub const SECRECY_CAPS: &[(&str, LevelFilter)] = &[
    // async-imap traces every command it encodes (LOGIN with the password)
    // and every response it decodes (whole messages: plain report text).
    ("async_imap", LevelFilter::DEBUG),
    ("imap_proto", LevelFilter::DEBUG),
    // sled traces write batches with their values (raw messages, as bytes).
    ("sled", LevelFilter::DEBUG),
    // lettre (if its `tracing` feature is ever switched on) logs the SMTP
    // dialogue, AUTH included.
    ("lettre", LevelFilter::INFO),
    // HTTP stacks that can print headers (Authorization: the GitHub token)
    // when built with their tracing switched on.
    ("hyper", LevelFilter::DEBUG),
    ("h2", LevelFilter::DEBUG),
];

pub const DEFAULT_FILTER: &str = "warn,secintake=info";

/// The caps as a filter: everything at any level, except the capped targets.
pub fn secrecy_caps() -> Targets {
    SECRECY_CAPS.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |t, (target, level)| t.with_target(*target, *level),
    )
}

pub fn init() {
    let spec = std::env::var("SECINTAKE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| DEFAULT_FILTER.into());
    let filter = EnvFilter::try_new(&spec).unwrap_or_else(|_| {
        eprintln!("SECINTAKE_LOG is not a valid filter; using {DEFAULT_FILTER}");
        EnvFilter::new(DEFAULT_FILTER)
    });
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(secrecy_caps());
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        if let Ok(journald) = tracing_journald::layer() {
            let _ = registry.with(journald).try_init();
            return;
        }
    }
    let json = std::env::var("SECINTAKE_LOG_FORMAT").is_ok_and(|v| v == "json");
    if json {
        let _ = registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .try_init();
    } else {
        let _ = registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_target(true),
            )
            .try_init();
    }
}

/// Replaces the default panic message (which prints the panic's payload, and
/// a parser's payload can quote the mail it choked on) with one that names
/// only the thread and the source location. The pipeline logs a panic while
/// opening a message by tracking ID ([`crate::pipeline`]).
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "unknown".into());
        let thread = std::thread::current();
        let thread = thread.name().unwrap_or("unnamed");
        tracing::error!(thread, location = %location, "a thread panicked (payload not logged)");
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn caps_hold_whatever_the_filter() {
        let caps = secrecy_caps();
        assert!(!caps.would_enable("async_imap::imap_stream", &Level::TRACE));
        assert!(caps.would_enable("async_imap::imap_stream", &Level::DEBUG));
        assert!(!caps.would_enable("sled::tree", &Level::TRACE));
        assert!(!caps.would_enable("lettre::transport::smtp", &Level::DEBUG));
        assert!(caps.would_enable("secintake::daemon", &Level::TRACE));
        assert!(caps.would_enable("rustls::client", &Level::TRACE));
    }
}
