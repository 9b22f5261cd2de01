//! Running on several machines: what the nodes share through Redis
//! (`REDIS_URL`). Without it, nothing here is used and the server keeps
//! everything in its own process.
//!
//! The pieces: the connection ([`Redis`]); the rate limit shared by every
//! web node ([`limits::SharedLimiter`]), the lookups ([`info::SharedInfo`])
//! and the lookup limit ([`slots::SharedSlots`]), gathered in [`Shared`];
//! the job records ([`store::RedisStore`]), the queue ([`queue`]) and the
//! workers that take from it ([`worker`]); following a job another node runs
//! ([`follow`]); and what the health page says of it all ([`health`]).
//!
//! A node must never hang on Redis: the first connection is made on first
//! use (a node starts while Redis is down, and answers 503 until it is
//! back), every command has a short timeout, and a lost connection is
//! re-established in the background by redis-rs's `ConnectionManager`.

pub mod follow;
pub mod health;
pub mod info;
pub mod limits;
pub mod queue;
pub mod slots;
pub mod store;
pub mod worker;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one command may take, waiting for a reconnection included.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// After a failed first connection, callers are answered at once for this
/// long rather than each trying again (and waiting again).
const RETRY_CONNECT_AFTER: Duration = Duration::from_secs(1);
/// How long a client is told to wait when Redis does not answer.
pub const RETRY_AFTER_SECS: u64 = 5;

/// Redis did not answer; the text is for the log only (it may name the
/// server's address).
#[derive(Debug, Clone, thiserror::Error)]
#[error("Redis is unavailable: {0}")]
pub struct Unavailable(pub(crate) String);

impl From<redis::RedisError> for Unavailable {
    fn from(e: redis::RedisError) -> Self {
        Unavailable(e.to_string())
    }
}

/// What this node shares with the others.
pub struct Shared {
    pub redis: Arc<Redis>,
    /// Lookups, for `INFO_CACHE_SECS`.
    pub info: info::SharedInfo,
    /// `MAX_CONCURRENT_LOOKUPS` for all nodes together.
    pub lookups: slots::SharedSlots,
}

impl Shared {
    pub fn new(redis: Arc<Redis>, info_ttl: Duration, lookups: usize, lookup_life: Duration) -> Shared {
        Shared {
            info: info::SharedInfo::new(Arc::clone(&redis), info_ttl),
            lookups: slots::SharedSlots::new(Arc::clone(&redis), lookups, lookup_life),
            redis,
        }
    }
}

/// The shared Redis, connected on first use.
pub struct Redis {
    client: redis::Client,
    connection: Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    connection: Option<ConnectionManager>,
    failed_at: Option<std::time::Instant>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("Redis").finish_non_exhaustive()
    }
}

/// Why `REDIS_URL` is not usable.
#[derive(Debug, thiserror::Error)]
pub enum RedisUrlError {
    #[error("it is not a Redis address: {0}")]
    Parse(String),
    #[error("only redis:// is supported (for TLS, run a local tunnel such as stunnel)")]
    Scheme,
}

impl Redis {
    /// Checks `url` (`redis://[:password@]host[:port][/db]`); connects later.
    pub fn new(url: &str) -> Result<Redis, RedisUrlError> {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if scheme.as_deref() != Some("redis") {
            return Err(RedisUrlError::Scheme);
        }
        let client = redis::Client::open(url).map_err(|e| RedisUrlError::Parse(e.to_string()))?;
        Ok(Redis { client, connection: Mutex::new(Slot::default()) })
    }

    /// A connection: the shared one, or a new one when there is none yet.
    /// Callers that arrive while one is being made wait for it rather than
    /// opening their own.
    async fn connection(&self) -> Result<ConnectionManager, Unavailable> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.connection.as_ref() {
            return Ok(connection.clone());
        }
        if slot.failed_at.is_some_and(|at| at.elapsed() < RETRY_CONNECT_AFTER) {
            return Err(Unavailable("not connected yet".into()));
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let made = tokio::time::timeout(TIMEOUT, ConnectionManager::new_with_config(self.client.clone(), config))
            .await
            .map_err(|_| Unavailable("connecting timed out".into()))
            .and_then(|made| made.map_err(Unavailable::from));
        match made {
            Ok(connection) => {
                tracing::info!("connected to Redis");
                *slot = Slot { connection: Some(connection.clone()), failed_at: None };
                Ok(connection)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot connect to Redis (REDIS_URL)");
                slot.failed_at = Some(std::time::Instant::now());
                Err(e)
            }
        }
    }

    /// Runs `command` on the shared connection, within [`TIMEOUT`] in all.
    pub async fn run<T, F, Fut>(&self, command: F) -> Result<T, Unavailable>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        tokio::time::timeout(TIMEOUT, async {
            let connection = self.connection().await?;
            command(connection).await.map_err(Unavailable::from)
        })
        .await
        .map_err(|_| Unavailable("Redis did not answer in time".into()))?
    }

    /// A connection of its own for `SUBSCRIBE` (pub/sub cannot share the
    /// multiplexed one).
    pub async fn pubsub(&self) -> Result<redis::aio::PubSub, Unavailable> {
        tokio::time::timeout(TIMEOUT, self.client.get_async_pubsub())
            .await
            .map_err(|_| Unavailable("connecting timed out".into()))?
            .map_err(Unavailable::from)
    }

    /// `PING`, for the health page.
    pub async fn ping(&self) -> Result<(), Unavailable> {
        self.run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await }).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_redis_addresses() {
        assert!(Redis::new("redis://127.0.0.1:6379/0").is_ok());
        assert!(Redis::new("redis://:secret@10.0.0.5").is_ok());
        assert!(matches!(Redis::new("rediss://127.0.0.1"), Err(RedisUrlError::Scheme)));
        assert!(matches!(Redis::new("http://127.0.0.1:6379"), Err(RedisUrlError::Scheme)));
        assert!(matches!(Redis::new("127.0.0.1:6379"), Err(RedisUrlError::Scheme)));
        let shown = format!("{:?}", Redis::new("redis://:secret@10.0.0.5").expect("valid"));
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[tokio::test]
    async fn a_redis_that_is_not_there_fails_fast() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port());
        let redis = Redis::new(&format!("redis://127.0.0.1:{}", port.expect("port"))).expect("valid");
        let started = std::time::Instant::now();
        assert!(redis.ping().await.is_err());
        assert!(started.elapsed() < TIMEOUT * 4, "{:?}", started.elapsed());
    }
}
