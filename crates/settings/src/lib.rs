//! Configuration and telemetry shared by the wstg-bridge services.

pub mod retention;
pub mod service;
pub mod settings;
pub mod telemetry;

pub use retention::RetentionSettings;
pub use settings::{Settings, SettingsError, ENV_VARS};
