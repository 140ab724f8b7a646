//! Data lifecycle in Redis: the dead-letter queue held to its age and size
//! bounds (every drop counted and named), the envelope's schema version, and
//! the start-up check that Redis persists.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use chrono::Utc;
use common::*;
use wstg_domain::Envelope;
use wstg_domain::{
    Catalogue, CatalogueVersion, EnvelopeError, EventKind, ProjectName, ENVELOPE_VERSION,
};
use wstg_queue::{DlqBounds, DlqDropReason, Queue, QueueConfig};

const DAY_MS: i64 = 86_400_000;

/// What a drop names: event, project, item, reason.
type Named<'a> = (
    Option<uuid::Uuid>,
    Option<&'a str>,
    Option<&'a str>,
    DlqDropReason,
);

/// A reconcile event for one item, so a drop can name the item.
fn item_envelope(wstg_id: &str) -> Envelope {
    let id = Catalogue::get(CatalogueVersion::V4_2)
        .parse_id(wstg_id)
        .unwrap();
    Envelope::new(
        ProjectName::parse("client-a").unwrap(),
        EventKind::Reconcile {
            wstg_id: Some(id),
            reason: "test".into(),
            observed: None,
        },
        Utc::now(),
    )
}

async fn bounded(bounds: DlqBounds, prefix: &str) -> Queue {
    queue_with(QueueConfig {
        dlq_bounds: bounds,
        ..QueueConfig {
            prefix: prefix.to_owned(),
            ..config()
        }
    })
    .await
}

async fn dlq_event_ids(q: &Queue) -> Vec<uuid::Uuid> {
    q.dlq_list(1000)
        .await
        .unwrap()
        .iter()
        .map(|d| d.event_id().unwrap())
        .collect()
}

#[tokio::test]
async fn a_flood_of_dead_letters_never_grows_the_dlq_past_its_size_bound() {
    let prefix = test_support::unique_prefix();
    let q = bounded(
        DlqBounds {
            max_entries: Some(3),
            max_age: None,
        },
        &prefix,
    )
    .await;
    let envs: Vec<Envelope> = [
        "WSTG-INFO-01",
        "WSTG-INFO-02",
        "WSTG-INFO-03",
        "WSTG-INFO-04",
        "WSTG-INFO-05",
    ]
    .iter()
    .map(|id| item_envelope(id))
    .collect();
    for (i, env) in envs.iter().enumerate() {
        q.dead_letter(env, "", "DefectDojo said 400").await.unwrap();
        assert!(xlen(&q.keys().dlq).await <= 3, "after dead letter {i}");
    }
    // The newest three stay, the oldest two went, counted.
    assert_eq!(
        dlq_event_ids(&q).await,
        envs[2..].iter().map(|e| e.event_id).collect::<Vec<_>>()
    );
    assert_eq!(q.dlq_dropped().await.unwrap(), 2);
    assert_eq!(
        q.stats().await.unwrap().dlq_dropped,
        2,
        "shown in the status"
    );

    // What is kept replays as before.
    let kept = q.dlq_list(10).await.unwrap();
    let back = q.dlq_replay(&kept[0].id).await.unwrap();
    assert!(back.is_some());
    let mut c = q.consumer("c").await.unwrap();
    let d = read_n(&mut c, 1).await.remove(0);
    assert_eq!(d.envelope.unwrap().event_id, envs[2].event_id);
    let _ = test_support::redis_env::delete_prefix(&prefix).await;
}

#[tokio::test]
async fn the_retention_run_drops_over_age_then_over_size_oldest_first_and_names_each() {
    let prefix = test_support::unique_prefix();
    // Dead letters written with no bound: two from 40 and 35 days ago (their
    // ids carry the time Redis added them), then four fresh ones.
    let unbounded = bounded(DlqBounds::UNBOUNDED, &prefix).await;
    let now_ms = Utc::now().timestamp_millis();
    let old: Vec<Envelope> = ["WSTG-ATHN-01", "WSTG-ATHN-02"]
        .iter()
        .map(|id| item_envelope(id))
        .collect();
    for (env, age_days) in old.iter().zip([40, 35]) {
        let _: String = redis::cmd("XADD")
            .arg(&unbounded.keys().dlq)
            .arg(format!("{}-0", now_ms - age_days * DAY_MS))
            .arg("data")
            .arg(serde_json::to_string(env).unwrap())
            .arg("event_id")
            .arg(env.event_id.to_string())
            .arg("error")
            .arg("old failure")
            .query_async(&mut raw().await)
            .await
            .unwrap();
    }
    let fresh: Vec<Envelope> = [
        "WSTG-INFO-01",
        "WSTG-INFO-02",
        "WSTG-INFO-03",
        "WSTG-INFO-04",
    ]
    .iter()
    .map(|id| item_envelope(id))
    .collect();
    for env in &fresh {
        unbounded.dead_letter(env, "", "boom").await.unwrap();
    }
    assert_eq!(
        unbounded.dlq_enforce_bounds().await.unwrap(),
        vec![],
        "no bound, no drop"
    );
    assert_eq!(xlen(&unbounded.keys().dlq).await, 6);

    // 30 days and 3 entries: the two old ones go for their age, then the
    // oldest fresh one for the size.
    let q = bounded(
        DlqBounds {
            max_entries: Some(3),
            max_age: Some(Duration::from_secs(30 * 86_400)),
        },
        &prefix,
    )
    .await;
    let dropped = q.dlq_enforce_bounds().await.unwrap();
    let named: Vec<Named> = dropped
        .iter()
        .map(|d| {
            (
                d.event_id,
                d.project.as_deref(),
                d.wstg_id.as_deref(),
                d.reason,
            )
        })
        .collect();
    assert_eq!(
        named,
        vec![
            (
                Some(old[0].event_id),
                Some("client-a"),
                Some("WSTG-ATHN-01"),
                DlqDropReason::Age
            ),
            (
                Some(old[1].event_id),
                Some("client-a"),
                Some("WSTG-ATHN-02"),
                DlqDropReason::Age
            ),
            (
                Some(fresh[0].event_id),
                Some("client-a"),
                Some("WSTG-INFO-01"),
                DlqDropReason::Size
            ),
        ]
    );
    assert_eq!(q.dlq_dropped().await.unwrap(), 3);
    assert_eq!(
        dlq_event_ids(&q).await,
        fresh[1..].iter().map(|e| e.event_id).collect::<Vec<_>>(),
        "the rest is kept"
    );
    assert_eq!(
        q.dlq_enforce_bounds().await.unwrap(),
        vec![],
        "nothing more to drop"
    );
    assert_eq!(q.dlq_dropped().await.unwrap(), 3);

    // Every kept one still replays.
    assert_eq!(q.dlq_replay_all().await.unwrap(), 3);
    assert_eq!(xlen(&q.keys().events).await, 3);
    let _ = test_support::redis_env::delete_prefix(&prefix).await;
}

#[tokio::test]
async fn an_envelope_of_a_newer_version_is_refused_by_type_and_an_unversioned_one_reads_as_1() {
    let q = queue().await;
    let mut newer = serde_json::to_value(item_envelope("WSTG-INFO-01")).unwrap();
    newer["version"] = serde_json::json!(ENVELOPE_VERSION + 1);
    let mut unversioned = serde_json::to_value(item_envelope("WSTG-INFO-02")).unwrap();
    unversioned.as_object_mut().unwrap().remove("version");
    for v in [&newer, &unversioned] {
        let _: String = redis::cmd("XADD")
            .arg(&q.keys().events)
            .arg("*")
            .arg("data")
            .arg(v.to_string())
            .arg("event_id")
            .arg(v["event_id"].as_str().unwrap())
            .query_async(&mut raw().await)
            .await
            .unwrap();
    }
    let mut c = q.consumer("c").await.unwrap();
    let got = read_n(&mut c, 2).await;
    assert_eq!(
        got[0].envelope.as_ref().unwrap_err(),
        &EnvelopeError::UnsupportedVersion {
            found: u64::from(ENVELOPE_VERSION + 1),
            supported: ENVELOPE_VERSION
        }
    );
    assert_eq!(got[0].event_id().unwrap().to_string(), newer["event_id"]);
    assert_eq!(got[1].envelope.as_ref().unwrap().version, 1);

    // Published envelopes carry the current version.
    q.publish(&item_envelope("WSTG-INFO-03")).await.unwrap();
    let d = read_n(&mut c, 1).await.remove(0);
    let json: serde_json::Value = serde_json::from_str(&d.raw).unwrap();
    assert_eq!(json["version"], ENVELOPE_VERSION);
}

/// A redis-server of our own on a free port (killed when dropped), started
/// with `args`.
struct PrivateRedis {
    child: std::process::Child,
    port: u16,
}

impl PrivateRedis {
    async fn start(args: &[&str]) -> PrivateRedis {
        let port = test_support::process::free_port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--dir",
                std::env::temp_dir().to_str().unwrap(),
            ])
            .args(["--appendfilename", &format!("wstg-aof-check-{port}.aof")])
            .args(["--appenddirname", &format!("wstg-aof-check-{port}")])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        let url = format!("redis://127.0.0.1:{port}");
        test_support::eventually_async(Duration::from_secs(10), "private redis answers", || {
            let url = url.clone();
            async move {
                let c = redis::Client::open(url.as_str()).ok()?;
                let mut conn = c.get_multiplexed_async_connection().await.ok()?;
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .ok()
            }
        })
        .await;
        PrivateRedis { child, port }
    }

    async fn queue(&self) -> Queue {
        queue_with(QueueConfig::new(
            format!("redis://127.0.0.1:{}", self.port),
            "wstg",
        ))
        .await
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::env::temp_dir().join(format!("wstg-aof-check-{}", self.port));
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn the_persistence_check_tells_aof_on_from_off_and_says_when_it_cannot_tell() {
    let on = PrivateRedis::start(&["--appendonly", "yes"]).await;
    assert_eq!(on.queue().await.check_persistence().await.unwrap(), None);

    let off = PrivateRedis::start(&["--appendonly", "no"]).await;
    let warning = off
        .queue()
        .await
        .check_persistence()
        .await
        .unwrap()
        .unwrap();
    assert!(warning.contains("appendonly no"), "{warning}");
    let all = off.queue().await.startup_warnings().await;
    assert!(
        all.contains(&warning),
        "logged at start beside the eviction check: {all:?}"
    );

    // CONFIG disabled (as on managed Redis): INFO persistence still tells.
    let no_config =
        PrivateRedis::start(&["--appendonly", "yes", "--rename-command", "CONFIG", ""]).await;
    assert_eq!(
        no_config.queue().await.check_persistence().await.unwrap(),
        None
    );
    let no_config_off =
        PrivateRedis::start(&["--appendonly", "no", "--rename-command", "CONFIG", ""]).await;
    let warning = no_config_off
        .queue()
        .await
        .check_persistence()
        .await
        .unwrap()
        .unwrap();
    assert!(warning.contains("appendonly no"), "{warning}");

    // Neither CONFIG nor INFO: say it could not be checked.
    let blind = PrivateRedis::start(&[
        "--appendonly",
        "yes",
        "--rename-command",
        "CONFIG",
        "",
        "--rename-command",
        "INFO",
        "",
    ])
    .await;
    let warning = blind
        .queue()
        .await
        .check_persistence()
        .await
        .unwrap()
        .unwrap();
    assert!(warning.contains("could not check"), "{warning}");
}
