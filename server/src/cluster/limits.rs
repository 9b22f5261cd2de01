//! The POST rate limit shared by every web node: the same GCRA as the
//! single-node limiter (`governor`: `RATE_LIMIT_PER_MINUTE`, bursts of
//! `RATE_LIMIT_BURST`), its state one Redis key per client address.
//!
//! The check runs as one Lua script, so two nodes never both take the last
//! cell, and reads Redis's own clock (`TIME`), so nodes whose clocks differ
//! still agree. Keys expire when the client would be back at a full burst.

use super::{Redis, Unavailable};
use std::net::IpAddr;
use std::time::Duration;

/// KEYS[1]: the client's key. ARGV[1]: the emission interval (µs), ARGV[2]:
/// the burst. Returns 0 when allowed, else the wait in µs.
const GCRA: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if now < allow_at then
  return allow_at - now
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
return 0
";

/// The shared limiter.
pub struct SharedLimiter {
    redis: std::sync::Arc<Redis>,
    script: redis::Script,
    interval_micros: u64,
    burst: u32,
}

impl SharedLimiter {
    pub fn new(redis: std::sync::Arc<Redis>, per_minute: u32, burst: u32) -> SharedLimiter {
        SharedLimiter {
            redis,
            script: redis::Script::new(GCRA),
            interval_micros: 60_000_000 / u64::from(per_minute.max(1)),
            burst: burst.max(1),
        }
    }

    /// `Ok(Err(wait))` when this client must wait before its next request.
    pub async fn check(&self, ip: IpAddr) -> Result<Result<(), Duration>, Unavailable> {
        let key = format!("kachay:limit:post:{ip}");
        let wait: u64 = self
            .redis
            .run(|mut c| async move {
                self.script.key(key).arg(self.interval_micros).arg(self.burst).invoke_async(&mut c).await
            })
            .await?;
        Ok(if wait == 0 { Ok(()) } else { Err(Duration::from_micros(wait)) })
    }
}
