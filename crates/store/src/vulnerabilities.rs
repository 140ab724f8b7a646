//! Vulnerabilities under an item (`vulnerabilities`): the tracker's fields,
//! the fields both sides held at the last sync, DefectDojo's status, and the
//! write-ahead intent of a create. Every write is one statement.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use uuid::Uuid;
use wstg_domain::vulnerability::{
    Cwe, Endpoint, Origin, Severity, VulnFields, VulnStatus, MAX_PER_ITEM,
};
use wstg_domain::{ProjectName, WstgId};

use crate::error::StoreError;
use crate::rows::{self, get, millis, opt_time, time};
use crate::store::Store;

/// One stored vulnerability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VulnRecord {
    pub id: Uuid,
    pub project: ProjectName,
    pub wstg_id: WstgId,
    pub finding_id: Option<i64>,
    pub fields: VulnFields,
    pub synced: Option<VulnFields>,
    pub status: VulnStatus,
    pub origin: Origin,
    pub create_sent_at: Option<DateTime<Utc>>,
    pub dojo_updated: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub synced_at: Option<DateTime<Utc>>,
    pub version: i64,
}

/// An item's vulnerabilities in a few numbers (for the item list).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VulnSummary {
    /// Vulnerabilities recorded under the item (deleted ones left out).
    pub count: u32,
    /// Those still open (pending or active in DefectDojo).
    pub open: u32,
    /// The worst severity among the open ones, else among all.
    pub worst_severity: Option<Severity>,
}

/// What recording a new vulnerability did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    New,
    /// A record with this id exists (an idempotent retry).
    Exists,
    /// The item already holds [`MAX_PER_ITEM`] vulnerabilities.
    Full,
}

/// A sync's result, recorded only if the tracker did not edit meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VulnSynced {
    pub finding_id: i64,
    /// What both sides hold now (DefectDojo's answer).
    pub fields: VulnFields,
    pub status: VulnStatus,
    pub dojo_updated: Option<String>,
    /// The record version the sync was planned on.
    pub seen_version: i64,
}

const COLUMNS: &str = "id, project, wstg_id, finding_id, title, severity, description, steps, \
    impact, mitigation, cwe, endpoints, synced, dojo_status, origin, create_sent_at, \
    dojo_updated, last_error, created_at, updated_at, synced_at, version";

fn corrupt(what: &str) -> impl Fn(String) -> StoreError + '_ {
    move |e| StoreError::corrupt(what, e)
}

fn from_row(row: &AnyRow) -> Result<VulnRecord, StoreError> {
    let endpoints: Vec<Endpoint> = serde_json::from_str(&get::<String>(row, "endpoints")?)
        .map_err(|e| StoreError::corrupt("endpoints", e))?;
    let cwe = get::<Option<i64>>(row, "cwe")?
        .map(|n| {
            u32::try_from(n)
                .ok()
                .and_then(|n| Cwe::new(n).ok())
                .ok_or_else(|| StoreError::corrupt("cwe", n))
        })
        .transpose()?;
    let fields = VulnFields {
        title: get(row, "title")?,
        severity: get::<String>(row, "severity")?
            .parse()
            .map_err(|e| StoreError::corrupt("severity", e))?,
        description: get(row, "description")?,
        steps: get(row, "steps")?,
        impact: get(row, "impact")?,
        mitigation: get(row, "mitigation")?,
        cwe,
        endpoints,
    };
    let synced = get::<Option<String>>(row, "synced")?
        .map(|s| serde_json::from_str(&s).map_err(|e| StoreError::corrupt("synced", e)))
        .transpose()?;
    Ok(VulnRecord {
        id: rows::uuid(&get::<String>(row, "id")?, "vulnerability id")?,
        project: rows::project(&get::<String>(row, "project")?)?,
        wstg_id: rows::wstg_id(get(row, "wstg_id")?)?,
        finding_id: get(row, "finding_id")?,
        fields,
        synced,
        status: get::<String>(row, "dojo_status")?
            .parse()
            .map_err(corrupt("dojo_status"))?,
        origin: get::<String>(row, "origin")?
            .parse()
            .map_err(corrupt("origin"))?,
        create_sent_at: opt_time(get(row, "create_sent_at")?, "create_sent_at")?,
        dojo_updated: get(row, "dojo_updated")?,
        last_error: get(row, "last_error")?,
        created_at: time(get(row, "created_at")?, "created_at")?,
        updated_at: time(get(row, "updated_at")?, "updated_at")?,
        synced_at: opt_time(get(row, "synced_at")?, "synced_at")?,
        version: get(row, "version")?,
    })
}

fn endpoints_json(f: &VulnFields) -> String {
    serde_json::to_string(&f.endpoints).unwrap_or_else(|_| "[]".to_owned())
}

fn fields_json(f: &VulnFields) -> Result<String, StoreError> {
    serde_json::to_string(f).map_err(|e| StoreError::corrupt("vulnerability fields", e))
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds the eight fields a tracker edits, in the order every statement here
/// lists their columns: title, severity, description, steps, impact,
/// mitigation, cwe, endpoints.
fn bind_fields<'q>(q: AnyQuery<'q>, f: &'q VulnFields) -> AnyQuery<'q> {
    q.bind(&f.title)
        .bind(f.severity.as_str())
        .bind(&f.description)
        .bind(&f.steps)
        .bind(&f.impact)
        .bind(&f.mitigation)
        .bind(f.cwe.map(|c| i64::from(c.get())))
        .bind(endpoints_json(f))
}

impl Store {
    /// Records a vulnerability the tracker reported (status `pending`).
    /// Idempotent by id; refused when the item is full.
    pub async fn insert_vulnerability(
        &self,
        id: Uuid,
        project: &ProjectName,
        wstg_id: &WstgId,
        fields: &VulnFields,
        at: DateTime<Utc>,
    ) -> Result<Inserted, StoreError> {
        if self.vulnerability(id).await?.is_some() {
            return Ok(Inserted::Exists);
        }
        // The count bound and the insert in one statement, so two requests
        // at once cannot both pass the check.
        let q = sqlx::query(
            "INSERT INTO vulnerabilities \
               (id, project, wstg_id, finding_id, title, severity, description, steps, impact, \
                mitigation, cwe, endpoints, synced, dojo_status, origin, create_sent_at, \
                dojo_updated, last_error, created_at, updated_at, synced_at, version) \
             SELECT $1, $2, $3, NULL, $4, $5, $6, $7, $8, $9, $10, $11, NULL, 'pending', 'tracker', \
                NULL, NULL, NULL, $12, $12, NULL, 1 \
             WHERE (SELECT COUNT(*) FROM vulnerabilities WHERE project = $2 AND wstg_id = $3) < $13 \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(rows::uuid_text(id))
        .bind(project.as_str())
        .bind(wstg_id.as_str());
        let q = bind_fields(q, fields);
        let done = q
            .bind(millis(at))
            .bind(i64::try_from(MAX_PER_ITEM).unwrap_or(i64::MAX))
            .execute(&self.pool)
            .await
            .map_err(StoreError::query(format!("insert_vulnerability({id})")))?;
        if done.rows_affected() == 1 {
            return Ok(Inserted::New);
        }
        Ok(if self.vulnerability(id).await?.is_some() {
            Inserted::Exists
        } else {
            Inserted::Full
        })
    }

    /// Records a vulnerability found in DefectDojo (origin `dojo`), synced as
    /// found. Its id is derived from the finding, so recording it twice is
    /// one record. Returns the record's id.
    pub async fn insert_dojo_vulnerability(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        synced: &VulnSynced,
        at: DateTime<Utc>,
    ) -> Result<Uuid, StoreError> {
        let id = Uuid::new_v5(
            &Uuid::NAMESPACE_OID,
            format!("wstg-bridge/vuln/{project}/{}", synced.finding_id).as_bytes(),
        );
        let f = &synced.fields;
        let q = sqlx::query(
            "INSERT INTO vulnerabilities \
               (id, project, wstg_id, finding_id, title, severity, description, steps, impact, \
                mitigation, cwe, endpoints, synced, dojo_status, origin, create_sent_at, \
                dojo_updated, last_error, created_at, updated_at, synced_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'dojo', NULL, \
                $15, NULL, $16, $16, $16, 1) \
             ON CONFLICT DO NOTHING",
        )
        .bind(rows::uuid_text(id))
        .bind(project.as_str())
        .bind(wstg_id.as_str())
        .bind(synced.finding_id);
        let q = bind_fields(q, f);
        q.bind(fields_json(f)?)
            .bind(synced.status.as_str())
            .bind(synced.dojo_updated.as_deref())
            .bind(millis(at))
            .execute(&self.pool)
            .await
            .map_err(StoreError::query(format!(
                "insert_dojo_vulnerability({id})"
            )))?;
        Ok(id)
    }

    pub async fn vulnerability(&self, id: Uuid) -> Result<Option<VulnRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM vulnerabilities WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(rows::uuid_text(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(format!("vulnerability({id})")))?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn vulnerability_by_finding(
        &self,
        project: &ProjectName,
        finding_id: i64,
    ) -> Result<Option<VulnRecord>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM vulnerabilities WHERE project = $1 AND finding_id = $2");
        let row = sqlx::query(&sql)
            .bind(project.as_str())
            .bind(finding_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query("vulnerability_by_finding"))?;
        row.as_ref().map(from_row).transpose()
    }

    /// An item's vulnerabilities, oldest first.
    pub async fn item_vulnerabilities(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
    ) -> Result<Vec<VulnRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM vulnerabilities WHERE project = $1 AND wstg_id = $2 \
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(project.as_str())
            .bind(wstg_id.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query("item_vulnerabilities"))?;
        rows.iter().map(from_row).collect()
    }

    /// Every linked vulnerability of a project: finding id → record id
    /// (for the poll, which looks findings up by id).
    pub async fn linked_vulnerabilities(
        &self,
        project: &ProjectName,
    ) -> Result<Vec<VulnRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM vulnerabilities WHERE project = $1 AND finding_id IS NOT NULL"
        );
        let rows = sqlx::query(&sql)
            .bind(project.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query("linked_vulnerabilities"))?;
        rows.iter().map(from_row).collect()
    }

    /// Per item: count, open count, worst severity (deleted ones left out).
    pub async fn vulnerability_summaries(
        &self,
        project: &ProjectName,
    ) -> Result<HashMap<String, VulnSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT wstg_id, severity, dojo_status FROM vulnerabilities \
             WHERE project = $1 AND dojo_status <> 'deleted'",
        )
        .bind(project.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query("vulnerability_summaries"))?;
        let mut out: HashMap<String, (VulnSummary, Option<Severity>)> = HashMap::new();
        for row in &rows {
            let id: String = get(row, "wstg_id")?;
            let sev: Severity = get::<String>(row, "severity")?
                .parse()
                .map_err(|e| StoreError::corrupt("severity", e))?;
            let status: VulnStatus = get::<String>(row, "dojo_status")?
                .parse()
                .map_err(corrupt("dojo_status"))?;
            let (s, worst_any) = out.entry(id).or_default();
            s.count += 1;
            *worst_any = (*worst_any).max(Some(sev));
            if status.is_open() {
                s.open += 1;
                s.worst_severity = s.worst_severity.max(Some(sev));
            }
        }
        Ok(out
            .into_iter()
            .map(|(k, (mut s, worst_any))| {
                if s.open == 0 {
                    s.worst_severity = worst_any;
                }
                (k, s)
            })
            .collect())
    }

    /// A tracker edit: new fields, a new version. False when the record is
    /// gone.
    pub async fn edit_vulnerability(
        &self,
        id: Uuid,
        fields: &VulnFields,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let q = sqlx::query(
            "UPDATE vulnerabilities SET title = $2, severity = $3, description = $4, steps = $5, \
                impact = $6, mitigation = $7, cwe = $8, endpoints = $9, updated_at = $10, \
                version = version + 1 \
             WHERE id = $1",
        )
        .bind(rows::uuid_text(id));
        let q = bind_fields(q, fields);
        let done = q
            .bind(millis(at))
            .execute(&self.pool)
            .await
            .map_err(StoreError::query(format!("edit_vulnerability({id})")))?;
        Ok(done.rows_affected() == 1)
    }

    /// The write-ahead intent of a create: recorded before the POST is sent
    /// (`Some`), forgotten when its outcome is known (`None`).
    pub async fn set_vulnerability_create_sent(
        &self,
        id: Uuid,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE vulnerabilities SET create_sent_at = $2 WHERE id = $1")
            .bind(rows::uuid_text(id))
            .bind(at.map(millis))
            .execute(&self.pool)
            .await
            .map_err(StoreError::query(format!(
                "set_vulnerability_create_sent({id})"
            )))?;
        Ok(())
    }

    /// Records a sync's result: the link, DefectDojo's fields as both sides'
    /// state, its status; the intent forgotten. Only if no tracker edit came
    /// in since the sync was planned (false: plan again).
    pub async fn record_vulnerability_synced(
        &self,
        id: Uuid,
        s: &VulnSynced,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let f = &s.fields;
        let q = sqlx::query(
            "UPDATE vulnerabilities SET finding_id = $2, title = $3, severity = $4, \
                description = $5, steps = $6, impact = $7, mitigation = $8, cwe = $9, \
                endpoints = $10, synced = $11, dojo_status = $12, dojo_updated = $13, \
                create_sent_at = NULL, last_error = NULL, synced_at = $14 \
             WHERE id = $1 AND version = $15",
        )
        .bind(rows::uuid_text(id))
        .bind(s.finding_id);
        let q = bind_fields(q, f);
        let done = q
            .bind(fields_json(f)?)
            .bind(s.status.as_str())
            .bind(s.dojo_updated.as_deref())
            .bind(millis(at))
            .bind(s.seen_version)
            .execute(&self.pool)
            .await
            .map_err(StoreError::query(format!(
                "record_vulnerability_synced({id})"
            )))?;
        Ok(done.rows_affected() == 1)
    }

    /// The finding was deleted in DefectDojo.
    pub async fn mark_vulnerability_deleted(&self, id: Uuid) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE vulnerabilities SET dojo_status = 'deleted', create_sent_at = NULL WHERE id = $1",
        )
        .bind(rows::uuid_text(id))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!("mark_vulnerability_deleted({id})")))?;
        Ok(())
    }

    /// A failure that will not be retried, shown beside the vulnerability.
    pub async fn set_vulnerability_error(&self, id: Uuid, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE vulnerabilities SET last_error = $2 WHERE id = $1")
            .bind(rows::uuid_text(id))
            .bind(rows::bounded(error))
            .execute(&self.pool)
            .await
            .map_err(StoreError::query(format!("set_vulnerability_error({id})")))?;
        Ok(())
    }
}
