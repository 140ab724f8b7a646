//! `/api/v2/product_types/` (ProductTypeViewSet; LIVE 07-08). Creating one fires
//! `product_type_added` (raw/0001).

use actix_web::web;

use super::records::{self, no_extra_validation, RecordKind};
use crate::db::{Db, Table};
use crate::filters::records::Filter;
use crate::model::product_type;
use crate::model::record::Record;
use crate::webhooks::{Event, Events};

static KIND: RecordKind = RecordKind {
    model: product_type::MODEL,
    unique_name: Some("product type"),
    table: Table::ProductType,
    fields: product_type::FIELDS,
    filters: &[
        ("id", Filter::NumberIn("id")),
        ("name", Filter::Exact("name")),
        ("critical_product", Filter::Bool("critical_product")),
        ("key_product", Filter::Bool("key_product")),
    ],
    defaults: product_type::defaults_map,
    rows: |db| &db.product_types,
    rows_mut: |db| &mut db.product_types,
    render: |r, _| product_type::to_json(r),
    render_created: |r, _| product_type::to_json(r),
    parent: None,
    validate_create: no_extra_validation,
    created_event,
    prefetch: true,
    order_by_name: true,
};

fn created_event(_: &Db, r: &Record, events: &Events<'_>) -> Option<Event> {
    Some(events.product_type_added(r.id, r.str("name").unwrap_or_default()))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    records::register(cfg, "product_types", &KIND);
}
