//! `[metrics]`: who may scrape `/metrics` (docs/security.md).

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetrics {
    pub token: String,
}

#[derive(Debug, Clone, Default)]
pub struct MetricsSettings {
    /// Bearer token for `/metrics` on every service. On the ingest an admin
    /// token works too; on a worker's or poller's ops address without it,
    /// `/metrics` is open on loopback and refused (403) elsewhere.
    pub token: Option<SecretString>,
}

impl MetricsSettings {
    pub(crate) fn parse(raw: RawMetrics) -> MetricsSettings {
        MetricsSettings {
            token: crate::settings::secret(raw.token),
        }
    }
}
