//! Stopping on SIGTERM (orchestrators) and SIGINT (a terminal).

use tokio_util::sync::CancellationToken;

/// A token cancelled on SIGTERM or SIGINT (call inside a Tokio runtime).
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
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
        tracing::info!("shutting down");
        cancel.cancel();
    });
    token
}
