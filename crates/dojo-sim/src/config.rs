//! Start-up configuration of a simulator instance.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::latency::LatencyProfile;

/// How a simulator instance behaves. Build it with [`SimConfig::new`] and adjust the public
/// fields; everything but the token can also be changed at run time via `/__sim/`.
#[derive(Clone)]
pub struct SimConfig {
    /// The API key accepted in `Authorization: Token <token>`; also what
    /// `POST /api/v2/api-token-auth/` hands out.
    pub token: String,
    /// Delay added before every `/api/v2` request is handled.
    pub latency: Duration,
    /// Per-operation delays drawn from a measured profile, on top of `latency`
    /// (`--latency-profile`, docs/benchmarks.md "Latency profile").
    pub latency_profile: Option<Arc<LatencyProfile>>,
    /// Injected failures for `/api/v2` requests.
    pub faults: Faults,
    /// Where to POST DefectDojo notification webhooks (docs/defectdojo.md §6); `None` disables them.
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
            latency_profile: None,
            faults: Faults::default(),
            webhook: None,
            site_url: None,
        }
    }
}

/// Redacts the token (and the webhook header value, often a secret too).
impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("token", &"<redacted>")
            .field("latency", &self.latency)
            .field(
                "latency_profile",
                &self.latency_profile.as_ref().map(|p| &p.name),
            )
            .field("faults", &self.faults)
            .field("webhook", &self.webhook)
            .field("site_url", &self.site_url)
            .finish()
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
    /// Value of `Retry-After` on simulated 429s, in seconds (default 1).
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
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookTarget {
    pub url: String,
    pub header_name: String,
    pub header_value: String,
}

impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &self.url)
            .field("header_name", &self.header_name)
            .field("header_value", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_secrets() {
        let mut config = SimConfig::new("s3cr3t-token");
        config.webhook = Some(WebhookTarget {
            url: "http://hook".into(),
            header_name: "Authorization".into(),
            header_value: "Bearer s3cr3t-header".into(),
        });
        let text = format!("{config:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
    }

    #[test]
    fn fault_defaults_and_validation() {
        let faults = Faults::default();
        assert_eq!(faults.error_status, 500);
        assert!(faults.validate().is_ok());
        let partial: Faults = serde_json::from_str(r#"{"error_rate": 1.0}"#).unwrap_or_default();
        assert_eq!((partial.error_rate, partial.error_status), (1.0, 500));
        assert!(Faults {
            rate_429: 1.5,
            ..Faults::default()
        }
        .validate()
        .is_err());
        assert!(Faults {
            error_status: 200,
            ..Faults::default()
        }
        .validate()
        .is_err());
    }
}
