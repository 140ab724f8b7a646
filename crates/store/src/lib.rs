//! wstg-store: what wstg-bridge remembers between events.
//!
//! - per item: both sides' states, the state they held at the last sync, and
//!   how the sync stands (`items`);
//! - per project: the DefectDojo hierarchy it writes into (`project_links`);
//! - the audit trail of every sync attempt (`audit_log`).
//!
//! One schema and one set of migrations serve SQLite (the embedded default,
//! one file shared by the processes of one host) and PostgreSQL (replicas
//! across hosts), through sqlx's `Any` driver. Portability shapes the SQL:
//! TEXT and BIGINT columns only, `$n` placeholders, UUID v7 text ids,
//! timestamps as unix milliseconds, and every write a single statement
//! (`INSERT … ON CONFLICT … DO UPDATE … WHERE …`, `RETURNING`), which is
//! atomic on both backends without explicit transactions.

mod audit;
mod audit_retention;
mod backup;
mod comments;
mod error;
mod evidence;
mod items;
mod methodology;
mod migrations;
mod project_name;
mod projects;
mod provenance;
mod registry;
mod rows;
mod schema;
mod sqlite;
mod states;
mod store;
mod summary;
mod target;
mod tokens;
mod view;
mod vulnerabilities;

pub use audit::AuditEntry;
pub use audit_retention::AUDIT_PRUNE_BATCH;
pub use comments::CommentRecord;
pub use error::StoreError;
pub use evidence::{EvidenceRecord, NewEvidence};
pub use items::{ItemRecord, Pulled, Pushed, TrackerRecord};
pub use migrations::MIGRATOR;
pub use project_name::{
    confusable_key, new_project_name, normalise_project_name, ProjectNameError,
};
pub use projects::ProjectLinks;
pub use provenance::{last_change, ChangeSource, LastChange};
pub use registry::{AddProjectError, MapProjectError, ProjectRecord};
pub use rows::to_store_precision;
pub use schema::{expected_version, SchemaMismatch, SchemaState};
pub use states::{Direction, SyncState, UnknownValue};
pub use store::{Migration, Store, StoreOptions};
pub use summary::{StatusSummary, UNKNOWN_KEY};
pub use target::Backend;
pub use tokens::{hash_token, Access, NewToken, StoredToken, TokenGrant, TokenRole};
pub use view::ItemView;
pub use vulnerabilities::{Inserted, VulnRecord, VulnSummary, VulnSynced};
