//! `MAX_CONCURRENT_LOOKUPS` for all nodes together: leases in one Redis
//! sorted set, scored by when they lapse.
//!
//! A lease is taken by a Lua script (drop the lapsed ones, count, add), so
//! two nodes never both take the last slot; it is given back when the
//! lookup ends, and lapses by itself after the longest a lookup can run, so
//! a node that dies holding one blocks nobody for long.

use super::{Redis, Unavailable};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// KEYS[1]: the set. ARGV[1]: the lease, ARGV[2]: the limit, ARGV[3]: its
/// life (ms). 1 when taken, 0 when all slots are in use.
const TAKE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1
";

const KEY: &str = "kachay:lookups";
/// How often a waiting lookup asks again.
const POLL: Duration = Duration::from_millis(150);

/// The shared lookup slots.
pub struct SharedSlots {
    redis: Arc<Redis>,
    script: redis::Script,
    limit: usize,
    lease_life: Duration,
}

/// Why no lease was had.
#[derive(Debug)]
pub enum NoSlot {
    /// All slots stayed in use for the whole wait.
    Busy,
    Unavailable(Unavailable),
}

/// A slot held; given back when dropped.
pub struct Lease {
    redis: Arc<Redis>,
    id: String,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let (redis, id) = (Arc::clone(&self.redis), std::mem::take(&mut self.id));
        // Dropped inside the lookup's task, on the runtime; should the
        // release fail, the lease lapses by itself.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let released = redis
                    .run(|mut c| async move { redis::cmd("ZREM").arg(KEY).arg(id).query_async::<()>(&mut c).await });
                if let Err(e) = released.await {
                    tracing::warn!(error = %e, "could not give a lookup slot back; it lapses by itself");
                }
            });
        }
    }
}

impl SharedSlots {
    /// `limit` slots; a lease lapses after `lease_life` (the longest lookup
    /// and some margin).
    pub fn new(redis: Arc<Redis>, limit: usize, lease_life: Duration) -> SharedSlots {
        SharedSlots { redis, script: redis::Script::new(TAKE), limit: limit.max(1), lease_life }
    }

    /// A slot, waiting until `deadline` for one to free.
    pub async fn acquire(&self, deadline: Instant) -> Result<Lease, NoSlot> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let life_ms = u64::try_from(self.lease_life.as_millis()).unwrap_or(u64::MAX);
        loop {
            let lease = id.clone();
            let taken: i64 = self
                .redis
                .run(|mut c| async move {
                    self.script.key(KEY).arg(lease).arg(self.limit).arg(life_ms).invoke_async(&mut c).await
                })
                .await
                .map_err(NoSlot::Unavailable)?;
            if taken == 1 {
                return Ok(Lease { redis: Arc::clone(&self.redis), id });
            }
            if Instant::now() + POLL > deadline {
                return Err(NoSlot::Busy);
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
