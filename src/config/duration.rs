//! Durations in configuration are strings such as `"30s"`, `"5m"`, `"3d"` or
//! `"1h30m"`: a sequence of whole numbers, each followed by a unit
//! (`s`, `m`, `h`, `d`, `w`).

use std::time::Duration;

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
    Ok(Duration::from_secs(total))
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
    fn formats_back() {
        assert_eq!(format_duration(Duration::from_secs(90_061)), "1d1h1m1s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
