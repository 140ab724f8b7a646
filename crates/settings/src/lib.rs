//! Configuration and telemetry shared by the wstg-bridge services.

pub mod alert;
pub mod service;
pub mod settings;
pub mod telemetry;

pub use alert::{AlertKind, AlertSettings, AlertThresholds};
pub use settings::{Settings, SettingsError, ENV_VARS};
