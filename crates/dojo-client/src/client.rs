//! The HTTP client proper.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, RETRY_AFTER};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use tracing::{debug, field, Instrument};
use url::Url;
use wstg_domain::mapping::FindingPatch;
use wstg_domain::{CatalogueEntry, DojoFlags, Notes, WstgId};

use crate::config::{DojoConfig, NotesField, Severity};
use crate::error::{classify, DojoError, RequestContext};
use crate::model::{EngagementRec, Finding, FindingPage, IdOnly, Named, Page, ProductRec, TestRec};
use crate::scrub;

/// The attribution line every finding description made from the catalogue carries.
pub const ATTRIBUTION_LINE: &str = "OWASP WSTG, CC BY-SA 4.0";

/// What makes a test the WSTG test (docs/sync-rules.md, linking).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCriteria {
    /// Ids of the test types a WSTG test may have.
    pub test_types: Vec<i64>,
    /// Its title; untitled tests of those types match too.
    pub title: String,
}

/// A page loop that has not ended after this many requests is a server bug.
const MAX_PAGES: u32 = 10_000;

/// A typed client for the part of DefectDojo's API v2 wstg-bridge uses.
///
/// Cheap to clone: clones share one connection pool. `Debug` never shows the
/// token; the token is only ever in the (sensitive-marked) `Authorization`
/// header and is sent to the configured origin only (pagination links are
/// re-anchored to it).
#[derive(Clone)]
pub struct DojoClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// `<base_url>/api/v2/`.
    api: Url,
    notes_field: NotesField,
    severity: Severity,
    page_size: u32,
    timeout: Duration,
    /// Kept to scrub it from whatever DefectDojo sends back (scrub.rs).
    token: secrecy::SecretString,
}

impl fmt::Debug for DojoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DojoClient")
            .field("api", &wstg_domain::redact_url(self.inner.api.as_str()))
            .field("token", &"[REDACTED]")
            .field("notes_field", &self.inner.notes_field)
            .field("severity", &self.inner.severity)
            .field("page_size", &self.inner.page_size)
            .finish()
    }
}

impl DojoClient {
    /// Builds the client (no request is made).
    pub fn new(cfg: DojoConfig) -> Result<DojoClient, DojoError> {
        if !matches!(cfg.base_url.scheme(), "http" | "https") {
            return Err(DojoError::Config(format!(
                "base_url must be http or https, not '{}'",
                cfg.base_url.scheme()
            )));
        }
        if cfg.base_url.cannot_be_a_base() || cfg.base_url.host().is_none() {
            return Err(DojoError::Config("base_url has no host".into()));
        }
        if cfg.page_size == 0 {
            return Err(DojoError::Config("page_size must be at least 1".into()));
        }
        let mut base = cfg.base_url.clone();
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let api = base
            .join("api/v2/")
            .map_err(|e| DojoError::Config(format!("base_url: {e}")))?;

        let key = cfg.token.expose_secret().trim();
        if key.is_empty() {
            return Err(DojoError::Config("the API token is empty".into()));
        }
        let mut auth = HeaderValue::from_str(&format!("Token {key}")).map_err(|_| {
            DojoError::Config("the API token has characters not allowed in an HTTP header".into())
        })?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));

        let http = reqwest::Client::builder()
            .user_agent(concat!("wstg-bridge/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            // A redirected POST turns into a GET; a redirect also means a
            // wrong base URL. Neither should be followed silently.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| DojoError::Config(format!("HTTP client: {e}")))?;
        Ok(DojoClient {
            inner: Arc::new(Inner {
                http,
                api,
                notes_field: cfg.notes_field,
                severity: cfg.severity,
                page_size: cfg.page_size,
                timeout: cfg.timeout,
                token: cfg.token.clone(),
            }),
        })
    }

    /// `<base_url>/api/v2/`.
    pub fn api_url(&self) -> &Url {
        &self.inner.api
    }

    pub fn notes_field(&self) -> NotesField {
        self.inner.notes_field
    }

    pub fn page_size(&self) -> u32 {
        self.inner.page_size
    }

    // ------------------------------------------------------------------
    // Hierarchy bootstrap: find by exact name before creating.
    // ------------------------------------------------------------------

    /// The id of the product type called exactly `name`, created if missing.
    pub async fn ensure_product_type(&self, name: &str) -> Result<i64, DojoError> {
        if let Some(id) = self.find_product_type(name).await? {
            return Ok(id);
        }
        let url = self.url("product_types/", &[])?;
        self.create_or_refind(url, json!({ "name": name }), || {
            self.find_product_type(name)
        })
        .await
    }

    /// One cheap authenticated read (a page of one test type): whether
    /// DefectDojo answers with this token, before any project exists.
    pub async fn ping(&self) -> Result<(), DojoError> {
        let url = self.url("test_types/", &[("limit", "1")])?;
        self.send(Method::GET, url, None, RequestContext::default())
            .await
            .map(|_| ())
    }

    async fn find_product_type(&self, name: &str) -> Result<Option<i64>, DojoError> {
        let url = self.list_url("product_types/", &[("name", name)])?;
        let (items, ..) = self.list_all::<Named>(url, |_| true).await?;
        Ok(items.iter().filter(|p| p.name == name).map(|p| p.id).min())
    }

    /// The id of the product called exactly `name`, created in `prod_type`
    /// with `description` if missing. Product names are unique in
    /// DefectDojo, so an existing product is returned whatever its type.
    pub async fn ensure_product(
        &self,
        name: &str,
        prod_type: i64,
        description: &str,
    ) -> Result<i64, DojoError> {
        if let Some(id) = self.find_product(name, prod_type).await? {
            return Ok(id);
        }
        let url = self.url("products/", &[])?;
        let body = json!({ "name": name, "description": description, "prod_type": prod_type });
        self.create_or_refind(url, body, || self.find_product(name, prod_type))
            .await
    }

    async fn find_product(&self, name: &str, prod_type: i64) -> Result<Option<i64>, DojoError> {
        // `name` is icontains on products (dojo/product/api/filters.py).
        let url = self.list_url("products/", &[("name", name)])?;
        let (items, ..) = self.list_all::<ProductRec>(url, |_| true).await?;
        let found = items.iter().filter(|p| p.name == name).min_by_key(|p| p.id);
        if let Some(p) = found {
            if p.prod_type != Some(prod_type) {
                debug!(
                    product = p.id,
                    wanted_prod_type = prod_type,
                    actual_prod_type = ?p.prod_type,
                    "product exists under another product type; using it"
                );
            }
        }
        Ok(found.map(|p| p.id))
    }

    /// The id of the engagement called exactly `name` in `product`, created
    /// if missing (Interactive, In Progress, target dates today).
    pub async fn ensure_engagement(&self, product: i64, name: &str) -> Result<i64, DojoError> {
        if let Some(id) = self.find_engagement(product, name).await? {
            return Ok(id);
        }
        let today = Utc::now().date_naive().format("%Y-%m-%d").to_string();
        let url = self.url("engagements/", &[])?;
        let body = json!({
            "name": name,
            "product": product,
            "target_start": today,
            "target_end": today,
            "engagement_type": "Interactive",
            "status": "In Progress",
        });
        self.create_or_refind(url, body, || self.find_engagement(product, name))
            .await
    }

    /// The product with id `id`, `None` when DefectDojo answers 404 ("No
    /// Product matches the given query.", also for a product the token may
    /// not see; docs/defectdojo.md §12).
    pub async fn get_product(&self, id: i64) -> Result<Option<DojoProduct>, DojoError> {
        let url = self.url(&format!("products/{id}/"), &[])?;
        match self
            .send_json::<ProductRec>(Method::GET, url, None, RequestContext::default())
            .await
        {
            Ok(p) => Ok(Some(DojoProduct {
                id: p.id,
                name: p.name,
                prod_type: p.prod_type,
            })),
            Err(DojoError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The engagement with id `id`, `None` on 404 (as [`Self::get_product`]).
    pub async fn get_engagement(&self, id: i64) -> Result<Option<DojoEngagement>, DojoError> {
        let url = self.url(&format!("engagements/{id}/"), &[])?;
        match self
            .send_json::<EngagementRec>(Method::GET, url, None, RequestContext::default())
            .await
        {
            Ok(e) => Ok(Some(DojoEngagement {
                id: e.id,
                name: e.name,
                product: e.product,
            })),
            Err(DojoError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The id of the product called exactly `name`, if it exists.
    pub async fn product_id(&self, name: &str) -> Result<Option<i64>, DojoError> {
        let url = self.list_url("products/", &[("name", name)])?;
        let (items, ..) = self.list_all::<ProductRec>(url, |_| true).await?;
        Ok(items.iter().filter(|p| p.name == name).map(|p| p.id).min())
    }

    /// The id of the engagement called exactly `name` in `product`, if it exists.
    pub async fn engagement_id(&self, product: i64, name: &str) -> Result<Option<i64>, DojoError> {
        self.find_engagement(product, name).await
    }

    async fn find_engagement(&self, product: i64, name: &str) -> Result<Option<i64>, DojoError> {
        let product_s = product.to_string();
        let url = self.list_url("engagements/", &[("product", &product_s), ("name", name)])?;
        let (items, ..) = self.list_all::<EngagementRec>(url, |_| true).await?;
        Ok(items
            .iter()
            .filter(|e| e.name.as_deref() == Some(name) && e.product == Some(product))
            .map(|e| e.id)
            .min())
    }

    /// The id of the test type called exactly `name`, created if missing.
    pub async fn ensure_test_type(&self, name: &str) -> Result<i64, DojoError> {
        if let Some(id) = self.find_test_type(name).await? {
            return Ok(id);
        }
        let url = self.url("test_types/", &[])?;
        let body =
            json!({ "name": name, "static_tool": false, "dynamic_tool": false, "active": true });
        self.create_or_refind(url, body, || self.find_test_type(name))
            .await
    }

    async fn find_test_type(&self, name: &str) -> Result<Option<i64>, DojoError> {
        let url = self.list_url("test_types/", &[("name", name)])?;
        let (items, ..) = self.list_all::<Named>(url, |_| true).await?;
        Ok(items.iter().filter(|t| t.name == name).map(|t| t.id).min())
    }

    /// The id of the test titled exactly `title` of `test_type` in
    /// `engagement`, created if missing (target window starting now).
    pub async fn ensure_test(
        &self,
        engagement: i64,
        test_type: i64,
        title: &str,
    ) -> Result<i64, DojoError> {
        if let Some(id) = self.find_test(engagement, test_type, title).await? {
            return Ok(id);
        }
        let now = Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let url = self.url("tests/", &[])?;
        let body = json!({
            "engagement": engagement,
            "test_type": test_type,
            "title": title,
            "target_start": now,
            "target_end": now,
        });
        self.create_or_refind(url, body, || self.find_test(engagement, test_type, title))
            .await
    }

    async fn find_test(
        &self,
        engagement: i64,
        test_type: i64,
        title: &str,
    ) -> Result<Option<i64>, DojoError> {
        let (e, t) = (engagement.to_string(), test_type.to_string());
        let url = self.list_url(
            "tests/",
            &[("engagement", &e), ("test_type", &t), ("title", title)],
        )?;
        let (items, ..) = self.list_all::<TestRec>(url, |_| true).await?;
        Ok(items
            .iter()
            .filter(|r| {
                r.title.as_deref() == Some(title)
                    && r.engagement == Some(engagement)
                    && r.test_type == Some(test_type)
            })
            .map(|r| r.id)
            .min())
    }

    /// The id of the test type called exactly `name`, if it exists (never
    /// created: for names an existing WSTG test may have).
    pub async fn test_type_id(&self, name: &str) -> Result<Option<i64>, DojoError> {
        self.find_test_type(name).await
    }

    /// The WSTG test of `engagement`: a test whose type is one of
    /// `criteria.test_types` and whose title is `criteria.title` or empty
    /// (the original design made untitled tests, docs/defectdojo.md §7).
    /// A titled match wins over an untitled one; of equals, the oldest.
    pub async fn find_wstg_test(
        &self,
        engagement: i64,
        criteria: &TestCriteria,
    ) -> Result<Option<(i64, i64)>, DojoError> {
        let e = engagement.to_string();
        let url = self.list_url("tests/", &[("engagement", &e)])?;
        let (items, ..) = self.list_all::<TestRec>(url, |_| true).await?;
        Ok(items
            .iter()
            .filter(|r| r.engagement == Some(engagement))
            .filter_map(|r| {
                let of_type = r
                    .test_type
                    .is_some_and(|t| criteria.test_types.contains(&t));
                let rank = match r.title.as_deref().map(str::trim) {
                    Some(t) if t == criteria.title.trim() => 0,
                    None | Some("") => 1,
                    Some(_) => return None,
                };
                of_type.then_some((rank, r.id, r.test_type.unwrap_or_default()))
            })
            .min()
            .map(|(_, id, test_type)| (id, test_type)))
    }

    /// [`DojoClient::find_wstg_test`], else a new test of `create_type`
    /// titled `criteria.title`. Returns the test's id and test type.
    pub async fn ensure_wstg_test(
        &self,
        engagement: i64,
        create_type: i64,
        criteria: &TestCriteria,
    ) -> Result<(i64, i64), DojoError> {
        if let Some(found) = self.find_wstg_test(engagement, criteria).await? {
            return Ok(found);
        }
        let now = Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let url = self.url("tests/", &[])?;
        let body = json!({
            "engagement": engagement,
            "test_type": create_type,
            "title": criteria.title,
            "target_start": now,
            "target_end": now,
        });
        let refind = || async {
            Ok(self
                .find_wstg_test(engagement, criteria)
                .await?
                .map(|(id, _)| id))
        };
        let id = self.create_or_refind(url, body, refind).await?;
        Ok((id, create_type))
    }

    /// POSTs `body`; when DefectDojo refuses it as a conflict (400 unique
    /// validator, 409 unique violation: someone else created it meanwhile),
    /// looks once more.
    async fn create_or_refind<F, Fut>(
        &self,
        url: Url,
        body: Value,
        refind: F,
    ) -> Result<i64, DojoError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Option<i64>, DojoError>>,
    {
        match self
            .send_json::<IdOnly>(Method::POST, url, Some(&body), RequestContext::default())
            .await
        {
            Ok(rec) => Ok(rec.id),
            Err(
                e @ DojoError::Permanent {
                    status: 400 | 409, ..
                },
            ) => match refind().await? {
                Some(id) => Ok(id),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    // ------------------------------------------------------------------
    // Findings
    // ------------------------------------------------------------------

    /// The finding of `test` for `wstg_id`: by `unique_id_from_tool` (the
    /// filter is icontains, so compared exactly here), else by the lowercase
    /// id tag (`tags=`, which lowercases its input and matches exactly),
    /// else by the id tag in upper case (`tags__and=`, exact case: the
    /// original design wrote `WSTG-INFO-01` tag rows that `tags=` cannot
    /// see, docs/defectdojo.md §7). Never by title. Of several matches, the oldest.
    pub async fn find_item_finding(
        &self,
        test: i64,
        wstg_id: &WstgId,
    ) -> Result<Option<Finding>, DojoError> {
        let test_s = test.to_string();
        let url = self.list_url(
            "findings/",
            &[("test", &test_s), ("unique_id_from_tool", wstg_id.as_str())],
        )?;
        let (items, ..) = self.list_all::<Finding>(url, |_| true).await?;
        if let Some(f) = oldest(items.into_iter().filter(|f| {
            f.test == test && f.unique_id_from_tool.as_deref() == Some(wstg_id.as_str())
        })) {
            return Ok(Some(f));
        }
        let tag = wstg_id.tag();
        for (param, value) in [("tags", tag.as_str()), ("tags__and", wstg_id.as_str())] {
            let url = self.list_url("findings/", &[("test", &test_s), (param, value)])?;
            let (items, ..) = self.list_all::<Finding>(url, |_| true).await?;
            if let Some(f) = oldest(items.into_iter().filter(|f| {
                f.test == test
                        && f.tags.iter().any(|t| t.eq_ignore_ascii_case(&tag))
                        // A vulnerability under the item carries its id tag
                        // too: never the item's own finding.
                        && !wstg_domain::vulnerability::is_marked_vulnerability(
                            f.unique_id_from_tool.as_deref(),
                            &f.tags,
                        )
            })) {
                return Ok(Some(f));
            }
        }
        Ok(None)
    }

    /// Creates the finding of a checklist item.
    ///
    /// Sends every field DefectDojo requires on create (docs/defectdojo.md §1), the status
    /// `flags`, `tags` lowercased, `unique_id_from_tool` and
    /// `vuln_id_from_tool` = the WSTG id, `references` = the guide URL, a
    /// description made of the objectives and the attribution line, and the
    /// notes in the configured notes field.
    pub async fn create_item_finding(
        &self,
        test: i64,
        entry: &CatalogueEntry,
        wstg_id: &WstgId,
        flags: &DojoFlags,
        tags: &[String],
        notes: &Notes,
    ) -> Result<Finding, DojoError> {
        let tags: Vec<String> = tags.iter().map(|t| t.to_ascii_lowercase()).collect();
        let severity = self.inner.severity;
        let mut body = Map::new();
        body.insert("test".into(), json!(test));
        body.insert("found_by".into(), json!([]));
        body.insert("title".into(), json!(item_title(wstg_id, entry)));
        body.insert("severity".into(), json!(severity.as_str()));
        body.insert("numerical_severity".into(), json!(severity.numerical()));
        body.insert("description".into(), json!(item_description(entry)));
        for (k, v) in flag_fields(flags) {
            body.insert(k.into(), json!(v));
        }
        body.insert("unique_id_from_tool".into(), json!(wstg_id.as_str()));
        body.insert("vuln_id_from_tool".into(), json!(wstg_id.as_str()));
        body.insert("references".into(), json!(entry.guide_url));
        body.insert(
            self.inner.notes_field.as_field().into(),
            json!(notes.as_str()),
        );
        let ctx = RequestContext {
            writes_tags: !tags.is_empty(),
        };
        body.insert("tags".into(), json!(tags));
        let url = self.url("findings/", &[])?;
        self.send_json(Method::POST, url, Some(&Value::Object(body)), ctx)
            .await
    }

    /// PATCHes only the `Some(..)` fields of `patch` (notes into the
    /// configured notes field, tags exactly as given) and returns the
    /// finding as DefectDojo saved it. An empty patch is a plain read.
    pub async fn patch_finding(&self, id: i64, patch: &FindingPatch) -> Result<Finding, DojoError> {
        let body = self.patch_body(patch);
        if body.is_empty() {
            return self.get_finding(id).await;
        }
        let ctx = RequestContext {
            writes_tags: patch.tags.is_some(),
        };
        let url = self.url(&format!("findings/{id}/"), &[])?;
        self.send_json(Method::PATCH, url, Some(&Value::Object(body)), ctx)
            .await
    }

    /// The JSON body of a PATCH.
    pub fn patch_body(&self, patch: &FindingPatch) -> Map<String, Value> {
        let mut body = Map::new();
        let flags = [
            ("active", patch.active),
            ("verified", patch.verified),
            ("false_p", patch.false_p),
            ("out_of_scope", patch.out_of_scope),
            ("risk_accepted", patch.risk_accepted),
            ("is_mitigated", patch.is_mitigated),
            ("duplicate", patch.duplicate),
        ];
        for (k, v) in flags {
            if let Some(v) = v {
                body.insert(k.into(), Value::Bool(v));
            }
        }
        if let Some(tags) = &patch.tags {
            body.insert("tags".into(), json!(tags));
        }
        if let Some(notes) = &patch.notes {
            body.insert(self.inner.notes_field.as_field().into(), json!(notes));
        }
        body
    }

    pub async fn get_finding(&self, id: i64) -> Result<Finding, DojoError> {
        let url = self.url(&format!("findings/{id}/"), &[])?;
        self.send_json(Method::GET, url, None, RequestContext::default())
            .await
    }

    /// Every finding of `test`, most recent status change first
    /// (`?test=ID&o=-last_status_update&limit=page_size`, following `next`).
    pub async fn list_test_findings(&self, test: i64) -> Result<FindingPage, DojoError> {
        let url = self.test_findings_url(test)?;
        let (findings, requests, count) = self.list_all::<Finding>(url, |_| true).await?;
        Ok(FindingPage {
            findings,
            requests,
            count,
        })
    }

    /// The findings of `test` whose status changed at or after `since`
    /// (DefectDojo has no such filter, docs/defectdojo.md §3: this pages through
    /// `o=-last_status_update` and stops at the first older finding).
    /// Text, note and tag edits do not move `last_status_update`; use
    /// [`DojoClient::list_test_findings`] for a full scan.
    pub async fn list_test_findings_changed_since(
        &self,
        test: i64,
        since: DateTime<Utc>,
    ) -> Result<FindingPage, DojoError> {
        let is_new = |f: &Finding| match f
            .last_status_update
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        {
            Some(t) => t >= since,
            // Unreadable or missing: keep it, the caller compares.
            None => true,
        };
        let url = self.test_findings_url(test)?;
        let (findings, requests, count) = self
            .list_all::<Finding>(url, |page: &[Finding]| page.iter().all(is_new))
            .await?;
        Ok(FindingPage {
            findings: findings.into_iter().filter(is_new).collect(),
            requests,
            count,
        })
    }

    fn test_findings_url(&self, test: i64) -> Result<Url, DojoError> {
        let test_s = test.to_string();
        self.list_url(
            "findings/",
            &[("test", &test_s), ("o", "-last_status_update")],
        )
    }

    pub async fn delete_finding(&self, id: i64) -> Result<(), DojoError> {
        let url = self.url(&format!("findings/{id}/"), &[])?;
        self.send(Method::DELETE, url, None, RequestContext::default())
            .await
            .map(drop)
    }

    /// `POST /findings/{id}/close/ {"is_mitigated": true}`: inactive,
    /// mitigated, false_p/out_of_scope/duplicate/risk_accepted/under_review
    /// cleared, `verified` untouched, and the `finding_closed` notification
    /// fired (dojo/finding/helper.py close_finding). `is_mitigated` must be
    /// sent: the view reads `validated_data["is_mitigated"]` unguarded
    /// (dojo/finding/api/views.py `close`), so an empty body is a 500.
    pub async fn close_finding(&self, id: i64) -> Result<(), DojoError> {
        let url = self.url(&format!("findings/{id}/close/"), &[])?;
        self.send(
            Method::POST,
            url,
            Some(&json!({ "is_mitigated": true })),
            RequestContext::default(),
        )
        .await
        .map(drop)
    }

    // ------------------------------------------------------------------
    // Plumbing
    // ------------------------------------------------------------------

    pub(crate) fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, DojoError> {
        let mut url = self
            .inner
            .api
            .join(path)
            .map_err(|e| DojoError::Config(format!("API path {path}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().copied());
        }
        Ok(url)
    }

    pub(crate) fn list_url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, DojoError> {
        let limit = self.inner.page_size.to_string();
        let mut q = query.to_vec();
        q.push(("limit", &limit));
        self.url(path, &q)
    }

    /// `text` from upstream without our token or credential-shaped values.
    fn scrub(&self, text: &str) -> String {
        scrub::scrub(text, self.inner.token.expose_secret())
    }

    /// The request as logged and reported: method and path below `api/v2/`.
    fn describe(&self, method: &Method, url: &Url) -> String {
        format!("{method} {}", self.api_path(url))
    }

    /// The path of `url` below the API root (`findings/12/`).
    fn api_path<'u>(&self, url: &'u Url) -> &'u str {
        let path = url.path();
        path.strip_prefix(self.inner.api.path()).unwrap_or(path)
    }

    /// A `next` link, re-anchored to the configured API root: DRF builds it
    /// from the Host the server saw, which behind a proxy may be another
    /// origin, and the token must only ever go to the configured one.
    fn next_url(&self, next: &str) -> Result<Url, DojoError> {
        let parsed = Url::parse(next)
            .or_else(|_| self.inner.api.join(next))
            .map_err(|e| {
                DojoError::Decode(self.scrub(&format!("pagination link '{next}': {e}")))
            })?;
        let rest = match parsed.path().find("/api/v2/") {
            Some(i) => &parsed.path()[i + "/api/v2/".len()..],
            None => {
                return Err(DojoError::Decode(
                    self.scrub(&format!("pagination link '{next}' is not below /api/v2/")),
                ))
            }
        };
        let mut url = self.url(rest, &[])?;
        url.set_query(parsed.query());
        if parsed.origin() != self.inner.api.origin() {
            debug!(
                next = %self.scrub(next),
                "pagination link names another origin; following it on the configured one"
            );
        }
        Ok(url)
    }

    /// Reads every page from `first`, while `keep_going(page)` is true.
    /// Returns the items, the number of requests and the first `count`.
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        first: Url,
        mut keep_going: impl FnMut(&[T]) -> bool,
    ) -> Result<(Vec<T>, u32, Option<u64>), DojoError> {
        let mut url = first;
        let mut out = Vec::new();
        let mut requests = 0u32;
        let mut count = None;
        let mut seen = HashSet::new();
        loop {
            seen.insert(url.to_string());
            let page: Page<T> = self
                .send_json(Method::GET, url, None, RequestContext::default())
                .await?;
            requests += 1;
            if requests == 1 {
                count = page.count;
            }
            let go_on = keep_going(&page.results);
            let empty = page.results.is_empty();
            out.extend(page.results);
            let Some(next) = page.next.filter(|n| !n.is_empty()) else {
                break;
            };
            if !go_on || empty {
                break;
            }
            url = self.next_url(&next)?;
            if seen.contains(url.as_str()) || requests >= MAX_PAGES {
                return Err(DojoError::Decode(self.scrub(&format!(
                    "pagination does not end (next link {next} after {requests} pages)"
                ))));
            }
        }
        Ok((out, requests, count))
    }

    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        ctx: RequestContext,
    ) -> Result<T, DojoError> {
        let what = self.describe(&method, &url);
        let bytes = self.send(method, url, body, ctx).await?;
        // serde's message may quote a value from the body.
        serde_json::from_slice(&bytes)
            .map_err(|e| DojoError::Decode(self.scrub(&format!("{what}: {e}"))))
    }

    /// One request: the body of a 2xx answer, or the classified error.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        ctx: RequestContext,
    ) -> Result<Vec<u8>, DojoError> {
        let payload = match body {
            Some(v) => Payload::Json(v),
            None => Payload::Empty,
        };
        self.send_payload(method, url, payload, ctx, None).await
    }

    /// One request with any body; an answer longer than `limit` bytes is
    /// cut off and refused (files, crate::files) rather than read whole.
    pub(crate) async fn send_payload(
        &self,
        method: Method,
        url: Url,
        body: Payload<'_>,
        ctx: RequestContext,
        limit: Option<u64>,
    ) -> Result<Vec<u8>, DojoError> {
        let what = self.describe(&method, &url);
        let operation = crate::metrics::operation(method.as_str(), self.api_path(&url));
        let span = tracing::debug_span!(
            "dojo_request",
            method = %method,
            path = %url.path(),
            status = field::Empty,
            elapsed_ms = field::Empty,
        );
        let timeout = self.inner.timeout;
        async move {
            let started = Instant::now();
            let mut req = self.inner.http.request(method, url);
            match body {
                Payload::Empty => {}
                Payload::Json(body) => req = req.json(body),
                Payload::Multipart(form) => req = req.multipart(form),
            }
            let finish = |status: Option<u16>| {
                let span = tracing::Span::current();
                let elapsed = started.elapsed();
                crate::metrics::record(operation.clone(), status, elapsed);
                let elapsed_ms = elapsed.as_millis() as u64;
                if let Some(s) = status {
                    span.record("status", s);
                }
                span.record("elapsed_ms", elapsed_ms);
                elapsed_ms
            };
            let resp = match req.send().await {
                Ok(resp) => resp,
                Err(e) => {
                    let elapsed_ms = finish(None);
                    let err = transport_error(&e, timeout, |t| self.scrub(t));
                    debug!(elapsed_ms, error = %err, "DefectDojo request failed");
                    return Err(err);
                }
            };
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if let (Some(limit), Some(len)) = (limit, resp.content_length()) {
                if len > limit && (200..300).contains(&status) {
                    finish(Some(status));
                    return Err(DojoError::Permanent {
                        status,
                        message: format!(
                            "{what}: the answer is {len} bytes, over the limit of {limit}"
                        ),
                        body: Value::Null,
                    });
                }
            }
            let bytes = match read_bounded(resp, limit).await {
                Ok(b) => b,
                Err(BodyError::TooLong(limit)) => {
                    finish(Some(status));
                    return Err(DojoError::Permanent {
                        status,
                        message: format!("{what}: the answer is over the limit of {limit} bytes"),
                        body: Value::Null,
                    });
                }
                Err(BodyError::Transport(e)) => {
                    let elapsed_ms = finish(Some(status));
                    let err = transport_error(&e, timeout, |t| self.scrub(t));
                    debug!(status, elapsed_ms, error = %err, "DefectDojo answer cut short");
                    return Err(err);
                }
            };
            let elapsed_ms = finish(Some(status));
            debug!(status, elapsed_ms, "DefectDojo answered");
            if (200..300).contains(&status) {
                Ok(bytes.to_vec())
            } else {
                // Error bodies become messages (last_error, dead letters,
                // logs): scrubbed before anything reads them.
                let bytes = scrub::scrub_body(&bytes, self.inner.token.expose_secret());
                Err(classify(
                    status,
                    retry_after.as_deref(),
                    &bytes,
                    &what,
                    ctx,
                    Utc::now(),
                ))
            }
        }
        .instrument(span)
        .await
    }
}

/// A request body.
pub(crate) enum Payload<'a> {
    Empty,
    Json(&'a Value),
    Multipart(reqwest::multipart::Form),
}

/// Reads an answer's body, at most `limit` bytes of it (a longer one is an
/// error: a server that did not say its length is not trusted to be short).
async fn read_bounded(
    mut resp: reqwest::Response,
    limit: Option<u64>,
) -> Result<Vec<u8>, BodyError> {
    let Some(limit) = limit else {
        return resp
            .bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(BodyError::Transport);
    };
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Transport)? {
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(BodyError::TooLong(limit));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

pub(crate) enum BodyError {
    Transport(reqwest::Error),
    TooLong(u64),
}

fn oldest(items: impl Iterator<Item = Finding>) -> Option<Finding> {
    items.min_by_key(|f| f.id)
}

/// The status flags sent on create.
fn flag_fields(flags: &DojoFlags) -> [(&'static str, bool); 8] {
    [
        ("active", flags.active),
        ("verified", flags.verified),
        ("false_p", flags.false_p),
        ("out_of_scope", flags.out_of_scope),
        ("risk_accepted", flags.risk_accepted),
        ("is_mitigated", flags.is_mitigated),
        ("duplicate", flags.duplicate),
        ("under_review", flags.under_review),
    ]
}

/// `WSTG-INFO-01 Conduct Search Engine Discovery ...` (DefectDojo title-cases it).
pub fn item_title(wstg_id: &WstgId, entry: &CatalogueEntry) -> String {
    let title = format!("{} {}", wstg_id.as_str(), entry.title.trim());
    // Finding.title is max_length=511.
    title.chars().take(511).collect()
}

/// The description of a checklist finding: category, objectives, guide,
/// attribution.
pub fn item_description(entry: &CatalogueEntry) -> String {
    let mut d = String::new();
    d.push_str(entry.title.trim());
    d.push_str("\n\n");
    if !entry.category_name.trim().is_empty() {
        d.push_str(&format!("Category: {}\n\n", entry.category_name.trim()));
    }
    if entry.objectives.is_empty() {
        d.push_str("Test objectives: see the guide.\n");
    } else {
        d.push_str("Test objectives:\n");
        for o in &entry.objectives {
            d.push_str(&format!("- {}\n", o.trim()));
        }
    }
    d.push_str(&format!(
        "\nGuide: {}\n\n{ATTRIBUTION_LINE}",
        entry.guide_url
    ));
    d
}

/// A transport failure as an error; `scrub` cleans the message (reqwest
/// puts the request URL in it, and a proxy's text may follow).
fn transport_error(
    e: &reqwest::Error,
    timeout: Duration,
    scrub: impl Fn(&str) -> String,
) -> DojoError {
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    let chain = scrub(&chain);
    if e.is_timeout() {
        DojoError::transient(
            crate::error::Sent::Unknown,
            format!("no answer within {} ms ({chain})", timeout.as_millis()),
        )
    } else if e.is_connect() {
        DojoError::transient(
            crate::error::Sent::Never,
            format!("could not connect ({chain})"),
        )
    } else if e.is_builder() {
        DojoError::Config(chain)
    } else if e.is_decode() {
        DojoError::Decode(chain)
    } else {
        // Connection reset or closed mid-request, and the like.
        DojoError::transient(crate::error::Sent::Unknown, chain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use wstg_domain::catalogue::{Catalogue, CatalogueVersion};

    const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

    fn client(base: &str) -> DojoClient {
        DojoClient::new(DojoConfig::new(
            Url::parse(base).unwrap(),
            SecretString::from(TOKEN),
        ))
        .unwrap()
    }

    #[test]
    fn debug_never_shows_the_token() {
        let c = client("http://127.0.0.1:8080");
        let dbg = format!("{c:?} {:?}", c.clone());
        assert!(!dbg.contains(TOKEN), "{dbg}");
        assert!(!dbg.contains(&TOKEN[..12]), "{dbg}");
        assert!(dbg.contains("REDACTED"));
    }

    #[test]
    fn api_root_keeps_a_path_prefix() {
        assert_eq!(
            client("http://127.0.0.1:8080").api_url().as_str(),
            "http://127.0.0.1:8080/api/v2/"
        );
        assert_eq!(
            client("https://example.org/dojo").api_url().as_str(),
            "https://example.org/dojo/api/v2/"
        );
        assert_eq!(
            client("https://example.org/dojo/?x=1").api_url().as_str(),
            "https://example.org/dojo/api/v2/"
        );
    }

    #[test]
    fn bad_configurations_are_refused_without_echoing_the_token() {
        let mk = |base: &str, token: &str, page_size: u32| {
            let mut cfg = DojoConfig::new(Url::parse(base).unwrap(), SecretString::from(token));
            cfg.page_size = page_size;
            DojoClient::new(cfg)
        };
        assert!(matches!(mk("ftp://x", TOKEN, 1), Err(DojoError::Config(_))));
        assert!(matches!(mk("http://x", " ", 1), Err(DojoError::Config(_))));
        assert!(matches!(
            mk("http://x", TOKEN, 0),
            Err(DojoError::Config(_))
        ));
        let bad = "abc\ndef-secret";
        let err = mk("http://x", bad, 1).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(!format!("{err:?}").contains("secret"));
    }

    #[test]
    fn next_links_are_reanchored_to_the_configured_origin() {
        let c = client("https://dojo.example.org/prefix/");
        let u = c
            .next_url("http://internal:8080/api/v2/findings/?limit=2&o=id&offset=2&test=1")
            .unwrap();
        assert_eq!(
            u.as_str(),
            "https://dojo.example.org/prefix/api/v2/findings/?limit=2&o=id&offset=2&test=1"
        );
        assert!(c.next_url("http://evil.example/steal").is_err());
    }

    #[test]
    fn patch_body_holds_only_the_given_fields_and_notes_go_to_the_notes_field() {
        let mut cfg = DojoConfig::new(
            Url::parse("http://127.0.0.1:1").unwrap(),
            SecretString::from(TOKEN),
        );
        cfg.notes_field = NotesField::StepsToReproduce;
        let c = DojoClient::new(cfg).unwrap();
        let patch = FindingPatch {
            active: Some(false),
            is_mitigated: Some(true),
            tags: Some(vec!["WSTG".into(), "wstg-status:done".into()]),
            notes: Some("n".into()),
            ..FindingPatch::default()
        };
        let body = Value::Object(c.patch_body(&patch));
        assert_eq!(
            body,
            json!({
                "active": false,
                "is_mitigated": true,
                "tags": ["WSTG", "wstg-status:done"],
                "steps_to_reproduce": "n"
            })
        );
        assert!(c.patch_body(&FindingPatch::default()).is_empty());
    }

    #[test]
    fn description_has_objectives_and_attribution() {
        let cat = Catalogue::get(CatalogueVersion::V4_2);
        let id = cat.parse_id("WSTG-INFO-01").unwrap();
        let entry = cat.entry(&id).unwrap();
        let d = item_description(entry);
        assert!(d.ends_with(ATTRIBUTION_LINE), "{d}");
        for o in &entry.objectives {
            assert!(d.contains(o.trim()), "{o}");
        }
        assert!(d.contains(&entry.guide_url));
        assert!(item_title(&id, entry).starts_with("WSTG-INFO-01 "));
    }
}

/// A product as [`DojoClient::get_product`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DojoProduct {
    pub id: i64,
    pub name: String,
    pub prod_type: Option<i64>,
}

/// An engagement as [`DojoClient::get_engagement`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DojoEngagement {
    pub id: i64,
    pub name: Option<String>,
    pub product: Option<i64>,
}
