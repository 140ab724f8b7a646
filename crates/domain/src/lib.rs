//! The wstg-bridge domain: WSTG ids and catalogue, checklist statuses, the
//! lossless status mapping to DefectDojo, the event envelope and the sync
//! decision. No I/O lives here: every other crate is an adapter around it.

pub mod catalogue;
pub mod comment;
pub mod dojo_state;
pub mod event;
pub mod mapping;
pub mod notes;
pub mod project;
pub mod redact;
pub mod status;
pub mod sync;
pub mod text;
pub mod username;
pub mod wstg_id;

pub use catalogue::{Catalogue, CatalogueEntry, CatalogueVersion};
pub use comment::{CommentBody, CommentBodyError};
pub use dojo_state::{DojoFlags, DojoItem};
pub use event::{
    DojoObservation, Envelope, EnvelopeError, EventKind, TrackerChange, ENVELOPE_VERSION,
};
pub use notes::Notes;
pub use project::ProjectName;
pub use redact::redact_url;
pub use status::Status;
pub use sync::{interpret, plan, ConflictPolicy, ItemState, Plan, PlanInput, SideChange, Verdict};
pub use username::{Username, UsernameError};
pub use wstg_id::WstgId;
