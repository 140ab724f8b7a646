//! What a poller records (names in `wstg_ops::catalogue`): each pass's
//! duration and DefectDojo requests, polls by result, findings read, and
//! whether DefectDojo answered.

use std::time::Duration;

use wstg_ops::catalogue::{
    DOJO_REACHABLE, POLLS, POLL_DOJO_REQUESTS, POLL_DURATION, POLL_FINDINGS, POLL_LAST_SUCCESS,
};

/// Every series at zero, so `rate()` and alerts work before the first pass.
pub fn register() {
    for result in ["ok", "error"] {
        metrics::counter!(POLLS, "result" => result).absolute(0);
    }
    metrics::counter!(POLL_FINDINGS).absolute(0);
    metrics::gauge!(POLL_LAST_SUCCESS).set(0.0);
    // Registered without a sample: rendered with zero counts.
    let _ = metrics::histogram!(POLL_DURATION);
    let _ = metrics::histogram!(POLL_DOJO_REQUESTS);
}

/// One project polled.
pub fn polled(ok: bool, findings: usize) {
    metrics::counter!(POLLS, "result" => if ok { "ok" } else { "error" }).increment(1);
    metrics::counter!(POLL_FINDINGS).increment(findings as u64);
}

/// One pass that asked DefectDojo something: `reachable` is whether it
/// answered.
pub fn pass(elapsed: Duration, requests: u32, reachable: bool) {
    metrics::histogram!(POLL_DURATION).record(elapsed.as_secs_f64());
    metrics::histogram!(POLL_DOJO_REQUESTS).record(f64::from(requests));
    metrics::gauge!(DOJO_REACHABLE).set(if reachable { 1.0 } else { 0.0 });
    if reachable {
        metrics::gauge!(POLL_LAST_SUCCESS).set(chrono::Utc::now().timestamp() as f64);
    }
}
