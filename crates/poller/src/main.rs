//! wstg-poller: polls DefectDojo and queues a reconciliation event for each
//! item that changed there. Run one or more replicas: each project is polled
//! by one at a time (a lease in Redis); the others stand by.

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;
use wstg_poller::Poller;
use wstg_settings::{telemetry, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wstg-poller: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log);
    let poller = match Poller::build(&settings).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("wstg-poller: could not start: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    println!("wstg-poller started ({})", poller.holder());
    match poller.run(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wstg-poller: {e:#}");
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
    shutdown.cancel();
}
