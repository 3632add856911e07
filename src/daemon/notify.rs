//! The systemd notification protocol (`Type=notify`): READY once the first
//! pass has finished, STATUS lines as things change, RELOADING around SIGHUP,
//! STOPPING on shutdown, and WATCHDOG keep-alives at half of
//! `WATCHDOG_USEC`. Outside systemd (`NOTIFY_SOCKET` unset) every call is a
//! no-op.

use std::time::Duration;

use sd_notify::NotifyState;

use crate::ops::metrics::{self, http::STALL_LIMIT, Health};

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

/// RELOADING=1 with the monotonic timestamp systemd 253+ requires; READY=1
/// (from [`ready`]) ends the reload.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[
            NotifyState::Reloading,
            now,
            NotifyState::Status("reloading configuration"),
        ]),
        Err(_) => send(&[
            NotifyState::Reloading,
            NotifyState::Status("reloading configuration"),
        ]),
    }
}

pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// How much more start-up time to ask for while a long first pass (a
/// backlog after downtime) is still moving records forward.
const START_EXTENSION: Duration = Duration::from_secs(90);

/// Starts the keep-alive task under systemd. While starting, it extends the
/// start timeout (EXTEND_TIMEOUT_USEC) as long as the first pass makes
/// progress, so a backlog does not get the service killed before READY.
/// Afterwards it sends WATCHDOG=1 at half of `WATCHDOG_USEC`, but only while
/// the supervisor makes progress: a pass that has moved nothing forward for
/// [`STALL_LIMIT`] (a hung connection, a deadlock) stops the pings, and
/// systemd restarts the service (`Restart=on-failure`).
pub fn spawn_keepalive() {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    let watchdog = sd_notify::watchdog_enabled();
    let every = watchdog
        .map(|p| p / 2)
        .unwrap_or(START_EXTENSION / 3)
        .clamp(Duration::from_millis(100), START_EXTENSION / 3);
    if let Some(p) = watchdog {
        tracing::debug!(period_ms = p.as_millis() as u64, "systemd watchdog on");
    }
    let stall_limit = crate::ops::failpoint::stall_limit(STALL_LIMIT);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut warned = false;
        loop {
            tick.tick().await;
            match metrics::global().health(stall_limit) {
                Health::Stalled(quiet) => {
                    if !warned {
                        tracing::error!(
                            quiet_secs = quiet.as_secs(),
                            "no progress: withholding watchdog keep-alives"
                        );
                        warned = true;
                    }
                }
                Health::Starting => {
                    let usec = u32::try_from(START_EXTENSION.as_micros()).unwrap_or(u32::MAX);
                    send(&[NotifyState::ExtendTimeoutUsec(usec)]);
                    if watchdog.is_some() {
                        send(&[NotifyState::Watchdog]);
                    }
                }
                Health::Ok | Health::Stopping => {
                    warned = false;
                    if watchdog.is_some() {
                        send(&[NotifyState::Watchdog]);
                    }
                }
            }
        }
    });
}
