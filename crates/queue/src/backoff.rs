//! Backoff between failing Redis calls (connection refused, timeouts):
//! the consumer and the delayed mover never sleep inside a call, their loops
//! wait this long before the next one.

use std::time::Duration;

use rand::Rng;

/// The first wait.
pub const RECONNECT_MIN: Duration = Duration::from_millis(100);
/// The longest wait: a restarted Redis is noticed within this.
pub const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// The wait after `failures` consecutive failures (1 = the first):
/// 100 ms doubling up to 5 s, each drawn from [50 %, 100 %] of that so that
/// replicas which lost Redis together do not reconnect in lockstep.
pub fn reconnect_delay(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    let ceiling = RECONNECT_MIN.saturating_mul(1u32 << exp).min(RECONNECT_MAX);
    ceiling.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_is_capped() {
        for _ in 0..100 {
            let d1 = reconnect_delay(1);
            assert!(d1 >= RECONNECT_MIN / 2 && d1 <= RECONNECT_MIN);
            let d4 = reconnect_delay(4);
            assert!(d4 >= Duration::from_millis(400) && d4 <= Duration::from_millis(800));
            let big = reconnect_delay(u32::MAX);
            assert!(big >= RECONNECT_MAX / 2 && big <= RECONNECT_MAX);
        }
        assert!(reconnect_delay(0) <= RECONNECT_MIN);
    }
}
