//! Fresh databases: a new PostgreSQL database or a new SQLite file per test.

use std::path::PathBuf;

/// A database that exists for one test. PostgreSQL databases are dropped
/// when the value is dropped; SQLite files live in a temp dir that is removed.
pub struct FreshDb {
    pub url: String,
    pub kind: &'static str,
    cleanup: Cleanup,
}

enum Cleanup {
    Postgres { admin_url: String, name: String },
    Sqlite { dir: PathBuf },
}

fn postgres_admin_url() -> String {
    std::env::var("WSTG_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Creates an empty PostgreSQL database named `wstg_test_<uuid>`.
pub async fn fresh_postgres() -> anyhow::Result<FreshDb> {
    use sqlx::Connection;
    let admin_url = postgres_admin_url();
    let name = format!("wstg_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await?;
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or(admin_url.clone());
    Ok(FreshDb {
        url: format!("{base}/{name}"),
        kind: "postgres",
        cleanup: Cleanup::Postgres { admin_url, name },
    })
}

/// A path for a new SQLite database file in its own temp directory.
pub fn fresh_sqlite() -> FreshDb {
    let dir = std::env::temp_dir().join(format!("wstg-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    FreshDb {
        url: format!("sqlite://{}?mode=rwc", dir.join("wstg.db").display()),
        kind: "sqlite",
        cleanup: Cleanup::Sqlite { dir },
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                // Drop in a thread with its own runtime: Drop may run inside or
                // outside a Tokio runtime.
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async move {
                        use sqlx::Connection;
                        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                            let _ = sqlx::query(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .execute(&mut conn)
                            .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}
