//! The DefectDojo the scenarios run against: a real one (a team's staging
//! DefectDojo, or the kit `make test-dojo` starts) or the emulator. The
//! scenarios see one interface; only seeding the original design's
//! leftovers differs (Django's ORM on a real DefectDojo, `/__sim/` on the
//! emulator).

use std::collections::BTreeMap;
use std::process::Stdio;

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::common::DOJO_TOKEN;

pub enum Kind {
    /// A real DefectDojo; `kit` is the kit script (reset, shell) when the
    /// kit is the server; `shell` a command running its `manage.py shell`.
    Real {
        kit: Option<String>,
        shell: Option<String>,
    },
    Sim(dojo_sim::RunningSim),
}

pub struct Backend {
    pub url: String,
    pub token: String,
    pub kind: Kind,
    pub http: reqwest::Client,
}

/// One finding the original design made (docs/defectdojo.md §7).
pub struct DesignFinding {
    pub wstg_id: &'static str,
    /// The design's status mapping: Not Started / In Progress / Blocked →
    /// active; Done → inactive, verified; Not Applicable → false positive.
    pub active: bool,
    pub verified: bool,
    pub false_p: bool,
    pub notes: &'static str,
}

/// What the seed made.
pub struct DesignSeed {
    pub test_id: i64,
    /// WSTG id → finding id.
    pub findings: BTreeMap<String, i64>,
}

impl Backend {
    /// The real DefectDojo named by WSTG_TEST_DOJO_URL / WSTG_TEST_DOJO_TOKEN,
    /// or `None` (the caller says the test is skipped).
    pub fn real_from_env() -> Option<Backend> {
        let url = std::env::var("WSTG_TEST_DOJO_URL").ok()?;
        let token = std::env::var("WSTG_TEST_DOJO_TOKEN").ok()?;
        let kit = std::env::var("WSTG_TEST_DOJO_KIT").ok();
        let shell = std::env::var("WSTG_TEST_DOJO_SHELL")
            .ok()
            .or_else(|| kit.as_ref().map(|k| format!("{k} shell")));
        Some(Backend {
            url: url.trim_end_matches('/').to_owned(),
            token,
            kind: Kind::Real { kit, shell },
            http: reqwest::Client::new(),
        })
    }

    pub async fn sim() -> Backend {
        test_support::init_test_logging();
        let sim = dojo_sim::spawn(dojo_sim::SimConfig::new(DOJO_TOKEN))
            .await
            .unwrap();
        // As on the real server, a tag write shows the saved finding without
        // tags for a moment (docs/defectdojo.md §9, torn reads; on the kit a
        // list read every ~100 ms caught it about once per PATCH).
        let r = reqwest::Client::new()
            .put(format!("{}/__sim/tag-step", sim.base_url))
            .json(&serde_json::json!({"ms": 100}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "/__sim/tag-step: {}", r.status());
        Backend {
            url: sim.base_url.clone(),
            token: DOJO_TOKEN.to_owned(),
            kind: Kind::Sim(sim),
            http: reqwest::Client::new(),
        }
    }

    pub fn is_real(&self) -> bool {
        matches!(self.kind, Kind::Real { .. })
    }

    /// Back to a DefectDojo without any of our data, where that is possible
    /// (the kit; a fresh emulator is clean already). Elsewhere scenarios use
    /// fresh project names.
    pub async fn reset(&self) {
        if let Kind::Real { kit: Some(kit), .. } = &self.kind {
            let st = tokio::process::Command::new(kit)
                .arg("reset")
                .status()
                .await
                .unwrap();
            assert!(st.success(), "{kit} reset failed");
        }
    }

    /// Whether the original design's leftovers can be made here.
    pub fn can_seed_design(&self) -> bool {
        match &self.kind {
            Kind::Real { shell, .. } => shell.is_some(),
            Kind::Sim(_) => true,
        }
    }

    /// One API v2 call with the token; panics on a transport error.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v2/{path}", self.url))
            .header("Authorization", format!("Token {}", self.token));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn finding(&self, id: i64) -> Option<Value> {
        let (s, v) = self
            .api(reqwest::Method::GET, &format!("findings/{id}/"), None)
            .await;
        (s == 200).then_some(v)
    }

    /// Every finding of a test (one page: a checklist fits).
    pub async fn test_findings(&self, test: i64) -> Vec<Value> {
        let (s, v) = self
            .api(
                reqwest::Method::GET,
                &format!("findings/?test={test}&limit=1000&o=id"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v["results"].as_array().cloned().unwrap_or_default()
    }

    /// A person's PATCH in DefectDojo.
    pub async fn patch(&self, id: i64, body: Value) {
        let (s, v) = self
            .api(
                reqwest::Method::PATCH,
                &format!("findings/{id}/"),
                Some(body.clone()),
            )
            .await;
        assert!((200..300).contains(&s), "PATCH {body}: {s} {v}");
    }

    /// DefectDojo's close action.
    pub async fn close(&self, id: i64) {
        let (s, v) = self
            .api(
                reqwest::Method::POST,
                &format!("findings/{id}/close/"),
                Some(json!({"is_mitigated": true})),
            )
            .await;
        assert!((200..300).contains(&s), "close: {s} {v}");
    }

    pub async fn delete(&self, id: i64) {
        let (s, v) = self
            .api(reqwest::Method::DELETE, &format!("findings/{id}/"), None)
            .await;
        assert!((200..300).contains(&s), "delete: {s} {v}");
    }

    /// Turns on simple risk acceptance for the product of finding `id`.
    pub async fn enable_risk_acceptance(&self, id: i64) {
        let (_, f) = self
            .api(
                reqwest::Method::GET,
                &format!("findings/{id}/?related_fields=true"),
                None,
            )
            .await;
        let product = f["related_fields"]["test"]["engagement"]["product"]["id"]
            .as_i64()
            .expect("related_fields carries the product id");
        let (s, v) = self
            .api(
                reqwest::Method::PATCH,
                &format!("products/{product}/"),
                Some(json!({"enable_simple_risk_acceptance": true})),
            )
            .await;
        assert!((200..300).contains(&s), "{s} {v}");
    }

    /// The original design's leftovers, made as it made them: product type
    /// "Medical Register", product "Medical Register App", engagement "WSTG
    /// Security Testing", an untitled test of test type "WSTG Security
    /// Testing", findings titled "WSTG-…: …" with no unique id, notes in
    /// `mitigation`, and tag rows "WSTG" / "WSTG-<id>" in upper case beside
    /// the lowercase twins an earlier API client left ("wstg",
    /// "wstg-info-01").
    pub async fn seed_design(&self, items: &[DesignFinding]) -> DesignSeed {
        match &self.kind {
            Kind::Real { shell, .. } => {
                let shell = shell.as_ref().expect("can_seed_design checked");
                self.seed_design_orm(shell, items).await
            }
            Kind::Sim(_) => self.seed_design_sim(items).await,
        }
    }

    async fn seed_design_orm(&self, shell: &str, items: &[DesignFinding]) -> DesignSeed {
        let rows: Vec<Value> = items
            .iter()
            .map(|i| {
                json!({"id": i.wstg_id, "active": i.active, "verified": i.verified,
                       "false_p": i.false_p, "notes": i.notes})
            })
            .collect();
        // The design's own code (get_wstg_test_and_engagement and
        // create_finding_from_wstg), with Tag = the finding tag model.
        let script = format!(
            r#"
import json
from django.contrib.auth.models import User
from django.utils import timezone
from dojo.models import Finding, Test, Engagement, Product, Product_Type, Test_Type
Tag = Finding.tags.tag_model
# Lowercase rows an API client made earlier (tagulous lowercases them).
for name in ["wstg", "wstg-info-01"]:
    Tag.objects.get_or_create(name=name)
admin_user = User.objects.get(username='admin')
product_type, _ = Product_Type.objects.get_or_create(name='Medical Register', defaults={{'description': 'Aplicación de registro médico'}})
product, _ = Product.objects.get_or_create(name='Medical Register App', defaults={{'description': 'Aplicación web para registro de peso e IMC', 'prod_type': product_type}})
engagement, _ = Engagement.objects.get_or_create(name='WSTG Security Testing', product=product, defaults={{'target_start': timezone.now().date(), 'target_end': timezone.now().date(), 'status': 'In Progress', 'lead': admin_user}})
test_type, _ = Test_Type.objects.get_or_create(name='WSTG Security Testing')
test, _ = Test.objects.get_or_create(engagement=engagement, test_type=test_type, defaults={{'target_start': timezone.now().date(), 'target_end': timezone.now().date(), 'lead': admin_user}})
dictionary = {{
    'WSTG-INFO-01': ('Conduct OSINT reconnaissance', 'Gather information about the target through publicly available sources', 'Info'),
    'WSTG-INFO-02': ('Fingerprint Web Server', 'Identify the web server and version', 'Info'),
}}
out = {{}}
for row in json.loads({rows:?}):
    wstg_id = row['id']
    title, description, severity = dictionary.get(wstg_id, (wstg_id + ' Test', 'Security test for ' + wstg_id, 'Medium'))
    finding = Finding.objects.create(title=wstg_id + ': ' + title, description=description, test=test, severity=severity,
        active=row['active'], verified=row['verified'], false_p=row['false_p'], mitigation=row['notes'] or '', reporter=test.lead)
    tag_wstg, _ = Tag.objects.get_or_create(name='WSTG')
    tag_id, _ = Tag.objects.get_or_create(name=wstg_id)
    finding.tags.add(tag_wstg, tag_id)
    out[wstg_id] = finding.id
print("RESULT:" + json.dumps({{"test": test.id, "findings": out}}))
"#,
            rows = serde_json::to_string(&rows).unwrap()
        );
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(shell)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .await
            .unwrap();
        let out = child.wait_with_output().await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.split_once("RESULT:").map(|(_, r)| r.to_owned()))
            .unwrap_or_else(|| {
                panic!(
                    "the ORM seed printed no result: {stdout}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        let v: Value = serde_json::from_str(&line).unwrap();
        DesignSeed {
            test_id: v["test"].as_i64().unwrap(),
            findings: v["findings"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_i64().unwrap()))
                .collect(),
        }
    }

    async fn seed_design_sim(&self, items: &[DesignFinding]) -> DesignSeed {
        use reqwest::Method;
        let post = |path: &'static str, body: Value| async move {
            let (s, v) = self.api(Method::POST, path, Some(body.clone())).await;
            assert!((200..300).contains(&s), "POST {path} {body}: {s} {v}");
            v["id"].as_i64().unwrap()
        };
        let pt = post("product_types/", json!({"name": "Medical Register"})).await;
        let product = post(
            "products/",
            json!({"name": "Medical Register App", "description": "Aplicación web para registro de peso e IMC", "prod_type": pt}),
        )
        .await;
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let engagement = post(
            "engagements/",
            json!({"name": "WSTG Security Testing", "product": product, "target_start": today,
                   "target_end": today, "status": "In Progress"}),
        )
        .await;
        let tt = post("test_types/", json!({"name": "WSTG Security Testing"})).await;
        let test = post(
            "tests/",
            json!({"engagement": engagement, "test_type": tt, "target_start": today, "target_end": today}),
        )
        .await;
        let sim_post = |path: &'static str, body: Value| async move {
            let resp = self
                .http
                .post(format!("{}/__sim/{path}", self.url))
                .json(&body)
                .send()
                .await
                .unwrap();
            let s = resp.status().as_u16();
            let v: Value = resp.json().await.unwrap_or(Value::Null);
            assert!(
                (200..300).contains(&s),
                "POST /__sim/{path} {body}: {s} {v} (the emulator needs /__sim/tag-rows)"
            );
            v
        };
        // The lowercase rows an API client left, then the design's upper-case rows.
        sim_post("tag-rows", json!({"names": ["wstg", "wstg-info-01"]})).await;
        sim_post("tag-rows", json!({"names": ["WSTG", "WSTG-INFO-01"]})).await;
        let mut findings = BTreeMap::new();
        for i in items {
            let (title, description, severity) = match i.wstg_id {
                "WSTG-INFO-01" => (
                    "Conduct OSINT reconnaissance".to_owned(),
                    "Gather information about the target through publicly available sources"
                        .to_owned(),
                    "Info",
                ),
                "WSTG-INFO-02" => (
                    "Fingerprint Web Server".to_owned(),
                    "Identify the web server and version".to_owned(),
                    "Info",
                ),
                id => (
                    format!("{id} Test"),
                    format!("Security test for {id}"),
                    "Medium",
                ),
            };
            let v = sim_post(
                "findings",
                json!({
                    "test": test,
                    "title": format!("{}: {title}", i.wstg_id),
                    "description": description,
                    "severity": severity,
                    "active": i.active,
                    "verified": i.verified,
                    "false_p": i.false_p,
                    "mitigation": i.notes,
                    "tags": ["WSTG", i.wstg_id],
                }),
            )
            .await;
            findings.insert(i.wstg_id.to_owned(), v["id"].as_i64().unwrap());
        }
        DesignSeed {
            test_id: test,
            findings,
        }
    }

    pub async fn stop(self) {
        if let Kind::Sim(sim) = self.kind {
            sim.stop().await;
        }
    }
}
