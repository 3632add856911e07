//! Crash injection for the tests, compiled only with the `failpoints` cargo
//! feature (`scripts/test.sh` builds the tests and the daemon they run with
//! it). Without the feature [`hit`] and [`hit_keyed`] are empty inline
//! functions the optimiser removes, and `secintake run` refuses to start
//! when `SECINTAKE_FAILPOINT` is set ([`check_env`]), so a test that relies
//! on a failpoint cannot pass by accident.
//!
//! `SECINTAKE_FAILPOINT=name[@key]:p[,…]` makes the named point fire with
//! probability `p` each time it is reached; `*:p` arms every point;
//! `@key` limits a keyed point to one key (a tracking ID:
//! `open.panic@JUPSEC-2026-0003:1`). Unknown names and malformed items are
//! errors. `open.panic` panics (as a bug in a parser would), `open.hang`
//! blocks its thread for an hour (as a parser in an endless loop would),
//! `file.hang` blocks the pass for an hour just before it files a record
//! (as a connection that never answers and never times out would; the
//! watchdog test uses it); every other point aborts the process (like
//! SIGKILL: no destructors, no flushing).
//!
//! `SECINTAKE_STALL_LIMIT=SECONDS` (1..3600) shortens how long a pass may
//! go without progress before `/healthz` says stalled and the systemd
//! watchdog keep-alives stop (5 minutes otherwise), so a test of the
//! watchdog need not wait 5 minutes. Like `SECINTAKE_FAILPOINT` it is
//! refused by builds without the feature.
//!
//! Points sit inside store writes (between a sled write and its flush, inside
//! the intake transaction), between side effects and the state writes
//! that record them — the places a power cut or OOM kill hurts most and a
//! random SIGKILL rarely lands — and inside the opening of one message.
//! Only the environment of the daemon process arms them: nothing read from
//! mail, IMAP, SMTP or GitHub reaches this module, and the random draws come
//! from the process's own clock and PID.

/// Every point, for documentation and for `*` (which arms only the
/// unkeyed ones).
pub const POINTS: &[&str] = &[
    "store.admit.txn",
    "store.admit.flush",
    "store.put.flush",
    "store.archive.flush",
    "effect.filed",
    "effect.ack.intent",
    "effect.ack.sent",
    "effect.archive.moved",
    "effect.command.intent",
    "effect.command.sent",
    "effect.command.answered",
    "effect.status_block.written",
    "effect.advisory.filed",
    "effect.advisory.mirrored",
    "effect.ghsa.created",
];

/// Points reached with a key (the tracking ID of the message being opened).
/// (`*` arms none of them.)
pub const KEYED_POINTS: &[&str] = &["open.panic", "open.abort", "open.hang", "file.hang"];

/// The environment variable that arms failpoints.
pub const ENV: &str = "SECINTAKE_FAILPOINT";

/// The environment variable that shortens the stall limit (failpoint
/// builds only).
pub const STALL_ENV: &str = "SECINTAKE_STALL_LIMIT";

/// Parses a `SECINTAKE_STALL_LIMIT` value: whole seconds, 1..3600.
pub fn parse_stall_limit(text: &str) -> Result<std::time::Duration, String> {
    match text.trim().parse::<u64>() {
        Ok(s) if (1..=3600).contains(&s) => Ok(std::time::Duration::from_secs(s)),
        _ => Err(format!("{STALL_ENV} must be whole seconds from 1 to 3600")),
    }
}

#[cfg(feature = "failpoints")]
pub use armed::{check_env, hit, hit_keyed, stall_limit};

/// Without the `failpoints` feature: nothing to arm.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}

/// Without the `failpoints` feature: nothing to arm.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit_keyed(_name: &str, _key: &str) {}

/// Without the `failpoints` feature: the stall limit is the production one.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn stall_limit(default: std::time::Duration) -> std::time::Duration {
    default
}

/// Without the `failpoints` feature, `SECINTAKE_FAILPOINT`,
/// `SECINTAKE_STALL_LIMIT` and `SECINTAKE_CLOCK`
/// ([`crate::support::clock`]) are refused.
#[cfg(not(feature = "failpoints"))]
pub fn check_env() -> Result<(), String> {
    for name in [ENV, STALL_ENV, "SECINTAKE_CLOCK"] {
        if std::env::var_os(name).is_some_and(|v| !v.is_empty()) {
            return Err(format!(
                "{name} is set, but this build has no failpoints (build with --features failpoints)"
            ));
        }
    }
    Ok(())
}

/// One armed point.
#[derive(Debug, Clone, PartialEq)]
pub struct Armed {
    pub name: String,
    pub key: Option<String>,
    pub p: f64,
}

/// Parses a `SECINTAKE_FAILPOINT` value; every problem is an error.
pub fn parse(spec: &str) -> Result<Vec<Armed>, String> {
    let mut out = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (point, p) = item
            .rsplit_once(':')
            .ok_or_else(|| format!("failpoint {item:?}: expected NAME:PROBABILITY"))?;
        let p: f64 = p
            .trim()
            .parse()
            .map_err(|_| format!("failpoint {item:?}: the probability is not a number"))?;
        if !(p > 0.0 && p <= 1.0) {
            return Err(format!(
                "failpoint {item:?}: the probability must be in (0, 1]"
            ));
        }
        let (name, key) = match point.trim().split_once('@') {
            Some((n, k)) => (n.trim(), Some(k.trim().to_string())),
            None => (point.trim(), None),
        };
        let known = name == "*" || POINTS.contains(&name) || KEYED_POINTS.contains(&name);
        if !known {
            return Err(format!("failpoint {name:?} does not exist"));
        }
        if key.is_some() && !KEYED_POINTS.contains(&name) {
            return Err(format!("failpoint {name:?} takes no @key"));
        }
        out.push(Armed {
            name: name.to_string(),
            key,
            p,
        });
    }
    Ok(out)
}

#[cfg(feature = "failpoints")]
mod armed {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    use super::{parse, parse_stall_limit, Armed, ENV, STALL_ENV};

    static ARMED: OnceLock<Vec<Armed>> = OnceLock::new();
    static RNG: AtomicU64 = AtomicU64::new(0);

    /// Parses `SECINTAKE_FAILPOINT` and `SECINTAKE_STALL_LIMIT`; `run`
    /// calls this before anything else.
    pub fn check_env() -> Result<(), String> {
        if let Ok(t) = std::env::var("SECINTAKE_CLOCK") {
            chrono::DateTime::parse_from_rfc3339(t.trim())
                .map_err(|e| format!("SECINTAKE_CLOCK is not an RFC 3339 time: {e}"))?;
        }
        if let Ok(text) = std::env::var(STALL_ENV) {
            parse_stall_limit(&text)?;
        }
        match std::env::var(ENV) {
            Ok(spec) => parse(&spec).map(|_| ()),
            Err(_) => Ok(()),
        }
    }

    /// The stall limit: `SECINTAKE_STALL_LIMIT` when set, else `default`.
    pub fn stall_limit(default: std::time::Duration) -> std::time::Duration {
        std::env::var(STALL_ENV)
            .ok()
            .and_then(|t| parse_stall_limit(&t).ok())
            .unwrap_or(default)
    }

    fn armed() -> &'static [Armed] {
        ARMED.get_or_init(|| {
            let list = std::env::var(ENV)
                .ok()
                .and_then(|s| parse(&s).ok())
                .unwrap_or_default();
            if !list.is_empty() {
                tracing::warn!(points = ?list, "failpoints armed (SECINTAKE_FAILPOINT): this process will abort at random");
                let seed = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
                    ^ (u64::from(std::process::id()) << 32);
                RNG.store(seed | 1, Ordering::Relaxed);
            }
            list
        })
    }

    /// xorshift64*: plenty for coin flips.
    pub(super) fn draw() -> f64 {
        let mut x = RNG.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        RNG.store(x, Ordering::Relaxed);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Fires the point `name` with its armed probability.
    pub fn hit(name: &str) {
        let list = armed();
        if list.is_empty() {
            return;
        }
        let found = list
            .iter()
            .find(|a| a.key.is_none() && (a.name == name || a.name == "*"));
        if let Some(a) = found {
            if draw() < a.p {
                fire(name);
            }
        }
    }

    /// Fires the keyed point `name` for `key` with its armed probability.
    pub fn hit_keyed(name: &str, key: &str) {
        let list = armed();
        if list.is_empty() {
            return;
        }
        let found = list
            .iter()
            .find(|a| a.name == name && a.key.as_deref().is_none_or(|k| k == key));
        if let Some(a) = found {
            if draw() < a.p {
                fire(name);
            }
        }
    }

    fn fire(name: &str) {
        if name == "open.hang" || name == "file.hang" {
            std::thread::sleep(std::time::Duration::from_secs(3600));
            return;
        }
        if name == "open.panic" {
            // The payload is the kind a parser bug carries; it must never
            // reach the log (see `logging::quiet_panics`).
            panic!("failpoint {name}: a secret-looking panic payload");
        }
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }

    #[cfg(test)]
    #[test]
    fn draws_are_fractions() {
        RNG.store(12345, Ordering::Relaxed);
        for _ in 0..1000 {
            let d = draw();
            assert!((0.0..1.0).contains(&d));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!(
            parse("store.put.flush:0.5, *:0.01 ,open.panic@X-2026-0003:1").unwrap(),
            vec![
                Armed {
                    name: "store.put.flush".into(),
                    key: None,
                    p: 0.5
                },
                Armed {
                    name: "*".into(),
                    key: None,
                    p: 0.01
                },
                Armed {
                    name: "open.panic".into(),
                    key: Some("X-2026-0003".into()),
                    p: 1.0
                },
            ]
        );
    }

    #[test]
    fn rejects_unknown_names_and_bad_items() {
        for bad in [
            "store.put.flsh:0.5",
            "bad",
            "x:2",
            "store.put.flush:0",
            "effect.filed@X:1",
            "store.put.flush:lots",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn file_hang_is_keyed_and_the_stall_limit_is_bounded() {
        assert!(parse("file.hang@SEC-2026-0003:1").is_ok());
        // `*` arms only unkeyed points: a chaos run never hangs a pass.
        assert!(!POINTS.contains(&"file.hang"));
        assert_eq!(
            parse_stall_limit("2"),
            Ok(std::time::Duration::from_secs(2))
        );
        for bad in ["0", "3601", "2s", "", "-1"] {
            assert!(parse_stall_limit(bad).is_err(), "{bad}");
        }
    }
}
