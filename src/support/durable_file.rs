//! Files that must reach the disk: the directory tracker's issues and
//! attachments, and the outbox's messages.
//!
//! They are written to the operating system at once (so a crash of the
//! daemon loses none of them) and synced to the disk in the background, by
//! a few threads: a record's turn does not wait for the disk. [`settle`]
//! waits until everything written so far is on the disk; the state store
//! calls it before every `fdatasync` of its own ([`crate::store::Store::sync`]),
//! so a state that survives a power cut never refers to a file that did
//! not, and the work loop calls it (through the store) before it moves
//! the messages of a pass out of the inbox.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, OnceLock};

/// Threads syncing files at once: the disk serves several `fsync`s in one
/// journal commit, and the threads only wait.
const SYNC_THREADS: usize = 4;

#[derive(Default)]
struct Queue {
    pending: VecDeque<PathBuf>,
    in_flight: usize,
    /// The first failure since the last [`settle`].
    failed: Option<String>,
}

struct Syncer {
    queue: Mutex<Queue>,
    /// A path was queued (the threads wait on it).
    queued: Condvar,
    /// A sync finished ([`settle`] waits on it).
    finished: Condvar,
}

impl Syncer {
    /// A syncer with its threads (it lives as long as the process).
    fn start() -> &'static Syncer {
        let s: &'static Syncer = Box::leak(Box::new(Syncer {
            queue: Mutex::new(Queue::default()),
            queued: Condvar::new(),
            finished: Condvar::new(),
        }));
        for i in 0..SYNC_THREADS {
            let spawned = std::thread::Builder::new()
                .name(format!("secintake-sync-{i}"))
                .spawn(move || s.work());
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a disk sync thread");
            }
        }
        s
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A sync thread: takes the next path, syncs it, says so.
    fn work(&self) {
        loop {
            let path = {
                let mut q = self.lock();
                loop {
                    if let Some(p) = q.pending.pop_front() {
                        q.in_flight += 1;
                        break p;
                    }
                    q = self.queued.wait(q).unwrap_or_else(|e| e.into_inner());
                }
            };
            let result = std::fs::File::open(&path).and_then(|f| f.sync_all());
            let mut q = self.lock();
            q.in_flight -= 1;
            if let Err(e) = result {
                q.failed
                    .get_or_insert_with(|| format!("cannot sync {} to disk: {e}", path.display()));
            }
            drop(q);
            self.finished.notify_all();
        }
    }

    fn sync_later(&self, path: &Path) {
        let mut q = self.lock();
        // One sync not yet started covers every write made before it.
        if !q.pending.iter().any(|p| p == path) {
            q.pending.push_back(path.to_path_buf());
            drop(q);
            self.queued.notify_one();
        }
    }

    fn settle(&self) -> Result<(), String> {
        let mut q = self.lock();
        while !q.pending.is_empty() || q.in_flight > 0 {
            q = self.finished.wait(q).unwrap_or_else(|e| e.into_inner());
        }
        q.failed.take().map_or(Ok(()), Err)
    }
}

/// The process's syncer, started on first use.
fn syncer() -> &'static Syncer {
    static SYNCER: OnceLock<&'static Syncer> = OnceLock::new();
    SYNCER.get_or_init(Syncer::start)
}

/// Syncs `path` (a file, or a directory after an entry was added to it)
/// to the disk in the background, before [`settle`] returns.
pub fn sync_later(path: &Path) {
    syncer().sync_later(path);
}

/// Waits until every file passed to [`sync_later`] so far is on the disk;
/// the first failure since the last call, if any (the file may not have
/// reached the disk).
pub fn settle() -> Result<(), String> {
    syncer().settle()
}

/// Writes `data` to `path` whole or not at all (beside it, then renamed
/// over it); on the disk by the next [`settle`].
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::File::create(&tmp)?.write_all(data)?;
    std::fs::rename(&tmp, path)?;
    sync_later(path);
    if let Some(dir) = path.parent() {
        sync_later(dir);
    }
    Ok(())
}

/// Appends `data` to the existing file `path`; on the disk by the next
/// [`settle`].
pub fn append(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)?
        .write_all(data)?;
    sync_later(path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_files_are_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.md");
        write_atomic(&p, b"one").unwrap();
        append(&p, b" two").unwrap();
        write_atomic(&dir.path().join("b.md"), b"three").unwrap();
        settle().unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "one two");
        // No temporary file is left beside them.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn settle_waits_for_every_sync_and_reports_a_failure_once() {
        let s = Syncer::start();
        let dir = tempfile::tempdir().unwrap();
        for i in 0..20 {
            let p = dir.path().join(format!("{i}"));
            std::fs::write(&p, b"x").unwrap();
            s.sync_later(&p);
        }
        s.sync_later(&dir.path().join("gone"));
        let err = s.settle().unwrap_err();
        assert!(err.contains("gone"), "{err}");
        let q = s.lock();
        assert!(q.pending.is_empty() && q.in_flight == 0);
        drop(q);
        s.settle().unwrap();
    }
}
