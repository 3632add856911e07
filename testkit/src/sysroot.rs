//! A Debian 12 root file system booted under a real systemd, for the test
//! that installs secintake's package and runs it as a service.
//!
//! systemd runs as PID 1 of a private PID namespace and a private mount
//! namespace (`unshare --pid --fork --mount`), in its own root reached with
//! `pivot_root` (not `chroot`: the kernel refuses user namespaces, which
//! `PrivateUsers=` needs, to a chrooted process). It shares the machine's
//! network, so the service reaches test servers on 127.0.0.1.
//!
//! systemd must never boot against the development machine's own root: its
//! tmpfiles rules empty `/tmp` at boot, taking every other process's files
//! with it. The boot script therefore execs systemd only after
//! `pivot_root` and only when the new `/` holds the [`MARKER`] file that
//! [`BootedRoot::boot`] writes into the unpacked root.
//!
//! The root is unpacked from a cached tarball made once by `mmdebstrap`
//! ([`rootfs_tarball`], ≈45 s) and is thrown away with the namespaces.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Where the cached root tarball lives (outside the repository; kept
/// between runs). `SECINTAKE_ROOTFS_CACHE` overrides the directory.
pub const DEFAULT_CACHE_DIR: &str = "/var/cache/secintake-test-rootfs";

/// The packages of the root beyond `minbase`: systemd and dbus (as on a
/// standard server: `systemd-run --wait` needs the bus), and what the
/// secintake package depends on (`dpkg -i` fails if one is missing).
pub const PACKAGES: &str = "systemd,dbus,libssl3,ca-certificates,procps";

/// Named after what it holds, so a change of [`PACKAGES`] makes a new one.
const TARBALL: &str = "bookworm-minbase-systemd-dbus-libssl3-ca-certificates-procps.tar.zst";

/// A file only the test root has; the boot script refuses to start
/// systemd on a `/` without it.
pub const MARKER: &str = "etc/secintake-test-root";

const BOOT_SCRIPT: &str = r#"#!/bin/bash
# Runs as PID 1's parent inside `unshare --pid --fork --mount`.
set -euo pipefail
R=$1
CONSOLE=$2
mount --make-rprivate /
mount --bind "$R" "$R"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount -t tmpfs -o mode=755 tmpfs "$R/dev"
for d in null zero full random urandom tty; do
    touch "$R/dev/$d"
    mount --bind "/dev/$d" "$R/dev/$d"
done
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs tmpfs "$R/dev/shm"
touch "$R/dev/console"
mount --bind "$CONSOLE" "$R/dev/console"
mount -t tmpfs -o mode=755 tmpfs "$R/run"
mkdir -p "$R/.oldroot"
cd "$R"
pivot_root . .oldroot
umount -l /.oldroot
# systemd in a container leaves / private; credentials (LoadCredential=)
# are mounted from a helper namespace and need / shared to show up.
mount --make-rshared /
[ -e /etc/secintake-test-root ] || { echo "not the test root: refusing to boot" >&2; exit 1; }
exec env -i container=secintake-test /lib/systemd/systemd --system \
    --log-target=journal-or-kmsg --log-color=no --unit=multi-user.target
"#;

/// Whether this machine can boot the test root: root, `unshare`,
/// `nsenter`, `pivot_root`, and either the cached tarball or `mmdebstrap`
/// to make it. `Err` says what is missing.
pub fn can_boot() -> std::result::Result<(), String> {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid0 = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .map(|l| l.split_whitespace().nth(1) == Some("0"))
        .unwrap_or(false);
    if !uid0 {
        return Err("not root (namespaces, mounts and pivot_root need it)".into());
    }
    for bin in ["unshare", "nsenter", "pivot_root", "tar", "zstd"] {
        if !on_path(bin) {
            return Err(format!("{bin} is not installed"));
        }
    }
    if !cache_dir().join(TARBALL).exists() && !on_path("mmdebstrap") {
        return Err("mmdebstrap is not installed (and no cached root)".into());
    }
    Ok(())
}

fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| crate::require::have_binary(d.join(bin))))
        .unwrap_or(false)
}

fn cache_dir() -> PathBuf {
    std::env::var_os("SECINTAKE_ROOTFS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CACHE_DIR))
}

/// The cached root tarball, made with `mmdebstrap` when missing (written
/// under a temporary name and renamed, so a half-made one is never used).
pub fn rootfs_tarball() -> Result<PathBuf> {
    let dir = cache_dir();
    let tarball = dir.join(TARBALL);
    if tarball.exists() {
        return Ok(tarball);
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // mmdebstrap picks the format by the name's extension: keep it.
    let partial = dir.join(format!("partial-{}-{TARBALL}", std::process::id()));
    let out = Command::new("mmdebstrap")
        .args(["--variant=minbase", "--quiet"])
        .arg(format!("--include={PACKAGES}"))
        .arg("bookworm")
        .arg(&partial)
        .arg("http://deb.debian.org/debian")
        .stdin(Stdio::null())
        .output()
        .context("running mmdebstrap")?;
    if !out.status.success() || !partial.is_file() {
        let _ = fs::remove_file(&partial);
        bail!(
            "mmdebstrap failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    fs::rename(&partial, &tarball)?;
    Ok(tarball)
}

/// A booted root. Dropping it kills its PID 1 (and so every process of the
/// namespace; the mounts go with it) and deletes the root.
pub struct BootedRoot {
    /// The root on the machine's file system (write files into it here).
    pub dir: PathBuf,
    /// The console: systemd's own early messages.
    pub console: PathBuf,
    unshare: Child,
    pid1: u32,
    _tmp: tempfile::TempDir,
}

impl BootedRoot {
    /// Unpacks `tarball` and boots it; returns once `systemctl
    /// is-system-running` says `running` or `degraded`.
    pub fn boot(tarball: &Path) -> Result<BootedRoot> {
        // Not under /tmp: the root's size (≈200 MB) is not /tmp's business.
        let tmp = tempfile::Builder::new()
            .prefix("secintake-sysroot-")
            .tempdir_in("/var/tmp")
            .context("creating the root's directory")?;
        let dir = tmp.path().join("root");
        fs::create_dir(&dir)?;
        let out = Command::new("tar")
            .arg("-C")
            .arg(&dir)
            .args(["--zstd", "-xf"])
            .arg(tarball)
            .output()
            .context("running tar")?;
        if !out.status.success() {
            bail!(
                "unpacking the root: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        fs::write(dir.join(MARKER), "secintake test root\n")?;
        // Nothing but what the test starts: no gettys, no timers.
        for wants in ["getty.target.wants", "timers.target.wants"] {
            let _ = fs::remove_dir_all(dir.join("etc/systemd/system").join(wants));
        }
        let script = tmp.path().join("boot.sh");
        fs::write(&script, BOOT_SCRIPT)?;
        let console = tmp.path().join("console.log");
        fs::write(&console, "")?;
        let log = fs::File::create(tmp.path().join("boot.log"))?;
        let unshare = Command::new("unshare")
            .args(["--pid", "--fork", "--mount", "--propagation", "private"])
            .arg("bash")
            .arg(&script)
            .arg(&dir)
            .arg(&console)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("spawning unshare")?;
        let mut root = BootedRoot {
            dir,
            console,
            pid1: 0,
            unshare,
            _tmp: tmp,
        };
        root.pid1 = root.wait_for_pid1()?;
        root.wait_running(Duration::from_secs(60))?;
        Ok(root)
    }

    fn boot_log(&self) -> String {
        let dir = self.dir.parent().unwrap_or(&self.dir);
        fs::read_to_string(dir.join("boot.log")).unwrap_or_default()
    }

    /// The PID (on this machine) of the namespace's PID 1: unshare's child
    /// once it has exec'd systemd.
    fn wait_for_pid1(&mut self) -> Result<u32> {
        let start = Instant::now();
        let parent = self.unshare.id();
        loop {
            if let Some(status) = self.unshare.try_wait()? {
                bail!("the root did not boot ({status}):\n{}", self.boot_log());
            }
            let children = fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
                .unwrap_or_default();
            if let Some(pid) = children.split_whitespace().next() {
                let pid: u32 = pid.parse()?;
                let exe = fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
                if exe.ends_with("systemd") {
                    return Ok(pid);
                }
            }
            if start.elapsed() > Duration::from_secs(30) {
                bail!("systemd did not start in 30 s:\n{}", self.boot_log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_running(&self, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < timeout {
            let out = self.run(&["systemctl", "is-system-running"])?;
            last = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if last == "running" || last == "degraded" {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("system is {last:?} after {timeout:?}:\n{}", self.boot_log())
    }

    /// Runs a command inside the root (its namespaces, its `/`).
    pub fn run(&self, args: &[&str]) -> Result<Output> {
        Command::new("nsenter")
            .arg("--target")
            .arg(self.pid1.to_string())
            .args(["--mount", "--pid", "--root", "--wd", "--"])
            .args(args)
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("nsenter {args:?}"))
    }

    /// Runs `sh -c script` inside the root; stdout and stderr together.
    pub fn sh(&self, script: &str) -> Result<(bool, String)> {
        let out = self.run(&["sh", "-c", script])?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok((out.status.success(), text))
    }

    /// The host path of `path` inside the root (`/etc/x` → `DIR/etc/x`).
    pub fn path(&self, path: &str) -> PathBuf {
        self.dir.join(path.trim_start_matches('/'))
    }
}

impl Drop for BootedRoot {
    fn drop(&mut self) {
        // SIGKILL to a PID namespace's init kills every process in it.
        // unshare exits when it does; the root's directory is deleted after.
        if self.pid1 != 0 {
            let _ = Command::new("kill")
                .args(["-KILL", &self.pid1.to_string()])
                .status();
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.unshare.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
    }
}
