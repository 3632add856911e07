//! The `secintake` command: `run`, `check`, `status`, `report`, `init`.

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::indexing_slicing, clippy::string_slice, clippy::unwrap_used)
)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use secintake::config::Settings;
use secintake::daemon;
use secintake::ops::{check, init, logging, status};
use secintake::support::shutdown;

#[derive(Parser)]
#[command(
    name = "secintake",
    version,
    about = "Encrypted mail intake for a security team"
)]
struct Cli {
    /// Configuration file.
    #[arg(
        long,
        global = true,
        env = "SECINTAKE_CONFIG",
        default_value = "/etc/secintake/secintake.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Run {
        /// Drain the inbox once and exit.
        #[arg(long)]
        once: bool,
    },
    /// Validate configuration, keys, templates and connectivity.
    Check {
        /// Skip the connections to the mail source, tracker and mailer.
        #[arg(long)]
        offline: bool,
    },
    /// Show reports, their states and deadlines.
    Status {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// The committee's figures for the reports received in a period:
    /// outcomes, times to acknowledge, reply, fix and disclose, promises
    /// kept. Reads the store (or, while the daemon runs, what it publishes).
    Report {
        /// First day of the period (YYYY-MM-DD, UTC); default: a year
        /// before --until.
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
        /// Day after the period (YYYY-MM-DD, UTC, exclusive); default: tomorrow.
        #[arg(long)]
        until: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value = "md")]
        format: ReportFormat,
    },
    /// Write a starter configuration, the templates and an empty
    /// credentials directory (never overwrites a configuration).
    Init {
        /// Where to write them.
        #[arg(long, default_value = "/etc/secintake")]
        dir: PathBuf,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ReportFormat {
    Md,
    Json,
    Csv,
}

fn load(path: &std::path::Path) -> Result<Settings, ExitCode> {
    Settings::load(path).map_err(|e| {
        eprint!("{}: {e}", path.display());
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init();
    logging::quiet_panics();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(async move {
        match cli.command {
            Command::Run { once } => run(&cli.config, once).await,
            Command::Check { offline } => check_cmd(&cli.config, offline).await,
            Command::Status { json } => status_cmd(&cli.config, json),
            Command::Init { dir } => init_cmd(&dir),
            Command::Report {
                since,
                until,
                format,
            } => report_cmd(&cli.config, since, until, format),
        }
    });
    // An opening that ran past its limit may still occupy a blocking
    // thread (it is never waited for); dropping the runtime would wait for
    // it. Its record's state is already written.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

async fn run(path: &std::path::Path, once: bool) -> ExitCode {
    if let Err(e) = secintake::ops::failpoint::check_env() {
        eprintln!("secintake: {e}");
        return ExitCode::from(2);
    }
    let settings = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (trigger, shutdown) = shutdown::channel();
    let (reload_trigger, reload) = shutdown::reload_channel();
    tokio::spawn(handle_signals(trigger, reload_trigger));
    match daemon::run_with_reload(settings, once, shutdown, reload).await {
        Ok(summary) => {
            if once {
                // The benchmark reads this to show one private-key
                // operation per message.
                tracing::info!(
                    private_key_operations = secintake::openpgp::unlock::private_operations(),
                    "drained once"
                );
                print_summary(&summary);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "secintake failed");
            eprintln!("secintake: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn print_summary(summary: &daemon::RunSummary) {
    let rows = status::snapshot(&summary.records);
    println!(
        "{} new message(s) taken in this run.",
        summary.admitted.len()
    );
    print!("{}", status::table(&rows));
}

/// SIGTERM/SIGINT: graceful shutdown; a second one exits at once (safe:
/// every state is durable before its side effect). SIGHUP: reload.
#[cfg(unix)]
async fn handle_signals(trigger: shutdown::Trigger, reload: shutdown::ReloadTrigger) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    loop {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reload requested");
                reload.fire();
                continue;
            }
        };
        if trigger.is_fired() {
            tracing::warn!(signal = name, "second stop signal: exiting now");
            std::process::exit(1);
        }
        tracing::info!(signal = name, "shutdown requested");
        trigger.fire();
    }
}

#[cfg(not(unix))]
async fn handle_signals(trigger: shutdown::Trigger, _reload: shutdown::ReloadTrigger) {
    let _ = tokio::signal::ctrl_c().await;
    trigger.fire();
}

async fn check_cmd(path: &std::path::Path, offline: bool) -> ExitCode {
    let settings = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut report = check::run(&settings, !offline).await;
    report
        .warnings
        .extend(check::unreadable_by_service(path, &settings));
    for ok in &report.ok {
        println!("ok: {ok}");
    }
    for w in &report.warnings {
        println!("warning: {w}");
    }
    for p in &report.config {
        println!("problem: {p}");
    }
    for p in &report.connectivity {
        println!("unreachable: {p}");
    }
    ExitCode::from(report.exit_code() as u8)
}

fn init_cmd(dir: &std::path::Path) -> ExitCode {
    match init::run(dir) {
        Ok(made) => {
            print!("{}", init::next_steps(&made));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("secintake init: {e}");
            ExitCode::from(1)
        }
    }
}

fn report_cmd(
    path: &std::path::Path,
    since: Option<chrono::NaiveDate>,
    until: Option<chrono::NaiveDate>,
    format: ReportFormat,
) -> ExitCode {
    use secintake::lifecycle::figures::Figures;
    let settings = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let now = chrono::Utc::now();
    let day = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let until = until.and_then(day).unwrap_or_else(|| {
        (now + chrono::Duration::days(1))
            .date_naive()
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
    });
    let since = since
        .and_then(day)
        .unwrap_or_else(|| until - chrono::Duration::days(365));
    if since >= until {
        eprintln!("secintake report: --since must be before --until");
        return ExitCode::from(2);
    }
    let snap = match status::current(&settings.instance.state_dir) {
        Ok(snap) => snap,
        Err(e) => {
            eprintln!("secintake report: {e}");
            return ExitCode::from(1);
        }
    };
    let figures = Figures::compute(&snap.facts, since, until, now);
    match format {
        ReportFormat::Md => print!("{}", figures.markdown()),
        ReportFormat::Csv => print!("{}", figures.csv()),
        ReportFormat::Json => match serde_json::to_string_pretty(&figures) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("secintake report: {e}");
                return ExitCode::from(1);
            }
        },
    }
    ExitCode::SUCCESS
}

fn status_cmd(path: &std::path::Path, json: bool) -> ExitCode {
    let settings = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let snap = match status::current(&settings.instance.state_dir) {
        Ok(snap) => snap,
        Err(e) => {
            eprintln!("secintake status: {e}");
            return ExitCode::from(1);
        }
    };
    if json {
        match serde_json::to_string_pretty(&snap) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("secintake status: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        print!("{}", status::daemon_line(&snap));
        print!("{}", status::table(&snap));
        print!("{}", status::advisories::table(&snap.advisories));
    }
    ExitCode::SUCCESS
}
