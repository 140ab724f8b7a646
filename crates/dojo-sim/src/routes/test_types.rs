//! `/api/v2/test_types/` (TestTypesViewSet: `filterset_fields = ["name"]`, ordered by id, no
//! prefetch; LIVE 06, 14, 16). See `model::test_type` for the seeded ids.

use actix_web::web;

use super::records::{self, no_event, no_extra_validation, RecordKind};
use crate::db::Table;
use crate::filters::records::Filter;
use crate::model::test_type;

static KIND: RecordKind = RecordKind {
    model: test_type::MODEL,
    unique_name: Some("test type"),
    table: Table::TestType,
    fields: test_type::FIELDS,
    filters: &[("name", Filter::Exact("name"))],
    defaults: test_type::defaults_map,
    rows: |db| &db.test_types,
    rows_mut: |db| &mut db.test_types,
    render: |r, _| test_type::to_json(r),
    render_created: |r, _| test_type::to_json(r),
    parent: None,
    validate_create: no_extra_validation,
    created_event: no_event,
    prefetch: false,
    order_by_name: false,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    records::register(cfg, "test_types", &KIND);
}
