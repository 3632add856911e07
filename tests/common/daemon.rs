//! The secintake binary as a child process, with its log captured.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

pub struct Daemon {
    child: Option<Child>,
    pub log: PathBuf,
}

/// The daemon under test; `SECINTAKE_TEST_BIN` points at another build
/// (to measure an older one with the same test).
pub fn binary() -> String {
    std::env::var("SECINTAKE_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_secintake").into())
}

impl Daemon {
    /// Starts `secintake run` on `config`; extra args follow `run`.
    pub fn start(config: &Path, log: PathBuf, args: &[&str]) -> Daemon {
        Self::start_env(config, log, args, &[])
    }

    /// Like `start`, with extra environment (set after the defaults, so
    /// `SECINTAKE_LOG` here wins).
    pub fn start_env(config: &Path, log: PathBuf, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(binary())
            .arg("--config")
            .arg(config)
            .arg("run")
            .args(args)
            .env(
                "SECINTAKE_LOG",
                std::env::var("SECINTAKE_TEST_LOG").unwrap_or_else(|_| "debug".into()),
            )
            .env_remove("JOURNAL_STREAM")
            .envs(env.iter().copied())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("spawn secintake");
        Daemon {
            child: Some(child),
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status();
    }

    /// SIGTERM, then wait up to `bound` for exit.
    pub fn terminate(&mut self, bound: Duration) -> Option<ExitStatus> {
        self.signal("TERM");
        self.wait(bound)
    }

    pub fn kill9(&mut self) {
        self.signal("KILL");
        let _ = self.wait(Duration::from_secs(10));
    }

    pub fn wait(&mut self, bound: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let start = std::time::Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if start.elapsed() > bound {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `secintake ARGS` to completion, returning (exit code, stdout+stderr).
pub fn run_cli(args: &[&str]) -> (i32, String) {
    let out = Command::new(binary())
        .args(args)
        .env_remove("JOURNAL_STREAM")
        .output()
        .expect("run secintake");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}
