//! Logging: journald under systemd, else stderr; `SECINTAKE_LOG_FORMAT=json`
//! for JSON lines; `SECINTAKE_LOG` (or `RUST_LOG`) sets the filter.
//!
//! Secrecy is by construction: events carry only allow-listed fields
//! (tracking IDs, sizes, states, error descriptions we wrote), never report
//! text, subjects of encrypted mail, or secrets (which are `Secret<T>`).

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = std::env::var("SECINTAKE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    // Dependencies log protocol details at debug/trace; keep them at info
    // unless explicitly asked for, so that no wire data reaches the log.
    let filter = EnvFilter::try_new(format!("warn,secintake={filter}"))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
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
                    .with_target(false),
            )
            .try_init();
    }
}
