//! Every metric of wstg-bridge, in one table: docs/operations.md lists the
//! same rows (a test compares them), the recorder describes each one, and
//! the system test checks that each appears on the `/metrics` of the
//! services named here.
//!
//! Names follow Prometheus' conventions: the `wstg_` namespace, the unit in
//! the name (`_seconds`, `_entries`, `_requests`), `_total` on counters.
//! Labels are low-cardinality by construction: never an id, a URL, a
//! project or a raw path.

use dojo_client::metrics as dojo;
use wstg_queue::metrics as queue;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Ingest,
    Worker,
    Poller,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Ingest => "ingest",
            Service::Worker => "worker",
            Service::Poller => "poller",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    pub name: &'static str,
    pub kind: Kind,
    /// Label names, comma-separated ("" for none).
    pub labels: &'static str,
    pub services: &'static [Service],
    pub help: &'static str,
}

pub const BUILD_INFO: &str = "wstg_build_info";
pub const HTTP_REQUESTS: &str = "wstg_http_requests_total";
pub const HTTP_DURATION: &str = "wstg_http_request_duration_seconds";
pub const LIVE_STREAMS: &str = "wstg_live_streams_open";
pub const EVENTS_APPLIED: &str = "wstg_events_applied_total";
pub const DEAD_LETTERS: &str = "wstg_dead_letters_total";
pub const CONFLICTS: &str = "wstg_conflicts_total";
pub const BREAKER_STATE: &str = "wstg_dojo_breaker_state";
pub const POLLS: &str = "wstg_polls_total";
pub const POLL_DURATION: &str = "wstg_poll_duration_seconds";
pub const POLL_FINDINGS: &str = "wstg_poll_findings_read_total";
pub const POLL_DOJO_REQUESTS: &str = "wstg_poll_dojo_requests_per_pass";
pub const POLL_LAST_SUCCESS: &str = "wstg_poll_last_success_timestamp_seconds";
pub const DOJO_REACHABLE: &str = "wstg_dojo_reachable";

use Kind::{Counter, Gauge, Histogram};
use Service::{Ingest, Poller, Worker};

const ALL: &[Service] = &[Ingest, Worker, Poller];

pub const CATALOGUE: &[MetricDef] = &[
    MetricDef {
        name: BUILD_INFO,
        kind: Gauge,
        labels: "service,version",
        services: ALL,
        help: "Always 1; the labels name the service and its version.",
    },
    MetricDef {
        name: queue::STREAM_ENTRIES,
        kind: Gauge,
        labels: "",
        services: ALL,
        help: "Entries on the events stream: all unfinished work (acknowledged entries are deleted).",
    },
    MetricDef {
        name: queue::LAG_ENTRIES,
        kind: Gauge,
        labels: "",
        services: ALL,
        help: "Entries not yet delivered to any worker (the consumer group's lag).",
    },
    MetricDef {
        name: queue::PENDING_ENTRIES,
        kind: Gauge,
        labels: "",
        services: ALL,
        help: "Entries delivered to a worker and not acknowledged yet.",
    },
    MetricDef {
        name: queue::OLDEST_PENDING_IDLE,
        kind: Gauge,
        labels: "",
        services: ALL,
        help: "Longest time a delivered entry has gone unacknowledged (0 when none is pending).",
    },
    MetricDef {
        name: queue::OLDEST_EVENT_AGE,
        kind: Gauge,
        labels: "",
        services: ALL,
        help: "Age of the oldest entry on the events stream (0 when empty): how far behind the workers are.",
    },
    MetricDef {
        name: queue::DELAYED_ENTRIES,
        kind: Gauge,
        labels: "",
        services: ALL,
        help: "Events waiting in the delayed set: retries, deferred writes, and work parked while DefectDojo is away.",
    },
    MetricDef {
        name: queue::DEAD_LETTER_ENTRIES,
        kind: Gauge,
        labels: "",
        services: ALL,
        help: "Events in the dead-letter queue (waiting for an operator's replay or purge).",
    },
    MetricDef {
        name: queue::CONSUMERS,
        kind: Gauge,
        labels: "",
        services: ALL,
        help: "Consumers known to the workers' group (idle ones included).",
    },
    MetricDef {
        name: queue::REDIS_UP,
        kind: Gauge,
        labels: "",
        services: ALL,
        help: "1 when this scrape read the queue figures from Redis, 0 when Redis did not answer in time.",
    },
    MetricDef {
        name: HTTP_REQUESTS,
        kind: Counter,
        labels: "method,route,status",
        services: &[Ingest],
        help: "HTTP requests answered, by route pattern (never the raw path; `unmatched` for unknown paths) and status.",
    },
    MetricDef {
        name: HTTP_DURATION,
        kind: Histogram,
        labels: "method,route",
        services: &[Ingest],
        help: "Time to the response head, by route pattern (a live stream counts until its head is sent).",
    },
    MetricDef {
        name: LIVE_STREAMS,
        kind: Gauge,
        labels: "",
        services: &[Ingest],
        help: "Open live streams (server-sent events, /api/wstg/stream) of this ingest process.",
    },
    MetricDef {
        name: EVENTS_APPLIED,
        kind: Counter,
        labels: "outcome",
        services: &[Worker],
        help: "Item applications (one per item and batch) by outcome: created, updated, matched, pulled, unlinked, in_sync, coalesced, retry, deferred, dead_letter, failed.",
    },
    MetricDef {
        name: DEAD_LETTERS,
        kind: Counter,
        labels: "reason",
        services: &[Worker],
        help: "Events this worker dead-lettered, by reason: permanent, exhausted, poison, undecodable.",
    },
    MetricDef {
        name: CONFLICTS,
        kind: Counter,
        labels: "policy",
        services: &[Worker],
        help: "Items changed on both sides and settled by the conflict policy.",
    },
    MetricDef {
        name: BREAKER_STATE,
        kind: Gauge,
        labels: "",
        services: &[Worker],
        help: "This worker's DefectDojo circuit breaker: 0 closed, 1 half open, 2 open.",
    },
    MetricDef {
        name: dojo::REQUEST_DURATION,
        kind: Histogram,
        labels: "operation,status",
        services: &[Worker, Poller],
        help: "DefectDojo API calls: duration by operation (method and path template, e.g. `PATCH findings/{id}/`) and HTTP status (`none`: no answer).",
    },
    MetricDef {
        name: POLLS,
        kind: Counter,
        labels: "result",
        services: &[Poller],
        help: "Project polls by result: ok, error.",
    },
    MetricDef {
        name: POLL_DURATION,
        kind: Histogram,
        labels: "",
        services: &[Poller],
        help: "Duration of one poll pass over every project this replica holds.",
    },
    MetricDef {
        name: POLL_FINDINGS,
        kind: Counter,
        labels: "",
        services: &[Poller],
        help: "DefectDojo findings read by polls.",
    },
    MetricDef {
        name: POLL_DOJO_REQUESTS,
        kind: Histogram,
        labels: "",
        services: &[Poller],
        help: "DefectDojo requests made by one poll pass.",
    },
    MetricDef {
        name: POLL_LAST_SUCCESS,
        kind: Gauge,
        labels: "",
        services: &[Poller],
        help: "Unix time of this replica's last pass in which DefectDojo answered (0 before the first).",
    },
    MetricDef {
        name: DOJO_REACHABLE,
        kind: Gauge,
        labels: "",
        services: &[Poller],
        help: "1 when DefectDojo answered this replica's last poll pass, 0 when it did not.",
    },
];

/// The definition of `name`.
pub fn find(name: &str) -> Option<&'static MetricDef> {
    CATALOGUE.iter().find(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_conventions() {
        let mut seen = std::collections::HashSet::new();
        for d in CATALOGUE {
            assert!(seen.insert(d.name), "{} listed twice", d.name);
            assert!(d.name.starts_with("wstg_"), "{}", d.name);
            assert_eq!(
                d.kind == Kind::Counter,
                d.name.ends_with("_total"),
                "{}: only counters end in _total",
                d.name
            );
            assert!(!d.services.is_empty(), "{}", d.name);
        }
    }

    /// docs/operations.md holds one table row per metric, with the same
    /// type, labels and services.
    #[test]
    fn the_operations_doc_lists_every_metric_and_no_other() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/operations.md"
        ))
        .expect("docs/operations.md");
        let rows = doc_rows(&doc);
        for d in CATALOGUE {
            let row = rows
                .iter()
                .find(|r| r[0] == d.name)
                .unwrap_or_else(|| panic!("{} is not in docs/operations.md", d.name));
            assert_eq!(row[1], d.kind.as_str(), "{}: type", d.name);
            let labels = row[2].replace(['`', ' '], "");
            let labels = if labels == "-" { String::new() } else { labels };
            assert_eq!(labels, d.labels, "{}: labels", d.name);
            let services: Vec<&str> = d.services.iter().map(|s| s.as_str()).collect();
            assert_eq!(
                row[3].replace(' ', ""),
                services.join(","),
                "{}: services",
                d.name
            );
        }
        for r in &rows {
            assert!(
                find(&r[0]).is_some(),
                "{} is documented but not a metric",
                r[0]
            );
        }
    }

    /// `| `name` | type | labels | services | meaning |` rows.
    fn doc_rows(doc: &str) -> Vec<Vec<String>> {
        doc.lines()
            .filter(|l| l.starts_with("| `wstg_"))
            .map(|l| {
                l.trim_matches('|')
                    .split(" | ")
                    .map(|c| c.trim().trim_matches('`').to_owned())
                    .collect()
            })
            .collect()
    }
}
