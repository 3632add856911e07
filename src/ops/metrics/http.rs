//! The metrics endpoint: `GET /metrics` (Prometheus text format) and
//! `GET /healthz` on a loopback address. `/healthz` is 503 with the reason
//! while the daemon starts, stalls or stops, and while filing is stopped
//! because the tracking repository is not known to be private.
//!
//! Hand-rolled on a `TcpListener` rather than hyper's server: two read-only
//! routes on loopback need only the request line. Each connection gets one
//! answer and is closed; a request may be at most 8 KiB and must arrive
//! within 5 seconds, and at most 16 connections are served at once, so a
//! stuck client cannot hold the daemon's memory or sockets.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::{global, Health};
use crate::support::shutdown::Shutdown;

const MAX_REQUEST: usize = 8 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_CONNECTIONS: usize = 16;

/// How long a pass may go without progress before `/healthz` (and the
/// systemd watchdog) call the daemon stalled.
pub const STALL_LIMIT: Duration = Duration::from_secs(300);

pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves until shutdown.
pub async fn serve(listener: TcpListener, shutdown: Shutdown) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait() => return,
        };
        let (stream, _) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "metrics endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            continue; // over the limit: drop the connection
        };
        tokio::spawn(async move {
            let _ = tokio::time::timeout(REQUEST_TIMEOUT, answer(stream)).await;
            drop(permit);
        });
    }
}

async fn answer(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if buf.len() > MAX_REQUEST {
            return respond(&mut stream, 431, "text/plain", "request too large\n").await;
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let mut words = head.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (words.next(), words.next());
    let path = target.map(|t| t.split('?').next().unwrap_or(t));
    match (method, path) {
        (Some("GET"), Some("/metrics")) => {
            let body = global().render();
            respond(
                &mut stream,
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                &body,
            )
            .await
        }
        (Some("GET"), Some("/healthz")) => {
            let (code, text) =
                match global().health(crate::ops::failpoint::stall_limit(STALL_LIMIT)) {
                    Health::Ok => match global().tracker_standing() {
                        Some(s) if !s.is_private() => (503, format!("{}\n", s.describe())),
                        _ => (200, "ok\n".to_string()),
                    },
                    Health::Starting => (503, "starting\n".to_string()),
                    Health::Stopping => (503, "stopping\n".to_string()),
                    Health::Stalled(d) => (503, format!("stalled for {}s\n", d.as_secs())),
                };
            respond(&mut stream, code, "text/plain; charset=utf-8", &text).await
        }
        (Some("GET"), _) => respond(&mut stream, 404, "text/plain", "not found\n").await,
        _ => respond(&mut stream, 405, "text/plain", "method not allowed\n").await,
    }
}

async fn respond(
    stream: &mut TcpStream,
    code: u16,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let reason = match code {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}
