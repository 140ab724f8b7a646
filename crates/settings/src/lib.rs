//! Configuration and telemetry shared by the wstg-bridge services.

pub mod metrics;
pub mod service;
pub mod settings;
pub mod telemetry;

pub use metrics::MetricsSettings;
pub use settings::{Settings, SettingsError, ENV_VARS};
