//! The poller's change feed: one list for many projects
//! (docs/defectdojo.md §14). DefectDojo 3.2.0 applies comma lists of product
//! type ids (`test__engagement__product__prod_type=1,2`) and of test type ids
//! (`test__test_type=…`) but ignores `test__in`, and nothing filters by "changed
//! since"; so the feed is every finding under the product types, in tests of
//! the test types, newest status change first, paged down to a watermark.

use chrono::{DateTime, Utc};

use crate::client::DojoClient;
use crate::error::DojoError;
use crate::model::{Finding, FindingPage, ProductRec};

/// The newest status change of a finding, when DefectDojo gave a readable one.
pub fn status_changed_at(f: &Finding) -> Option<DateTime<Utc>> {
    f.last_status_update
        .as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl DojoClient {
    /// The product type `product` is under now (`GET /products/{id}/`).
    /// The bridge links an existing product by name whatever its product
    /// type, and a product can be moved, so the feed asks rather than trust
    /// the configured one.
    pub async fn product_type_of(&self, product: i64) -> Result<Option<i64>, DojoError> {
        let url = self.url(&format!("products/{product}/"), &[])?;
        let rec: ProductRec = self
            .send_json(reqwest::Method::GET, url, None, Default::default())
            .await?;
        Ok(rec.prod_type)
    }

    /// Findings under `product_types`, in tests of `test_types`, whose status
    /// changed at or after `since`, newest first: pages are read until one
    /// holds an older finding. `since` unset: the first page only (it sets a
    /// watermark). `count` is DefectDojo's count of the whole feed. Pages
    /// hold `limit` findings: small, because an idle feed still reads one
    /// whole page of old findings, and DefectDojo's time grows with every
    /// finding it serialises (docs/defectdojo.md §8).
    pub async fn list_feed(
        &self,
        product_types: &[i64],
        test_types: &[i64],
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<FindingPage, DojoError> {
        let csv = |ids: &[i64]| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let (pts, tts) = (csv(product_types), csv(test_types));
        let limit = limit.max(1).to_string();
        let url = self.url(
            "findings/",
            &[
                ("test__engagement__product__prod_type", &pts),
                ("test__test_type", &tts),
                ("o", "-last_status_update"),
                ("limit", &limit),
            ],
        )?;
        // Missing or unreadable timestamps are kept: the caller compares.
        let is_new = |f: &Finding| match (since, status_changed_at(f)) {
            (Some(since), Some(t)) => t >= since,
            _ => true,
        };
        let (findings, requests, count) = self
            .list_all::<Finding>(url, |page: &[Finding]| {
                since.is_some() && page.iter().all(is_new)
            })
            .await?;
        Ok(FindingPage {
            findings: findings.into_iter().filter(is_new).collect(),
            requests,
            count,
        })
    }
}
