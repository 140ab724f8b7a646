//! Connection setup: one shared multiplexed connection for everything that
//! does not block, and a bounded pool (deadpool-redis; deadpool for a cluster or Sentinel) of connections for what
//! blocks: each consumer loop's XREADGROUP BLOCK and each feed reader's
//! XREAD BLOCK hold one pooled connection while they run.
//!
//! Three kinds of Redis, chosen by the URL's scheme (see [`Target::parse`]):
//!
//! | URL | kind | shared connection | pooled connection |
//! |-----|------|-------------------|-------------------|
//! | `redis://h:6379/0`, `rediss://…` | one server | `ConnectionManager` | `MultiplexedConnection` |
//! | `redis+cluster://h1:7000,h2:7001,h3:7002` | Redis Cluster | cluster connection (redis-rs routes by slot, follows MOVED/ASK, refreshes its slot map after a failover) | its own cluster connection |
//! | `redis+sentinel://s1:26379,s2:26379/mymaster/0` | Sentinel-managed primary | a multiplexed connection to the master the sentinels name, re-resolved after a connection error or READONLY | same, re-resolved on each new connection |
//!
//! A password in the URL (`redis+cluster://:pw@h1:7000,…`,
//! `redis+sentinel://:pw@s1:26379,…/mymaster`) is the data nodes'; the
//! sentinels are asked without one. All of it stays behind [`Connection`],
//! so the rest of the code sends commands the same way to each kind.
//!
//! Why two kinds of connection:
//! - Publishing through one multiplexed `ConnectionManager` measured ~71k
//!   XADD/s from actix-web, against 25–33k for a pool checkout per request,
//!   and the manager reconnects by itself after a connection loss. A single
//!   server keeps exactly that path: [`Connection`] adds one enum match per
//!   command, no round trip.
//! - A blocking XREADGROUP holds its connection until data arrives or BLOCK
//!   expires; on the shared connection it would stall every publish queued
//!   behind it (redis-rs #1236), and a cluster connection multiplexes one
//!   connection per node the same way. So each consumer gets its own.
//! - redis 1.x gives every async connection a 500 ms response timeout by
//!   default (redis-rs #1924): a BLOCK 2000 read would fail on every empty
//!   poll. Both kinds get explicit timeouts; the pool's exceeds BLOCK, and
//!   every blocking read is clamped to the configured `block`. (That is why
//!   the pool's manager is ours: deadpool-redis's cluster and sentinel
//!   managers cannot be given a response timeout.)
//! - The pool is bounded (`blocking_pool_size`, waiting at most `POOL_WAIT`
//!   for a free connection): a process can never open Redis connections
//!   without limit, whatever its callers do. The ingest's live streams share
//!   one feed reader (a broadcast in wstg-ingest), so a thousand open
//!   streams cost one pooled connection, not a thousand (issue 9: 296
//!   streams once exhausted a Redis with `maxclients 300`).
//! - Pooled connections are named `wstg:<prefix>:<role>` (CLIENT SETNAME)
//!   so `CLIENT LIST` shows which deployment and role holds each.
//!
//! Failover: a command that fails because its node went away or was demoted
//! (connection errors, timeouts, READONLY, CLUSTERDOWN, TRYAGAIN) returns a
//! [transient](QueueError::is_transient) error and its caller retries (the
//! worker loop backs off, the ingest answers 503 and the sender resends);
//! the next command goes to the new primary. Nothing is retried inside this
//! module, so nothing is applied twice behind the caller's back.

use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Metrics, Object, Pool, RecycleError, RecycleResult};
use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    AsyncConnectionConfig, Client, Cmd, ErrorKind, IntoConnectionInfo, Pipeline, RedisError,
    RedisFuture, RedisResult, ServerErrorKind, Value,
};

use crate::config::{QueueConfig, CONNECT_TIMEOUT, POOL_WAIT, SHARED_RESPONSE_TIMEOUT};
use crate::error::{server_code, QueueError};
use crate::keys::{Keys, GROUP};

/// Which kind of Redis a URL names, parsed but not connected.
#[derive(Clone)]
pub(crate) enum Target {
    /// One server (`redis://`, `rediss://`, `unix://`).
    Standalone(Client),
    /// Redis Cluster: the seed nodes, each a `redis://` URL with the
    /// credentials.
    Cluster(Vec<String>),
    /// A primary managed by Redis Sentinel.
    Sentinel(Arc<tokio::sync::Mutex<SentinelClient>>),
}

/// The URL schemes of a Redis Cluster, by the scheme of its nodes.
const CLUSTER_SCHEMES: &[(&str, &str)] =
    &[("redis+cluster", "redis"), ("rediss+cluster", "rediss")];
const SENTINEL_SCHEME: &str = "redis+sentinel";

impl Target {
    /// Parses `cfg.redis_url`. Errors name the URL redacted, never as given.
    pub(crate) fn parse(cfg: &QueueConfig) -> Result<Target, QueueError> {
        let url = cfg.redis_url.as_str();
        let bad = |why: String| {
            QueueError::Config(format!(
                "redis_url {} is not usable: {why}",
                cfg.redacted_url()
            ))
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("no scheme".into()))?;
        if let Some((_, node_scheme)) = CLUSTER_SCHEMES.iter().find(|(s, _)| *s == scheme) {
            let (userinfo, hosts, path) = split_authority(rest);
            if !path.trim_matches('/').is_empty() {
                return Err(bad("a cluster has no database number (only db 0)".into()));
            }
            let nodes: Vec<String> = hosts
                .split(',')
                .filter(|h| !h.is_empty())
                .map(|h| format!("{node_scheme}://{userinfo}{h}"))
                .collect();
            if nodes.is_empty() {
                return Err(bad("no cluster node given".into()));
            }
            // Checks every node URL now, so a typo fails at startup.
            for n in &nodes {
                n.as_str()
                    .into_connection_info()
                    .map_err(|e| bad(e.to_string()))?;
            }
            return Ok(Target::Cluster(nodes));
        }
        if scheme == SENTINEL_SCHEME {
            let (userinfo, hosts, path) = split_authority(rest);
            let mut parts = path.trim_matches('/').split('/');
            let master = parts.next().unwrap_or_default();
            if master.is_empty() {
                return Err(bad(
                    "name the master: redis+sentinel://host:26379,host2:26379/<master>[/<db>]"
                        .into(),
                ));
            }
            let db = parts.next().unwrap_or("0");
            let mut sentinels = Vec::new();
            for h in hosts.split(',').filter(|h| !h.is_empty()) {
                let info = format!("redis://{h}")
                    .as_str()
                    .into_connection_info()
                    .map_err(|e| bad(e.to_string()))?;
                sentinels.push(info.addr().clone());
            }
            let Some(first) = hosts.split(',').find(|h| !h.is_empty()) else {
                return Err(bad("no sentinel given".into()));
            };
            // The data nodes' credentials and database, parsed (and
            // percent-decoded) by the redis crate itself.
            let data = format!("redis://{userinfo}{first}/{db}")
                .as_str()
                .into_connection_info()
                .map_err(|e| bad(e.to_string()))?;
            let data = data.redis_settings();
            let mut builder =
                SentinelClientBuilder::new(sentinels, master, SentinelServerType::Master)
                    .map_err(|e| bad(e.to_string()))?
                    .set_client_to_redis_db(data.db());
            if let Some(u) = data.username() {
                builder = builder.set_client_to_redis_username(u);
            }
            if let Some(p) = data.password() {
                builder = builder.set_client_to_redis_password(p);
            }
            let client = builder.build().map_err(|e| bad(e.to_string()))?;
            return Ok(Target::Sentinel(Arc::new(tokio::sync::Mutex::new(client))));
        }
        // The redis crate's URL errors do not echo the URL.
        Client::open(url)
            .map(Target::Standalone)
            .map_err(|e| bad(e.to_string()))
    }

    fn cluster_client(nodes: &[String], response_timeout: Duration) -> RedisResult<ClusterClient> {
        ClusterClientBuilder::new(nodes.to_vec())
            .connection_timeout(CONNECT_TIMEOUT)
            .response_timeout(response_timeout)
            // Few retries inside one call (MOVED after a failover, a node
            // briefly refusing): the caller backs off itself, and the ingest
            // should answer 503 soon rather than hang.
            .retries(2)
            .build()
    }
}

/// `user:pw@h1:1,h2:2/path` → (`user:pw@`, `h1:1,h2:2`, `/path`).
fn split_authority(rest: &str) -> (&str, &str, &str) {
    let end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    match authority.rfind('@') {
        Some(at) => (&authority[..=at], &authority[at + 1..], path),
        None => ("", authority, path),
    }
}

/// The shared connection to Redis, whatever its kind. Cheap to clone:
/// clones share the underlying multiplexed connection(s). Never send a
/// blocking command on it.
#[derive(Clone)]
pub struct Connection(Shared);

#[derive(Clone)]
enum Shared {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel(SentinelShared),
}

/// How long a publish on a Sentinel-managed primary waits for one replica
/// to confirm it (`WAIT 1 <ms>`).
pub(crate) const REPLICA_WAIT_MS: u64 = 500;

impl Connection {
    /// True when a publish must wait for a replica before it counts as
    /// done: on a Sentinel-managed primary. After `SENTINEL FAILOVER` (or a
    /// partition) the old primary keeps accepting writes until the
    /// sentinels demote it, up to ~10 s, and then discards them; a publish
    /// confirmed by the replica that is promoted survives. One server has
    /// no replica to wait for, and the cluster test setup none either.
    pub(crate) fn waits_for_replica(&self) -> bool {
        matches!(self.0, Shared::Sentinel(_))
    }

    /// True on Redis Cluster, where the old (untagged) key layout never ran.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self.0, Shared::Cluster(_))
    }

    /// Drops the current master connection so the next command asks the
    /// sentinels again (no-op for the other kinds, which follow failovers
    /// by themselves).
    pub(crate) async fn lost_master(&self) {
        if let Shared::Sentinel(s) = &self.0 {
            *s.current.lock().await = None;
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match &mut self.0 {
            Shared::Standalone(c) => c.req_packed_command(cmd),
            Shared::Cluster(c) => c.req_packed_command(cmd),
            Shared::Sentinel(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipe: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match &mut self.0 {
            Shared::Standalone(c) => c.req_packed_commands(pipe, offset, count),
            Shared::Cluster(c) => c.req_packed_commands(pipe, offset, count),
            Shared::Sentinel(c) => c.req_packed_commands(pipe, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match &self.0 {
            Shared::Standalone(c) => c.get_db(),
            Shared::Cluster(c) => c.get_db(),
            Shared::Sentinel(_) => 0,
        }
    }
}

/// A multiplexed connection to whichever server the sentinels call the
/// master. Dropped after an error that says it is gone or no longer the
/// master (READONLY after a failover demoted it), so the next command asks
/// the sentinels again. Connecting is serialised: callers arriving during a
/// reconnect wait for that one attempt.
#[derive(Clone)]
struct SentinelShared {
    client: Arc<tokio::sync::Mutex<SentinelClient>>,
    current: Arc<tokio::sync::Mutex<Option<MultiplexedConnection>>>,
    config: AsyncConnectionConfig,
}

impl SentinelShared {
    async fn get(&self) -> RedisResult<MultiplexedConnection> {
        let mut current = self.current.lock().await;
        if let Some(c) = current.as_ref() {
            return Ok(c.clone());
        }
        let conn = self
            .client
            .lock()
            .await
            .get_async_connection_with_config(&self.config)
            .await?;
        tracing::info!("connected to the master named by the sentinels");
        *current = Some(conn.clone());
        Ok(conn)
    }

    async fn forget_if<T>(&self, r: &RedisResult<T>) {
        if let Err(e) = r {
            if needs_new_master(e) {
                tracing::warn!(error = %e, "lost the master; asking the sentinels again");
                *self.current.lock().await = None;
            }
        }
    }

    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut conn = self.get().await?;
            let r = conn.req_packed_command(cmd).await;
            self.forget_if(&r).await;
            r
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipe: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let mut conn = self.get().await?;
            let r = conn.req_packed_commands(pipe, offset, count).await;
            self.forget_if(&r).await;
            r
        })
    }
}

/// True when the server a connection reaches can no longer take our
/// writes: it is gone, or it was demoted to a replica.
fn needs_new_master(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_unrecoverable_error()
        || matches!(e.kind(), ErrorKind::Server(ServerErrorKind::ReadOnly))
}

/// The shared, self-reconnecting connection. After a connection loss the
/// command in flight fails (transient) and the connection is replaced: the
/// manager reconnects in the background (one server), the cluster
/// connection refreshes its slot map, the sentinel connection asks the
/// sentinels for the master.
///
/// Each standalone attempt retries only twice (100 ms, 200 ms, jittered):
/// the crate's default of 6 retries made every publish during an outage
/// hang ~5 s before failing, where the ingest API should answer 503 at once
/// and let the sender retry.
pub(crate) async fn shared(target: &Target) -> Result<Connection, QueueError> {
    let shared = match target {
        Target::Standalone(client) => {
            let config = ConnectionManagerConfig::new()
                .set_response_timeout(Some(SHARED_RESPONSE_TIMEOUT))
                .set_connection_timeout(Some(CONNECT_TIMEOUT))
                .set_min_delay(Duration::from_millis(100))
                .set_number_of_retries(2)
                .set_max_delay(Duration::from_secs(1));
            Shared::Standalone(client.get_connection_manager_with_config(config).await?)
        }
        Target::Cluster(nodes) => Shared::Cluster(
            Target::cluster_client(nodes, SHARED_RESPONSE_TIMEOUT)?
                .get_async_connection()
                .await?,
        ),
        Target::Sentinel(client) => {
            let s = SentinelShared {
                client: client.clone(),
                current: Arc::default(),
                config: AsyncConnectionConfig::new()
                    .set_response_timeout(Some(SHARED_RESPONSE_TIMEOUT))
                    .set_connection_timeout(Some(CONNECT_TIMEOUT)),
            };
            s.get().await?;
            Shared::Sentinel(s)
        }
    };
    Ok(Connection(shared))
}

/// A connection of the blocking pool, of the kind the URL names.
pub(crate) enum Blocking {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Blocking {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Blocking::Single(c) => c.req_packed_command(cmd),
            Blocking::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipe: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Blocking::Single(c) => c.req_packed_commands(pipe, offset, count),
            Blocking::Cluster(c) => c.req_packed_commands(pipe, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Blocking::Single(c) => c.get_db(),
            Blocking::Cluster(c) => c.get_db(),
        }
    }
}

/// Opens blocking connections to a cluster or a sentinel-managed primary,
/// each with a response timeout above `block` (one server's come from
/// deadpool-redis's own manager).
pub(crate) struct Manager {
    target: Target,
    /// Built once: a cluster client holds the seed nodes and settings.
    cluster: Option<ClusterClient>,
    config: AsyncConnectionConfig,
}

impl managed::Manager for Manager {
    type Type = Blocking;
    type Error = RedisError;

    async fn create(&self) -> Result<Blocking, RedisError> {
        match (&self.target, &self.cluster) {
            (_, Some(cluster)) => Ok(Blocking::Cluster(cluster.get_async_connection().await?)),
            (Target::Standalone(client), None) => Ok(Blocking::Single(
                client
                    .get_multiplexed_async_connection_with_config(&self.config)
                    .await?,
            )),
            // Every new connection asks the sentinels, so after a failover
            // the pool reaches the new master.
            (Target::Sentinel(client), None) => Ok(Blocking::Single(
                client
                    .lock()
                    .await
                    .get_async_connection_with_config(&self.config)
                    .await?,
            )),
            (Target::Cluster(_), None) => unreachable!("a cluster target always has its client"),
        }
    }

    async fn recycle(&self, conn: &mut Blocking, _: &Metrics) -> RecycleResult<RedisError> {
        // ROLE, not PING: a sentinel-managed connection that survived a
        // failover may now reach a replica (the cluster client routes by
        // itself and answers for the node it asks).
        if let Blocking::Single(c) = conn {
            if matches!(self.target, Target::Sentinel(_)) {
                let role: Vec<Value> = redis::cmd("ROLE").query_async(c).await?;
                return match role.first() {
                    Some(Value::BulkString(r)) if r == b"master" => Ok(()),
                    _ => Err(RecycleError::message("no longer the master")),
                };
            }
        }
        redis::cmd("PING").query_async::<()>(conn).await?;
        Ok(())
    }
}

/// A connection taken from the blocking pool; back in the pool on drop
/// (or gone for good after [`discard`]).
pub(crate) enum Dedicated {
    /// From deadpool-redis's pool (one server).
    Single(deadpool_redis::Connection),
    /// From the cluster or sentinel pool.
    Topology(Object<Manager>),
}

impl ConnectionLike for Dedicated {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Dedicated::Single(c) => c.req_packed_command(cmd),
            Dedicated::Topology(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipe: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Dedicated::Single(c) => c.req_packed_commands(pipe, offset, count),
            Dedicated::Topology(c) => c.req_packed_commands(pipe, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Dedicated::Single(c) => c.get_db(),
            Dedicated::Topology(c) => c.get_db(),
        }
    }
}

/// The bounded blocking pool: deadpool-redis's own for one server (the
/// default deployment), and deadpool with [`Manager`] for a cluster or a
/// sentinel-managed primary, whose deadpool-redis managers cannot be given
/// the response timeout a BLOCK read needs.
#[derive(Clone)]
pub(crate) enum BlockingPool {
    Single(deadpool_redis::Pool),
    Topology(Pool<Manager>),
}

impl BlockingPool {
    /// Connections open, and how many of them are idle in the pool.
    pub(crate) fn status(&self) -> deadpool::Status {
        match self {
            BlockingPool::Single(p) => p.status(),
            BlockingPool::Topology(p) => p.status(),
        }
    }
}

/// The bounded pool of connections for blocking commands. No connection is
/// opened until one is asked for.
pub(crate) fn blocking_pool(
    cfg: &QueueConfig,
    target: &Target,
) -> Result<BlockingPool, QueueError> {
    let timeout = cfg.consumer_response_timeout();
    let config = AsyncConnectionConfig::new()
        .set_response_timeout(Some(timeout))
        .set_connection_timeout(Some(CONNECT_TIMEOUT));
    let built =
        |e: &dyn std::fmt::Display| QueueError::Config(format!("blocking connection pool: {e}"));
    if let Target::Standalone(_) = target {
        let manager = deadpool_redis::Manager::new_with_config(cfg.redis_url.as_str(), config)
            .map_err(|e| {
                QueueError::Config(format!(
                    "redis_url {} is not usable: {e}",
                    cfg.redacted_url()
                ))
            })?;
        return deadpool_redis::Pool::builder(manager)
            .max_size(cfg.blocking_pool_size)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .runtime(deadpool_redis::Runtime::Tokio1)
            .build()
            .map(BlockingPool::Single)
            .map_err(|e| built(&e));
    }
    let cluster = match target {
        Target::Cluster(nodes) => Some(Target::cluster_client(nodes, timeout)?),
        _ => None,
    };
    let manager = Manager {
        target: target.clone(),
        cluster,
        config,
    };
    Pool::builder(manager)
        .max_size(cfg.blocking_pool_size)
        .wait_timeout(Some(POOL_WAIT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map(BlockingPool::Topology)
        .map_err(|e| built(&e))
}

/// A pooled connection for a blocking reader, named
/// `wstg:<prefix>:<role>` so `CLIENT LIST` shows which replica holds which
/// connection.
pub(crate) async fn dedicated(
    pool: &BlockingPool,
    cfg: &QueueConfig,
    role: &str,
) -> Result<Dedicated, QueueError> {
    let mut conn = match pool {
        BlockingPool::Single(p) => Dedicated::Single(p.get().await.map_err(QueueError::from_pool)?),
        BlockingPool::Topology(p) => {
            Dedicated::Topology(p.get().await.map_err(QueueError::from_pool)?)
        }
    };
    let name: String = format!("wstg:{}:{role}", cfg.prefix)
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    // Best effort: an ACL may forbid CLIENT; the name is only a convenience.
    // (On a cluster connection it names the connection to one node.)
    if let Err(e) = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg(name)
        .query_async::<()>(&mut conn)
        .await
    {
        let e = QueueError::from(e);
        if e.is_transient() {
            discard(conn);
            return Err(e);
        }
        tracing::debug!(error = %e, "could not name the pooled connection");
    }
    Ok(conn)
}

/// Takes a broken connection out of the pool instead of returning it, so the
/// pool opens a fresh one for the next caller (and a BLOCK still pending on
/// the server cannot answer someone else's command).
pub(crate) fn discard(conn: Dedicated) {
    match conn {
        Dedicated::Single(c) => drop(deadpool_redis::Connection::take(c)),
        Dedicated::Topology(c) => drop(Object::take(c)),
    }
}

/// Creates the consumer group (and the stream) if missing.
///
/// The group starts at id `0`, not `$`: acked entries are deleted, so every
/// entry present is unfinished work. If the stream key is ever deleted while
/// producers run, XADD recreates it without a group and consumers recreate
/// the group on NOGROUP; starting at `$` would skip what was added between.
pub(crate) async fn ensure_group<C>(conn: &mut C, keys: &Keys) -> Result<(), QueueError>
where
    C: redis::aio::ConnectionLike + Send,
{
    let created = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&keys.events)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async::<()>(conn)
        .await;
    match created {
        Ok(()) => {
            tracing::info!(stream = %keys.events, group = GROUP, "created consumer group");
            Ok(())
        }
        Err(e) if server_code(&e) == Some("BUSYGROUP") => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// True for the error a group command gets when the stream or group is gone.
pub(crate) fn is_nogroup(e: &QueueError) -> bool {
    matches!(e, QueueError::Redis(r) if server_code(r) == Some("NOGROUP"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<Target, QueueError> {
        Target::parse(&QueueConfig::new(url, "wstg"))
    }

    #[test]
    fn schemes_select_the_kind() {
        assert!(matches!(
            parse("redis://127.0.0.1:6379/2"),
            Ok(Target::Standalone(_))
        ));
        match parse("redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001/") {
            Ok(Target::Cluster(nodes)) => assert_eq!(
                nodes,
                ["redis://:pw@127.0.0.1:7000", "redis://:pw@127.0.0.1:7001"]
            ),
            _ => panic!("not a cluster"),
        }
        assert!(matches!(
            parse("redis+sentinel://:pw@127.0.0.1:26379,127.0.0.1:26380/mymaster/1"),
            Ok(Target::Sentinel(_))
        ));
    }

    #[test]
    fn bad_urls_are_refused_without_their_password() {
        for url in [
            "redis+sentinel://:hunter2@127.0.0.1:26379",
            "redis+sentinel://:hunter2@/mymaster",
            "redis+cluster://:hunter2@/",
            "redis+cluster://:hunter2@127.0.0.1:7000/3",
            "nonsense://:hunter2@h",
        ] {
            let Err(e) = parse(url) else {
                panic!("{url} accepted")
            };
            let shown = e.to_string();
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(matches!(e, QueueError::Config(_)), "{shown}");
        }
    }
}
