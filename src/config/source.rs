//! `[source]`: where mail comes from (`imap` or `maildir`).

use std::path::PathBuf;
use std::time::Duration;

use super::reader::{Problems, Section};
use super::shared::{check_readable, kind_section, read_security, Security};
use super::{default_poll, read_secret, Resolver};
use crate::support::secret::Secret;

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
    pub(super) fn read(s: Section, r: &Resolver, p: &mut Problems) -> Option<SourceSettings> {
        let (kind, mut sub) = kind_section(s, &["imap", "maildir"], p)?;
        if kind == "imap" {
            return read_imap(sub, r, p).map(SourceSettings::Imap);
        }
        let path = sub.string("path", p).map(PathBuf::from);
        let poll_interval = sub.duration_or("poll_interval", Duration::from_secs(5), p);
        sub.finish(p);
        Some(SourceSettings::Maildir(MaildirSettings {
            path: path?,
            poll_interval,
        }))
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
