//! The time secintake records (arrivals, acknowledgements, replies,
//! lifecycle changes) and schedules by. Real UTC time, except in builds
//! with the `failpoints` feature (tests only) when `SECINTAKE_CLOCK` holds
//! an RFC 3339 instant: then the clock starts at that instant when the
//! process first asks and runs at real speed from there, so a test can
//! build a year of history through the real pipeline in minutes.

use chrono::{DateTime, Utc};

#[cfg(feature = "failpoints")]
fn offset() -> chrono::Duration {
    use std::sync::OnceLock;
    static OFFSET: OnceLock<chrono::Duration> = OnceLock::new();
    *OFFSET.get_or_init(|| {
        std::env::var("SECINTAKE_CLOCK")
            .ok()
            .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
            .map(|t| t.with_timezone(&Utc) - Utc::now())
            .unwrap_or_else(chrono::Duration::zero)
    })
}

/// Now, by the clock described above.
pub fn now() -> DateTime<Utc> {
    #[cfg(feature = "failpoints")]
    {
        Utc::now() + offset()
    }
    #[cfg(not(feature = "failpoints"))]
    {
        Utc::now()
    }
}
