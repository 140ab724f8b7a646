//! The wstg-bridge domain: WSTG ids and catalogue, checklist statuses, the
//! lossless status mapping to DefectDojo, the event envelope and the sync
//! decision. No I/O lives here: every other crate is an adapter around it.

pub mod catalogue;
pub mod comment;
pub mod dojo_state;
pub mod dojo_target;
pub mod event;
pub mod evidence;
pub mod mapping;
pub mod methodology;
pub mod notes;
pub mod project;
pub mod redact;
pub mod status;
pub mod sync;
pub mod text;
pub mod username;
pub mod vulnerability;
pub mod wstg_id;

pub use catalogue::{Catalogue, CatalogueEntry, CatalogueVersion};
pub use comment::{CommentBody, CommentBodyError};
pub use dojo_state::{DojoFlags, DojoItem};
pub use dojo_target::{
    DojoRef, DojoTarget, NameTemplate, ResolvedTarget, TargetFields, TargetTemplates,
};
pub use event::{
    DojoObservation, Envelope, EnvelopeError, EventKind, TrackerChange, VulnObservation,
    ENVELOPE_VERSION,
};
pub use methodology::{choose_catalogue, CatalogueChoiceError, Methodology};
pub use notes::Notes;
pub use project::ProjectName;
pub use redact::redact_url;
pub use status::Status;
pub use sync::{interpret, plan, ConflictPolicy, ItemState, Plan, PlanInput, SideChange, Verdict};
pub use username::{Username, UsernameError};
pub use wstg_id::WstgId;
