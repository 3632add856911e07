//! The IMAP source (async-imap over tokio, rustls): login, select, fetch new
//! messages by UID, IDLE with a poll fallback, MOVE to the processed mailbox,
//! and reconnect on any connection error.
//!
//! `RFC822.SIZE` is fetched before any body: a message over
//! `max_message_bytes` is never fetched whole (its header section makes a
//! stub), and a pass takes whole messages up to `max_fetch_batch_bytes`
//! (`src/intake/bounds.rs`).
//!
//! A message is identified by (mailbox, UIDVALIDITY, UID); the store also
//! knows its bytes' hash, so a UIDVALIDITY change re-fetches but never
//! re-files. Nothing is ever deleted: archiving is MOVE, or COPY + \Deleted +
//! UID EXPUNGE of that one UID where MOVE is missing.

use std::fmt::Debug;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::Session;
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::config::{ImapSettings, Security};
use crate::record::SourceRef;
use crate::support::effect::{Effect, EffectError};
use crate::support::shutdown::Shutdown;

use super::bounds::{batches, take_within, uid_set};
use super::{FetchBounds, Fetched, Wake};

pub trait ImapStream: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> ImapStream for T {}
type Stream = Box<dyn ImapStream>;

/// Dovecot and others drop IDLE after 30 minutes (RFC 2177): re-issue before.
const IDLE_MAX: Duration = Duration::from_secs(28 * 60);
/// Messages one fetch command asks for at most (and
/// `[limits] max_fetch_batch_bytes` of them by `RFC822.SIZE`).
const FETCH_BATCH: usize = 25;

pub struct ImapSource {
    settings: ImapSettings,
    session: Option<Session<Stream>>,
    uidvalidity: u32,
    can_move: bool,
    can_idle: bool,
    bounds: FetchBounds,
    pub reconnects: u64,
    /// Message bytes fetched so far (whole messages and oversized headers).
    pub fetched_bytes: u64,
    /// The last fetch stopped at `max_fetch_batch_bytes` with more waiting.
    pub more_waiting: bool,
}

/// `UID FETCH set query`, every response collected.
async fn fetch_all(
    session: &mut Session<Stream>,
    set: &str,
    query: &str,
) -> Effect<Vec<async_imap::types::Fetch>> {
    session
        .uid_fetch(set, query)
        .await
        .map_err(|e| transient("UID FETCH", e))?
        .try_collect()
        .await
        .map_err(|e| transient("UID FETCH", e))
}

fn transient(what: &str, e: impl std::fmt::Display) -> EffectError {
    EffectError::Transient(format!("IMAP {what}: {e}"))
}

impl ImapSource {
    pub fn new(settings: ImapSettings, bounds: FetchBounds) -> Self {
        ImapSource {
            settings,
            session: None,
            uidvalidity: 0,
            can_move: false,
            can_idle: false,
            bounds,
            reconnects: 0,
            fetched_bytes: 0,
            more_waiting: false,
        }
    }

    /// How long to wait for news when nothing else is due: IDLE tells us
    /// sooner, so with IDLE on this is the IDLE re-issue interval.
    pub fn poll_interval(&self) -> Duration {
        if self.settings.idle {
            IDLE_MAX
        } else {
            self.settings.poll_interval
        }
    }

    async fn tls(&self, tcp: TcpStream) -> Effect<Stream> {
        let config = crate::support::tls::client_config(self.settings.ca_file.as_deref())
            .map_err(|e| EffectError::Permanent(format!("IMAP TLS setup: {e}")))?;
        let name =
            rustls::pki_types::ServerName::try_from(self.settings.host.clone()).map_err(|_| {
                EffectError::Permanent("source.imap.host is not a valid TLS server name".into())
            })?;
        let tls = TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| transient("TLS handshake", e))?;
        Ok(Box::new(tls))
    }

    async fn connect(&mut self) -> Effect<()> {
        let s = &self.settings;
        let tcp = tokio::time::timeout(
            Duration::from_secs(20),
            TcpStream::connect((s.host.as_str(), s.port)),
        )
        .await
        .map_err(|_| transient("connect", format!("{}:{} timed out", s.host, s.port)))?
        .map_err(|e| transient("connect", format!("{}:{}: {e}", s.host, s.port)))?;
        let stream: Stream = match s.security {
            Security::Tls => self.tls(tcp).await?,
            Security::Plain => Box::new(tcp),
            Security::StartTls => {
                let mut plain = async_imap::Client::new(tcp);
                read_greeting(&mut plain).await?;
                plain
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(|e| transient("STARTTLS", e))?;
                self.tls(plain.into_inner()).await?
            }
        };
        let mut client = async_imap::Client::new(stream);
        if self.settings.security != Security::StartTls {
            read_greeting(&mut client).await?;
        }
        let password = self.settings.password.expose().clone();
        let mut session = client
            .login(&self.settings.username, &password)
            .await
            .map_err(|(e, _)| match e {
                async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_) => {
                    EffectError::Permanent(format!(
                        "IMAP login as {} was refused",
                        self.settings.username
                    ))
                }
                other => transient("login", other),
            })?;
        let caps = session
            .capabilities()
            .await
            .map_err(|e| transient("CAPABILITY", e))?;
        self.can_move = caps.has_str("MOVE");
        self.can_idle = caps.has_str("IDLE");
        // Created if missing; an "already exists" answer is fine.
        let _ = session.create(&self.settings.processed_mailbox).await;
        let mailbox = session
            .select(&self.settings.mailbox)
            .await
            .map_err(|e| transient("SELECT", e))?;
        self.uidvalidity = mailbox.uid_validity.unwrap_or(0);
        self.session = Some(session);
        tracing::info!(
            uidvalidity = self.uidvalidity,
            idle = self.can_idle,
            "IMAP connected"
        );
        Ok(())
    }

    async fn session(&mut self) -> Effect<&mut Session<Stream>> {
        if self.session.is_none() {
            self.reconnects += 1;
            self.connect().await?;
        }
        self.session
            .as_mut()
            .ok_or_else(|| EffectError::Transient("IMAP not connected".into()))
    }

    /// Drops the connection after an error so the next call reconnects.
    fn reset<T>(&mut self, r: Effect<T>) -> Effect<T> {
        if r.is_err() {
            self.session = None;
        }
        r
    }

    pub async fn fetch_new(
        &mut self,
        known: &(dyn Fn(&SourceRef) -> bool + Sync),
        max: usize,
    ) -> Effect<Vec<Fetched>> {
        let r = self.fetch_new_inner(known, max).await;
        self.reset(r)
    }

    async fn fetch_new_inner(
        &mut self,
        known: &(dyn Fn(&SourceRef) -> bool + Sync),
        max: usize,
    ) -> Effect<Vec<Fetched>> {
        let mailbox = self.settings.mailbox.clone();
        self.more_waiting = false;
        self.session().await?;
        let uidvalidity = self.uidvalidity;
        let bounds = self.bounds;
        let session = self.session().await?;
        // NOOP lets the server report new messages before we search.
        session.noop().await.map_err(|e| transient("NOOP", e))?;
        let mut uids: Vec<u32> = session
            .uid_search("ALL")
            .await
            .map_err(|e| transient("UID SEARCH", e))?
            .into_iter()
            .filter(|uid| {
                !known(&SourceRef::Imap {
                    mailbox: mailbox.clone(),
                    uidvalidity,
                    uid: *uid,
                })
            })
            .collect();
        uids.sort_unstable();
        uids.truncate(max);
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        // Sizes first: no body is fetched before its size is known.
        let sized = fetch_all(session, &uid_set(&uids), "(UID RFC822.SIZE)").await?;
        let mut sizes: Vec<(u32, u64)> = sized
            .iter()
            .filter_map(|f| Some((f.uid?, u64::from(f.size?))))
            .collect();
        // Expunged since the search: gone, nothing to take in.
        sizes.sort_unstable();
        sizes.dedup_by_key(|(uid, _)| *uid);
        let (taken, more) = take_within(&sizes, &bounds);
        let (whole, oversized): (Vec<_>, Vec<_>) = taken
            .into_iter()
            .partition(|(_, size)| *size <= bounds.max_message_bytes);
        let mut out = Vec::new();
        let mut fetched: u64 = 0;
        for batch in batches(&whole, bounds.max_fetch_batch_bytes, FETCH_BATCH) {
            let fetches = fetch_all(session, &uid_set(&batch), "(UID BODY.PEEK[])").await?;
            for f in fetches {
                let (Some(uid), Some(body)) = (f.uid, f.body()) else {
                    continue;
                };
                fetched = fetched.saturating_add(body.len() as u64);
                out.push(Fetched {
                    source: SourceRef::Imap {
                        mailbox: mailbox.clone(),
                        uidvalidity,
                        uid,
                    },
                    raw: body.to_vec(),
                    oversized: None,
                });
            }
        }
        // Over the size limit: the header section only, at most
        // max_header_bytes of it (a partial fetch).
        let sizes: std::collections::HashMap<u32, u64> = oversized.iter().copied().collect();
        let uids: Vec<u32> = oversized.iter().map(|(uid, _)| *uid).collect();
        for batch in uids.chunks(FETCH_BATCH) {
            let query = format!("(UID BODY.PEEK[HEADER]<0.{}>)", bounds.max_header_bytes);
            let fetches = fetch_all(session, &uid_set(batch), &query).await?;
            for f in fetches {
                let Some(uid) = f.uid else { continue };
                let Some(&size) = sizes.get(&uid) else {
                    continue;
                };
                let header = f.header().unwrap_or_default();
                fetched = fetched.saturating_add(header.len() as u64);
                tracing::info!(
                    uid,
                    size,
                    "message over max_message_bytes: taking its headers only"
                );
                out.push(Fetched {
                    source: SourceRef::Imap {
                        mailbox: mailbox.clone(),
                        uidvalidity,
                        uid,
                    },
                    raw: header.to_vec(),
                    oversized: Some(size),
                });
            }
        }
        self.fetched_bytes = self.fetched_bytes.saturating_add(fetched);
        self.more_waiting = more;
        tracing::debug!(
            messages = out.len(),
            bytes = fetched,
            more_waiting = self.more_waiting,
            "fetched"
        );
        // Oldest first, as the records are numbered.
        out.sort_by_key(|f| match &f.source {
            SourceRef::Imap { uid, .. } => *uid,
            SourceRef::Maildir { .. } => 0,
        });
        Ok(out)
    }

    pub async fn archive(&mut self, source: &SourceRef, message_id: Option<&str>) -> Effect<()> {
        let r = self.archive_inner(source, message_id).await;
        self.reset(r)
    }

    async fn archive_inner(&mut self, source: &SourceRef, message_id: Option<&str>) -> Effect<()> {
        let SourceRef::Imap {
            uidvalidity, uid, ..
        } = source
        else {
            return Err(EffectError::Permanent(
                "record does not come from IMAP".into(),
            ));
        };
        self.session().await?;
        let current = self.uidvalidity;
        let processed = self.settings.processed_mailbox.clone();
        let can_move = self.can_move;
        let session = self.session().await?;
        let uid = if *uidvalidity == current {
            *uid
        } else {
            // UIDVALIDITY changed: find the message again by its Message-ID.
            let Some(mid) = message_id.and_then(crate::mailer::message::safe_message_id) else {
                return Err(EffectError::Permanent(
                    "UIDVALIDITY changed and the message has no Message-ID to find it by".into(),
                ));
            };
            let found = session
                .uid_search(format!("HEADER Message-ID \"{}\"", mid.replace('"', "")))
                .await
                .map_err(|e| transient("UID SEARCH", e))?;
            match found.into_iter().min() {
                Some(u) => u,
                None => return Ok(()), // no longer in the inbox
            }
        };
        let set = uid.to_string();
        if can_move {
            session
                .uid_mv(&set, &processed)
                .await
                .map_err(|e| transient("UID MOVE", e))?;
        } else {
            session
                .uid_copy(&set, &processed)
                .await
                .map_err(|e| transient("UID COPY", e))?;
            let _: Vec<_> = session
                .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                .await
                .map_err(|e| transient("UID STORE", e))?
                .try_collect()
                .await
                .map_err(|e| transient("UID STORE", e))?;
            let _: Vec<_> = session
                .uid_expunge(&set)
                .await
                .map_err(|e| transient("UID EXPUNGE", e))?
                .try_collect()
                .await
                .map_err(|e| transient("UID EXPUNGE", e))?;
        }
        Ok(())
    }

    /// IDLE until the server reports a change, `timeout` passes or shutdown.
    /// Without IDLE support (or with `idle = false`) this sleeps for `timeout`.
    pub async fn wait(&mut self, timeout: Duration, shutdown: &Shutdown) -> Wake {
        let use_idle = self.settings.idle && self.can_idle;
        let Some(session) = self.session.take_if(|_| use_idle) else {
            return tokio::select! {
                _ = tokio::time::sleep(timeout.min(self.settings.poll_interval)) => Wake::Timeout,
                _ = shutdown.wait() => Wake::Shutdown,
            };
        };
        // Mail announced while the pass was busy (an untagged EXISTS during
        // FETCH or MOVE) is not announced again once IDLE starts (RFC 2177
        // reports changes from then on): look before idling. Draining also
        // keeps async-imap's bounded channel from filling and dropping news.
        let mut announced = false;
        while let Ok(r) = session.unsolicited_responses.try_recv() {
            announced |= matches!(
                r,
                async_imap::types::UnsolicitedResponse::Exists(_)
                    | async_imap::types::UnsolicitedResponse::Recent(1..)
            );
        }
        if announced {
            self.session = Some(session);
            return Wake::NewMail;
        }
        let mut handle = session.idle();
        if let Err(e) = handle.init().await {
            tracing::warn!(error = %e, "IMAP IDLE failed to start; reconnecting");
            return Wake::Timeout;
        }
        let (wait, stop) = handle.wait_with_timeout(timeout.min(IDLE_MAX));
        let outcome = tokio::select! {
            r = wait => match r {
                Ok(IdleResponse::NewData(_)) => Wake::NewMail,
                Ok(_) => Wake::Timeout,
                Err(e) => {
                    tracing::warn!(error = %e, "IMAP IDLE ended with an error");
                    Wake::Timeout
                }
            },
            _ = shutdown.wait() => Wake::Shutdown,
        };
        drop(stop);
        match tokio::time::timeout(Duration::from_secs(10), handle.done()).await {
            Ok(Ok(session)) => self.session = Some(session),
            _ => tracing::warn!("IMAP IDLE did not end cleanly; will reconnect"),
        }
        outcome
    }

    pub async fn close(&mut self) {
        tracing::info!(fetched_bytes = self.fetched_bytes, "IMAP closing");
        if let Some(mut s) = self.session.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), s.logout()).await;
        }
    }
}

/// The server greeting must be read before the first command.
async fn read_greeting<T: ImapStream>(client: &mut async_imap::Client<T>) -> Effect<()> {
    let greeting = tokio::time::timeout(Duration::from_secs(20), client.read_response())
        .await
        .map_err(|_| transient("greeting", "timed out"))?
        .map_err(|e| transient("greeting", e))?;
    greeting
        .map(|_| ())
        .ok_or_else(|| transient("greeting", "connection closed"))
}
