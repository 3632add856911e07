//! A private Dovecot 2.3 (IMAP, IMAPS, LMTP, SASL auth) for one test.
//!
//! Each instance has its own temp directory (config, passwd-file users,
//! Maildirs, self-signed certificate, log), its own ephemeral loopback ports
//! and its own `dovecot -F` process, stopped by SIGTERM to its PID on drop.
//! Several instances can run at once.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::ports::{free_ports, transient_start_failure};

/// The Dovecot master binary.
pub const DOVECOT_BIN: &str = "/usr/sbin/dovecot";

/// Users every instance starts with: (address, password).
pub const DEFAULT_USERS: &[(&str, &str)] = &[
    ("security@example.test", "securitypw"),
    ("alice@example.test", "alicepw"),
    ("bob@example.test", "bobpw"),
];

/// How long to wait for a server to answer after starting it.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running private Dovecot. Dropping it stops the server and deletes its
/// directory (kept, and its path printed, if `SECINTAKE_KEEP_TEST_DIRS` is set).
pub struct Dovecot {
    /// The instance's directory: `dovecot.conf`, `users`, `mail/`, `dovecot.log`.
    pub dir: PathBuf,
    /// Plain IMAP (no TLS required, plaintext auth allowed) on 127.0.0.1.
    pub imap_port: u16,
    /// IMAP over implicit TLS on 127.0.0.1.
    pub imaps_port: u16,
    /// LMTP on 127.0.0.1 (Postfix's `virtual_transport`).
    pub lmtp_port: u16,
    /// Dovecot auth client protocol on 127.0.0.1 (Postfix's `smtpd_sasl_path`).
    pub auth_port: u16,
    /// Self-signed certificate, SAN `DNS:localhost, IP:127.0.0.1`; also the CA file.
    pub cert_pem: PathBuf,
    /// The certificate's private key.
    pub key_pem: PathBuf,
    child: Child,
    tmp: Option<tempfile::TempDir>,
}

impl Dovecot {
    /// Starts an instance with [`DEFAULT_USERS`] and waits for its IMAP greeting.
    pub fn start() -> Result<Dovecot> {
        let mut last_err = None;
        for _ in 0..3 {
            match Self::start_once() {
                Ok(d) => return Ok(d),
                // A picked port was taken before Dovecot bound it: pick again.
                // It may also exit before its greeting without a word (a
                // port taken between the pick and the bind, seen once
                // under load): a fresh instance on fresh ports.
                Err(e) if transient_start_failure(&e) => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("dovecot did not start")))
    }

    fn start_once() -> Result<Dovecot> {
        let tmp = tempfile::Builder::new()
            .prefix("secintake-dovecot-")
            .tempdir()
            .context("creating dovecot temp dir")?;
        let dir = tmp.path().to_path_buf();
        set_mode(&dir, 0o755)?;
        let ports = free_ports(4)?;
        let (imap_port, imaps_port, lmtp_port, auth_port) =
            (ports[0], ports[1], ports[2], ports[3]);
        for sub in ["run", "state", "mail", "users"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        let root = is_root();
        if root {
            chown(&dir.join("mail"), "dovecot:dovecot")?;
        }
        let (cert_pem, key_pem) = make_cert(&dir)?;
        for (user, pw) in DEFAULT_USERS {
            write_user(&dir, user, pw)?;
        }
        let conf = config(&dir, imap_port, imaps_port, lmtp_port, auth_port, root);
        fs::write(dir.join("dovecot.conf"), conf)?;

        let stderr = fs::File::create(dir.join("dovecot.stderr"))?;
        let child = Command::new(DOVECOT_BIN)
            .arg("-F")
            .arg("-c")
            .arg(dir.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(stderr.try_clone()?)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("spawning {DOVECOT_BIN}"))?;
        let mut d = Dovecot {
            dir,
            imap_port,
            imaps_port,
            lmtp_port,
            auth_port,
            cert_pem,
            key_pem,
            child,
            tmp: Some(tmp),
        };
        if let Err(e) = wait_for_greeting(&mut d.child, imap_port, "* OK") {
            return Err(e.context(format!("dovecot did not start\n{}", d.log_tail())));
        }
        Ok(d)
    }

    /// Adds a user (usable at once), or changes its password (Dovecot may go on
    /// accepting the old one for up to a second).
    pub fn add_user(&self, user: &str, password: &str) -> Result<()> {
        write_user(&self.dir, user, password)
    }

    /// The password of `user`, if it exists.
    pub fn password(&self, user: &str) -> Option<String> {
        let line = fs::read_to_string(user_file(&self.dir, user).ok()?).ok()?;
        let rest = line.strip_prefix(user)?.strip_prefix(":{PLAIN}")?;
        Some(rest.split(':').next()?.to_string())
    }

    /// The CA file that validates this server's certificate (it is self-signed).
    pub fn ca_file(&self) -> &Path {
        &self.cert_pem
    }

    /// The config file, for `doveadm -c`.
    pub fn config_file(&self) -> PathBuf {
        self.dir.join("dovecot.conf")
    }

    /// The last lines of the server's log (and of its stderr).
    pub fn log_tail(&self) -> String {
        format!(
            "--- {}/dovecot.log (tail) ---\n{}--- dovecot stderr ---\n{}",
            self.dir.display(),
            tail(&self.dir.join("dovecot.log"), 40),
            tail(&self.dir.join("dovecot.stderr"), 20)
        )
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_tail());
        }
        stop_child(&mut self.child);
        keep_or_delete(self.tmp.take(), "dovecot");
    }
}

// One passwd-file per user (`users/%u`): Dovecot re-reads a changed
// passwd-file at most once a second, but opens a new path at once.
fn user_file(dir: &Path, user: &str) -> Result<PathBuf> {
    if user.is_empty() || user.contains(['/', ':', '\n', '%']) || user.starts_with('.') {
        bail!("unusable test user name {user:?}");
    }
    Ok(dir.join("users").join(user))
}

fn write_user(dir: &Path, user: &str, password: &str) -> Result<()> {
    if password.contains([':', '\n']) {
        bail!("unusable test password {password:?}");
    }
    let path = user_file(dir, user)?;
    let tmp = dir.join("users").join(format!(".{user}.tmp"));
    fs::write(&tmp, format!("{user}:{{PLAIN}}{password}::::::\n"))?;
    set_mode(&tmp, 0o644)?;
    fs::rename(&tmp, &path)?;
    Ok(())
}

fn config(dir: &Path, imap: u16, imaps: u16, lmtp: u16, auth: u16, root: bool) -> String {
    let d = dir.display();
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("x");
    let (login_user, internal_user, mail_user, mail_group) = if root {
        let s = |x: &str| x.to_string();
        (s("dovenull"), s("dovecot"), s("dovecot"), s("dovecot"))
    } else {
        let user = run_stdout("id", &["-un"]).unwrap_or_default();
        let group = run_stdout("id", &["-gn"]).unwrap_or_default();
        (user.clone(), user.clone(), user, group)
    };
    let mut c = format!(
        "base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
instance_name = {name}
protocols = imap lmtp
listen = 127.0.0.1
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_max_userip_connections = 1000
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {mail_group}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users/%u
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={d}/mail/%u
}}
mail_location = maildir:~/Maildir
lmtp_save_to_detail_mailbox = no
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
service auth {{
  inet_listener auth-inet {{
    address = 127.0.0.1
    port = {auth}
  }}
}}
"
    );
    if !root {
        c.push_str("service imap-login {\n  chroot =\n}\nservice anvil {\n  chroot =\n}\n");
    }
    c
}

const CERT_CNF: &str = "[req]
distinguished_name = dn
x509_extensions = leaf
prompt = no
[dn]
CN = localhost
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
";

/// Writes `cert.pem`/`key.pem` (self-signed, SAN localhost and 127.0.0.1) into `dir`.
pub(crate) fn make_cert(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let (cert, key, cnf) = (
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("cert.cnf"),
    );
    // An end-entity certificate (CA:FALSE): webpki (rustls) refuses a CA
    // certificate as a server's leaf, which `openssl req -x509` makes by default.
    fs::write(&cnf, CERT_CNF)?;
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-config"])
        .arg(&cnf)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args(["-days", "3650", "-subj", "/CN=localhost"])
        .output()
        .context("running openssl")?;
    if !out.status.success() {
        bail!(
            "openssl req failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    set_mode(&cert, 0o644)?;
    Ok((cert, key))
}

/// Polls `port` until a line starting with `prefix` is read, or the child
/// exits, or [`START_TIMEOUT`] passes.
pub(crate) fn wait_for_greeting(child: &mut Child, port: u16, prefix: &str) -> Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    let mut last = String::from("no connection yet");
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            bail!("server exited with {status} before greeting on port {port}");
        }
        match read_greeting(port) {
            Ok(line) if line.starts_with(prefix) => return Ok(()),
            Ok(line) => last = format!("unexpected greeting {line:?}"),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    bail!("no {prefix:?} greeting on 127.0.0.1:{port} within {START_TIMEOUT:?}: {last}")
}

fn read_greeting(port: u16) -> std::io::Result<String> {
    let addr = ([127, 0, 0, 1], port).into();
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut line = String::new();
    BufReader::new(&s).read_line(&mut line)?;
    if line.starts_with("220") {
        // Be polite to smtpd so it does not log a lost connection.
        let _ = (&s).write_all(b"QUIT\r\n");
    }
    Ok(line)
}

/// SIGTERM, then wait up to 5 s, then SIGKILL.
pub(crate) fn stop_child(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a PID we spawned and have not yet reaped.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(pid, libc::SIGTERM)
        };
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

pub(crate) fn keep_or_delete(tmp: Option<tempfile::TempDir>, what: &str) {
    let Some(tmp) = tmp else { return };
    if std::env::var_os("SECINTAKE_KEEP_TEST_DIRS").is_some() {
        eprintln!("keeping {what} test dir {}", tmp.keep().display());
    }
}

/// The last `n` lines of a file (or a note that it cannot be read).
pub(crate) fn tail(path: &Path, n: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(n);
            lines[start..].iter().map(|l| format!("{l}\n")).collect()
        }
        Err(e) => format!("({}: {e})\n", path.display()),
    }
}

pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {mode:o} {}", path.display()))
}

pub(crate) fn chown(path: &Path, owner: &str) -> Result<()> {
    let st = Command::new("chown")
        .arg("-R")
        .arg(owner)
        .arg(path)
        .status()?;
    if !st.success() {
        bail!("chown -R {owner} {} failed", path.display());
    }
    Ok(())
}

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    #[allow(unsafe_code)]
    unsafe {
        libc::geteuid() == 0
    }
}

fn run_stdout(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
