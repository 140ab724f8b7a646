//! API tokens made with `wstgctl token create`: an admin token, or a tracker
//! token for some projects (read-only or read-write).
//!
//! Only the SHA-256 of a token is stored. A token is 256 bits from the
//! operating system's random source, so a fast unsalted hash is enough: no
//! dictionary or brute force reaches it, and a copy of the database opens
//! nothing (password hashes like Argon2 exist for low-entropy secrets that
//! people choose, which these are not). Looking a token up by its hash also
//! means no stored secret is ever compared byte by byte.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use uuid::Uuid;
use wstg_domain::ProjectName;

use crate::error::StoreError;
use crate::rows::{self, get};
use crate::states::UnknownValue;
use crate::store::Store;

/// Every token starts with this, so secret scanners and people recognise it.
pub const TOKEN_PREFIX: &str = "wstg_";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenRole {
    /// The admin endpoints (dead letters, projects) and every project.
    Admin,
    /// The projects of its grants.
    Tracker,
}

/// What a token may do with one project. `Write` includes `Read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Read,
    Write,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenGrant {
    pub project: ProjectName,
    pub access: Access,
}

/// A stored token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredToken {
    pub id: String,
    pub label: String,
    pub role: TokenRole,
    pub grants: Vec<TokenGrant>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token just made: the only time its secret exists outside the client.
pub struct NewToken {
    pub token: StoredToken,
    pub secret: String,
}

impl fmt::Debug for NewToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewToken")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl TokenRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenRole::Admin => "admin",
            TokenRole::Tracker => "tracker",
        }
    }
}

impl FromStr for TokenRole {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(TokenRole::Admin),
            "tracker" => Ok(TokenRole::Tracker),
            other => Err(UnknownValue {
                vocabulary: "token role",
                value: other.to_owned(),
            }),
        }
    }
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

impl FromStr for Access {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" | "ro" => Ok(Access::Read),
            "write" | "rw" => Ok(Access::Write),
            other => Err(UnknownValue {
                vocabulary: "access",
                value: other.to_owned(),
            }),
        }
    }
}

/// The stored form of a presented token: lowercase hex SHA-256.
pub fn hash_token(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{TOKEN_PREFIX}{hex}")
}

impl Store {
    /// Makes a token. A tracker token needs at least one grant; an admin
    /// token takes none (it has every project).
    pub async fn create_token(
        &self,
        label: &str,
        role: TokenRole,
        grants: &[TokenGrant],
    ) -> Result<NewToken, StoreError> {
        let secret = new_secret();
        let token = StoredToken {
            id: rows::uuid_text(Uuid::now_v7()),
            label: label.to_owned(),
            role,
            grants: grants.to_vec(),
            created_at: rows::to_store_precision(Utc::now()),
            revoked_at: None,
        };
        // One transaction: a token is never usable without its grants.
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(StoreError::query("create_token"))?;
        sqlx::query(
            "INSERT INTO api_tokens (id, token_hash, label, role, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&token.id)
        .bind(hash_token(&secret))
        .bind(label)
        .bind(role.as_str())
        .bind(rows::millis(token.created_at))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("create_token"))?;
        for g in grants {
            sqlx::query(
                "INSERT INTO api_token_projects (token_id, project, access) VALUES ($1, $2, $3) \
                 ON CONFLICT (token_id, project) DO UPDATE SET access = excluded.access",
            )
            .bind(&token.id)
            .bind(g.project.as_str())
            .bind(g.access.as_str())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("create_token grants"))?;
        }
        tx.commit()
            .await
            .map_err(StoreError::query("create_token"))?;
        Ok(NewToken { token, secret })
    }

    /// The live (not revoked) token whose secret is `presented`.
    pub async fn token_for_secret(
        &self,
        presented: &str,
    ) -> Result<Option<StoredToken>, StoreError> {
        let row = sqlx::query(
            "SELECT id, label, role, created_at, revoked_at FROM api_tokens \
             WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash_token(presented))
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::query("token lookup"))?;
        match row {
            None => Ok(None),
            Some(row) => self.with_grants(&row).await.map(Some),
        }
    }

    /// Every token (revoked ones too), oldest first; no secrets.
    pub async fn tokens(&self) -> Result<Vec<StoredToken>, StoreError> {
        let found = sqlx::query(
            "SELECT id, label, role, created_at, revoked_at FROM api_tokens ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query("tokens"))?;
        let mut out = Vec::with_capacity(found.len());
        for row in &found {
            out.push(self.with_grants(row).await?);
        }
        Ok(out)
    }

    /// Revokes token `id`; true if it was live.
    pub async fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(rows::millis(Utc::now()))
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("revoke_token"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn with_grants(&self, row: &AnyRow) -> Result<StoredToken, StoreError> {
        let id: String = get(row, "id")?;
        let role: String = get(row, "role")?;
        let grants =
            sqlx::query("SELECT project, access FROM api_token_projects WHERE token_id = $1")
                .bind(&id)
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::query("token grants"))?
                .iter()
                .map(|g| {
                    let project: String = get(g, "project")?;
                    let access: String = get(g, "access")?;
                    Ok(TokenGrant {
                        project: rows::project(&project)?,
                        access: access
                            .parse()
                            .map_err(|e| StoreError::corrupt("token access", e))?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(StoredToken {
            id,
            label: get(row, "label")?,
            role: role
                .parse()
                .map_err(|e| StoreError::corrupt("token role", e))?,
            grants,
            created_at: rows::time(get(row, "created_at")?, "token created_at")?,
            revoked_at: rows::opt_time(get(row, "revoked_at")?, "token revoked_at")?,
        })
    }
}
