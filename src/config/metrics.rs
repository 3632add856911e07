//! `[metrics]`: the Prometheus and health endpoint.

use super::reader::{Problems, Section};

/// `[metrics]`: the Prometheus text endpoint (`/metrics`) and health check
/// (`/healthz`). Off unless `listen` is set; loopback addresses only, because
/// the endpoint has no authentication.
#[derive(Debug, Clone, Default)]
pub struct MetricsSettings {
    /// e.g. `127.0.0.1:9464`; port 0 picks a free port (logged and published
    /// in `status.json`).
    pub listen: Option<std::net::SocketAddr>,
}

impl MetricsSettings {
    pub(super) fn read(mut s: Section, p: &mut Problems) -> MetricsSettings {
        let listen = s.opt_string("listen", p).and_then(|text| {
            match text.parse::<std::net::SocketAddr>() {
                Ok(addr) if addr.ip().is_loopback() => Some(addr),
                Ok(_) => {
                    p.add(
                        s.key("listen"),
                        "must be a loopback address (127.0.0.1:PORT or [::1]:PORT): the endpoint has no authentication",
                    );
                    None
                }
                Err(_) => {
                    p.add(s.key("listen"), "must be an IP address and port, like 127.0.0.1:9464");
                    None
                }
            }
        });
        s.finish(p);
        MetricsSettings { listen }
    }
}
