//! Files that must be on disk before the next step: the directory
//! tracker's issues and the outbox's messages.

use std::io::Write;
use std::path::Path;

/// Creates (or truncates) `path`, writes `data` and syncs it to disk.
pub fn write_synced(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(data)?;
    f.sync_all()
}
