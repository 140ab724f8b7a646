//! Query-string filters and ordering of the list endpoints (django-filter as DefectDojo
//! configures it).

pub mod common;
pub mod findings;
pub mod ordering;
pub mod records;
