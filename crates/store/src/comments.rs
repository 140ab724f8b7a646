//! An item's discussion (`comments`): tracker comments waiting for, or
//! carrying, their DefectDojo note id, and notes brought back from
//! DefectDojo. Every write is one statement, safe to repeat.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use uuid::Uuid;
use wstg_domain::sync::comments::{Origin, StoredComment};
use wstg_domain::{CommentBody, ProjectName, Username, WstgId};

use crate::error::StoreError;
use crate::rows::{self, get};
use crate::store::Store;

/// One comment as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommentRecord {
    pub id: Uuid,
    pub wstg_id: WstgId,
    pub author: Username,
    pub body: CommentBody,
    pub created_at: DateTime<Utc>,
    /// `tracker` or `dojo`.
    pub origin: &'static str,
    pub dojo_note_id: Option<i64>,
    /// `true` once the comment is a DefectDojo note too.
    pub synced: bool,
    #[serde(skip)]
    pub post_started: bool,
}

impl CommentRecord {
    /// What the comment rule needs.
    pub fn to_stored(&self) -> StoredComment {
        StoredComment {
            id: self.id,
            author: self.author.clone(),
            body: self.body.clone(),
            origin: Origin::parse(self.origin).unwrap_or(Origin::Tracker),
            dojo_note_id: self.dojo_note_id,
            post_started: self.post_started,
        }
    }
}

const COLUMNS: &str =
    "id, wstg_id, author, body, created_at, origin, dojo_note_id, post_started_at";

fn from_row(row: &AnyRow) -> Result<CommentRecord, StoreError> {
    let origin: String = get(row, "origin")?;
    let origin = Origin::parse(&origin)
        .ok_or_else(|| StoreError::corrupt("comment origin", &origin))?
        .as_str();
    let author: String = get(row, "author")?;
    let body: String = get(row, "body")?;
    let note: Option<i64> = get(row, "dojo_note_id")?;
    Ok(CommentRecord {
        id: rows::uuid(&get::<String>(row, "id")?, "comment id")?,
        wstg_id: rows::wstg_id(get(row, "wstg_id")?)?,
        author: Username::parse(&author).map_err(|e| StoreError::corrupt("comment author", e))?,
        body: CommentBody::parse(&body).map_err(|e| StoreError::corrupt("comment body", e))?,
        created_at: rows::time(get(row, "created_at")?, "comment time")?,
        origin,
        dojo_note_id: note,
        synced: note.is_some(),
        post_started: get::<Option<i64>>(row, "post_started_at")?.is_some(),
    })
}

impl Store {
    /// Adds a tracker comment unless the item already holds `max` comments
    /// (`None`: the bound is reached).
    pub async fn add_comment(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        author: &Username,
        body: &CommentBody,
        max: u32,
    ) -> Result<Option<CommentRecord>, StoreError> {
        let id = Uuid::now_v7();
        let now = rows::millis(Utc::now());
        let done = sqlx::query(
            "INSERT INTO comments (id, project, wstg_id, author, body, created_at, origin, updated_at) \
             SELECT $1, $2, $3, $4, $5, $6, 'tracker', $6 \
             WHERE (SELECT COUNT(*) FROM comments WHERE project = $2 AND wstg_id = $3) < $7",
        )
        .bind(rows::uuid_text(id))
        .bind(project.as_str())
        .bind(wstg_id.as_str())
        .bind(author.as_str())
        .bind(body.as_str())
        .bind(now)
        .bind(i64::from(max))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!("add_comment({project}/{wstg_id})")))?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(self
            .comments(project, wstg_id)
            .await?
            .into_iter()
            .find(|c| c.id == id))
    }

    /// The item's discussion, oldest first.
    pub async fn comments(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
    ) -> Result<Vec<CommentRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM comments WHERE project = $1 AND wstg_id = $2 \
             ORDER BY created_at, id"
        );
        sqlx::query(&sql)
            .bind(project.as_str())
            .bind(wstg_id.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(format!("comments({project}/{wstg_id})")))?
            .iter()
            .map(from_row)
            .collect()
    }

    /// The items holding tracker comments not yet found among DefectDojo's
    /// notes (the worker's backlog): never tried, or last tried before
    /// `retry_before` (so a post DefectDojo keeps refusing is tried again
    /// now and then, not on every poll pass).
    pub async fn items_with_unsent_comments(
        &self,
        project: &ProjectName,
        retry_before: DateTime<Utc>,
    ) -> Result<Vec<WstgId>, StoreError> {
        let found = sqlx::query(
            "SELECT DISTINCT wstg_id FROM comments \
             WHERE project = $1 AND origin = 'tracker' AND dojo_note_id IS NULL \
               AND (post_started_at IS NULL OR post_started_at < $2)",
        )
        .bind(project.as_str())
        .bind(rows::millis(retry_before))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(format!(
            "items_with_unsent_comments({project})"
        )))?;
        let mut ids = found
            .iter()
            .map(|r| rows::wstg_id(get(r, "wstg_id")?))
            .collect::<Result<Vec<_>, _>>()?;
        ids.sort();
        Ok(ids)
    }

    /// The write-ahead mark, recorded before the note is POSTed.
    pub async fn mark_comment_posting(&self, id: Uuid) -> Result<(), StoreError> {
        let now = rows::millis(Utc::now());
        sqlx::query(
            "UPDATE comments SET post_started_at = $2, updated_at = $2 \
             WHERE id = $1",
        )
        .bind(rows::uuid_text(id))
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!("mark_comment_posting({id})")))?;
        Ok(())
    }

    /// Records the note a tracker comment is. A comment already linked
    /// keeps its note (worker and poller may both find it).
    pub async fn link_comment(&self, id: Uuid, note_id: i64) -> Result<(), StoreError> {
        let now = rows::millis(Utc::now());
        sqlx::query(
            "UPDATE comments SET dojo_note_id = $2, synced_at = $3, updated_at = $3 \
             WHERE id = $1 AND dojo_note_id IS NULL",
        )
        .bind(rows::uuid_text(id))
        .bind(note_id)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!("link_comment({id})")))?;
        Ok(())
    }

    /// Stores a DefectDojo note as a comment, once per note (`false`: it
    /// was already there).
    pub async fn import_comment(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        note_id: i64,
        author: &Username,
        body: &CommentBody,
        created_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let now = Utc::now();
        let done = sqlx::query(
            "INSERT INTO comments (id, project, wstg_id, author, body, created_at, origin, \
             dojo_note_id, synced_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'dojo', $7, $8, $8) \
             ON CONFLICT (project, dojo_note_id) DO NOTHING",
        )
        .bind(rows::uuid_text(Uuid::now_v7()))
        .bind(project.as_str())
        .bind(wstg_id.as_str())
        .bind(author.as_str())
        .bind(body.as_str())
        .bind(rows::millis(created_at.unwrap_or(now)))
        .bind(note_id)
        .bind(rows::millis(now))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!(
            "import_comment({project}/{wstg_id})"
        )))?;
        Ok(done.rows_affected() > 0)
    }
}
