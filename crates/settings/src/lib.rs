//! The typed configuration of wstg-bridge: the commented defaults
//! (config/default.toml, compiled in), the file named by `WSTG_CONFIG`, and
//! the environment, parsed into domain types. Unknown names are errors.
//! Start-up wiring (connections, telemetry) lives in `wstg-startup`.

pub mod alert;
mod error;
pub mod keys;
mod layers;
pub mod metrics;
mod poll_feed;
pub mod retention;
pub mod settings;
mod startup;

pub use alert::{AlertKind, AlertSettings, AlertThresholds};
pub use error::{SettingsError, Unknown};
pub use metrics::MetricsSettings;
pub use poll_feed::PollFeed;
pub use retention::RetentionSettings;
pub use settings::{LogFormat, LogSettings, Settings};
pub use startup::StartupSettings;
