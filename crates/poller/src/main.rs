//! wstg-poller: polls DefectDojo and queues a reconciliation event for each
//! item that changed there. Run one or more replicas: each project is polled
//! by one at a time (a lease in Redis); the others stand by.

use std::process::ExitCode;

use wstg_poller::Poller;
use wstg_settings::{service, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match service::load("wstg-poller") {
        Ok(s) => s,
        Err(code) => return code,
    };
    telemetry::init(&settings.log);
    wstg_ops::install("wstg-poller");
    let poller = match Poller::build(&settings).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("wstg-poller: could not start: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let ops = match wstg_ops::OpsServer::start(
        settings.poller.ops_addr,
        poller.ops_checks(),
        settings.metrics.token.clone(),
    ) {
        Ok(ops) => ops,
        Err(e) => {
            eprintln!("wstg-poller: could not start: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = service::shutdown_on_signal();
    tracing::info!(ops = %ops.local_addr(), "ops endpoints (/healthz, /readyz, /metrics)");
    // The holder stays last, in parentheses (tests read it from there).
    println!(
        "wstg-poller started; ops http://{} ({})",
        ops.local_addr(),
        poller.holder()
    );
    let result = poller.run(shutdown).await;
    ops.stop().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wstg-poller: {e:#}");
            ExitCode::FAILURE
        }
    }
}
