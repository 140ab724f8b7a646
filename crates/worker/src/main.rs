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
    let worker = match Worker::build(&settings).await {
        Ok(w) => w,
        Err(e) => {
            eprintln!("wstg-worker: could not start: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = service::shutdown_on_signal();
    println!("wstg-worker started");
    match worker.run(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wstg-worker: stopped with an error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
