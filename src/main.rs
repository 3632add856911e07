//! The `secintake` command: `run`, `check`, `status`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use secintake::config::Settings;
use secintake::{check, daemon, logging, shutdown, status};

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
    runtime.block_on(async move {
        match cli.command {
            Command::Run { once } => run(&cli.config, once).await,
            Command::Check { offline } => check_cmd(&cli.config, offline).await,
            Command::Status { json } => status_cmd(&cli.config, json),
        }
    })
}

async fn run(path: &std::path::Path, once: bool) -> ExitCode {
    let settings = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (trigger, shutdown) = shutdown::channel();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        trigger.fire();
    });
    match daemon::run(settings, once, shutdown).await {
        Ok(summary) => {
            if once {
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

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn check_cmd(path: &std::path::Path, offline: bool) -> ExitCode {
    let settings = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let report = check::run(&settings, !offline).await;
    for ok in &report.ok {
        println!("ok: {ok}");
    }
    for p in &report.config {
        println!("problem: {p}");
    }
    for p in &report.connectivity {
        println!("unreachable: {p}");
    }
    ExitCode::from(report.exit_code() as u8)
}

fn status_cmd(path: &std::path::Path, json: bool) -> ExitCode {
    let settings = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let state_dir = &settings.instance.state_dir;
    let snap = match secintake::store::SledStore::open(state_dir) {
        Ok(store) => {
            use secintake::store::Store;
            match store.all() {
                Ok(records) => status::snapshot(&records),
                Err(e) => {
                    eprintln!("secintake status: {e}");
                    return ExitCode::from(1);
                }
            }
        }
        // The daemon holds the store: read the snapshot it publishes.
        Err(_) => match status::read_snapshot(state_dir) {
            Some(s) => s,
            None => {
                eprintln!("secintake status: no state in {}", state_dir.display());
                return ExitCode::from(1);
            }
        },
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&snap).unwrap_or_default()
        );
    } else {
        print!("{}", status::table(&snap));
    }
    ExitCode::SUCCESS
}
