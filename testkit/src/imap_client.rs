//! A small IMAP test client (async-imap over plain TCP to 127.0.0.1) for
//! putting mail into a private Dovecot and looking at what arrived.
//!
//! Every call opens its own connection, logs in, does one thing and logs out.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use async_imap::error::Error as ImapError;
use async_imap::imap_proto::{Response, Status};
use futures::TryStreamExt;
use tokio::net::TcpStream;

type Session = async_imap::Session<TcpStream>;

/// Connects to `127.0.0.1:port`, reads the greeting and logs in.
pub async fn login(port: u16, user: &str, pw: &str) -> Result<Session> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .with_context(|| format!("connecting to IMAP 127.0.0.1:{port}"))?;
    let mut client = async_imap::Client::new(tcp);
    let greeting = client
        .read_response()
        .await
        .context("reading IMAP greeting")?
        .ok_or_else(|| anyhow!("IMAP server closed the connection before its greeting"))?;
    match greeting.parsed() {
        Response::Data {
            status: Status::Ok, ..
        } => {}
        other => bail!("unexpected IMAP greeting: {other:?}"),
    }
    client
        .login(user, pw)
        .await
        .map_err(|(e, _)| anyhow!("IMAP LOGIN as {user} failed: {e}"))
}

/// APPENDs `raw` (a whole RFC 5322 message) to `mailbox` of `user`.
pub async fn append(port: u16, user: &str, pw: &str, mailbox: &str, raw: &[u8]) -> Result<()> {
    let mut s = login(port, user, pw).await?;
    s.append(mailbox, None, None, raw)
        .await
        .with_context(|| format!("APPEND to {user}/{mailbox}"))?;
    logout(s).await
}

/// CREATEs `mailbox` for `user`.
pub async fn create_mailbox(port: u16, user: &str, pw: &str, mailbox: &str) -> Result<()> {
    let mut s = login(port, user, pw).await?;
    s.create(mailbox)
        .await
        .with_context(|| format!("CREATE {user}/{mailbox}"))?;
    logout(s).await
}

/// The number of messages in `mailbox` (0 if it does not exist).
pub async fn count(port: u16, user: &str, pw: &str, mailbox: &str) -> Result<u32> {
    let mut s = login(port, user, pw).await?;
    let n = match s.status(mailbox, "(MESSAGES)").await {
        Ok(mb) => mb.exists,
        Err(ImapError::No(_)) => 0,
        Err(e) => return Err(e).with_context(|| format!("STATUS {user}/{mailbox}")),
    };
    logout(s).await?;
    Ok(n)
}

/// The full raw messages (`BODY.PEEK[]`, so `\Seen` is not set) in `mailbox`,
/// in mailbox order; empty if the mailbox does not exist.
pub async fn fetch_all(port: u16, user: &str, pw: &str, mailbox: &str) -> Result<Vec<Vec<u8>>> {
    let mut s = login(port, user, pw).await?;
    let exists = match s.select(mailbox).await {
        Ok(mb) => mb.exists,
        Err(ImapError::No(_)) => 0,
        Err(e) => return Err(e).with_context(|| format!("SELECT {user}/{mailbox}")),
    };
    let mut out = Vec::new();
    if exists > 0 {
        let mut fetched: Vec<(u32, Vec<u8>)> = {
            let stream = s
                .fetch("1:*", "BODY.PEEK[]")
                .await
                .with_context(|| format!("FETCH in {user}/{mailbox}"))?;
            let fetches: Vec<_> = stream.try_collect().await?;
            fetches
                .iter()
                .filter_map(|f| Some((f.message, f.body()?.to_vec())))
                .collect()
            // The stream is dropped here, before the next command.
        };
        fetched.sort_by_key(|(seq, _)| *seq);
        out = fetched.into_iter().map(|(_, body)| body).collect();
    }
    logout(s).await?;
    Ok(out)
}

/// Polls every 100 ms until `mailbox` holds at least `n` messages, then
/// returns them all; fails after `timeout` saying how many there were.
pub async fn wait_for_count(
    port: u16,
    user: &str,
    pw: &str,
    mailbox: &str,
    n: u32,
    timeout: Duration,
) -> Result<Vec<Vec<u8>>> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let have = count(port, user, pw, mailbox).await?;
        if have >= n {
            return fetch_all(port, user, pw, mailbox).await;
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("{user}/{mailbox} has {have} messages, not {n}, after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn logout(mut s: Session) -> Result<()> {
    s.logout().await.context("IMAP LOGOUT")?;
    Ok(())
}
