//! Time as DefectDojo sees and prints it.
//!
//! DefectDojo stores timestamps with microsecond precision (PostgreSQL `timestamptz`) in UTC
//! (`TIME_ZONE = "UTC"`), and DRF prints them with `isoformat()` plus a `Z` suffix.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

pub type Timestamp = DateTime<Utc>;

static LAST_MICROS: AtomicI64 = AtomicI64::new(0);

/// The current time, truncated to microseconds and strictly increasing across calls.
///
/// Strictly increasing so that "was `updated` / `last_status_update` bumped?" is always
/// observable, even when two saves land in the same microsecond (the real server is slow
/// enough that this never happens there).
pub fn now() -> Timestamp {
    let real = Utc::now().timestamp_micros();
    let mut prev = LAST_MICROS.load(Ordering::Relaxed);
    loop {
        let next = real.max(prev + 1);
        match LAST_MICROS.compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return from_micros(next),
            Err(actual) => prev = actual,
        }
    }
}

fn from_micros(micros: i64) -> Timestamp {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// `today` in the server time zone (UTC).
pub fn today() -> NaiveDate {
    now().date_naive()
}

/// DRF `DateTimeField.to_representation`: `isoformat()` with `+00:00` turned into `Z`;
/// Python omits the fraction when the microseconds are zero.
pub fn format_datetime(ts: &Timestamp) -> String {
    if ts.timestamp_subsec_micros() == 0 {
        ts.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        ts.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    }
}

pub fn format_date(d: &NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Parses what Django's `parse_datetime` (which falls back to `datetime.fromisoformat`) accepts
/// closely enough for API clients: RFC 3339, naive ISO date-times (taken as UTC, the server
/// time zone) and a bare date (midnight).
pub fn parse_datetime(input: &str) -> Option<Timestamp> {
    let s = input.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    const AWARE: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%d %H:%M%:z",
    ];
    for fmt in AWARE {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return Some(dt.with_timezone(&Utc));
        }
    }
    let naive = s.strip_suffix('Z').unwrap_or(s);
    const NAIVE: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ];
    for fmt in NAIVE {
        if let Ok(dt) = NaiveDateTime::parse_from_str(naive, fmt) {
            return Some(Utc.from_utc_datetime(&truncate_micros(dt)));
        }
    }
    parse_date(s).map(|d| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)))
}

fn truncate_micros(dt: NaiveDateTime) -> NaiveDateTime {
    let micros = dt.and_utc().timestamp_micros();
    DateTime::from_timestamp_micros(micros)
        .map(|d| d.naive_utc())
        .unwrap_or(dt)
}

/// DRF `DateField` input: ISO `YYYY-MM-DD`.
pub fn parse_date(input: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_drf() {
        let ts = parse_datetime("2026-11-22T06:16:51.977246Z").expect("parses");
        assert_eq!(format_datetime(&ts), "2026-11-22T06:16:51.977246Z");
        let ts = parse_datetime("2026-11-01T00:00:00Z").expect("parses");
        assert_eq!(format_datetime(&ts), "2026-11-01T00:00:00Z");
    }

    #[test]
    fn parses_common_inputs() {
        let want = parse_datetime("2026-11-01T02:00:00Z").expect("parses");
        assert_eq!(parse_datetime("2026-11-01T03:00:00+01:00"), Some(want));
        assert_eq!(parse_datetime("2026-11-01T02:00:00"), Some(want));
        assert_eq!(parse_datetime("2026-11-01 02:00"), Some(want));
        assert!(parse_datetime("2026-11-01").is_some());
        assert!(parse_datetime("yesterday").is_none());
        assert!(parse_date("2026-13-01").is_none());
    }

    #[test]
    fn now_is_strictly_increasing() {
        let a = now();
        let b = now();
        assert!(b > a);
    }
}
