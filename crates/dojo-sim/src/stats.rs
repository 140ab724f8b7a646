//! Request counters behind `GET /__sim/stats`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Snapshot {
    /// Every `/api/v2` request, faulted or not.
    pub requests: u64,
    /// `/api/v2` POST/PUT/PATCH/DELETE answered with a 2xx.
    pub writes: u64,
    /// Requests answered by an injected fault.
    pub faults: u64,
    /// The injected delay (latency knob plus profile) of the writes counted
    /// in `writes`, summed in microseconds: a benchmark takes DefectDojo's
    /// own share of a change's time from it, measured in the same run.
    pub write_delay_us: u64,
    /// `"<METHOD> <path with numeric segments as {id}>"` -> requests.
    pub by_route: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<Snapshot>,
}

impl Stats {
    fn with<T>(&self, f: impl FnOnce(&mut Snapshot) -> T) -> T {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    pub fn record_request(&self, route: String) {
        self.with(|s| {
            s.requests += 1;
            *s.by_route.entry(route).or_insert(0) += 1;
        });
    }

    pub fn record_write(&self, delay: std::time::Duration) {
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.with(|s| {
            s.writes += 1;
            s.write_delay_us = s.write_delay_us.saturating_add(us);
        });
    }

    pub fn record_fault(&self) {
        self.with(|s| s.faults += 1);
    }

    pub fn snapshot(&self) -> Snapshot {
        self.with(|s| s.clone())
    }

    pub fn reset(&self) {
        self.with(|s| *s = Snapshot::default());
    }
}

/// `PATCH /api/v2/findings/12/close/` -> `PATCH /api/v2/findings/{id}/close/`.
pub fn route_key(method: &str, path: &str) -> String {
    let normalized: Vec<&str> = path
        .split('/')
        .map(|seg| {
            if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                seg
            }
        })
        .collect();
    format!("{method} {}", normalized.join("/"))
}

pub fn is_write(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_keys() {
        assert_eq!(
            route_key("PATCH", "/api/v2/findings/12/"),
            "PATCH /api/v2/findings/{id}/"
        );
        assert_eq!(
            route_key("POST", "/api/v2/findings/3/close/"),
            "POST /api/v2/findings/{id}/close/"
        );
    }
}
