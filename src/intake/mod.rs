//! Where mail comes from: an IMAP mailbox (IDLE, poll fallback) in
//! production, a Maildir directory for the demo and trials.

mod bounds;
pub mod imap;
pub mod maildir;

use std::time::Duration;

use crate::support::shutdown::Shutdown;

pub use bounds::FetchBounds;

use crate::record::SourceRef;
use crate::support::effect::Effect;

/// A message as fetched, before anything is decided about it.
pub struct Fetched {
    pub source: SourceRef,
    /// The whole message; for an oversized one, its header section only.
    pub raw: Vec<u8>,
    /// The message is over `[limits] max_message_bytes` (its size): it was
    /// not fetched whole, `raw` holds its header section (at most
    /// `max_header_bytes`), and it is filed as a stub from those headers.
    pub oversized: Option<u64>,
}

/// Why waiting for new mail ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Wake {
    NewMail,
    Timeout,
    Shutdown,
}

pub enum Source {
    Imap(Box<imap::ImapSource>),
    Maildir(maildir::MaildirSource),
}

impl Source {
    /// Fetches up to `max` messages whose position `known` does not
    /// recognise, oldest first. Fewer than `max` means none are left.
    pub async fn fetch_new(
        &mut self,
        known: &(dyn Fn(&SourceRef) -> bool + Sync),
        max: usize,
    ) -> Effect<Vec<Fetched>> {
        match self {
            Source::Imap(s) => s.fetch_new(known, max).await,
            Source::Maildir(s) => s.fetch_new(known, max),
        }
    }

    /// The last [`Source::fetch_new`] stopped at `[limits]
    /// max_fetch_batch_bytes` and more messages wait: take them in at once.
    pub fn more_waiting(&self) -> bool {
        match self {
            Source::Imap(s) => s.more_waiting,
            Source::Maildir(s) => s.more_waiting,
        }
    }

    /// Moves a finished message out of the inbox. Never deletes it.
    pub async fn archive(&mut self, source: &SourceRef, message_id: Option<&str>) -> Effect<()> {
        match self {
            Source::Imap(s) => s.archive(source, message_id).await,
            Source::Maildir(s) => s.archive(source),
        }
    }

    /// Waits for new mail, at most `timeout`, returning early on shutdown.
    pub async fn wait(&mut self, timeout: Duration, shutdown: &Shutdown) -> Wake {
        match self {
            Source::Imap(s) => s.wait(timeout, shutdown).await,
            Source::Maildir(_) => {
                tokio::select! {
                    _ = tokio::time::sleep(timeout) => Wake::Timeout,
                    _ = shutdown.wait() => Wake::Shutdown,
                }
            }
        }
    }

    pub async fn close(&mut self) {
        if let Source::Imap(s) = self {
            s.close().await;
        }
    }

    pub fn poll_interval(&self) -> Duration {
        match self {
            Source::Imap(s) => s.poll_interval(),
            Source::Maildir(s) => s.poll_interval,
        }
    }
}
