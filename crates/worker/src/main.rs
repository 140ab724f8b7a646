//! wstg-worker: applies queued events to DefectDojo. Run as many replicas as
//! you like; each one is a consumer of the same group.

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;
use wstg_settings::{telemetry, Settings};
use wstg_worker::Worker;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wstg-worker: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log);
    let worker = match Worker::build(&settings).await {
        Ok(w) => w,
        Err(e) => {
            eprintln!("wstg-worker: could not start: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    println!("wstg-worker started");
    match worker.run(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wstg-worker: stopped with an error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn stop_on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tracing::info!("shutting down: finishing in-flight work");
    shutdown.cancel();
}
