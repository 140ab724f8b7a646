//! The Django REST Framework behaviour DefectDojo inherits: field validation, error bodies,
//! query strings, pagination. Kept separate from the DefectDojo-specific rules.

pub mod body;
pub mod errors;
pub mod fields;
pub mod pagination;
pub mod pyrepr;
pub mod query;

pub use errors::{ApiError, ApiResult, ErrorItem, FieldErrors};
