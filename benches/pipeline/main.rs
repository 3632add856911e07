//! End-to-end benchmark of the secintake daemon against real servers, with
//! a classic IMAP + `gpg --decrypt` pipeline and an in-process
//! decrypt-and-normalise floor measured in the same run.
//!
//! Run: `cargo bench --bench pipeline` (release build of the daemon; about
//! 10 minutes on 2 cores). Knobs for a quicker look — the printed command
//! names them when set: `SECINTAKE_BENCH_REPORTS` (backlog size, default
//! 1000), `SECINTAKE_BENCH_LATENCY_REPORTS` (default 200),
//! `SECINTAKE_BENCH_COMPARE_REPORTS` (default 100) for the comparison of
//! `run --once`, a gpg loop and the floor (`compare.rs`), and
//! `SECINTAKE_BENCH_ONLY=compare` to run that comparison alone;
//! `SECINTAKE_BENCH_BIN` runs another build of the daemon (before/after).
//!
//! Under `cargo test --benches` (no `--bench` argument) it does nothing.

mod compare;
mod data;
mod helpers;
mod imap;
mod phases;
mod report;
mod servers;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

fn knob(name: &str, default: usize) -> Result<(usize, Option<String>)> {
    match std::env::var(name) {
        Ok(v) => Ok((
            v.parse().with_context(|| format!("{name}={v}"))?,
            Some(format!("{name}={v}")),
        )),
        Err(_) => Ok((default, None)),
    }
}

fn main() -> Result<()> {
    match std::env::var(helpers::ROLE_ENV).as_deref() {
        Ok("floor") => return helpers::floor(),
        Ok("peer") => return helpers::peer(),
        Ok(other) => bail!("unknown {} {other:?}", helpers::ROLE_ENV),
        Err(_) => {}
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!("pipeline benchmark: run it with `cargo bench --bench pipeline`");
        return Ok(());
    }
    let only = std::env::var("SECINTAKE_BENCH_ONLY").ok();
    let (c, c_set) = knob("SECINTAKE_BENCH_COMPARE_REPORTS", 100)?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    match only.as_deref() {
        Some("compare") => return compare_only(&root, c, c_set),
        Some(other) => bail!("SECINTAKE_BENCH_ONLY={other:?}: only \"compare\" is known"),
        None => {}
    }
    if !std::path::Path::new(secintake_testkit::dovecot::DOVECOT_BIN).exists() {
        bail!("Dovecot is not installed (scripts/install-deps.sh installs it)");
    }
    let (n, n_set) = knob("SECINTAKE_BENCH_REPORTS", 1000)?;
    let (l, l_set) = knob("SECINTAKE_BENCH_LATENCY_REPORTS", 200)?;
    let wrap = std::env::var("SECINTAKE_BENCH_WRAP")
        .ok()
        .map(|w| format!("SECINTAKE_BENCH_WRAP={w:?}"));
    let command = [n_set, l_set, c_set, wrap, helpers::daemon_bin_knob()]
        .into_iter()
        .flatten()
        .chain(["cargo bench --bench pipeline".to_string()])
        .collect::<Vec<_>>()
        .join(" ");
    let machine_before = report::Machine::now();
    let started = Instant::now();
    let data = data::Data::prepare(&root, n, l)?;
    let s = servers::Servers::start()?;
    eprintln!("bench: servers up; floor run");

    let floor_config = s.config("floor", &data)?;
    let floor = helpers::spawn(
        "floor",
        &[
            ("SECINTAKE_BENCH_CONFIG", floor_config.display().to_string()),
            (
                "SECINTAKE_BENCH_DIR",
                data.dir.join("backlog").display().to_string(),
            ),
            ("SECINTAKE_BENCH_N", n.to_string()),
        ],
    )?;

    eprintln!("bench: loading the backlog ({n} reports) into the INBOX");
    phases::load_backlog(&s, &data, "INBOX", n)?;

    eprintln!("bench: peer run (IMAP fetch + gpg --batch --decrypt per message)");
    let home = s.dir.path().join("gnupg-peer");
    std::fs::create_dir_all(&home)?;
    data::set_private(&home)?;
    for key in [&data.rsa_secret, &data.cv_secret] {
        data::gpg(&home, &["--import", &key.display().to_string()], None)?;
    }
    let peer = helpers::spawn(
        "peer",
        &[
            ("SECINTAKE_BENCH_IMAP_PORT", s.dovecot.imap_port.to_string()),
            ("SECINTAKE_BENCH_MAILBOX", "INBOX".to_string()),
            ("SECINTAKE_BENCH_GNUPGHOME", home.display().to_string()),
            ("SECINTAKE_BENCH_N", n.to_string()),
        ],
    )?;

    eprintln!("bench: daemon on the waiting backlog");
    let backlog = phases::drain(&s, &data, "backlog", n, Duration::from_secs(600))?;

    eprintln!("bench: latency ({l} reports, one at a time, daemon IDLEs)");
    let latency = phases::latency(&s, &data, Duration::from_millis(250))?;

    eprintln!("bench: one ~25 MB report");
    let big_size = std::fs::metadata(&data.big)?.len();
    let big = phases::big(&s, &data, &data.big)?;

    eprintln!("bench: run --once vs gpg loop vs floor ({c} reports per key)");
    let compared = compare::run(&data, c)?;

    let table = report::Table {
        command,
        machine_before,
        machine_after: report::Machine::now(),
        minutes: started.elapsed().as_secs_f64() / 60.0,
        n,
        floor,
        peer,
        backlog,
        latency,
        big,
        big_size,
    };
    println!("{}{}", table.render(), compare::render(&compared));
    Ok(())
}

/// `SECINTAKE_BENCH_ONLY=compare`: the comparison alone, no servers.
fn compare_only(root: &std::path::Path, c: usize, c_set: Option<String>) -> Result<()> {
    let bin = helpers::daemon_bin_knob();
    let command = ["SECINTAKE_BENCH_ONLY=compare".to_string()]
        .into_iter()
        .chain(c_set)
        .chain(bin)
        .chain(["cargo bench --bench pipeline".to_string()])
        .collect::<Vec<_>>()
        .join(" ");
    let before = report::Machine::now();
    let started = Instant::now();
    let data = data::Data::prepare(root, 0, 0)?;
    let rows = compare::run(&data, c)?;
    let after = report::Machine::now();
    println!("\n## secintake pipeline benchmark (comparison only)\n");
    println!("command:  {command}");
    println!(
        "machine:  {} cores; load {} at start ({} rustc running), {} at end ({} rustc); run took {:.1} min",
        before.cores,
        before.load,
        before.compilers,
        after.load,
        after.compilers,
        started.elapsed().as_secs_f64() / 60.0
    );
    println!("{}", compare::render(&rows));
    Ok(())
}
