//! Nearest-rank quantiles of durations, for `status`, metrics and the
//! yearly report: the smallest value at or below which a fraction `q` of
//! the values lie (no interpolation, so every figure is one that occurred).

/// The `q` quantile (0 < q <= 1) of `values` (sorted or not); None when
/// there are none.
pub fn nearest_rank(values: &[i64], q: f64) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = (q.clamp(f64::MIN_POSITIVE, 1.0) * v.len() as f64).ceil() as usize;
    v.get(rank.clamp(1, v.len()) - 1).copied()
}

/// A duration in seconds as "3d 4h", "5h 10m", "7m" or "12s".
pub fn human(secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_picks_an_occurring_value() {
        let v = [50, 10, 40, 20, 30];
        assert_eq!(nearest_rank(&v, 0.5), Some(30));
        assert_eq!(nearest_rank(&v, 0.9), Some(50));
        assert_eq!(nearest_rank(&v, 0.2), Some(10));
        assert_eq!(nearest_rank(&v, 1.0), Some(50));
        assert_eq!(nearest_rank(&[7], 0.5), Some(7));
        assert_eq!(nearest_rank(&[], 0.5), None);
        // 10 values: p90 is the 9th.
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&ten, 0.9), Some(9));
        assert_eq!(nearest_rank(&ten, 0.5), Some(5));
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(12), "12s");
        assert_eq!(human(7 * 60 + 5), "7m");
        assert_eq!(human(5 * 3600 + 10 * 60), "5h 10m");
        assert_eq!(human(3 * 86_400 + 4 * 3600 + 59), "3d 4h");
    }
}
