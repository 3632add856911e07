//! The servers the daemon talks to (private Dovecot, the GitHub fake, an
//! SMTP sink), its configuration, the daemon as a child process, and what
//! /proc says about a process (CPU time, peak RSS).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use secintake_testkit::dovecot::Dovecot;
use secintake_testkit::github_fake::GithubFake;
use secintake_testkit::smtp_sink::SmtpSink;

use crate::data::{Data, SECURITY};

pub const REPO: &str = "jupyter/security-reports";
const TOKEN: &str = "ghp_bench_0123456789";
pub const SECURITY_PW: &str = "securitypw";

pub struct Servers {
    pub dir: tempfile::TempDir,
    pub dovecot: Dovecot,
    pub github: GithubFake,
    pub sink: SmtpSink,
}

impl Servers {
    pub fn start() -> Result<Servers> {
        let dovecot = Dovecot::start().context("starting Dovecot")?;
        let github = GithubFake::start_on_thread(TOKEN)?;
        github.create_repo(REPO);
        let sink = SmtpSink::start_on_thread()?;
        let dir = tempfile::Builder::new()
            .prefix("secintake-bench-")
            .tempdir()?;
        std::fs::write(dir.path().join("imap-password"), SECURITY_PW)?;
        std::fs::write(dir.path().join("github-token"), TOKEN)?;
        Ok(Servers {
            dir,
            dovecot,
            github,
            sink,
        })
    }

    pub fn imap(&self) -> Result<crate::imap::Imap> {
        crate::imap::Imap::login(self.dovecot.imap_port, SECURITY, SECURITY_PW)
    }

    /// Writes `<name>.toml` with its own state directory; returns its path.
    /// Production-like: IMAP over TLS with IDLE, SMTP plain to the sink
    /// (loopback), both bench keys, default limits and log level.
    pub fn config(&self, name: &str, data: &Data) -> Result<PathBuf> {
        let dir = self.dir.path();
        let path = dir.join(format!("{name}.toml"));
        let text = format!(
            r#"[instance]
tracking_prefix = "{prefix}"
addresses = ["{SECURITY}"]
state_dir = "{state}"

[source]
kind = "imap"

[source.imap]
host = "127.0.0.1"
port = {imaps}
security = "tls"
ca_file = "{ca}"
username = "{SECURITY}"
password_file = "imap-password"
mailbox = "INBOX"
processed_mailbox = "Processed"
idle = true
poll_interval = "60s"

[openpgp]
secret_keys = ["{rsa}", "{cv}"]

[tracker]
kind = "github"

[tracker.github]
api_url = "{api}"
repository = "{REPO}"
token_file = "github-token"
labels = ["security-report", "needs-triage"]

[mailer]
kind = "smtp"

[mailer.smtp]
host = "127.0.0.1"
port = {smtp}
security = "plain"

[acknowledgement]
from = "Project Jupyter Security <{SECURITY}>"
templates = "{templates}"
response_window = "3d"
disclosure_window = "90d"
# The default (100 an hour) would suppress most of a 1,000-report backlog's
# acknowledgements; the benchmark times all of them.
global_max = 1000000
"#,
            // Each run numbers from 1 again: its own prefix keeps its
            // markers apart from earlier runs' issues in the same fake.
            prefix = name.to_ascii_uppercase(),
            state = dir.join(format!("state-{name}")).display(),
            imaps = self.dovecot.imaps_port,
            ca = self.dovecot.cert_pem.display(),
            rsa = data.rsa_secret.display(),
            cv = data.cv_secret.display(),
            api = self.github.url,
            smtp = self.sink.port,
            templates = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("config/templates")
                .display(),
        );
        std::fs::write(&path, text)?;
        Ok(path)
    }

    /// GitHub's primary limit (5,000 requests an hour per token) would stop
    /// a 1,000-report backlog part-way; the benchmark measures our side, so
    /// the fake's budget is kept full (requests per report are reported).
    pub fn top_up_rate_limit(&self) {
        self.github
            .set_rate_limit(5000, chrono::Utc::now() + chrono::Duration::hours(1));
    }

    pub fn issues(&self) -> usize {
        self.github.issue_created_instants(REPO).len()
    }

    pub fn issue_instants(&self) -> Vec<Instant> {
        self.github
            .issue_created_instants(REPO)
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }
}

/// `secintake run` (the release binary) as a child process.
pub struct Daemon {
    child: Option<Child>,
    pub pid: u32,
    pub started: Instant,
    pub log: PathBuf,
}

impl Daemon {
    pub fn start(config: &Path) -> Result<Daemon> {
        let log = config.with_extension("log");
        let out = std::fs::File::create(&log)?;
        let started = Instant::now();
        // For profiling only: SECINTAKE_BENCH_WRAP="perf record -g -o F --"
        // runs the daemon under that command (CPU and RSS are then the
        // wrapper's, so the table is not comparable). The wrapper must pass
        // SIGTERM on to the daemon, or exec it.
        let wrap = std::env::var("SECINTAKE_BENCH_WRAP").unwrap_or_default();
        let mut words = wrap.split_whitespace();
        let mut cmd = match words.next() {
            Some(w) => {
                let mut c = Command::new(w);
                c.args(words).arg(crate::helpers::daemon_bin());
                c
            }
            None => Command::new(crate::helpers::daemon_bin()),
        };
        let child = cmd
            .arg("--config")
            .arg(config)
            .arg("run")
            .env_remove("SECINTAKE_LOG")
            .env_remove("JOURNAL_STREAM")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone()?))
            .stderr(Stdio::from(out))
            .spawn()
            .context("spawning secintake")?;
        Ok(Daemon {
            pid: child.id(),
            child: Some(child),
            started,
            log,
        })
    }

    /// Fails (with the log's tail) if the daemon exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(c) = self.child.as_mut() {
            if let Some(status) = c.try_wait()? {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                bail!(
                    "secintake exited with {status}:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
        }
        Ok(())
    }

    pub fn cpu_secs(&self) -> f64 {
        proc_cpu(self.pid).map(|c| c.own).unwrap_or(0.0)
    }

    pub fn peak_rss_kb(&self) -> u64 {
        peak_rss_kb(self.pid).unwrap_or(0)
    }

    /// SIGTERM and wait for the exit (SIGKILL after 30 s).
    pub fn stop(&mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// CPU seconds of a process: its own, and that of its waited-for children.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    pub own: f64,
    pub children: f64,
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// From /proc/PID/stat (fields 14–17: utime, stime, cutime, cstime).
pub fn proc_cpu(pid: u32) -> Option<Cpu> {
    proc_cpu_at(&format!("/proc/{pid}/stat"))
}

pub fn self_cpu() -> Option<Cpu> {
    proc_cpu_at("/proc/self/stat")
}

fn proc_cpu_at(path: &str) -> Option<Cpu> {
    let stat = std::fs::read_to_string(path).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    let t = clock_ticks();
    Some(Cpu {
        own: (f.get(11)? + f.get(12)?) / t,
        children: (f.get(13)? + f.get(14)?) / t,
    })
}

/// VmHWM (peak resident set) in KiB.
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    hwm_at(&format!("/proc/{pid}/status"))
}

pub fn self_peak_rss_kb() -> Option<u64> {
    hwm_at("/proc/self/status")
}

fn hwm_at(path: &str) -> Option<u64> {
    let status = std::fs::read_to_string(path).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Polls `f` every `every` until it is true; fails after `timeout`.
pub fn wait_for(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut f: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if f()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(every);
    }
}
