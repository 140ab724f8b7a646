//! Alerts to people (issue 10, scope 2): rules over the queue (Redis) and the
//! store, evaluated every `alert.interval_secs` by the one poller replica
//! that holds the alert lease, and delivered once per incident to an
//! incoming webhook, Slack-compatible or generic JSON, with a "resolved"
//! message when the condition clears.
//!
//! A crate of its own rather than a poller module because `wstgctl alert
//! test` sends through the same webhook code, and wstgctl must not link the
//! poller to do it.
//!
//! - [`rule`]: the rules and their names.
//! - [`readings`]: what is measured, from the queue and the store.
//! - [`check`]: each rule against its threshold (pure).
//! - [`incident`]: one incident's life: pending, firing, resolved, cooldown (pure).
//! - [`notice`]: the message and its Slack or JSON body.
//! - [`webhook`]: delivery with bounded time, retries and no redirects.
//! - [`alerter`]: the periodic job that ties them together.

pub mod alerter;
pub mod check;
pub mod incident;
pub mod notice;
pub mod readings;
pub mod rule;
pub mod webhook;

pub use alerter::{Alerter, Evaluation};
pub use check::{evaluate, Check};
pub use incident::{Incident, Transition};
pub use notice::{Notice, NoticeState};
pub use readings::{ProjectCounts, Readings};
pub use rule::Rule;
pub use webhook::{Delivered, DeliveryError, Webhook};
