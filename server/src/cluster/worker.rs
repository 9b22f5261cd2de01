//! A worker: takes jobs from the cluster's queue (see [`super::queue`]) and
//! runs them on its own [`JobManager`], writing each change back to the
//! job's record and publishing it.
//!
//! Its loops never give up on Redis: while it does not answer, the worker
//! says so in the log and tries again with a growing pause (up to
//! [`MAX_BACKOFF`]); the downloads it runs go on meanwhile, and their
//! states are written once Redis is back.

use super::queue::{self, stream_of, CANCEL_CHANNEL, CLAIM_AFTER, GROUP, NEXT};
use super::store::RedisStore;
use super::Unavailable;
use engine::jobs::{queued_snapshot, JobManager, JobRequest, JobSnapshot};
use engine::Probe;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The longest pause between tries while Redis is away.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How often running entries are kept fresh and dead workers' entries
/// looked for.
const REFRESH: Duration = Duration::from_secs(5);
/// How often an idle worker looks at the queue.
const POLL: Duration = Duration::from_millis(250);
/// How long a worker's heartbeat lives.
const HEARTBEAT_SECS: u64 = 15;

/// The worker's shared parts.
struct Inner {
    id: String,
    store: Arc<RedisStore>,
    jobs: JobManager,
    slots: usize,
    /// Jobs running here: id → their queue entry.
    running: Mutex<HashMap<Uuid, Entry>>,
    next: redis::Script,
    /// Set while stopping: the jobs are stopped to be taken up elsewhere,
    /// so their last (cancelled) state must not be written.
    stopping: AtomicBool,
}

/// A running worker; [`Worker::stop`] ends it.
pub struct Worker {
    inner: Arc<Inner>,
    stop: CancellationToken,
    tasks: tokio_util::task::TaskTracker,
}

impl Worker {
    /// Starts taking jobs, `slots` at once, as worker `id`.
    pub fn start(id: String, store: Arc<RedisStore>, jobs: JobManager, slots: usize) -> Worker {
        let inner = Arc::new(Inner {
            id,
            store,
            jobs,
            slots: slots.max(1),
            running: Mutex::new(HashMap::new()),
            next: redis::Script::new(NEXT),
            stopping: AtomicBool::new(false),
        });
        let stop = CancellationToken::new();
        let tasks = tokio_util::task::TaskTracker::new();
        tasks.spawn(take_loop(Arc::clone(&inner), stop.clone()));
        tasks.spawn(refresh_loop(Arc::clone(&inner), stop.clone()));
        tasks.spawn(cancel_loop(Arc::clone(&inner), stop.clone()));
        tracing::info!(worker = %inner.id, slots = inner.slots, "worker started");
        Worker { inner, stop, tasks }
    }

    /// Stops taking jobs and stops the ones running here without marking
    /// them: their queue entries stay unacknowledged, and another worker
    /// (or this one, started again under the same id) takes them up.
    pub async fn stop(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        self.inner.jobs.shutdown().await;
    }

    /// Jobs running here.
    pub fn running(&self) -> usize {
        lock(&self.inner.running).len()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Waits `backoff` (doubling it for next time) unless stopped; false when
/// stopped.
async fn pause(backoff: &mut Duration, stop: &CancellationToken) -> bool {
    let wait = *backoff;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    tokio::select! {
        () = stop.cancelled() => false,
        () = tokio::time::sleep(wait) => true,
    }
}

/// A queue entry: its stream and id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    stream: String,
    id: String,
}

type Entries = Vec<(String, Uuid)>;

/// `XREADGROUP`'s or `XAUTOCLAIM`'s entries as (entry id, job id).
fn entries(reply: &redis::Value) -> Entries {
    use redis::Value;
    let mut found = Vec::new();
    let mut visit = |entry: &Value| {
        if let Value::Array(parts) = entry {
            if let (Some(Value::BulkString(id)), Some(Value::Array(fields))) = (parts.first(), parts.get(1)) {
                let field = |i: usize| match fields.get(i) {
                    Some(Value::BulkString(b)) => Some(String::from_utf8_lossy(b).into_owned()),
                    _ => None,
                };
                if field(0).as_deref() == Some("id") {
                    if let Some(job) = field(1).and_then(|j| Uuid::parse_str(&j).ok()) {
                        found.push((String::from_utf8_lossy(id).into_owned(), job));
                    }
                }
            }
        }
    };
    fn walk(value: &redis::Value, visit: &mut dyn FnMut(&redis::Value)) {
        use redis::Value;
        let is_entry = |parts: &[Value]| {
            parts.len() == 2
                && matches!(parts.first(), Some(Value::BulkString(_)))
                && matches!(parts.get(1), Some(Value::Array(fields)) if matches!(fields.first(), Some(Value::BulkString(_))))
        };
        match value {
            // An entry: [id, [field, value, …]] (and not [stream, [entries]]).
            Value::Array(parts) if is_entry(parts) => visit(value),
            Value::Array(items) => items.iter().for_each(|v| walk(v, visit)),
            Value::Map(pairs) => pairs.iter().for_each(|(_, v)| walk(v, visit)),
            _ => {}
        }
    }
    walk(reply, &mut visit);
    found
}

async fn take_loop(inner: Arc<Inner>, stop: CancellationToken) {
    let mut backoff = Duration::from_millis(250);
    // The entries this worker id held when it last stopped.
    loop {
        match own_pending(&inner).await {
            Ok(mine) => {
                for (entry, job) in mine {
                    start(&inner, entry, job, true).await;
                }
                break;
            }
            Err(e) => {
                tracing::warn!(worker = %inner.id, error = %e, "worker cannot reach Redis; trying again");
                if !pause(&mut backoff, &stop).await {
                    return;
                }
            }
        }
    }
    backoff = Duration::from_millis(250);
    while !stop.is_cancelled() {
        let free = inner.slots.saturating_sub(lock(&inner.running).len());
        let next = if free == 0 { Ok(None) } else { next(&inner).await };
        match next {
            Ok(Some((entry, job))) => {
                backoff = Duration::from_millis(250);
                start(&inner, entry, job, false).await;
            }
            Ok(None) => {
                backoff = Duration::from_millis(250);
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(POLL) => {}
                }
            }
            Err(e) => {
                tracing::warn!(worker = %inner.id, error = %e, "worker cannot read the queue; trying again");
                if !pause(&mut backoff, &stop).await {
                    return;
                }
            }
        }
    }
}

/// The next entry, round robin across clients (see [`queue::NEXT`]).
async fn next(inner: &Inner) -> Result<Option<(Entry, Uuid)>, Unavailable> {
    let id = inner.id.clone();
    let got: Option<(String, String, String)> =
        inner.store.redis().run(|mut c| async move { inner.next.arg(id).invoke_async(&mut c).await }).await?;
    Ok(got.and_then(|(client, entry, job)| {
        let job = Uuid::parse_str(&job).ok()?;
        Some((Entry { stream: stream_of(&client), id: entry }, job))
    }))
}

/// The entries this worker's id holds (delivered, not acknowledged).
async fn own_pending(inner: &Inner) -> Result<Vec<(Entry, Uuid)>, Unavailable> {
    let mut found = Vec::new();
    for client in queue::clients(&inner.store).await? {
        let (stream, id) = (stream_of(&client), inner.id.clone());
        let reply: redis::Value = inner
            .store
            .redis()
            .run(|mut c| async move {
                redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(GROUP)
                    .arg(id)
                    .arg("STREAMS")
                    .arg(&stream)
                    .arg("0")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let stream = stream_of(&client);
        found.extend(entries(&reply).into_iter().map(|(id, job)| (Entry { stream: stream.clone(), id }, job)));
    }
    Ok(found)
}

/// Runs job `job` of queue entry `entry` here.
async fn start(inner: &Arc<Inner>, entry: Entry, job: Uuid, again: bool) {
    if lock(&inner.running).contains_key(&job) {
        return;
    }
    match prepare(inner, job, again).await {
        Ok(Some((snapshot, request))) => {
            let client = request.owner.client.clone();
            let Some(receiver) = ({
                inner.jobs.submit_as(snapshot, request);
                inner.jobs.subscribe(job)
            }) else {
                return;
            };
            lock(&inner.running).insert(job, entry.clone());
            tracing::info!(worker = %inner.id, %job, again, "took a download");
            // A cancel that came between taking it and now was not heard.
            if inner.store.cancel_asked(job).await.unwrap_or(false) {
                inner.jobs.cancel(job);
            }
            tokio::spawn(forward(Arc::clone(inner), job, entry, client, receiver));
        }
        // Cancelled before anyone took it, or gone: nothing to run.
        Ok(None) => ack(inner, &entry).await,
        Err(e) => {
            // Left pending: this worker (or another, later) tries again.
            tracing::warn!(worker = %inner.id, %job, error = %e, "could not take a download; it stays queued");
        }
    }
}

/// The job's state and request, once it is this worker's.
async fn prepare(inner: &Inner, job: Uuid, again: bool) -> Result<Option<(JobSnapshot, JobRequest)>, Unavailable> {
    if !queue::take(&inner.store, job, &inner.id).await? {
        return Ok(None);
    }
    let Some((request, probe)) = inner.store.request(job).await? else {
        return Ok(None);
    };
    let Some(current) = inner.store.snapshot(job).await? else {
        return Ok(None);
    };
    if current.phase.is_finished() {
        return Ok(None);
    }
    let probe = probe.and_then(|raw| match engine::info::read_answer(raw.as_bytes()) {
        Ok((info, raw)) => Some(Arc::new(Probe { info, raw: raw.into() })),
        Err(e) => {
            tracing::warn!(%job, error = %e, "the queued lookup is unreadable; the download looks the link up again");
            None
        }
    });
    if again {
        // What an earlier attempt (a worker that died) left behind.
        let dir = inner.jobs.settings().download_dir.join(job.to_string());
        if let Err(e) = tokio::fs::remove_dir_all(&dir).await {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(%job, error = %e, "could not clear an earlier attempt's files");
            }
        }
    }
    let mut snapshot = queued_snapshot(job, current.title.clone(), request.quality, current.created_at);
    // Carries on from the record's sequence, so followers take every state.
    snapshot.seq = current.seq + 1;
    snapshot.restarted = again || current.restarted;
    let request = JobRequest {
        url: request.url,
        quality: request.quality,
        probe,
        options: request.options.clone(),
        owner: request.owner,
    };
    Ok(Some((snapshot, request)))
}

/// Writes and publishes each state of a job running here; acknowledges its
/// entry when it has finished.
async fn forward(
    inner: Arc<Inner>,
    job: Uuid,
    entry: Entry,
    client: String,
    mut receiver: tokio::sync::watch::Receiver<JobSnapshot>,
) {
    loop {
        let snapshot = receiver.borrow_and_update().clone();
        if inner.stopping.load(Ordering::SeqCst) {
            break;
        }
        let finished = snapshot.phase.is_finished();
        let mut backoff = Duration::from_millis(250);
        loop {
            let written = async {
                inner.store.write_snapshot(&snapshot, &client).await?;
                queue::publish(&inner.store, &snapshot).await
            };
            match written.await {
                Ok(()) => break,
                // Progress can wait for the next change; the end cannot.
                Err(e) if finished => {
                    tracing::warn!(%job, error = %e, "cannot record the end of a download; trying again");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(e) => {
                    tracing::debug!(%job, error = %e, "progress not recorded");
                    break;
                }
            }
        }
        if finished {
            ack(&inner, &entry).await;
            break;
        }
        // At most a few writes a second; `changed` then gives the latest.
        tokio::time::sleep(Duration::from_millis(200)).await;
        if receiver.changed().await.is_err() {
            break;
        }
    }
    lock(&inner.running).remove(&job);
}

async fn ack(inner: &Inner, entry: &Entry) {
    let entry = entry.clone();
    let acked = inner
        .store
        .redis()
        .run(|mut c| async move {
            redis::cmd("XACK").arg(&entry.stream).arg(GROUP).arg(&entry.id).query_async::<i64>(&mut c).await?;
            redis::cmd("XDEL").arg(&entry.stream).arg(&entry.id).query_async::<i64>(&mut c).await
        })
        .await;
    if let Err(e) = acked {
        tracing::warn!(error = %e, "could not acknowledge a finished download; another worker may look at it again");
    }
}

/// Keeps this worker's entries fresh, takes over those of dead workers, and
/// says it is alive.
async fn refresh_loop(inner: Arc<Inner>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(REFRESH);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = refresh(&inner).await {
            tracing::warn!(worker = %inner.id, error = %e, "worker cannot reach Redis; its downloads go on");
        }
    }
}

async fn refresh(inner: &Arc<Inner>) -> Result<(), Unavailable> {
    let mut mine: HashMap<String, Vec<String>> = HashMap::new();
    for entry in lock(&inner.running).values() {
        mine.entry(entry.stream.clone()).or_default().push(entry.id.clone());
    }
    let id = inner.id.clone();
    for (stream, entries) in mine {
        let id = id.clone();
        inner
            .store
            .redis()
            .run(|mut c| async move {
                redis::cmd("XCLAIM")
                    .arg(stream)
                    .arg(GROUP)
                    .arg(id)
                    .arg(0)
                    .arg(&entries)
                    .arg("JUSTID")
                    .query_async::<redis::Value>(&mut c)
                    .await
            })
            .await?;
    }
    let running = lock(&inner.running).len();
    let heartbeat = serde_json::json!({
        "id": id,
        "running": running,
        "slots": inner.slots,
        "version": env!("CARGO_PKG_VERSION"),
    })
    .to_string();
    let key = format!("kachay:worker:{id}");
    inner
        .store
        .redis()
        .run(|mut c| async move {
            redis::cmd("SET").arg(key).arg(heartbeat).arg("EX").arg(HEARTBEAT_SECS).query_async::<()>(&mut c).await
        })
        .await?;
    let idle = u64::try_from(CLAIM_AFTER.as_millis()).unwrap_or(u64::MAX);
    for client in queue::clients(&inner.store).await? {
        let free = inner.slots.saturating_sub(lock(&inner.running).len());
        if free == 0 {
            break;
        }
        let (stream, id) = (stream_of(&client), id.clone());
        let reply: redis::Value = inner
            .store
            .redis()
            .run(|mut c| async move {
                redis::cmd("XAUTOCLAIM")
                    .arg(&stream)
                    .arg(GROUP)
                    .arg(id)
                    .arg(idle)
                    .arg("0-0")
                    .arg("COUNT")
                    .arg(free)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        for (entry, job) in entries(&reply) {
            tracing::info!(worker = %inner.id, %job, "taking over a download whose worker stopped answering");
            start(inner, Entry { stream: stream_of(&client), id: entry }, job, true).await;
        }
    }
    Ok(())
}

/// Stops jobs running here when any node asks.
async fn cancel_loop(inner: Arc<Inner>, stop: CancellationToken) {
    let mut backoff = Duration::from_millis(250);
    while !stop.is_cancelled() {
        let subscribed = async {
            let mut pubsub = inner.store.redis().pubsub().await?;
            pubsub.subscribe(CANCEL_CHANNEL).await?;
            Ok::<_, Unavailable>(pubsub)
        };
        let pubsub = match subscribed.await {
            Ok(pubsub) => pubsub,
            Err(e) => {
                tracing::warn!(worker = %inner.id, error = %e, "worker cannot hear cancels; trying again");
                if !pause(&mut backoff, &stop).await {
                    return;
                }
                continue;
            }
        };
        backoff = Duration::from_millis(250);
        let mut messages = pubsub.into_on_message();
        loop {
            let message = tokio::select! {
                () = stop.cancelled() => return,
                message = messages.next() => message,
            };
            let Some(message) = message else { break };
            let Some(job) = message.get_payload::<String>().ok().and_then(|id| Uuid::parse_str(&id).ok()) else {
                continue;
            };
            if lock(&inner.running).contains_key(&job) {
                inner.jobs.cancel(job);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::Value;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn entries_of_both_replies() {
        let job = Uuid::new_v4();
        let entry = Value::Array(vec![bulk("1-0"), Value::Array(vec![bulk("id"), bulk(&job.to_string())])]);
        // XREADGROUP: [[stream, [entry…]]].
        let read = Value::Array(vec![Value::Array(vec![bulk("kachay:queue:a"), Value::Array(vec![entry.clone()])])]);
        assert_eq!(entries(&read), [("1-0".to_owned(), job)]);
        // XAUTOCLAIM: [next, [entry…], [deleted…]].
        let claimed = Value::Array(vec![bulk("0-0"), Value::Array(vec![entry]), Value::Array(vec![bulk("2-0")])]);
        assert_eq!(entries(&claimed), [("1-0".to_owned(), job)]);
        assert!(entries(&Value::Nil).is_empty());
        let empty = Value::Array(vec![Value::Array(vec![bulk("kachay:queue:a"), Value::Array(vec![])])]);
        assert!(entries(&empty).is_empty());
    }
}
