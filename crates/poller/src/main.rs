//! wstg-poller: polls DefectDojo and queues a reconciliation event for each
//! item that changed there. Run one or more replicas: each project is polled
//! by one at a time (a lease in Redis); the others stand by.

use std::process::ExitCode;

use wstg_poller::Poller;
use wstg_startup::service::{self, Service};

fn main() -> ExitCode {
    service::main(
        Service {
            name: "wstg-poller",
            version: env!("CARGO_PKG_VERSION"),
            about:
                "Polls DefectDojo and queues what changed there for the tracker (replicas stand by)",
            keys: &[
                "dojo.url",
                "dojo.token",
                "poller.interval_secs",
                "poller.conflict_policy",
            ],
        },
        |settings| async move {
            let poller = Poller::build(&settings).await?;
            let retention = poller.retention_job(&settings);
            println!("wstg-poller started ({})", poller.holder());
            Ok((poller, retention))
        },
        |(poller, retention), shutdown| async move {
            // The retention job runs beside the poll loop, under its own
            // lease, and stops with it.
            let retention = tokio::spawn(retention.run(shutdown.clone()));
            let result = poller.run(shutdown.clone()).await;
            shutdown.cancel();
            let _ = retention.await;
            result
        },
    )
}
