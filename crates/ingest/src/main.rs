//! wstg-ingest: the HTTP API the tracker and DefectDojo's webhooks call.

use std::process::ExitCode;

use wstg_ingest::Application;
use wstg_startup::service::{self, Service};

fn main() -> ExitCode {
    service::main(
        Service {
            name: "wstg-ingest",
            version: env!("CARGO_PKG_VERSION"),
            about: "The wstg-bridge HTTP API: tracker events and DefectDojo webhooks onto the Redis queue",
            keys: &[
                "ingest.addr",
                "ingest.token",
                "ingest.admin_token",
                "ingest.webhook_key",
                "auth.allow_anonymous",
                "auth.public_host",
            ],
        },
        |settings| async move {
            let app = Application::build(&settings).await?;
            println!(
                "wstg-ingest listening on http://{}:{}",
                settings.ingest.addr.ip(),
                app.port()
            );
            Ok(app)
        },
        // actix-web stops on SIGTERM and SIGINT by itself.
        |app, _shutdown| async move { Ok(app.run_until_stopped().await?) },
    )
}
