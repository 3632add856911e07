//! The typed sections of the configuration, each read from its TOML table.

use std::path::PathBuf;
use std::time::Duration;

use super::reader::{Problems, Section};
use super::{default_poll, read_secret, Resolver};
use crate::secret::Secret;

#[derive(Debug, Clone)]
pub struct Instance {
    /// Tracking IDs look like `<PREFIX>-<YEAR>-<NNNN>`.
    pub tracking_prefix: String,
    /// Our own addresses: never acknowledged, used for loop protection.
    pub addresses: Vec<String>,
    pub state_dir: PathBuf,
}

impl Instance {
    pub(super) fn read(mut s: Section, p: &mut Problems) -> Option<Instance> {
        if !s.is_present() {
            p.add("instance", "section is required");
            return None;
        }
        let prefix = s.string("tracking_prefix", p);
        if let Some(prefix) = &prefix {
            let ok = !prefix.is_empty()
                && prefix.len() <= 16
                && prefix
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if !ok {
                p.add(
                    s.key("tracking_prefix"),
                    "must be 1 to 16 upper-case letters or digits",
                );
            }
        }
        let addresses = s.string_list("addresses", p);
        match &addresses {
            Some(list) if list.is_empty() => {
                p.add(s.key("addresses"), "must name at least one address")
            }
            Some(list) => {
                for a in list {
                    if !looks_like_address(a) {
                        p.add(
                            s.key("addresses"),
                            "each entry must be an address like security@example.org",
                        );
                        break;
                    }
                }
            }
            None if !s.has("addresses") => p.add(s.key("addresses"), "is required"),
            None => {}
        }
        let state_dir = s.string("state_dir", p).map(PathBuf::from);
        s.finish(p);
        Some(Instance {
            tracking_prefix: prefix?,
            addresses: addresses?.iter().map(|a| a.to_ascii_lowercase()).collect(),
            state_dir: state_dir?,
        })
    }
}

pub(crate) fn looks_like_address(a: &str) -> bool {
    match a.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !a
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        }
        None => false,
    }
}

/// How a connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Implicit TLS from the first byte.
    Tls,
    StartTls,
    /// No encryption: accepted for loopback hosts only.
    Plain,
}

fn read_security(
    s: &mut Section,
    default: Security,
    host: Option<&str>,
    p: &mut Problems,
) -> Security {
    let sec = match s.opt_string("security", p).as_deref() {
        None => default,
        Some("tls") => Security::Tls,
        Some("starttls") => Security::StartTls,
        Some("plain") => Security::Plain,
        Some(_) => {
            p.add(
                s.key("security"),
                "must be \"tls\", \"starttls\" or \"plain\"",
            );
            default
        }
    };
    if sec == Security::Plain {
        if let Some(host) = host {
            if !is_loopback_host(host) {
                p.add(
                    s.key("security"),
                    "\"plain\" is allowed only for a loopback host (localhost, 127.0.0.1, ::1)",
                );
            }
        }
    }
    sec
}

pub(crate) fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

#[derive(Debug, Clone)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub ca_file: Option<PathBuf>,
    pub username: String,
    pub password: Secret<String>,
    pub mailbox: String,
    pub processed_mailbox: String,
    pub idle: bool,
    pub poll_interval: Duration,
}

#[derive(Debug, Clone)]
pub struct MaildirSettings {
    /// A Maildir (`new/`, `cur/`, `tmp/`); processed mail moves to `.Processed/cur/` inside it.
    pub path: PathBuf,
    pub poll_interval: Duration,
}

#[derive(Debug, Clone)]
pub enum SourceSettings {
    Imap(ImapSettings),
    Maildir(MaildirSettings),
}

impl SourceSettings {
    pub(super) fn read(mut s: Section, r: &Resolver, p: &mut Problems) -> Option<SourceSettings> {
        if !s.is_present() {
            p.add("source", "section is required");
            return None;
        }
        let kind = s.string("kind", p);
        let imap = s.section("imap", p);
        let maildir = s.section("maildir", p);
        s.finish(p);
        match kind.as_deref() {
            Some("imap") => {
                if !imap.is_present() {
                    p.add(
                        "source.imap",
                        "section is required when source.kind = \"imap\"",
                    );
                    return None;
                }
                read_imap(imap, r, p).map(SourceSettings::Imap)
            }
            Some("maildir") => {
                if !maildir.is_present() {
                    p.add(
                        "source.maildir",
                        "section is required when source.kind = \"maildir\"",
                    );
                    return None;
                }
                let mut m = maildir;
                let path = m.string("path", p).map(PathBuf::from);
                let poll_interval = m.duration_or("poll_interval", Duration::from_secs(5), p);
                m.finish(p);
                Some(SourceSettings::Maildir(MaildirSettings {
                    path: path?,
                    poll_interval,
                }))
            }
            Some(_) => {
                p.add("source.kind", "must be \"imap\" or \"maildir\"");
                None
            }
            None => None,
        }
    }
}

fn read_imap(mut s: Section, r: &Resolver, p: &mut Problems) -> Option<ImapSettings> {
    let host = s.string("host", p);
    let security = read_security(&mut s, Security::Tls, host.as_deref(), p);
    let default_port = if security == Security::Tls { 993 } else { 143 };
    let port = s.port("port", default_port, p);
    let ca_file = s.opt_string("ca_file", p).map(|v| r.config_relative(&v));
    check_readable(&s, "ca_file", ca_file.as_ref(), p);
    let username = s.string("username", p);
    let password = read_secret(&mut s, "password_file", true, r, p);
    let mailbox = s.string_or("mailbox", "INBOX", p);
    let processed_mailbox = s.string_or("processed_mailbox", "Processed", p);
    if mailbox == processed_mailbox {
        p.add(s.key("processed_mailbox"), "must differ from mailbox");
    }
    let idle = s.bool_or("idle", true, p);
    let poll_interval = s.duration_or("poll_interval", default_poll(), p);
    if poll_interval.is_zero() {
        p.add(s.key("poll_interval"), "must be longer than 0s");
    }
    s.finish(p);
    Some(ImapSettings {
        host: host?,
        port,
        security,
        ca_file,
        username: username?,
        password: password?,
        mailbox,
        processed_mailbox,
        idle,
        poll_interval,
    })
}

fn check_readable(s: &Section, key: &str, path: Option<&PathBuf>, p: &mut Problems) {
    if let Some(path) = path {
        if let Err(e) = std::fs::metadata(path) {
            p.add(
                s.key(key),
                format!("cannot read file {}: {}", path.display(), e.kind()),
            );
        }
    }
}

#[derive(Debug, Clone)]
pub struct OpenPgpSettings {
    /// Files or directories holding our secret keys (all are tried).
    pub secret_keys: Vec<PathBuf>,
    pub passphrase: Option<Secret<String>>,
    /// Accept SHA-1 bindings and expired subkeys of our own keys, for decryption only.
    pub legacy_decrypt_only: bool,
    /// Public key files as published (web site, keyservers): `check` lints
    /// them like the secret keys.
    pub published_keys: Vec<PathBuf>,
    /// Certificate files (keyrings) trusted for checking reporters'
    /// signatures, besides keys attached to a message or in Autocrypt headers.
    pub verification_keyring: Vec<PathBuf>,
}

impl OpenPgpSettings {
    pub(super) fn read(mut s: Section, r: &Resolver, p: &mut Problems) -> Option<OpenPgpSettings> {
        if !s.is_present() {
            p.add("openpgp", "section is required");
            return None;
        }
        let keys = s.string_list("secret_keys", p);
        if keys.is_none() && !s.has("secret_keys") {
            p.add(s.key("secret_keys"), "is required");
        }
        let mut secret_keys = Vec::new();
        for k in keys.iter().flatten() {
            let path = r.secret_path(k);
            if let Err(e) = std::fs::metadata(&path) {
                p.add(
                    s.key("secret_keys"),
                    format!("cannot read {}: {}", path.display(), e.kind()),
                );
            }
            secret_keys.push(path);
        }
        if keys.as_ref().is_some_and(|k| k.is_empty()) {
            p.add(
                s.key("secret_keys"),
                "must name at least one key file or directory",
            );
        }
        let passphrase = read_secret(&mut s, "passphrase_file", false, r, p);
        let legacy_decrypt_only = s.bool_or("legacy_decrypt_only", false, p);
        let published_keys = key_file_list(&mut s, "published_keys", r, p);
        let verification_keyring = key_file_list(&mut s, "verification_keyring", r, p);
        s.finish(p);
        keys?;
        Some(OpenPgpSettings {
            secret_keys,
            passphrase,
            legacy_decrypt_only,
            published_keys,
            verification_keyring,
        })
    }
}

/// An optional list of key files beside the configuration; each must exist.
fn key_file_list(s: &mut Section, key: &str, r: &Resolver, p: &mut Problems) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for k in s.string_list(key, p).into_iter().flatten() {
        let path = r.config_relative(&k);
        if let Err(e) = std::fs::metadata(&path) {
            p.add(
                s.key(key),
                format!("cannot read {}: {}", path.display(), e.kind()),
            );
        }
        out.push(path);
    }
    out
}

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

/// `"label: keyword, keyword"` — the label goes on the issue when any keyword
/// occurs (case-insensitive, as a whole word) in the subject or report text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRule {
    pub label: String,
    pub keywords: Vec<String>,
}

impl LabelRule {
    pub fn parse(text: &str) -> Option<LabelRule> {
        let (label, words) = text.split_once(':')?;
        let label = label.trim().to_string();
        let keywords: Vec<String> = words
            .split(',')
            .map(|w| w.trim().to_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        (!label.is_empty() && label.len() <= 50 && !keywords.is_empty())
            .then_some(LabelRule { label, keywords })
    }

    /// Project Jupyter's subprojects.
    pub fn defaults() -> Vec<LabelRule> {
        [
            "jupyterhub: jupyterhub, jupyter-hub, zero-to-jupyterhub, z2jh, oauthenticator, kubespawner, dockerspawner, configurable-http-proxy",
            "jupyterlab: jupyterlab, jupyter-lab, jupyter lab",
            "notebook: jupyter notebook, jupyter/notebook, jupyter-notebook, nbclassic, notebook 7",
            "jupyter_server: jupyter_server, jupyter-server, jupyter server",
        ]
        .iter()
        .filter_map(|r| LabelRule::parse(r))
        .collect()
    }
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
    pub(super) fn read(mut s: Section, r: &Resolver, p: &mut Problems) -> Option<TrackerSettings> {
        if !s.is_present() {
            p.add("tracker", "section is required");
            return None;
        }
        let kind = s.string("kind", p);
        let github = s.section("github", p);
        let directory = s.section("directory", p);
        s.finish(p);
        match kind.as_deref() {
            Some("github") => {
                if !github.is_present() {
                    p.add(
                        "tracker.github",
                        "section is required when tracker.kind = \"github\"",
                    );
                    return None;
                }
                read_github(github, r, p).map(TrackerSettings::Github)
            }
            Some("directory") => {
                if !directory.is_present() {
                    p.add(
                        "tracker.directory",
                        "section is required when tracker.kind = \"directory\"",
                    );
                    return None;
                }
                let mut d = directory;
                let path = d.string("path", p).map(PathBuf::from);
                d.finish(p);
                Some(TrackerSettings::Directory(DirectorySettings {
                    path: path?,
                }))
            }
            Some(_) => {
                p.add("tracker.kind", "must be \"github\" or \"directory\"");
                None
            }
            None => None,
        }
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
    let auth = if s.has("token_file") {
        for k in ["app_id", "installation_id", "private_key_file"] {
            if s.has(k) {
                p.add(s.key(k), "cannot be combined with token_file");
            }
        }
        read_secret(&mut s, "token_file", true, r, p).map(GithubAuth::Token)
    } else if s.has("app_id") || s.has("installation_id") || s.has("private_key_file") {
        let app_id = s.opt_integer("app_id", 1..=i64::MAX, p);
        let installation_id = s.opt_integer("installation_id", 1..=i64::MAX, p);
        for (k, v) in [("app_id", app_id), ("installation_id", installation_id)] {
            if v.is_none() && !s.has(k) {
                p.add(s.key(k), "is required for GitHub App authentication");
            }
        }
        let private_key = read_secret(&mut s, "private_key_file", true, r, p);
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
    };
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

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub ca_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<Secret<String>>,
}

#[derive(Debug, Clone)]
pub struct OutboxSettings {
    pub path: PathBuf,
}

#[derive(Debug, Clone)]
pub enum MailerSettings {
    Smtp(SmtpSettings),
    Outbox(OutboxSettings),
}

impl MailerSettings {
    pub(super) fn read(mut s: Section, r: &Resolver, p: &mut Problems) -> Option<MailerSettings> {
        if !s.is_present() {
            p.add("mailer", "section is required");
            return None;
        }
        let kind = s.string("kind", p);
        let smtp = s.section("smtp", p);
        let outbox = s.section("outbox", p);
        s.finish(p);
        match kind.as_deref() {
            Some("smtp") => {
                if !smtp.is_present() {
                    p.add(
                        "mailer.smtp",
                        "section is required when mailer.kind = \"smtp\"",
                    );
                    return None;
                }
                read_smtp(smtp, r, p).map(MailerSettings::Smtp)
            }
            Some("outbox") => {
                if !outbox.is_present() {
                    p.add(
                        "mailer.outbox",
                        "section is required when mailer.kind = \"outbox\"",
                    );
                    return None;
                }
                let mut o = outbox;
                let path = o.string("path", p).map(PathBuf::from);
                o.finish(p);
                Some(MailerSettings::Outbox(OutboxSettings { path: path? }))
            }
            Some(_) => {
                p.add("mailer.kind", "must be \"smtp\" or \"outbox\"");
                None
            }
            None => None,
        }
    }
}

fn read_smtp(mut s: Section, r: &Resolver, p: &mut Problems) -> Option<SmtpSettings> {
    let host = s.string("host", p);
    let security = read_security(&mut s, Security::StartTls, host.as_deref(), p);
    let default_port = match security {
        Security::Tls => 465,
        Security::StartTls => 587,
        Security::Plain => 25,
    };
    let port = s.port("port", default_port, p);
    let ca_file = s.opt_string("ca_file", p).map(|v| r.config_relative(&v));
    check_readable(&s, "ca_file", ca_file.as_ref(), p);
    let username = s.opt_string("username", p);
    let password = read_secret(&mut s, "password_file", false, r, p);
    if username.is_some() != s.has("password_file") {
        p.add(s.key("username"), "username and password_file go together");
    }
    s.finish(p);
    Some(SmtpSettings {
        host: host?,
        port,
        security,
        ca_file,
        username,
        password,
    })
}

#[derive(Debug, Clone)]
pub struct AckSettings {
    /// `Name <address>` the acknowledgement comes from.
    pub from: String,
    pub reply_to: Option<String>,
    pub templates: PathBuf,
    pub response_window: Duration,
    pub disclosure_window: Duration,
    pub policy_url: String,
    /// Send a short receipt for follow-ups and resubmissions.
    pub followup_receipts: bool,
    /// Also address each of our messages (in the same SMTP transaction) to
    /// our first instance address, so that after a crash between the SMTP
    /// server accepting a message and the state write, the copy arriving in
    /// the watched mailbox proves it went out (see `pipeline::ack`).
    pub sent_copy: bool,
    /// How long to wait for that copy before concluding the message did not
    /// go out and sending it again (same Message-ID).
    pub sent_copy_wait: Duration,
    /// A directory of reporters' public keys (`*.asc`, `*.pgp`, `*.gpg`,
    /// any number of certificates per file), used besides keys attached to a
    /// report and its Autocrypt header to encrypt acknowledgements.
    pub reporter_keys: Option<PathBuf>,
    /// At most this many acknowledgements to one address per
    /// `per_address_window` ([`crate::ratecap`], addresses compared
    /// normalised); more are suppressed.
    pub per_address_max: u32,
    pub per_address_window: Duration,
    /// At most this many acknowledgements in all per `global_window`; more
    /// are postponed until the window has room, never dropped.
    pub global_max: u32,
    pub global_window: Duration,
    /// An acknowledgement still unsent this long before the response
    /// deadline raises an operator alert (log, status, metric).
    pub alert_before: Duration,
}

impl AckSettings {
    pub(super) fn read(mut s: Section, p: &mut Problems) -> Option<AckSettings> {
        if !s.is_present() {
            p.add("acknowledgement", "section is required");
            return None;
        }
        let from = s.string("from", p);
        if let Some(f) = &from {
            if from_address(f).is_none() {
                p.add(
                    s.key("from"),
                    "must be an address, optionally as \"Name <address>\"",
                );
            }
        }
        let reply_to = s.opt_string("reply_to", p);
        if reply_to
            .as_deref()
            .is_some_and(|r| from_address(r).is_none())
        {
            p.add(
                s.key("reply_to"),
                "must be an address, optionally as \"Name <address>\"",
            );
        }
        let templates = PathBuf::from(s.string_or("templates", "config/templates", p));
        let response_window = s.duration_or("response_window", Duration::from_secs(3 * 86_400), p);
        let disclosure_window =
            s.duration_or("disclosure_window", Duration::from_secs(90 * 86_400), p);
        let policy_url = s.string_or("policy_url", "https://jupyter.org/security", p);
        let followup_receipts = s.bool_or("followup_receipts", true, p);
        let sent_copy = s.bool_or("sent_copy", false, p);
        let sent_copy_wait = s.duration_or("sent_copy_wait", Duration::from_secs(600), p);
        let reporter_keys = s.opt_string("reporter_keys", p).map(PathBuf::from);
        let cap = |s: &mut Section, key: &str, default: u32, p: &mut Problems| {
            s.number_or(key, 1..=1_000_000, default, p)
        };
        let per_address_max = cap(&mut s, "per_address_max", 5, p);
        let per_address_window =
            s.duration_or("per_address_window", Duration::from_secs(86_400), p);
        let global_max = cap(&mut s, "global_max", 100, p);
        let global_window = s.duration_or("global_window", Duration::from_secs(3600), p);
        // A window under a second would make a cap count nothing.
        for (key, d) in [
            ("per_address_window", per_address_window),
            ("global_window", global_window),
        ] {
            if d < Duration::from_secs(1) {
                p.add(s.key(key), "must be at least 1s");
            }
        }
        let alert_before = s.duration_or("alert_before", Duration::from_secs(86_400), p);
        s.finish(p);
        Some(AckSettings {
            from: from?,
            reply_to,
            templates,
            response_window,
            disclosure_window,
            policy_url,
            followup_receipts,
            sent_copy,
            sent_copy_wait,
            reporter_keys,
            per_address_max,
            per_address_window,
            global_max,
            global_window,
            alert_before,
        })
    }
}

/// The bare address out of `Name <addr>` or `addr`.
pub fn from_address(text: &str) -> Option<String> {
    let addr = match (text.rfind('<'), text.rfind('>')) {
        (Some(a), Some(b)) if a < b => text.get(a + 1..b)?,
        (None, None) => text.trim(),
        _ => return None,
    };
    looks_like_address(addr).then(|| addr.to_string())
}

/// Bounds on hostile input.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_message_bytes: u64,
    pub max_decrypted_bytes: u64,
    pub max_mime_depth: u32,
    /// The header section of any (outer or decrypted) message.
    pub max_header_bytes: u64,
    /// Encrypted payloads opened per message (inline blocks, attachments, layers).
    pub max_payloads: u32,
    /// Report text kept inline; longer text is cut there and attached whole.
    pub max_text_bytes: u64,
    /// Attachments stored (tracker files) or shown inline per report; the
    /// rest are listed by name, size and SHA-256 only.
    pub max_attachments: u32,
    /// Bytes of attachments stored per report, all together; attachments
    /// that would pass it are listed only.
    pub max_upload_bytes: u64,
    /// MIME parts in any (outer, decrypted or attached) message, counted
    /// before any part is decoded, hashed or decrypted; more is "malformed".
    pub max_mime_parts: u32,
    /// Bytes of whole messages one intake pass brings in (IMAP: by
    /// `RFC822.SIZE`, before any body is fetched; Maildir: by file size),
    /// at least one message; the next pass follows at once.
    pub max_fetch_batch_bytes: u64,
    /// Wall-clock time one opening (decrypting and normalising a message)
    /// may take; past it the opening stops and counts as failed.
    pub open_budget: Duration,
    /// Failed session-key tries per key per message.
    pub max_key_attempts: u32,
    /// Anonymous-recipient (wildcard) session-key packets tried per message.
    pub max_wildcard_attempts: u32,
}

impl Limits {
    pub(super) fn read(mut s: Section, p: &mut Problems) -> Limits {
        let d = Limits::default();
        let limits = Limits {
            max_message_bytes: s.number_or(
                "max_message_bytes",
                1024..=1 << 34,
                d.max_message_bytes,
                p,
            ),
            max_decrypted_bytes: s.number_or(
                "max_decrypted_bytes",
                1024..=1 << 34,
                d.max_decrypted_bytes,
                p,
            ),
            max_mime_depth: s.number_or("max_mime_depth", 1..=100, d.max_mime_depth, p),
            max_header_bytes: s.number_or(
                "max_header_bytes",
                1024..=1 << 30,
                d.max_header_bytes,
                p,
            ),
            max_payloads: s.number_or("max_payloads", 1..=10_000, d.max_payloads, p),
            max_text_bytes: s.number_or("max_text_bytes", 1024..=1 << 30, d.max_text_bytes, p),
            max_attachments: s.number_or("max_attachments", 0..=10_000, d.max_attachments, p),
            max_upload_bytes: s.number_or("max_upload_bytes", 0..=1 << 34, d.max_upload_bytes, p),
            max_mime_parts: s.number_or("max_mime_parts", 1..=100_000, d.max_mime_parts, p),
            max_fetch_batch_bytes: s.number_or(
                "max_fetch_batch_bytes",
                1 << 16..=1 << 34,
                d.max_fetch_batch_bytes,
                p,
            ),
            open_budget: s.duration_or("open_budget", d.open_budget, p),
            max_key_attempts: s.number_or("max_key_attempts", 1..=100_000, d.max_key_attempts, p),
            max_wildcard_attempts: s.number_or(
                "max_wildcard_attempts",
                0..=1000,
                d.max_wildcard_attempts,
                p,
            ),
        };
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&limits.open_budget) {
            p.add(s.key("open_budget"), "must be between 1s and 1h");
        }
        s.finish(p);
        limits
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 64 << 20,
            max_decrypted_bytes: 128 << 20,
            max_mime_depth: 20,
            max_header_bytes: 1 << 20,
            max_payloads: 64,
            max_text_bytes: 1 << 20,
            max_attachments: 20,
            max_upload_bytes: 25 << 20,
            max_mime_parts: 5_000,
            max_fetch_batch_bytes: 32 << 20,
            open_budget: Duration::from_secs(60),
            max_key_attempts: crate::openpgp::budget::DEFAULT_KEY_ATTEMPTS,
            max_wildcard_attempts: crate::openpgp::budget::DEFAULT_WILDCARD_ATTEMPTS,
        }
    }
}

/// `[metrics]`: the Prometheus text endpoint (`/metrics`) and health check
/// (`/healthz`). Off unless `listen` is set; loopback addresses only, because
/// the endpoint has no authentication.
#[derive(Debug, Clone, Default)]
pub struct MetricsSettings {
    /// e.g. `127.0.0.1:9464`; port 0 picks a free port (logged and published
    /// in `status.json`).
    pub listen: Option<std::net::SocketAddr>,
}

impl MetricsSettings {
    pub(super) fn read(mut s: Section, p: &mut Problems) -> MetricsSettings {
        let listen = s.opt_string("listen", p).and_then(|text| {
            match text.parse::<std::net::SocketAddr>() {
                Ok(addr) if addr.ip().is_loopback() => Some(addr),
                Ok(_) => {
                    p.add(
                        s.key("listen"),
                        "must be a loopback address (127.0.0.1:PORT or [::1]:PORT): the endpoint has no authentication",
                    );
                    None
                }
                Err(_) => {
                    p.add(s.key("listen"), "must be an IP address and port, like 127.0.0.1:9464");
                    None
                }
            }
        });
        s.finish(p);
        MetricsSettings { listen }
    }
}
