//! The Prometheus recorder of a process: installed once (several services
//! built inside one test process share it), with histogram buckets chosen
//! per metric, and an upkeep thread so histogram samples never pile up
//! between scrapes.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::catalogue::{Kind, CATALOGUE};

/// The content type of the Prometheus text format (version 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Latency buckets (seconds) of HTTP requests and DefectDojo calls: from
/// the emulator's sub-millisecond answers to a DefectDojo call's timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// A poll pass reads a whole test, page by page: up to minutes.
const POLL_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
/// DefectDojo requests one poll pass made (one per page per project).
const REQUESTS_BUCKETS: &[f64] = &[1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder (once per process), describes every metric of the
/// catalogue, and sets `wstg_build_info{service,version}` to 1.
pub fn install(service: &'static str) -> &'static PrometheusHandle {
    let handle = HANDLE.get_or_init(|| {
        let handle = build().install_recorder().unwrap_or_else(|e| {
            // Another recorder is installed (a test harness's): keep
            // one that renders nothing rather than fail the service.
            tracing::warn!(error = %e, "metrics recorder not installed");
            PrometheusBuilder::new().build_recorder().handle()
        });
        describe();
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            });
        handle
    });
    metrics::gauge!(
        crate::catalogue::BUILD_INFO,
        "service" => service,
        "version" => env!("CARGO_PKG_VERSION"),
    )
    .set(1.0);
    handle
}

/// The Prometheus text of every metric recorded so far; empty when no
/// recorder was installed.
pub fn render() -> String {
    HANDLE
        .get()
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}

fn build() -> PrometheusBuilder {
    let mut b = PrometheusBuilder::new();
    for def in CATALOGUE.iter().filter(|d| d.kind == Kind::Histogram) {
        let buckets = match def.name {
            crate::catalogue::POLL_DURATION => POLL_BUCKETS,
            crate::catalogue::POLL_DOJO_REQUESTS => REQUESTS_BUCKETS,
            _ => LATENCY_BUCKETS,
        };
        b = b
            .set_buckets_for_metric(Matcher::Full(def.name.to_owned()), buckets)
            .expect("bucket lists are non-empty constants");
    }
    b
}

fn describe() {
    for def in CATALOGUE {
        match def.kind {
            Kind::Counter => metrics::describe_counter!(def.name, def.help),
            Kind::Gauge => metrics::describe_gauge!(def.name, def.help),
            Kind::Histogram => metrics::describe_histogram!(def.name, def.help),
        }
    }
}
