//! The outbox mailer: writes each message to `<dir>/<label>.eml`, atomically.
//! Writing the same label twice keeps the first: a resend is a no-op.

use std::path::PathBuf;

use crate::support::durable_file::write_synced;
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
        let tmp = self.dir.join(format!(".{}.tmp", mail.label));
        write_synced(&tmp, &mail.formatted).map_err(|e| err("cannot write to", e))?;
        std::fs::rename(&tmp, &path).map_err(|e| err("cannot rename in", e))?;
        Ok(())
    }

    pub fn check(&self) -> Effect<String> {
        std::fs::create_dir_all(&self.dir).map_err(|e| {
            EffectError::Permanent(format!("cannot create outbox {}: {e}", self.dir.display()))
        })?;
        Ok(format!("outbox at {}", self.dir.display()))
    }
}
