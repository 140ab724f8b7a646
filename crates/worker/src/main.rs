//! wstg-worker: applies queued events to DefectDojo. Run as many replicas as
//! you like; each one is a consumer of the same group.

use std::process::ExitCode;

use wstg_settings::{service, telemetry};
use wstg_worker::Worker;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match service::load("wstg-worker") {
        Ok(s) => s,
        Err(code) => return code,
    };
    telemetry::init(&settings.log);
    wstg_ops::install("wstg-worker");
    let worker = match Worker::build(&settings).await {
        Ok(w) => w,
        Err(e) => {
            eprintln!("wstg-worker: could not start: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let ops = match wstg_ops::OpsServer::start(
        settings.worker.ops_addr,
        worker.ops_checks(),
        settings.metrics.token.clone(),
    ) {
        Ok(ops) => ops,
        Err(e) => {
            eprintln!("wstg-worker: could not start: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = service::shutdown_on_signal();
    // One line, read by people and by the system tests: the ops address is
    // a free port by default, so this is where it is said.
    tracing::info!(ops = %ops.local_addr(), "ops endpoints (/healthz, /readyz, /metrics)");
    println!("wstg-worker started (ops http://{})", ops.local_addr());
    let result = worker.run(shutdown).await;
    ops.stop().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wstg-worker: stopped with an error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
