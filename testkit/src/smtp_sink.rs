//! An SMTP sink: a minimal plain-SMTP server on `127.0.0.1:<ephemeral>` that
//! accepts every message and records it with the instant its final `.` was
//! read, just before the `250` that accepts it. For benchmarks (time to
//! "acknowledgement accepted") and tests that need no delivery.
//!
//! It speaks RFC 5321 with `8BITMIME` and `SIZE` (no `PIPELINING`, no
//! `CHUNKING`): `HELO`/`EHLO`, `MAIL`, `RCPT`, `DATA` (dot-unstuffed),
//! `RSET`, `NOOP`, `QUIT`; anything else is `502`. No TLS, no AUTH: point a
//! client at it with security "plain".
//!
//! ```no_run
//! let sink = secintake_testkit::smtp_sink::SmtpSink::start_on_thread().unwrap();
//! // mailer.smtp: host 127.0.0.1, port sink.port, security "plain"
//! assert_eq!(sink.count(), 0);
//! ```

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Longest command or data line accepted (RFC 5321 allows 1000 octets; we
/// are lenient but bounded).
const MAX_LINE: usize = 64 * 1024;
/// Largest message accepted; larger ones get `552`.
const MAX_MESSAGE: usize = 128 * 1024 * 1024;

/// One accepted message.
#[derive(Debug, Clone)]
pub struct SunkMessage {
    /// The `MAIL FROM` path, without angle brackets.
    pub mail_from: String,
    /// The `RCPT TO` paths, without angle brackets, in order.
    pub rcpt_to: Vec<String>,
    /// The message as transmitted, dot-unstuffed, lines ending in CRLF.
    pub data: Vec<u8>,
    /// When the terminating `.` line was read (the `250` follows at once).
    pub accepted_at: Instant,
}

/// A running sink; stops serving when dropped.
pub struct SmtpSink {
    pub port: u16,
    messages: Arc<Mutex<Vec<SunkMessage>>>,
    shutdown: Option<watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SmtpSink {
    /// Starts the sink on its own thread and tokio runtime.
    pub fn start_on_thread() -> anyhow::Result<SmtpSink> {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").context("binding the SMTP sink")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = watch::channel(false);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building the SMTP sink runtime")?;
        let served = messages.clone();
        let thread = std::thread::Builder::new()
            .name("smtp-sink".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(l) => serve(l, served, rx).await,
                        Err(e) => eprintln!("smtp sink: {e}"),
                    }
                });
                runtime.shutdown_background();
            })
            .context("spawning the SMTP sink thread")?;
        Ok(SmtpSink {
            port,
            messages,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<SunkMessage>> {
        self.messages.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many messages were accepted so far.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Every accepted message, in acceptance order.
    pub fn messages(&self) -> Vec<SunkMessage> {
        self.lock().clone()
    }

    /// Acceptance instants only, in order (cheap for large messages).
    pub fn accepted_instants(&self) -> Vec<Instant> {
        self.lock().iter().map(|m| m.accepted_at).collect()
    }

    /// Forgets the accepted messages.
    pub fn clear(&self) {
        self.lock().clear();
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        drop(self.shutdown.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: TcpListener,
    messages: Arc<Mutex<Vec<SunkMessage>>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let messages = messages.clone();
                let mut stop = stop.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = session(stream, messages) => {}
                        _ = stop.changed() => {}
                    }
                });
            }
            _ = stop.changed() => return,
        }
    }
}

/// Reads one line (up to LF) into `buf`; false at EOF or on an overlong line.
async fn read_line(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>, buf: &mut Vec<u8>) -> bool {
    buf.clear();
    loop {
        let chunk = match r.fill_buf().await {
            Ok(c) if !c.is_empty() => c,
            _ => return false,
        };
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        buf.extend_from_slice(chunk.get(..take).unwrap_or_default());
        r.consume(take);
        if buf.len() > MAX_LINE {
            return false;
        }
        if done {
            return true;
        }
    }
}

fn path_arg(line: &str) -> String {
    let rest = line.split_once(':').map(|(_, r)| r).unwrap_or("").trim();
    let rest = rest.split_whitespace().next().unwrap_or("");
    rest.trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

async fn session(stream: TcpStream, messages: Arc<Mutex<Vec<SunkMessage>>>) {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut line = Vec::new();
    let mut from: Option<String> = None;
    let mut rcpt: Vec<String> = Vec::new();
    if w.write_all(b"220 sink.localhost ESMTP secintake-testkit sink\r\n")
        .await
        .is_err()
    {
        return;
    }
    while read_line(&mut r, &mut line).await {
        let text = String::from_utf8_lossy(&line);
        let cmd = text.trim_end();
        let verb = cmd
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.localhost\r\n250-8BITMIME\r\n250 SIZE 134217728\r\n",
            "HELO" => b"250 sink.localhost\r\n",
            "MAIL" => {
                from = Some(path_arg(cmd));
                rcpt.clear();
                b"250 2.1.0 OK\r\n"
            }
            "RCPT" if from.is_some() => {
                rcpt.push(path_arg(cmd));
                b"250 2.1.5 OK\r\n"
            }
            "RCPT" => b"503 5.5.1 MAIL first\r\n",
            "DATA" if from.is_some() && !rcpt.is_empty() => {
                if w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let Some(data) = read_data(&mut r, &mut line).await else {
                    return;
                };
                let too_big = data.len() > MAX_MESSAGE;
                if !too_big {
                    let msg = SunkMessage {
                        mail_from: from.take().unwrap_or_default(),
                        rcpt_to: std::mem::take(&mut rcpt),
                        data,
                        accepted_at: Instant::now(),
                    };
                    messages.lock().unwrap_or_else(|p| p.into_inner()).push(msg);
                }
                from = None;
                rcpt.clear();
                if too_big {
                    b"552 5.3.4 message too big\r\n"
                } else {
                    b"250 2.0.0 OK queued\r\n"
                }
            }
            "DATA" => b"503 5.5.1 MAIL and RCPT first\r\n",
            "RSET" => {
                from = None;
                rcpt.clear();
                b"250 2.0.0 OK\r\n"
            }
            "NOOP" => b"250 2.0.0 OK\r\n",
            "QUIT" => {
                let _ = w.write_all(b"221 2.0.0 Bye\r\n").await;
                return;
            }
            _ => b"502 5.5.2 command not implemented\r\n",
        };
        if w.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// Reads DATA lines up to the lone `.`, dot-unstuffed; None at EOF.
/// Past [`MAX_MESSAGE`] lines are still read but no longer kept.
async fn read_data(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    line: &mut Vec<u8>,
) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    loop {
        if !read_line(r, line).await {
            return None;
        }
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content == b"." {
            return Some(data);
        }
        let content = content.strip_prefix(b".").unwrap_or(content);
        if data.len() <= MAX_MESSAGE {
            data.extend_from_slice(content);
            data.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    async fn expect(r: &mut TcpStream, code: &str) -> String {
        let mut buf = vec![0u8; 4096];
        let n = r.read(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(text.starts_with(code), "wanted {code}, got {text:?}");
        text
    }

    #[test]
    fn accepts_a_message_and_unstuffs_dots() {
        let sink = SmtpSink::start_on_thread().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut s = TcpStream::connect(("127.0.0.1", sink.port)).await.unwrap();
            expect(&mut s, "220").await;
            s.write_all(b"EHLO client\r\n").await.unwrap();
            expect(&mut s, "250").await;
            s.write_all(b"DATA\r\n").await.unwrap();
            expect(&mut s, "503").await;
            s.write_all(b"MAIL FROM:<a@x.test> SIZE=10\r\n")
                .await
                .unwrap();
            expect(&mut s, "250").await;
            s.write_all(b"RCPT TO:<b@y.test>\r\n").await.unwrap();
            expect(&mut s, "250").await;
            s.write_all(b"DATA\r\n").await.unwrap();
            expect(&mut s, "354").await;
            s.write_all(b"Subject: t\r\n\r\n..dot\r\nend\r\n.\r\n")
                .await
                .unwrap();
            expect(&mut s, "250").await;
            s.write_all(b"QUIT\r\n").await.unwrap();
            expect(&mut s, "221").await;
        });
        let got = sink.messages();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].mail_from, "a@x.test");
        assert_eq!(got[0].rcpt_to, vec!["b@y.test".to_string()]);
        assert_eq!(got[0].data, b"Subject: t\r\n\r\n.dot\r\nend\r\n".to_vec());
    }
}
