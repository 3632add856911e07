//! Issue 17's comparison, one key kind at a time on the same reports
//! (~4 KB text, PGP/MIME, all to the RSA-4096 key or all to the Cv25519
//! key):
//!
//! * **run --once** — `secintake run --once` on a Maildir holding them,
//!   with the directory tracker and the outbox (decrypt, classify, file,
//!   acknowledge, archive), as a child process: wall, CPU, peak RSS, and
//!   the private-key operations it logged;
//! * **gpg loop** — one `gpg --batch --decrypt` per message file, one after
//!   the other (decrypt only), CPU including gpg-agent's;
//! * **floor** — one private-key operation per message and nothing else,
//!   spread over every core: the prepared decryptor the daemon uses (RSA
//!   with CRT), and beside it sequoia's own (RSA from n, e, d), which is
//!   what the daemon used before.
//!
//! `SECINTAKE_BENCH_ONLY=compare` runs this phase alone (no servers; a
//! minute or two on 2 cores); `SECINTAKE_BENCH_COMPARE_REPORTS` (default
//! 100) sets the number of reports per key; `SECINTAKE_BENCH_BIN` runs
//! another build of `secintake` (an older one, to compare before/after).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use openpgp::cert::Cert;
use openpgp::crypto::SessionKey;
use openpgp::packet::key::{SecretParts, UnspecifiedRole};
use openpgp::packet::pkesk::PKESK3;
use openpgp::packet::{Key, PKESK};
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::types::SymmetricAlgorithm;
use secintake::openpgp::unlock::{unlock, DecryptionKey};
use sequoia_openpgp as openpgp;

use crate::data::{Data, SECURITY};
use crate::helpers::{self, Run};
use crate::servers::{peak_rss_kb, self_cpu};

/// One key kind's figures.
pub struct Row {
    pub key: &'static str,
    pub n: usize,
    pub once: Run,
    /// Private-key operations `run --once` logged.
    pub once_ops: Option<u64>,
    pub gpg: Run,
    pub floor: Run,
    /// The floor with sequoia's decryptor (no CRT for RSA).
    pub floor_sequoia: Run,
}

pub fn run(data: &Data, n: usize) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (key, secret) in [("rsa", &data.rsa_secret), ("cv", &data.cv_secret)] {
        let files = data.single_key_set(key, n)?;
        let subkey = encryption_key(secret)?;
        eprintln!("bench: compare {key}: floor");
        let prepared = unlock(&subkey, None).map_err(|l| anyhow::anyhow!("{l}"))?;
        let floor = floor_of(&subkey, &prepared, n)?;
        let sequoia = DecryptionKey::new(Box::new(subkey.clone().into_keypair()?));
        let floor_sequoia = floor_of(&subkey, &sequoia, n)?;
        eprintln!("bench: compare {key}: secintake run --once");
        let (once, once_ops) = once(data, &files)?;
        eprintln!("bench: compare {key}: gpg --batch --decrypt loop");
        let gpg = gpg_loop(secret, &files)?;
        rows.push(Row {
            key: if key == "rsa" { "RSA-4096" } else { "Cv25519" },
            n,
            once,
            once_ops,
            gpg,
            floor,
            floor_sequoia,
        });
    }
    Ok(rows)
}

/// The encryption subkey of a gpg-exported secret key.
fn encryption_key(secret: &Path) -> Result<Key<SecretParts, UnspecifiedRole>> {
    let cert = Cert::from_file(secret)?;
    let policy = StandardPolicy::new();
    let key = cert
        .keys()
        .with_policy(&policy, None)
        .secret()
        .for_transport_encryption()
        .next()
        .context("no encryption subkey")?
        .key()
        .clone()
        .role_into_unspecified();
    Ok(key)
}

/// `n` session keys encrypted to `key` (untimed), then opened with `d`
/// on every core: one private-key operation each.
fn floor_of(key: &Key<SecretParts, UnspecifiedRole>, d: &DecryptionKey, n: usize) -> Result<Run> {
    let pkesks = (0..n)
        .map(|i| {
            let sk = SessionKey::from(vec![u8::try_from(i % 251).unwrap_or(0); 32]);
            Ok(PKESK::from(PKESK3::for_recipient(
                SymmetricAlgorithm::AES256,
                &sk,
                key,
            )?))
        })
        .collect::<Result<Vec<_>>>()?;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let chunk = n.div_ceil(cores).max(1);
    let cpu0 = self_cpu().unwrap_or_default();
    let t0 = Instant::now();
    let ok: usize = std::thread::scope(|s| {
        let handles: Vec<_> = pkesks
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || part.iter().filter(|p| d.decrypt(p, None).is_some()).count())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    Ok(Run {
        wall_secs: t0.elapsed().as_secs_f64(),
        cpu_secs: self_cpu().unwrap_or_default().own - cpu0.own,
        ok,
        total: n,
        peak_rss_kb: 0,
    })
}

/// `secintake run --once` on a fresh Maildir holding `files`.
fn once(data: &Data, files: &[PathBuf]) -> Result<(Run, Option<u64>)> {
    let dir = tempfile::Builder::new()
        .prefix("secintake-compare-")
        .tempdir()?;
    let d = dir.path();
    for sub in ["inbox/new", "inbox/cur", "inbox/tmp", "issues", "outbox"] {
        std::fs::create_dir_all(d.join(sub))?;
    }
    for (i, f) in files.iter().enumerate() {
        std::fs::copy(f, d.join(format!("inbox/new/1764000000.{i:05}.bench")))?;
    }
    let config = d.join("secintake.toml");
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/templates");
    std::fs::write(
        &config,
        format!(
            r#"[instance]
tracking_prefix = "CMP"
addresses = ["{SECURITY}"]
state_dir = "{state}"

[source]
kind = "maildir"

[source.maildir]
path = "{inbox}"

[openpgp]
secret_keys = ["{rsa}", "{cv}"]

[tracker]
kind = "directory"

[tracker.directory]
path = "{issues}"

[mailer]
kind = "outbox"

[mailer.outbox]
path = "{outbox}"

[acknowledgement]
from = "Project Jupyter Security <{SECURITY}>"
templates = "{templates}"
global_max = 1000000
"#,
            state = d.join("state").display(),
            inbox = d.join("inbox").display(),
            rsa = data.rsa_secret.display(),
            cv = data.cv_secret.display(),
            issues = d.join("issues").display(),
            outbox = d.join("outbox").display(),
            templates = templates.display(),
        ),
    )?;
    let log = d.join("run.log");
    let cpu0 = self_cpu().unwrap_or_default();
    let t0 = Instant::now();
    let mut child = Command::new(helpers::daemon_bin())
        .arg("--config")
        .arg(&config)
        .args(["run", "--once"])
        .env_remove("SECINTAKE_LOG")
        .env_remove("SECINTAKE_LOG_FORMAT")
        .env_remove("JOURNAL_STREAM")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log)?))
        .spawn()
        .context("spawning secintake run --once")?;
    // VmHWM is gone once the child is reaped: sample it until it exits.
    let mut peak = 0;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        peak = peak.max(peak_rss_kb(child.id()).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall_secs = t0.elapsed().as_secs_f64();
    let cpu_secs = self_cpu().unwrap_or_default().children - cpu0.children;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    if !status.success() {
        bail!("secintake run --once failed ({status}):\n{text}");
    }
    let ops = text.lines().find_map(|l| {
        let rest = l.split("private_key_operations=").nth(1)?;
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    });
    let issues = std::fs::read_dir(d.join("issues"))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".md"))
        .count();
    Ok((
        Run {
            wall_secs,
            cpu_secs,
            ok: issues,
            total: files.len(),
            peak_rss_kb: peak,
        },
        ops,
    ))
}

/// One `gpg --batch --decrypt` per file, in a GNUPGHOME holding `secret`.
fn gpg_loop(secret: &Path, files: &[PathBuf]) -> Result<Run> {
    let home = tempfile::Builder::new()
        .prefix("secintake-compare-gpg-")
        .tempdir()?;
    crate::data::set_private(home.path())?;
    crate::data::gpg(
        home.path(),
        &["--import", &secret.display().to_string()],
        None,
    )?;
    helpers::gpg_loop(home.path(), files)
}

/// The comparison's table, with the ratios the issue asks for.
pub fn render(rows: &[Row]) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let n = rows.first().map_or(0, |r| r.n);
    let _ = writeln!(
        o,
        "\n### run --once vs a gpg --decrypt loop vs the floor ({n} ~4 KB reports per key; floor: one private-key operation per message on {cores} cores)\n"
    );
    let _ = writeln!(
        o,
        "| key      | run                                          | done | wall s | CPU ms/report | wall vs floor |"
    );
    let _ = writeln!(
        o,
        "|----------|----------------------------------------------|-----:|-------:|--------------:|--------------:|"
    );
    for r in rows {
        let f = r.floor.wall_secs;
        for (name, run) in [
            ("floor: the daemon's decryptor (RSA: CRT)", &r.floor),
            ("floor: sequoia's KeyPair (RSA: n, e, d)", &r.floor_sequoia),
            ("secintake run --once (filed + acknowledged)", &r.once),
            ("gpg --batch --decrypt loop (decrypt only)", &r.gpg),
        ] {
            let _ = writeln!(
                o,
                "| {:<8} | {name:<44} | {:>4} | {:>6.2} | {:>13.2} | {:>12.2}× |",
                r.key,
                run.ok,
                run.wall_secs,
                run.cpu_secs / r.n.max(1) as f64 * 1000.0,
                run.wall_secs / f
            );
        }
    }
    let _ = writeln!(o);
    for r in rows {
        let ops = r.once_ops.map_or("not logged".to_string(), |k| {
            format!(
                "{k} for {} messages ({:.2} per message)",
                r.n,
                k as f64 / r.n.max(1) as f64
            )
        });
        let _ = writeln!(
            o,
            "{}: run --once is {:.1}× faster than the gpg loop and takes {:.2}× the floor's wall time; peak RSS {:.0} MB; private-key operations in run --once: {ops}",
            r.key,
            r.gpg.wall_secs / r.once.wall_secs,
            r.once.wall_secs / r.floor.wall_secs,
            r.once.peak_rss_kb as f64 / 1024.0
        );
    }
    o
}
