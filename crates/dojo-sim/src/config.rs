//! Start-up configuration of a simulator instance.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a simulator instance behaves. Build it with [`SimConfig::new`] and adjust the public
/// fields; everything but the token can also be changed at run time via `/__sim/`.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The API key accepted in `Authorization: Token <token>`; also what
    /// `POST /api/v2/api-token-auth/` hands out.
    pub token: String,
    /// Delay added before every `/api/v2` request is handled.
    pub latency: Duration,
    /// Injected failures for `/api/v2` requests.
    pub faults: Faults,
    /// Where to POST DefectDojo notification webhooks (FACTS §6); `None` disables them.
    pub webhook: Option<WebhookTarget>,
    /// `DD_SITE_URL` of the emulated instance: sent as `X-DefectDojo-Instance` and used in the
    /// `url_ui`/`url_api` links of webhook bodies. `None` means the simulator's own base URL.
    pub site_url: Option<String>,
}

impl SimConfig {
    /// A configuration with no latency, no faults and no webhook.
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            latency: Duration::ZERO,
            faults: Faults::default(),
            webhook: None,
            site_url: None,
        }
    }
}

/// Probabilistic failures injected in front of `/api/v2` (never `/__sim/`). Each request draws
/// independently, in this order: timeout, 429, error. A faulted request is answered before the
/// handler runs, so it never changes state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Probability (0..=1) of answering `error_status` with `{"message":"simulated failure"}`.
    pub error_rate: f64,
    /// Status used for `error_rate` failures (default 500).
    pub error_status: u16,
    /// Probability (0..=1) of answering 429 with a `Retry-After` header.
    pub rate_429: f64,
    /// Value of `Retry-After` on simulated 429s, in seconds.
    pub retry_after_secs: u64,
    /// Probability (0..=1) of hanging 120 s and then answering 504 without doing anything,
    /// so that the client times out first.
    pub timeout_rate: f64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            error_rate: 0.0,
            error_status: 500,
            rate_429: 0.0,
            retry_after_secs: 1,
            timeout_rate: 0.0,
        }
    }
}

impl Faults {
    /// Checks that the rates are probabilities and the status is an HTTP error status.
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("error_rate", self.error_rate),
            ("rate_429", self.rate_429),
            ("timeout_rate", self.timeout_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1, got {rate}"));
            }
        }
        if !(400..=599).contains(&self.error_status) {
            return Err(format!(
                "error_status must be a 4xx or 5xx status, got {}",
                self.error_status
            ));
        }
        Ok(())
    }
}

/// A DefectDojo `Notification_Webhooks` row: URL plus the one static header DefectDojo sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookTarget {
    pub url: String,
    pub header_name: String,
    pub header_value: String,
}
