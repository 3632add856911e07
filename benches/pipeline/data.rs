//! The benchmark's keys and messages, made once and cached in
//! `target/bench-data/<DATA_VERSION>/` so reruns start at once.
//!
//! Keys come from gpg 2.2 (so they advertise SEIPDv1 only, as most
//! reporters' tools produce): one RSA-4096 and one Ed25519/Cv25519, without
//! passphrase. Messages are PGP/MIME with protected headers, encrypted
//! in-process with Sequoia; report `i` goes to the RSA key when `i` is even,
//! and every fifth report (`i % 5 == 4`, so both keys get some) carries a
//! 512 KB attachment. Texts are pseudo-random words, distinct per report, so
//! none is classified as a duplicate or related report.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use openpgp::cert::Cert;
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Armorer, Encryptor, LiteralWriter, Message};
use sequoia_openpgp as openpgp;

/// Bump when the generated data changes shape.
pub const DATA_VERSION: &str = "v1";
pub const SECURITY: &str = "security@example.test";
const ATTACHMENT_BYTES: usize = 512 * 1024;
const TEXT_BYTES: usize = 4 * 1024;
/// Attachment size that makes the big report about 25 MB once base64'd,
/// encrypted and armored.
const BIG_ATTACHMENT_BYTES: usize = 13_600_000;

pub struct Data {
    pub dir: PathBuf,
    pub rsa_secret: PathBuf,
    pub cv_secret: PathBuf,
    /// The backlog messages, in order.
    pub backlog: Vec<PathBuf>,
    /// One warm-up report, then the latency reports.
    pub latency: Vec<PathBuf>,
    pub big: PathBuf,
}

/// The unique word every report `kind`/`i` carries in its text.
pub fn token(kind: &str, i: usize) -> String {
    format!("benchtoken-{kind}-{i:04}")
}

impl Data {
    /// Loads the cache, or makes it (keys take a minute; messages seconds).
    pub fn prepare(root: &Path, backlog: usize, latency: usize) -> Result<Data> {
        let dir = root.join(DATA_VERSION);
        let keys = dir.join("keys");
        std::fs::create_dir_all(&keys)?;
        let (rsa_secret, rsa_public) = (keys.join("rsa.sec.asc"), keys.join("rsa.pub.asc"));
        let (cv_secret, cv_public) = (keys.join("cv.sec.asc"), keys.join("cv.pub.asc"));
        if !rsa_secret.exists() || !rsa_public.exists() {
            eprintln!("bench: generating an RSA-4096 key with gpg (once)…");
            gen_key(&keys, "rsa", RSA_PARAMS, &rsa_secret, &rsa_public)?;
        }
        if !cv_secret.exists() || !cv_public.exists() {
            eprintln!("bench: generating a Cv25519 key with gpg (once)…");
            gen_key(&keys, "cv", CV_PARAMS, &cv_secret, &cv_public)?;
        }
        let certs = [Cert::from_file(&rsa_public)?, Cert::from_file(&cv_public)?];
        let backlog = make_set(&dir.join("backlog"), "backlog", backlog, &certs, |i| {
            if i % 5 == 4 {
                ATTACHMENT_BYTES
            } else {
                0
            }
        })?;
        let latency = make_set(&dir.join("latency"), "latency", latency + 1, &certs, |_| 0)?;
        let big = dir.join("big.eml");
        if !big.exists() {
            let raw = report(&certs[0], "big", 0, BIG_ATTACHMENT_BYTES)?;
            write_atomic(&big, &raw)?;
        }
        Ok(Data {
            dir,
            rsa_secret,
            cv_secret,
            backlog,
            latency,
            big,
        })
    }
}

impl Data {
    /// `n` text reports (~4 KB, no attachment) all to one key, `"rsa"` or
    /// `"cv"`, for the comparison (`compare.rs`).
    pub fn single_key_set(&self, key: &str, n: usize) -> Result<Vec<PathBuf>> {
        let cert = Cert::from_file(self.dir.join("keys").join(format!("{key}.pub.asc")))?;
        let kind = format!("compare-{key}");
        make_set(
            &self.dir.join(&kind),
            &kind,
            n,
            std::slice::from_ref(&cert),
            |_| 0,
        )
    }
}

const RSA_PARAMS: &str = "Key-Type: RSA\nKey-Length: 4096\nKey-Usage: sign\nSubkey-Type: RSA\nSubkey-Length: 4096\nSubkey-Usage: encrypt\n";
const CV_PARAMS: &str = "Key-Type: EDDSA\nKey-Curve: ed25519\nKey-Usage: sign\nSubkey-Type: ECDH\nSubkey-Curve: cv25519\nSubkey-Usage: encrypt\n";

fn gen_key(keys: &Path, name: &str, params: &str, secret: &Path, public: &Path) -> Result<()> {
    let home = keys.join(format!("gnupg-{name}"));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home)?;
    set_private(&home)?;
    let spec = format!(
        "%no-protection\n{params}Name-Real: Bench {name}\nName-Email: {SECURITY}\nExpire-Date: 0\n%commit\n"
    );
    gpg(&home, &["--gen-key"], Some(spec.as_bytes()))?;
    let sec = gpg(&home, &["--armor", "--export-secret-keys"], None)?;
    let publ = gpg(&home, &["--armor", "--export"], None)?;
    if sec.is_empty() || publ.is_empty() {
        bail!("gpg exported nothing for the {name} key");
    }
    write_atomic(secret, &sec)?;
    write_atomic(public, &publ)?;
    let _ = Command::new("gpgconf")
        .arg("--homedir")
        .arg(&home)
        .args(["--kill", "gpg-agent"])
        .status();
    Ok(())
}

/// Runs gpg in `home` (batch, no pinentry), returning stdout.
pub fn gpg(home: &Path, args: &[&str], stdin: Option<&[u8]>) -> Result<Vec<u8>> {
    let mut child = Command::new("gpg")
        .arg("--homedir")
        .arg(home)
        .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running gpg")?;
    let mut input = child.stdin.take().context("gpg stdin")?;
    let data = stdin.unwrap_or_default().to_vec();
    let writer = std::thread::spawn(move || input.write_all(&data));
    let out = child.wait_with_output()?;
    let _ = writer.join();
    if !out.status.success() {
        bail!(
            "gpg {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out.stdout)
}

pub fn set_private(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn make_set(
    dir: &Path,
    kind: &str,
    n: usize,
    certs: &[Cert],
    attachment: impl Fn(usize) -> usize,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut out = Vec::with_capacity(n);
    let mut made = 0;
    for i in 0..n {
        let path = dir.join(format!("{i:04}.eml"));
        if !path.exists() {
            let raw = report(&certs[i % certs.len()], kind, i, attachment(i))?;
            write_atomic(&path, &raw)?;
            made += 1;
        }
        out.push(path);
    }
    if made > 0 {
        eprintln!("bench: encrypted {made} {kind} report(s)");
    }
    Ok(out)
}

/// splitmix64: a small deterministic generator for texts and attachments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

const WORDS: &[&str] = &[
    "server",
    "token",
    "kernel",
    "request",
    "cookie",
    "header",
    "session",
    "upload",
    "handler",
    "redirect",
    "proxy",
    "login",
    "escape",
    "payload",
    "script",
    "origin",
    "frame",
    "socket",
    "buffer",
    "parser",
    "cell",
    "output",
    "widget",
    "extension",
    "terminal",
    "spawner",
    "hub",
    "config",
    "path",
    "file",
    "traversal",
    "injection",
    "bypass",
    "leak",
    "crash",
    "overflow",
    "unauthenticated",
    "remote",
    "local",
    "user",
    "admin",
    "notebook",
    "markdown",
    "render",
    "sanitizer",
    "attribute",
    "link",
    "image",
    "svg",
    "iframe",
    "websocket",
    "api",
    "endpoint",
    "query",
    "parameter",
    "response",
    "status",
    "error",
    "trace",
    "version",
    "release",
    "affected",
    "fixed",
    "reproduce",
    "steps",
    "browser",
    "victim",
    "attacker",
    "click",
    "execute",
    "arbitrary",
    "code",
    "credential",
    "password",
    "secret",
    "environment",
    "variable",
    "container",
    "volume",
    "mount",
    "permission",
    "owner",
    "group",
    "mode",
];

fn text(rng: &mut Rng, token: &str, bytes: usize) -> String {
    let mut s = format!("Hello security team,\r\n\r\nReport {token}.\r\n\r\n");
    let mut col = 0;
    while s.len() < bytes {
        let w = WORDS[(rng.next() % WORDS.len() as u64) as usize];
        s.push_str(w);
        col += w.len() + 1;
        if col > 68 {
            s.push_str("\r\n");
            col = 0;
        } else {
            s.push(' ');
        }
    }
    s.push_str("\r\n\r\nRegards,\r\nA reporter\r\n");
    s
}

fn base64_lines(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 38 + 8);
    for (n, chunk) in data.chunks(3).enumerate() {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[((v >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
        if n % 19 == 18 {
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out
}

/// One PGP/MIME report with protected headers, optionally with an attachment.
fn report(cert: &Cert, kind: &str, i: usize, attachment: usize) -> Result<Vec<u8>> {
    let kind_hash = kind.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let seed = (i as u64) ^ kind_hash;
    let mut rng = Rng(seed);
    let token = token(kind, i);
    let subject = format!("Vulnerability report {token}");
    let body = text(&mut rng, &token, TEXT_BYTES);
    let inner = if attachment == 0 {
        format!("Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nSubject: {subject}\r\n\r\n{body}")
    } else {
        let bytes: Vec<u8> = (0..attachment.div_ceil(8))
            .flat_map(|_| rng.next().to_le_bytes())
            .take(attachment)
            .collect();
        format!(
            "Content-Type: multipart/mixed; boundary=\"inner\"; protected-headers=\"v1\"\r\nSubject: {subject}\r\n\r\n--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n--inner\r\nContent-Type: application/octet-stream; name=\"capture-{i}.bin\"\r\nContent-Disposition: attachment; filename=\"capture-{i}.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}--inner--\r\n",
            base64_lines(&bytes)
        )
    };
    let armored = encrypt(cert, inner.as_bytes())?;
    Ok(format!(
        "From: Reporter {i} <reporter{i}.{kind}@example.org>\r\nTo: {SECURITY}\r\nSubject: ...\r\nMessage-ID: <{token}@reporter.example.org>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"outer\"\r\n\r\nThis is an OpenPGP/MIME encrypted message\r\n--outer\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--outer\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n{armored}\r\n--outer--\r\n"
    )
    .into_bytes())
}

fn encrypt(cert: &Cert, plaintext: &[u8]) -> Result<String> {
    let policy = StandardPolicy::new();
    let recipients: Vec<_> = cert
        .keys()
        .with_policy(&policy, None)
        .supported()
        .alive()
        .revoked(false)
        .for_transport_encryption()
        .collect();
    if recipients.is_empty() {
        bail!("no encryption subkey in the bench key");
    }
    let mut sink = Vec::new();
    {
        let message = Message::new(&mut sink);
        let message = Armorer::new(message).build()?;
        let message = Encryptor::for_recipients(message, recipients).build()?;
        let mut w = LiteralWriter::new(message).build()?;
        w.write_all(plaintext)?;
        w.finalize()?;
    }
    Ok(String::from_utf8(sink)?)
}
