//! Service-side helpers: the metrics endpoint, the status snapshot, a
//! systemd notification socket, and OpenPGP keys made for one test.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `GET path` on the metrics endpoint: (status code, body).
pub fn scrape(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

/// The value of one sample (`name{labels}` exactly as exposed).
pub fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let (s, v) = l.rsplit_once(' ')?;
        (s == series).then(|| v.parse().ok()).flatten()
    })
}

/// The daemon's published snapshot, as JSON.
pub fn snapshot(state_dir: &Path) -> Option<serde_json::Value> {
    let bytes = std::fs::read(state_dir.join("status.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The metrics address the daemon published in its snapshot.
pub fn metrics_addr(state_dir: &Path) -> Option<String> {
    snapshot(state_dir)?
        .get("daemon")?
        .get("metrics_listen")?
        .as_str()
        .map(str::to_string)
}

/// A `NOTIFY_SOCKET` stand-in: collects every datagram the daemon sends.
pub struct NotifySocket {
    pub path: PathBuf,
    pub messages: Arc<Mutex<Vec<String>>>,
}

impl NotifySocket {
    pub fn bind(dir: &Path) -> NotifySocket {
        let path = dir.join("notify.sock");
        let sock = UnixDatagram::bind(&path).expect("bind notify socket");
        let messages = Arc::new(Mutex::new(Vec::new()));
        let sink = messages.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = sock.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                sink.lock().unwrap().push(text);
            }
        });
        NotifySocket { path, messages }
    }

    pub fn all(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    /// Datagrams holding the line `assignment` (e.g. `READY=1`).
    pub fn count(&self, assignment: &str) -> usize {
        self.all()
            .iter()
            .filter(|m| m.lines().any(|l| l == assignment))
            .count()
    }
}

/// A fresh passphrase-protected key made by gpg (ed25519/cv25519):
/// returns (armoured secret key, armoured certificate).
pub fn gpg_key_with_passphrase(dir: &Path, uid: &str, passphrase: &str) -> (PathBuf, PathBuf) {
    let home = dir.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let gpg = |args: &[&str]| {
        let out = Command::new("gpg")
            .env("GNUPGHOME", &home)
            .args([
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                passphrase,
            ])
            .args(args)
            .output()
            .expect("run gpg");
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    gpg(&["--quick-gen-key", uid, "default", "default", "never"]);
    let secret = dir.join("protected.sec.asc");
    let public = dir.join("protected.pub.asc");
    std::fs::write(&secret, gpg(&["--armor", "--export-secret-keys", uid])).unwrap();
    std::fs::write(&public, gpg(&["--armor", "--export", uid])).unwrap();
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", &home)
        .args(["--kill", "gpg-agent"])
        .status();
    (secret, public)
}

/// A certificate whose secret key the daemon does not have.
pub fn stranger_cert(dir: &Path) -> PathBuf {
    use sequoia_openpgp::cert::CertBuilder;
    use sequoia_openpgp::serialize::SerializeInto;
    let (cert, _) = CertBuilder::general_purpose(Some("Stranger <stranger@example.test>"))
        .generate()
        .expect("generate cert");
    let path = dir.join("stranger.pub.asc");
    std::fs::write(&path, cert.armored().to_vec().expect("armour")).unwrap();
    path
}
