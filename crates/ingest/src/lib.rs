//! wstg-ingest: the HTTP edge of wstg-bridge. It validates what the tracker
//! and DefectDojo send, appends it to the Redis stream, and answers only once
//! the append succeeded. It never calls DefectDojo itself: the workers do.

pub mod api_schemas;
pub mod auth;
pub mod auth_failure;
pub mod backlog;
pub mod body;
pub mod errors;
pub mod guard;
pub mod live;
pub mod openapi;
pub mod project_access;
pub mod project_catalogue;
pub mod rate_limit;
pub mod request_id;
pub mod routes;
pub mod startup;
pub mod state;
pub mod unmatched;

pub use startup::Application;
