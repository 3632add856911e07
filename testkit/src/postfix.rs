//! A private Postfix for one test, delivering `@example.test` mail over LMTP
//! into a private [`Dovecot`], and authenticating SMTP clients (SASL) against
//! that Dovecot's users.
//!
//! Three loopback listeners:
//! - `smtp_port`: plain SMTP, no AUTH; 127.0.0.0/8 may relay to example.test.
//! - `submission_port`: STARTTLS required, then AUTH (587-style).
//! - `smtps_port`: implicit TLS, AUTH (465-style).
//!
//! Each instance has its own config, queue and data directories, so several can
//! run at once; its `master` process is stopped by SIGTERM on drop.

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::dovecot::{
    chown, keep_or_delete, set_mode, stop_child, tail, wait_for_greeting, Dovecot, START_TIMEOUT,
};
use crate::ports::{free_ports, transient_start_failure};

/// The `postfix` control command.
pub const POSTFIX_BIN: &str = "/usr/sbin/postfix";
/// The Postfix master daemon, run directly so its PID is ours.
pub const MASTER_BIN: &str = "/usr/lib/postfix/sbin/master";

/// A running private Postfix. Dropping it stops the server and deletes its
/// directory (kept, and its path printed, if `SECINTAKE_KEEP_TEST_DIRS` is set).
pub struct Postfix {
    /// The instance's directory: `etc/` (main.cf, master.cf), `queue/`, `data/`, `maillog`.
    pub dir: PathBuf,
    /// Plain SMTP, no AUTH, relay to example.test allowed from loopback.
    pub smtp_port: u16,
    /// Submission: STARTTLS required before AUTH (PLAIN, LOGIN) and mail.
    pub submission_port: u16,
    /// Implicit TLS (SMTPS) with AUTH.
    pub smtps_port: u16,
    /// The server certificate (self-signed, SAN localhost and 127.0.0.1); also the CA file.
    pub cert_pem: PathBuf,
    child: Child,
    tmp: Option<tempfile::TempDir>,
}

impl Postfix {
    /// Starts an instance in front of `dovecot` and waits until it answers.
    pub fn start(dovecot: &Dovecot) -> Result<Postfix> {
        let mut last_err = None;
        for _ in 0..3 {
            match Self::start_once(dovecot) {
                Ok(p) => return Ok(p),
                // A picked port was taken before master bound it: pick again.
                // It may also exit before its greeting without a word (a
                // port taken between the pick and the bind, seen once
                // under load): a fresh instance on fresh ports.
                Err(e) if transient_start_failure(&e) => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("postfix did not start")))
    }

    fn start_once(dovecot: &Dovecot) -> Result<Postfix> {
        let tmp = tempfile::Builder::new()
            .prefix("secintake-postfix-")
            .tempdir()
            .context("creating postfix temp dir")?;
        let dir = tmp.path().to_path_buf();
        set_mode(&dir, 0o755)?;
        let etc = dir.join("etc");
        for sub in ["etc", "queue", "data"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        chown(&dir.join("data"), "postfix")?;
        let cert_pem = etc.join("cert.pem");
        fs::copy(&dovecot.cert_pem, &cert_pem).context("copying certificate")?;
        fs::copy(&dovecot.key_pem, etc.join("key.pem")).context("copying key")?;
        set_mode(&etc.join("key.pem"), 0o600)?;
        let ports = free_ports(3)?;
        let (smtp_port, submission_port, smtps_port) = (ports[0], ports[1], ports[2]);
        fs::write(etc.join("main.cf"), main_cf(&dir, dovecot))?;
        fs::write(
            etc.join("master.cf"),
            master_cf(smtp_port, submission_port, smtps_port),
        )?;

        let out = Command::new(POSTFIX_BIN)
            .arg("-c")
            .arg(&etc)
            .arg("check")
            .output()
            .with_context(|| format!("running {POSTFIX_BIN} check"))?;
        if !out.status.success() {
            bail!(
                "postfix -c {} check failed: {}{}",
                etc.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }

        let stderr = fs::File::create(dir.join("master.stderr"))?;
        let child = Command::new(MASTER_BIN)
            .arg("-c")
            .arg(&etc)
            .arg("-s")
            .stdin(Stdio::null())
            .stdout(stderr.try_clone()?)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("spawning {MASTER_BIN}"))?;
        let mut p = Postfix {
            dir,
            smtp_port,
            submission_port,
            smtps_port,
            cert_pem,
            child,
            tmp: Some(tmp),
        };
        let ready = wait_for_greeting(&mut p.child, smtp_port, "220")
            .and_then(|()| wait_for_greeting(&mut p.child, submission_port, "220"))
            .and_then(|()| wait_for_accept(smtps_port));
        if let Err(e) = ready {
            return Err(e.context(format!("postfix did not start\n{}", p.log_tail())));
        }
        Ok(p)
    }

    /// The CA file that validates this server's certificate (it is self-signed).
    pub fn ca_file(&self) -> &Path {
        &self.cert_pem
    }

    /// The config directory, for `postfix -c` / `postqueue -c`.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.join("etc")
    }

    /// The last lines of the mail log (and of master's stderr).
    pub fn log_tail(&self) -> String {
        format!(
            "--- {}/maillog (tail) ---\n{}--- postfix master stderr ---\n{}",
            self.dir.display(),
            tail(&self.dir.join("maillog"), 40),
            tail(&self.dir.join("master.stderr"), 20)
        )
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_tail());
        }
        stop_child(&mut self.child);
        keep_or_delete(self.tmp.take(), "postfix");
    }
}

fn wait_for_accept(port: u16) -> Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    let addr = ([127, 0, 0, 1], port).into();
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                bail!("nothing accepts on 127.0.0.1:{port}: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(25)),
        }
    }
}

fn main_cf(dir: &Path, dovecot: &Dovecot) -> String {
    let d = dir.display();
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("x");
    format!(
        "compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
syslog_name = {name}
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_transport = error:no local delivery
virtual_mailbox_domains = example.test
virtual_transport = lmtp:inet:127.0.0.1:{lmtp}
default_transport = error:no outside delivery in tests
relayhost =
smtp_dns_support_level = disabled
disable_dns_lookups = yes
smtpd_peername_lookup = no
biff = no
smtpd_banner = $myhostname ESMTP test
smtpd_tls_cert_file = {d}/etc/cert.pem
smtpd_tls_key_file = {d}/etc/key.pem
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{auth}
smtpd_sasl_auth_enable = no
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
alias_maps =
alias_database =
",
        lmtp = dovecot.lmtp_port,
        auth = dovecot.auth_port,
    )
}

fn master_cf(smtp: u16, submission: u16, smtps: u16) -> String {
    format!(
        "# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:{smtp} inet n  -       n       -       -       smtpd
127.0.0.1:{submission} inet n  -       n       -       -       smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.1:{smtps} inet n  -       n       -       -       smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"
    )
}
