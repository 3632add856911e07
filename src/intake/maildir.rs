//! The Maildir source: messages in `new/` and `cur/`; finished ones move to
//! the `.Processed/cur/` folder inside the same Maildir (Maildir++ layout).

use std::path::PathBuf;
use std::time::Duration;

use crate::config::MaildirSettings;
use crate::record::SourceRef;
use crate::support::effect::{Effect, EffectError};

use super::Fetched;

pub struct MaildirSource {
    root: PathBuf,
    pub poll_interval: Duration,
    max_bytes: u64,
}

impl MaildirSource {
    pub fn new(s: &MaildirSettings, max_bytes: u64) -> Self {
        MaildirSource {
            root: s.path.clone(),
            poll_interval: s.poll_interval,
            max_bytes,
        }
    }

    fn processed_dir(&self) -> PathBuf {
        self.root.join(".Processed").join("cur")
    }

    pub fn fetch_new(
        &self,
        known: &(dyn Fn(&SourceRef) -> bool + Sync),
        max: usize,
    ) -> Effect<Vec<Fetched>> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let dir = self.root.join(sub);
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(EffectError::Transient(format!(
                        "cannot list {}: {e}",
                        dir.display()
                    )))
                }
            };
            let mut names: Vec<_> = entries
                .flatten()
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect();
            names.sort();
            for name in names {
                let source = SourceRef::Maildir {
                    file_name: format!("{sub}/{name}"),
                };
                if known(&source) {
                    continue;
                }
                if out.len() >= max {
                    return Ok(out);
                }
                let path = dir.join(&name);
                let raw = read_bounded(&path, self.max_bytes).map_err(|e| {
                    EffectError::Transient(format!("cannot read {}: {e}", path.display()))
                })?;
                out.push(Fetched { source, raw });
            }
        }
        Ok(out)
    }

    pub fn archive(&self, source: &SourceRef) -> Effect<()> {
        let SourceRef::Maildir { file_name } = source else {
            return Err(EffectError::Permanent(
                "record does not come from this Maildir".into(),
            ));
        };
        let from = self.root.join(file_name);
        let base = file_name.rsplit('/').next().unwrap_or(file_name);
        let dest_dir = self.processed_dir();
        let to = dest_dir.join(base);
        if !from.exists() && to.exists() {
            return Ok(()); // moved before a crash
        }
        std::fs::create_dir_all(&dest_dir)
            .and_then(|_| std::fs::rename(&from, &to))
            .map_err(|e| {
                EffectError::Transient(format!(
                    "cannot move {} to {}: {e}",
                    from.display(),
                    dest_dir.display()
                ))
            })
    }
}

/// Reads at most `max` + 1 bytes, so an oversized file is recognised without
/// being read whole.
fn read_bounded(path: &std::path::Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(max.saturating_add(1))
        .read_to_end(&mut buf)?;
    Ok(buf)
}
