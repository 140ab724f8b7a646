//! Redis for tests: one shared server, a unique key prefix per test.

pub fn redis_url() -> String {
    std::env::var("WSTG_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix no other test uses, e.g. `wstgtest:5f0c…`.
pub fn unique_prefix() -> String {
    format!("wstgtest:{}", uuid::Uuid::new_v4().simple())
}

/// The name of key `suffix` under the configured prefix `prefix`: every key
/// is `{prefix}:suffix` (a Redis Cluster hash tag; see wstg_queue::Keys).
pub fn key(prefix: &str, suffix: &str) -> String {
    format!("{{{prefix}}}:{suffix}")
}

/// Deletes every key under `prefix`, in the hash-tagged layout and the old
/// one (best effort; used by long-running suites).
pub async fn delete_prefix(prefix: &str) -> anyhow::Result<()> {
    let client = redis::Client::open(redis_url())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(key(prefix, "*"))
        .query_async(&mut conn)
        .await?;
    let old: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await?;
    keys.extend(old);
    if !keys.is_empty() {
        redis::cmd("DEL")
            .arg(keys)
            .query_async::<()>(&mut conn)
            .await?;
    }
    Ok(())
}

/// Length of the work stream under `prefix` (acknowledged entries are
/// deleted, so 0 means everything queued was processed).
pub async fn stream_len(prefix: &str) -> u64 {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("XLEN")
        .arg(key(prefix, "events"))
        .query_async(&mut conn)
        .await
        .unwrap()
}

/// The string value of `key`, if any.
pub async fn get(key: &str) -> Option<String> {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("GET")
        .arg(key)
        .query_async(&mut conn)
        .await
        .unwrap()
}

/// True when nothing is queued under `prefix`: no unfinished entry in the
/// work stream (acknowledged entries are deleted) and no retry or deferred
/// write waiting in the delayed set.
pub async fn queue_idle(prefix: &str) -> bool {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let (events, delayed): (u64, u64) = redis::pipe()
        .cmd("XLEN")
        .arg(key(prefix, "events"))
        .cmd("ZCARD")
        .arg(key(prefix, "delayed"))
        .query_async(&mut conn)
        .await
        .unwrap();
    events == 0 && delayed == 0
}
