//! Delivery to the incoming webhook.
//!
//! - Bounded: each attempt has `alert.timeout_secs` for connect, send and
//!   answer; at most `alert.retries` further attempts, with exponential
//!   backoff and jitter (backon), and only after a 5xx, a 429, a timeout or
//!   a refused connection (a 4xx will not get better); at most 2 KiB of the
//!   receiver's answer is read, for the error message.
//! - No redirects: a 3xx is reported, never followed (a webhook URL that
//!   redirects could hand our POST to another host).
//! - The URL is a credential: it is in no log line and no error (reqwest's
//!   errors are stripped of it).

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use wstg_settings::{AlertKind, AlertSettings};

use crate::notice::Notice;

/// The most of a receiver's answer read (for the error message).
const ANSWER_MAX: usize = 2048;

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A delivery the receiver accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub status: u16,
    pub attempts: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The receiver answered with a status that retrying will not change
    /// (4xx other than 429, or a redirect).
    #[error("the webhook answered HTTP {status}: {answer}")]
    Refused { status: u16, answer: String },
    /// Every attempt failed for a reason that might have passed.
    #[error("the webhook did not accept the alert after {attempts} attempt(s): {reason}")]
    Unavailable {
        attempts: u32,
        status: Option<u16>,
        reason: String,
    },
    #[error("the alert webhook client could not be built: {0}")]
    Client(String),
}

impl DeliveryError {
    /// The receiver's HTTP status, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            DeliveryError::Refused { status, .. } => Some(*status),
            DeliveryError::Unavailable { status, .. } => *status,
            DeliveryError::Client(_) => None,
        }
    }
}

/// One attempt's failure: retried or not.
#[derive(Debug)]
enum AttemptError {
    Transient { status: Option<u16>, reason: String },
    Permanent { status: u16, answer: String },
}

pub struct Webhook {
    client: reqwest::Client,
    url: SecretString,
    kind: AlertKind,
    retries: u32,
    min_backoff: Duration,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &"[secret]")
            .field("kind", &self.kind)
            .field("retries", &self.retries)
            .finish()
    }
}

impl Webhook {
    /// The configured webhook; `None` when no URL is set (alerts are off).
    pub fn from_settings(alert: &AlertSettings) -> Option<Result<Webhook, DeliveryError>> {
        let url = alert.webhook_url.clone()?;
        Some(Webhook::new(url, alert.kind, alert.timeout, alert.retries))
    }

    pub fn new(
        url: SecretString,
        kind: AlertKind,
        timeout: Duration,
        retries: u32,
    ) -> Result<Webhook, DeliveryError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("wstg-bridge-alerts/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DeliveryError::Client(e.without_url().to_string()))?;
        Ok(Webhook {
            client,
            url,
            kind,
            retries,
            min_backoff: Duration::from_millis(500),
        })
    }

    /// Shorter waits between attempts (tests).
    pub fn with_min_backoff(mut self, d: Duration) -> Webhook {
        self.min_backoff = d;
        self
    }

    pub fn kind(&self) -> AlertKind {
        self.kind
    }

    /// Posts `notice`, retrying what may pass.
    pub async fn send(&self, notice: &Notice) -> Result<Delivered, DeliveryError> {
        let body = notice.body(self.kind);
        let mut attempts = 0u32;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.min_backoff)
            .with_max_delay(MAX_BACKOFF)
            .with_max_times(self.retries as usize)
            .with_jitter();
        let result = (|| {
            attempts += 1;
            self.attempt(&body)
        })
        .retry(backoff)
        .when(|e| matches!(e, AttemptError::Transient { .. }))
        .notify(|e, wait| {
            tracing::warn!(error = ?e, retry_in = ?wait, rule = %notice.rule, "alert webhook delivery failed; retrying");
        })
        .await;
        match result {
            Ok(status) => Ok(Delivered { status, attempts }),
            Err(AttemptError::Permanent { status, answer }) => {
                Err(DeliveryError::Refused { status, answer })
            }
            Err(AttemptError::Transient { status, reason }) => Err(DeliveryError::Unavailable {
                attempts,
                status,
                reason,
            }),
        }
    }

    async fn attempt(&self, body: &Value) -> Result<u16, AttemptError> {
        let resp = self
            .client
            .post(self.url.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(|e| AttemptError::Transient {
                status: None,
                reason: e.without_url().to_string(),
            })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let answer = if status.is_redirection() {
            "a redirect, not followed: set the webhook URL to its final address".to_owned()
        } else {
            bounded_answer(resp).await
        };
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            Err(AttemptError::Transient {
                status: Some(status.as_u16()),
                reason: format!("HTTP {}: {answer}", status.as_u16()),
            })
        } else {
            Err(AttemptError::Permanent {
                status: status.as_u16(),
                answer,
            })
        }
    }
}

/// The start of the receiver's answer, for the error message: at most
/// [`ANSWER_MAX`] bytes are read, and 200 characters kept.
async fn bounded_answer(mut resp: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < ANSWER_MAX {
        match resp.chunk().await {
            Ok(Some(c)) => bytes.extend_from_slice(&c[..c.len().min(ANSWER_MAX - bytes.len())]),
            _ => break,
        }
    }
    let text: String = String::from_utf8_lossy(&bytes)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if text.trim().is_empty() {
        "(no answer body)".to_owned()
    } else {
        text
    }
}
