//! Opening an SMTP session ourselves, with `TCP_NODELAY`, and handing the
//! socket to lettre.
//!
//! lettre 0.11.23 opens its sockets with Nagle's algorithm on, and writes a
//! message's body and its final `\r\n.\r\n` as two writes: the five-byte
//! terminator then waits for the server's delayed ACK, 40 ms per message on
//! Linux (measured by `benches/pipeline`; fixed upstream in lettre PR #1159,
//! not in a release yet). Every SMTP step is a write followed by a wait for
//! the reply, so Nagle has nothing to coalesce and only adds that stall.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::config::Security;
use crate::support::effect::EffectError;

/// Connecting, and the TLS handshake, may take this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything needed to open an authenticated session.
pub struct Connector {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// For STARTTLS (lettre upgrades the stream).
    pub starttls: Option<TlsParameters>,
    /// For implicit TLS (we wrap the socket before lettre sees it).
    pub implicit: Option<Arc<rustls::ClientConfig>>,
    pub credentials: Option<Credentials>,
    pub hello: ClientId,
}

/// A lettre error as an effect outcome: 5xx is permanent, the rest transient.
pub fn outcome(host: &str, e: lettre::transport::smtp::Error) -> EffectError {
    if e.is_permanent() {
        EffectError::Permanent(format!(
            "SMTP server {host} refused the message: {}",
            e.status().map(|c| c.to_string()).unwrap_or_default()
        ))
    } else {
        EffectError::Transient(format!("SMTP via {host}: {e}"))
    }
}

fn transient(host: &str, what: &str, e: impl std::fmt::Display) -> EffectError {
    EffectError::Transient(format!("SMTP via {host}: {what}: {e}"))
}

impl Connector {
    /// Connects (TLS as configured), says EHLO, authenticates.
    pub async fn connect(&self) -> Result<AsyncSmtpConnection, EffectError> {
        let host = self.host.as_str();
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host, self.port)))
            .await
            .map_err(|_| transient(host, "connecting", "timed out"))?
            .map_err(|e| transient(host, "connecting", e))?;
        tcp.set_nodelay(true)
            .map_err(|e| transient(host, "TCP_NODELAY", e))?;
        let stream: Box<dyn AsyncTokioStream> = match (&self.security, &self.implicit) {
            (Security::Tls, Some(config)) => {
                let name =
                    rustls::pki_types::ServerName::try_from(self.host.clone()).map_err(|_| {
                        EffectError::Permanent("mailer.smtp.host is not a valid TLS name".into())
                    })?;
                let handshake = tokio_rustls::TlsConnector::from(config.clone()).connect(name, tcp);
                let tls = tokio::time::timeout(CONNECT_TIMEOUT, handshake)
                    .await
                    .map_err(|_| transient(host, "TLS handshake", "timed out"))?
                    .map_err(|e| transient(host, "TLS handshake", e))?;
                Box::new(TlsTcp(tls))
            }
            _ => Box::new(tcp),
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello)
            .await
            .map_err(|e| outcome(host, e))?;
        if self.security == Security::StartTls {
            let params = self
                .starttls
                .clone()
                .ok_or_else(|| EffectError::Permanent("STARTTLS without TLS parameters".into()))?;
            conn.starttls(params, &self.hello)
                .await
                .map_err(|e| outcome(host, e))?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials)
                .await
                .map_err(|e| outcome(host, e))?;
        }
        Ok(conn)
    }
}

/// An implicit-TLS socket in the shape lettre accepts.
#[derive(Debug)]
struct TlsTcp(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncTokioStream for TlsTcp {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for TlsTcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsTcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
