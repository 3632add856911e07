//! Signals the supervisor acts on: shutdown (SIGTERM/SIGINT), owned by
//! `main` and awaited by every loop, and reload (SIGHUP).

use std::time::Duration;

use tokio::sync::watch;

#[derive(Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

pub struct Trigger {
    tx: watch::Sender<bool>,
}

pub fn channel() -> (Trigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (Trigger { tx }, Shutdown { rx })
}

impl Trigger {
    pub fn fire(&self) {
        let _ = self.tx.send(true);
    }

    pub fn is_fired(&self) -> bool {
        *self.tx.borrow()
    }
}

impl Shutdown {
    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once shutdown is requested (or its trigger is gone).
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Resolves `grace` after shutdown was requested: the bound on the step
    /// in flight.
    pub async fn deadline(&self, grace: Duration) {
        self.wait().await;
        tokio::time::sleep(grace).await;
    }
}

/// Requests to re-read the configuration (SIGHUP).
#[derive(Clone)]
pub struct Reload {
    rx: watch::Receiver<u64>,
    /// Held by `never()` so that its channel stays open.
    _tx: Option<std::sync::Arc<watch::Sender<u64>>>,
}

pub struct ReloadTrigger {
    tx: watch::Sender<u64>,
}

pub fn reload_channel() -> (ReloadTrigger, Reload) {
    let (tx, rx) = watch::channel(0);
    (ReloadTrigger { tx }, Reload { rx, _tx: None })
}

impl ReloadTrigger {
    pub fn fire(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl Reload {
    /// A reload channel that never fires (tests, `--once`).
    pub fn never() -> Reload {
        let (tx, rx) = watch::channel(0);
        Reload {
            rx,
            _tx: Some(std::sync::Arc::new(tx)),
        }
    }

    /// True once per request since the last call.
    pub fn take(&mut self) -> bool {
        let changed = self.rx.has_changed().unwrap_or(false);
        if changed {
            self.rx.mark_unchanged();
        }
        changed
    }

    /// Resolves when a reload is requested; pending forever once the trigger is gone.
    pub async fn wait(&mut self) {
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
