//! The published retry schedule for applying an event to DefectDojo.
//!
//! `attempt` is how many times applying the event has failed so far,
//! counting the failure just seen (so the first failure asks for attempt 1):
//!
//! | attempt | base delay | with ±20 % jitter | total wait so far (base) |
//! |--------:|-----------:|------------------:|-------------------------:|
//! | 1       | 1 s        | 0.8 s – 1.2 s     | 1 s                      |
//! | 2       | 5 s        | 4 s – 6 s         | 6 s                      |
//! | 3       | 30 s       | 24 s – 36 s       | 36 s                     |
//! | 4       | 2 min      | 96 s – 144 s      | 2 min 36 s               |
//! | 5       | 10 min     | 8 min – 12 min    | 12 min 36 s              |
//! | 6       | 30 min     | 24 min – 36 min   | 42 min 36 s              |
//! | 7       | 1 h        | 48 min – 72 min   | 1 h 42 min 36 s          |
//! | 8       | 2 h        | 96 min – 144 min  | 3 h 42 min 36 s          |
//! | ≥ 9     | —          | dead letter       |                          |
//!
//! So an event is tried [`MAX_ATTEMPTS`] = 9 times in all (the first try and
//! 8 retries) over about 3 h 43 min before it is dead-lettered.
//!
//! Jitter spreads retries of events that failed together (one DefectDojo
//! outage) so they do not all return in the same second.
//!
//! A `Retry-After` from DefectDojo (429/503) is honoured but clamped to
//! `[base, max(2 × base, min(retry_after, 1 h))]`: never sooner than the
//! schedule, as late as the server asks up to an hour, and a huge or hostile
//! value cannot park an event for days. The result is then stretched by
//! 0–20 % (never shortened, so the server's wish is kept) to spread the
//! herd. This follows svix, which clamps Retry-After to [base, 2 × base].

use std::time::Duration;

use rand::Rng;

/// Base delays; entry `i` is the wait after failure `i + 1`.
pub const SCHEDULE: [Duration; 8] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(2 * 60),
    Duration::from_secs(10 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(60 * 60),
    Duration::from_secs(2 * 60 * 60),
];

/// Tries in all, first one included: after this many failures
/// [`retry_delay`] returns `None`.
pub const MAX_ATTEMPTS: u32 = SCHEDULE.len() as u32 + 1;

/// Jitter as a fraction of the base delay (±).
pub const JITTER: f64 = 0.2;

/// The longest `Retry-After` honoured beyond twice the base delay.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(60 * 60);

/// The base delay after failure number `attempt` (0 is treated as 1 so a
/// caller off by one never retries in a hot loop), `None` past the schedule.
pub fn base_delay(attempt: u32) -> Option<Duration> {
    let index = usize::try_from(attempt.max(1) - 1).ok()?;
    SCHEDULE.get(index).copied()
}

/// How long to wait before trying again after failure number `attempt`;
/// `None` means the schedule is exhausted: dead-letter the event.
/// See the module docs for the table and the `Retry-After` rule.
pub fn retry_delay(
    attempt: u32,
    retry_after: Option<Duration>,
    rng: &mut impl Rng,
) -> Option<Duration> {
    let base = base_delay(attempt)?;
    Some(match retry_after {
        None => base.mul_f64(rng.gen_range(1.0 - JITTER..=1.0 + JITTER)),
        Some(ra) => {
            let upper = (base * 2).max(ra.min(RETRY_AFTER_CAP));
            ra.clamp(base, upper)
                .mul_f64(rng.gen_range(1.0..=1.0 + JITTER))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(7)
    }

    #[test]
    fn schedule_bounds() {
        assert_eq!(MAX_ATTEMPTS, 9);
        assert_eq!(base_delay(1), Some(Duration::from_secs(1)));
        assert_eq!(base_delay(0), base_delay(1));
        assert_eq!(base_delay(8), Some(Duration::from_secs(7200)));
        assert_eq!(base_delay(MAX_ATTEMPTS), None);
        let mut r = rng();
        assert!(retry_delay(MAX_ATTEMPTS - 1, None, &mut r).is_some());
        assert_eq!(retry_delay(MAX_ATTEMPTS, None, &mut r), None);
        assert_eq!(
            retry_delay(u32::MAX, Some(Duration::from_secs(1)), &mut r),
            None
        );
    }

    #[test]
    fn base_is_monotonic() {
        for w in SCHEDULE.windows(2) {
            assert!(w[0] < w[1], "{:?} then {:?}", w[0], w[1]);
        }
    }

    #[test]
    fn jitter_stays_within_twenty_percent_and_varies() {
        let mut r = rng();
        for attempt in 1..MAX_ATTEMPTS {
            let base = base_delay(attempt).unwrap_or_default();
            let mut seen = std::collections::HashSet::new();
            for _ in 0..500 {
                let d = retry_delay(attempt, None, &mut r).unwrap_or_default();
                assert!(
                    d >= base.mul_f64(0.8) && d <= base.mul_f64(1.2),
                    "{attempt}: {d:?}"
                );
                seen.insert(d);
            }
            assert!(seen.len() > 100, "jitter should vary");
        }
    }

    #[test]
    fn retry_after_is_clamped() {
        let mut r = rng();
        let within = |d: Option<Duration>, lo: Duration, hi: Duration| {
            let d = d.unwrap_or_default();
            assert!(
                d >= lo && d <= hi.mul_f64(1.2),
                "{d:?} not in [{lo:?}, {hi:?}·1.2]"
            );
        };
        // Shorter than the base: the base wins.
        within(
            retry_delay(3, Some(Duration::from_secs(1)), &mut r),
            Duration::from_secs(30),
            Duration::from_secs(30),
        );
        // Longer than 2×base but within an hour: honoured.
        within(
            retry_delay(1, Some(Duration::from_secs(120)), &mut r),
            Duration::from_secs(120),
            Duration::from_secs(120),
        );
        // Beyond an hour: capped at one hour.
        within(
            retry_delay(2, Some(Duration::from_secs(86_400)), &mut r),
            RETRY_AFTER_CAP,
            RETRY_AFTER_CAP,
        );
        // Late in the schedule 2×base exceeds the cap: up to 2×base.
        within(
            retry_delay(8, Some(Duration::from_secs(86_400)), &mut r),
            Duration::from_secs(4 * 3600),
            Duration::from_secs(4 * 3600),
        );
        within(
            retry_delay(8, Some(Duration::from_secs(3 * 3600)), &mut r),
            Duration::from_secs(3 * 3600),
            Duration::from_secs(3 * 3600),
        );
        // Never sooner than asked.
        for _ in 0..500 {
            let d = retry_delay(2, Some(Duration::from_secs(40)), &mut r).unwrap_or_default();
            assert!(d >= Duration::from_secs(40));
        }
    }
}
