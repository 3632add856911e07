//! SMTP submission with lettre: implicit TLS, STARTTLS (required, never
//! opportunistic), or plain on loopback; an optional extra CA for private PKI.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{Security, SmtpSettings};
use crate::effect::{Effect, EffectError};

use super::Outgoing;

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    host: String,
}

impl SmtpMailer {
    pub fn new(s: &SmtpSettings) -> anyhow::Result<SmtpMailer> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
            .port(s.port)
            .timeout(Some(Duration::from_secs(30)));
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
            let params = params.build_rustls()?;
            builder = builder.tls(match s.security {
                Security::Tls => Tls::Wrapper(params),
                _ => Tls::Required(params),
            });
        }
        if let (Some(user), Some(pass)) = (&s.username, &s.password) {
            builder = builder.credentials(Credentials::new(user.clone(), pass.expose().clone()));
        }
        Ok(SmtpMailer {
            transport: builder.build(),
            host: s.host.clone(),
        })
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
        match self.transport.send_raw(&envelope, &mail.formatted).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(EffectError::Permanent(format!(
                "SMTP server {} refused the message: {}",
                self.host,
                e.status().map(|c| c.to_string()).unwrap_or_default()
            ))),
            Err(e) => Err(EffectError::Transient(format!(
                "SMTP via {}: {e}",
                self.host
            ))),
        }
    }

    pub async fn check(&self) -> Effect<String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(format!("SMTP server {} reachable", self.host)),
            Ok(false) => Err(EffectError::Transient(format!(
                "SMTP server {} did not answer NOOP",
                self.host
            ))),
            Err(e) => Err(EffectError::Transient(format!(
                "SMTP server {}: {e}",
                self.host
            ))),
        }
    }
}
