//! `[mailer]`: how acknowledgements leave (`smtp` or `outbox`).

use std::path::PathBuf;

use super::reader::{Problems, Section};
use super::shared::{check_readable, kind_section, read_security, Security};
use super::{read_secret, Resolver};
use crate::support::secret::Secret;

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
    pub(super) fn read(s: Section, r: &Resolver, p: &mut Problems) -> Option<MailerSettings> {
        let (kind, mut sub) = kind_section(s, &["smtp", "outbox"], p)?;
        if kind == "smtp" {
            return read_smtp(sub, r, p).map(MailerSettings::Smtp);
        }
        let path = sub.string("path", p).map(PathBuf::from);
        sub.finish(p);
        Some(MailerSettings::Outbox(OutboxSettings { path: path? }))
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
