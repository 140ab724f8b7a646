//! wstg-worker: applies queued events to DefectDojo. Run as many replicas as
//! you like; each one is a consumer of the same group.

use std::process::ExitCode;

use wstg_startup::service::{self, Service};
use wstg_worker::Worker;

fn main() -> ExitCode {
    service::main(
        Service {
            name: "wstg-worker",
            version: env!("CARGO_PKG_VERSION"),
            about:
                "Applies the queued tracker events to DefectDojo (run as many replicas as you like)",
            keys: &[
                "dojo.url",
                "dojo.token",
                "worker.concurrency",
                "worker.item_write_interval_ms",
                "worker.ops_addr",
                "metrics.token",
            ],
        },
        |settings| async move {
            wstg_ops::install("wstg-worker");
            let worker = Worker::build(&settings).await?;
            let ops = wstg_ops::OpsServer::start(
                settings.worker.ops_addr,
                worker.ops_checks(),
                settings.metrics.token.clone(),
            )?;
            // One line, read by people and by the system tests: the ops
            // address is a free port by default, so this is where it is said.
            tracing::info!(ops = %ops.local_addr(), "ops endpoints (/healthz, /readyz, /metrics)");
            println!("wstg-worker started (ops http://{})", ops.local_addr());
            Ok((worker, ops))
        },
        |(worker, ops), shutdown| async move {
            let result = worker.run(shutdown).await;
            ops.stop().await;
            result
        },
    )
}
