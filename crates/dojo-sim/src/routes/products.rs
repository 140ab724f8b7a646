//! `/api/v2/products/` (ProductViewSet; LIVE 09-10, 41). The permission check needs
//! `prod_type`; creating one fires `product_added` (raw/0002).

use actix_web::web;

use super::records::{self, no_extra_validation, RecordKind};
use crate::db::{Db, Table};
use crate::drf::fields::Target;
use crate::filters::records::Filter;
use crate::model::product;
use crate::model::record::Record;
use crate::webhooks::{Event, Events};

static KIND: RecordKind = RecordKind {
    model: product::MODEL,
    unique_name: Some("product"),
    table: Table::Product,
    fields: product::FIELDS,
    filters: &[
        ("id", Filter::NumberIn("id")),
        ("name", Filter::IContains("name")),
        ("name_exact", Filter::IExact("name")),
        ("description", Filter::IContains("description")),
        ("prod_type", Filter::NumberIn("prod_type")),
        ("external_audience", Filter::Bool("external_audience")),
        ("internet_accessible", Filter::Bool("internet_accessible")),
    ],
    defaults: product::defaults_map,
    rows: |db| &db.products,
    rows_mut: |db| &mut db.products,
    render: product::to_json,
    render_created: product::to_json,
    parent: Some(("prod_type", "Product_Type", Target::ProductType)),
    validate_create: no_extra_validation,
    created_event,
    prefetch: true,
    order_by_name: true,
};

fn created_event(db: &Db, r: &Record, events: &Events<'_>) -> Option<Event> {
    let pt = db.product_types.get(&r.u64("prod_type")?)?;
    Some(events.product_added(
        (pt.id, pt.str("name").unwrap_or_default()),
        (r.id, r.str("name").unwrap_or_default()),
    ))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    records::register(cfg, "products", &KIND);
}
