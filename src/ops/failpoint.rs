//! Crash injection for the chaos test: `SECINTAKE_FAILPOINT=name:p[,name:p…]`
//! makes [`hit`] abort the process (like SIGKILL: no destructors, no
//! flushing) with probability `p` each time the named point is reached;
//! `*:p` arms every point.
//!
//! Points sit inside store writes (between a sled write and its flush, inside
//! the intake transaction) and between side effects and the state writes
//! that record them — the places a power cut or OOM kill hurts most and a
//! random SIGKILL rarely lands. Only the environment of the daemon process
//! arms them: nothing read from mail, IMAP, SMTP or GitHub reaches this
//! module, and the random draws come from the process's own clock and PID.
//! Unset (production), [`hit`] is one relaxed load of a parsed, empty list.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Every point, for documentation and for `*`.
pub const POINTS: &[&str] = &[
    "store.admit.txn",
    "store.admit.flush",
    "store.put.flush",
    "store.archive.flush",
    "effect.filed",
    "effect.ack.intent",
    "effect.ack.sent",
    "effect.archive.moved",
];

static ARMED: OnceLock<Vec<(String, f64)>> = OnceLock::new();
static RNG: AtomicU64 = AtomicU64::new(0);

fn parse(spec: &str) -> Vec<(String, f64)> {
    spec.split(',')
        .filter_map(|item| {
            let (name, p) = item.trim().rsplit_once(':')?;
            let p: f64 = p.trim().parse().ok()?;
            (p > 0.0 && p <= 1.0).then(|| (name.trim().to_string(), p))
        })
        .collect()
}

fn armed() -> &'static [(String, f64)] {
    ARMED.get_or_init(|| {
        let list = std::env::var("SECINTAKE_FAILPOINT")
            .map(|s| parse(&s))
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
fn draw() -> f64 {
    let mut x = RNG.load(Ordering::Relaxed);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    RNG.store(x, Ordering::Relaxed);
    (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
}

/// Aborts the process with the armed probability for `name`.
pub fn hit(name: &str) {
    let list = armed();
    if list.is_empty() {
        return;
    }
    if let Some((_, p)) = list.iter().find(|(n, _)| n == name || n == "*") {
        if draw() < *p {
            eprintln!("failpoint {name}: aborting");
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!(
            parse("store.put.flush:0.5, *:0.01,bad,x:2,y:0"),
            vec![
                ("store.put.flush".to_string(), 0.5),
                ("*".to_string(), 0.01)
            ]
        );
    }

    #[test]
    fn draws_are_fractions() {
        RNG.store(12345, Ordering::Relaxed);
        for _ in 0..1000 {
            let d = draw();
            assert!((0.0..1.0).contains(&d));
        }
    }
}
