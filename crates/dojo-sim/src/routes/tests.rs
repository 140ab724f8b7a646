//! `/api/v2/tests/` (TestsViewSet + ApiTestFilter; LIVE 13-15). The permission check needs
//! `engagement`. An API-created test fires no `test_added` (docs/defectdojo.md §5, trigger-A3).

use actix_web::web;

use super::records::{self, no_event, no_extra_validation, RecordKind};
use crate::db::Table;
use crate::drf::fields::Target;
use crate::filters::records::Filter;
use crate::model::test;

static KIND: RecordKind = RecordKind {
    model: test::MODEL,
    unique_name: None,
    table: Table::Test,
    fields: test::FIELDS,
    filters: &[
        ("id", Filter::Exact("id")),
        ("title", Filter::Exact("title")),
        (
            "test_type",
            Filter::ModelChoice("test_type", Target::TestType),
        ),
        (
            "engagement",
            Filter::ModelChoice("engagement", Target::Engagement),
        ),
        ("version", Filter::Exact("version")),
        ("branch_tag", Filter::Exact("branch_tag")),
        ("build_id", Filter::Exact("build_id")),
        ("commit_hash", Filter::Exact("commit_hash")),
        ("scan_type", Filter::Exact("scan_type")),
    ],
    defaults: test::defaults_map,
    rows: |db| &db.tests,
    rows_mut: |db| &mut db.tests,
    render: test::to_json,
    render_created: |r, _| test::to_create_json(r),
    parent: Some(("engagement", "Engagement", Target::Engagement)),
    validate_create: no_extra_validation,
    created_event: no_event,
    prefetch: true,
    order_by_name: false,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    records::register(cfg, "tests", &KIND);
}
