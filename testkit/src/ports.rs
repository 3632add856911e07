//! Free ephemeral loopback ports.
//!
//! A port is picked by binding `127.0.0.1:0` and dropping the listener, so
//! another process may grab it before our server binds it. Callers retry a
//! server start a couple of times when that happens.

use std::collections::HashSet;
use std::net::TcpListener;

/// A loopback TCP port that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `n` distinct loopback TCP ports that were free a moment ago.
///
/// All listeners are held until every port is picked, so the ports differ.
pub fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let mut held = Vec::with_capacity(n);
    let mut seen = HashSet::new();
    while held.len() < n {
        let l = TcpListener::bind("127.0.0.1:0")?;
        let port = l.local_addr()?.port();
        if seen.insert(port) {
            held.push((port, l));
        }
    }
    Ok(held.into_iter().map(|(p, _)| p).collect())
}

/// Whether a server failed to start in a way a second try with fresh ports
/// can cure: a port in use, or an exit before the greeting.
pub(crate) fn transient_start_failure(e: &anyhow::Error) -> bool {
    let text = format!("{e:#}");
    text.contains("in use") || text.contains("before greeting")
}
