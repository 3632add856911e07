//! `[tracker]`: where reports are filed (`github` or `directory`).

use std::path::PathBuf;
use std::time::Duration;

use super::labels::LabelRule;
use super::reader::{Problems, Section};
use super::shared::kind_section;
use super::{read_secret, Resolver};
use crate::support::secret::Secret;

#[derive(Debug, Clone)]
pub enum GithubAuth {
    Token(Secret<String>),
    App {
        app_id: u64,
        installation_id: u64,
        private_key: Secret<String>,
    },
}

#[derive(Debug, Clone)]
pub struct GithubSettings {
    pub api_url: String,
    pub owner: String,
    pub repo: String,
    pub auth: GithubAuth,
    pub labels: Vec<String>,
    /// Attachments up to this size are stored in the repository
    /// (`reports/<ID>/`) and linked; 0 stores none. Hashes are always listed.
    pub attachment_max_bytes: u64,
    /// Text attachments up to this size are also shown in the issue.
    pub inline_max_bytes: u64,
    /// Subproject labels: added when a keyword occurs in subject or text.
    pub label_rules: Vec<LabelRule>,
    /// First wait after GitHub failed; doubles per failure up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How often the repository is checked to be private while it is
    /// (more often while it is not; see `tracker::privacy`).
    pub privacy_check_interval: Duration,
}

#[derive(Debug, Clone)]
pub struct DirectorySettings {
    pub path: PathBuf,
}

#[derive(Debug, Clone)]
pub enum TrackerSettings {
    Github(GithubSettings),
    Directory(DirectorySettings),
}

impl TrackerSettings {
    pub(super) fn read(s: Section, r: &Resolver, p: &mut Problems) -> Option<TrackerSettings> {
        let (kind, mut sub) = kind_section(s, &["github", "directory"], p)?;
        if kind == "github" {
            return read_github(sub, r, p).map(TrackerSettings::Github);
        }
        let path = sub.string("path", p).map(PathBuf::from);
        sub.finish(p);
        Some(TrackerSettings::Directory(DirectorySettings {
            path: path?,
        }))
    }
}

fn read_github(mut s: Section, r: &Resolver, p: &mut Problems) -> Option<GithubSettings> {
    let api_url = s.string_or("api_url", "https://api.github.com/", p);
    if !(api_url.starts_with("https://")
        || api_url.starts_with("http://127.")
        || api_url.starts_with("http://localhost"))
    {
        p.add(
            s.key("api_url"),
            "must be an https:// URL (http:// only for loopback)",
        );
    }
    let repository = s.string("repository", p);
    let split = repository.as_deref().and_then(|r| {
        let (o, n) = r.split_once('/')?;
        let ok = |x: &str| {
            !x.is_empty()
                && x.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        (ok(o) && ok(n)).then(|| (o.to_string(), n.to_string()))
    });
    if repository.is_some() && split.is_none() {
        p.add(s.key("repository"), "must be \"owner/name\"");
    }
    let auth = read_auth(&mut s, r, p);
    let labels = s.string_list("labels", p).unwrap_or_default();
    let attachment_max_bytes: u64 = s.number_or("attachment_max_bytes", 0..=50 << 20, 10 << 20, p);
    let inline_max_bytes: u64 = s.number_or("inline_max_bytes", 0..=16 << 10, 8 << 10, p);
    let label_rules = match s.string_list("label_rules", p) {
        None => LabelRule::defaults(),
        Some(list) => {
            let rules: Vec<LabelRule> = list.iter().filter_map(|r| LabelRule::parse(r)).collect();
            if rules.len() != list.len() {
                p.add(
                    s.key("label_rules"),
                    "each entry must be \"label: keyword, keyword\"",
                );
            }
            rules
        }
    };
    let retry_base = s.duration_or("retry_base", Duration::from_secs(5), p);
    let retry_max = s.duration_or("retry_max", Duration::from_secs(600), p);
    let privacy_check_interval =
        s.duration_or("privacy_check_interval", Duration::from_secs(600), p);
    if !(Duration::from_secs(1)..=Duration::from_secs(86_400)).contains(&privacy_check_interval) {
        p.add(s.key("privacy_check_interval"), "must be from 1s to 1d");
    }
    s.finish(p);
    let (owner, repo) = split?;
    Some(GithubSettings {
        api_url,
        owner,
        repo,
        auth: auth?,
        labels,
        attachment_max_bytes,
        inline_max_bytes,
        label_rules,
        retry_base: retry_base.max(Duration::from_millis(100)),
        retry_max: retry_max.max(retry_base),
        privacy_check_interval,
    })
}

/// `token_file`, or `app_id` + `installation_id` + `private_key_file`: how
/// a GitHub client authenticates (the tracker, each advisory source).
pub(super) fn read_auth(s: &mut Section, r: &Resolver, p: &mut Problems) -> Option<GithubAuth> {
    if s.has("token_file") {
        for k in ["app_id", "installation_id", "private_key_file"] {
            if s.has(k) {
                p.add(s.key(k), "cannot be combined with token_file");
            }
        }
        read_secret(s, "token_file", true, r, p).map(GithubAuth::Token)
    } else if s.has("app_id") || s.has("installation_id") || s.has("private_key_file") {
        let app_id = s.opt_integer("app_id", 1..=i64::MAX, p);
        let installation_id = s.opt_integer("installation_id", 1..=i64::MAX, p);
        for (k, v) in [("app_id", app_id), ("installation_id", installation_id)] {
            if v.is_none() && !s.has(k) {
                p.add(s.key(k), "is required for GitHub App authentication");
            }
        }
        let private_key = read_secret(s, "private_key_file", true, r, p);
        match (app_id, installation_id, private_key) {
            (Some(a), Some(i), Some(k)) => Some(GithubAuth::App {
                app_id: a.unsigned_abs(),
                installation_id: i.unsigned_abs(),
                private_key: k,
            }),
            _ => None,
        }
    } else {
        p.add(
            s.key("token_file"),
            "is required (or app_id + installation_id + private_key_file)",
        );
        None
    }
}
