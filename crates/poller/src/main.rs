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
    let poller = match Poller::build(&settings).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("wstg-poller: could not start: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = service::shutdown_on_signal();
    println!("wstg-poller started ({})", poller.holder());
    let retention = tokio::spawn(poller.retention_job(&settings).run(shutdown.clone()));
    let result = poller.run(shutdown.clone()).await;
    shutdown.cancel();
    let _ = retention.await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wstg-poller: {e:#}");
            ExitCode::FAILURE
        }
    }
}
