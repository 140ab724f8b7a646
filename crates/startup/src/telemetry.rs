//! Logging set-up: human-readable or JSON lines, filtered by `[log] level`
//! (validated by the settings, so a bad filter never reaches here).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use wstg_settings::{LogFormat, LogSettings};

/// Installs the global subscriber. Safe to call once per process; a second
/// call is ignored (tests start several services in one process).
pub fn init(log: &LogSettings) {
    let filter = EnvFilter::try_new(&log.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let result = match log.format {
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init(),
        // Colour codes only on a terminal: in a log file they are noise.
        LogFormat::Human => tracing_subscriber::fmt()
            .with_ansi(std::io::stderr().is_terminal())
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init(),
    };
    let _ = result;
}
