//! The daemon's measured runs: latency while it IDLEs, a waiting backlog,
//! and one big report. Each run gets a fresh daemon and state directory
//! against the same servers; counts on the GitHub fake and the SMTP sink
//! are taken relative to where the run started.

use std::path::Path;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::data::Data;
use crate::imap::Event;
use crate::servers::{wait_for, Daemon, Servers};

const POLL: Duration = Duration::from_millis(5);

/// Per-report latencies (seconds) and the daemon's idle peak RSS.
pub struct Latency {
    pub floor: Vec<f64>,
    /// Reports the bare client was never told about (moved out first).
    pub floor_unseen: usize,
    pub issue: Vec<f64>,
    pub ack: Vec<f64>,
    pub idle_rss_kb: u64,
    pub rss_after_kb: u64,
}

/// Waits until the fake has `issues` issues and the sink `acks` messages.
fn wait_done(s: &Servers, d: &mut Daemon, issues: usize, acks: usize, t: Duration) -> Result<()> {
    wait_for("issue and acknowledgement", t, POLL, || {
        d.check_alive()?;
        s.top_up_rate_limit();
        Ok(s.issues() >= issues && s.sink.count() >= acks)
    })
}

/// The first EXISTS at or after `after` among the events waiting, which are
/// all taken. None when the bare client was never told: Dovecot need not
/// announce a message that was moved out again before the client's next
/// sync, which happens when the daemon is about as fast as the floor.
fn exists_seen(rx: &Receiver<Event>, after: Instant) -> Result<Option<Instant>> {
    let mut seen = None;
    loop {
        match rx.try_recv() {
            Ok(Event::Exists(t)) if t >= after => {
                seen = seen.or(Some(t));
            }
            Ok(_) => {}
            Err(mpsc::TryRecvError::Empty) => return Ok(seen),
            Err(mpsc::TryRecvError::Disconnected) => bail!("the bare IDLE client stopped"),
        }
    }
}

/// One report at a time, APPENDed while the daemon IDLEs; the next goes in
/// after the previous one was filed, acknowledged and moved out of the
/// INBOX, and the daemon had `settle` to return to IDLE.
pub fn latency(s: &Servers, data: &Data, settle: Duration) -> Result<Latency> {
    let config = s.config("latency", data)?;
    let mut d = Daemon::start(&config)?;
    // Start-up and the first (empty) pass, then the idle high-water mark.
    std::thread::sleep(Duration::from_secs(3));
    d.check_alive()?;
    let idle_rss_kb = d.peak_rss_kb();
    let watch = s.imap()?.watch("INBOX")?;
    let mut append = s.imap()?;
    let mut out = Latency {
        floor: Vec::new(),
        floor_unseen: 0,
        issue: Vec::new(),
        ack: Vec::new(),
        idle_rss_kb,
        rss_after_kb: 0,
    };
    let raws: Vec<Vec<u8>> = data
        .latency
        .iter()
        .map(std::fs::read)
        .collect::<std::io::Result<_>>()?;
    for (i, raw) in raws.iter().enumerate() {
        let (issues0, acks0) = (s.issues(), s.sink.count());
        let t0 = Instant::now();
        append.append("INBOX", raw)?;
        wait_done(s, &mut d, issues0 + 1, acks0 + 1, Duration::from_secs(60))?;
        wait_for(
            "the INBOX to be emptied",
            Duration::from_secs(30),
            POLL,
            || {
                d.check_alive()?;
                Ok(append.messages("INBOX")? == 0)
            },
        )?;
        let issue = *s.issue_instants().last().context("no issue")?;
        let ack = *s.sink.accepted_instants().last().context("no ack")?;
        // The daemon gets back to IDLE; the bare client's news arrives.
        std::thread::sleep(settle);
        let exists = exists_seen(&watch, t0)?;
        // Report 0 warms up connections and caches; it is not counted.
        if i > 0 {
            match exists {
                Some(t) => out.floor.push((t - t0).as_secs_f64()),
                None => out.floor_unseen += 1,
            }
            out.issue.push((issue - t0).as_secs_f64());
            out.ack.push((ack - t0).as_secs_f64());
        }
        if i % 50 == 0 {
            eprintln!("bench: latency report {i}/{}", raws.len() - 1);
        }
    }
    out.rss_after_kb = d.peak_rss_kb();
    d.stop();
    Ok(out)
}

/// APPENDs the first `n` backlog messages to `mailbox` (not timed).
pub fn load_backlog(s: &Servers, data: &Data, mailbox: &str, n: usize) -> Result<()> {
    let mut imap = s.imap()?;
    if mailbox != "INBOX" {
        let _ = imap.command(&format!("CREATE {mailbox}"));
    }
    for p in data.backlog.iter().take(n) {
        imap.append(mailbox, &std::fs::read(p)?)?;
    }
    let have = imap.messages(mailbox)?;
    if have as usize != n {
        bail!("{mailbox} holds {have} messages, not {n}");
    }
    Ok(())
}

/// A daemon run over what is waiting in the INBOX.
pub struct Drain {
    /// Requests the GitHub fake received during the run.
    pub github_requests: usize,
    /// The same, per endpoint ("POST /issues"), most frequent first.
    pub github_endpoints: Vec<(String, usize)>,
    pub wall_secs: f64,
    pub cpu_secs: f64,
    pub peak_rss_kb: u64,
}

/// Starts a daemon on the waiting INBOX of `n` reports; the clock stops at
/// the later of the last issue created and the last acknowledgement
/// accepted. Then waits until all were moved out of the INBOX (untimed).
pub fn drain(s: &Servers, data: &Data, name: &str, n: usize, timeout: Duration) -> Result<Drain> {
    let config = s.config(name, data)?;
    let (issues0, acks0) = (s.issues(), s.sink.count());
    s.github.clear_requests();
    let mut d = Daemon::start(&config)?;
    let mut last_note = Instant::now();
    wait_for(
        &format!("{n} reports filed and acknowledged"),
        timeout,
        Duration::from_millis(20),
        || {
            d.check_alive()?;
            if last_note.elapsed() > Duration::from_secs(10) {
                eprintln!(
                    "bench: {name}: {} filed, {} acknowledged",
                    s.issues() - issues0,
                    s.sink.count() - acks0
                );
                last_note = Instant::now();
            }
            s.top_up_rate_limit();
            Ok(s.issues() >= issues0 + n && s.sink.count() >= acks0 + n)
        },
    )?;
    let cpu_secs = d.cpu_secs();
    let requests = s.github.requests();
    let github_requests = requests.len();
    let github_endpoints = by_endpoint(requests.iter().map(|r| (r.method.as_str(), r.path_only())));
    s.github.clear_requests();
    let peak_rss_kb = d.peak_rss_kb();
    let issue = *s.issue_instants().last().context("no issue")?;
    let ack = *s.sink.accepted_instants().last().context("no ack")?;
    let end = issue.max(ack);
    let mut imap = s.imap()?;
    wait_for(
        "the INBOX to be emptied",
        timeout,
        Duration::from_millis(200),
        || {
            d.check_alive()?;
            Ok(imap.messages("INBOX")? == 0)
        },
    )?;
    d.stop();
    Ok(Drain {
        github_requests,
        github_endpoints,
        wall_secs: (end - d.started).as_secs_f64(),
        cpu_secs,
        peak_rss_kb,
    })
}

/// One big report, APPENDed while a fresh daemon IDLEs.
pub fn big(s: &Servers, data: &Data, big: &Path) -> Result<Drain> {
    let config = s.config("big", data)?;
    let (issues0, acks0) = (s.issues(), s.sink.count());
    let mut d = Daemon::start(&config)?;
    std::thread::sleep(Duration::from_secs(2));
    let raw = std::fs::read(big)?;
    let t0 = Instant::now();
    s.imap()?.append("INBOX", &raw)?;
    drop(raw);
    wait_done(s, &mut d, issues0 + 1, acks0 + 1, Duration::from_secs(300))?;
    let out = Drain {
        github_requests: 0,
        github_endpoints: Vec::new(),
        wall_secs: t0.elapsed().as_secs_f64(),
        cpu_secs: d.cpu_secs(),
        peak_rss_kb: d.peak_rss_kb(),
    };
    d.stop();
    Ok(out)
}

/// Counts requests per endpoint: the repository prefix dropped, numbers as
/// `{n}`, everything under `contents/` as one.
fn by_endpoint<'a>(requests: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, usize)> {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for (method, path) in requests {
        let tail = path
            .strip_prefix("/repos/")
            .and_then(|p| p.splitn(3, '/').nth(2))
            .unwrap_or(path.trim_start_matches('/'));
        let mut segs = Vec::new();
        for seg in tail.split('/') {
            if seg == "contents" {
                segs.push("contents/…");
                break;
            }
            let number = !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit());
            segs.push(if number { "{n}" } else { seg });
        }
        *counts
            .entry(format!("{method} /{}", segs.join("/")))
            .or_default() += 1;
    }
    let mut out: Vec<(String, usize)> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}
