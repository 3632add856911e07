//! SMTP submission with lettre: implicit TLS, STARTTLS (required, never
//! opportunistic), or plain on loopback; an optional extra CA for private PKI.

mod connection;

use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::sync::Mutex;

use crate::config::{Security, SmtpSettings};
use crate::support::effect::{Effect, EffectError};

use super::Outgoing;
use connection::{outcome, Connector};

/// A kept connection older than this is closed rather than reused (as
/// lettre's pool did).
const IDLE_MAX: Duration = Duration::from_secs(60);
/// One transaction (MAIL … DATA … 250) may take this long.
const SEND_TIMEOUT: Duration = Duration::from_secs(120);

/// Sends over one kept connection (acknowledgements go out one at a time),
/// opened by [`Connector`] with `TCP_NODELAY`; NOOP checks it before reuse,
/// and any error drops it.
pub struct SmtpMailer {
    connector: Box<Connector>,
    kept: Mutex<Option<(Box<AsyncSmtpConnection>, Instant)>>,
    host: String,
}

impl SmtpMailer {
    pub fn new(s: &SmtpSettings) -> anyhow::Result<SmtpMailer> {
        let (mut starttls, mut implicit) = (None, None);
        if s.security != Security::Plain {
            let mut params = TlsParameters::builder(s.host.clone());
            if let Some(ca) = &s.ca_file {
                let pem = std::fs::read(ca)
                    .map_err(|e| anyhow::anyhow!("mailer.smtp.ca_file {}: {e}", ca.display()))?;
                let cert = Certificate::from_pem(&pem).map_err(|_| {
                    anyhow::anyhow!(
                        "mailer.smtp.ca_file {} is not a PEM certificate",
                        ca.display()
                    )
                })?;
                params = params.add_root_certificate(cert);
            }
            match s.security {
                Security::Tls => {
                    implicit = Some(crate::support::tls::client_config(s.ca_file.as_deref())?)
                }
                _ => starttls = Some(params.build_rustls()?),
            }
        }
        let credentials = match (&s.username, &s.password) {
            (Some(user), Some(pass)) => Some(Credentials::new(user.clone(), pass.expose().clone())),
            _ => None,
        };
        Ok(SmtpMailer {
            connector: Box::new(Connector {
                host: s.host.clone(),
                port: s.port,
                security: s.security,
                starttls,
                implicit,
                credentials,
                hello: ClientId::default(),
            }),
            kept: Mutex::new(None),
            host: s.host.clone(),
        })
    }

    /// One transaction on the kept connection, or on a new one.
    async fn transact(&self, envelope: &Envelope, formatted: &[u8]) -> Effect<()> {
        let mut kept = self.kept.lock().await;
        let reusable = match kept.take() {
            Some((mut c, used)) => {
                if used.elapsed() < IDLE_MAX && c.test_connected().await {
                    Some(c)
                } else {
                    c.abort().await;
                    None
                }
            }
            None => None,
        };
        let mut conn = match reusable {
            Some(c) => c,
            None => Box::new(self.connector.connect().await?),
        };
        match tokio::time::timeout(SEND_TIMEOUT, conn.send(envelope, formatted)).await {
            Ok(Ok(_)) => {
                *kept = Some((conn, Instant::now()));
                Ok(())
            }
            Ok(Err(e)) => {
                conn.abort().await;
                Err(outcome(&self.host, e))
            }
            Err(_) => {
                conn.abort().await;
                Err(EffectError::Transient(format!(
                    "SMTP via {}: no answer within {}s",
                    self.host,
                    SEND_TIMEOUT.as_secs()
                )))
            }
        }
    }

    pub async fn send(&self, mail: &Outgoing) -> Effect<()> {
        self.send_with_copy(mail, None).await
    }

    /// Sends to the reporter and, as a second envelope recipient of the same
    /// transaction (invisible in the headers), to `copy_to`.
    pub async fn send_with_copy(&self, mail: &Outgoing, copy_to: Option<&str>) -> Effect<()> {
        let from = mail
            .envelope_from
            .parse()
            .map_err(|_| EffectError::Permanent("our sender address is not valid".into()))?;
        let to = mail.envelope_to.parse().map_err(|_| {
            EffectError::Permanent("the reporter's address is not valid for SMTP".into())
        })?;
        let mut recipients = vec![to];
        if let Some(copy) = copy_to {
            recipients.push(copy.parse().map_err(|_| {
                EffectError::Permanent("our copy address is not valid for SMTP".into())
            })?);
        }
        let envelope = Envelope::new(Some(from), recipients)
            .map_err(|e| EffectError::Permanent(format!("envelope: {e}")))?;
        self.transact(&envelope, &mail.formatted).await
    }

    pub async fn check(&self) -> Effect<String> {
        let mut conn = self.connector.connect().await?;
        let alive = conn.test_connected().await;
        let _ = conn.quit().await;
        if alive {
            Ok(format!("SMTP server {} reachable", self.host))
        } else {
            Err(EffectError::Transient(format!(
                "SMTP server {} did not answer NOOP",
                self.host
            )))
        }
    }
}
