//! The two comparison runs, each in a child process of its own (this
//! benchmark re-executed with `SECINTAKE_BENCH_ROLE`), so their CPU time and
//! peak RSS are theirs alone:
//!
//! * **floor** — in-process `normalize::open` (decrypt + normalise) of the
//!   backlog's messages read from disk: the least any intake could do.
//! * **peer** — the classic pipeline: fetch each message over IMAP (one
//!   session, `FETCH n BODY.PEEK[]`), pipe it to `gpg --batch --decrypt`,
//!   one process per message, as RT's or a cron script's intake does. Its CPU
//!   is this process, its gpg children, and the gpg-agent that did the
//!   secret-key operations.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::servers::{proc_cpu, self_cpu, self_peak_rss_kb, SECURITY_PW};

pub const ROLE_ENV: &str = "SECINTAKE_BENCH_ROLE";

/// What a helper run measured.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Run {
    pub wall_secs: f64,
    pub cpu_secs: f64,
    pub ok: usize,
    pub total: usize,
    pub peak_rss_kb: u64,
}

/// Runs this benchmark binary as `role` with `env`; parses its RESULT line.
pub fn spawn(role: &str, env: &[(&str, String)]) -> Result<Run> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe)
        .env(ROLE_ENV, role)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running the {role} helper"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .with_context(|| format!("{role} helper printed no result ({})", out.status))?;
    Ok(serde_json::from_str(line)?)
}

fn emit(run: &Run) {
    println!("RESULT {}", serde_json::to_string(run).unwrap_or_default());
}

fn var(name: &str) -> Result<String> {
    std::env::var(name).with_context(|| format!("{name} not set"))
}

pub fn messages_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    Ok(files)
}

/// The floor: decrypt + normalise in-process, nothing else.
pub fn floor() -> Result<()> {
    let config = PathBuf::from(var("SECINTAKE_BENCH_CONFIG")?);
    let n: usize = var("SECINTAKE_BENCH_N")?.parse()?;
    let files: Vec<PathBuf> = messages_in(Path::new(&var("SECINTAKE_BENCH_DIR")?))?
        .into_iter()
        .take(n)
        .collect();
    let settings = secintake::config::Settings::load(&config)
        .map_err(|e| anyhow::anyhow!("bench config: {e:?}"))?;
    let keyring = secintake::openpgp::Keyring::load(&settings.openpgp)?;
    let limits = settings.limits.clone();
    let cpu0 = self_cpu().unwrap_or_default();
    let t0 = Instant::now();
    let mut ok = 0;
    for f in &files {
        let raw = std::fs::read(f)?;
        let opened = secintake::normalize::open(&keyring, &raw, &limits);
        if opened.unreadable_reason().is_none()
            && opened.is_encrypted()
            && opened.text.contains("benchtoken-")
        {
            ok += 1;
        }
    }
    let wall_secs = t0.elapsed().as_secs_f64();
    emit(&Run {
        wall_secs,
        cpu_secs: self_cpu().unwrap_or_default().own - cpu0.own,
        ok,
        total: files.len(),
        peak_rss_kb: self_peak_rss_kb().unwrap_or(0),
    });
    Ok(())
}

/// The gpg-agent serving `home` (gpg starts it with `--homedir HOME`).
fn agent_pid(home: &Path) -> Option<u32> {
    let want = home.to_string_lossy().into_owned();
    std::fs::read_dir("/proc").ok()?.find_map(|e| {
        let e = e.ok()?;
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        let args: Vec<String> = cmd
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_agent = args.first().is_some_and(|a| a.ends_with("gpg-agent"));
        (is_agent && args.contains(&want)).then_some(pid)
    })
}

fn gpg_decrypt(home: &Path, raw: &[u8]) -> Result<Vec<u8>> {
    let mut child = Command::new("gpg")
        .arg("--homedir")
        .arg(home)
        .args(["--batch", "--decrypt"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("running gpg")?;
    let mut input = child.stdin.take().context("gpg stdin")?;
    let data = raw.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&data));
    let out = child.wait_with_output()?;
    let _ = writer.join();
    if !out.status.success() {
        bail!("gpg --decrypt failed with {}", out.status);
    }
    Ok(out.stdout)
}

/// The peer: IMAP fetch + `gpg --batch --decrypt` per message.
pub fn peer() -> Result<()> {
    let port: u16 = var("SECINTAKE_BENCH_IMAP_PORT")?.parse()?;
    let mailbox = var("SECINTAKE_BENCH_MAILBOX")?;
    let home = PathBuf::from(var("SECINTAKE_BENCH_GNUPGHOME")?);
    let n: u32 = var("SECINTAKE_BENCH_N")?.parse()?;
    // Start the agent before timing, as a long-running setup would have it.
    Command::new("gpg-connect-agent")
        .arg("--homedir")
        .arg(&home)
        .arg("/bye")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    let agent = agent_pid(&home).context("gpg-agent for the peer's GNUPGHOME not found")?;
    let agent0 = proc_cpu(agent).unwrap_or_default().own;
    let cpu0 = self_cpu().unwrap_or_default();
    let t0 = Instant::now();
    let mut imap = crate::imap::Imap::login(port, crate::data::SECURITY, SECURITY_PW)?;
    let exists = imap.examine(&mailbox)?.min(n);
    let mut ok = 0;
    for seq in 1..=exists {
        let raw = imap.fetch(seq)?;
        let plain = gpg_decrypt(&home, &raw)?;
        if String::from_utf8_lossy(&plain).contains("benchtoken-") {
            ok += 1;
        }
    }
    let wall_secs = t0.elapsed().as_secs_f64();
    let cpu = self_cpu().unwrap_or_default();
    let agent_cpu = proc_cpu(agent).unwrap_or_default().own - agent0;
    emit(&Run {
        wall_secs,
        cpu_secs: (cpu.own - cpu0.own) + (cpu.children - cpu0.children) + agent_cpu,
        ok,
        total: exists as usize,
        peak_rss_kb: self_peak_rss_kb().unwrap_or(0),
    });
    let _ = Command::new("gpgconf")
        .arg("--homedir")
        .arg(&home)
        .args(["--kill", "gpg-agent"])
        .status();
    Ok(())
}

/// `gpg --batch --decrypt` on each of `files`, one process after the
/// other, as a shell loop would (the comparison in `compare.rs`). CPU is
/// this process's gpg children and the gpg-agent's.
pub fn gpg_loop(home: &Path, files: &[PathBuf]) -> Result<Run> {
    Command::new("gpg-connect-agent")
        .arg("--homedir")
        .arg(home)
        .arg("/bye")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    let agent = agent_pid(home).context("gpg-agent for the loop's GNUPGHOME not found")?;
    let agent0 = proc_cpu(agent).unwrap_or_default().own;
    let cpu0 = self_cpu().unwrap_or_default();
    let t0 = Instant::now();
    let mut ok = 0;
    for f in files {
        let plain = gpg_decrypt(home, &std::fs::read(f)?)?;
        if String::from_utf8_lossy(&plain).contains("benchtoken-") {
            ok += 1;
        }
    }
    let wall_secs = t0.elapsed().as_secs_f64();
    let cpu = self_cpu().unwrap_or_default();
    let agent_cpu = proc_cpu(agent).unwrap_or_default().own - agent0;
    let _ = Command::new("gpgconf")
        .arg("--homedir")
        .arg(home)
        .args(["--kill", "gpg-agent"])
        .status();
    Ok(Run {
        wall_secs,
        cpu_secs: (cpu.children - cpu0.children) + agent_cpu,
        ok,
        total: files.len(),
        peak_rss_kb: 0,
    })
}

/// The `secintake` the benchmark runs: this build, or the one
/// `SECINTAKE_BENCH_BIN` names (an older build, for before and after).
pub fn daemon_bin() -> String {
    std::env::var("SECINTAKE_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_secintake").to_string())
}

/// `SECINTAKE_BENCH_BIN=…` for the printed command, when set.
pub fn daemon_bin_knob() -> Option<String> {
    std::env::var("SECINTAKE_BENCH_BIN")
        .ok()
        .map(|b| format!("SECINTAKE_BENCH_BIN={b}"))
}
