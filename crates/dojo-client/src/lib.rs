//! A typed client for the subset of DefectDojo's API v2 that wstg-bridge
//! uses, written against the behaviour of the real 3.2.0 server
//! (`docs/defectdojo.md`, the exchanges recorded in
//! `crates/dojo-sim/tests/fixtures/recorded/`, and DefectDojo's source).
//!
//! - Hierarchy bootstrap (`ensure_*`): list with the name filter, compare
//!   exactly here (several of DefectDojo's name filters are `icontains`), and
//!   only then create.
//! - Findings: create, find (by unique id, then by id tag, never by title),
//!   PATCH only what changed, list a test with paging, close, delete.
//! - Errors are classified as transient (retry) or permanent from the status
//!   and DefectDojo's error body ([`DojoError`]).
//!
//! The API token never appears in `Debug`, logs or errors.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod client;
mod config;
mod error;
mod feed;
mod files;
pub mod metrics;
mod model;
mod notes;
pub mod scrub;
mod vulnerabilities;
mod webhooks;

pub use client::{
    item_description, item_title, DojoClient, DojoEngagement, DojoProduct, TestCriteria,
    ATTRIBUTION_LINE,
};
pub use config::{DojoConfig, NotesField, NotesFieldError, Severity, UnknownSeverity};
pub use error::{
    classify, error_message, parse_retry_after, DojoError, RequestContext, Sent,
    GENERIC_500_MESSAGE,
};
pub use feed::status_changed_at;
pub use model::{looks_like_wstg_id, Finding, FindingPage};
pub use vulnerabilities::{status_tags_csv, VULN_POLL_TAG};
pub use webhooks::{
    Webhook, WebhookReport, WebhookSpec, API_NEEDS, SUBSCRIBED_EVENTS, WEBHOOK_NAME,
};
