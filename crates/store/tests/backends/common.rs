//! Fixtures shared by the behaviour tests.

use chrono::{DateTime, Duration, Utc};
use test_support::FreshDb;
use uuid::Uuid;
use wstg_domain::sync::ItemState;
use wstg_domain::{
    Catalogue, CatalogueVersion, DojoItem, Notes, ProjectName, Status, TrackerChange, WstgId,
};
use wstg_store::Store;

/// Generates, for each named `async fn name(db: &FreshDb)` in scope, a module
/// `name` with the tests `sqlite` and `postgres`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                test_support::init_test_logging();
                let db = test_support::fresh_sqlite();
                super::$name(&db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                test_support::init_test_logging();
                let db = test_support::fresh_postgres()
                    .await
                    .expect("PostgreSQL on 127.0.0.1:5432 (WSTG_TEST_POSTGRES_URL)");
                super::$name(&db).await;
            }
        }
    )*};
}

/// The store on `db`, migrated first (connecting never migrates).
pub async fn store(db: &FreshDb) -> Store {
    Store::migrate(&db.url)
        .await
        .unwrap_or_else(|e| panic!("migrate {} failed: {e}", db.kind));
    Store::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("connect to {} failed: {e}", db.kind))
}

pub fn project(name: &str) -> ProjectName {
    ProjectName::parse(name).unwrap()
}

pub fn wstg(raw: &str) -> WstgId {
    Catalogue::get(CatalogueVersion::V4_2)
        .parse_id(raw)
        .unwrap()
}

/// A fixed instant plus `ms` milliseconds: whole milliseconds, as stored.
pub fn at(ms: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::milliseconds(ms)
}

pub fn notes(text: &str) -> Notes {
    Notes::parse(text).unwrap()
}

pub fn state(status: Status, text: &str) -> ItemState {
    ItemState {
        status,
        notes: notes(text),
        assignee: None,
    }
}

pub fn change(
    id: &WstgId,
    status: Status,
    text: Option<&str>,
    when: DateTime<Utc>,
) -> TrackerChange {
    TrackerChange {
        wstg_id: id.clone(),
        status,
        notes: text.map(notes),
        occurred_at: when,
        user: Some("alice".to_owned()),
        assignee: None,
    }
}

/// `n` event ids in increasing order.
pub fn event_ids<const N: usize>() -> [Uuid; N] {
    let mut ids = [(); N].map(|_| Uuid::now_v7());
    ids.sort();
    ids
}

pub fn dojo(finding_id: i64, status: Status, text: &str) -> DojoItem {
    let flags = wstg_domain::mapping::flags_for(status);
    DojoItem {
        finding_id,
        flags,
        tags: vec![
            "wstg".to_owned(),
            format!("wstg-status:{}", status.as_str()),
        ],
        notes: text.to_owned(),
        updated: Some("2026-03-01T09:05:00.123456Z".to_owned()),
        last_status_update: Some("2026-03-01T09:05:00.123456Z".to_owned()),
    }
}
