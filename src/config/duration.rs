//! Durations in configuration are strings such as `"30s"`, `"5m"`, `"3d"` or
//! `"1h30m"`: a sequence of whole numbers, each followed by a unit
//! (`s`, `m`, `h`, `d`, `w`).
//!
//! One rule for every duration: it is at most [`MAX_DURATION`] long, checked
//! here when the configuration is read, so adding one to a date later can
//! never overflow; [`to_chrono`] is the one conversion to date arithmetic.

use std::time::Duration;

/// The longest duration any setting may have: ten years.
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 86_400);

/// A configured duration as a `chrono` span for date arithmetic. Total for
/// every value [`parse_duration`] accepts; anything longer (only possible
/// for durations built in code) is clamped to [`MAX_DURATION`].
pub fn to_chrono(d: Duration) -> chrono::Duration {
    let secs = d.min(MAX_DURATION).as_secs();
    chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("is empty; write a duration such as \"30s\" or \"3d\"".into());
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(format!("has an unknown unit '{c}'; use s, m, h, d or w")),
        };
        let n: u64 = number
            .parse()
            .map_err(|_| "needs a number before each unit, as in \"30s\"".to_string())?;
        number.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| "is too long".to_string())?;
    }
    if !number.is_empty() {
        return Err("needs a unit after the number, as in \"30s\"".into());
    }
    let d = Duration::from_secs(total);
    if d > MAX_DURATION {
        return Err("is longer than the limit of ten years (3650d)".into());
    }
    Ok(d)
}

/// Renders a duration the way it is written in configuration.
pub fn format_duration(d: Duration) -> String {
    let mut s = d.as_secs();
    if s == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if s >= size {
            out.push_str(&format!("{}{unit}", s / size));
            s %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("3d"), Ok(Duration::from_secs(3 * 86_400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("3x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999w").is_err());
    }

    #[test]
    fn durations_are_bounded_so_date_arithmetic_cannot_overflow() {
        assert_eq!(parse_duration("3650d"), Ok(MAX_DURATION));
        let err = parse_duration("3651d").expect_err("over ten years");
        assert!(err.contains("ten years"), "{err}");
        assert!(parse_duration("9999999999w").is_err());
        let far = chrono::Utc::now() + to_chrono(MAX_DURATION);
        assert!(far > chrono::Utc::now());
        assert_eq!(to_chrono(Duration::MAX), to_chrono(MAX_DURATION));
        assert_eq!(
            to_chrono(Duration::from_secs(90)),
            chrono::Duration::seconds(90)
        );
    }

    #[test]
    fn formats_back() {
        assert_eq!(format_duration(Duration::from_secs(90_061)), "1d1h1m1s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
