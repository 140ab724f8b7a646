//! wstg-worker: applies queued events to DefectDojo. Run as many replicas as
//! you like; each one is a consumer of the same group.

use std::process::ExitCode;

use wstg_startup::service::{self, Service};
use wstg_worker::Worker;

fn main() -> ExitCode {
    service::main(
        Service {
            name: "wstg-worker",
            version: env!("CARGO_PKG_VERSION"),
            about:
                "Applies the queued tracker events to DefectDojo (run as many replicas as you like)",
            keys: &[
                "dojo.url",
                "dojo.token",
                "worker.concurrency",
                "worker.item_write_interval_ms",
            ],
        },
        |settings| async move {
            let worker = Worker::build(&settings).await?;
            println!("wstg-worker started");
            Ok(worker)
        },
        |worker, shutdown| worker.run(shutdown),
    )
}
