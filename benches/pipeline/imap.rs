//! A bare blocking IMAP client over plain TCP to 127.0.0.1, so the
//! measuring side adds no runtime of its own: APPEND with one persistent
//! session, FETCH one message at a time (what a script does), and an IDLE
//! watcher that timestamps every `* N EXISTS` / `* N EXPUNGE`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{bail, Context, Result};

pub struct Imap {
    r: BufReader<TcpStream>,
    w: TcpStream,
    tag: u32,
}

/// An untagged event seen while IDLEing.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    Exists(Instant),
    Expunge,
}

impl Imap {
    pub fn login(port: u16, user: &str, pw: &str) -> Result<Imap> {
        let tcp = TcpStream::connect(("127.0.0.1", port)).context("IMAP connect")?;
        tcp.set_nodelay(true)?;
        let mut c = Imap {
            r: BufReader::new(tcp.try_clone()?),
            w: tcp,
            tag: 0,
        };
        let greeting = c.line()?;
        if !greeting.starts_with("* OK") {
            bail!("IMAP greeting {greeting:?}");
        }
        c.command(&format!("LOGIN \"{user}\" \"{pw}\""))?;
        Ok(c)
    }

    fn line(&mut self) -> Result<String> {
        let mut buf = Vec::new();
        if self.r.read_until(b'\n', &mut buf)? == 0 {
            bail!("IMAP connection closed");
        }
        Ok(String::from_utf8_lossy(&buf).trim_end().to_string())
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("b{}", self.tag)
    }

    /// Reads up to the tagged completion; untagged lines (with any literal
    /// they announce) are returned.
    fn finish(&mut self, tag: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let mut untagged = Vec::new();
        loop {
            let line = self.line()?;
            if let Some(rest) = line.strip_prefix(tag) {
                if rest.trim_start().starts_with("OK") {
                    return Ok(untagged);
                }
                bail!("IMAP {line}");
            }
            let mut literal = Vec::new();
            let mut text = line.clone();
            if let Some(n) = literal_len(&line) {
                literal.resize(n, 0);
                self.r.read_exact(&mut literal)?;
                text.push_str(&self.line()?);
            }
            untagged.push((text, literal));
        }
    }

    pub fn command(&mut self, cmd: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let tag = self.next_tag();
        self.w.write_all(format!("{tag} {cmd}\r\n").as_bytes())?;
        self.finish(&tag)
    }

    /// APPENDs with a synchronizing literal; returns when the server said OK.
    pub fn append(&mut self, mailbox: &str, raw: &[u8]) -> Result<()> {
        let tag = self.next_tag();
        self.w
            .write_all(format!("{tag} APPEND {mailbox} {{{}}}\r\n", raw.len()).as_bytes())?;
        let cont = self.line()?;
        if !cont.starts_with('+') {
            bail!("APPEND: no continuation: {cont}");
        }
        self.w.write_all(raw)?;
        self.w.write_all(b"\r\n")?;
        self.finish(&tag).map(|_| ())
    }

    /// SELECTs (read-only) and returns EXISTS.
    pub fn examine(&mut self, mailbox: &str) -> Result<u32> {
        let lines = self.command(&format!("EXAMINE {mailbox}"))?;
        Ok(lines
            .iter()
            .find_map(|(l, _)| count_of(l, "EXISTS"))
            .unwrap_or(0))
    }

    /// The number of messages in `mailbox`.
    pub fn messages(&mut self, mailbox: &str) -> Result<u32> {
        let lines = self.command(&format!("STATUS {mailbox} (MESSAGES)"))?;
        for (l, _) in lines {
            if let Some(rest) = l.split("MESSAGES ").nth(1) {
                return Ok(rest
                    .trim_end_matches(')')
                    .trim()
                    .parse()
                    .unwrap_or_default());
            }
        }
        Ok(0)
    }

    /// The whole message with sequence number `seq` (`BODY.PEEK[]`).
    pub fn fetch(&mut self, seq: u32) -> Result<Vec<u8>> {
        let lines = self.command(&format!("FETCH {seq} BODY.PEEK[]"))?;
        lines
            .into_iter()
            .find(|(l, lit)| l.contains("FETCH") && !lit.is_empty())
            .map(|(_, lit)| lit)
            .context("FETCH returned no body")
    }

    /// Selects `mailbox`, enters IDLE and reports every EXISTS/EXPUNGE with
    /// the instant its line was read, from a thread, until the connection
    /// breaks or the receiver is dropped.
    pub fn watch(mut self, mailbox: &str) -> Result<mpsc::Receiver<Event>> {
        self.command(&format!("SELECT {mailbox}"))?;
        let tag = self.next_tag();
        self.w.write_all(format!("{tag} IDLE\r\n").as_bytes())?;
        let cont = self.line()?;
        if !cont.starts_with('+') {
            bail!("IDLE: no continuation: {cont}");
        }
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            while let Ok(line) = self.line() {
                let at = Instant::now();
                let ev = if count_of(&line, "EXISTS").is_some() {
                    Event::Exists(at)
                } else if count_of(&line, "EXPUNGE").is_some() {
                    Event::Expunge
                } else {
                    continue;
                };
                if tx.send(ev).is_err() {
                    return;
                }
            }
        });
        Ok(rx)
    }
}

/// `{N}` at the end of a line announces an N-byte literal.
fn literal_len(line: &str) -> Option<usize> {
    let open = line.rfind('{')?;
    line.get(open + 1..)?.strip_suffix('}')?.parse().ok()
}

/// `* N WORD` → N.
fn count_of(line: &str, word: &str) -> Option<u32> {
    let mut parts = line.split_whitespace();
    if parts.next()? != "*" {
        return None;
    }
    let n = parts.next()?.parse().ok()?;
    (parts.next()? == word).then_some(n)
}
