//! `secintake check`: configuration, keys, templates and connectivity, every
//! problem listed at once. Exit 2 for configuration problems, 1 when only a
//! server could not be reached, 0 when everything is fine.

use chrono::Utc;

use crate::compose::Composer;
use crate::config::Settings;
use crate::daemon::{build_mailer, build_source, build_tracker};
use crate::normalize::{Encryption, Headers, Opened};
use crate::openpgp::{Keyring, SignatureStatus};
use crate::record::{Ack, Attempts, Facts, Kind, Record, SourceRef, State};
use crate::render::Templates;

#[derive(Debug, Default)]
pub struct Report {
    pub ok: Vec<String>,
    /// Configuration problems: exit code 2.
    pub config: Vec<String>,
    /// Reachability problems: exit code 1.
    pub connectivity: Vec<String>,
    /// Advice that does not stop the daemon (key lint): exit code unchanged.
    pub warnings: Vec<String>,
}

impl Report {
    pub fn exit_code(&self) -> i32 {
        if !self.config.is_empty() {
            2
        } else if !self.connectivity.is_empty() {
            1
        } else {
            0
        }
    }
}

fn sample_record(kind: Kind) -> Record {
    let now = Utc::now();
    Record {
        tracking_id: "SAMPLE-2026-0001".into(),
        state: State::Classified,
        received_at: now,
        source: SourceRef::Maildir {
            file_name: "sample".into(),
        },
        facts: Facts {
            message_id: Some("<sample@example.org>".into()),
            reply_address: Some("reporter@example.org".into()),
            encrypted: true,
            ..Facts::default()
        },
        kind: Some(kind),
        filing: None,
        file_attempts: Attempts::default(),
        ack: Ack::Pending,
        ack_attempts: Attempts::default(),
        archive_attempts: Attempts::default(),
        respond_by: now + chrono::Duration::days(3),
        disclose_by: now + chrono::Duration::days(90),
        related_note: None,
        watch: Default::default(),
        opening: Default::default(),
        lifecycle: Default::default(),
    }
}

fn sample_opened() -> Opened {
    Opened {
        headers: Headers {
            from: Some("reporter@example.org".into()),
            ..Headers::default()
        },
        subject: Some("Sample report".into()),
        encryption: Encryption::None,
        signature: SignatureStatus::Unsigned,
        text: "Sample report text".into(),
        attachments: Vec::new(),
        malformed: None,
        notes: Vec::new(),
        raw_size: 0,
        raw_sha256: String::new(),
        prepared: None,
    }
}

/// Key lint: the configured secret keys and the published key files,
/// against `instance.addresses`. Findings are warnings: an old key must keep
/// receiving reports while its successor is rolled out.
fn lint_keys(settings: &Settings, keyring: Option<&Keyring>, report: &mut Report) {
    use crate::openpgp::{keyring::read_certs, lint};
    let addresses = &settings.instance.addresses;
    let mut findings = Vec::new();
    if let Some(k) = keyring {
        findings.extend(lint::lint_certs(k.certs(), addresses));
    }
    for path in &settings.openpgp.published_keys {
        match read_certs(path) {
            Ok(certs) => {
                findings.extend(lint::lint_certs(&certs, addresses).into_iter().map(|f| {
                    lint::Finding {
                        message: format!("{} (published in {})", f.message, path.display()),
                        ..f
                    }
                }))
            }
            Err(e) => report.config.push(format!("openpgp.published_keys: {e}")),
        }
    }
    if findings.is_empty() {
        report.ok.push("key lint: no findings".into());
    }
    report
        .warnings
        .extend(findings.iter().map(|f| format!("key lint: {f}")));
}

/// Renders `/reply` and every `/notice` kind's mail, and our answer on
/// the issue, for `rec`.
fn check_conversation(composer: &Composer<'_>, rec: &Record) -> Result<(), String> {
    use crate::pipeline::commands::{Command, Notice};
    let ids = crate::mailer::message_id::MessageIds::derive(b"check");
    let mut commands = vec![Command::Reply { plain: false }];
    commands.extend(Notice::samples().into_iter().map(Command::Notice));
    for command in &commands {
        let mail = crate::compose::reply::ReplyMail {
            record: rec,
            comment_id: 1,
            command,
            text: "Sample text from a coordinator.",
            to: "reporter@example.org",
            in_reply_to: None,
            references: &[],
        };
        composer
            .reply_mail(&mail, None, &ids)
            .map_err(|e| format!("/{}: {e}", command.label()))?;
    }
    Ok(())
}

/// Renders every template with sample data.
fn check_templates(settings: &Settings, keyring: Option<&Keyring>, report: &mut Report) {
    let templates = match Templates::load(&settings.ack.templates) {
        Ok(t) => t,
        Err(errs) => {
            report.config.extend(errs.iter().map(|e| e.to_string()));
            return;
        }
    };
    let composer = Composer {
        settings,
        templates: &templates,
        key_fingerprint: keyring.map(|k| k.primary_fingerprint()).unwrap_or_default(),
    };
    let kinds = [
        Kind::New,
        Kind::Unreadable {
            reason: "sample".into(),
        },
        Kind::FollowUp {
            of: "SAMPLE-2026-0000".into(),
        },
    ];
    let mut failed = false;
    for kind in kinds {
        let rec = sample_record(kind);
        let opened = sample_opened();
        if let Err(e) = composer.issue(&rec, &opened) {
            report.config.push(e.to_string());
            failed = true;
        }
        if let Err(e) = composer.comment(&rec, &opened, 1) {
            report.config.push(e.to_string());
            failed = true;
        }
        if let Err(e) = composer.ack(
            &rec,
            "reporter@example.org",
            &crate::mailer::message_id::MessageIds::derive(b"check"),
        ) {
            report.config.push(format!("acknowledgement: {e}"));
            failed = true;
        }
        if let Err(e) = check_conversation(&composer, &rec) {
            report.config.push(e);
            failed = true;
        }
        for kind in [
            crate::compose::ReminderKind::Response,
            crate::compose::ReminderKind::Disclosure,
        ] {
            if let Err(e) = composer.reminder(&rec, kind, Utc::now()) {
                report.config.push(format!("reminder: {e}"));
                failed = true;
            }
        }
    }
    if !failed {
        report.ok.push(format!(
            "templates render ({})",
            settings.ack.templates.display()
        ));
    }
}

/// Files the service reads as its dynamic user (`DynamicUser=` in the
/// unit), which no group can name: the configuration, the templates and
/// CA files must be readable by others, or the service stops at start
/// with "Permission denied" although `check` run by root passed. Secrets
/// are exempt: systemd hands them over (`LoadCredential=`).
pub fn unreadable_by_service(config: &std::path::Path, settings: &Settings) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut paths = vec![config.to_path_buf(), settings.ack.templates.clone()];
    if let crate::config::SourceSettings::Imap(i) = &settings.source {
        paths.extend(i.ca_file.clone());
    }
    if let crate::config::MailerSettings::Smtp(m) = &settings.mailer {
        paths.extend(m.ca_file.clone());
    }
    let mut out = Vec::new();
    for p in paths {
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        // Files need o+r, directories o+rx.
        let need = if meta.is_dir() { 0o005 } else { 0o004 };
        let mode = meta.permissions().mode() & 0o777;
        if mode & need != need {
            out.push(format!(
                "{} is mode {mode:04o}: the service's dynamic user cannot read it (make it readable by others: it holds no secret)",
                p.display()
            ));
        }
    }
    out
}

pub async fn run(settings: &Settings, connectivity: bool) -> Report {
    let mut report = Report::default();
    let keyring = match Keyring::load(&settings.openpgp) {
        Ok(k) => {
            report.ok.push(format!(
                "{} secret key(s): {}",
                k.certs().len(),
                k.fingerprints().join(", ")
            ));
            Some(k)
        }
        Err(e) => {
            report.config.push(format!("openpgp.secret_keys: {e}"));
            None
        }
    };
    check_templates(settings, keyring.as_ref(), &mut report);
    lint_keys(settings, keyring.as_ref(), &mut report);
    if !connectivity {
        return report;
    }
    match build_tracker(settings) {
        Ok(t) => match t.check().await {
            Ok(m) => report.ok.push(m),
            Err(e) if e.is_permanent() => report.config.push(format!("tracker: {e}")),
            Err(e) => report.connectivity.push(format!("tracker: {e}")),
        },
        Err(e) => report.config.push(format!("tracker: {e}")),
    }
    match crate::daemon::build_advisory_clients(settings) {
        Ok(clients) => {
            for c in clients {
                match c.check().await {
                    Ok(m) => report.ok.push(m),
                    Err(e) if e.is_permanent() => report.config.push(e.to_string()),
                    Err(e) => report
                        .connectivity
                        .push(format!("{}: {e}", c.scope.label())),
                }
            }
        }
        Err(e) => report.config.push(format!("advisories: {e}")),
    }
    match build_mailer(settings) {
        Ok(m) => match m.check().await {
            Ok(msg) => report.ok.push(msg),
            Err(e) => report.connectivity.push(format!("mailer: {e}")),
        },
        Err(e) => report.config.push(format!("mailer: {e}")),
    }
    let mut source = build_source(settings);
    match source.fetch_new(&|_| true, 0).await {
        Ok(_) => report.ok.push("mail source reachable".into()),
        Err(e) if e.is_permanent() => report.config.push(format!("source: {e}")),
        Err(e) => report.connectivity.push(format!("source: {e}")),
    }
    source.close().await;
    report
}
