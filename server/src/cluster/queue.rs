//! The job queue of a cluster: a Redis stream per client, each with the
//! consumer group `workers`, taken round robin across clients.
//!
//! A web node records a download ([`super::store::RedisStore`]), adds its id
//! to its client's stream `kachay:queue:<client>` and the client to the
//! sorted set `kachay:clients`. A worker with a free slot runs [`NEXT`]: the
//! client served least recently that has a new entry gives it one
//! (`XREADGROUP`, so an entry goes to exactly one worker) and becomes the most
//! recently served — so a client with a hundred downloads waiting and one
//! with a single download alternate, as on a single node. While it
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

pub const GROUP: &str = "workers";
/// Clients with a stream, scored by when they were last served.
pub const CLIENTS: &str = "kachay:clients";

/// The stream of `client`'s downloads.
pub fn stream_of(client: &str) -> String {
    format!("kachay:queue:{client}")
}

/// The next entry for worker ARGV[1]: {client, entry id, job id}, or false
/// when no client has one. Clients whose stream is empty leave the set. (It
/// names keys it was not given, which a standalone Redis allows; a Redis
/// Cluster would need one hash slot for all of them.)
pub const NEXT: &str = r"
local clients = redis.call('ZRANGE', 'kachay:clients', 0, -1)
for _, client in ipairs(clients) do
  local stream = 'kachay:queue:' .. client
  local got = redis.pcall('XREADGROUP', 'GROUP', 'workers', ARGV[1], 'COUNT', 1, 'STREAMS', stream, '>')
  if type(got) == 'table' and got[1] and #got[1][2] > 0 then
    local entry = got[1][2][1]
    redis.call('ZADD', 'kachay:clients', redis.call('INCR', 'kachay:served'), client)
    return {client, entry[1], entry[2][2]}
  end
  if redis.call('XLEN', stream) == 0 then
    redis.call('ZREM', 'kachay:clients', client)
  end
end
return false
";
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

/// Puts a recorded job of `client` on the queue: the stream (and its group)
/// first, then the entry, then the client in the set, so that a client in
/// the set always has a stream a worker can read.
pub async fn enqueue(store: &RedisStore, id: Uuid, client: &str) -> Result<(), Unavailable> {
    let (stream, client) = (stream_of(client), client.to_owned());
    store
        .redis()
        .run(|mut c| async move {
            let made = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&stream)
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query_async::<()>(&mut c)
                .await;
            if let Err(e) = made {
                if e.code() != Some("BUSYGROUP") {
                    return Err(e);
                }
            }
            redis::cmd("XADD")
                .arg(&stream)
                .arg("*")
                .arg("id")
                .arg(id.to_string())
                .query_async::<String>(&mut c)
                .await?;
            redis::cmd("ZADD").arg(CLIENTS).arg("NX").arg(0).arg(&client).query_async::<()>(&mut c).await
        })
        .await
}

/// The clients with a stream, least recently served first.
pub async fn clients(store: &RedisStore) -> Result<Vec<String>, Unavailable> {
    store
        .redis()
        .run(|mut c| async move { redis::cmd("ZRANGE").arg(CLIENTS).arg(0).arg(-1).query_async(&mut c).await })
        .await
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
