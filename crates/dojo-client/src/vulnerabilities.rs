//! Vulnerability findings: one DefectDojo finding per vulnerability recorded
//! under a checklist item (docs/sync-rules.md, "Vulnerabilities under an
//! item"; docs/defectdojo.md §15 for what the real server does with them).

use reqwest::Method;
use serde_json::{json, Map, Value};
use uuid::Uuid;
use wstg_domain::mapping::STATUS_TAG_PREFIX;
use wstg_domain::sync::vulnerability::VField;
use wstg_domain::vulnerability::{unique_id, vuln_tags, RawVulnFields, VulnFields, VulnStatus};
use wstg_domain::Status;

use crate::client::DojoClient;
use crate::error::{DojoError, RequestContext};
use crate::model::{Finding, FindingPage};

/// The `tag` filter of the vulnerability poll: DefectDojo's `tag` is
/// `icontains` over tag names (docs/defectdojo.md §2, §15), so this finds
/// every finding with a WSTG id tag or the marker tag.
pub const VULN_POLL_TAG: &str = "wstg-";

/// The `not_tags` of the vulnerability poll: the five status tags, which
/// only the items' own findings carry (exact, input lowercased).
pub fn status_tags_csv() -> String {
    Status::ALL
        .iter()
        .map(|s| format!("{STATUS_TAG_PREFIX}{}", s.as_str()))
        .collect::<Vec<_>>()
        .join(",")
}

impl Finding {
    /// The synced fields of a vulnerability finding, whoever made it.
    pub fn vulnerability_fields(&self) -> VulnFields {
        let cwe = self.cwe.filter(|c| *c > 0).map(|c| c.to_string());
        VulnFields::from_dojo(
            &RawVulnFields {
                title: &self.title,
                severity: self.severity.as_deref().unwrap_or_default(),
                description: self.description.as_deref().unwrap_or_default(),
                steps: self.steps_to_reproduce.as_deref().unwrap_or_default(),
                impact: self.impact.as_deref().unwrap_or_default(),
                mitigation: self.mitigation.as_deref().unwrap_or_default(),
                cwe: cwe.as_deref(),
                endpoints: &[],
            },
            self.references.as_deref().unwrap_or_default(),
        )
    }

    /// DefectDojo's status of a vulnerability finding.
    pub fn vulnerability_status(&self) -> VulnStatus {
        VulnStatus::of_flags(&self.flags())
    }
}

fn field_value(f: VField, v: &VulnFields) -> (&'static str, Value) {
    match f {
        VField::Title => ("title", json!(v.title)),
        VField::Severity => ("severity", json!(v.severity.as_str())),
        VField::Description => ("description", json!(v.description)),
        VField::Steps => ("steps_to_reproduce", json!(v.steps)),
        VField::Impact => ("impact", json!(v.impact)),
        VField::Mitigation => ("mitigation", json!(v.mitigation)),
        // 0 is DefectDojo's "no CWE" (its column is not nullable).
        VField::Cwe => ("cwe", json!(v.cwe.map_or(0, |c| c.get()))),
        VField::Endpoints => ("references", json!(v.references())),
    }
}

impl DojoClient {
    /// The vulnerability's finding in `engagement`, by its unique id
    /// (`unique_id_from_tool` is `icontains`: compared exactly here).
    pub async fn find_vulnerability_finding(
        &self,
        engagement: i64,
        id: Uuid,
    ) -> Result<Option<Finding>, DojoError> {
        let want = unique_id(id);
        let eng = engagement.to_string();
        let url = self.list_url(
            "findings/",
            &[("test__engagement", &eng), ("unique_id_from_tool", &want)],
        )?;
        let (items, ..) = self.list_all::<Finding>(url, |_| true).await?;
        Ok(items
            .into_iter()
            .filter(|f| f.unique_id_from_tool.as_deref() == Some(want.as_str()))
            .min_by_key(|f| f.id))
    }

    /// Creates the finding of a vulnerability in `test`: the marker tag and
    /// the item's lowercase id tag, `unique_id_from_tool` = `wstg-vuln:<id>`,
    /// active, every synced field (endpoints in `references`).
    pub async fn create_vulnerability_finding(
        &self,
        test: i64,
        id: Uuid,
        id_tag: &str,
        fields: &VulnFields,
    ) -> Result<Finding, DojoError> {
        let mut body = Map::new();
        body.insert("test".into(), json!(test));
        body.insert("found_by".into(), json!([]));
        body.insert(
            "numerical_severity".into(),
            json!(fields.severity.numerical()),
        );
        body.insert("active".into(), json!(true));
        body.insert("verified".into(), json!(false));
        for f in VField::ALL {
            let (k, v) = field_value(f, fields);
            body.insert(k.into(), v);
        }
        body.insert("unique_id_from_tool".into(), json!(unique_id(id)));
        body.insert("tags".into(), json!(vuln_tags(id_tag)));
        let url = self.url("findings/", &[])?;
        self.send_json(
            Method::POST,
            url,
            Some(&Value::Object(body)),
            RequestContext { writes_tags: true },
        )
        .await
    }

    /// PATCHes the named fields of a vulnerability finding.
    pub async fn patch_vulnerability_finding(
        &self,
        finding_id: i64,
        fields: &[VField],
        values: &VulnFields,
    ) -> Result<Finding, DojoError> {
        let mut body = Map::new();
        for f in fields {
            let (k, v) = field_value(*f, values);
            body.insert(k.into(), v);
            if *f == VField::Severity {
                body.insert(
                    "numerical_severity".into(),
                    json!(values.severity.numerical()),
                );
            }
        }
        if body.is_empty() {
            return self.get_finding(finding_id).await;
        }
        let url = self.url(&format!("findings/{finding_id}/"), &[])?;
        self.send_json(
            Method::PATCH,
            url,
            Some(&Value::Object(body)),
            RequestContext::default(),
        )
        .await
    }

    /// Every finding of `engagement` with a tag containing `wstg-` and none
    /// of the status tags: vulnerability findings, made by the bridge or by
    /// anyone who tagged them with an item's id (the caller sorts them with
    /// `wstg_domain::vulnerability::finding_role`). Pages of `page_size`.
    pub async fn list_engagement_vulnerability_findings(
        &self,
        engagement: i64,
    ) -> Result<FindingPage, DojoError> {
        let eng = engagement.to_string();
        let not_tags = status_tags_csv();
        let url = self.list_url(
            "findings/",
            &[
                ("test__engagement", &eng),
                ("tag", VULN_POLL_TAG),
                ("not_tags", &not_tags),
                ("o", "id"),
            ],
        )?;
        let (findings, requests, count) = self.list_all::<Finding>(url, |_| true).await?;
        Ok(FindingPage {
            findings,
            requests,
            count,
        })
    }
}
