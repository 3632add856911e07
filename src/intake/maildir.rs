//! The Maildir source: messages in `new/` and `cur/`; finished ones move to
//! the `.Processed/cur/` folder inside the same Maildir (Maildir++ layout).

use std::path::PathBuf;
use std::time::Duration;

use crate::config::MaildirSettings;
use crate::record::SourceRef;
use crate::support::effect::{Effect, EffectError};

use super::{FetchBounds, Fetched};

pub struct MaildirSource {
    root: PathBuf,
    pub poll_interval: Duration,
    bounds: FetchBounds,
    /// The last fetch stopped at `max_fetch_batch_bytes` with more waiting.
    pub more_waiting: bool,
}

impl MaildirSource {
    pub fn new(s: &MaildirSettings, bounds: FetchBounds) -> Self {
        MaildirSource {
            root: s.path.clone(),
            poll_interval: s.poll_interval,
            bounds,
            more_waiting: false,
        }
    }

    fn processed_dir(&self) -> PathBuf {
        self.root.join(".Processed").join("cur")
    }

    /// Up to `max` new messages, oldest name first, of at most
    /// `max_fetch_batch_bytes` together (at least one; oversized ones count
    /// by their headers only), as the IMAP source takes them.
    pub fn fetch_new(
        &mut self,
        known: &(dyn Fn(&SourceRef) -> bool + Sync),
        max: usize,
    ) -> Effect<Vec<Fetched>> {
        self.more_waiting = false;
        let mut out = Vec::new();
        let mut used: u64 = 0;
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
                let cannot = |e: std::io::Error| {
                    EffectError::Transient(format!("cannot read {}: {e}", path.display()))
                };
                let size = std::fs::metadata(&path).map_err(cannot)?.len();
                if size <= self.bounds.max_message_bytes {
                    if !out.is_empty()
                        && used.saturating_add(size) > self.bounds.max_fetch_batch_bytes
                    {
                        self.more_waiting = true;
                        return Ok(out);
                    }
                    used = used.saturating_add(size);
                }
                let fetched = self.read(&path).map_err(cannot)?;
                out.push(Fetched {
                    source,
                    raw: fetched.0,
                    oversized: fetched.1,
                });
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

impl MaildirSource {
    /// The message, or, when the file is over `max_message_bytes`, its
    /// header section (at most `max_header_bytes`) and its size, as the
    /// IMAP source does: an oversized message is never read whole.
    fn read(&self, path: &std::path::Path) -> std::io::Result<(Vec<u8>, Option<u64>)> {
        use std::io::Read;
        let file = std::fs::File::open(path)?;
        let size = file.metadata()?.len();
        let mut buf = Vec::new();
        if size > self.bounds.max_message_bytes {
            file.take(self.bounds.max_header_bytes)
                .read_to_end(&mut buf)?;
            let header =
                usize::try_from(crate::normalize::header_section_len(&buf)).unwrap_or(buf.len());
            buf.truncate(header);
            return Ok((buf, Some(size)));
        }
        // A file that grew since the stat is read up to the limit and one
        // byte more, so it is recognised as oversized when opened.
        file.take(self.bounds.max_message_bytes.saturating_add(1))
            .read_to_end(&mut buf)?;
        Ok((buf, None))
    }
}
