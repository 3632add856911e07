//! Operating the daemon: `secintake init` ([`init`]), `check` ([`check`])
//! and `status` ([`status`]), Prometheus metrics and the health endpoint ([`metrics`]),
//! logging that never carries report text or secrets ([`logging`]), and
//! the crash-injection points used by the tests ([`failpoint`]).

pub mod check;
pub mod failpoint;
pub mod init;
pub mod logging;
pub mod metrics;
pub mod quantile;
pub mod status;
