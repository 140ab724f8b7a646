//! The DefectDojo models the simulator stores.

pub mod engagement;
pub mod finding;
pub mod note;
pub mod notifications;
pub mod product;
pub mod product_type;
pub mod record;
pub mod system_settings;
pub mod test;
pub mod test_type;
pub mod user;
