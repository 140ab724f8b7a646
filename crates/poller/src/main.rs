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
                "poller.ops_addr",
                "metrics.token",
            ],
        },
        |settings| async move {
            wstg_ops::install("wstg-poller");
            let poller = Poller::build(&settings).await?;
            let retention = poller.retention_job(&settings);
            let ops = wstg_ops::OpsServer::start(
                settings.poller.ops_addr,
                poller.ops_checks(),
                settings.metrics.token.clone(),
            )?;
            tracing::info!(ops = %ops.local_addr(), "ops endpoints (/healthz, /readyz, /metrics)");
            // The holder stays last, in parentheses (tests read it from there).
            println!(
                "wstg-poller started; ops http://{} ({})",
                ops.local_addr(),
                poller.holder()
            );
            Ok((poller, retention, ops))
        },
        |(poller, retention, ops), shutdown| async move {
            // The retention job runs beside the poll loop, under its own
            // lease, and stops with it.
            let retention = tokio::spawn(retention.run(shutdown.clone()));
            let result = poller.run(shutdown.clone()).await;
            shutdown.cancel();
            let _ = retention.await;
            ops.stop().await;
            result
        },
    )
}
