//! The outbox mailer: writes each message to `<dir>/<label>.eml`, atomically.
//! Writing the same label twice keeps the first: a resend is a no-op. On
//! the disk by the next [`crate::support::durable_file::settle`].

use std::path::PathBuf;

use crate::support::durable_file::write_atomic;
use crate::support::effect::{Effect, EffectError};

use super::Outgoing;

pub struct OutboxMailer {
    dir: PathBuf,
}

impl OutboxMailer {
    pub fn new(dir: PathBuf) -> Self {
        OutboxMailer { dir }
    }

    pub fn send(&self, mail: &Outgoing) -> Effect<()> {
        let err = |what: &str, e: std::io::Error| {
            EffectError::Transient(format!("outbox {what} {}: {e}", self.dir.display()))
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| err("cannot create", e))?;
        let path = self.dir.join(format!("{}.eml", mail.label));
        if path.exists() {
            return Ok(());
        }
        write_atomic(&path, &mail.formatted).map_err(|e| err("cannot write to", e))?;
        Ok(())
    }

    pub fn check(&self) -> Effect<String> {
        std::fs::create_dir_all(&self.dir).map_err(|e| {
            EffectError::Permanent(format!("cannot create outbox {}: {e}", self.dir.display()))
        })?;
        Ok(format!("outbox at {}", self.dir.display()))
    }
}
