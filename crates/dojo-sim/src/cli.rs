//! The `dojo-sim` binary: flags (each also readable from a `DOJO_SIM_*` variable), logging,
//! and a run loop that exits cleanly on SIGTERM/SIGINT.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};

use crate::config::{Faults, SimConfig, WebhookTarget};
use crate::latency::ProfileChoice;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

fn rate(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not between 0 and 1"))
    }
}

/// DefectDojo API v2 emulator for tests.
#[derive(Debug, Parser)]
#[command(name = "dojo-sim", version, about)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "DOJO_SIM_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// API token accepted as `Authorization: Token <TOKEN>`.
    #[arg(long, env = "DOJO_SIM_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Delay added to every /api/v2 request, in milliseconds.
    #[arg(long, env = "DOJO_SIM_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Per-operation delays with jitter: `real` (measured on DefectDojo 3.2.0, built in),
    /// `zero`, or a profile JSON file (docs/benchmarks.md "Latency profile"). Adds to --latency-ms.
    #[arg(long, env = "DOJO_SIM_LATENCY_PROFILE", default_value = "zero")]
    pub latency_profile: ProfileChoice,
    /// Probability (0..=1) of answering --error-status.
    #[arg(long, env = "DOJO_SIM_ERROR_RATE", default_value_t = 0.0, value_parser = rate)]
    pub error_rate: f64,
    /// Status of injected errors.
    #[arg(long, env = "DOJO_SIM_ERROR_STATUS", default_value_t = 500,
          value_parser = clap::value_parser!(u16).range(400..=599))]
    pub error_status: u16,
    /// Probability (0..=1) of answering 429.
    #[arg(long = "rate-429", env = "DOJO_SIM_RATE_429", default_value_t = 0.0, value_parser = rate)]
    pub rate_429: f64,
    /// Retry-After seconds on injected 429s.
    #[arg(long, env = "DOJO_SIM_RETRY_AFTER", default_value_t = 1)]
    pub retry_after: u64,
    /// Probability (0..=1) of hanging 120 s before answering 504.
    #[arg(long, env = "DOJO_SIM_TIMEOUT_RATE", default_value_t = 0.0, value_parser = rate)]
    pub timeout_rate: f64,
    /// URL that receives DefectDojo notification webhooks.
    #[arg(long, env = "DOJO_SIM_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// Name of the static header sent with every webhook.
    #[arg(
        long,
        env = "DOJO_SIM_WEBHOOK_HEADER_NAME",
        requires = "webhook_url",
        default_value = "Authorization"
    )]
    pub webhook_header_name: String,
    /// Value of the static webhook header.
    #[arg(
        long,
        env = "DOJO_SIM_WEBHOOK_HEADER_VALUE",
        hide_env_values = true,
        default_value = ""
    )]
    pub webhook_header_value: String,
    /// DD_SITE_URL used in webhook links and X-DefectDojo-Instance (default: own base URL).
    #[arg(long, env = "DOJO_SIM_SITE_URL")]
    pub site_url: Option<String>,
    /// Log line format (logs go to stderr).
    #[arg(long, env = "DOJO_SIM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

impl Args {
    pub fn sim_config(&self) -> SimConfig {
        let mut config = SimConfig::new(self.token.clone());
        config.latency = Duration::from_millis(self.latency_ms);
        config.latency_profile = self.latency_profile.0.clone();
        config.faults = Faults {
            error_rate: self.error_rate,
            error_status: self.error_status,
            rate_429: self.rate_429,
            retry_after_secs: self.retry_after,
            timeout_rate: self.timeout_rate,
        };
        config.webhook = self.webhook_url.as_ref().map(|url| WebhookTarget {
            url: url.clone(),
            header_name: self.webhook_header_name.clone(),
            header_value: self.webhook_header_value.clone(),
        });
        config.site_url = self.site_url.clone();
        config
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // colour codes only on a terminal, never in a log file
    let builder = tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // a second initialisation (tests) is harmless
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs the binary: binds, prints `dojo-sim listening on http://ADDR` once ready, serves until
/// SIGTERM/SIGINT, then stops gracefully.
pub async fn run(args: Args) -> anyhow::Result<()> {
    init_logging(args.log_format);
    let listener =
        TcpListener::bind(args.addr).with_context(|| format!("binding {}", args.addr))?;
    let sim = crate::spawn_on(args.sim_config(), listener).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "dojo-sim listening on http://{}", sim.addr)?;
        out.flush()?;
    }
    tracing::info!(addr = %sim.addr, "dojo-sim ready");
    shutdown_signal().await;
    tracing::info!("shutting down");
    sim.stop().await;
    Ok(())
}
