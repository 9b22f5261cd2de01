//! The job queue of a cluster: a Redis stream with one consumer group.
//!
//! A web node records a download ([`super::store::RedisStore`]) and adds its
//! id to the stream `kachay:queue`; each worker reads new entries for its free
//! slots with `XREADGROUP`, so an entry goes to exactly one worker. While it
//! runs the job, the worker keeps its entry fresh (`XCLAIM` by itself resets
//! the entry's idle time); an entry idle longer than [`CLAIM_AFTER`] belongs
//! to a worker that died, and another takes it over with `XAUTOCLAIM` and
//! runs the job again from the start. The entry is acknowledged (`XACK`) when
//! the job has finished.
//!
//! Progress: the worker writes each new state into the job's record and
//! publishes it on `kachay:events:<id>`; any web node follows it from there.
//! Cancel: a web node marks the record and publishes the id on
//! `kachay:cancel`; the worker running it stops it. A job nobody has taken yet
//! is cancelled by the web node itself (a Lua script decides, so a worker
//! taking it at that moment and the cancel never both win).

use super::store::{job_key, RedisStore};
use super::Unavailable;
use engine::jobs::JobSnapshot;
use engine::progress::Phase;
use std::time::{Duration, SystemTime};
use uuid::Uuid;

pub const STREAM: &str = "kachay:queue";
pub const GROUP: &str = "workers";
pub const CANCEL_CHANNEL: &str = "kachay:cancel";
/// An entry idle this long belongs to a worker that stopped refreshing it.
pub const CLAIM_AFTER: Duration = Duration::from_secs(20);

pub fn events_channel(id: Uuid) -> String {
    format!("kachay:events:{id}")
}

/// KEYS[1]: the job. ARGV[1]: the worker. 1 when it is the worker's now, 0
/// when it was cancelled before anyone took it.
const TAKE: &str = r"
if redis.call('HGET', KEYS[1], 'cancel') then
  return 0
end
redis.call('HSET', KEYS[1], 'worker', ARGV[1])
return 1
";

/// KEYS[1]: the job. ARGV[1]: its cancelled state. 1 when the job was not
/// taken yet and is now cancelled; 0 when a worker has it (it is asked to
/// stop instead); -1 when the job is unknown.
const CANCEL_QUEUED: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
redis.call('HSET', KEYS[1], 'cancel', '1')
if redis.call('HGET', KEYS[1], 'worker') then
  return 0
end
redis.call('HSET', KEYS[1], 'snapshot', ARGV[1])
return 1
";

/// Puts a recorded job on the queue.
pub async fn enqueue(store: &RedisStore, id: Uuid) -> Result<(), Unavailable> {
    store
        .redis()
        .run(|mut c| async move {
            redis::cmd("XADD").arg(STREAM).arg("*").arg("id").arg(id.to_string()).query_async::<String>(&mut c).await
        })
        .await
        .map(drop)
}

/// Marks the job taken by `worker`; `false` when it was cancelled first.
pub async fn take(store: &RedisStore, id: Uuid, worker: &str) -> Result<bool, Unavailable> {
    let script = redis::Script::new(TAKE);
    let taken: i64 = store
        .redis()
        .run(|mut c| async move { script.key(job_key(id)).arg(worker).invoke_async(&mut c).await })
        .await?;
    Ok(taken == 1)
}

/// How a cancel went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    /// Nobody had taken it: it is cancelled now.
    Queued,
    /// Its worker was asked to stop it.
    Asked,
    Unknown,
}

/// Cancels job `id` (whose current state is `current`), wherever it is.
pub async fn cancel(store: &RedisStore, current: &JobSnapshot) -> Result<Cancelled, Unavailable> {
    let mut cancelled = current.clone();
    cancelled.phase = Phase::Cancelled;
    cancelled.progress.phase = Phase::Cancelled;
    cancelled.finished_at = Some(SystemTime::now());
    cancelled.seq += 1;
    let json = serde_json::to_string(&cancelled).map_err(|e| Unavailable(e.to_string()))?;
    let id = current.id;
    let script = redis::Script::new(CANCEL_QUEUED);
    let outcome: i64 =
        store.redis().run(|mut c| async move { script.key(job_key(id)).arg(json).invoke_async(&mut c).await }).await?;
    match outcome {
        1 => {
            // Out of the unfinished sets, expiring, and told to followers.
            if let Some((request, _)) = store.request(id).await? {
                store.write_snapshot(&cancelled, &request.owner.client).await?;
            }
            publish(store, &cancelled).await?;
            Ok(Cancelled::Queued)
        }
        0 => {
            store
                .redis()
                .run(|mut c| async move {
                    redis::cmd("PUBLISH").arg(CANCEL_CHANNEL).arg(id.to_string()).query_async::<i64>(&mut c).await
                })
                .await?;
            Ok(Cancelled::Asked)
        }
        _ => Ok(Cancelled::Unknown),
    }
}

/// Tells the job's followers its new state.
pub async fn publish(store: &RedisStore, snapshot: &JobSnapshot) -> Result<(), Unavailable> {
    let json = serde_json::to_string(snapshot).map_err(|e| Unavailable(e.to_string()))?;
    let channel = events_channel(snapshot.id);
    store
        .redis()
        .run(|mut c| async move { redis::cmd("PUBLISH").arg(channel).arg(json).query_async::<i64>(&mut c).await })
        .await
        .map(drop)
}
