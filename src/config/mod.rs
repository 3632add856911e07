//! Configuration: one TOML file turned into validated [`Settings`].
//!
//! Every problem is collected (see [`reader::Section`]) and reported at once,
//! naming keys and never values. Secrets are never inline: each is a `*_file`
//! whose relative path resolves against `$CREDENTIALS_DIRECTORY` (systemd
//! `LoadCredential=`) when set, else against the configuration file's
//! directory. Other relative paths (state, Maildir, output directories,
//! templates) resolve against the working directory.

mod ack;
mod advisories;
mod channels;
mod conversation;
mod dedupe;
pub mod duration;
mod instance;
mod labels;
mod lifecycle;
mod limits;
mod mailer;
mod metrics;
mod openpgp;
mod reader;
mod reminders;
mod shared;
mod source;
mod tracker;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use ack::{from_address, AckSettings};
pub use advisories::{AdvisorySettings, AdvisorySourceSettings, Scope as AdvisoryScope};
pub use channels::{Channels, Team};
pub use conversation::ConversationSettings;
pub use dedupe::DedupeSettings;
pub use instance::Instance;
pub use labels::{matching as matching_labels, LabelRule};
pub use lifecycle::{AfterClose, LifecycleSettings};
pub use limits::Limits;
pub use mailer::{MailerSettings, OutboxSettings, SmtpSettings};
pub use metrics::MetricsSettings;
pub use openpgp::OpenPgpSettings;
use reader::Section;
pub use reader::{Problem, Problems};
pub use reminders::ReminderSettings;
pub use shared::Security;
pub use source::{ImapSettings, MaildirSettings, SourceSettings};
pub use tracker::{DirectorySettings, GithubAuth, GithubSettings, TrackerSettings};

use crate::support::secret::Secret;

/// Everything the daemon needs, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config_path: PathBuf,
    pub instance: Instance,
    pub source: SourceSettings,
    pub openpgp: OpenPgpSettings,
    pub tracker: TrackerSettings,
    pub mailer: MailerSettings,
    pub ack: AckSettings,
    pub limits: Limits,
    pub metrics: MetricsSettings,
    pub dedupe: DedupeSettings,
    pub reminders: ReminderSettings,
    pub conversation: ConversationSettings,
    pub lifecycle: LifecycleSettings,
    /// `[advisories]`: GitHub Security Advisories taken in as reports.
    pub advisories: AdvisorySettings,
}

/// The configuration could not be used; `problems` lists every reason.
#[derive(Debug)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} configuration problem(s):", self.problems.len())?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Where relative paths point.
pub(crate) struct Resolver {
    config_dir: PathBuf,
    credentials_dir: Option<PathBuf>,
}

impl Resolver {
    fn new(config_path: &Path) -> Self {
        let config_dir = config_path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        // systemd's LoadCredential= directory when the service runs; by
        // hand (`secintake check` as root), the `credentials/` directory
        // beside the configuration that `secintake init` makes.
        let credentials_dir = std::env::var_os("CREDENTIALS_DIRECTORY")
            .map(PathBuf::from)
            .or_else(|| {
                let beside = config_dir.join("credentials");
                beside.is_dir().then_some(beside)
            });
        Resolver {
            config_dir,
            credentials_dir,
        }
    }

    /// A secret file: in `$CREDENTIALS_DIRECTORY`, else in `credentials/`
    /// beside the configuration when that exists, else beside the
    /// configuration.
    pub(crate) fn secret_path(&self, value: &str) -> PathBuf {
        let p = PathBuf::from(value);
        if p.is_absolute() {
            return p;
        }
        match &self.credentials_dir {
            Some(dir) => dir.join(p),
            None => self.config_dir.join(p),
        }
    }

    /// A file that belongs with the configuration (CA bundle, templates).
    pub(crate) fn config_relative(&self, value: &str) -> PathBuf {
        let p = PathBuf::from(value);
        if p.is_absolute() {
            p
        } else {
            self.config_dir.join(p)
        }
    }
}

/// Reads a secret from its file, trimming one trailing newline.
pub(crate) fn read_secret(
    section: &mut Section,
    key: &str,
    required: bool,
    resolver: &Resolver,
    problems: &mut Problems,
) -> Option<Secret<String>> {
    let value = if required {
        section.string(key, problems)
    } else {
        section.opt_string(key, problems)
    }?;
    let path = resolver.secret_path(&value);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let text = text.strip_suffix('\n').unwrap_or(&text);
            let text = text.strip_suffix('\r').unwrap_or(text);
            if text.is_empty() {
                problems.add(
                    section.key(key),
                    format!("file {} is empty", path.display()),
                );
                None
            } else {
                Some(Secret::new(text.to_string()))
            }
        }
        Err(e) => {
            problems.add(
                section.key(key),
                format!("cannot read file {}: {}", path.display(), e.kind()),
            );
            None
        }
    }
}

impl Settings {
    /// Loads and validates; every problem is reported at once.
    pub fn load(config_path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(config_path).map_err(|e| ConfigError {
            problems: vec![Problem {
                key: "(file)".into(),
                message: format!("cannot read {}: {e}", config_path.display()),
            }],
        })?;
        Self::parse(&text, config_path)
    }

    pub fn parse(text: &str, config_path: &Path) -> Result<Settings, ConfigError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError {
            // The TOML error's own text can quote the offending line, which may
            // hold a value; report only its position.
            problems: vec![Problem {
                key: "(syntax)".into(),
                message: match e.span() {
                    Some(span) => format!(
                        "not valid TOML near line {}",
                        text.get(..span.start)
                            .map(|t| t.lines().count())
                            .unwrap_or(0)
                            .max(1)
                    ),
                    None => "not valid TOML".into(),
                },
            }],
        })?;
        let resolver = Resolver::new(config_path);
        let mut problems = Problems::default();
        let mut root = Section::root(table);

        let instance = Instance::read(root.section("instance", &mut problems), &mut problems);
        let source = SourceSettings::read(
            root.section("source", &mut problems),
            &resolver,
            &mut problems,
        );
        let openpgp = OpenPgpSettings::read(
            root.section("openpgp", &mut problems),
            &resolver,
            &mut problems,
        );
        let tracker = TrackerSettings::read(
            root.section("tracker", &mut problems),
            &resolver,
            &mut problems,
        );
        let mailer = MailerSettings::read(
            root.section("mailer", &mut problems),
            &resolver,
            &mut problems,
        );
        let ack = AckSettings::read(
            root.section("acknowledgement", &mut problems),
            &mut problems,
        );
        let limits = Limits::read(root.section("limits", &mut problems), &mut problems);
        let metrics = MetricsSettings::read(root.section("metrics", &mut problems), &mut problems);
        let dedupe = DedupeSettings::read(root.section("dedupe", &mut problems), &mut problems);
        let reminders =
            ReminderSettings::read(root.section("reminders", &mut problems), &mut problems);
        let conversation =
            ConversationSettings::read(root.section("conversation", &mut problems), &mut problems);
        let lifecycle =
            LifecycleSettings::read(root.section("lifecycle", &mut problems), &mut problems);
        let advisories = AdvisorySettings::read(
            root.section("advisories", &mut problems),
            &resolver,
            &mut problems,
        );
        root.finish(&mut problems);

        match (instance, source, openpgp, tracker, mailer, ack) {
            (
                Some(instance),
                Some(source),
                Some(openpgp),
                Some(tracker),
                Some(mailer),
                Some(ack),
            ) if problems.0.is_empty() => Ok(Settings {
                config_path: config_path.to_path_buf(),
                instance,
                source,
                openpgp,
                tracker,
                mailer,
                ack,
                limits,
                metrics,
                dedupe,
                reminders,
                conversation,
                lifecycle,
                advisories,
            }),
            _ => Err(ConfigError {
                problems: problems.0,
            }),
        }
    }

    /// Where the advisory sources' API is: `[advisories] api_url`, else
    /// the tracker's, else GitHub's.
    pub fn advisories_api_url(&self) -> String {
        if let Some(u) = &self.advisories.api_url {
            return u.clone();
        }
        match &self.tracker {
            TrackerSettings::Github(g) => g.api_url.clone(),
            TrackerSettings::Directory(_) => "https://api.github.com/".into(),
        }
    }

    /// The domain part of our first address, used for generated Message-IDs.
    pub fn mail_domain(&self) -> String {
        self.instance
            .addresses
            .first()
            .and_then(|a| a.rsplit_once('@').map(|(_, d)| d.to_string()))
            .unwrap_or_else(|| "secintake.invalid".into())
    }
}

pub(crate) fn default_poll() -> Duration {
    Duration::from_secs(60)
}

#[cfg(test)]
mod tests;
