//! The directory tracker: one Markdown file per issue (`NNNN-<ID>.md`),
//! comments appended to it. For the demo and for trials without GitHub.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use crate::record::Filing;
use crate::support::effect::{Effect, EffectError};

use super::activity::Activity;
use super::{has_marker, marker, CommentDraft, IssueDraft};
use crate::support::durable_file::{append, write_atomic};

pub struct DirectoryTracker {
    dir: PathBuf,
    /// The issue files as last listed, with the directory's modification
    /// time then: listed again only when the directory changed since
    /// (our own new issue is added to it as it is created).
    listing: Mutex<Option<Listing>>,
}

#[derive(Clone)]
struct Listing {
    modified: SystemTime,
    files: Vec<(u64, PathBuf)>,
}

pub(crate) const COMMENT_SEPARATOR: &str = "\n\n---\n\n";

fn io_err(what: &str, path: &Path, e: std::io::Error) -> EffectError {
    EffectError::Transient(format!("{what} {}: {e}", path.display()))
}

impl DirectoryTracker {
    pub fn new(dir: PathBuf) -> Self {
        DirectoryTracker {
            dir,
            listing: Mutex::new(None),
        }
    }

    fn listing(&self) -> MutexGuard<'_, Option<Listing>> {
        self.listing.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn modified(&self) -> Option<SystemTime> {
        std::fs::metadata(&self.dir).and_then(|m| m.modified()).ok()
    }

    /// The issue files, by number: as last listed when the directory has
    /// not changed since, else listed again.
    fn issue_files(&self) -> Effect<Vec<(u64, PathBuf)>> {
        Ok(self.listed()?.files)
    }

    fn listed(&self) -> Effect<Listing> {
        let modified = self.modified();
        if let Some(l) = self.listing().as_ref() {
            if Some(l.modified) == modified {
                return Ok(l.clone());
            }
        }
        let files = self.list_files()?;
        let listing = Listing {
            modified: modified.unwrap_or(SystemTime::UNIX_EPOCH),
            files,
        };
        // Changed while being listed: the next call lists again.
        *self.listing() = modified.map(|_| listing.clone());
        Ok(listing)
    }

    /// Adds the issue file just created to a listing that was complete
    /// before (`before`: the directory's time then); otherwise the next
    /// call lists the directory again. (The daemon is the only one to add
    /// issue files; a coordinator appends to them.)
    fn listed_new(&self, before: SystemTime, number: u64, path: PathBuf) {
        let now = self.modified();
        let mut guard = self.listing();
        match (guard.as_mut(), now) {
            (Some(l), Some(now)) if l.modified == before => {
                l.files.push((number, path));
                l.modified = now;
            }
            _ => *guard = None,
        }
    }

    /// The directory the issue files are in.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn list_files(&self) -> Effect<Vec<(u64, PathBuf)>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("cannot list", &self.dir, e)),
        };
        let mut files = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(n) = name
                .split_once('-')
                .and_then(|(n, rest)| rest.ends_with(".md").then_some(n))
                .and_then(|n| n.parse::<u64>().ok())
            {
                files.push((n, path));
            }
        }
        files.sort();
        Ok(files)
    }

    /// The title of issue `number` (its file's `# ` line).
    pub fn issue_title(&self, number: u64) -> Effect<String> {
        let path = self
            .issue_files()?
            .into_iter()
            .find(|(n, _)| *n == number)
            .map(|(_, p)| p)
            .ok_or_else(|| {
                EffectError::Permanent(format!("no issue {number} in {}", self.dir.display()))
            })?;
        let text = std::fs::read_to_string(&path).map_err(|e| io_err("cannot read", &path, e))?;
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix("# "))
            .unwrap_or("")
            .to_string())
    }

    fn url(path: &Path) -> String {
        format!(
            "file://{}",
            std::fs::canonicalize(path)
                .unwrap_or_else(|_| path.to_path_buf())
                .display()
        )
    }

    pub fn find(&self, tracking_id: &str, issue: Option<u64>) -> Effect<Option<Filing>> {
        for (n, path) in self.issue_files()? {
            if issue.is_some_and(|i| i != n) {
                continue;
            }
            let text =
                std::fs::read_to_string(&path).map_err(|e| io_err("cannot read", &path, e))?;
            for (i, chunk) in text.split(COMMENT_SEPARATOR).enumerate() {
                if has_marker(chunk, tracking_id) {
                    return Ok(Some(Filing {
                        issue: n,
                        comment_id: (i > 0).then_some(i as u64),
                        url: Self::url(&path),
                    }));
                }
            }
        }
        Ok(None)
    }

    /// Creates the issue file, unless the tracking ID has one already: the
    /// file's name carries it, so a repeat after a crash that lost the
    /// record's write finds the first file (no search needed).
    pub fn create_issue(&self, draft: &IssueDraft) -> Effect<Filing> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io_err("cannot create", &self.dir, e))?;
        let Listing { modified, files } = self.listed()?;
        let ours = format!("-{}.md", draft.tracking_id);
        if let Some((n, path)) = files.iter().find(|(_, p)| {
            p.file_name()
                .is_some_and(|f| f.to_string_lossy().ends_with(&ours))
        }) {
            return Ok(Filing {
                issue: *n,
                comment_id: None,
                url: Self::url(path),
            });
        }
        let number = files.last().map_or(1, |(n, _)| n + 1);
        let path = self
            .dir
            .join(format!("{number:04}-{}.md", draft.tracking_id));
        let labels = draft.labels.join(", ");
        // The marker line comes first so `find` recognises the file.
        let mut lines = draft.body.splitn(2, '\n');
        let marker = lines.next().unwrap_or("");
        let rest = lines.next().unwrap_or("");
        let content = format!("{marker}\n# {}\n\nLabels: {labels}\n\n{rest}", draft.title);
        write_atomic(&path, content.as_bytes()).map_err(|e| io_err("cannot write", &path, e))?;
        let url = Self::url(&path);
        self.listed_new(modified, number, path);
        Ok(Filing {
            issue: number,
            comment_id: None,
            url,
        })
    }

    fn issue_file(&self, number: u64) -> Effect<PathBuf> {
        self.issue_files()?
            .into_iter()
            .find(|(n, _)| *n == number)
            .map(|(_, p)| p)
            .ok_or_else(|| EffectError::Permanent(format!("issue {number} does not exist")))
    }

    /// The issue file up to its first comment.
    pub fn issue_body(&self, number: u64) -> Effect<String> {
        let path = self.issue_file(number)?;
        let text = std::fs::read_to_string(&path).map_err(|e| io_err("cannot read", &path, e))?;
        Ok(text
            .split(COMMENT_SEPARATOR)
            .next()
            .unwrap_or("")
            .to_string())
    }

    /// Replaces the issue file's part before its first comment (written
    /// beside it and renamed over it, so a crash leaves one or the other).
    pub fn set_issue_body(&self, number: u64, body: &str) -> Effect<()> {
        let path = self.issue_file(number)?;
        let text = std::fs::read_to_string(&path).map_err(|e| io_err("cannot read", &path, e))?;
        let comments = text
            .split_once(COMMENT_SEPARATOR)
            .map(|(_, c)| format!("{COMMENT_SEPARATOR}{c}"))
            .unwrap_or_default();
        let content = format!("{}{comments}", body.trim_end_matches('\n'));
        write_atomic(&path, content.as_bytes()).map_err(|e| io_err("cannot write", &path, e))
    }

    /// Adds labels to the file's `Labels:` line (each once).
    pub fn add_labels(&self, number: u64, labels: &[String]) -> Effect<()> {
        let body = self.issue_body(number)?;
        let mut out = Vec::new();
        for line in body.lines() {
            match line.strip_prefix("Labels:") {
                Some(have) => {
                    let mut names: Vec<String> = have
                        .split(',')
                        .map(|l| l.trim().to_string())
                        .filter(|l| !l.is_empty())
                        .collect();
                    for l in labels {
                        if !names.iter().any(|n| n.eq_ignore_ascii_case(l)) {
                            names.push(l.clone());
                        }
                    }
                    out.push(format!("Labels: {}", names.join(", ")));
                }
                None => out.push(line.to_string()),
            }
        }
        self.set_issue_body(number, &out.join("\n"))
    }

    pub fn comment(&self, draft: &CommentDraft) -> Effect<Filing> {
        let Some((_, path)) = self
            .issue_files()?
            .into_iter()
            .find(|(n, _)| *n == draft.issue)
        else {
            return Err(EffectError::Permanent(format!(
                "issue {} does not exist",
                draft.issue
            )));
        };
        let existing =
            std::fs::read_to_string(&path).map_err(|e| io_err("cannot read", &path, e))?;
        let index = existing.split(COMMENT_SEPARATOR).count() as u64;
        append(
            &path,
            format!("{COMMENT_SEPARATOR}{}", draft.body).as_bytes(),
        )
        .map_err(|e| io_err("cannot append to", &path, e))?;
        Ok(Filing {
            issue: draft.issue,
            comment_id: Some(index),
            url: Self::url(&path),
        })
    }

    /// Appends the continuation parts whose marker line is not in the file yet.
    pub fn continue_parts(&self, number: u64, parts: &[String]) -> Effect<()> {
        let Some((_, path)) = self.issue_files()?.into_iter().find(|(n, _)| *n == number) else {
            return Err(EffectError::Permanent(format!(
                "issue {number} does not exist"
            )));
        };
        for part in parts {
            let existing =
                std::fs::read_to_string(&path).map_err(|e| io_err("cannot read", &path, e))?;
            let first = part.lines().next().unwrap_or("").trim();
            if existing
                .split(COMMENT_SEPARATOR)
                .any(|chunk| chunk.lines().next().map(str::trim) == Some(first))
            {
                continue;
            }
            append(&path, format!("{COMMENT_SEPARATOR}{part}").as_bytes())
                .map_err(|e| io_err("cannot append to", &path, e))?;
        }
        Ok(())
    }

    /// Writes an attachment to `<dir>/<path>` (path from
    /// [`super::attachment_path`]: no `/..`, no absolute paths).
    pub fn store_file(&self, path: &str, data: &[u8]) -> Effect<Option<super::StoredFile>> {
        let target = self.dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_err("cannot create", parent, e))?;
        }
        write_atomic(&target, data).map_err(|e| io_err("cannot write", &target, e))?;
        Ok(Some(super::StoredFile {
            path: path.to_string(),
            url: Some(Self::url(&target)),
        }))
    }

    pub fn check(&self) -> Effect<String> {
        std::fs::create_dir_all(&self.dir).map_err(|e| {
            EffectError::Permanent(format!("cannot create {}: {e}", self.dir.display()))
        })?;
        Ok(format!("directory tracker at {}", self.dir.display()))
    }
}

/// A comment's ID in the directory tracker: its issue number and its
/// place in the file (1 = the first comment), unique over the directory.
pub fn comment_id(issue: u64, index: u64) -> u64 {
    issue
        .saturating_mul(COMMENT_IDS_PER_ISSUE)
        .saturating_add(index)
}

const COMMENT_IDS_PER_ISSUE: u64 = 1_000_000;

impl DirectoryTracker {
    /// Every comment of every issue file (commands are looked for in
    /// them, see [`crate::pipeline::conversation`]). A coordinator comments
    /// by appending a line `---` between blank lines and then the comment
    /// (first line the command) to the issue's file; whoever may write the
    /// directory may command, as login `local`. The time is the file's
    /// modification time; the listing is local, so it is read whole.
    pub fn comments(&self) -> Effect<super::comments::CommentBatch> {
        let mut batch = super::comments::CommentBatch::default();
        for (n, path) in self.issue_files()? {
            let text =
                std::fs::read_to_string(&path).map_err(|e| io_err("cannot read", &path, e))?;
            let modified = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .map_err(|e| io_err("cannot stat", &path, e))?;
            for (i, chunk) in text.split(COMMENT_SEPARATOR).enumerate().skip(1) {
                batch.comments.push(super::comments::IssueComment {
                    id: comment_id(n, i as u64),
                    issue: n,
                    login: "local".into(),
                    association: "OWNER".into(),
                    body: chunk.trim_start_matches('\n').to_string(),
                    updated_at: modified.into(),
                });
            }
        }
        Ok(batch)
    }
}

impl DirectoryTracker {
    /// The directory tracker: comments are the file's chunks after the first;
    /// ours start with a secintake marker, anything else was added by a person.
    /// Labels are not tracked there (a label line edited by hand is not seen).
    pub fn activity(&self, number: u64) -> Effect<Activity> {
        let dir = self.path();
        let prefix = format!("{number:04}-");
        let entries = std::fs::read_dir(dir)
            .map_err(|e| EffectError::Transient(format!("cannot list {}: {e}", dir.display())))?;
        let path = entries
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".md"))
            })
            .ok_or_else(|| EffectError::Permanent(format!("issue {number} does not exist")))?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| EffectError::Transient(format!("cannot read {}: {e}", path.display())))?;
        let mut activity = Activity {
            open: true,
            ..Activity::default()
        };
        for chunk in text.split(COMMENT_SEPARATOR).skip(1) {
            let first = chunk.lines().next().unwrap_or("").trim();
            if marker::is_ours(first) {
                activity.our_markers.push(first.to_string());
            } else if !chunk.trim().is_empty() {
                activity.coordinator = true;
            }
        }
        Ok(activity)
    }
}
