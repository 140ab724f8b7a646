//! wstg-ingest: the HTTP API the tracker and DefectDojo's webhooks call.

use std::process::ExitCode;

use wstg_ingest::Application;
use wstg_settings::{service, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match service::load("wstg-ingest") {
        Ok(s) => s,
        Err(code) => return code,
    };
    telemetry::init(&settings.log);
    let app = match Application::build(&settings).await {
        Ok(app) => app,
        Err(e) => {
            // One line, as the worker and poller say it: the log goes to
            // stderr too, and a second copy there is noise.
            eprintln!("wstg-ingest: could not start: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "wstg-ingest listening on http://{}:{}",
        settings.ingest.addr.ip(),
        app.port()
    );
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("wstg-ingest stopped: {e}");
            ExitCode::FAILURE
        }
    }
}
